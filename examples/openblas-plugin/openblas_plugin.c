/* An out-of-tree ckernel plugin: linear and qkv (f32 weights) through
 * OpenBLAS's cblas_sgemm. Built against the installed ck_plugin.h only:
 *   cc -O2 -shared -fPIC -fvisibility=hidden $(pkg-config --cflags ckernel) \
 *      openblas_plugin.c -o libck_openblas-example.so -lopenblas
 * It is also ckernel's performance peer: bench it next to avx512.
 * Threads: OpenBLAS's own threaded sgemm does not give the same bits for
 * every thread count (its split moves columns between its edge and main
 * micro-kernels), which the parity gate rightly fails. So OpenBLAS runs
 * single-threaded here and the host's parallel_for hands out fixed blocks of
 * COLS output columns, one sgemm each: a column's arithmetic depends on its
 * block, never on how many threads there are. */
#include <cblas.h>
#include <ck_plugin.h>

void openblas_set_num_threads(int n); /* OpenBLAS extension, not in cblas.h everywhere */

#define COLS 256 /* columns per block: x is re-packed once per block, 2*T*K*COLS flops */

typedef struct gemm_job {
    const float *x, *w, *bias;
    float *y;
    size_t T, K, N;
} gemm_job;

/* y[T, n0:n1] = x[T,K] . W[n0:n1,K]^T + b for each block of the range. */
static void gemm_blocks(void *arg, size_t begin, size_t end, int tid)
{
    const gemm_job *j = arg;
    (void)tid;
    for (size_t blk = begin; blk < end; blk++) {
        size_t n0 = blk * COLS, n = j->N - n0 < COLS ? j->N - n0 : COLS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->T, (int)n, (int)j->K, 1.0f, j->x, (int)j->K,
                    j->w + n0 * j->K, (int)j->K, 0.0f, j->y + n0, (int)j->N);
        if (j->bias)
            for (size_t t = 0; t < j->T; t++)
                for (size_t c = n0; c < n0 + n; c++)
                    j->y[t * j->N + c] += j->bias[c];
    }
}

static void sgemm_xwt(const ck_exec_ctx *ctx, const float *x, const float *w, const float *bias, float *y, size_t T,
                      size_t K, size_t N)
{
    openblas_set_num_threads(1);
    gemm_job j = {x, w, bias, y, T, K, N};
    ctx->parallel_for(ctx, (N + COLS - 1) / COLS, 1, gemm_blocks, &j);
}

static int fits_int(size_t a, size_t b, size_t c)
{
    return a < 0x7fffffff && b < 0x7fffffff && c < 0x7fffffff;
}

static int linear_f32(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    if (a->w_dtype != CK_DTYPE_F32 || !fits_int(a->T, a->K, a->N))
        return CK_E_UNSUPPORTED;
    sgemm_xwt(ctx, a->x, a->w, a->bias, a->y, a->T, a->K, a->N);
    return CK_OK;
}

static int qkv_f32(const ck_exec_ctx *ctx, const void *args)
{
    const ck_qkv_args *a = args;
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    if (a->w_dtype != CK_DTYPE_F32 || !fits_int(a->T, a->D, nq))
        return CK_E_UNSUPPORTED;
    sgemm_xwt(ctx, a->x, a->wq, a->bq, a->q, a->T, a->D, nq);
    sgemm_xwt(ctx, a->x, a->wk, a->bk, a->k, a->T, a->D, nkv);
    sgemm_xwt(ctx, a->x, a->wv, a->bv, a->v, a->T, a->D, nkv);
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/openblas", linear_f32},
    {CK_OP_QKV, CK_DTYPE_F32, 0, "f32-qkv/openblas", qkv_f32},
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "openblas-example",
    .version = "0.1.0",
    .description = "example third-party plugin: linear and qkv through OpenBLAS cblas_sgemm",
    .probe = NULL,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
