/* The parity gate's test subject for a GEMM's blocking: linear kernels right
 * within their first block and wrong past it, the mistakes a blocked loop's
 * second pass makes:
 *   f32   rows from 32 on (a second block of 32 rows) read the row before
 *         theirs: the block's x offset one row short
 *   bf16  columns from 256 on (a second block of 256 columns) use the
 *         weights of the column 256 before: the block's W offset not applied
 *   linear_bwd  dW and db sum the first 64 rows only
 * Every edge case of at most 16 rows and 65 columns passes; the "edge
 * blocks" cases (harness/parity/parity_edges.c) must name each. Plain C in
 * double, rounded once, one thread. tests/unit/test_parity.c checks it. */
#include "test_plugin.h"

static float weight(const ck_linear_args *a, size_t n, size_t k)
{
    return a->w_dtype == CK_DTYPE_BF16 ? ck_bf16_to_f32(((const uint16_t *)a->w)[n * a->K + k])
                                       : ((const float *)a->w)[n * a->K + k];
}

static int linear_blocks(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    if (a->w_dtype != CK_DTYPE_F32 && a->w_dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    int f32 = a->w_dtype == CK_DTYPE_F32;
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            size_t xt = f32 && t >= 32 ? t - 1 : t, wn = !f32 && n >= 256 ? n - 256 : n; /* the defects */
            double acc = a->bias ? a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)a->x[xt * a->K + k] * weight(a, wn, k);
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

/* dx = dy W, dW = dy^T x, db = sum_t dy, in double; the defect: the sums
 * over rows keep the first block of 64 rows only (a thread's partial sums
 * of the later blocks never added) */
static int linear_bwd_first_rows(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_bwd_args *a = args;
    (void)ctx;
    const size_t rows = a->T < 64 ? a->T : 64;
    for (size_t t = 0; a->dx && t < a->T; t++)
        for (size_t k = 0; k < a->K; k++) {
            double acc = 0.0;
            for (size_t n = 0; n < a->N; n++)
                acc += (double)a->dy[t * a->N + n] * a->w[n * a->K + k];
            a->dx[t * a->K + k] = (float)acc;
        }
    for (size_t n = 0; n < a->N; n++) {
        for (size_t k = 0; a->dw && k < a->K; k++) {
            double acc = 0.0;
            for (size_t t = 0; t < rows; t++)
                acc += (double)a->dy[t * a->N + n] * a->x[t * a->K + k];
            a->dw[n * a->K + k] = (float)acc;
        }
        double b = 0.0;
        for (size_t t = 0; t < rows; t++)
            b += a->dy[t * a->N + n];
        if (a->db)
            a->db[n] = (float)b;
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR_BWD, CK_DTYPE_F32, 0, "f32-linear_bwd/rows-past-64-dropped", linear_bwd_first_rows},
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/second-row-block-off-by-one", linear_blocks},
    {CK_OP_LINEAR, CK_DTYPE_BF16, 0, "bf16-linear/second-column-block-unshifted", linear_blocks},
};

CK_TEST_PLUGIN("broken_blocks", "linear wrong past the first row block (f32) or column block (bf16); linear_bwd")
