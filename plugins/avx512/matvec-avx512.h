/* matvec-avx512.h — the small-T linear path, y[t][n] = dot(x[t], w[n])
 * (+ bias[n]) for T < CK512_MATVEC_MAX_T, written once for every weight
 * dtype. Memory-bound on W: four W rows at a time are streamed once,
 * converted exactly to f32 by the dtype's loader, and each is dotted with
 * every row of x (which stays in L1/L2). Split over blocks of W rows.
 *
 * Decode (T = 1) reads one W row at a time, two accumulator chains, so W
 * is read in address order: four rows side by side are four streams 4-28
 * KiB apart, which this machine's prefetchers serve at a fraction of one
 * stream's rate (bf16 4096 x 4096 from DRAM, one thread: 1.41 ms four rows
 * at a time, 1.04 ms one row; f32 level at 1.7 ms; a software prefetch
 * ahead of the row made f32 slower). */
#ifndef CK_MATVEC_AVX512_H
#define CK_MATVEC_AVX512_H

#include "avx512-helpers.h"
#include "gemm-avx512.h"

#define CK512_MATVEC_ROWS 4
/* T = 1 and K up to this: one row at a time (x, 4K bytes, stays in L1). */
#define CK512_MATVEC_ROW1_MAX_K 6144
#define CK512_MATVEC_R1 1
/* Bytes ahead of the row read that the one-row path prefetches, non-temporal
 * so that W does not push x out of L1. */
#define CK512_MATVEC_PF 4096
#define CK512_MATVEC_HINT _MM_HINT_NTA

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
    static void fn##_row1(const fn##_job *j, size_t n, size_t rows)                                                    \
    {                                                                                                                  \
        const size_t K = j->K;                                                                                         \
        for (size_t r0 = 0; r0 < rows; r0 += CK512_MATVEC_R1) {                                                        \
            __m512 a0[CK512_MATVEC_R1], a1[CK512_MATVEC_R1];                                                           \
            const WT *w[CK512_MATVEC_R1];                                                                              \
            for (size_t r = 0; r < CK512_MATVEC_R1; r++) {                                                             \
                a0[r] = a1[r] = _mm512_setzero_ps();                                                                   \
                w[r] = j->w + (n + (r0 + r < rows ? r0 + r : r0)) * K;                                                 \
            }                                                                                                          \
            size_t k = 0;                                                                                              \
            for (; k + 32 <= K; k += 32) {                                                                             \
                __m512 x0 = _mm512_loadu_ps(j->x + k), x1 = _mm512_loadu_ps(j->x + k + 16);                            \
                for (size_t r = 0; r < CK512_MATVEC_R1; r++)                                                           \
                    for (size_t b = 0; b < 32 * sizeof(WT); b += 64)                                                   \
                        _mm_prefetch((const char *)(w[r] + k) + CK512_MATVEC_PF + b, CK512_MATVEC_HINT);               \
                for (size_t r = 0; r < CK512_MATVEC_R1; r++) {                                                         \
                    a0[r] = _mm512_fmadd_ps(LOAD16(w[r] + k), x0, a0[r]);                                              \
                    a1[r] = _mm512_fmadd_ps(LOAD16(w[r] + k + 16), x1, a1[r]);                                         \
                }                                                                                                      \
            }                                                                                                          \
            for (; k < K; k += 16) {                                                                                   \
                size_t m = K - k < 16 ? K - k : 16;                                                                    \
                __m512 x0 = ck512_load_tail(j->x + k, m);                                                              \
                for (size_t r = 0; r < CK512_MATVEC_R1; r++)                                                           \
                    a0[r] = _mm512_fmadd_ps(m == 16 ? LOAD16(w[r] + k) : LOADN(w[r] + k, m), x0, a0[r]);               \
            }                                                                                                          \
            for (size_t r = 0; r < CK512_MATVEC_R1 && r0 + r < rows; r++)                                              \
                j->y[n + r0 + r] = ck512_hsum(_mm512_add_ps(a0[r], a1[r])) + (j->bias ? j->bias[n + r0 + r] : 0.0f);   \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    static void fn##_blocks(void *arg, size_t begin, size_t end, int tid)                                              \
    {                                                                                                                  \
        const fn##_job *j = arg;                                                                                       \
        (void)tid;                                                                                                     \
        for (size_t b = begin; b < end; b++) {                                                                         \
            size_t n = b * CK512_MATVEC_ROWS;                                                                          \
            size_t rows = j->N - n < CK512_MATVEC_ROWS ? j->N - n : CK512_MATVEC_ROWS;                                 \
            if (j->T == 1 && j->K <= CK512_MATVEC_ROW1_MAX_K)                                                          \
                fn##_row1(j, n, rows);                                                                                 \
            else                                                                                                       \
                fn##_rows(j, n, rows);                                                                                 \
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
