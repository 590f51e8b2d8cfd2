/* matvec-avx512.h — the small-T linear path, y[t][n] = dot(x[t], w[n])
 * (+ bias[n]) for T < CK512_MATVEC_MAX_T, written once for every weight
 * dtype. Memory-bound on W, which is read exactly once, converted exactly to
 * f32 by the dtype's loader. Split over blocks of 4 W rows.
 *
 * Decode (T = 1) of 16-bit weights with x in L1 (K <= ROW1_MAX_K, 6144):
 * one W row at a time, so W is read in address order: four rows side by
 * side are four streams 8-28 KiB apart, which this machine's prefetchers
 * serve at a fraction of one stream's rate (bf16 4096 x 4096 from DRAM, one
 * thread: 26 GB/s four rows at a time, 32 one row, a plain read 40).
 *
 * Everything else takes four rows side by side, each x vector loaded once
 * for the four: 16-bit weights at longer K (mlp_down's 14336: x is 56 KiB,
 * past L1; one row at a time reads x from L2 twice per bf16 W byte and ran
 * at 23 GB/s where four rows ran at 26 and a plain read at 36-39), T = 2, 3,
 * and f32 at every K (four f32 rows read 36.5 GB/s at K = 4096 where one
 * row read 34, and 39 of a plain read's 40 at K = 14336).
 *
 * The four rows of block b are b, b + nb, b + 2 nb, b + 3 nb (nb = N / 4
 * rounded up), so that each of the four streams goes on into the next row
 * where the last one ended: with four adjacent rows per block, every block
 * started four new streams, each 28 KiB long at K = 14336 bf16, and the
 * prefetchers ramped up again each time. One thread, 14336 x 4096 from DRAM
 * on huge pages, variants interleaved in one process (21 calls each,
 * medians): bf16 31.6-34.1 -> 33.0-39.6 GB/s, f16 25.7-26.7 -> 33.3-34.7,
 * a plain read 36.7-41.0. A thread's share of blocks is contiguous, so
 * each thread has four streams of its own.
 *
 * Both loops keep 8 accumulator chains in flight (one row: 4 chains of 16;
 * four rows: 2 each): with 2 or 4 chains the FMA latency bounded bf16 at
 * 73-77 GB/s from L2, little above what two threads ask of each core from
 * DRAM, so a late line stalled the loop; 4 chains reach 106. Sums do not
 * depend on the split: each row's order is fixed by K alone.
 *
 * Software prefetch (non-temporal, so that W does not push x out of L1) is
 * a per-dtype choice, PF1 / PF4 bytes ahead of each row on the one- and the
 * four-row loop (0: none): it lifted bf16 and f16 at K = 14336 from 25-27 to
 * 28-29 GB/s and made f32 slower on both loops, where the hardware
 * prefetchers alone keep up (one thread, the same minute, interleaved).
 *
 * All of the above was measured on Zen 5. On Zen 4 (ck_avx512_prefetch_l2,
 * plugins/shared/ck_prefetch_level.h) the four-row loop prefetches PF4_L2
 * bytes ahead into L2 (T1) for every dtype, and 16-bit decode takes it at
 * every K: there the one-row loop ran at 11 GB/s against a plain read of
 * 29 (its widening shuffles run at half rate, and one stream with
 * arithmetic between its lines kept too few lines in flight), the
 * four-row pairs loop at 20-22 with NTA and 22-24 with T1 2 KiB ahead
 * (1-8 KiB and T2 alike within noise); f32's four rows 24 without
 * prefetch, 27-29 with T1 1 KiB ahead (the same minute, interleaved in
 * one process, 14336 x 4096 and 4096 x 4096 on huge pages). */
#ifndef CK_MATVEC_AVX512_H
#define CK_MATVEC_AVX512_H

#include "avx512-helpers.h"
#include "avx512-kernels.h"
#include "gemm-avx512.h"

#define CK512_MATVEC_ROWS 4
/* The most K of a 16-bit dtype's one-row path: x, 4K bytes, stays in L1. */
#define CK512_MATVEC_ROW1_MAX_K 6144

#define CK512_MATVEC_PREFETCH(p, dist, dist_l2, l2, b)                                                                 \
    do {                                                                                                               \
        if (l2) {                                                                                                      \
            if (dist_l2)                                                                                               \
                _mm_prefetch((const char *)(p) + (dist_l2) + (b), _MM_HINT_T1);                                        \
        } else if (dist)                                                                                               \
            _mm_prefetch((const char *)(p) + (dist) + (b), _MM_HINT_NTA);                                              \
    } while (0)

/* x [K] split per 32 elements into its 16 even then its 16 odd ones (the
 * order of a bf16 W pair loop), up to the last whole 32. */
static inline void ck512_matvec_pair_x(float *xe, const float *x, size_t K)
{
    for (size_t c = 0; c + 32 <= K; c += 32)
        for (size_t i = 0; i < 16; i++) {
            xe[c + i] = x[c + 2 * i];
            xe[c + 16 + i] = x[c + 2 * i + 1];
        }
}

/* Defines `void fn(ctx, x, w, bias, y, T, K, N)` for weights of type WT,
 * loaded 16 at a time by LOAD16(p) and LOADN(p, n) (n < 16, zero filled);
 * T = 1 takes the one-row loop for K up to ROW1_MAX_K (none at L2); PF1,
 * PF4 and PF4_L2 as above. PAIRS (bf16 only): decode beyond ROW1_MAX_K loads W 64 bytes at a
 * time and splits each 32-bit pair into its two f32 (shift, mask) against
 * an x split the same way (ck512_matvec_pair_x, in thread 0's scratch):
 * one load and two integer ops per 32 weights instead of two widening
 * loads and two shifts, 33-34 GB/s at K = 14336 on one thread where the
 * widening loop read 31 (the same minute, interleaved). */
#define CK512_DEFINE_MATVEC(fn, WT, LOAD16, LOADN, ROW1_MAX_K, PF1, PF4, PF4_L2, PAIRS)                                \
    typedef struct fn##_job {                                                                                          \
        const float *x, *bias;                                                                                         \
        const WT *w;                                                                                                   \
        float *y;                                                                                                      \
        size_t T, K, N;                                                                                                \
        const float *xe;   /* x by ck512_matvec_pair_x, or NULL */                                                     \
        size_t row1_max_k; /* ROW1_MAX_K, or 0 on L2-prefetch CPUs */                                                  \
        int l2;            /* ck_avx512_prefetch_l2 */                                                                 \
    } fn##_job;                                                                                                        \
                                                                                                                       \
    static void fn##_rows(const fn##_job *j, size_t n, size_t rows, size_t st)                                         \
    {                                                                                                                  \
        const size_t K = j->K;                                                                                         \
        const WT *w[CK512_MATVEC_ROWS];                                                                                \
        for (size_t r = 0; r < CK512_MATVEC_ROWS; r++) /* a short block repeats row n */                               \
            w[r] = j->w + (n + (r < rows ? r : 0) * st) * K;                                                           \
        for (size_t t = 0; t < j->T; t++) {                                                                            \
            const float *x = j->x + t * K;                                                                             \
            __m512 a[CK512_MATVEC_ROWS], b[CK512_MATVEC_ROWS];                                                         \
            for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                             \
                a[r] = b[r] = _mm512_setzero_ps();                                                                     \
            size_t k = 0;                                                                                              \
            for (; k + 32 <= K; k += 32) {                                                                             \
                __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);                                  \
                for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                         \
                    for (size_t q = 0; q < 32 * sizeof(WT); q += 64)                                                   \
                        CK512_MATVEC_PREFETCH(w[r] + k, PF4, PF4_L2, j->l2, q);                                        \
                for (size_t r = 0; r < CK512_MATVEC_ROWS; r++) {                                                       \
                    a[r] = _mm512_fmadd_ps(LOAD16(w[r] + k), x0, a[r]);                                                \
                    b[r] = _mm512_fmadd_ps(LOAD16(w[r] + k + 16), x1, b[r]);                                           \
                }                                                                                                      \
            }                                                                                                          \
            for (; k < K; k += 16) {                                                                                   \
                size_t m = K - k < 16 ? K - k : 16;                                                                    \
                __m512 xv = ck512_load_tail(x + k, m);                                                                 \
                for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                         \
                    a[r] = _mm512_fmadd_ps(m == 16 ? LOAD16(w[r] + k) : LOADN(w[r] + k, m), xv, a[r]);                 \
            }                                                                                                          \
            for (size_t r = 0; r < rows; r++)                                                                          \
                j->y[t * j->N + n + r * st] =                                                                          \
                    ck512_hsum(_mm512_add_ps(a[r], b[r])) + (j->bias ? j->bias[n + r * st] : 0.0f);                    \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    static void fn##_row1(const fn##_job *j, size_t n, size_t rows)                                                    \
    {                                                                                                                  \
        const size_t K = j->K;                                                                                         \
        const float *x = j->x;                                                                                         \
        for (size_t r = 0; r < rows; r++) {                                                                            \
            const WT *w = j->w + (n + r) * K;                                                                          \
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                                \
            size_t k = 0;                                                                                              \
            for (; k + 64 <= K; k += 64) {                                                                             \
                for (size_t q = 0; q < 64 * sizeof(WT); q += 64)                                                       \
                    CK512_MATVEC_PREFETCH(w + k, PF1, 0, 0, q);                                                        \
                a0 = _mm512_fmadd_ps(LOAD16(w + k), _mm512_loadu_ps(x + k), a0);                                       \
                a1 = _mm512_fmadd_ps(LOAD16(w + k + 16), _mm512_loadu_ps(x + k + 16), a1);                             \
                a2 = _mm512_fmadd_ps(LOAD16(w + k + 32), _mm512_loadu_ps(x + k + 32), a2);                             \
                a3 = _mm512_fmadd_ps(LOAD16(w + k + 48), _mm512_loadu_ps(x + k + 48), a3);                             \
            }                                                                                                          \
            for (; k < K; k += 16) {                                                                                   \
                size_t m = K - k < 16 ? K - k : 16;                                                                    \
                a0 = _mm512_fmadd_ps(m == 16 ? LOAD16(w + k) : LOADN(w + k, m), ck512_load_tail(x + k, m), a0);        \
            }                                                                                                          \
            j->y[n + r] = ck512_hsum(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))) +                    \
                          (j->bias ? j->bias[n + r] : 0.0f);                                                           \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    static void fn##_rows_pairs(const fn##_job *j, size_t n, size_t rows, size_t st)                                   \
    {                                                                                                                  \
        const size_t K = j->K;                                                                                         \
        const __m512i odd = _mm512_set1_epi32((int)0xffff0000u);                                                       \
        const WT *w[CK512_MATVEC_ROWS];                                                                                \
        for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                                 \
            w[r] = j->w + (n + (r < rows ? r : 0) * st) * K;                                                           \
        __m512 a[CK512_MATVEC_ROWS], b[CK512_MATVEC_ROWS];                                                             \
        for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                                 \
            a[r] = b[r] = _mm512_setzero_ps();                                                                         \
        size_t k = 0;                                                                                                  \
        for (; k + 32 <= K; k += 32) {                                                                                 \
            __m512 x0 = _mm512_loadu_ps(j->xe + k), x1 = _mm512_loadu_ps(j->xe + k + 16);                              \
            for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                             \
                for (size_t q = 0; q < 32 * sizeof(WT); q += 64)                                                       \
                    CK512_MATVEC_PREFETCH(w[r] + k, PF4, PF4_L2, j->l2, q);                                            \
            for (size_t r = 0; r < CK512_MATVEC_ROWS; r++) {                                                           \
                __m512i v = _mm512_loadu_si512(w[r] + k);                                                              \
                a[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), x0, a[r]);                       \
                b[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, odd)), x1, b[r]);                       \
            }                                                                                                          \
        }                                                                                                              \
        for (; k < K; k += 16) {                                                                                       \
            size_t m = K - k < 16 ? K - k : 16;                                                                        \
            __m512 xv = ck512_load_tail(j->x + k, m);                                                                  \
            for (size_t r = 0; r < CK512_MATVEC_ROWS; r++)                                                             \
                a[r] = _mm512_fmadd_ps(m == 16 ? LOAD16(w[r] + k) : LOADN(w[r] + k, m), xv, a[r]);                     \
        }                                                                                                              \
        for (size_t r = 0; r < rows; r++)                                                                              \
            j->y[n + r * st] = ck512_hsum(_mm512_add_ps(a[r], b[r])) + (j->bias ? j->bias[n + r * st] : 0.0f);         \
    }                                                                                                                  \
    static void fn##_blocks(void *arg, size_t begin, size_t end, int tid)                                              \
    {                                                                                                                  \
        const fn##_job *j = arg;                                                                                       \
        const size_t nb = (j->N + CK512_MATVEC_ROWS - 1) / CK512_MATVEC_ROWS;                                          \
        (void)tid;                                                                                                     \
        for (size_t b = begin; b < end; b++) {                                                                         \
            if (j->T == 1 && j->K <= j->row1_max_k) {                                                                  \
                size_t n = b * CK512_MATVEC_ROWS;                                                                      \
                fn##_row1(j, n, j->N - n < CK512_MATVEC_ROWS ? j->N - n : CK512_MATVEC_ROWS);                          \
                continue;                                                                                              \
            }                                                                                                          \
            size_t rows = 1; /* block b: rows b, b + nb, b + 2 nb, ... below N */                                      \
            while (rows < CK512_MATVEC_ROWS && b + rows * nb < j->N)                                                   \
                rows++;                                                                                                \
            if (j->xe)                                                                                                 \
                fn##_rows_pairs(j, b, rows, nb);                                                                       \
            else                                                                                                       \
                fn##_rows(j, b, rows, nb);                                                                             \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    void fn(const ck_exec_ctx *ctx, const float *x, const WT *w, const float *bias, float *y, size_t T, size_t K,      \
            size_t N)                                                                                                  \
    {                                                                                                                  \
        fn##_job j = {x, bias, w, y, T, K, N, NULL, ck_avx512_prefetch_l2 ? 0 : (ROW1_MAX_K), ck_avx512_prefetch_l2};  \
        if ((PAIRS) && T == 1 && K > j.row1_max_k) {                                                                   \
            float *xe = ctx->scratch(ctx, 0, K * sizeof(float));                                                       \
            if (xe) { /* else the widening loop */                                                                     \
                ck512_matvec_pair_x(xe, x, K);                                                                         \
                j.xe = xe;                                                                                             \
            }                                                                                                          \
        }                                                                                                              \
        size_t grain = K >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / (K * CK512_MATVEC_ROWS) + 1;                     \
        ck512_parallel(ctx, (N + CK512_MATVEC_ROWS - 1) / CK512_MATVEC_ROWS, grain, fn##_blocks, &j);                  \
    }

#endif /* CK_MATVEC_AVX512_H */
