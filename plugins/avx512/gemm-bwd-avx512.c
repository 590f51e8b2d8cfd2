/* The GEMM layouts of the avx512 backward kernels (bwd-avx512.h). The
 * gradients of y = x . W^T need dx = dy . W ([T,N] x [N,K]) and
 * dW = dy^T . x ([N,T] x [T,K]); both become the forward's "a . b^T" once
 * W, or dy and x, are transposed, so the tuned forward GEMM (packing and
 * 14x32 micro-kernel) does the arithmetic. The transposes cost one read and
 * one write of each operand, small next to the GEMM's 2*T*K*N flops. */
#include "bwd-avx512.h"
#include "gemm-avx512.h"

#include "../x86-bwd/transpose-strips.inc"

void ck512_bwd_transpose(const ck_exec_ctx *ctx, const float *src, size_t ld_src, size_t rows, size_t cols, float *dst,
                         size_t ld_dst)
{
    transpose_job j = {src, ld_src, rows, cols, dst, ld_dst};
    ck512_parallel(ctx, (rows + 7) / 8, 16, transpose_strips, &j);
}

typedef struct colsum_job {
    const float *dy;
    size_t T, N;
    float *db;
} colsum_job;

#define COLSUM_COLS (4 * CK512_W)

static void colsum_blocks(void *arg, size_t begin, size_t end, int tid)
{
    const colsum_job *j = arg;
    (void)tid;
    for (size_t b = begin; b < end; b++) {
        size_t n0 = b * COLSUM_COLS, nc = j->N - n0 < COLSUM_COLS ? j->N - n0 : COLSUM_COLS;
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (size_t t = 0; t < j->T; t++)
            for (size_t v = 0; v * CK512_W < nc; v++)
                acc[v] = _mm512_add_ps(acc[v], ck512_load_tail(j->dy + t * j->N + n0 + v * CK512_W, nc - v * CK512_W));
        for (size_t v = 0; v * CK512_W < nc; v++)
            ck512_store_tail(j->db + n0 + v * CK512_W, acc[v], nc - v * CK512_W);
    }
}

void ck512_bwd_colsum(const ck_exec_ctx *ctx, const float *dy, size_t T, size_t N, float *db)
{
    colsum_job j = {dy, T, N, db};
    ck512_parallel(ctx, (N + COLSUM_COLS - 1) / COLSUM_COLS, 4, colsum_blocks, &j);
}

size_t ck512_bwd_packed_floats(size_t M, size_t R)
{
    return (ck512_packed_x_bytes(M, R) / sizeof(float) + 15) & ~(size_t)15;
}

int ck512_bwd_gemm_nt(const ck_exec_ctx *ctx, const float *a, const float *b, float *y, size_t M, size_t R, size_t Nc,
                      float *px)
{
    ck512_pack_x(ctx, &ck512_gemm_f32, a, M, R, px);
    return ck512_gemm(ctx, &ck512_gemm_f32, a, px, b, NULL, y, M, R, Nc);
}
