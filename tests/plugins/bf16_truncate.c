/* Test plugin for the compute-bf16 bound: a bf16-weight linear with
 * CK_KF_COMPUTE_BF16 that narrows x by truncation (dropping the low 16 bits)
 * instead of rounding to nearest even, and is exact otherwise (double sums).
 * The gate must fail it: its error is the narrowing's, which the
 * accumulation-only bound of compute bf16 does not allow. */
#include <string.h>

#include "ck_plugin.h"

static double truncated(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u &= 0xffff0000u;
    float t;
    memcpy(&t, &u, sizeof t);
    return t;
}

static int linear(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    if (a->w_dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    const uint16_t *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double acc = a->bias ? a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += truncated(a->x[t * a->K + k]) * ck_bf16_to_f32(w[n * a->K + k]);
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_BF16, CK_KF_COMPUTE_BF16, "bf16-linear_cbf16/truncate", linear}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "bf16_truncate", "0", "compute bf16 by truncation", NULL, kernels, 1, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
