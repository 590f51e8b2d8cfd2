/* gemm-avx512.h — the linear layer y[T,N] = x[T,K] . W[N,K]^T (+ bias) of
 * the avx512 plugin, shared by the linear and qkv kernels of each weight
 * dtype.
 *
 * Large T: a packed, register-blocked GEMM. x is packed once into groups of
 * MR rows, k-major ([group][K][MR], zero rows past T), W is packed per
 * thread into panels of NR columns ([panel][kc][NR], zero columns past N),
 * and the MR x NR micro-kernel keeps its whole output tile in zmm registers
 * over a KC slice of K. An implementation (ck512_gemm_impl) names the
 * packing and the micro-kernel: f32 FMA for f32 W and for bf16 / f16 W
 * converted exactly while packing, or vdpbf16ps on bf16 pairs where the CPU
 * has AVX512_BF16. Work is split over blocks of N (and of T when N alone
 * has too few blocks); the order of the sum over k is fixed by KC, so
 * results do not depend on the split.
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
/* Below this many rows of x, the matvec path (each W row streamed once,
 * every x row against it) is faster than packing W: cold weights, 2
 * threads, d8b shapes (K = 4096 / 14336, N = 4096 / 14336), the packed
 * GEMM against the matvec: T = 4 3.8-4.2x, T = 8 2.7x, T = 16 1.6-2x, T = 24
 * 1.05-1.5x; at T = 32 the GEMM wins at K = 14336 (x's rows no longer stay
 * in L2 for each block of 4 W rows), from T = 48 everywhere. It was 4. */
#define CK512_MATVEC_MAX_T 24

/* One way of running the packed GEMM: how x and W are packed and which
 * micro-kernel consumes them. Packed x always holds MR floats (4-byte
 * units) per k per group, over K rounded up to k_pad; a packed W panel holds
 * w_units_per_k 4-byte units per k (NR f32, or NR/2 pairs of bf16). */
typedef struct ck512_gemm_impl {
    const char *name;
    size_t k_pad;
    size_t w_units_per_k;
    /* group g (rows g*MR .. g*MR+MR-1, zero past T) of x [T, K] -> dst */
    void (*pack_x_group)(const float *x, size_t T, size_t K, size_t g, float *dst);
    /* rows [n0, n0+nc) x cols [k0, k0+kc) of W into NR-wide panels */
    void (*pack_w)(const void *w, size_t K, size_t n0, size_t nc, size_t N, size_t k0, size_t kc, float *dst);
    /* acc = sum over kc of a x b; c[0..mr)[0..nr) = acc (first slice) or
     * c += acc, then + bias[0..nr) when bias is non-NULL (last slice) */
    void (*ukernel)(size_t kc, const float *a, const float *b, float *c, size_t ldc, size_t mr, size_t nr, int first,
                    const float *bias);
} ck512_gemm_impl;

extern const ck512_gemm_impl ck512_gemm_f32;        /* f32 W, 14x32 FMA */
extern const ck512_gemm_impl ck512_gemm_bf16_widen; /* bf16 W widened while packing, 14x32 FMA */
extern const ck512_gemm_impl ck512_gemm_f16_widen;  /* f16 W converted while packing, 14x32 FMA */
/* bf16 W with vdpbf16ps (bf16-gemm-avx512bf16.c; only where the CPU has
 * avx512_bf16). split: x = hi + lo in two bf16 terms, within the linear
 * tolerance; rounded: x rounded to one bf16, twice the rate but NOT within
 * it, so never chosen by ck512_gemm_for: only by the compute-bf16 kernels
 * (CK_KF_COMPUTE_BF16), whose contract is that rounding. */
extern const ck512_gemm_impl ck512_gemm_bf16_dp_split;
extern const ck512_gemm_impl ck512_gemm_bf16_dp_rounded;

/* The implementation ck512_linear uses for a weight dtype and reduction
 * length K on this CPU: the bf16 split only from CK512_SPLIT_MIN_K, where
 * its narrowing of x fits the error model (gemm-driver-avx512.c). The
 * packing of x and the GEMM must be given the same K. */
#define CK512_SPLIT_MIN_K 2621
const ck512_gemm_impl *ck512_gemm_for(uint32_t dtype, size_t K);

void ck512_gemm_ukernel_14x32(size_t kc, const float *a, const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                              int first, const float *bias);

/* Bytes of packed x for T rows of K (any implementation). */
size_t ck512_packed_x_bytes(size_t T, size_t K);

/* Packs x [T, K] into dst (ck512_packed_x_bytes) for impl, in parallel. */
void ck512_pack_x(const ck_exec_ctx *ctx, const ck512_gemm_impl *impl, const float *x, size_t T, size_t K, float *dst);

/* y = x . W^T (+ bias) [T, N], W [N, K] in impl's dtype. px is x packed by
 * ck512_pack_x for impl, or NULL to pack here. Returns CK_OK or CK_E_NOMEM. */
int ck512_gemm(const ck_exec_ctx *ctx, const ck512_gemm_impl *impl, const float *x, const float *px, const void *w,
               const float *bias, float *y, size_t T, size_t K, size_t N);

/* Chooses matvec or GEMM (and the GEMM implementation) for the dtype. */
int ck512_linear(const ck_exec_ctx *ctx, const float *x, const float *px, const void *w, uint32_t dtype,
                 const float *bias, float *y, size_t T, size_t K, size_t N);

/* The small-T path: y[t][n] for t < T, each W row read once per thread. */
void ck512_matvec_f32(const ck_exec_ctx *ctx, const float *x, const float *w, const float *bias, float *y, size_t T,
                      size_t K, size_t N);
void ck512_matvec_bf16(const ck_exec_ctx *ctx, const float *x, const uint16_t *w, const float *bias, float *y, size_t T,
                       size_t K, size_t N);
void ck512_matvec_f16(const ck_exec_ctx *ctx, const float *x, const uint16_t *w, const float *bias, float *y, size_t T,
                      size_t K, size_t N);

#endif /* CK_GEMM_AVX512_H */
