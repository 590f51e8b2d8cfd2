/* scalar.h — internal helpers and kernel prototypes of the scalar reference
 * plugin. Not installed; other plugins include only ck_plugin.h.
 *
 * The reference accumulates every reduction in double and rounds to f32 once,
 * so that it is the most accurate result in the room and a tolerance measures
 * the error of the plugin under test, not of the reference. */
#ifndef CK_SCALAR_H
#define CK_SCALAR_H

#include <stddef.h>
#include <stdint.h>

#include "ck_kernel_table.h"
#include "ck_plugin.h"

/* Run fn over [0, n) on the host's threads. Every kernel of this plugin
 * computes each item independently of the split, so results do not depend on
 * the thread count. */
static inline void scalar_parallel(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (ctx->n_threads <= 1 || !ctx->parallel_for)
        fn(arg, 0, n, 0);
    else
        ctx->parallel_for(ctx, n, grain, fn, arg);
}

/* A slice of the kernel's shared scratch for each thread: n_threads slices
 * of `bytes` each (bytes rounded up to 64), or NULL if the host has none.
 * It takes the CK_SCRATCH_SHARED buffer, which the host may reallocate: a
 * kernel that holds that buffer must not call linear/qkv/attention of this
 * plugin while it still needs it. */
void *scalar_thread_scratch(const ck_exec_ctx *ctx, size_t bytes, size_t *stride);

/* Converts row `row` of a [N, K] weight matrix to f32, exactly. */
typedef void (*scalar_row_to_f32_fn)(const void *w, size_t row, size_t K, float *dst);

/* y[T, N] = x[T, K] . W[N, K]^T (+ bias): each output a double sum of exact
 * products, rounded once. to_f32 == NULL means W is f32 and read in place.
 * Shared by the linear and qkv kernels of every weight dtype (quantised
 * reference kernels pass their dequantiser). */
int scalar_linear(const ck_exec_ctx *ctx, const float *x, const void *w, const float *bias, float *y, size_t T,
                  size_t K, size_t N, scalar_row_to_f32_fn to_f32);

/* The linear and qkv kernels of one weight dtype, given its row converter. */
int scalar_linear_dtype(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype, scalar_row_to_f32_fn to_f32);
int scalar_qkv_dtype(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype, scalar_row_to_f32_fn to_f32);
/* The same with each x rounded to bf16 first (compute bf16, bf16 weights). */
int scalar_linear_compute_bf16(const ck_exec_ctx *ctx, const ck_linear_args *a);
int scalar_qkv_compute_bf16(const ck_exec_ctx *ctx, const ck_qkv_args *a);

/* y[t] = table[ids[t]] converted by row_to_f32; every id is checked to be
 * in [0, vocab) before anything is written. */
int scalar_embedding(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype,
                     scalar_row_to_f32_fn row_to_f32);

/* Exact widening of a row of 16-bit floats (bf16 / IEEE binary16) to f32. */
void scalar_bf16_row_to_f32(const void *w, size_t row, size_t K, float *dst);
void scalar_f16_row_to_f32(const void *w, size_t row, size_t K, float *dst);

/* ---- kernels (one per file, named like the file) ------------------------ */
/* every kernel of the table: kernels.def */
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_DECL(scalar, dt, op)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_KERNEL_DECL_FN(fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN

/* Elementwise ops split into chunks of this many items. */
#define SCALAR_ELEM_GRAIN 4096

#endif /* CK_SCALAR_H */
