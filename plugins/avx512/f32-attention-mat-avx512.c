/* f32-attention-mat/avx512: one (head, query row) of attention with the
 * scores (scaled, soft-capped, -inf where masked: causal limit and window)
 * and probabilities (0 where masked) written to the caller's [H, T, S]
 * tensors when they are non-NULL. */
#include <math.h>

#include "attention-avx512.h"

void ck512_attention_row_mat(const ck512_attn_row *r, size_t S, float *row, float *scores, float *probs, float *out)
{
    const size_t lo = r->first;
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (size_t s = 0; s < lo; s++)
        row[s] = -INFINITY;
    for (size_t s0 = lo; s0 < r->n; s0 += 16) {
        size_t cnt = r->n - s0 < 16 ? r->n - s0 : 16;
        __m512 sc = ck512_softcap_row(r, ck512_scores16(r, s0, cnt), ck512_mask(cnt));
        mx = _mm512_max_ps(mx, sc);
        ck512_store_tail(row + s0, sc, cnt);
    }
    for (size_t s = r->n; s < S; s++)
        row[s] = -INFINITY;
    if (scores)
        for (size_t s = 0; s < S; s++)
            scores[s] = row[s];
    const __m512 m = _mm512_set1_ps(ck512_hmax(mx));
    __m512 sum = _mm512_setzero_ps();
    for (size_t s0 = lo; s0 < r->n; s0 += 16) {
        __mmask16 k = ck512_mask(r->n - s0);
        __m512 e = _mm512_maskz_mov_ps(k, ck512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + s0), m)));
        sum = _mm512_add_ps(sum, e);
        _mm512_mask_storeu_ps(row + s0, k, e);
    }
    const __m512 total = _mm512_set1_ps(ck512_hsum(sum));
    for (size_t s0 = lo; s0 < r->n; s0 += 16) {
        __mmask16 k = ck512_mask(r->n - s0);
        _mm512_mask_storeu_ps(row + s0, k, _mm512_div_ps(_mm512_maskz_loadu_ps(k, row + s0), total));
    }
    for (size_t s = 0; s < lo; s++)
        row[s] = 0.0f;
    for (size_t s = r->n; s < S; s++)
        row[s] = 0.0f;
    if (probs)
        for (size_t s = 0; s < S; s++)
            probs[s] = row[s];
    for (size_t c = 0; c < r->hd; c++)
        r->acc[c] = 0.0f;
    for (size_t s0 = lo; s0 < r->n; s0 += 16) {
        size_t cnt = r->n - s0 < 16 ? r->n - s0 : 16;
        ck512_accumulate_pv(r, s0, cnt, ck512_load_tail(row + s0, cnt), 1.0f);
    }
    ck512_attn_store(r, out, 1.0f);
}
