/* The parity gate's test subject for a quantised row's last blocks: a q8_0
 * linear with the reference's arithmetic (docs/quant.md) that walks K in
 * super-blocks of 8 blocks (256 values, one AVX-512 step of a 4-row tile)
 * and takes the r = nb % 8 blocks left over as one 4-block step when r >= 4,
 * else one block at a time: an if / else where a 4-block step then single
 * blocks was meant, so blocks 5..7 of a tail of 5, 6 or 7 are dropped.
 * Right for every K whose blocks leave 0..4 over; wrong for SmolLM2-360M's
 * 960 (30 blocks), Qwen2.5-0.5B's 4864 / 896 ... wherever 5..7 are left.
 * One thread. tests/unit/test_parity.c checks the verdicts. */
#include <math.h>

#include "test_plugin.h"

static int8_t round_half_away(float v)
{
    int i = (int)v;
    float frac = v - (float)i;
    i += frac >= 0.5f ? 1 : frac <= -0.5f ? -1 : 0;
    return (int8_t)i;
}

/* block b of row n against the same block of x row t, scaled */
static float block_dot(const ck_linear_args *a, size_t t, size_t n, size_t b)
{
    const size_t nb = a->K / CK_QBLOCK;
    const ck_block_q8_0 *w = (const ck_block_q8_0 *)a->w + n * nb + b;
    const float *xb = a->x + t * a->K + b * CK_QBLOCK;
    float amax = 0.0f;
    for (int j = 0; j < CK_QBLOCK; j++)
        amax = fabsf(xb[j]) > amax ? fabsf(xb[j]) : amax;
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    int32_t isum = 0;
    for (int j = 0; j < CK_QBLOCK; j++)
        isum += (int32_t)w->qs[j] * round_half_away(xb[j] * id);
    return (float)isum * (ck_f16_to_f32(w->d) * ck_f16_to_f32(ck_f32_to_f16(d)));
}

static int linear_q8_0_tail(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    if (a->w_dtype != CK_DTYPE_Q8_0 || a->K % CK_QBLOCK)
        return CK_E_UNSUPPORTED;
    const size_t nb = a->K / CK_QBLOCK, main = nb / 8 * 8, r = nb - main;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            float acc = 0.0f;
            for (size_t b = 0; b < main; b++)
                acc = acc + block_dot(a, t, n, b);
            if (r >= 4) /* the defect: else, where the single blocks should follow the 4-block step */
                for (size_t b = main; b < main + 4; b++)
                    acc = acc + block_dot(a, t, n, b);
            else
                for (size_t b = main; b < nb; b++)
                    acc = acc + block_dot(a, t, n, b);
            a->y[t * a->N + n] = a->bias ? acc + a->bias[n] : acc;
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_Q8_0, 0, "q8_0-linear/tail-of-5-to-7-blocks-dropped", linear_q8_0_tail},
};

CK_TEST_PLUGIN("broken_qtail", "q8_0 linear that drops blocks 5..7 of a row's last super-block")
