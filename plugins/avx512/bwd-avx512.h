/* bwd-avx512.h — helpers of the avx512 plugin's backward (training)
 * kernels: a thin vector vocabulary (bv_*) over 16 f32 lanes, so that the
 * element-wise and row-wise backward kernels read the same in the avx2
 * plugin (bwd-avx2.h defines the same names over 8 lanes), and the GEMM
 * layouts of the linear and qkv gradients (gemm-bwd-avx512.c).
 * Included only by files compiled with the plugin's ISA flags. */
#ifndef CK_BWD_AVX512_H
#define CK_BWD_AVX512_H

#include "avx512-helpers.h"
#include "avx512-kernels.h"

typedef __m512 bv_f32;
#define BV_W CK512_W
/* the exported name of a backward kernel of this plugin */
#define BV_KERNEL(op) ck_avx512_f32_##op

static inline bv_f32 bv_load(const float *p)
{
    return _mm512_loadu_ps(p);
}
static inline bv_f32 bv_load_n(const float *p, size_t n)
{
    return ck512_load_tail(p, n);
}
/* the first n lanes from p, the others `fill` */
static inline bv_f32 bv_load_n_fill(const float *p, size_t n, float fill)
{
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), ck512_mask(n), p);
}
/* lanes n and above set to 0 */
static inline bv_f32 bv_keep_n(bv_f32 v, size_t n)
{
    return _mm512_maskz_mov_ps(ck512_mask(n), v);
}
static inline void bv_store(float *p, bv_f32 v)
{
    _mm512_storeu_ps(p, v);
}
static inline void bv_store_n(float *p, bv_f32 v, size_t n)
{
    ck512_store_tail(p, v, n);
}
static inline bv_f32 bv_set1(float x)
{
    return _mm512_set1_ps(x);
}
static inline bv_f32 bv_zero(void)
{
    return _mm512_setzero_ps();
}
static inline bv_f32 bv_add(bv_f32 a, bv_f32 b)
{
    return _mm512_add_ps(a, b);
}
static inline bv_f32 bv_sub(bv_f32 a, bv_f32 b)
{
    return _mm512_sub_ps(a, b);
}
static inline bv_f32 bv_mul(bv_f32 a, bv_f32 b)
{
    return _mm512_mul_ps(a, b);
}
static inline bv_f32 bv_div(bv_f32 a, bv_f32 b)
{
    return _mm512_div_ps(a, b);
}
static inline bv_f32 bv_max(bv_f32 a, bv_f32 b)
{
    return _mm512_max_ps(a, b);
}
static inline bv_f32 bv_fmadd(bv_f32 a, bv_f32 b, bv_f32 c)
{
    return _mm512_fmadd_ps(a, b, c);
}
static inline float bv_hsum(bv_f32 v)
{
    return ck512_hsum(v);
}
static inline float bv_hmax(bv_f32 v)
{
    return ck512_hmax(v);
}
/* e^x (+inf above ~88.7, 0 below ~-103, NaN kept) */
static inline bv_f32 bv_exp(bv_f32 x)
{
    return ck512_exp(x);
}

/* Lanes 2i and 2i+1 swapped (the gptj rope pairs). */
static inline bv_f32 bv_swap_pairs(bv_f32 v)
{
    return _mm512_permute_ps(v, 0xB1);
}
/* a + b in even lanes, a - b in odd lanes. */
static inline bv_f32 bv_add_even_sub_odd(bv_f32 a, bv_f32 b)
{
    return _mm512_mask_sub_ps(_mm512_add_ps(a, b), (__mmask16)0xAAAA, a, b);
}
/* p[0], p[0], p[1], p[1], ...: the first min(n, W/2) values, each twice. */
static inline bv_f32 bv_load_dup_n(const float *p, size_t n)
{
    __m256 h = _mm256_maskz_loadu_ps(n >= 8 ? (__mmask8)0xff : (__mmask8)((1u << n) - 1u), p);
    const __m512i idx = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(h));
}

/* sum x[i] * y[i] over n floats, in double (8 lanes): for sums whose f32
 * rounding would matter downstream, e.g. the recomputed attention scores of
 * outlier rows (|score| ~ 1e3, where an f32 dot is off by ~1e-4). */
static inline double bv_dot_f64(const float *x, const float *y, size_t n)
{
    __m512d acc = _mm512_setzero_pd();
    for (size_t i = 0; i < n; i += 8) {
        __mmask8 m = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1u);
        __m512d a = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + i));
        acc = _mm512_fmadd_pd(a, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, y + i)), acc);
    }
    return _mm512_reduce_add_pd(acc);
}

/* y[i] += c * x[i] over n floats into doubles (8 lanes). */
static inline void bv_axpy_f64(double *y, double c, const float *x, size_t n)
{
    __m512d cv = _mm512_set1_pd(c);
    for (size_t i = 0; i < n; i += 8) {
        __mmask8 m = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1u);
        __m512d xv = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + i));
        _mm512_mask_storeu_pd(y + i, m, _mm512_fmadd_pd(cv, xv, _mm512_maskz_loadu_pd(m, y + i)));
    }
}

/* e^x for doubles in place, x in [-708, 708] (clamped): x = n ln2 + r,
 * |r| <= ln2/2, Taylor to degree 10 (relative error ~2e-13, far below f32
 * rounding), times 2^n. For softmax rows that must stay more exact than
 * f32 (the attention gradient multiplies P by large dP). */
static inline void bv_exp_f64_row(double *x, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        __mmask8 m = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1u);
        __m512d v = _mm512_maskz_loadu_pd(m, x + i);
        v = _mm512_min_pd(_mm512_max_pd(v, _mm512_set1_pd(-708.0)), _mm512_set1_pd(708.0));
        __m512d k = _mm512_roundscale_pd(_mm512_mul_pd(v, _mm512_set1_pd(1.4426950408889634)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(6.93147180369123816490e-01), v);
        r = _mm512_fnmadd_pd(k, _mm512_set1_pd(1.90821492927058770002e-10), r);
        /* Taylor coefficients 1/10!, 1/9!, ..., 1/1!, 1/0! (Horner) */
        static const double c[] = {1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0,
                                   1.0 / 24.0,     1.0 / 6.0,     0.5,          1.0,         1.0};
        __m512d p = _mm512_set1_pd(1.0 / 3628800.0);
        for (int d = 0; d < 10; d++)
            p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c[d]));
        _mm512_mask_storeu_pd(x + i, m, _mm512_scalef_pd(p, k));
    }
}

static inline void bv_parallel(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    ck512_parallel(ctx, n, grain, fn, arg);
}

/* Below about this many flops a kernel runs on the calling thread alone:
 * waking the pool's threads costs more than they save (on a loaded
 * machine, tens of microseconds per parallel loop). Results do not depend
 * on the split, so they are the same bits either way. */
#define BV_SERIAL_WORK 1e6

/* ctx, or a copy of it that reports one thread when `work` is small (every
 * parallel loop then runs inline; the host's scratch still gives tid 0 and
 * CK_SCRATCH_SHARED distinct buffers). */
static inline const ck_exec_ctx *bv_ctx_for(const ck_exec_ctx *ctx, ck_exec_ctx *one, double work)
{
    if (work >= BV_SERIAL_WORK || ctx->n_threads <= 1)
        return ctx;
    *one = *ctx;
    one->n_threads = 1;
    return one;
}

/* ---- GEMM layouts of the gradients (gemm-bwd-avx512.c) ---------------- */

/* dst[c * ld_dst + r] = src[r * ld_src + c] for r < rows, c < cols, in
 * parallel (8 x 8 register transposes, ragged edges element by element). */
void ck512_bwd_transpose(const ck_exec_ctx *ctx, const float *src, size_t ld_src, size_t rows, size_t cols, float *dst,
                         size_t ld_dst);

/* db[n] = sum over t in order of dy[t * N + n], f32, split over columns
 * only, so every sum has one fixed order. */
void ck512_bwd_colsum(const ck_exec_ctx *ctx, const float *dy, size_t T, size_t N, float *db);

/* y[M, Nc] = a[M, R] . b[Nc, R]^T with the forward f32 GEMM. a is packed
 * into px (ck512_bwd_packed_floats(M, R)) by the caller's choice, so that
 * the GEMM does not take the host's shared scratch for it: the callers
 * carve px and their transposes from that one shared buffer. */
int ck512_bwd_gemm_nt(const ck_exec_ctx *ctx, const float *a, const float *b, float *y, size_t M, size_t R, size_t Nc,
                      float *px);

/* Floats of packed a for ck512_bwd_gemm_nt, rounded to a cache line. */
size_t ck512_bwd_packed_floats(size_t M, size_t R);

#endif /* CK_BWD_AVX512_H */
