/* The one linear reference, shared by the linear and qkv kernels of every
 * weight dtype: each output is a double-precision sum of the exact products
 * x[t][k] * w[n][k] (an f32 times an f32 is exact in double), plus the bias,
 * rounded to f32 once. Work is split over output columns n so that each
 * weight row is converted once. With compute bf16 (docs/ops.md) each x is
 * first rounded to bf16, to nearest even, exactly as ck_f32_to_bf16; the
 * rest is unchanged, so the reference holds only the narrowing. */
#include "scalar.h"

typedef struct linear_job {
    const float *x;
    const void *w;
    const float *bias;
    float *y;
    size_t T, K, N;
    scalar_row_to_f32_fn to_f32;
    unsigned char *scratch;
    size_t stride;
    int round_x_bf16;
} linear_job;

static double x_value(const linear_job *j, float x)
{
    return j->round_x_bf16 ? (double)ck_bf16_to_f32(ck_f32_to_bf16(x)) : (double)x;
}

static void linear_columns(void *arg, size_t begin, size_t end, int tid)
{
    const linear_job *j = arg;
    for (size_t n = begin; n < end; n++) {
        const float *row;
        if (j->to_f32) {
            float *buf = (float *)(void *)(j->scratch + (size_t)tid * j->stride);
            j->to_f32(j->w, n, j->K, buf);
            row = buf;
        } else {
            row = (const float *)j->w + n * j->K;
        }
        for (size_t t = 0; t < j->T; t++) {
            const float *xr = j->x + t * j->K;
            double acc = 0.0;
            for (size_t k = 0; k < j->K; k++)
                acc += x_value(j, xr[k]) * (double)row[k];
            if (j->bias)
                acc += (double)j->bias[n];
            j->y[t * j->N + n] = (float)acc;
        }
    }
}

static int linear_run(const ck_exec_ctx *ctx, const float *x, const void *w, const float *bias, float *y, size_t T,
                      size_t K, size_t N, scalar_row_to_f32_fn to_f32, int round_x_bf16)
{
    if (T == 0 || N == 0)
        return CK_OK;
    if (K == 0) { /* an empty sum: y = bias, and x, w are never touched */
        for (size_t i = 0; i < T * N; i++)
            y[i] = bias ? bias[i % N] : 0.0f;
        return CK_OK;
    }
    linear_job j = {x, w, bias, y, T, K, N, to_f32, NULL, 0, round_x_bf16};
    if (to_f32) {
        j.scratch = scalar_thread_scratch(ctx, K * sizeof(float), &j.stride);
        if (!j.scratch)
            return CK_E_NOMEM;
    }
    scalar_parallel(ctx, N, 1, linear_columns, &j);
    return CK_OK;
}

int scalar_linear(const ck_exec_ctx *ctx, const float *x, const void *w, const float *bias, float *y, size_t T,
                  size_t K, size_t N, scalar_row_to_f32_fn to_f32)
{
    return linear_run(ctx, x, w, bias, y, T, K, N, to_f32, 0);
}

static int linear_args(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype, scalar_row_to_f32_fn to_f32,
                       int round_x_bf16)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    return linear_run(ctx, a->x, a->w, a->bias, a->y, a->T, a->K, a->N, to_f32, round_x_bf16);
}

int scalar_linear_dtype(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype, scalar_row_to_f32_fn to_f32)
{
    return linear_args(ctx, a, dtype, to_f32, 0);
}

/* q, k and v are three linears whose outputs [T, H*hd] are the [T, H, hd]
 * head layout: output column h*hd + d comes from weight row h*hd + d. */
static int qkv_args(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype, scalar_row_to_f32_fn to_f32,
                    int round_x_bf16)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    int rc = linear_run(ctx, a->x, a->wq, a->bq, a->q, a->T, a->D, nq, to_f32, round_x_bf16);
    if (rc == CK_OK)
        rc = linear_run(ctx, a->x, a->wk, a->bk, a->k, a->T, a->D, nkv, to_f32, round_x_bf16);
    if (rc == CK_OK)
        rc = linear_run(ctx, a->x, a->wv, a->bv, a->v, a->T, a->D, nkv, to_f32, round_x_bf16);
    return rc;
}

int scalar_qkv_dtype(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype, scalar_row_to_f32_fn to_f32)
{
    return qkv_args(ctx, a, dtype, to_f32, 0);
}

/* Compute bf16 (CK_KF_COMPUTE_BF16): bf16 weights only, whose products with
 * a bf16 x are exact. */
int scalar_linear_compute_bf16(const ck_exec_ctx *ctx, const ck_linear_args *a)
{
    return linear_args(ctx, a, CK_DTYPE_BF16, scalar_bf16_row_to_f32, 1);
}

int scalar_qkv_compute_bf16(const ck_exec_ctx *ctx, const ck_qkv_args *a)
{
    return qkv_args(ctx, a, CK_DTYPE_BF16, scalar_bf16_row_to_f32, 1);
}
