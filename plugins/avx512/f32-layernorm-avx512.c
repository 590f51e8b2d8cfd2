/* f32-layernorm/avx512: y = (x - mean) / sqrt(var + eps) * gamma + beta per
 * row (population variance; beta NULL = 0). f32 accumulation with the
 * corrected two-pass formula: after a first mean m, the second pass sums
 * c = x - m and c^2, so mean = m + sum(c)/D and var = sum(c^2)/D - (sum(c)/D)^2
 * stay accurate for rows with a large offset. y may alias x. */
#include <math.h>

#include "avx512-helpers.h"
#include "avx512-kernels.h"

static float row_sum(const float *x, size_t D)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 32 <= D; i += 32) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
    }
    for (; i < D; i += 16)
        s0 = _mm512_add_ps(s0, ck512_load_tail(x + i, D - i));
    return ck512_hsum(_mm512_add_ps(s0, s1));
}

/* Sums of c = x - m and of c^2 over the row. Masked-off lanes load 0 and
 * must not contribute -m, hence the masked subtract. */
static void centered_sums(const float *x, size_t D, float m, float *sc, float *sq)
{
    __m512 mv = _mm512_set1_ps(m), c0 = _mm512_setzero_ps(), c1 = c0, q0 = c0, q1 = c0;
    size_t i = 0;
    for (; i + 32 <= D; i += 32) {
        __m512 a = _mm512_sub_ps(_mm512_loadu_ps(x + i), mv);
        __m512 b = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mv);
        c0 = _mm512_add_ps(c0, a);
        c1 = _mm512_add_ps(c1, b);
        q0 = _mm512_fmadd_ps(a, a, q0);
        q1 = _mm512_fmadd_ps(b, b, q1);
    }
    for (; i < D; i += 16) {
        __mmask16 k = ck512_mask(D - i);
        __m512 a = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + i), mv);
        c0 = _mm512_add_ps(c0, a);
        q0 = _mm512_fmadd_ps(a, a, q0);
    }
    *sc = ck512_hsum(_mm512_add_ps(c0, c1));
    *sq = ck512_hsum(_mm512_add_ps(q0, q1));
}

static inline __m512 norm16(__m512 x, __m512 m, __m512 delta, __m512 r, __m512 g, __m512 b)
{
    return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(x, m), delta), r), g, b);
}

static void layernorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_norm_args *a = arg;
    (void)tid;
    const size_t D = a->D;
    const float inv_d = 1.0f / (float)D;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        float *y = a->y + t * D;
        float m = row_sum(x, D) * inv_d, sc, sq;
        centered_sums(x, D, m, &sc, &sq);
        float delta = sc * inv_d;
        float var = sq * inv_d - delta * delta;
        if (var < 0.0f)
            var = 0.0f;
        __m512 mv = _mm512_set1_ps(m), dv = _mm512_set1_ps(delta);
        __m512 r = _mm512_set1_ps(1.0f / sqrtf(var + a->eps));
        /* pull the next row in while this one is written from cache */
        const char *next = (const char *)(t + 1 < end ? x + D : x);
        size_t i = 0;
        for (; i + 16 <= D; i += 16) {
            _mm_prefetch(next + i * sizeof(float), _MM_HINT_T0);
            __m512 b = a->beta ? _mm512_loadu_ps(a->beta + i) : _mm512_setzero_ps();
            _mm512_storeu_ps(y + i, norm16(_mm512_loadu_ps(x + i), mv, dv, r, _mm512_loadu_ps(a->gamma + i), b));
        }
        if (i < D) {
            size_t n = D - i;
            __m512 b = a->beta ? ck512_load_tail(a->beta + i, n) : _mm512_setzero_ps();
            ck512_store_tail(y + i, norm16(ck512_load_tail(x + i, n), mv, dv, r, ck512_load_tail(a->gamma + i, n), b),
                             n);
        }
    }
}

int ck_avx512_f32_layernorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    size_t grain = a->D >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / a->D;
    ck512_parallel(ctx, a->T, grain, layernorm_rows, (void *)a);
    return CK_OK;
}
