/* Q8_0 quantiser (reference), exactly as ggml's quantize_row_q8_0_ref:
 * d = amax / 127 (f32), stored as f16 (round to nearest even);
 * q = roundf(x * (1/d)) with the f32 reciprocal of the unrounded d, so
 * |q| <= 127. An all-zero block gets d = 0 and q = 0.
 * Also used, unchanged, to quantise activations for the quantised linear. */
#include <math.h>

#include "quant-ref.h"

/* roundf(v) for |v| < 2^23, without a libm call so the loop stays cheap
 * (it also quantises every activation row): v - (float)(int)v is exact, so
 * comparing it with 1/2 rounds halves away from zero exactly as roundf. */
static int8_t round_half_away(float v)
{
    int i = (int)v;
    float frac = v - (float)i;
    if (frac >= 0.5f)
        i++;
    else if (frac <= -0.5f)
        i--;
    return (int8_t)i;
}

void ck_q8_0_quantize_row_ref(const float *x, ck_block_q8_0 *y, size_t n)
{
    for (size_t b = 0; b < n / CK_QBLOCK; b++) {
        const float *xb = x + b * CK_QBLOCK;
        float amax = 0.0f;
        for (int j = 0; j < CK_QBLOCK; j++)
            amax = fabsf(xb[j]) > amax ? fabsf(xb[j]) : amax; /* fmaxf, NaN aside */
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = ck_f32_to_f16(d);
        for (int j = 0; j < CK_QBLOCK; j++)
            y[b].qs[j] = round_half_away(xb[j] * id);
    }
}

int ck_scalar_q8_0_quantize(const ck_exec_ctx *ctx, const void *args)
{
    const ck_quant_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_Q8_0)
        return CK_E_UNSUPPORTED;
    ck_q8_0_quantize_row_ref(a->src, a->dst, a->n);
    return CK_OK;
}
