/* The parity gate's test subject for quantised scales: a q8_0 linear with
 * the reference's arithmetic (docs/quant.md: activations quantised per
 * block, integer block sums, acc + isum * (d_w * d_x) in block order), and
 * a q8_0 dequantize and embedding, but every f16 scale widened by shift
 * and bias, a common hand-written
 * conversion that is exact for normal values and wrong for 0, subnormals
 * and infinities. Generated scales are all normal, so every case passes
 * but those with zero and subnormal scales (inputs=quant-scales,
 * harness/parity/parity_cover.c), which real files have (an all-zero block
 * of unused rows, a tiny one). One thread. tests/unit/test_parity.c. */
#include <math.h>
#include <string.h>

#include "test_plugin.h"

static float f16_shift_bias(uint16_t h) /* the defect: no zero, subnormal or inf case */
{
    uint32_t u = ((uint32_t)(h & 0x8000u) << 16) | ((((uint32_t)h & 0x7fffu) << 13) + ((127u - 15u) << 23));
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int8_t round_half_away(float v)
{
    int i = (int)v;
    float frac = v - (float)i;
    i += frac >= 0.5f ? 1 : frac <= -0.5f ? -1 : 0;
    return (int8_t)i;
}

static int linear_q8_0(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    if (a->w_dtype != CK_DTYPE_Q8_0 || a->K % CK_QBLOCK)
        return CK_E_UNSUPPORTED;
    const size_t nb = a->K / CK_QBLOCK;
    const ck_block_q8_0 *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            float acc = 0.0f;
            for (size_t b = 0; b < nb; b++) {
                const float *xb = a->x + t * a->K + b * CK_QBLOCK;
                float amax = 0.0f;
                for (int j = 0; j < CK_QBLOCK; j++)
                    amax = fabsf(xb[j]) > amax ? fabsf(xb[j]) : amax;
                const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
                int32_t isum = 0;
                for (int j = 0; j < CK_QBLOCK; j++)
                    isum += (int32_t)w[n * nb + b].qs[j] * round_half_away(xb[j] * id);
                float scale = f16_shift_bias(w[n * nb + b].d) * f16_shift_bias(ck_f32_to_f16(d));
                acc = acc + (float)isum * scale;
            }
            a->y[t * a->N + n] = a->bias ? acc + a->bias[n] : acc;
        }
    return CK_OK;
}

static int dequantize_q8_0(const ck_exec_ctx *ctx, const void *args)
{
    const ck_quant_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_Q8_0)
        return CK_E_UNSUPPORTED;
    const ck_block_q8_0 *b = a->src;
    float *y = a->dst;
    for (size_t i = 0; i < a->n; i++)
        y[i] = (float)b[i / CK_QBLOCK].qs[i % CK_QBLOCK] * f16_shift_bias(b[i / CK_QBLOCK].d);
    return CK_OK;
}

static int embedding_q8_0(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_Q8_0 || a->D % CK_QBLOCK)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    const ck_block_q8_0 *b = (const ck_block_q8_0 *)a->table;
    for (size_t t = 0; t < a->T; t++)
        for (size_t i = 0; i < a->D; i++) {
            const ck_block_q8_0 *blk = b + ((size_t)a->ids[t] * a->D + i) / CK_QBLOCK;
            a->y[t * a->D + i] = (float)blk->qs[i % CK_QBLOCK] * f16_shift_bias(blk->d);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_Q8_0, 0, "q8_0-linear/f16-scale-by-shift", linear_q8_0},
    {CK_OP_DEQUANTIZE, CK_DTYPE_Q8_0, 0, "q8_0-dequantize/f16-scale-by-shift", dequantize_q8_0},
    {CK_OP_EMBEDDING, CK_DTYPE_Q8_0, 0, "q8_0-embedding/f16-scale-by-shift", embedding_q8_0},
};

CK_TEST_PLUGIN("broken_qscale", "q8_0 linear and dequantize that widen f16 scales by shift and bias")
