/* bwd-avx2.h — helpers of the avx2 plugin's backward (training) kernels: a
 * thin vector vocabulary (bv_*) over 8 f32 lanes, the same names that
 * bwd-avx512.h defines over 16, so the element-wise and row-wise backward
 * kernels read the same in both plugins; tails use maskload/maskstore,
 * which never touch the masked-off lanes' memory. Also the GEMM layouts of
 * the linear and qkv gradients (gemm-bwd-avx2.c). Included only by files
 * compiled with -mavx2 -mfma. */
#ifndef CK_BWD_AVX2_H
#define CK_BWD_AVX2_H

#include "avx2-helpers.h"
#include "avx2-kernels.h"

typedef __m256 bv_f32;
#define BV_W 8
/* the exported name of a backward kernel of this plugin */
#define BV_KERNEL(op) ck_avx2_f32_##op

static inline bv_f32 bv_load(const float *p)
{
    return _mm256_loadu_ps(p);
}
static inline bv_f32 bv_load_n(const float *p, size_t n)
{
    return n >= BV_W ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, avx2_tail_mask(n));
}
/* the first n lanes from p, the others `fill` */
static inline bv_f32 bv_load_n_fill(const float *p, size_t n, float fill)
{
    if (n >= BV_W)
        return _mm256_loadu_ps(p);
    __m256i m = avx2_tail_mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
/* lanes n and above set to 0 */
static inline bv_f32 bv_keep_n(bv_f32 v, size_t n)
{
    return n >= BV_W ? v : _mm256_and_ps(v, _mm256_castsi256_ps(avx2_tail_mask(n)));
}
static inline void bv_store(float *p, bv_f32 v)
{
    _mm256_storeu_ps(p, v);
}
static inline void bv_store_n(float *p, bv_f32 v, size_t n)
{
    if (n >= BV_W)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, avx2_tail_mask(n), v);
}
static inline bv_f32 bv_set1(float x)
{
    return _mm256_set1_ps(x);
}
static inline bv_f32 bv_zero(void)
{
    return _mm256_setzero_ps();
}
static inline bv_f32 bv_add(bv_f32 a, bv_f32 b)
{
    return _mm256_add_ps(a, b);
}
static inline bv_f32 bv_sub(bv_f32 a, bv_f32 b)
{
    return _mm256_sub_ps(a, b);
}
static inline bv_f32 bv_mul(bv_f32 a, bv_f32 b)
{
    return _mm256_mul_ps(a, b);
}
static inline bv_f32 bv_div(bv_f32 a, bv_f32 b)
{
    return _mm256_div_ps(a, b);
}
static inline bv_f32 bv_max(bv_f32 a, bv_f32 b)
{
    return _mm256_max_ps(a, b);
}
static inline bv_f32 bv_fmadd(bv_f32 a, bv_f32 b, bv_f32 c)
{
    return _mm256_fmadd_ps(a, b, c);
}
static inline float bv_hsum(bv_f32 v)
{
    return avx2_hsum_ps(v);
}
static inline float bv_hmax(bv_f32 v)
{
    return avx2_hmax_ps(v);
}
/* e^x (+inf above ln(FLT_MAX), 0 below ln(FLT_MIN), NaN kept) */
static inline bv_f32 bv_exp(bv_f32 x)
{
    return avx2_exp_ps(x);
}

/* Lanes 2i and 2i+1 swapped (the gptj rope pairs). */
static inline bv_f32 bv_swap_pairs(bv_f32 v)
{
    return _mm256_permute_ps(v, 0xB1);
}
/* a + b in even lanes, a - b in odd lanes. */
static inline bv_f32 bv_add_even_sub_odd(bv_f32 a, bv_f32 b)
{
    return _mm256_blend_ps(_mm256_add_ps(a, b), _mm256_sub_ps(a, b), 0xAA);
}
/* p[0], p[0], p[1], p[1], ...: the first min(n, W/2) values, each twice. */
static inline bv_f32 bv_load_dup_n(const float *p, size_t n)
{
    __m128 h = n >= 4 ? _mm_loadu_ps(p) : _mm_maskload_ps(p, _mm256_castsi256_si128(avx2_tail_mask(n)));
    const __m256i idx = _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0);
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(h), idx);
}

/* sum x[i] * y[i] over n floats, in double (4 lanes): for sums whose f32
 * rounding would matter downstream, e.g. the recomputed attention scores of
 * outlier rows (|score| ~ 1e3, where an f32 dot is off by ~1e-4). */
static inline double bv_dot_f64(const float *x, const float *y, size_t n)
{
    __m256d acc = _mm256_setzero_pd();
    for (size_t i = 0; i < n; i += 4) {
        __m128i m = _mm256_castsi256_si128(avx2_tail_mask(n - i >= 4 ? 4 : n - i));
        __m256d a = _mm256_cvtps_pd(_mm_maskload_ps(x + i, m));
        acc = _mm256_fmadd_pd(a, _mm256_cvtps_pd(_mm_maskload_ps(y + i, m)), acc);
    }
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* y[i] += c * x[i] over n floats into doubles (4 lanes). */
static inline void bv_axpy_f64(double *y, double c, const float *x, size_t n)
{
    __m256d cv = _mm256_set1_pd(c);
    for (size_t i = 0; i < n; i += 4) {
        __m256i m = avx2_tail_mask(n - i >= 4 ? 4 : n - i);
        __m256i m64 = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m));
        __m256d xv = _mm256_cvtps_pd(_mm_maskload_ps(x + i, _mm256_castsi256_si128(m)));
        _mm256_maskstore_pd(y + i, m64, _mm256_fmadd_pd(cv, xv, _mm256_maskload_pd(y + i, m64)));
    }
}

/* e^x for doubles in place, x in [-708, 708] (clamped): x = n ln2 + r,
 * |r| <= ln2/2, Taylor to degree 10 (relative error ~2e-13, far below f32
 * rounding), times 2^n built in the exponent field. For softmax rows that
 * must stay more exact than f32 (the attention gradient multiplies P by
 * large dP). */
static inline void bv_exp_f64_row(double *x, size_t n)
{
    for (size_t i = 0; i < n; i += 4) {
        __m256i m64 = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(avx2_tail_mask(n - i >= 4 ? 4 : n - i)));
        __m256d v = _mm256_maskload_pd(x + i, m64);
        v = _mm256_min_pd(_mm256_max_pd(v, _mm256_set1_pd(-708.0)), _mm256_set1_pd(708.0));
        __m256d k = _mm256_round_pd(_mm256_mul_pd(v, _mm256_set1_pd(1.4426950408889634)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(6.93147180369123816490e-01), v);
        r = _mm256_fnmadd_pd(k, _mm256_set1_pd(1.90821492927058770002e-10), r);
        /* Taylor coefficients 1/10!, 1/9!, ..., 1/1!, 1/0! (Horner) */
        static const double c[] = {1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0,
                                   1.0 / 24.0,     1.0 / 6.0,     0.5,          1.0,         1.0};
        __m256d p = _mm256_set1_pd(1.0 / 3628800.0);
        for (int d = 0; d < 10; d++)
            p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c[d]));
        __m256i e = _mm256_slli_epi64(
            _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k)), _mm256_set1_epi64x(1023)), 52);
        _mm256_maskstore_pd(x + i, m64, _mm256_mul_pd(p, _mm256_castsi256_pd(e)));
    }
}

static inline void bv_parallel(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    avx2_parallel(ctx, n, grain, fn, arg);
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

/* ---- GEMM layouts of the gradients (gemm-bwd-avx2.c) ------------------- */

/* dst[c * ld_dst + r] = src[r * ld_src + c] for r < rows, c < cols, in
 * parallel (8 x 8 register transposes, ragged edges element by element). */
void avx2_bwd_transpose(const ck_exec_ctx *ctx, const float *src, size_t ld_src, size_t rows, size_t cols, float *dst,
                        size_t ld_dst);

/* db[n] = sum over t in order of dy[t * N + n], f32, split over columns
 * only, so every sum has one fixed order. */
void avx2_bwd_colsum(const ck_exec_ctx *ctx, const float *dy, size_t T, size_t N, float *db);

/* y[M, Nc] = a[M, R] . b[Nc, R]^T with the forward GEMM (which reads a in
 * place and packs b into the threads' private scratch, so the callers keep
 * the shared scratch for their transposes). */
int avx2_bwd_gemm_nt(const ck_exec_ctx *ctx, const float *a, const float *b, float *y, size_t M, size_t R, size_t Nc);

#endif /* CK_BWD_AVX2_H */
