/* The parity gate's test subject for 16-bit weights: an f16 linear that
 * and an f16 embedding that widen each weight by shift and bias (exact
 * for normal values, as
 * broken_qscale.c's scales), so f16 zeros and subnormals (|w| < 6.1e-5,
 * about one weight in 400 at sigma 0.02) come out near 2^-15. Plain C in
 * double, rounded once, one thread. tests/unit/test_parity.c checks the
 * verdicts. */
#include <string.h>

#include "test_plugin.h"

static float f16_shift_bias(uint16_t h) /* the defect: no zero or subnormal case */
{
    uint32_t u = ((uint32_t)(h & 0x8000u) << 16) | ((((uint32_t)h & 0x7fffu) << 13) + ((127u - 15u) << 23));
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int linear_f16_shift(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    if (a->w_dtype != CK_DTYPE_F16)
        return CK_E_UNSUPPORTED;
    const uint16_t *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double acc = a->bias ? a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)a->x[t * a->K + k] * f16_shift_bias(w[n * a->K + k]);
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

static int embedding_f16_shift(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_F16)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    const uint16_t *tab = a->table;
    for (size_t t = 0; t < a->T; t++)
        for (size_t i = 0; i < a->D; i++)
            a->y[t * a->D + i] = f16_shift_bias(tab[(size_t)a->ids[t] * a->D + i]);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_F16, 0, "f16-linear/widened-by-shift", linear_f16_shift},
    {CK_OP_EMBEDDING, CK_DTYPE_F16, 0, "f16-embedding/widened-by-shift", embedding_f16_shift},
};

CK_TEST_PLUGIN("broken_f16_shift", "f16 linear that widens weights by shift and bias")
