/* f32-attention-stream/avx512: query row t of the query heads of a run of
 * kv heads, without materialising scores (decode and short T). Keys go in
 * blocks of 16 with, per query head, a running max m, sum l and output
 * accumulator rescaled by exp(m_old - m_new) whenever the max grows (online
 * softmax).
 *
 * Decode is bound by the KV cache, so:
 * - the key blocks are the outer loop and the kv heads of the run the inner
 *   one: one block sweeps a contiguous stretch of each cache row (they are
 *   Hkv * hd floats apart) instead of walking one head down 4-16 KiB
 *   strides, and the rows of a head's next block are prefetched while its
 *   current block is computed (too far apart for the hardware prefetcher);
 * - K and V are read in place, and within a grouped-query group four query
 *   heads at a time share every K and V load in registers (4 keys x 4 heads
 *   of dot products, 4 heads x 64 dims of p . V), so the work per KV byte
 *   does not grow with the group.
 * Which heads go four at a time depends on the group size only, so a row's
 * result does not depend on the run (or thread) that computes it. The walk
 * starts at the row's window (ck512_first_key); soft-capping is applied to
 * each block's live scores before its softmax step. */
#include <math.h>

#include "attention-avx512.h"

#define CK512_HEADS4 4

/* Per query head: the accumulator and the softmax state. */
typedef struct head_state {
    float *acc; /* [hd] */
    float m, l;
} head_state;
/* CK512_ATTN_STREAM_FLOATS leaves 4 floats per head for this. */
_Static_assert(sizeof(head_state) <= 4 * sizeof(float), "head_state outgrew its scratch");

/* 16 dot products (4 query heads x 4 keys) over hd, reduced to one vector:
 * lane 4g + i = q_g . k_i. A key past cnt re-reads key 0 (masked later). */
static inline __attribute__((always_inline)) __m512 dots4x4(const float *const q[4], const float *const k[4], size_t hd)
{
    const size_t full = hd & ~(size_t)15;
    __m512 d[4][4];
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++)
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            d[g][i] = _mm512_setzero_ps();
    for (size_t c = 0; c < full; c += 16) {
        __m512 kk[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            kk[i] = _mm512_loadu_ps(k[i] + c);
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) {
            __m512 qq = _mm512_loadu_ps(q[g] + c);
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                d[g][i] = _mm512_fmadd_ps(qq, kk[i], d[g][i]);
        }
    }
    if (full < hd) {
        const __mmask16 mt = ck512_mask(hd - full);
        __m512 kk[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            kk[i] = _mm512_maskz_loadu_ps(mt, k[i] + full);
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) {
            __m512 qq = _mm512_maskz_loadu_ps(mt, q[g] + full);
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                d[g][i] = _mm512_fmadd_ps(qq, kk[i], d[g][i]);
        }
    }
    return ck512_hsum16(d[0][0], d[0][1], d[0][2], d[0][3], d[1][0], d[1][1], d[1][2], d[1][3], d[2][0], d[2][1],
                        d[2][2], d[2][3], d[3][0], d[3][1], d[3][2], d[3][3]);
}

/* Scores of keys s0 .. s0+cnt for 4 query heads (q[g]): sc[g] lane i =
 * scale * q_g . k_{s0+i}, lanes >= cnt -inf. The four 4x4 results hold
 * (head, key) in 128-bit lanes [head][key]; a transpose of 128-bit lanes
 * puts each head's 16 keys in one vector. */
static inline __attribute__((always_inline)) void scores16x4(const ck512_attn_row *r, const float *const q[4],
                                                             size_t s0, size_t cnt, __m512 sc[4],
                                                             const ck512_attn_prefetch *pf)
{
    __m512 x[4];
#pragma GCC unroll 4
    for (size_t kg = 0; kg < 4; kg++) {
        const float *k[4];
        for (size_t i = 0; i < 4; i++) {
            size_t key = 4 * kg + i;
            k[i] = r->k + (s0 + (key < cnt ? key : 0)) * r->kv_stride;
        }
        x[kg] = dots4x4(q, k, r->hd);
        for (size_t i = 0; i < 4; i++)
            ck512_prefetch_row(pf, pf ? pf->k : NULL, 4 * kg + i);
    }
    __m512 t0 = _mm512_shuffle_f32x4(x[0], x[1], 0x44), t1 = _mm512_shuffle_f32x4(x[0], x[1], 0xEE);
    __m512 t2 = _mm512_shuffle_f32x4(x[2], x[3], 0x44), t3 = _mm512_shuffle_f32x4(x[2], x[3], 0xEE);
    const __m512 scale = _mm512_set1_ps(r->scale), ninf = _mm512_set1_ps(-INFINITY);
    const __mmask16 live = ck512_mask(cnt);
    sc[0] = _mm512_mask_blend_ps(live, ninf, _mm512_mul_ps(_mm512_shuffle_f32x4(t0, t2, 0x88), scale));
    sc[1] = _mm512_mask_blend_ps(live, ninf, _mm512_mul_ps(_mm512_shuffle_f32x4(t0, t2, 0xDD), scale));
    sc[2] = _mm512_mask_blend_ps(live, ninf, _mm512_mul_ps(_mm512_shuffle_f32x4(t1, t3, 0x88), scale));
    sc[3] = _mm512_mask_blend_ps(live, ninf, _mm512_mul_ps(_mm512_shuffle_f32x4(t1, t3, 0xDD), scale));
}

/* acc_g = acc_g * corr_g + sum_{i < cnt} p_g[i] * v[s0 + i] for 4 heads,
 * 64 head dims at a time: each V load feeds the four heads. */
static inline __attribute__((always_inline)) void accumulate_pv4(const ck512_attn_row *r, head_state *hs, size_t s0,
                                                                 size_t cnt, const __m512 p[4], const float corr[4],
                                                                 const ck512_attn_prefetch *pf)
{
    for (size_t c0 = 0; c0 < r->hd; c0 += 64) {
        __mmask16 m[4];
        __m512 a[4][4];
#pragma GCC unroll 4
        for (size_t u = 0; u < 4; u++)
            m[u] = c0 + 16 * u < r->hd ? ck512_mask(r->hd - c0 - 16 * u) : 0;
#pragma GCC unroll 4
        for (size_t g = 0; g < 4; g++)
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++)
                a[g][u] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m[u], hs[g].acc + c0 + 16 * u), _mm512_set1_ps(corr[g]));
        for (size_t i = 0; i < cnt; i++) {
            const __m512i idx = _mm512_set1_epi32((int)i);
            const float *vp = r->v + (s0 + i) * r->kv_stride + c0;
            if (c0 == 0)
                ck512_prefetch_row(pf, pf ? pf->v : NULL, i);
            __m512 pb[4];
#pragma GCC unroll 4
            for (size_t g = 0; g < 4; g++)
                pb[g] = _mm512_permutexvar_ps(idx, p[g]);
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++) {
                __m512 vv = _mm512_maskz_loadu_ps(m[u], vp + 16 * u);
#pragma GCC unroll 4
                for (size_t g = 0; g < 4; g++)
                    a[g][u] = _mm512_fmadd_ps(pb[g], vv, a[g][u]);
            }
        }
#pragma GCC unroll 4
        for (size_t g = 0; g < 4; g++)
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++)
                _mm512_mask_storeu_ps(hs[g].acc + c0 + 16 * u, m[u], a[g][u]);
    }
}

/* The online-softmax step of one head for a block of scores: new max, the
 * rescale factor, probabilities (0 past cnt), new sum. */
static inline __attribute__((always_inline)) __m512 softmax_step(const ck512_attn_row *r, head_state *h, __m512 sc,
                                                                 size_t cnt, float *corr)
{
    sc = ck512_softcap_row(r, sc, ck512_mask(cnt));
    float bm = ck512_hmax(sc);
    float m_new = bm > h->m ? bm : h->m;
    *corr = h->m == -INFINITY ? 0.0f : expf(h->m - m_new);
    __m512 pv = _mm512_maskz_mov_ps(ck512_mask(cnt), ck512_exp(_mm512_sub_ps(sc, _mm512_set1_ps(m_new))));
    h->l = h->l * *corr + ck512_hsum(pv);
    h->m = m_new;
    return pv;
}

/* Keys s0 .. s0+cnt of one kv head for its G query heads (queries from
 * r->q, hd floats apart), prefetching pf's rows on the way (once). */
static void block_of_group(const ck512_attn_row *r, head_state *hs, size_t G, size_t s0, size_t cnt,
                           const ck512_attn_prefetch *pf)
{
    size_t g = 0;
    for (; g + CK512_HEADS4 <= G; g += CK512_HEADS4) {
        const float *q[4] = {r->q + g * r->hd, r->q + (g + 1) * r->hd, r->q + (g + 2) * r->hd, r->q + (g + 3) * r->hd};
        __m512 sc[4], p[4];
        float corr[4];
        scores16x4(r, q, s0, cnt, sc, pf);
        for (size_t u = 0; u < 4; u++)
            p[u] = softmax_step(r, &hs[g + u], sc[u], cnt, &corr[u]);
        accumulate_pv4(r, hs + g, s0, cnt, p, corr, pf);
        pf = NULL;
    }
    for (; g < G; g++) {
        ck512_attn_row rg = *r;
        rg.q = r->q + g * r->hd;
        rg.acc = hs[g].acc;
        float corr;
        __m512 p = softmax_step(r, &hs[g], ck512_scores16_pf(&rg, s0, cnt, pf), cnt, &corr);
        ck512_accumulate_pv_pf(&rg, s0, cnt, p, corr, pf);
        pf = NULL;
    }
}

/* The block CK512_PF_AHEAD steps after (kvh, s0) in the order the run walks
 * them (kv heads inner), to be prefetched while (kvh, s0) is computed. Two
 * steps (32-64 KiB ahead at hd = 128) measured best of 1, 2 and 4. */
#define CK512_PF_AHEAD 2
static ck512_attn_prefetch prefetch_target(const ck_attention_args *a, const ck512_attn_row *r, size_t kv0, size_t kv1,
                                           size_t kvh, size_t s0, size_t n)
{
    size_t step = kvh - kv0 + CK512_PF_AHEAD, heads = kv1 - kv0;
    size_t blk = s0 + 16 * (step / heads), h = kv0 + step % heads;
    ck512_attn_prefetch pf = {a->k, a->v, r->kv_stride, r->hd, 0};
    if (blk < n) {
        pf.k = a->k + blk * r->kv_stride + h * r->hd;
        pf.v = a->v + blk * r->kv_stride + h * r->hd;
        pf.n = n - blk < 16 ? n - blk : 16;
    }
    return pf;
}

void ck512_attention_stream_run(const ck_attention_args *a, size_t t, size_t kv0, size_t kv1, float *scratch)
{
    const size_t hd = a->head_dim, G = a->n_heads / a->n_kv_heads, acc_stride = CK512_ATTN_ACC_STRIDE(hd);
    const size_t nh = (kv1 - kv0) * G;
    const size_t n = ck512_end_key(a, t), first = ck512_first_key(a, t);
    head_state *hs = (head_state *)(void *)(scratch + nh * acc_stride);
    for (size_t i = 0; i < nh; i++) {
        hs[i].acc = scratch + i * acc_stride;
        hs[i].m = -INFINITY;
        hs[i].l = 0.0f;
        for (size_t c = 0; c < hd; c++)
            hs[i].acc[c] = 0.0f;
    }
    const size_t h0 = kv0 * G;
    for (size_t s0 = first; s0 < n; s0 += 16) {
        size_t cnt = n - s0 < 16 ? n - s0 : 16;
        for (size_t kvh = kv0; kvh < kv1; kvh++) {
            ck512_attn_row r = {
                a->q + (t * a->n_heads + kvh * G) * hd,
                a->k + kvh * hd,
                a->v + kvh * hd,
                a->n_kv_heads * hd,
                hd,
                n,
                a->scale,
                NULL,
                first,
                a->softcap,
            };
            ck512_attn_prefetch pf = prefetch_target(a, &r, kv0, kv1, kvh, s0, n);
            block_of_group(&r, hs + (kvh - kv0) * G, G, s0, cnt, &pf);
        }
    }
    for (size_t i = 0; i < nh; i++) {
        ck512_attn_row r = {NULL, NULL, NULL, 0, hd, 0, 0.0f, hs[i].acc, 0, 0.0f};
        ck512_attn_store(&r, a->out + (t * a->n_heads + h0 + i) * hd, hs[i].l);
    }
}
