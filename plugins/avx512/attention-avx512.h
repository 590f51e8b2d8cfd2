/* attention-avx512.h — pieces shared by the materialising and streaming
 * attention rows of the avx512 plugin: 16 scores at a time and the p . V
 * accumulation. */
#ifndef CK_ATTENTION_AVX512_H
#define CK_ATTENTION_AVX512_H

#include <math.h>

#include "avx512-helpers.h"

typedef struct ck512_attn_row {
    const float *q;     /* [hd] query row of head h */
    const float *k, *v; /* key / value row 0 of kv head h/group */
    size_t kv_stride;   /* floats between consecutive keys: Hkv * hd */
    size_t hd;
    size_t n; /* visible keys: 0 .. n-1 */
    float scale;
    float *acc;    /* [hd] scratch for the output accumulator */
    size_t first;  /* first visible key (sliding window); keys first .. n-1 */
    float softcap; /* 0: none; else scores become softcap * tanh(s / softcap) */
} ck512_attn_row;

/* Keys query row t sees: [ck512_first_key, ck512_end_key). All S, or
 * causally those s <= p = q_pos + t, and with a window those s > p - W
 * too (first <= end: a row past the cache with a short window sees none). */
static inline size_t ck512_end_key(const ck_attention_args *a, size_t t)
{
    if (!a->causal)
        return a->S;
    size_t last = a->q_pos + t;
    return last >= a->S ? a->S : last + 1;
}

static inline size_t ck512_first_key(const ck_attention_args *a, size_t t)
{
    size_t p = a->q_pos + t, end = ck512_end_key(a, t);
    size_t first = a->causal && a->window && p >= a->window ? p - a->window + 1 : 0;
    return first < end ? first : end;
}

/* The soft-cap cap * tanh(s / cap) as sign(s) cap (1 - 2 / (1 + e^{2|s|/cap})):
 * exp's argument is >= 0, so the division never cancels; e = inf gives
 * exactly +-cap and a NaN stays NaN. two_over_cap = 2 / cap, rounded (the
 * error model of docs/ops.md allows it). */
static inline __m512 ck512_softcap(__m512 s, __m512 cap, __m512 two_over_cap)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = ck512_exp(_mm512_mul_ps(_mm512_abs_ps(s), two_over_cap));
    __m512 t = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(one, e)));
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    return _mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(_mm512_mul_ps(cap, t)), _mm512_and_si512(_mm512_castps_si512(s), sign)));
}

/* s soft-capped where the row asks for it (lanes in `live`; others kept). */
static inline __m512 ck512_softcap_row(const ck512_attn_row *r, __m512 s, __mmask16 live)
{
    if (!(r->softcap > 0.0f))
        return s;
    return _mm512_mask_mov_ps(s, live, ck512_softcap(s, _mm512_set1_ps(r->softcap), _mm512_set1_ps(2.0f / r->softcap)));
}

/* Rows of K and V to bring into the cache while a block is computed,
 * spread over its loops; NULL or n == 0: none. The hint is T2 (towards L2),
 * not T0: prefetches into L1 hold L1's few miss buffers, which capped the
 * KV stream at about 10 GB/s (half of one core's read bandwidth). */
#define CK512_PF_HINT _MM_HINT_T2
typedef struct ck512_attn_prefetch {
    const float *k, *v; /* row 0 */
    size_t stride, hd;  /* floats between rows; floats per row */
    size_t n;           /* rows */
} ck512_attn_prefetch;

static inline __attribute__((always_inline)) void ck512_prefetch_row(const ck512_attn_prefetch *pf, const float *base,
                                                                     size_t i)
{
    if (pf && i < pf->n) {
        const char *p = (const char *)(base + i * pf->stride);
        for (size_t b = 0; b < pf->hd * sizeof(float); b += 64)
            _mm_prefetch(p + b, CK512_PF_HINT);
    }
}

/* Two dot-product vectors a, b -> per 128-bit lane [a0+a2, b0+b2, a1+a3,
 * b1+b3]: the first level of the transpose-and-add tree below. */
static inline __m512 ck512_hsum_pair(__m512 a, __m512 b)
{
    return _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
}

/* Second level: two first-level results -> per 128-bit lane the full lane
 * sums of four vectors. */
static inline __m512 ck512_hsum_quad(__m512 c, __m512 d)
{
    __m512d cd = _mm512_castps_pd(c), dd = _mm512_castps_pd(d);
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(cd, dd)), _mm512_castpd_ps(_mm512_unpackhi_pd(cd, dd)));
}

/* Last two levels: four second-level results -> lane i = sum of vector i. */
static inline __m512 ck512_hsum_final(__m512 x0, __m512 x1, __m512 x2, __m512 x3)
{
    __m512 y0 = _mm512_add_ps(_mm512_shuffle_f32x4(x0, x1, 0x88), _mm512_shuffle_f32x4(x0, x1, 0xDD));
    __m512 y1 = _mm512_add_ps(_mm512_shuffle_f32x4(x2, x3, 0x88), _mm512_shuffle_f32x4(x2, x3, 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(y0, y1, 0x88), _mm512_shuffle_f32x4(y0, y1, 0xDD));
}

/* The whole tree: sixteen dot-product vectors -> lane i = sum of vector i. */
static inline __m512 ck512_hsum16(__m512 d0, __m512 d1, __m512 d2, __m512 d3, __m512 d4, __m512 d5, __m512 d6,
                                  __m512 d7, __m512 d8, __m512 d9, __m512 d10, __m512 d11, __m512 d12, __m512 d13,
                                  __m512 d14, __m512 d15)
{
    return ck512_hsum_final(ck512_hsum_quad(ck512_hsum_pair(d0, d1), ck512_hsum_pair(d2, d3)),
                            ck512_hsum_quad(ck512_hsum_pair(d4, d5), ck512_hsum_pair(d6, d7)),
                            ck512_hsum_quad(ck512_hsum_pair(d8, d9), ck512_hsum_pair(d10, d11)),
                            ck512_hsum_quad(ck512_hsum_pair(d12, d13), ck512_hsum_pair(d14, d15)));
}

/* scale * dot(q, k[s0 + i]) for i < cnt (cnt <= 16); lanes >= cnt are -inf.
 * Always 16 keys, in 16 named accumulators so that they stay in registers
 * (an array would be stored back every step); in a short block the missing
 * keys re-read key s0 and their lanes are masked. Each key row is read
 * whole before the next: KV rows are often 4 KiB apart (Hkv * hd floats),
 * and reading one 64-byte column of 16 such rows at a time keeps hitting
 * one L1 set. The 16 sums are reduced by a transpose-and-add tree
 * (45 instructions, not 16 full reductions). pf: K rows to prefetch, one
 * per key. */
#define CK512_KEY_ROW(i) const float *k##i = r->k + (s0 + ((i) < cnt ? (i) : 0)) * r->kv_stride
#define CK512_KEY_DOT(i)                                                                                               \
    do {                                                                                                               \
        for (size_t c = 0; c < full; c += 16)                                                                          \
            d##i = _mm512_fmadd_ps(_mm512_loadu_ps(r->q + c), _mm512_loadu_ps(k##i + c), d##i);                        \
        if (full < r->hd)                                                                                              \
            d##i =                                                                                                     \
                _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mt, r->q + full), _mm512_maskz_loadu_ps(mt, k##i + full), d##i); \
        ck512_prefetch_row(pf, pf ? pf->k : NULL, i);                                                                  \
    } while (0)
static inline __attribute__((always_inline)) __m512 ck512_scores16_pf(const ck512_attn_row *r, size_t s0, size_t cnt,
                                                                      const ck512_attn_prefetch *pf)
{
    const size_t full = r->hd & ~(size_t)15;
    const __mmask16 mt = ck512_mask(r->hd - full);
    CK512_KEY_ROW(0);
    CK512_KEY_ROW(1);
    CK512_KEY_ROW(2);
    CK512_KEY_ROW(3);
    CK512_KEY_ROW(4);
    CK512_KEY_ROW(5);
    CK512_KEY_ROW(6);
    CK512_KEY_ROW(7);
    CK512_KEY_ROW(8);
    CK512_KEY_ROW(9);
    CK512_KEY_ROW(10);
    CK512_KEY_ROW(11);
    CK512_KEY_ROW(12);
    CK512_KEY_ROW(13);
    CK512_KEY_ROW(14);
    CK512_KEY_ROW(15);
    __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0;
    __m512 d8 = d0, d9 = d0, d10 = d0, d11 = d0, d12 = d0, d13 = d0, d14 = d0, d15 = d0;
    CK512_KEY_DOT(0);
    CK512_KEY_DOT(1);
    CK512_KEY_DOT(2);
    CK512_KEY_DOT(3);
    CK512_KEY_DOT(4);
    CK512_KEY_DOT(5);
    CK512_KEY_DOT(6);
    CK512_KEY_DOT(7);
    CK512_KEY_DOT(8);
    CK512_KEY_DOT(9);
    CK512_KEY_DOT(10);
    CK512_KEY_DOT(11);
    CK512_KEY_DOT(12);
    CK512_KEY_DOT(13);
    CK512_KEY_DOT(14);
    CK512_KEY_DOT(15);
    __m512 sums = ck512_hsum16(d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15);
    __m512 s = _mm512_mul_ps(sums, _mm512_set1_ps(r->scale));
    return _mm512_mask_blend_ps(ck512_mask(cnt), _mm512_set1_ps(-INFINITY), s);
}
#undef CK512_KEY_ROW
#undef CK512_KEY_DOT

static inline __attribute__((always_inline)) __m512 ck512_scores16(const ck512_attn_row *r, size_t s0, size_t cnt)
{
    return ck512_scores16_pf(r, s0, cnt, NULL);
}

/* acc[0..hd) = acc * corr + sum_{i < cnt} p[i] * v[s0 + i], 128 head dims
 * (8 independent zmm accumulators) at a time, keys in the inner loop. p[i]
 * is broadcast from the register (a store and 4-byte reloads would stall
 * on store forwarding). pf: V rows to prefetch, one per key. */
static inline __attribute__((always_inline)) void ck512_accumulate_pv_pf(const ck512_attn_row *r, size_t s0, size_t cnt,
                                                                         __m512 p, float corr,
                                                                         const ck512_attn_prefetch *pf)
{
    const __m512 cv = _mm512_set1_ps(corr);
    for (size_t c0 = 0; c0 < r->hd; c0 += 128) {
        __mmask16 m[8];
        __m512 a[8];
#pragma GCC unroll 8
        for (size_t u = 0; u < 8; u++) {
            size_t c = c0 + 16 * u;
            m[u] = c < r->hd ? ck512_mask(r->hd - c) : 0;
            a[u] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m[u], r->acc + c), cv);
        }
        for (size_t i = 0; i < cnt; i++) {
            const __m512 pb = _mm512_permutexvar_ps(_mm512_set1_epi32((int)i), p);
            const float *vp = r->v + (s0 + i) * r->kv_stride + c0;
            if (c0 == 0)
                ck512_prefetch_row(pf, pf ? pf->v : NULL, i);
#pragma GCC unroll 8
            for (size_t u = 0; u < 8; u++)
                a[u] = _mm512_fmadd_ps(pb, _mm512_maskz_loadu_ps(m[u], vp + 16 * u), a[u]);
        }
#pragma GCC unroll 8
        for (size_t u = 0; u < 8; u++)
            _mm512_mask_storeu_ps(r->acc + c0 + 16 * u, m[u], a[u]);
    }
}

static inline __attribute__((always_inline)) void ck512_accumulate_pv(const ck512_attn_row *r, size_t s0, size_t cnt,
                                                                      __m512 p, float corr)
{
    ck512_accumulate_pv_pf(r, s0, cnt, p, corr, NULL);
}

/* out = acc * (1 / l) */
static inline void ck512_attn_store(const ck512_attn_row *r, float *out, float l)
{
    const __m512 inv = _mm512_set1_ps(l > 0.0f ? 1.0f / l : 0.0f);
    for (size_t c = 0; c < r->hd; c += 16) {
        __mmask16 m = ck512_mask(r->hd - c);
        _mm512_mask_storeu_ps(out + c, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, r->acc + c), inv));
    }
}

/* Floats between the accumulators of consecutive heads in a group. */
#define CK512_ATTN_ACC_STRIDE(hd) (((hd) + 15) & ~(size_t)15)

/* Query row t of the query heads of kv heads [kv0, kv1), online softmax
 * over blocks of 16 keys, nothing materialised
 * (f32-attention-stream-avx512.c); scratch: CK512_ATTN_STREAM_FLOATS of
 * the run's query heads. */
void ck512_attention_stream_run(const ck_attention_args *a, size_t t, size_t kv0, size_t kv1, float *scratch);

/* Scratch floats for a run of n query heads: accumulators and softmax
 * states. */
#define CK512_ATTN_STREAM_FLOATS(n, hd) ((n) * (CK512_ATTN_ACC_STRIDE(hd) + 4))

/* One (head, query row) with every score and probability written out
 * (f32-attention-mat-avx512.c); row: scratch of S floats; scores / probs:
 * this row's [S] slices or NULL. */
void ck512_attention_row_mat(const ck512_attn_row *r, size_t S, float *row, float *scores, float *probs, float *out);

/* The whole op, blocked over 32 query rows for prefill, nothing
 * materialised (f32-attention-flash-avx512.c). Arguments already checked;
 * CK_E_NOMEM / CK_E_UNSUPPORTED (S beyond int32) leave out untouched. */
int ck512_attention_flash(const ck_exec_ctx *ctx, const ck_attention_args *a);

/* Fewer query rows than CK512_FLASH_MIN_T, nothing materialised: keys in
 * chunks fixed by S, each chunk a work item for all heads, then a merge
 * (f32-attention-decode-avx512.c). Arguments already checked; CK_E_NOMEM
 * leaves out untouched. */
int ck512_attention_decode(const ck_exec_ctx *ctx, const ck_attention_args *a);
size_t ck512_attention_decode_chunk(size_t S);
size_t ck512_attention_decode_part_floats(size_t H, size_t hd);
size_t ck512_attention_decode_thread_floats(size_t H, size_t hd);

/* From this many query rows on, the blocked prefill path is used. */
#define CK512_FLASH_MIN_T 8

#endif /* CK_ATTENTION_AVX512_H */
