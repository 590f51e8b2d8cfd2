/* Q4_0 quantiser (reference), exactly as ggml's quantize_row_q4_0_ref:
 * the scale comes from the signed value of largest magnitude m (the first
 * one on ties), d = m / -8 (so m itself maps to code 0, i.e. -8 * d), stored
 * as f16; code q = min(15, (int)(x * (1/d) + 8.5f)) with truncation toward
 * zero (the argument is >= 0 for finite inputs), value = (q - 8) * d.
 * Byte j of the block holds element j in its low nibble and element j + 16
 * in its high nibble. */
#include <math.h>

#include "quant-ref.h"

static uint8_t q4_0_code(float x, float id)
{
    int q = (int)(x * id + 8.5f);
    return (uint8_t)(q < 15 ? q : 15);
}

void ck_q4_0_quantize_row_ref(const float *x, ck_block_q4_0 *y, size_t n)
{
    for (size_t b = 0; b < n / CK_QBLOCK; b++) {
        const float *xb = x + b * CK_QBLOCK;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < CK_QBLOCK; j++) {
            if (amax < fabsf(xb[j])) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ck_f32_to_f16(d);
        for (int j = 0; j < CK_QBLOCK / 2; j++) {
            uint8_t lo = q4_0_code(xb[j], id);
            uint8_t hi = q4_0_code(xb[j + CK_QBLOCK / 2], id);
            y[b].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

int ck_scalar_q4_0_quantize(const ck_exec_ctx *ctx, const void *args)
{
    const ck_quant_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_Q4_0)
        return CK_E_UNSUPPORTED;
    ck_q4_0_quantize_row_ref(a->src, a->dst, a->n);
    return CK_OK;
}
