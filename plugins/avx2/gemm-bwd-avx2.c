/* The GEMM layouts of the avx2 backward kernels (bwd-avx2.h). The
 * gradients of y = x . W^T need dx = dy . W ([T,N] x [N,K]) and
 * dW = dy^T . x ([N,T] x [T,K]); both become the forward's "a . b^T" once
 * W, or dy and x, are transposed, so the tuned forward GEMM (packing and
 * 6x16 micro-kernel) does the arithmetic. The transposes cost one read and
 * one write of each operand, small next to the GEMM's 2*T*K*N flops. */
#include "bwd-avx2.h"


typedef struct transpose_job {
    const float *src;
    size_t ld_src, rows, cols;
    float *dst;
    size_t ld_dst;
} transpose_job;

/* Eight rows of eight floats become eight columns (the classic unpack /
 * shuffle / permute network). */
static inline void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Item i: source rows [8i, 8i+8). */
static void transpose_strips(void *arg, size_t begin, size_t end, int tid)
{
    const transpose_job *j = arg;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        size_t r0 = i * 8, nr = j->rows - r0 < 8 ? j->rows - r0 : 8, c = 0;
        const float *s = j->src + r0 * j->ld_src;
        if (nr == 8)
            for (; c + 8 <= j->cols; c += 8) {
                __m256 r[8];
                for (int k = 0; k < 8; k++)
                    r[k] = _mm256_loadu_ps(s + k * j->ld_src + c);
                transpose8(r);
                for (int k = 0; k < 8; k++)
                    _mm256_storeu_ps(j->dst + (c + k) * j->ld_dst + r0, r[k]);
            }
        for (; c < j->cols; c++)
            for (size_t k = 0; k < nr; k++)
                j->dst[c * j->ld_dst + r0 + k] = s[k * j->ld_src + c];
    }
}

void avx2_bwd_transpose(const ck_exec_ctx *ctx, const float *src, size_t ld_src, size_t rows, size_t cols,
                        float *dst, size_t ld_dst)
{
    transpose_job j = {src, ld_src, rows, cols, dst, ld_dst};
    avx2_parallel(ctx, (rows + 7) / 8, 16, transpose_strips, &j);
}

typedef struct colsum_job {
    const float *dy;
    size_t T, N;
    float *db;
} colsum_job;

#define COLSUM_COLS (4 * BV_W)

static void colsum_blocks(void *arg, size_t begin, size_t end, int tid)
{
    const colsum_job *j = arg;
    (void)tid;
    for (size_t b = begin; b < end; b++) {
        size_t n0 = b * COLSUM_COLS, nc = j->N - n0 < COLSUM_COLS ? j->N - n0 : COLSUM_COLS;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (size_t t = 0; t < j->T; t++)
            for (size_t v = 0; v * BV_W < nc; v++)
                acc[v] = _mm256_add_ps(acc[v], bv_load_n(j->dy + t * j->N + n0 + v * BV_W, nc - v * BV_W));
        for (size_t v = 0; v * BV_W < nc; v++)
            bv_store_n(j->db + n0 + v * BV_W, acc[v], nc - v * BV_W);
    }
}

void avx2_bwd_colsum(const ck_exec_ctx *ctx, const float *dy, size_t T, size_t N, float *db)
{
    colsum_job j = {dy, T, N, db};
    avx2_parallel(ctx, (N + COLSUM_COLS - 1) / COLSUM_COLS, 4, colsum_blocks, &j);
}

int avx2_bwd_gemm_nt(const ck_exec_ctx *ctx, const float *a, const float *b, float *y, size_t M, size_t R,
                     size_t Nc)
{
    const avx2_linear_problem p = {a, b, CK_DTYPE_F32, NULL, y, Nc, M, R, Nc};
    return avx2_gemm(ctx, &p);
}
