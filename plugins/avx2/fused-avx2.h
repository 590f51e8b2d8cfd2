/* fused-avx2.h — what the fused kernels of the avx2 plugin share
 * (fused-rows-avx2.c): the norms of one row, with the sums and operation
 * order of f32-rmsnorm-avx2.c and f32-layernorm-avx2.c (private there), so
 * that a fused kernel can normalise a row it has just produced while the row
 * is still in L1. Included only by files compiled with -mavx2 -mfma. */
#ifndef CK_FUSED_AVX2_H
#define CK_FUSED_AVX2_H

#include "avx2-helpers.h"

/* One row: x = xa (+ xb when non-NULL) is stored to out (when non-NULL),
 * then y = norm(x), kind CK_NORM_RMS or CK_NORM_LAYER (a->gamma, a->beta,
 * a->D, a->eps are used; a->x, a->y are not). The passes after the first
 * recompute x from xa and xb (in L1), so that out need not be read back and
 * can be streamed, or, with reread, read out back (in place, or in cache).
 * stream: non-temporal stores for out and y (rows 32-byte aligned, see
 * avx2_fused_stream_rows; the caller ends with _mm_sfence). */
void avx2_fused_norm_from(uint32_t kind, const ck_norm_args *a, const float *xa, const float *xb, float *out, float *y,
                          int stream, int reread);

/* Whether [T, D] outputs at p and q are streamed: as large as the unfused
 * kernels stream (AVX2_STREAM_BYTES), rows 32-byte aligned. */
int avx2_fused_stream_rows(size_t T, size_t D, const float *p, const float *q);

/* The unfused norm kernel for kind (fallback paths); CK_E_UNSUPPORTED for an unknown kind. */
int avx2_fused_norm_kernel(const ck_exec_ctx *ctx, uint32_t kind, const ck_norm_args *a);

/* The embed_norm body shared by the table dtypes (f32-embed_norm-avx2.c). */
int avx2_embed_norm(const ck_exec_ctx *ctx, const void *args, uint32_t dtype);

#endif /* CK_FUSED_AVX2_H */
