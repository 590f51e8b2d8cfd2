/* Q8_0 and Q4_0 row kernels, AArch64 NEON (baseline, no dotprod extension):
 * the integer block sum by widening multiplies (|w * x| <= 128 * 127 fits
 * int16) and pairwise widening adds, then the reference's own f32
 * accumulation step, so the bits are the reference's by construction. */
#if defined(__aarch64__)
#include <arm_neon.h>

#include "quant.h"

static int32_t isum_s8x32(int8x16_t w0, int8x16_t w1, const int8_t *x)
{
    int8x16_t x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16);
    int32x4_t s = vpaddlq_s16(vmull_s8(vget_low_s8(w0), vget_low_s8(x0)));
    s = vpadalq_s16(s, vmull_s8(vget_high_s8(w0), vget_high_s8(x0)));
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(w1), vget_low_s8(x1)));
    s = vpadalq_s16(s, vmull_s8(vget_high_s8(w1), vget_high_s8(x1)));
    return vaddvq_s32(s);
}

static float q8_0_row(const ck_block_q8_0 *wr, const ck_block_q8_0 *xq, size_t nb)
{
    float acc = 0.0f;
    for (size_t b = 0; b < nb; b++) {
        int32_t isum = isum_s8x32(vld1q_s8(wr[b].qs), vld1q_s8(wr[b].qs + 16), xq[b].qs);
        acc = ck_qacc_step(acc, isum, wr[b].d, xq[b].d);
    }
    return acc;
}

static float q4_0_row(const ck_block_q4_0 *wr, const ck_block_q8_0 *xq, size_t nb)
{
    const uint8x16_t mask = vdupq_n_u8(0x0f);
    const int8x16_t eight = vdupq_n_s8(8);
    float acc = 0.0f;
    for (size_t b = 0; b < nb; b++) {
        uint8x16_t raw = vld1q_u8(wr[b].qs);
        int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(raw, mask)), eight);
        int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(raw, 4)), eight);
        acc = ck_qacc_step(acc, isum_s8x32(lo, hi, xq[b].qs), wr[b].d, xq[b].d);
    }
    return acc;
}

void ck_quant_q8_0_rows_neon(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out)
{
    for (size_t i = 0; i < n_x; i++)
        for (size_t r = 0; r < n_rows; r++)
            out[i * CK_QROWS + r] =
                q8_0_row((const ck_block_q8_0 *)((const unsigned char *)w + r * row_bytes), xq + i * nb, nb);
}

void ck_quant_q4_0_rows_neon(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out)
{
    for (size_t i = 0; i < n_x; i++)
        for (size_t r = 0; r < n_rows; r++)
            out[i * CK_QROWS + r] =
                q4_0_row((const ck_block_q4_0 *)((const unsigned char *)w + r * row_bytes), xq + i * nb, nb);
}
#endif
