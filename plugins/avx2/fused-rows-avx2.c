/* Row norms of the avx2 fused kernels (fused-avx2.h): the sums and the
 * operation order of f32-rmsnorm-avx2.c and f32-layernorm-avx2.c, each pass
 * compiled once per norm kind and per source (one row, or the sum of two). */
#include "avx2-kernels.h"
#include "fused-avx2.h"

#define SPECIALISED static inline __attribute__((always_inline))

static __m256i tail8(size_t n)
{
    return avx2_tail_mask(n < 8 ? n : 8);
}

/* 8 lanes of x = xa (+ xb when has_b), full or masked. */
SPECIALISED __m256 load8(int has_b, const float *xa, const float *xb, size_t i)
{
    __m256 v = _mm256_loadu_ps(xa + i);
    return has_b ? _mm256_add_ps(v, _mm256_loadu_ps(xb + i)) : v;
}

SPECIALISED __m256 load_masked(int has_b, const float *xa, const float *xb, size_t i, __m256i m)
{
    __m256 v = _mm256_maskload_ps(xa + i, m);
    return has_b ? _mm256_add_ps(v, _mm256_maskload_ps(xb + i, m)) : v;
}

/* First pass: x stored to out (when given) and its sum of squares (rms:
 * four accumulators over 32 lanes) or sum (layer: two over 16), as the
 * unfused avx2 norms sum. */
SPECIALISED float first_pass(uint32_t kind, int has_b, const float *xa, const float *xb, size_t D, float *out,
                             int stream)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const size_t block = kind == CK_NORM_RMS ? 32 : 16;
    size_t i = 0;
    for (; i + block <= D; i += block)
        for (size_t j = 0; j < block / 8; j++) {
            __m256 v = load8(has_b, xa, xb, i + 8 * j);
            if (out)
                avx2_store8(out + i + 8 * j, v, stream);
            acc[j] = kind == CK_NORM_RMS ? _mm256_fmadd_ps(v, v, acc[j]) : _mm256_add_ps(acc[j], v);
        }
    for (; i < D; i += 8) {
        __m256i m = tail8(D - i);
        __m256 v = load_masked(has_b, xa, xb, i, m);
        if (out)
            _mm256_maskstore_ps(out + i, m, v);
        acc[0] = kind == CK_NORM_RMS ? _mm256_fmadd_ps(v, v, acc[0]) : _mm256_add_ps(acc[0], v);
    }
    if (kind == CK_NORM_RMS)
        return avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    return avx2_hsum_ps(_mm256_add_ps(acc[0], acc[1]));
}

/* Sum of (x - mean)^2; masked-off tail lanes are forced to 0, not -mean. */
SPECIALISED float sum_sq_dev(int has_b, const float *xa, const float *xb, size_t D, float mean)
{
    __m256 vm = _mm256_set1_ps(mean), s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= D; i += 16) {
        __m256 d0 = _mm256_sub_ps(load8(has_b, xa, xb, i), vm);
        __m256 d1 = _mm256_sub_ps(load8(has_b, xa, xb, i + 8), vm);
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    for (; i < D; i += 8) {
        __m256i m = tail8(D - i);
        __m256 d = _mm256_and_ps(_mm256_sub_ps(load_masked(has_b, xa, xb, i, m), vm), _mm256_castsi256_ps(m));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    return avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

/* rms: x * r * gamma; layer: (x - mean) * r * gamma + beta (beta NULL = 0). */
SPECIALISED __m256 norm8(uint32_t kind, __m256 x, __m256 mean, __m256 r, __m256 g, __m256 b)
{
    if (kind == CK_NORM_RMS)
        return _mm256_mul_ps(_mm256_mul_ps(x, r), g);
    return _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(x, mean), r), g), b);
}

SPECIALISED void norm_of(uint32_t kind, int has_b, const ck_norm_args *a, const float *xa, const float *xb, float *out,
                         float *y, int stream, int reread)
{
    const size_t D = a->D;
    float mean = 0.0f, first = first_pass(kind, has_b, xa, xb, D, out, stream), r;
    if (reread) { /* the later passes read out back (from L1) */
        xa = out;
        has_b = 0;
    }
    if (kind == CK_NORM_RMS) {
        r = 1.0f / sqrtf(first / (float)D + a->eps);
    } else {
        mean = first / (float)D;
        r = 1.0f / sqrtf(sum_sq_dev(has_b, xa, xb, D, mean) / (float)D + a->eps);
    }
    __m256 vm = _mm256_set1_ps(mean), vr = _mm256_set1_ps(r);
    const int beta = kind == CK_NORM_LAYER && a->beta;
    size_t i = 0;
    for (; i + 8 <= D; i += 8) {
        __m256 b = beta ? _mm256_loadu_ps(a->beta + i) : _mm256_setzero_ps();
        avx2_store8(y + i, norm8(kind, load8(has_b, xa, xb, i), vm, vr, _mm256_loadu_ps(a->gamma + i), b), stream);
    }
    if (i < D) {
        __m256i m = tail8(D - i);
        __m256 b = beta ? _mm256_maskload_ps(a->beta + i, m) : _mm256_setzero_ps();
        _mm256_maskstore_ps(
            y + i, m, norm8(kind, load_masked(has_b, xa, xb, i, m), vm, vr, _mm256_maskload_ps(a->gamma + i, m), b));
    }
}

void avx2_fused_norm_from(uint32_t kind, const ck_norm_args *a, const float *xa, const float *xb, float *out, float *y,
                          int stream, int reread)
{
    reread = reread && out;
    if (kind == CK_NORM_RMS) {
        if (xb)
            norm_of(CK_NORM_RMS, 1, a, xa, xb, out, y, stream, reread);
        else
            norm_of(CK_NORM_RMS, 0, a, xa, NULL, out, y, stream, reread);
    } else {
        if (xb)
            norm_of(CK_NORM_LAYER, 1, a, xa, xb, out, y, stream, reread);
        else
            norm_of(CK_NORM_LAYER, 0, a, xa, NULL, out, y, stream, reread);
    }
}

int avx2_fused_stream_rows(size_t T, size_t D, const float *p, const float *q)
{
    return T * D * sizeof(float) >= AVX2_STREAM_BYTES && D % 8 == 0 && ((uintptr_t)p & 31) == 0 &&
           ((uintptr_t)q & 31) == 0;
}

int avx2_fused_norm_kernel(const ck_exec_ctx *ctx, uint32_t kind, const ck_norm_args *a)
{
    if (kind == CK_NORM_RMS)
        return ck_avx2_f32_rmsnorm(ctx, a);
    if (kind == CK_NORM_LAYER)
        return ck_avx2_f32_layernorm(ctx, a);
    return CK_E_UNSUPPORTED;
}
