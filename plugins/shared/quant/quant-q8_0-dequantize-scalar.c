/* Q8_0 dequantiser (reference): y = q * d, one correctly rounded product
 * (exact in fact: an 8-bit integer times an f16 fits in f32). */
#include "quant-ref.h"

void ck_q8_0_dequantize_row_ref(const ck_block_q8_0 *x, float *y, size_t n)
{
    for (size_t b = 0; b < n / CK_QBLOCK; b++) {
        const float d = ck_f16_to_f32(x[b].d);
        for (int j = 0; j < CK_QBLOCK; j++)
            y[b * CK_QBLOCK + j] = (float)x[b].qs[j] * d;
    }
}

int ck_scalar_q8_0_dequantize(const ck_exec_ctx *ctx, const void *args)
{
    const ck_quant_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_Q8_0)
        return CK_E_UNSUPPORTED;
    ck_q8_0_dequantize_row_ref(a->src, a->dst, a->n);
    return CK_OK;
}
