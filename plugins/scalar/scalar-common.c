/* Helpers shared by several scalar kernels: per-thread scratch slices and
 * the exact bf16 / f16 -> f32 row conversions. */
#include "scalar.h"

void *scalar_thread_scratch(const ck_exec_ctx *ctx, size_t bytes, size_t *stride)
{
    size_t s = (bytes + 63) & ~(size_t)63;
    size_t nt = ctx->n_threads > 0 ? (size_t)ctx->n_threads : 1;
    if (s == 0)
        s = 64;
    if (!ctx->scratch || s > SIZE_MAX / nt)
        return NULL;
    *stride = s;
    /* One shared buffer, sliced by tid: taken before the parallel loop so
     * that running out of memory is reported, not half-computed. */
    return ctx->scratch(ctx, CK_SCRATCH_SHARED, s * nt);
}

void scalar_bf16_row_to_f32(const void *w, size_t row, size_t K, float *dst)
{
    const uint16_t *r = (const uint16_t *)w + row * K;
    for (size_t k = 0; k < K; k++)
        dst[k] = ck_bf16_to_f32(r[k]);
}

void scalar_f16_row_to_f32(const void *w, size_t row, size_t K, float *dst)
{
    const uint16_t *r = (const uint16_t *)w + row * K;
    for (size_t k = 0; k < K; k++)
        dst[k] = ck_f16_to_f32(r[k]);
}
