/* f32-rmsnorm/avx512: y = x * (1 / sqrt(mean(x^2) + eps)) * gamma per row.
 * The sum of squares uses four zmm accumulators (f32, FMA); the row is then
 * read a second time from cache, so memory sees one pass. Rows are split
 * across threads; y may alias x. A large y is written with streaming
 * stores (CK512_STREAM_BYTES); when its rows are 64-byte aligned, the sum
 * of the next row is taken in the loop that scales this one (why: at
 * rmsnorm_rows_piped), else the next row is prefetched during the second
 * pass. */
#include <math.h>
#include <stdint.h>

#include "avx512-helpers.h"
#include "avx512-kernels.h"

static float sum_squares(const float *x, size_t D)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= D; i += 64) {
        __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        __m512 c = _mm512_loadu_ps(x + i + 32), d = _mm512_loadu_ps(x + i + 48);
        s0 = _mm512_fmadd_ps(a, a, s0);
        s1 = _mm512_fmadd_ps(b, b, s1);
        s2 = _mm512_fmadd_ps(c, c, s2);
        s3 = _mm512_fmadd_ps(d, d, s3);
    }
    for (; i < D; i += 16) {
        __m512 a = ck512_load_tail(x + i, D - i);
        s0 = _mm512_fmadd_ps(a, a, s0);
    }
    return ck512_hsum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

#define NORM16(p, k) _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps((p) + (k)), r), _mm512_loadu_ps(g + (k)))

/* y = x * r * g with streaming stores (y 64-byte aligned, D a multiple of
 * 16), taking in the same loop the sum of squares of the next row xn in
 * sum_squares' order (the same bits; 0 without xn), and prefetching the row
 * after it, xnn, into L2. */
static float scale_row_sum_next(const float *x, const float *g, __m512 r, float *y, size_t D, const float *xn,
                                const float *xnn)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= D; i += 64) {
        if (xnn)
            for (size_t k = 0; k < 64; k += 16)
                _mm_prefetch((const char *)(xnn + i + k), _MM_HINT_T1);
        if (xn) {
            __m512 a = _mm512_loadu_ps(xn + i), b = _mm512_loadu_ps(xn + i + 16);
            __m512 c = _mm512_loadu_ps(xn + i + 32), d = _mm512_loadu_ps(xn + i + 48);
            s0 = _mm512_fmadd_ps(a, a, s0);
            s1 = _mm512_fmadd_ps(b, b, s1);
            s2 = _mm512_fmadd_ps(c, c, s2);
            s3 = _mm512_fmadd_ps(d, d, s3);
        }
        for (size_t k = 0; k < 64; k += 16)
            _mm512_stream_ps(y + i + k, NORM16(x, i + k));
    }
    for (; i < D; i += 16) {
        if (xn) {
            __m512 a = _mm512_loadu_ps(xn + i);
            s0 = _mm512_fmadd_ps(a, a, s0);
        }
        _mm512_stream_ps(y + i, NORM16(x, i));
    }
    return ck512_hsum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}
#undef NORM16

/* Rows [begin, end) of a streamed, aligned y as one software pipeline: the
 * DRAM read of row t + 1 runs in the same loop as the streaming stores of
 * row t, where the two-pass loop below reads a row (prefetched in a burst)
 * and then writes one. Cold T = 2048, D = 4096, calls of the two
 * alternated in one process, ~400 runs on this VM: 1.09x the two-pass
 * loop's median on 1 thread, 1.11x on 2. */
static void rmsnorm_rows_piped(const ck_norm_args *a, size_t begin, size_t end)
{
    const size_t D = a->D;
    float ss = sum_squares(a->x + begin * D, D);
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        __m512 r = _mm512_set1_ps(1.0f / sqrtf(ss / (float)D + a->eps));
        ss = scale_row_sum_next(x, a->gamma, r, a->y + t * D, D, t + 1 < end ? x + D : NULL,
                                t + 2 < end ? x + 2 * D : NULL);
    }
    _mm_sfence();
}

static void rmsnorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_norm_args *a = arg;
    (void)tid;
    const size_t D = a->D;
    if (ck512_stream_out(a->T * D) && D % 16 == 0 && ((uintptr_t)a->y & 63) == 0) {
        rmsnorm_rows_piped(a, begin, end);
        return;
    }
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        float *y = a->y + t * D;
        /* While this row is scaled from cache, pull the next one in, so the
         * memory system is busy in both passes. */
        const char *next = (const char *)(t + 1 < end ? x + D : x);
        __m512 r = _mm512_set1_ps(1.0f / sqrtf(sum_squares(x, D) / (float)D + a->eps));
        if (ck512_stream_out(a->T * D)) {
            for (size_t b = 0; b < D * sizeof(float); b += 64)
                _mm_prefetch(next + b, _MM_HINT_T0);
#define NORM16(k, m)                                                                                                   \
    _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + (k)), r), _mm512_maskz_loadu_ps(m, a->gamma + (k)))
            CK512_ELEMWISE_RANGE(y, 0, D, 1, NORM16);
#undef NORM16
            continue;
        }
        size_t i = 0;
        for (; i + 16 <= D; i += 16) {
            _mm_prefetch(next + i * sizeof(float), _MM_HINT_T0);
            _mm512_storeu_ps(y + i,
                             _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), r), _mm512_loadu_ps(a->gamma + i)));
        }
        if (i < D) {
            __m512 v =
                _mm512_mul_ps(_mm512_mul_ps(ck512_load_tail(x + i, D - i), r), ck512_load_tail(a->gamma + i, D - i));
            ck512_store_tail(y + i, v, D - i);
        }
    }
}

int ck_avx512_f32_rmsnorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->T == 0 || a->D == 0)
        return CK_OK;
    size_t grain = a->D >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / a->D;
    ck512_parallel(ctx, a->T, grain, rmsnorm_rows, (void *)a);
    return CK_OK;
}
