/* f32-matvec/avx512: the small-T linear path, y[t][n] = dot(x[t], w[n])
 * (+ bias[n]) for T < CK512_MATVEC_MAX_T. Memory-bound on W: four W rows at
 * a time are streamed once, each dotted with every row of x (which stays in
 * L1/L2). Split over blocks of rows of W. */
#include "avx512-helpers.h"
#include "gemm-avx512.h"

#define ROWS 4

typedef struct matvec_job {
    const float *x, *w, *bias;
    float *y;
    size_t T, K, N;
} matvec_job;

static void dot_rows(const matvec_job *j, size_t n, size_t rows)
{
    const size_t K = j->K;
    const float *w[ROWS];
    for (size_t r = 0; r < ROWS; r++)
        w[r] = j->w + (n + (r < rows ? r : 0)) * K; /* a short block repeats row n */
    for (size_t t = 0; t < j->T; t++) {
        const float *x = j->x + t * K;
        __m512 acc[ROWS] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        size_t k = 0;
        for (; k + 16 <= K; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            for (size_t r = 0; r < ROWS; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(w[r] + k), xv, acc[r]);
        }
        if (k < K) {
            __mmask16 m = ck512_mask(K - k);
            __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
            for (size_t r = 0; r < ROWS; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w[r] + k), xv, acc[r]);
        }
        for (size_t r = 0; r < rows; r++)
            j->y[t * j->N + n + r] = ck512_hsum(acc[r]) + (j->bias ? j->bias[n + r] : 0.0f);
    }
}

static void matvec_blocks(void *arg, size_t begin, size_t end, int tid)
{
    const matvec_job *j = arg;
    (void)tid;
    for (size_t b = begin; b < end; b++) {
        size_t n = b * ROWS;
        dot_rows(j, n, j->N - n < ROWS ? j->N - n : ROWS);
    }
}

void ck512_matvec_f32(const ck_exec_ctx *ctx, const float *x, const float *w, const float *bias, float *y,
                      size_t T, size_t K, size_t N)
{
    matvec_job j = {x, w, bias, y, T, K, N};
    size_t grain = K >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / (K * ROWS) + 1;
    ck512_parallel(ctx, (N + ROWS - 1) / ROWS, grain, matvec_blocks, &j);
}
