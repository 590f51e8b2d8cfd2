/* The GEMM layouts of the avx2 backward kernels (bwd-avx2.h). The
 * gradients of y = x . W^T need dx = dy . W ([T,N] x [N,K]) and
 * dW = dy^T . x ([N,T] x [T,K]); both become the forward's "a . b^T" once
 * W, or dy and x, are transposed, so the tuned forward GEMM (packing and
 * 6x16 micro-kernel) does the arithmetic. The transposes cost one read and
 * one write of each operand, small next to the GEMM's 2*T*K*N flops. */
#include "bwd-avx2.h"


#include "../x86-bwd/transpose-strips.inc"

void avx2_bwd_transpose(const ck_exec_ctx *ctx, const float *src, size_t ld_src, size_t rows, size_t cols, float *dst,
                        size_t ld_dst)
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

int avx2_bwd_gemm_nt(const ck_exec_ctx *ctx, const float *a, const float *b, float *y, size_t M, size_t R, size_t Nc)
{
    const avx2_linear_problem p = {a, b, CK_DTYPE_F32, NULL, y, Nc, M, R, Nc};
    return avx2_gemm(ctx, &p);
}
