/* The small-T (decode, T == 1, and short prompts: T < AVX2_MATVEC_MAX_T)
 * path of linear and qkv: y[t][n] = dot(x[t], w[n]) (+ bias[n]). Bandwidth
 * bound on the weights, so each weight row is read from memory once, four
 * rows at a time against the same slice of x (which stays in L1), with two
 * accumulators per row to hide the FMA latency; each further row of x reads
 * the four W rows again from L2. Row t of a T-row call is the same sum as a
 * call with that row alone.
 *
 * The four rows of block b are b, b + nb, b + 2 nb, b + 3 nb (nb = N / 4
 * rounded up), so that each stream runs on into the next row where the
 * last ended, as avx512's matvec does (matvec-avx512.h): four adjacent rows
 * made each block start four new streams. The blocks are split over the
 * threads, each thread's share contiguous.
 *
 * A row's sum is the same whether it is done in a group of four or alone:
 * accumulator 0 takes k-slices 0, 2, 4... of 8, accumulator 1 the odd ones
 * and the masked tail, then the two are added and reduced. */
#include "avx2-helpers.h"

#define MV_ROWS 4

typedef struct matvec_job {
    const avx2_linear_problem *p;
} matvec_job;

static inline __m256 load_w(const avx2_linear_problem *p, size_t n, size_t k)
{
    return avx2_load_w8(p->w, p->w_dtype, n * p->K + k);
}

static inline __m256 load_w_tail(const avx2_linear_problem *p, size_t n, size_t k, size_t r, __m256i mask)
{
    if (p->w_dtype == CK_DTYPE_F32) /* the mask is already at hand */
        return _mm256_maskload_ps((const float *)p->w + n * p->K + k, mask);
    return avx2_load_w_tail(p->w, p->w_dtype, n * p->K + k, r);
}

/* Rows n, n + st, ... (rows <= MV_ROWS of them) against x; the inner loops
 * over r unroll. */
static inline void dot_rows(const avx2_linear_problem *p, const float *x, size_t n, size_t st, size_t rows, float *out)
{
    __m256 acc0[MV_ROWS], acc1[MV_ROWS];
    for (size_t r = 0; r < MV_ROWS; r++)
        acc0[r] = acc1[r] = _mm256_setzero_ps();
    size_t k = 0, K = p->K;
    for (; k + 16 <= K; k += 16) {
        __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        for (size_t r = 0; r < rows; r++) {
            acc0[r] = _mm256_fmadd_ps(x0, load_w(p, n + r * st, k), acc0[r]);
            acc1[r] = _mm256_fmadd_ps(x1, load_w(p, n + r * st, k + 8), acc1[r]);
        }
    }
    if (k + 8 <= K) {
        __m256 x0 = _mm256_loadu_ps(x + k);
        for (size_t r = 0; r < rows; r++)
            acc0[r] = _mm256_fmadd_ps(x0, load_w(p, n + r * st, k), acc0[r]);
        k += 8;
    }
    if (k < K) {
        __m256i mask = avx2_tail_mask(K - k);
        __m256 x1 = _mm256_maskload_ps(x + k, mask);
        for (size_t r = 0; r < rows; r++)
            acc1[r] = _mm256_fmadd_ps(x1, load_w_tail(p, n + r * st, k, K - k, mask), acc1[r]);
    }
    for (size_t r = 0; r < rows; r++)
        out[r] = avx2_hsum_ps(_mm256_add_ps(acc0[r], acc1[r]));
}

static void matvec_rows(void *arg, size_t begin, size_t end, int tid)
{
    const avx2_linear_problem *p = ((const matvec_job *)arg)->p;
    (void)tid;
    const size_t nb = (p->N + MV_ROWS - 1) / MV_ROWS;
    float sums[MV_ROWS];
    for (size_t b = begin; b < end; b++) {
        size_t rows = 1; /* block b: rows b, b + nb, ... below N */
        while (rows < MV_ROWS && b + rows * nb < p->N)
            rows++;
        for (size_t t = 0; t < p->T; t++) {
            const float *x = p->x + t * p->K;
            if (rows == MV_ROWS)
                dot_rows(p, x, b, nb, MV_ROWS, sums);
            else
                for (size_t r = 0; r < rows; r++)
                    dot_rows(p, x, b + r * nb, 1, 1, sums + r);
            float *y = p->y + t * p->ldy;
            for (size_t r = 0; r < rows; r++)
                y[b + r * nb] = p->bias ? sums[r] + p->bias[b + r * nb] : sums[r];
        }
    }
}

int avx2_matvec(const ck_exec_ctx *ctx, const avx2_linear_problem *p)
{
    matvec_job j = {p};
    /* Chunks of at least 16 blocks keep the per-chunk overhead small next
     * to 64 weight rows. */
    avx2_parallel(ctx, (p->N + MV_ROWS - 1) / MV_ROWS, 16, matvec_rows, &j);
    return CK_OK;
}
