/* avx2-helpers.h — helpers shared by the kernels of the avx2 plugin: masks
 * for tails, horizontal reductions, exp, bf16/f16 widening, scratch and
 * threading glue, and the GEMM / matvec engine behind linear and qkv.
 * Included only by files compiled with -mavx2 -mfma. */
#ifndef CK_AVX2_HELPERS_H
#define CK_AVX2_HELPERS_H

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ck_plugin.h"

/* ---- threads and scratch ------------------------------------------------ */

/* Run fn over [0, n) on the host's threads (inline when there is one). */
static inline void avx2_parallel(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (ctx->n_threads <= 1 || !ctx->parallel_for || n <= grain)
        fn(arg, 0, n, 0);
    else
        ctx->parallel_for(ctx, n, grain, fn, arg);
}

/* Make sure every thread's private scratch holds `bytes`, from the calling
 * thread before a parallel loop, so that a worker's later
 * ctx->scratch(ctx, tid, bytes) neither allocates nor fails. 0 on success. */
static inline int avx2_reserve_scratch(const ck_exec_ctx *ctx, size_t bytes)
{
    if (!ctx->scratch)
        return -1;
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, bytes))
            return -1;
    return 0;
}

/* Elementwise ops split into chunks of at least this many floats. */
#define AVX2_ELEM_GRAIN 16384

/* ---- non-temporal stores ------------------------------------------------------- */

/* An output array at least this large is written with streaming stores,
 * which skip the read-for-ownership of lines that will not be read again
 * before they leave the caches (a quarter of add's memory traffic). A
 * constant of the shape, never of the thread count. */
#define AVX2_STREAM_BYTES ((size_t)16 << 20)

/* Whether an op writing `bytes` to y, reading `in`, should stream: large,
 * and not in place (an in-place line is already in cache). */
static inline int avx2_should_stream(size_t bytes, const void *y, const void *in)
{
    return bytes >= AVX2_STREAM_BYTES && y != in;
}

/* Elements from p up to the next 32-byte boundary, at most n. */
static inline size_t avx2_peel(const float *p, size_t n)
{
    size_t k = (size_t)((32 - ((uintptr_t)p & 31)) & 31) / sizeof(float);
    return k < n ? k : n;
}

/* A store of 8 floats: streaming (p 32-byte aligned) or ordinary. */
static inline void avx2_store8(float *p, __m256 v, int stream)
{
    if (stream)
        _mm256_stream_ps(p, v);
    else
        _mm256_storeu_ps(p, v);
}

/* ---- tails ---------------------------------------------------------------- */

/* A lane mask with the first n (0..8) lanes set, for maskload/maskstore,
 * which never touch memory of the masked-off lanes. */
static inline __m256i avx2_tail_mask(size_t n)
{
    static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(const void *)(table + 8 - n));
}

/* Defines `int fn(ctx, args)`, an elementwise unary kernel on
 * ck_unary_args from its lane function LANE8(__m256): the body and the
 * masked tail apply the same lanes, and a large, not in-place y is written
 * with streaming stores from an aligned start. gelu, gelu_erf and
 * quick_gelu differ only in LANE8. */
#define AVX2_DEFINE_UNARY(fn, LANE8)                                                                                   \
    typedef struct fn##_job {                                                                                          \
        ck_unary_args a;                                                                                               \
        int stream; /* non-temporal stores for y */                                                                    \
    } fn##_job;                                                                                                        \
                                                                                                                       \
    static inline void fn##_masked(const ck_unary_args *a, size_t i, size_t n)                                         \
    {                                                                                                                  \
        __m256i m = avx2_tail_mask(n);                                                                                 \
        _mm256_maskstore_ps(a->y + i, m, LANE8(_mm256_maskload_ps(a->x + i, m)));                                      \
    }                                                                                                                  \
                                                                                                                       \
    static void fn##_range(void *arg, size_t begin, size_t end, int tid)                                               \
    {                                                                                                                  \
        const fn##_job *j = arg;                                                                                       \
        const ck_unary_args *a = &j->a;                                                                                \
        (void)tid;                                                                                                     \
        size_t i = begin;                                                                                              \
        if (j->stream) { /* up to an aligned y: streaming stores need it */                                            \
            size_t k = avx2_peel(a->y + i, end - i);                                                                   \
            if (k)                                                                                                     \
                fn##_masked(a, i, k);                                                                                  \
            i += k;                                                                                                    \
        }                                                                                                              \
        for (; i + 8 <= end; i += 8)                                                                                   \
            avx2_store8(a->y + i, LANE8(_mm256_loadu_ps(a->x + i)), j->stream);                                        \
        if (i < end)                                                                                                   \
            fn##_masked(a, i, end - i);                                                                                \
        if (j->stream)                                                                                                 \
            _mm_sfence();                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    int fn(const ck_exec_ctx *ctx, const void *args)                                                                   \
    {                                                                                                                  \
        const ck_unary_args *a = args;                                                                                 \
        fn##_job job = {*a, avx2_should_stream(a->n * sizeof(float), a->y, a->x)};                                     \
        avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, fn##_range, &job);                                                   \
        return CK_OK;                                                                                                  \
    }

/* ---- horizontal reductions ------------------------------------------------ */

static inline float avx2_hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float avx2_hmax_ps(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- exp -------------------------------------------------------------------- */

/* The core of the vector exp, about 1 ULP for x in [ln(FLT_MIN), ln(FLT_MAX)]
 * (Cephes expf: x = n ln2 + r with ln2 split in two so that r is exact, a
 * degree-6 polynomial on |r| <= ln2/2, then 2^n built in the exponent
 * field). x is clamped to that range first, so no special values come out:
 * the wrappers below restore them. */
static inline __m256 avx2_exp_core_ps(__m256 x)
{
    /* up to ln(FLT_MAX): 2^n is applied as two halves, so n = 128 works */
    const __m256 hi = _mm256_set1_ps(88.72283935546875f);
    const __m256 lo = _mm256_set1_ps(-87.3365447504f);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* p * 2^n1 * 2^n2, n1 = floor(n / 2): each factor a normal power of two,
     * so the product rounds once, as p * 2^n did where 2^n is an f32 */
    __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256i e1 = _mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23);
    __m256i e2 = _mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e1)), _mm256_castsi256_ps(e2));
}

/* e^x to about 1 ULP: below ln(FLT_MIN) the result is 0 (no subnormals),
 * above ln(FLT_MAX) it is +inf, NaN stays NaN. */
static inline __m256 avx2_exp_ps(__m256 x)
{
    const __m256 ln_flt_min = _mm256_set1_ps(-87.3365447504f), ln_flt_max = _mm256_set1_ps(88.7228391f);
    __m256 y = avx2_exp_core_ps(x);
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, ln_flt_min, _CMP_LT_OQ));
    y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, ln_flt_max, _CMP_GT_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* e^x for the logistic forms v / (1 + e^x) (swiglu, gelu): +inf above
 * ln(FLT_MAX) as avx2_exp_ps, but below ln(FLT_MIN) about 1.2e-38 instead
 * of 0 and a NaN x gives a finite value — harmless there (1 + 1.2e-38 == 1;
 * a NaN x makes v NaN too) and two blends cheaper. */
static inline __m256 avx2_exp_logistic_ps(__m256 x)
{
    const __m256 ln_flt_max = _mm256_set1_ps(88.7228391f);
    __m256 y = avx2_exp_core_ps(x);
    return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, ln_flt_max, _CMP_GT_OQ));
}

/* ---- bf16 ----------------------------------------------------------------- */

/* Eight bf16 values widened exactly to f32 (the bits become the high half). */
static inline __m256 avx2_load_bf16x8(const uint16_t *p)
{
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The first n (0..8) bf16 values at p, widened; lanes >= n are 0. Copies
 * through a small buffer because there is no 16-bit masked load in AVX2. */
static inline __m256 avx2_load_bf16_tail(const uint16_t *p, size_t n)
{
    uint16_t buf[8] = {0};
    memcpy(buf, p, n * sizeof *p);
    return avx2_load_bf16x8(buf);
}

/* ---- f16 (F16C) ------------------------------------------------------------- */

/* Eight IEEE half values widened exactly to f32 (vcvtph2ps). */
static inline __m256 avx2_load_f16x8(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* The first n (0..8) f16 values at p, widened; lanes >= n are 0. */
static inline __m256 avx2_load_f16_tail(const uint16_t *p, size_t n)
{
    uint16_t buf[8] = {0};
    memcpy(buf, p, n * sizeof *p);
    return avx2_load_f16x8(buf);
}

/* ---- weights of any supported dtype ------------------------------------------ */

static inline int avx2_weight_dtype_ok(uint32_t dtype)
{
    return dtype == CK_DTYPE_F32 || dtype == CK_DTYPE_BF16 || dtype == CK_DTYPE_F16;
}

/* Eight consecutive weights from element i of w, widened to f32. */
static inline __m256 avx2_load_w8(const void *w, uint32_t dtype, size_t i)
{
    if (dtype == CK_DTYPE_BF16)
        return avx2_load_bf16x8((const uint16_t *)w + i);
    if (dtype == CK_DTYPE_F16)
        return avx2_load_f16x8((const uint16_t *)w + i);
    return _mm256_loadu_ps((const float *)w + i);
}

/* The first n (0..8) weights from element i; lanes >= n are 0. */
static inline __m256 avx2_load_w_tail(const void *w, uint32_t dtype, size_t i, size_t n)
{
    if (dtype == CK_DTYPE_BF16)
        return avx2_load_bf16_tail((const uint16_t *)w + i, n);
    if (dtype == CK_DTYPE_F16)
        return avx2_load_f16_tail((const uint16_t *)w + i, n);
    return _mm256_maskload_ps((const float *)w + i, avx2_tail_mask(n));
}

/* One weight, widened. */
static inline float avx2_w_at(const void *w, uint32_t dtype, size_t i)
{
    if (dtype == CK_DTYPE_BF16)
        return ck_bf16_to_f32(((const uint16_t *)w)[i]);
    if (dtype == CK_DTYPE_F16)
        return ck_f16_to_f32(((const uint16_t *)w)[i]);
    return ((const float *)w)[i];
}

/* ---- embedding ---------------------------------------------------------------- */

/* y[t] = f32(table[ids[t]]) for a table of any weight dtype (a copy, or an
 * exact widening). An id outside [0, vocab) is refused before anything is
 * written. Rows split over the threads. */
int avx2_embedding(const ck_exec_ctx *ctx, const ck_embedding_args *a, uint32_t dtype);

/* ---- GEMM / matvec engine (f32-gemm-avx2.c, f32-matvec-avx2.c) ------------ */

/* y[t][n] (row stride ldy) = sum_k x[t][k] * w[n][k] (+ bias[n]) for
 * t < T, n < N, with x [T, K] dense and w [N, K] f32, bf16 or f16 (each
 * weight widened exactly to f32; f32 accumulation). */
typedef struct avx2_linear_problem {
    const float *x;
    const void *w;
    uint32_t w_dtype; /* CK_DTYPE_F32, CK_DTYPE_BF16 or CK_DTYPE_F16 */
    const float *bias;
    float *y;
    size_t ldy;
    size_t T, K, N;
} avx2_linear_problem;

/* Packed, register-blocked GEMM for any T. */
int avx2_gemm(const ck_exec_ctx *ctx, const avx2_linear_problem *p);
/* A few input rows (T < AVX2_MATVEC_MAX_T): streams each weight row once. */
int avx2_matvec(const ck_exec_ctx *ctx, const avx2_linear_problem *p);

/* Below this many rows the matvec beats the packed GEMM, whose packing of W
 * per thread and 6-row tiles cost more than the matvec's one read of W:
 * cold, 2 threads, LLaMA-3-8B's out_proj / mlp_gate / mlp_down in bf16 and
 * f32, two rounds, matvec over GEMM: T = 4 1.67-2.60x, 8 1.54-1.90x, 16
 * 1.13-1.37x, 24 0.86-1.05x, 32 0.78-1.01x, 48 0.62-0.80x. (-D overrides
 * it, to measure.) */
#ifndef AVX2_MATVEC_MAX_T
#define AVX2_MATVEC_MAX_T 20
#endif

/* Picks the path for p: matvec for a few rows, GEMM otherwise; K == 0 gives
 * the bias (or 0). */
static inline int avx2_linear(const ck_exec_ctx *ctx, const avx2_linear_problem *p)
{
    if (p->T == 0 || p->N == 0)
        return CK_OK;
    if (!avx2_weight_dtype_ok(p->w_dtype))
        return CK_E_UNSUPPORTED;
    if (p->K == 0) {
        for (size_t t = 0; t < p->T; t++)
            for (size_t n = 0; n < p->N; n++)
                p->y[t * p->ldy + n] = p->bias ? p->bias[n] : 0.0f;
        return CK_OK;
    }
    return p->T < AVX2_MATVEC_MAX_T ? avx2_matvec(ctx, p) : avx2_gemm(ctx, p);
}

/* The linear kernel of one weight dtype. */
static inline int avx2_linear_kernel(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_linear_args *a = args;
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    avx2_linear_problem p = {a->x, a->w, dtype, a->bias, a->y, a->N, a->T, a->K, a->N};
    return avx2_linear(ctx, &p);
}

/* The qkv kernel of one weight dtype: three linears whose [T, H*hd] outputs
 * are the [T, H, hd] head layout (output column h*hd + d is weight row
 * h*hd + d). */
static inline int avx2_qkv_kernel(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_qkv_args *a = args;
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    const avx2_linear_problem parts[3] = {
        {a->x, a->wq, dtype, a->bq, a->q, nq, a->T, a->D, nq},
        {a->x, a->wk, dtype, a->bk, a->k, nkv, a->T, a->D, nkv},
        {a->x, a->wv, dtype, a->bv, a->v, nkv, a->T, a->D, nkv},
    };
    for (int i = 0; i < 3; i++) {
        int rc = avx2_linear(ctx, &parts[i]);
        if (rc != CK_OK)
            return rc;
    }
    return CK_OK;
}

/* ---- attention ------------------------------------------------------------ */

/* Keys query row t may see: [avx2_first_key, avx2_visible_keys). All S,
 * or causally those s <= p = q_pos + t, and with a window those s > p - W
 * too (first <= end, so a row past the cache with a short window sees none). */
static inline size_t avx2_visible_keys(const ck_attention_args *a, size_t t)
{
    if (!a->causal)
        return a->S;
    size_t last = a->q_pos + t;
    return last >= a->S ? a->S : last + 1;
}

static inline size_t avx2_first_key(const ck_attention_args *a, size_t t)
{
    size_t p = a->q_pos + t, end = avx2_visible_keys(a, t);
    size_t first = a->causal && a->window && p >= a->window ? p - a->window + 1 : 0;
    return first < end ? first : end;
}

/* The soft-cap cap * tanh(s / cap), tanh as sign(s) (1 - 2 / (1 + e^{2|s|/cap})):
 * exp's argument is >= 0, so e >= 1 and the division never cancels; e = inf
 * gives exactly +-cap, a NaN stays NaN. two_over_cap = 2 / cap (rounded:
 * docs/ops.md's error model allows the argument 2u). */
static inline __m256 avx2_softcap_ps(__m256 s, __m256 cap, __m256 two_over_cap)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 e = avx2_exp_ps(_mm256_mul_ps(_mm256_andnot_ps(sign, s), two_over_cap));
    __m256 t = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(one, e)));
    return _mm256_or_ps(_mm256_mul_ps(cap, t), _mm256_and_ps(s, sign));
}

/* p[0..n) soft-capped in place (cap > 0); whole vectors, then a masked tail. */
static inline void avx2_softcap_row(float *p, size_t n, float cap)
{
    __m256 vc = _mm256_set1_ps(cap), v2 = _mm256_set1_ps(2.0f / cap);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(p + i, avx2_softcap_ps(_mm256_loadu_ps(p + i), vc, v2));
    if (i < n) {
        __m256i m = avx2_tail_mask(n - i);
        _mm256_maskstore_ps(p + i, m, avx2_softcap_ps(_mm256_maskload_ps(p + i, m), vc, v2));
    }
}

/* exp's shift for an online softmax: the running max, or 0 where it is
 * still -inf (a row none of whose keys so far is visible: exp(-inf - 0)
 * = 0 keeps its sums at 0, where -inf - -inf would be NaN). */
static inline __m256 avx2_safe_max(__m256 mx)
{
    return _mm256_blendv_ps(mx, _mm256_setzero_ps(), _mm256_cmp_ps(mx, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ));
}

/* Row stride of a packed K or V block: hd rounded up to whole cache lines
 * plus one, an odd number of lines, so that the rows spread over the L1
 * sets (in the cache they are Hkv*hd apart, often 4 KiB, all one set). */
static inline size_t avx2_block_stride(size_t hd)
{
    return ((hd + 15) / 16 | 1) * 16;
}

/* dst[0..n) = src[0..n) (packing K/V rows; masks for the tail only). */
static inline void avx2_copy_row(float *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    if (i < n) {
        __m256i m = avx2_tail_mask(n - i);
        _mm256_maskstore_ps(dst + i, m, _mm256_maskload_ps(src + i, m));
    }
}

/* scores/probs wanted: f32-attention-mat-avx2.c. */
int avx2_attention_materialising(const ck_exec_ctx *ctx, const ck_attention_args *a);

/* Up to this many query rows per kv head (T * H/Hkv) attention takes the
 * row-vectorised decode path (f32-attention-decode-avx2.c); above it, the
 * lane-transposed tiles of f32-attention-avx2.c. */
#define AVX2_ATT_ROWS_MAX 4
int avx2_attention_decode(const ck_exec_ctx *ctx, const ck_attention_args *a);

/* gelu, tanh form, as y = x / (1 + exp(-2u)) (f32-gelu-avx2.c says why);
 * shared by gelu and geglu so both round the same way. */
static inline __m256 avx2_gelu_ps(__m256 x)
{
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 inner = _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x);
    __m256 e = avx2_exp_logistic_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f * 0.7978845608028654f), inner));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

#endif /* CK_AVX2_HELPERS_H */
