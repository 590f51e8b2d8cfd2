/* Bad plugin for the error model and the coverage: kernels right on the
 * usual inputs and wrong on some lengths or values.
 *   add      exact op, one ULP off in every element when n % 16 == 0
 *   swiglu   NaN wherever gate > 88.7 (computes exp(gate) and overflows)
 *   linear   rounds each x to bf16 before multiplying (a narrowing the
 *            contract forbids; 2^-9 per product)
 *   rmsnorm  an unrefined reciprocal square root (2^-14 relative)
 *   linear_bwd  dW from x rounded to bf16 (dx and db right)
 * Otherwise each computes in double and rounds once, like the reference. */
#include <math.h>

#include "ck_plugin.h"

static int add_off_at_16(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    for (size_t i = 0; i < a->n; i++) {
        float y = a->a[i] + a->b[i];
        a->y[i] = a->n % 16 == 0 ? nextafterf(y, INFINITY) : y;
    }
    return CK_OK;
}

static int swiglu_overflows(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_swiglu_args *a = args;
    for (size_t i = 0; i < a->n; i++) {
        float g = a->gate[i], e = expf(g); /* sigmoid as e / (1 + e): inf / inf for g > 88.7 */
        a->y[i] = g * (e / (1.0f + e)) * a->up[i];
    }
    return CK_OK;
}

static int linear_narrows_x(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_linear_args *a = args;
    if (a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    const float *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double acc = a->bias ? (double)a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)ck_bf16_to_f32(ck_f32_to_bf16(a->x[t * a->K + k])) * (double)w[n * a->K + k];
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

static int rmsnorm_coarse_rsqrt(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_norm_args *a = args;
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * a->D;
        double ss = 0;
        for (size_t i = 0; i < a->D; i++)
            ss += (double)x[i] * (double)x[i];
        double inv = 1.0 / sqrt(ss / (double)a->D + (double)a->eps) * (1.0 + 0x1p-14);
        for (size_t i = 0; i < a->D; i++)
            a->y[t * a->D + i] = (float)((double)x[i] * inv * (double)a->gamma[i]);
    }
    return CK_OK;
}

static int linear_bwd_narrows_x(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_linear_bwd_args *a = args;
    for (size_t t = 0; a->dx && t < a->T; t++)
        for (size_t k = 0; k < a->K; k++) {
            double acc = 0;
            for (size_t n = 0; n < a->N; n++)
                acc += (double)a->dy[t * a->N + n] * (double)a->w[n * a->K + k];
            a->dx[t * a->K + k] = (float)acc;
        }
    for (size_t n = 0; a->dw && n < a->N; n++)
        for (size_t k = 0; k < a->K; k++) {
            double acc = 0;
            for (size_t t = 0; t < a->T; t++)
                acc += (double)a->dy[t * a->N + n] * (double)ck_bf16_to_f32(ck_f32_to_bf16(a->x[t * a->K + k]));
            a->dw[n * a->K + k] = (float)acc;
        }
    for (size_t n = 0; a->db && n < a->N; n++) {
        double acc = 0;
        for (size_t t = 0; t < a->T; t++)
            acc += (double)a->dy[t * a->N + n];
        a->db[n] = (float)acc;
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR_BWD, CK_DTYPE_F32, 0, "f32-linear_bwd/hostile-narrow", linear_bwd_narrows_x},
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/hostile-16", add_off_at_16},
    {CK_OP_SWIGLU, CK_DTYPE_F32, 0, "f32-swiglu/hostile-overflow", swiglu_overflows},
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/hostile-narrow", linear_narrows_x},
    {CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/hostile-rsqrt", rmsnorm_coarse_rsqrt},
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "hostile_values",
    .version = "0.0.1",
    .description = "wrong only at some lengths or values: n % 16, gate > 88.7, narrowed x, coarse rsqrt",
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
