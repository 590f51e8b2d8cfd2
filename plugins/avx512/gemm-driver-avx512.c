/* The linear-layer driver of the avx512 plugin (see gemm-avx512.h): chooses
 * the matvec or the packed GEMM, packs x and W, tiles over K and N and
 * splits the blocks across the host's threads. */
#include "avx512-helpers.h"
#include "gemm-avx512.h"

static size_t div_up(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

size_t ck512_packed_x_bytes(size_t T, size_t K)
{
    return div_up(T, CK512_MR) * CK512_MR * K * sizeof(float);
}

typedef struct pack_x_job {
    const float *x;
    size_t T, K;
    float *dst;
} pack_x_job;

/* Group g of MR rows becomes [K][MR]: 16 k at a time, each row's 16 values
 * are scattered MR floats apart (rows past T are zero). */
static void pack_x_groups(void *arg, size_t begin, size_t end, int tid)
{
    const pack_x_job *j = arg;
    const __m512i stride = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32(CK512_MR));
    (void)tid;
    for (size_t g = begin; g < end; g++) {
        float *dst = j->dst + g * j->K * CK512_MR;
        for (size_t r = 0; r < CK512_MR; r++) {
            size_t row = g * CK512_MR + r;
            const float *src = j->x + row * j->K;
            for (size_t k = 0; k < j->K; k += 16) {
                __mmask16 m = ck512_mask(j->K - k);
                __m512 v = row < j->T ? _mm512_maskz_loadu_ps(m, src + k) : _mm512_setzero_ps();
                _mm512_mask_i32scatter_ps(dst + k * CK512_MR + r, m, stride, v, 4);
            }
        }
    }
}

void ck512_pack_x(const ck_exec_ctx *ctx, const float *x, size_t T, size_t K, float *dst)
{
    pack_x_job j = {x, T, K, dst};
    ck512_parallel(ctx, div_up(T, CK512_MR), 1, pack_x_groups, &j);
}

/* ---- packing W: rows [n0, n0+nc) x cols [k0, k0+kc) into NR-wide panels */

static void pack_w_f32(const float *w, size_t K, size_t n0, size_t nc, size_t N, size_t k0, size_t kc, float *dst)
{
    for (size_t p = 0; p < nc; p += CK512_NR, dst += kc * CK512_NR) {
        for (size_t j = 0; j < CK512_NR; j++) {
            size_t n = n0 + p + j;
            if (n >= N) {
                for (size_t k = 0; k < kc; k++)
                    dst[k * CK512_NR + j] = 0.0f;
                continue;
            }
            const float *src = w + n * K + k0;
            for (size_t k = 0; k < kc; k++)
                dst[k * CK512_NR + j] = src[k];
        }
    }
}

static void pack_w_bf16(const uint16_t *w, size_t K, size_t n0, size_t nc, size_t N, size_t k0, size_t kc,
                        float *dst)
{
    for (size_t p = 0; p < nc; p += CK512_NR, dst += kc * CK512_NR) {
        for (size_t j = 0; j < CK512_NR; j++) {
            size_t n = n0 + p + j;
            if (n >= N) {
                for (size_t k = 0; k < kc; k++)
                    dst[k * CK512_NR + j] = 0.0f;
                continue;
            }
            const uint16_t *src = w + n * K + k0;
            for (size_t k = 0; k < kc; k++)
                dst[k * CK512_NR + j] = ck_bf16_to_f32(src[k]);
        }
    }
}

/* ---- the blocked GEMM ---------------------------------------------------- */

typedef struct gemm_job {
    const ck_exec_ctx *ctx;
    const float *px;
    const void *w;
    uint32_t dtype;
    const float *bias;
    float *y;
    size_t T, K, N;
    size_t n_nblocks;  /* blocks of NC columns */
    size_t tblock;     /* rows of x per work item, a multiple of MR */
} gemm_job;

#define PANEL_BYTES ((size_t)CK512_NC * CK512_KC * sizeof(float))

static void gemm_block(const gemm_job *j, float *bp, size_t n0, size_t t0)
{
    size_t nc = j->N - n0 < CK512_NC ? j->N - n0 : CK512_NC;
    size_t t1 = t0 + j->tblock < j->T ? t0 + j->tblock : j->T;
    for (size_t k0 = 0; k0 < j->K; k0 += CK512_KC) {
        size_t kc = j->K - k0 < CK512_KC ? j->K - k0 : CK512_KC;
        int first = k0 == 0, last = k0 + kc == j->K;
        if (j->dtype == CK_DTYPE_BF16)
            pack_w_bf16(j->w, j->K, n0, nc, j->N, k0, kc, bp);
        else
            pack_w_f32(j->w, j->K, n0, nc, j->N, k0, kc, bp);
        for (size_t t = t0; t < t1; t += CK512_MR) {
            const float *a = j->px + (t / CK512_MR) * j->K * CK512_MR + k0 * CK512_MR;
            size_t mr = t1 - t < CK512_MR ? t1 - t : CK512_MR;
            for (size_t p = 0; p < nc; p += CK512_NR) {
                size_t nr = nc - p < CK512_NR ? nc - p : CK512_NR;
                const float *bias = last && j->bias ? j->bias + n0 + p : NULL;
                ck512_gemm_ukernel_14x32(kc, a, bp + p * kc, j->y + t * j->N + n0 + p, j->N, mr, nr, first, bias);
            }
        }
    }
}

static void gemm_items(void *arg, size_t begin, size_t end, int tid)
{
    gemm_job *j = arg;
    /* Allocated up front by ck512_linear: this returns the same buffer. */
    float *bp = j->ctx->scratch(j->ctx, tid, PANEL_BYTES);
    for (size_t i = begin; i < end; i++)
        gemm_block(j, bp, (i % j->n_nblocks) * CK512_NC, (i / j->n_nblocks) * j->tblock);
}

/* y = bias (or 0): the K == 0 case. */
static void fill_bias(const float *bias, float *y, size_t T, size_t N)
{
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++)
            y[t * N + n] = bias ? bias[n] : 0.0f;
}

int ck512_linear(const ck_exec_ctx *ctx, const float *x, const float *px, const void *w, uint32_t dtype,
                 const float *bias, float *y, size_t T, size_t K, size_t N)
{
    if (T == 0 || N == 0)
        return CK_OK;
    if (K == 0) {
        fill_bias(bias, y, T, N);
        return CK_OK;
    }
    if (T < CK512_MATVEC_MAX_T && !px) {
        if (dtype == CK_DTYPE_BF16)
            ck512_matvec_bf16(ctx, x, w, bias, y, T, K, N);
        else
            ck512_matvec_f32(ctx, x, w, bias, y, T, K, N);
        return CK_OK;
    }
    if (!px) {
        float *buf = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(T, K));
        if (!buf)
            return CK_E_NOMEM;
        ck512_pack_x(ctx, x, T, K, buf);
        px = buf;
    }
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, PANEL_BYTES))
            return CK_E_NOMEM;
    gemm_job j = {ctx, px, w, dtype, bias, y, T, K, N, div_up(N, CK512_NC), 0};
    /* Whole T per item when N gives every thread a few blocks (W is then
     * packed exactly once); otherwise split T too, in multiples of MR. */
    size_t want = (size_t)ctx->n_threads * 4, n_tblocks = 1;
    if (j.n_nblocks < want)
        n_tblocks = div_up(want, j.n_nblocks);
    size_t groups = div_up(T, CK512_MR);
    if (n_tblocks > groups)
        n_tblocks = groups;
    j.tblock = div_up(groups, n_tblocks) * CK512_MR;
    n_tblocks = div_up(T, j.tblock);
    ck512_parallel(ctx, j.n_nblocks * n_tblocks, 1, gemm_items, &j);
    return CK_OK;
}
