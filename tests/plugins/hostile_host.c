/* Bad plugin for the host's side of the contract: kernels whose outputs are
 * right but that break what the host hands them or shares with them.
 *   gelu     leaves MXCSR flush-to-zero and denormals-are-zero and the fenv
 *            rounding mode FE_UPWARD set behind it
 *   swiglu   writes into its const exec context (n_threads)
 *   rmsnorm  one ULP off in one element when it runs on 3 or more logical
 *            threads: right on this 2-core machine's 1 and 2 threads
 * Each computes in double and rounds once, like the reference. */
#include <fenv.h>
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "ck_plugin.h"

static int gelu_leaks_fpenv(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_unary_args *a = args;
    for (size_t i = 0; i < a->n; i++) {
        double x = (double)a->x[i];
        a->y[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() | 0x8040u); /* FTZ | DAZ, "for speed", never undone */
#endif
    fesetround(FE_UPWARD);
    return CK_OK;
}

static int swiglu_writes_ctx(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    ((ck_exec_ctx *)(void *)ctx)->n_threads = 1; /* casts the const away */
    for (size_t i = 0; i < a->n; i++) {
        double g = (double)a->gate[i];
        a->y[i] = (float)(g / (1.0 + exp(-g)) * (double)a->up[i]);
    }
    return CK_OK;
}

typedef struct norm_job {
    const ck_norm_args *a;
    int n_threads;
} norm_job;

static void norm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const norm_job *j = arg;
    const ck_norm_args *a = j->a;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * a->D;
        float *y = a->y + t * a->D;
        double ss = 0;
        for (size_t i = 0; i < a->D; i++)
            ss += (double)x[i] * (double)x[i];
        double inv = 1.0 / sqrt(ss / (double)a->D + (double)a->eps);
        for (size_t i = 0; i < a->D; i++)
            y[i] = (float)((double)x[i] * inv * (double)a->gamma[i]);
        if (j->n_threads >= 3 && t == 0)
            y[0] = nextafterf(y[0], INFINITY);
    }
}

static int rmsnorm_wrong_from_3_threads(const ck_exec_ctx *ctx, const void *args)
{
    norm_job j = {args, ctx->n_threads};
    ctx->parallel_for(ctx, j.a->T, 1, norm_rows, &j);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_GELU, CK_DTYPE_F32, 0, "f32-gelu/hostile-fpenv", gelu_leaks_fpenv},
    {CK_OP_SWIGLU, CK_DTYPE_F32, 0, "f32-swiglu/hostile-ctx", swiglu_writes_ctx},
    {CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/hostile-threads", rmsnorm_wrong_from_3_threads},
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "hostile_host",
    .version = "0.0.1",
    .description = "right outputs, broken host contract: fp state, exec context, thread count",
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
