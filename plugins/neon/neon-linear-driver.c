/* The loop around the linear tile micro-kernels (f32, bf16, f16 weights, also
 * used by qkv): work is split between threads in groups of 4 output columns;
 * each task walks the activation rows 4 at a time over its columns, so a
 * weight vector is loaded once per 4 rows and a group's 4 weight rows stay in
 * cache for all T rows. An element's value never depends on the split or on
 * the tile it falls in: the tile kernels sum every element in the same order. */
#include "neon-common.h"

#define TILE_ROWS 4
#define TILE_COLS 4

typedef struct linear_job {
    const float *x;
    const void *w;
    const float *bias;
    float *y;
    size_t T, K, N;
    ck_neon_tile_fn tile_fn;
} linear_job;

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static void linear_groups(void *arg, size_t begin, size_t end, int tid)
{
    const linear_job *j = arg;
    (void)tid;
    size_t n_begin = begin * TILE_COLS, n_end = min_size(end * TILE_COLS, j->N);
    for (size_t t = 0; t < j->T; t += TILE_ROWS) {
        size_t rows = min_size(TILE_ROWS, j->T - t);
        for (size_t n0 = n_begin; n0 < n_end; n0 += TILE_COLS) {
            size_t cols = min_size(TILE_COLS, n_end - n0);
            float *y = j->y + t * j->N + n0;
            j->tile_fn(j->x + t * j->K, rows, j->w, n0, cols, j->K, y, j->N);
            if (j->bias)
                for (size_t r = 0; r < rows; r++)
                    for (size_t c = 0; c < cols; c++)
                        y[r * j->N + c] += j->bias[n0 + c];
        }
    }
}

void ck_neon_linear_drive(const ck_exec_ctx *ctx, const float *x, const void *w, const float *bias, float *y, size_t T,
                          size_t K, size_t N, ck_neon_tile_fn tile_fn)
{
    if (T == 0 || N == 0)
        return;
    linear_job job = {x, w, bias, y, T, K, N, tile_fn};
    ctx->parallel_for(ctx, (N + TILE_COLS - 1) / TILE_COLS, 1, linear_groups, &job);
}
