/* The parity gate's own test subject: a plugin named "broken" whose every
 * kernel is correct except for one deliberate defect, so tests can check
 * that `ckbench parity` catches each one for the right reason and still
 * finishes the run:
 *   rmsnorm   wrong tail: skips the last D % 16 elements of each row
 *   add       one ULP off in an exact op (one element)
 *   gelu      writes one element past the end of y
 *   swiglu    segfaults
 *   layernorm returns a NaN in one element
 *   embedding never returns (infinite loop)
 *   linear    modifies its read-only input x
 *   add_norm  (fused, rms only) never writes the residual add.y it must
 *   gelu bf16 a kernel no parity case exists for: reported as not checked
 *   linear bf16 bits depend on how parallel_for splits the work
 * Single-threaded on purpose (but for the split defect): the other defects
 * must not depend on work splits. */
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>

#include "ck_plugin.h"

static int rmsnorm_wrong_tail(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_norm_args *a = args;
    size_t written = a->D - a->D % 16;
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * a->D;
        double ss = 0;
        for (size_t i = 0; i < a->D; i++)
            ss += (double)x[i] * (double)x[i];
        double inv = 1.0 / sqrt(ss / (double)a->D + (double)a->eps);
        for (size_t i = 0; i < written; i++)
            a->y[t * a->D + i] = (float)((double)x[i] * inv * (double)a->gamma[i]);
    }
    return CK_OK;
}

static int add_one_ulp_off(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    a->y[a->n / 2] = nextafterf(a->y[a->n / 2], INFINITY);
    return CK_OK;
}

static int gelu_writes_past_end(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_unary_args *a = args;
    for (size_t i = 0; i <= a->n; i++) { /* <= : the defect */
        double x = (double)a->x[i < a->n ? i : a->n - 1];
        a->y[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }
    return CK_OK;
}

static int swiglu_segfaults(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    /* a store to a page with no access rights: a real SIGSEGV, and not a
     * null dereference a sanitizer would stop first */
    void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return CK_E_NOMEM;
    *(volatile float *)page = 1.0f;
    return CK_OK;
}

static int layernorm_returns_nan(const ck_exec_ctx *ctx, const void *args)
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
    a->y[a->T * a->D / 2] = NAN;
    return CK_OK;
}

static int embedding_hangs(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    volatile unsigned long spin = 0;
    for (;;)
        spin = spin + 1;
    return CK_OK;
}

static int linear_modifies_input(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_linear_args *a = args;
    const float *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double acc = a->bias ? (double)a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)a->x[t * a->K + k] * (double)w[n * a->K + k];
            a->y[t * a->N + n] = (float)acc;
        }
    float *x = (float *)(uintptr_t)a->x; /* the defect: scribble on a const input */
    x[0] += 1.0f;
    return CK_OK;
}

static int add_norm_skips_residual(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_fused_add_norm_args *a = args;
    const ck_norm_args *n = &a->norm;
    if (a->norm_kind != CK_NORM_RMS)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < n->T; t++) {
        double ss = 0;
        for (size_t i = 0; i < n->D; i++) {
            float x = a->add.a[t * n->D + i] + a->add.b[t * n->D + i];
            ss += (double)x * (double)x;
        }
        double inv = 1.0 / sqrt(ss / (double)n->D + (double)n->eps);
        for (size_t i = 0; i < n->D; i++) {
            float x = a->add.a[t * n->D + i] + a->add.b[t * n->D + i];
            n->y[t * n->D + i] = (float)((double)x * inv * (double)n->gamma[i]);
        }
    }
    return CK_OK; /* the defect: add.y, the residual a fused add_norm must write, is not */
}

/* bf16 linear whose bits depend on the work split: the first output of each
 * parallel_for chunk is summed in float, the others in double. Within
 * tolerance either way, so only the split check can catch it. */
static void linear_bf16_rows(void *arg, size_t begin, size_t end, int tid)
{
    (void)tid;
    const ck_linear_args *a = arg;
    const uint16_t *w = a->w;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = begin; n < end; n++) {
            const float *x = a->x + t * a->K;
            const uint16_t *wr = w + n * a->K;
            double acc = a->bias ? (double)a->bias[n] : 0.0;
            float facc = a->bias ? a->bias[n] : 0.0f;
            for (size_t k = 0; k < a->K; k++) {
                acc += (double)x[k] * (double)ck_bf16_to_f32(wr[k]);
                facc += x[k] * ck_bf16_to_f32(wr[k]);
            }
            a->y[t * a->N + n] = n == begin ? facc : (float)acc;
        }
}

static int linear_bf16_split_dependent(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    ctx->parallel_for(ctx, a->N, 1, linear_bf16_rows, (void *)a);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/broken-tail", rmsnorm_wrong_tail},
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/broken-ulp", add_one_ulp_off},
    {CK_OP_GELU, CK_DTYPE_F32, 0, "f32-gelu/broken-oob", gelu_writes_past_end},
    {CK_OP_SWIGLU, CK_DTYPE_F32, 0, "f32-swiglu/broken-segv", swiglu_segfaults},
    {CK_OP_LAYERNORM, CK_DTYPE_F32, 0, "f32-layernorm/broken-nan", layernorm_returns_nan},
    {CK_OP_EMBEDDING, CK_DTYPE_F32, 0, "f32-embedding/broken-hang", embedding_hangs},
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/broken-input", linear_modifies_input},
    {CK_OP_ADD_NORM, CK_DTYPE_F32, CK_KF_FUSED, "f32-add_norm/broken-residual", add_norm_skips_residual},
    {CK_OP_LINEAR, CK_DTYPE_BF16, 0, "bf16-linear/broken-split", linear_bf16_split_dependent},
    /* no case of a bf16 gelu exists: the gate must say it did not check it */
    {CK_OP_GELU, CK_DTYPE_BF16, 0, "bf16-gelu/broken-unchecked", swiglu_segfaults},
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "broken",
    .version = "0.0.1",
    .description = "one deliberate defect per kernel, to prove the parity gate can fail",
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
