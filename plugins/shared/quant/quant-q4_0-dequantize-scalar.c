/* Q4_0 dequantiser (reference): y = (q - 8) * d; low nibble of byte j is
 * element j, high nibble is element j + 16. Exact, like Q8_0. */
#include "quant-ref.h"

void ck_q4_0_dequantize_row_ref(const ck_block_q4_0 *x, float *y, size_t n)
{
    for (size_t b = 0; b < n / CK_QBLOCK; b++) {
        const float d = ck_f16_to_f32(x[b].d);
        float *yb = y + b * CK_QBLOCK;
        for (int j = 0; j < CK_QBLOCK / 2; j++) {
            yb[j] = (float)((x[b].qs[j] & 0x0f) - 8) * d;
            yb[j + CK_QBLOCK / 2] = (float)((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

int ck_scalar_q4_0_dequantize(const ck_exec_ctx *ctx, const void *args)
{
    const ck_quant_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_Q4_0)
        return CK_E_UNSUPPORTED;
    ck_q4_0_dequantize_row_ref(a->src, a->dst, a->n);
    return CK_OK;
}
