/* The GEMM behind linear and qkv (f32, bf16 or f16 weights): y = x . W^T (+ b).
 *
 * BLIS-style: the work is cut into blocks of up to GEMM_NB output columns
 * (and, when there are too few of those to feed every thread, of input rows);
 * each block walks K in steps of GEMM_KC. For every K step the block's slice
 * of W is packed (16-bit weights widened exactly) into the thread's scratch as panels of
 * 16 columns, k-major, so that the micro-kernel reads it contiguously; the
 * 256 KiB slice stays in L2 while every 6-row tile of x (6 KiB of a K step,
 * in L1, read in place) is multiplied against each panel by a 6x16
 * register-blocked FMA micro-kernel (12 accumulators, 2 panel loads and 6
 * broadcasts per k).
 *
 * Every output element is the same chain of FMAs in k order whatever the
 * blocking: one chain per K step, the steps added in order, then the bias.
 * So results do not depend on the thread count or on how work is split. */
#include "avx2-helpers.h"

#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_KC 256
#define GEMM_MAX_PANELS 16 /* GEMM_NB = 256 columns per block */

typedef struct gemm_job {
    const ck_exec_ctx *ctx;
    const avx2_linear_problem *p;
    size_t panels_per_block, n_nblocks;
    size_t rows_per_tblock;
    size_t scratch_bytes;
} gemm_job;

/* Eight rows r[0..8) become eight columns: out[k] = (r0[k], ..., r7[k]),
 * stored at dst + k * GEMM_NR. */
static inline void transpose8_store(const __m256 r[8], float *dst)
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_store_ps(dst + 0 * GEMM_NR, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_store_ps(dst + 1 * GEMM_NR, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_store_ps(dst + 2 * GEMM_NR, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_store_ps(dst + 3 * GEMM_NR, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_store_ps(dst + 4 * GEMM_NR, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_store_ps(dst + 5 * GEMM_NR, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_store_ps(dst + 6 * GEMM_NR, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_store_ps(dst + 7 * GEMM_NR, _mm256_permute2f128_ps(s3, s7, 0x31));
}

/* dst[k][j] = w[n0 + j][k0 + k] for j < nv, 0 for nv <= j < 16: a full
 * panel goes through 8x8 register transposes (16-bit types widened on load), the
 * ragged last k columns and a partial last panel element by element. */
static void pack_w_panel(const avx2_linear_problem *p, size_t n0, size_t nv, size_t k0, size_t kc, float *dst)
{
    size_t k = 0;
    if (nv == GEMM_NR) {
        for (; k + 8 <= kc; k += 8) {
            for (size_t half = 0; half < 2; half++) {
                __m256 r[8];
                for (size_t i = 0; i < 8; i++)
                    r[i] = avx2_load_w8(p->w, p->w_dtype, (n0 + half * 8 + i) * p->K + k0 + k);
                transpose8_store(r, dst + k * GEMM_NR + half * 8);
            }
        }
    }
    for (; k < kc; k++)
        for (size_t j = 0; j < GEMM_NR; j++)
            dst[k * GEMM_NR + j] = j < nv ? avx2_w_at(p->w, p->w_dtype, (n0 + j) * p->K + k0 + k) : 0.0f;
}

/* Writes one accumulated row of up to 16 outputs: y = (first ? 0 : y) + acc,
 * then + bias when bias is given (the last K step). */
static inline void store_row(float *y, __m256 acc0, __m256 acc1, size_t nr, int first, const float *bias)
{
    if (nr == GEMM_NR) {
        if (!first) {
            acc0 = _mm256_add_ps(_mm256_loadu_ps(y), acc0);
            acc1 = _mm256_add_ps(_mm256_loadu_ps(y + 8), acc1);
        }
        if (bias) {
            acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(bias));
            acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(bias + 8));
        }
        _mm256_storeu_ps(y, acc0);
        _mm256_storeu_ps(y + 8, acc1);
        return;
    }
    __m256i m0 = avx2_tail_mask(nr < 8 ? nr : 8);
    __m256i m1 = avx2_tail_mask(nr > 8 ? nr - 8 : 0);
    if (!first) {
        acc0 = _mm256_add_ps(_mm256_maskload_ps(y, m0), acc0);
        acc1 = _mm256_add_ps(_mm256_maskload_ps(y + 8, m1), acc1);
    }
    if (bias) {
        acc0 = _mm256_add_ps(acc0, _mm256_maskload_ps(bias, m0));
        acc1 = _mm256_add_ps(acc1, _mm256_maskload_ps(bias + 8, m1));
    }
    _mm256_maskstore_ps(y, m0, acc0);
    _mm256_maskstore_ps(y + 8, m1, acc1);
}

/* The 6x16 micro-kernel: x rows are read in place (row i at x + i * ldx,
 * rows past mr repeat the last one), b is a packed W panel [kc][16]; rows
 * >= mr and columns >= nr are computed but not stored. */
static void micro_6x16(size_t kc, const float *x, size_t ldx, const float *b, float *y, size_t ldy, size_t mr,
                       size_t nr, int first, const float *bias)
{
    const float *x0 = x, *x1 = x + (mr > 1 ? 1 : 0) * ldx, *x2 = x + (mr > 2 ? 2 : mr - 1) * ldx;
    const float *x3 = x + (mr > 3 ? 3 : mr - 1) * ldx, *x4 = x + (mr > 4 ? 4 : mr - 1) * ldx;
    const float *x5 = x + (mr > 5 ? 5 : mr - 1) * ldx;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 a0 = _mm256_broadcast_ss(x0 + k), a1 = _mm256_broadcast_ss(x1 + k);
        c00 = _mm256_fmadd_ps(a0, b0, c00);
        c01 = _mm256_fmadd_ps(a0, b1, c01);
        c10 = _mm256_fmadd_ps(a1, b0, c10);
        c11 = _mm256_fmadd_ps(a1, b1, c11);
        __m256 a2 = _mm256_broadcast_ss(x2 + k), a3 = _mm256_broadcast_ss(x3 + k);
        c20 = _mm256_fmadd_ps(a2, b0, c20);
        c21 = _mm256_fmadd_ps(a2, b1, c21);
        c30 = _mm256_fmadd_ps(a3, b0, c30);
        c31 = _mm256_fmadd_ps(a3, b1, c31);
        __m256 a4 = _mm256_broadcast_ss(x4 + k), a5 = _mm256_broadcast_ss(x5 + k);
        c40 = _mm256_fmadd_ps(a4, b0, c40);
        c41 = _mm256_fmadd_ps(a4, b1, c41);
        c50 = _mm256_fmadd_ps(a5, b0, c50);
        c51 = _mm256_fmadd_ps(a5, b1, c51);
        b += GEMM_NR;
    }
    store_row(y, c00, c01, nr, first, bias);
    if (mr > 1)
        store_row(y + ldy, c10, c11, nr, first, bias);
    if (mr > 2)
        store_row(y + 2 * ldy, c20, c21, nr, first, bias);
    if (mr > 3)
        store_row(y + 3 * ldy, c30, c31, nr, first, bias);
    if (mr > 4)
        store_row(y + 4 * ldy, c40, c41, nr, first, bias);
    if (mr > 5)
        store_row(y + 5 * ldy, c50, c51, nr, first, bias);
}

/* One block: columns [n0, n1), rows [t0, t1), all of K. */
static void gemm_block(const gemm_job *j, size_t n0, size_t n1, size_t t0, size_t t1, float *wpack)
{
    const avx2_linear_problem *p = j->p;
    size_t panels = (n1 - n0 + GEMM_NR - 1) / GEMM_NR;
    for (size_t k0 = 0; k0 < p->K; k0 += GEMM_KC) {
        size_t kc = p->K - k0 < GEMM_KC ? p->K - k0 : GEMM_KC;
        int first = k0 == 0, last = k0 + kc == p->K;
        for (size_t q = 0; q < panels; q++) {
            size_t nq = n0 + q * GEMM_NR;
            pack_w_panel(p, nq, n1 - nq < GEMM_NR ? n1 - nq : GEMM_NR, k0, kc, wpack + q * kc * GEMM_NR);
        }
        for (size_t t = t0; t < t1; t += GEMM_MR) {
            size_t mr = t1 - t < GEMM_MR ? t1 - t : GEMM_MR;
            for (size_t q = 0; q < panels; q++) {
                size_t nq = n0 + q * GEMM_NR;
                size_t nr = n1 - nq < GEMM_NR ? n1 - nq : GEMM_NR;
                const float *bias = last && p->bias ? p->bias + nq : NULL;
                micro_6x16(kc, p->x + t * p->K + k0, p->K, wpack + q * kc * GEMM_NR, p->y + t * p->ldy + nq, p->ldy, mr,
                           nr, first, bias);
            }
        }
    }
}

static void gemm_items(void *arg, size_t begin, size_t end, int tid)
{
    const gemm_job *j = arg;
    const avx2_linear_problem *p = j->p;
    float *wpack = j->ctx->scratch(j->ctx, tid, j->scratch_bytes);
    size_t nb_cols = j->panels_per_block * GEMM_NR;
    for (size_t item = begin; item < end; item++) {
        size_t nb = item % j->n_nblocks, tb = item / j->n_nblocks;
        size_t n0 = nb * nb_cols, n1 = n0 + nb_cols < p->N ? n0 + nb_cols : p->N;
        size_t t0 = tb * j->rows_per_tblock;
        size_t t1 = t0 + j->rows_per_tblock < p->T ? t0 + j->rows_per_tblock : p->T;
        gemm_block(j, n0, n1, t0, t1, wpack);
    }
}

int avx2_gemm(const ck_exec_ctx *ctx, const avx2_linear_problem *p)
{
    size_t nt = ctx->n_threads > 0 ? (size_t)ctx->n_threads : 1;
    size_t panels = (p->N + GEMM_NR - 1) / GEMM_NR;
    /* About two column blocks per thread, each at most GEMM_MAX_PANELS wide. */
    size_t ppb = (panels + 2 * nt - 1) / (2 * nt);
    ppb = ppb < 1 ? 1 : ppb > GEMM_MAX_PANELS ? GEMM_MAX_PANELS : ppb;
    gemm_job j = {ctx, p, ppb, (panels + ppb - 1) / ppb, p->T, 0};
    /* Too few column blocks for the threads: cut the rows too (in whole
     * micro-tiles; each row block packs its own copy of the W slice). */
    if (j.n_nblocks < 2 * nt && p->T >= 8 * GEMM_MR) {
        size_t want = (2 * nt + j.n_nblocks - 1) / j.n_nblocks;
        size_t rows = (p->T + want - 1) / want;
        rows = (rows + GEMM_MR - 1) / GEMM_MR * GEMM_MR;
        j.rows_per_tblock = rows < 4 * GEMM_MR ? 4 * GEMM_MR : rows;
    }
    size_t n_tblocks = (p->T + j.rows_per_tblock - 1) / j.rows_per_tblock;
    j.scratch_bytes = GEMM_KC * GEMM_NR * ppb * sizeof(float);
    if (avx2_reserve_scratch(ctx, j.scratch_bytes) != 0)
        return CK_E_NOMEM;
    avx2_parallel(ctx, j.n_nblocks * n_tblocks, 1, gemm_items, &j);
    return CK_OK;
}
