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
    size_t n;           /* visible keys: 0 .. n-1 */
    float scale;
    float *acc;         /* [hd] scratch for the output accumulator */
} ck512_attn_row;

/* 16 dot products (one per zmm) -> one zmm of their sums, lane i = v[i]:
 * a transpose-and-add tree (unpack ps, unpack pd, two 128-bit shuffles)
 * that costs 45 instructions instead of 16 full reductions. */
static inline __m512 ck512_hsum16(const __m512 v[16])
{
    __m512 w[8], x[4];
    for (int i = 0; i < 8; i++)
        w[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d c = _mm512_castps_pd(w[2 * i]), d = _mm512_castps_pd(w[2 * i + 1]);
        x[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(c, d)), _mm512_castpd_ps(_mm512_unpackhi_pd(c, d)));
    }
    __m512 y0 = _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88), _mm512_shuffle_f32x4(x[0], x[1], 0xDD));
    __m512 y1 = _mm512_add_ps(_mm512_shuffle_f32x4(x[2], x[3], 0x88), _mm512_shuffle_f32x4(x[2], x[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(y0, y1, 0x88), _mm512_shuffle_f32x4(y0, y1, 0xDD));
}

/* scale * dot(q, k[s0 + i]) for i < cnt (cnt <= 16); lanes >= cnt are -inf. */
static inline __m512 ck512_scores16(const ck512_attn_row *r, size_t s0, size_t cnt)
{
    __m512 d[16];
    for (size_t i = 0; i < 16; i++)
        d[i] = _mm512_setzero_ps();
    for (size_t c = 0; c < r->hd; c += 16) {
        __mmask16 m = ck512_mask(r->hd - c);
        __m512 qv = _mm512_maskz_loadu_ps(m, r->q + c);
        const float *kp = r->k + s0 * r->kv_stride + c;
        for (size_t i = 0; i < cnt; i++)
            d[i] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, kp + i * r->kv_stride), d[i]);
    }
    __m512 s = _mm512_mul_ps(ck512_hsum16(d), _mm512_set1_ps(r->scale));
    return _mm512_mask_blend_ps(ck512_mask(cnt), _mm512_set1_ps(-INFINITY), s);
}

/* acc[0..hd) = acc * corr + sum_{i < cnt} p[i] * v[s0 + i]. */
static inline void ck512_accumulate_pv(const ck512_attn_row *r, size_t s0, size_t cnt, const float *p, float corr)
{
    const __m512 cv = _mm512_set1_ps(corr);
    for (size_t c = 0; c < r->hd; c += 16) {
        __mmask16 m = ck512_mask(r->hd - c);
        __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, r->acc + c), cv);
        const float *vp = r->v + s0 * r->kv_stride + c;
        for (size_t i = 0; i < cnt; i++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(p[i]), _mm512_maskz_loadu_ps(m, vp + i * r->kv_stride), a);
        _mm512_mask_storeu_ps(r->acc + c, m, a);
    }
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

/* One query row of G query heads sharing r's kv head, online softmax over
 * blocks of 16 keys, nothing materialised (f32-attention-stream-avx512.c).
 * r->q is head 0's query, the others follow hd floats apart, as do their
 * outputs from `out`; r->acc holds G * CK512_ATTN_ACC_STRIDE(hd) + 2G
 * floats of scratch. */
void ck512_attention_rows_stream(const ck512_attn_row *r, size_t G, float *out);

/* One (head, query row) with every score and probability written out
 * (f32-attention-mat-avx512.c); row: scratch of S floats; scores / probs:
 * this row's [S] slices or NULL. */
void ck512_attention_row_mat(const ck512_attn_row *r, size_t S, float *row, float *scores, float *probs, float *out);

/* The whole op, blocked over 32 query rows for prefill, nothing
 * materialised (f32-attention-flash-avx512.c). Arguments already checked;
 * CK_E_NOMEM / CK_E_UNSUPPORTED (S beyond int32) leave out untouched. */
int ck512_attention_flash(const ck_exec_ctx *ctx, const ck_attention_args *a);

/* From this many query rows on, the blocked prefill path is used. */
#define CK512_FLASH_MIN_T 8

#endif /* CK_ATTENTION_AVX512_H */
