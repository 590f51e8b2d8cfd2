/* avx512-helpers.h — helpers shared by the AVX-512 kernels of this plugin:
 * tail masks, horizontal reductions, bf16 / f16 widening and the vectorised
 * exp used by softmax, swiglu and gelu (gelu's tanh is written through exp:
 * 1 + tanh(u) = 2 / (1 + exp(-2u)), see f32-gelu-avx512.c). Included only by files compiled with the
 * plugin's ISA flags (plugin.mk); plugin.c never includes it. */
#ifndef CK_AVX512_HELPERS_H
#define CK_AVX512_HELPERS_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "ck_plugin.h"

#define CK512_W 16 /* f32 lanes in a zmm */

/* Elementwise ops hand out chunks of at least this many items: 64 KiB of
 * f32, large enough that the pool's hand-off costs nothing next to it. */
#define CK512_ELEM_GRAIN 16384

/* Outputs of elementwise ops and norms at least this large are written with
 * streaming stores: far beyond L2, read again only by the next op, and a
 * cold prefill row (T = 2048, D = 4096: 32 MiB) would otherwise read every
 * output line from DRAM before writing it (a quarter more traffic for add). */
#define CK512_STREAM_BYTES ((size_t)16 << 20)

static inline int ck512_stream_out(size_t n_floats)
{
    return n_floats >= CK512_STREAM_BYTES / sizeof(float);
}

/* Elements from y + i to the next 64-byte boundary, at most n (the
 * unaligned head before streaming stores). */
static inline size_t ck512_align_head(const float *y, size_t i, size_t n)
{
    size_t h = (size_t)(-(uintptr_t)(y + i) & 63) / sizeof(float);
    return h < n ? h : n;
}

/* y[i] for i in [begin, end) of an elementwise op whose 16 lanes at i are
 * V(i, mask) (masked loads: lanes off the mask read nothing), 64-byte
 * stores; with `stream`, streaming stores after an unaligned head, and a
 * fence so that the host's hand-back sees them. */
#define CK512_ELEMWISE_RANGE(y, begin, end, stream, V)                                                                 \
    do {                                                                                                               \
        size_t i_ = (begin);                                                                                           \
        const size_t e_ = (end);                                                                                       \
        if (stream) {                                                                                                  \
            size_t h_ = ck512_align_head((y), i_, e_ - i_);                                                            \
            if (h_) {                                                                                                  \
                const __mmask16 m_ = ck512_mask(h_);                                                                   \
                _mm512_mask_storeu_ps((y) + i_, m_, V(i_, m_));                                                        \
                i_ += h_;                                                                                              \
            }                                                                                                          \
            for (; i_ + 16 <= e_; i_ += 16)                                                                            \
                _mm512_stream_ps((y) + i_, V(i_, (__mmask16)0xffff));                                                  \
        } else {                                                                                                       \
            for (; i_ + 16 <= e_; i_ += 16)                                                                            \
                _mm512_storeu_ps((y) + i_, V(i_, (__mmask16)0xffff));                                                  \
        }                                                                                                              \
        if (i_ < e_) {                                                                                                 \
            const __mmask16 m_ = ck512_mask(e_ - i_);                                                                  \
            _mm512_mask_storeu_ps((y) + i_, m_, V(i_, m_));                                                            \
        }                                                                                                              \
        if (stream)                                                                                                    \
            _mm_sfence();                                                                                              \
    } while (0)

/* Defines `int fn(ctx, args)`, an elementwise unary kernel on
 * ck_unary_args from its lane function LANE16(__m512), through
 * CK512_ELEMWISE_RANGE (streaming stores for a large y): its V(i, m) becomes
 * LANE16 applied to x's masked lanes. */
#define CK512_UNARY_X(i, m) (_mm512_maskz_loadu_ps(m, a->x + (i)))
#define CK512_DEFINE_UNARY(fn, LANE16)                                                                                 \
    static void fn##_range(void *arg, size_t begin, size_t end, int tid)                                               \
    {                                                                                                                  \
        const ck_unary_args *a = arg;                                                                                  \
        (void)tid;                                                                                                     \
        CK512_ELEMWISE_RANGE(a->y, begin, end, ck512_stream_out(a->n), LANE16 CK512_UNARY_X);                          \
    }                                                                                                                  \
                                                                                                                       \
    int fn(const ck_exec_ctx *ctx, const void *args)                                                                   \
    {                                                                                                                  \
        const ck_unary_args *a = args;                                                                                 \
        if (a->n == 0)                                                                                                 \
            return CK_OK;                                                                                              \
        ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, fn##_range, (void *)a);                                            \
        return CK_OK;                                                                                                  \
    }

/* Run fn over [0, n) on the host's threads (inline when there is one).
 * Every kernel computes each item independently of the split. */
static inline void ck512_parallel(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (ctx->n_threads <= 1 || !ctx->parallel_for)
        fn(arg, 0, n, 0);
    else
        ctx->parallel_for(ctx, n, grain, fn, arg);
}

/* Mask of the first n lanes (n <= 16): tails are loaded and stored with it so
 * that no kernel touches memory past the end of an array. */
static inline __mmask16 ck512_mask(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

static inline __m512 ck512_load_tail(const float *p, size_t n)
{
    return _mm512_maskz_loadu_ps(ck512_mask(n), p);
}

static inline void ck512_store_tail(float *p, __m512 v, size_t n)
{
    _mm512_mask_storeu_ps(p, ck512_mask(n), v);
}

static inline float ck512_hsum(__m512 v)
{
    return _mm512_reduce_add_ps(v);
}

static inline float ck512_hmax(__m512 v)
{
    return _mm512_reduce_max_ps(v);
}

/* 16 bf16 values -> 16 f32, exact (a bf16 is the top half of an f32). */
static inline __m512 ck512_bf16_widen(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static inline __m512 ck512_load_bf16(const uint16_t *p)
{
    return ck512_bf16_widen(_mm256_loadu_si256((const __m256i *)p));
}

static inline __m512 ck512_load_bf16_tail(const uint16_t *p, size_t n)
{
    return ck512_bf16_widen(_mm256_maskz_loadu_epi16(ck512_mask(n), p));
}

/* 16 IEEE f16 values -> 16 f32, exact (vcvtph2ps, subnormals included). */
static inline __m512 ck512_load_f16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static inline __m512 ck512_load_f16_tail(const uint16_t *p, size_t n)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(ck512_mask(n), p));
}

/* exp(x) for 16 lanes, within ~1-2 ULP of expf over the f32 range.
 * x = n*ln2 + r with |r| <= ln2/2 (ln2 split in two so n*ln2_hi is exact),
 * exp(r) by a degree-6 polynomial (Cephes coefficients), then 2^n applied
 * with scalef, which gives +inf above ~88.72 and 0 / subnormals below,
 * like expf. NaN propagates. */
static inline __m512 ck512_exp(__m512 x)
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f);
    const __m512 ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
    /* Clamp so that r stays small; scalef saturates the result correctly. */
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 1 + exp(-x): the denominator of the sigmoid forms of swiglu and gelu
 * (x / (1 + exp(-x)) has no cancellation for either sign of x). */
static inline __m512 ck512_one_plus_exp_neg(__m512 x)
{
    return _mm512_add_ps(_mm512_set1_ps(1.0f), ck512_exp(_mm512_sub_ps(_mm512_setzero_ps(), x)));
}

/* gelu, tanh form, as x / (1 + exp(-2u)) (f32-gelu-avx512.c says why);
 * shared by gelu and geglu. */
static inline __m512 ck512_gelu(__m512 x)
{
    const __m512 c = _mm512_set1_ps(0.7978845608028654f);
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 u = _mm512_mul_ps(c, _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
    return _mm512_div_ps(x, ck512_one_plus_exp_neg(_mm512_add_ps(u, u)));
}

#endif /* CK_AVX512_HELPERS_H */
