/* f32-attention-stream/avx512: one query row of the G query heads that
 * share a kv head, without materialising scores: keys in blocks of 16, and
 * per head a running max m, sum l and output accumulator rescaled by
 * exp(m_old - m_new) whenever the max grows (online softmax). Each block of
 * K and V rows is read from memory once and reused from L1 by the G heads,
 * so grouped-query decode streams the KV cache once. */
#include <math.h>

#include "attention-avx512.h"

void ck512_attention_rows_stream(const ck512_attn_row *r, size_t G, float *out)
{
    const size_t acc_stride = CK512_ATTN_ACC_STRIDE(r->hd);
    float *m = r->acc + G * acc_stride, *l = m + G;
    for (size_t g = 0; g < G; g++) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
        for (size_t c = 0; c < r->hd; c++)
            r->acc[g * acc_stride + c] = 0.0f;
    }
    for (size_t s0 = 0; s0 < r->n; s0 += 16) {
        size_t cnt = r->n - s0 < 16 ? r->n - s0 : 16;
        for (size_t g = 0; g < G; g++) {
            ck512_attn_row rg = *r;
            rg.q = r->q + g * r->hd;
            rg.acc = r->acc + g * acc_stride;
            __m512 sc = ck512_scores16(&rg, s0, cnt);
            float bm = ck512_hmax(sc);
            float m_new = bm > m[g] ? bm : m[g];
            float corr = m[g] == -INFINITY ? 0.0f : expf(m[g] - m_new);
            __m512 pv = _mm512_maskz_mov_ps(ck512_mask(cnt), ck512_exp(_mm512_sub_ps(sc, _mm512_set1_ps(m_new))));
            l[g] = l[g] * corr + ck512_hsum(pv);
            ck512_accumulate_pv(&rg, s0, cnt, pv, corr);
            m[g] = m_new;
        }
    }
    for (size_t g = 0; g < G; g++) {
        ck512_attn_row rg = *r;
        rg.acc = r->acc + g * acc_stride;
        ck512_attn_store(&rg, out + g * r->hd, l[g]);
    }
}
