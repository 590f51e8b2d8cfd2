/* The loop around the linear micro-kernels (f32 and bf16 weights, also used
 * by qkv): work is split between threads in groups of 4 output columns, and
 * each task runs every activation row over its columns, so a group's 4 weight
 * rows are reused from cache for all T rows. A column's value never depends
 * on the split because the micro-kernels sum every column in the same order. */
#include "neon-common.h"

typedef struct linear_job {
    const float *x;
    const void *w;
    const float *bias;
    float *y;
    size_t T, K, N;
    ck_neon_cols_fn cols_fn;
} linear_job;

static void linear_groups(void *arg, size_t begin, size_t end, int tid)
{
    const linear_job *j = arg;
    (void)tid;
    size_t n_begin = begin * 4, n_end = end * 4 < j->N ? end * 4 : j->N;
    for (size_t t = 0; t < j->T; t++) {
        const float *x = j->x + t * j->K;
        float *y = j->y + t * j->N;
        for (size_t n0 = n_begin; n0 < n_end; n0 += 4) {
            size_t cols = n_end - n0 < 4 ? n_end - n0 : 4;
            j->cols_fn(x, j->w, n0, cols, j->K, y + n0);
            if (j->bias)
                for (size_t c = 0; c < cols; c++)
                    y[n0 + c] += j->bias[n0 + c];
        }
    }
}

void ck_neon_linear_drive(const ck_exec_ctx *ctx, const float *x, const void *w, const float *bias, float *y,
                          size_t T, size_t K, size_t N, ck_neon_cols_fn cols_fn)
{
    if (T == 0 || N == 0)
        return;
    linear_job job = {x, w, bias, y, T, K, N, cols_fn};
    ctx->parallel_for(ctx, (N + 3) / 4, 1, linear_groups, &job);
}
