/* gemm-avx512.h — the linear layer y[T,N] = x[T,K] . W[N,K]^T (+ bias) of
 * the avx512 plugin, shared by the linear and qkv kernels of each weight
 * dtype.
 *
 * Large T: a packed, register-blocked GEMM. x is packed once into groups of
 * MR rows, k-major ([group][K][MR], zero rows past T), W is packed per
 * thread into panels of NR columns ([panel][kc][NR], exactly widened from
 * bf16, zero columns past N), and the MR x NR micro-kernel keeps its whole
 * output tile in zmm registers over a KC slice of K. Work is split over
 * blocks of N (and of T when N alone has too few blocks); the order of the
 * sum over k is fixed by KC, so results do not depend on the split.
 * Small T: a matvec that streams each W row once. */
#ifndef CK_GEMM_AVX512_H
#define CK_GEMM_AVX512_H

#include <stddef.h>
#include <stdint.h>

#include "ck_plugin.h"

#define CK512_MR 14  /* rows of x per micro-tile */
#define CK512_NR 32  /* columns of W per micro-tile (two zmm) */
#define CK512_KC 256 /* k slice: an MR x KC block of x stays in L1 */
#define CK512_NC 256 /* columns of W packed per block: NC x KC floats in L2 */
/* Below this many rows of x, the matvec path is faster than packing W. */
#define CK512_MATVEC_MAX_T 4

/* The MR x NR micro-kernel: acc = sum over kc of a[k][0..MR) x b[k][0..NR),
 * then c[0..mr)[0..nr) = acc (first slice) or c += acc, and + bias[0..nr)
 * when bias is non-NULL (the last slice). a: packed x, b: packed W panel. */
void ck512_gemm_ukernel_14x32(size_t kc, const float *a, const float *b, float *c, size_t ldc, size_t mr,
                              size_t nr, int first, const float *bias);

/* Bytes of the packed x for T rows of K. */
size_t ck512_packed_x_bytes(size_t T, size_t K);

/* Packs x [T, K] into dst (ck512_packed_x_bytes), in parallel. */
void ck512_pack_x(const ck_exec_ctx *ctx, const float *x, size_t T, size_t K, float *dst);

/* y = x . W^T (+ bias) with W f32 or bf16 [N, K]. px is x packed by
 * ck512_pack_x, or NULL to pack here (qkv packs once for its three
 * projections). Returns CK_OK, CK_E_NOMEM or CK_E_UNSUPPORTED. */
int ck512_linear(const ck_exec_ctx *ctx, const float *x, const float *px, const void *w, uint32_t dtype,
                 const float *bias, float *y, size_t T, size_t K, size_t N);

/* The small-T path: y[t][n] for t < T, each W row read once per thread. */
void ck512_matvec_f32(const ck_exec_ctx *ctx, const float *x, const float *w, const float *bias, float *y,
                      size_t T, size_t K, size_t N);
void ck512_matvec_bf16(const ck_exec_ctx *ctx, const float *x, const uint16_t *w, const float *bias, float *y,
                       size_t T, size_t K, size_t N);

#endif /* CK_GEMM_AVX512_H */
