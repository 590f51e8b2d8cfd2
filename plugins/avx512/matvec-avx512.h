/* matvec-avx512.h — the small-T linear path, y[t][n] = dot(x[t], w[n])
 * (+ bias[n]) for T < CK512_MATVEC_MAX_T, written once for every weight
 * dtype. Memory-bound on W: four W rows at a time are streamed once,
 * converted exactly to f32 by the dtype's loader, and each is dotted with
 * every row of x (which stays in L1/L2). Split over blocks of W rows. */
#ifndef CK_MATVEC_AVX512_H
#define CK_MATVEC_AVX512_H

#include "avx512-helpers.h"
#include "gemm-avx512.h"

#define CK512_MATVEC_ROWS 4

/* Defines `void fn(ctx, x, w, bias, y, T, K, N)` for weights of type WT,
 * loaded 16 at a time by LOAD16(p) and LOADN(p, n) (n < 16, zero filled). */
#define CK512_DEFINE_MATVEC(fn, WT, LOAD16, LOADN)                                                                     \
    typedef struct fn##_job {                                                                                          \
        const float *x, *bias;                                                                                         \
        const WT *w;                                                                                                   \
        float *y;                                                                                                      \
        size_t T, K, N;                                                                                                \
    } fn##_job;                                                                                                        \
                                                                                                                       \
    static void fn##_rows(const fn##_job *j, size_t n, size_t rows)                                                    \
    {                                                                                                                  \
        const size_t K = j->K;                                                                                         \
        const WT *w[CK512_MATVEC_ROWS];                                                                                \
        for (size_t r = 0; r < CK512_MATVEC_ROWS; r++) /* a short block repeats row n */                               \
            w[r] = j->w + (n + (r < rows ? r : 0)) * K;                                                                \
        for (size_t t = 0; t < j->T; t++) {                                                                            \
            const float *x = j->x + t * K;                                                                             \
            __m512 acc[CK512_MATVEC_ROWS];                                                                             \
            for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                             \
                acc[r] = _mm512_setzero_ps();                                                                          \
            size_t k = 0;                                                                                              \
            for (; k + 16 <= K; k += 16) {                                                                             \
                __m512 xv = _mm512_loadu_ps(x + k);                                                                    \
                for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                         \
                    acc[r] = _mm512_fmadd_ps(LOAD16(w[r] + k), xv, acc[r]);                                            \
            }                                                                                                          \
            if (k < K) {                                                                                               \
                __m512 xv = ck512_load_tail(x + k, K - k);                                                             \
                for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                         \
                    acc[r] = _mm512_fmadd_ps(LOADN(w[r] + k, K - k), xv, acc[r]);                                      \
            }                                                                                                          \
            for (size_t r = 0; r < rows; r++)                                                                          \
                j->y[t * j->N + n + r] = ck512_hsum(acc[r]) + (j->bias ? j->bias[n + r] : 0.0f);                       \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    static void fn##_blocks(void *arg, size_t begin, size_t end, int tid)                                              \
    {                                                                                                                  \
        const fn##_job *j = arg;                                                                                       \
        (void)tid;                                                                                                     \
        for (size_t b = begin; b < end; b++) {                                                                         \
            size_t n = b * CK512_MATVEC_ROWS;                                                                          \
            fn##_rows(j, n, j->N - n < CK512_MATVEC_ROWS ? j->N - n : CK512_MATVEC_ROWS);                              \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    void fn(const ck_exec_ctx *ctx, const float *x, const WT *w, const float *bias, float *y, size_t T, size_t K,      \
            size_t N)                                                                                                  \
    {                                                                                                                  \
        fn##_job j = {x, bias, w, y, T, K, N};                                                                         \
        size_t grain = K >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / (K * CK512_MATVEC_ROWS) + 1;                     \
        ck512_parallel(ctx, (N + CK512_MATVEC_ROWS - 1) / CK512_MATVEC_ROWS, grain, fn##_blocks, &j);                  \
    }

#endif /* CK_MATVEC_AVX512_H */
