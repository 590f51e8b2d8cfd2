/* neon-common.h — helpers shared by the NEON kernels (internal to the plugin).
 *
 * - horizontal sums and tail loads/stores (a tail of fewer than 4 floats goes
 *   through a zero-padded vector, so every element of an elementwise op is
 *   computed by the same vector code whatever the split between threads);
 * - vectorised exp and tanh (tolerance-class ops only: they use FMA);
 * - bf16 and f16 -> f32 widening (exact: a shift, FCVTL);
 * - the linear 4x4 tile micro-kernel for any weight dtype;
 * - the run-time feature flags the probe fills in, the kernel entry points
 *   plugin.c registers, and the linear and embedding drivers (their own .c
 *   files) that the per-dtype kernels share.
 *
 * Exact-class kernels (add, rope, adam, embedding) must not use anything here
 * that rounds differently from the scalar reference: only plain loads, stores
 * and the widening are safe for them.
 */
#ifndef CK_NEON_COMMON_H
#define CK_NEON_COMMON_H

#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ck_kernel_table.h"
#include "ck_plugin.h"

#define CK_NEON_HIDDEN __attribute__((visibility("hidden")))

/* ---- run-time features (filled in once by the probe in plugin.c) --------- */

typedef struct ck_neon_features {
    int asimd;   /* HWCAP_ASIMD: always 1 on a conforming AArch64 CPU */
    int dotprod; /* HWCAP_ASIMDDP: SDOT/UDOT (int8 dot products) */
    int bf16;    /* HWCAP2_BF16: BFDOT/BFMMLA/BFCVT */
} ck_neon_features;

CK_NEON_HIDDEN extern ck_neon_features ck_neon_cpu;

/* ---- kernels (one per file), registered in plugin.c --------------------- */

#define CK_KERNEL(dt, op, DT, OP, flags) CK_NEON_HIDDEN CK_KERNEL_DECL(neon, dt, op)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_NEON_HIDDEN CK_KERNEL_DECL_FN(fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN

/* ---- linear driver (neon-linear-driver.c) -------------------------------- */

/* Computes a tile y[t][n0 + j] = dot(x[t], w row n0 + j) for t < rows and
 * j < cols (both 1..4): ck_neon_linear_tile_any for one weight dtype. */
typedef void (*ck_neon_tile_fn)(const float *x, size_t rows, const void *w, size_t n0, size_t cols, size_t K, float *y,
                                size_t ldy);

/* The tile kernels of f32-, bf16- and f16-linear-neon.c. */
CK_NEON_HIDDEN void ck_neon_f32_linear_tile(const float *x, size_t rows, const void *w, size_t n0, size_t cols,
                                            size_t K, float *y, size_t ldy);
CK_NEON_HIDDEN void ck_neon_bf16_linear_tile(const float *x, size_t rows, const void *w, size_t n0, size_t cols,
                                             size_t K, float *y, size_t ldy);
CK_NEON_HIDDEN void ck_neon_f16_linear_tile(const float *x, size_t rows, const void *w, size_t n0, size_t cols,
                                            size_t K, float *y, size_t ldy);

/* y[T, N] = x[T, K] . w[N, K]^T (+ bias), split over groups of 4 columns. */
CK_NEON_HIDDEN void ck_neon_linear_drive(const ck_exec_ctx *ctx, const float *x, const void *w, const float *bias,
                                         float *y, size_t T, size_t K, size_t N, ck_neon_tile_fn tile_fn);

/* ---- embedding driver (neon-embedding-driver.c) ------------------------------ */

/* Converts one table row (D elements of the kernel's dtype) to f32, exactly. */
typedef void (*ck_neon_row_fn)(const void *src_row, float *dst, size_t D);

/* Checks the dtype and every id, then y[t] = row_fn(table[ids[t]]) over threads. */
CK_NEON_HIDDEN int ck_neon_embedding_drive(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype,
                                           ck_neon_row_fn row_fn);

/* ---- horizontal sums and tails ------------------------------------------ */

static inline float ck_neon_hsum(float32x4_t v)
{
    return vaddvq_f32(v);
}

static inline float ck_neon_hmax(float32x4_t v)
{
    return vmaxvq_f32(v);
}

/* Load n < 4 floats into the low lanes, the rest `fill`. */
static inline float32x4_t ck_neon_load_tail(const float *p, size_t n, float fill)
{
    float buf[4] = {fill, fill, fill, fill};
    memcpy(buf, p, n * sizeof *p);
    return vld1q_f32(buf);
}

/* Store the low n < 4 lanes. */
static inline void ck_neon_store_tail(float *p, float32x4_t v, size_t n)
{
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(p, buf, n * sizeof *p);
}

/* Defines `int fn(ctx, args)`, an elementwise unary kernel on
 * ck_unary_args from its lane function LANE4(float32x4_t), split over the
 * pool in claims of at least `grain` elements; the tail goes through a
 * zero-padded vector so every element uses the same lanes. */
#define CK_NEON_DEFINE_UNARY(fn, LANE4, grain)                                                                         \
    static void fn##_range(void *arg, size_t begin, size_t end, int tid)                                               \
    {                                                                                                                  \
        const ck_unary_args *a = arg;                                                                                  \
        (void)tid;                                                                                                     \
        size_t i = begin;                                                                                              \
        for (; i + 4 <= end; i += 4)                                                                                   \
            vst1q_f32(a->y + i, LANE4(vld1q_f32(a->x + i)));                                                           \
        if (i < end)                                                                                                   \
            ck_neon_store_tail(a->y + i, LANE4(ck_neon_load_tail(a->x + i, end - i, 0.0f)), end - i);                  \
    }                                                                                                                  \
                                                                                                                       \
    int fn(const ck_exec_ctx *ctx, const void *args)                                                                   \
    {                                                                                                                  \
        const ck_unary_args *a = args;                                                                                 \
        ctx->parallel_for(ctx, a->n, grain, fn##_range, (void *)a);                                                    \
        return CK_OK;                                                                                                  \
    }

/* ---- bf16 widening (exact) ------------------------------------------------ */

static inline float32x4_t ck_neon_bf16x4_to_f32(const uint16_t *p)
{
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

static inline void ck_neon_bf16x8_to_f32(const uint16_t *p, float32x4_t *lo, float32x4_t *hi)
{
    uint16x8_t h = vld1q_u16(p);
    *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
}

/* f16 -> f32 with FCVTL: exact for every finite value and infinity, as in
 * ck_f16_to_f32 (a signalling NaN comes out quiet). */
static inline float32x4_t ck_neon_f16x4_to_f32(const uint16_t *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

/* ---- weights of any supported dtype, widened to f32 ------------------------ */

/* 4 weights from element i of a row in `dtype` (a compile-time constant in
 * every caller, so the switch folds away after inlining). */
static inline __attribute__((always_inline)) float32x4_t ck_neon_load_w4(const void *w, size_t i, uint32_t dtype)
{
    switch (dtype) {
    case CK_DTYPE_BF16: return ck_neon_bf16x4_to_f32((const uint16_t *)w + i);
    case CK_DTYPE_F16: return ck_neon_f16x4_to_f32((const uint16_t *)w + i);
    default: return vld1q_f32((const float *)w + i);
    }
}

static inline __attribute__((always_inline)) float ck_neon_load_w1(const void *w, size_t i, uint32_t dtype)
{
    switch (dtype) {
    case CK_DTYPE_BF16: return ck_bf16_to_f32(((const uint16_t *)w)[i]);
    case CK_DTYPE_F16: return ck_f16_to_f32(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

/* The linear micro-kernel for weights in `dtype`: a tile of R activation rows
 * (x, row stride K) by C weight rows (w rows n0 .. n0+C-1), R, C <= 4, written
 * to y (row stride ldy). Each weight vector is loaded once for the R rows.
 * Every output element has its own FMA accumulator over blocks of 4, then a
 * horizontal sum, then the K % 4 tail in order: the same sequence whatever the
 * tile shape, so results do not depend on how rows and columns are split. */
static inline __attribute__((always_inline)) void ck_neon_linear_tile_rc(const float *x, size_t R, const void *w,
                                                                         size_t row0, size_t C, size_t K, float *y,
                                                                         size_t ldy, uint32_t dtype)
{
    float32x4_t acc[4][4];
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++)
            acc[r][c] = vdupq_n_f32(0.0f);
    size_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t wv[4];
        for (size_t c = 0; c < C; c++)
            wv[c] = ck_neon_load_w4(w, row0 + c * K + k, dtype);
        for (size_t r = 0; r < R; r++) {
            float32x4_t xv = vld1q_f32(x + r * K + k);
            for (size_t c = 0; c < C; c++)
                acc[r][c] = vfmaq_f32(acc[r][c], xv, wv[c]);
        }
    }
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++) {
            float s = ck_neon_hsum(acc[r][c]);
            for (size_t kk = k; kk < K; kk++)
                s += x[r * K + kk] * ck_neon_load_w1(w, row0 + c * K + kk, dtype);
            y[r * ldy + c] = s;
        }
}

/* The tile for any shape: the full 4x4 tile and the 1x4 of decode get their
 * own copies with constant bounds (unrolled, accumulators in registers). */
static inline __attribute__((always_inline)) void ck_neon_linear_tile_any(const float *x, size_t rows, const void *w,
                                                                          size_t n0, size_t cols, size_t K, float *y,
                                                                          size_t ldy, uint32_t dtype)
{
    if (rows == 4 && cols == 4)
        ck_neon_linear_tile_rc(x, 4, w, n0 * K, 4, K, y, ldy, dtype);
    else if (rows == 1 && cols == 4)
        ck_neon_linear_tile_rc(x, 1, w, n0 * K, 4, K, y, ldy, dtype);
    else
        ck_neon_linear_tile_rc(x, rows, w, n0 * K, cols, K, y, ldy, dtype);
}

/* ---- exp and tanh --------------------------------------------------------- */

/* e^x to about 1 ulp over the whole f32 range: x = n*ln2 + r, |r| <= ln2/2,
 * e^r by a degree-7 Taylor polynomial (truncation < 6e-9), then 2^n applied
 * in two halves so that results in the subnormal range round once. Overflow
 * gives +inf, underflow 0, NaN stays NaN (vmaxq/vminq propagate it). */
static inline float32x4_t ck_neon_exp(float32x4_t x)
{
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-104.0f)), vdupq_n_f32(89.0f));
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.0f / 5040.0f);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    int32x4_t ni = vcvtq_s32_f32(n);
    int32x4_t n1 = vshrq_n_s32(ni, 1);
    int32x4_t n2 = vsubq_s32(ni, n1);
    float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, vdupq_n_s32(127)), 23));
    float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, vdupq_n_s32(127)), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

/* tanh(x): odd Taylor series for |x| < 0.4 (no cancellation near 0), else
 * 1 - 2/(e^{2|x|} + 1), which is accurate near +-1; the sign is put back. */
static inline float32x4_t ck_neon_tanh(float32x4_t x)
{
    float32x4_t a = vabsq_f32(x);
    float32x4_t a2 = vmulq_f32(a, a);
    float32x4_t p = vdupq_n_f32(21844.0f / 6081075.0f);
    p = vfmaq_f32(vdupq_n_f32(-1382.0f / 155925.0f), p, a2);
    p = vfmaq_f32(vdupq_n_f32(62.0f / 2835.0f), p, a2);
    p = vfmaq_f32(vdupq_n_f32(-17.0f / 315.0f), p, a2);
    p = vfmaq_f32(vdupq_n_f32(2.0f / 15.0f), p, a2);
    p = vfmaq_f32(vdupq_n_f32(-1.0f / 3.0f), p, a2);
    float32x4_t small = vfmaq_f32(a, vmulq_f32(p, a2), a);
    float32x4_t e = ck_neon_exp(vaddq_f32(a, a));
    float32x4_t big = vsubq_f32(vdupq_n_f32(1.0f), vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, vdupq_n_f32(1.0f))));
    float32x4_t t = vbslq_f32(vcltq_f32(a, vdupq_n_f32(0.4f)), small, big);
    /* copy the sign of x onto t (also keeps tanh(-0) = -0) */
    uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
    return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(t), sign));
}

#endif /* CK_NEON_COMMON_H */
