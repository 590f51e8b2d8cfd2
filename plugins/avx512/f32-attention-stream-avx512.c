/* f32-attention-stream/avx512: one (head, query row) of attention without
 * materialising scores: keys in blocks of 16, a running max m and sum l,
 * and the output accumulator rescaled by exp(m_old - m_new) whenever the
 * max grows (online softmax). */
#include <math.h>

#include "attention-avx512.h"

void ck512_attention_row_stream(const ck512_attn_row *r, float *out)
{
    float m = -INFINITY, l = 0.0f;
    float p[16];
    for (size_t c = 0; c < r->hd; c++)
        r->acc[c] = 0.0f;
    for (size_t s0 = 0; s0 < r->n; s0 += 16) {
        size_t cnt = r->n - s0 < 16 ? r->n - s0 : 16;
        __m512 sc = ck512_scores16(r, s0, cnt);
        float bm = ck512_hmax(sc);
        float m_new = bm > m ? bm : m;
        float corr = m == -INFINITY ? 0.0f : expf(m - m_new);
        __m512 pv = _mm512_maskz_mov_ps(ck512_mask(cnt), ck512_exp(_mm512_sub_ps(sc, _mm512_set1_ps(m_new))));
        _mm512_storeu_ps(p, pv);
        l = l * corr + ck512_hsum(pv);
        ck512_accumulate_pv(r, s0, cnt, p, corr);
        m = m_new;
    }
    ck512_attn_store(r, out, l);
}
