/* Bad plugin for memory isolation: each kernel computes the right outputs
 * but touches memory it was not given.
 *   add        writes 68 bytes before the start of y (beyond a 64-byte canary)
 *   layernorm  writes 8 KiB past the end of y (beyond any canary)
 *   linear     reads the element just past the end of x (a tail loop's
 *              overrun; the value is multiplied by 0, so outputs stay right)
 *   gelu       skips the first element when x is not 32-byte aligned (a
 *              peel loop that only works on aligned buffers)
 * Each computes in double and rounds once, like the reference. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ck_plugin.h"

static int add_writes_before(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    unsigned char *before = (unsigned char *)a->y - 68;
    memset(before, 0, 4);
    return CK_OK;
}

static int layernorm_writes_far_past(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_norm_args *a = args;
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * a->D;
        double mean = 0, var = 0;
        for (size_t i = 0; i < a->D; i++)
            mean += x[i];
        mean /= (double)a->D;
        for (size_t i = 0; i < a->D; i++)
            var += ((double)x[i] - mean) * ((double)x[i] - mean);
        double inv = 1.0 / sqrt(var / (double)a->D + (double)a->eps);
        for (size_t i = 0; i < a->D; i++)
            a->y[t * a->D + i] =
                (float)(((double)x[i] - mean) * inv * (double)a->gamma[i] + (a->beta ? (double)a->beta[i] : 0.0));
    }
    volatile float *far = a->y + a->T * a->D + 2048;
    *far = 0.0f;
    return CK_OK;
}

static int linear_reads_past_x(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_linear_args *a = args;
    const float *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double acc = a->bias ? (double)a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)a->x[t * a->K + k] * (double)w[n * a->K + k];
            /* the overrun: one element past the row, which for the last
             * row is past the buffer */
            acc += 0.0 * (double)((const volatile float *)a->x)[(t + 1) * a->K];
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

static int gelu_needs_alignment(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_unary_args *a = args;
    size_t first = (uintptr_t)a->x % 32 ? 1 : 0;
    for (size_t i = first; i < a->n; i++) {
        double x = (double)a->x[i];
        a->y[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }
    if (first && a->n)
        a->y[0] = 0.0f;
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_GELU, CK_DTYPE_F32, 0, "f32-gelu/hostile-aligned", gelu_needs_alignment},
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/hostile-before", add_writes_before},
    {CK_OP_LAYERNORM, CK_DTYPE_F32, 0, "f32-layernorm/hostile-far", layernorm_writes_far_past},
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/hostile-overread", linear_reads_past_x},
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "hostile_mem",
    .version = "0.0.1",
    .description = "right outputs, memory it was not given: before, far past, read past",
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
