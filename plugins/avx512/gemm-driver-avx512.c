/* The linear-layer driver of the avx512 plugin (see gemm-avx512.h): chooses
 * the matvec or a packed GEMM implementation, packs x, tiles over K and N
 * (W packed per block) and splits the blocks across the host's threads. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"
#include "gemm-avx512.h"

static size_t div_up(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* K rounded up for every implementation (bf16 pairs need an even K). */
static size_t padded_k(const ck512_gemm_impl *impl, size_t K)
{
    return div_up(K, impl->k_pad) * impl->k_pad;
}

size_t ck512_packed_x_bytes(size_t T, size_t K)
{
    return div_up(T, CK512_MR) * CK512_MR * div_up(K, 2) * 2 * sizeof(float);
}

typedef struct pack_x_job {
    const ck512_gemm_impl *impl;
    const float *x;
    size_t T, K;
    float *dst;
} pack_x_job;

static void pack_x_groups(void *arg, size_t begin, size_t end, int tid)
{
    const pack_x_job *j = arg;
    const size_t group_floats = padded_k(j->impl, j->K) * CK512_MR;
    (void)tid;
    for (size_t g = begin; g < end; g++)
        j->impl->pack_x_group(j->x, j->T, j->K, g, j->dst + g * group_floats);
}

void ck512_pack_x(const ck_exec_ctx *ctx, const ck512_gemm_impl *impl, const float *x, size_t T, size_t K, float *dst)
{
    pack_x_job j = {impl, x, T, K, dst};
    ck512_parallel(ctx, div_up(T, CK512_MR), 1, pack_x_groups, &j);
}

typedef struct gemm_job {
    const ck_exec_ctx *ctx;
    const ck512_gemm_impl *impl;
    const float *px;
    const void *w;
    const float *bias;
    float *y;
    size_t T, K, N;
    size_t panels;   /* NR-wide column panels of W */
    size_t n_nitems; /* column ranges: item i has panels [i*panels/n, (i+1)*panels/n) */
    size_t tblock;   /* rows of x per work item, a multiple of MR */
} gemm_job;

#define PANEL_BYTES ((size_t)CK512_NC * CK512_KC * sizeof(float))

/* Columns [n0, n0+nc) (nc <= NC) x rows [t0, t0+tblock): for each KC slice,
 * pack the W block once, then run the micro-kernel over every MR x NR tile
 * (the MR x KC slice of x stays in L1 while the W panels stream from L2). */
static void gemm_block(const gemm_job *j, float *bp, size_t n0, size_t nc, size_t t0)
{
    const ck512_gemm_impl *impl = j->impl;
    const size_t t1 = min_size(t0 + j->tblock, j->T);
    const size_t group_floats = padded_k(impl, j->K) * CK512_MR;
    for (size_t k0 = 0; k0 < j->K; k0 += CK512_KC) {
        size_t kc = min_size(j->K - k0, CK512_KC);
        size_t panel_floats = padded_k(impl, kc) * impl->w_units_per_k;
        int first = k0 == 0, last = k0 + kc == j->K;
        impl->pack_w(j->w, j->K, n0, nc, j->N, k0, kc, bp);
        for (size_t t = t0; t < t1; t += CK512_MR) {
            const float *a = j->px + (t / CK512_MR) * group_floats + k0 * CK512_MR;
            size_t mr = min_size(t1 - t, CK512_MR);
            for (size_t p = 0; p < nc; p += CK512_NR) {
                const float *bias = last && j->bias ? j->bias + n0 + p : NULL;
                impl->ukernel(kc, a, bp + (p / CK512_NR) * panel_floats, j->y + t * j->N + n0 + p, j->N, mr,
                              min_size(nc - p, CK512_NR), first, bias);
            }
        }
    }
}

static void gemm_items(void *arg, size_t begin, size_t end, int tid)
{
    const gemm_job *j = arg;
    float *bp = j->ctx->scratch(j->ctx, tid, PANEL_BYTES); /* allocated up front: same buffer */
    for (size_t i = begin; i < end; i++) {
        size_t ni = i % j->n_nitems;
        size_t p0 = ni * j->panels / j->n_nitems, p1 = (ni + 1) * j->panels / j->n_nitems;
        size_t n0 = p0 * CK512_NR;
        gemm_block(j, bp, n0, min_size(p1 * CK512_NR, j->N) - n0, (i / j->n_nitems) * j->tblock);
    }
}

int ck512_gemm(const ck_exec_ctx *ctx, const ck512_gemm_impl *impl, const float *x, const float *px, const void *w,
               const float *bias, float *y, size_t T, size_t K, size_t N)
{
    if (!px) {
        float *buf = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(T, K));
        if (!buf)
            return CK_E_NOMEM;
        ck512_pack_x(ctx, impl, x, T, K, buf);
        px = buf;
    }
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, PANEL_BYTES))
            return CK_E_NOMEM;
    gemm_job j = {ctx, impl, px, w, bias, y, T, K, N, div_up(N, CK512_NR), 0, 0};
    /* The pool hands out n / (4 * threads) items at a time, so a number of
     * column ranges that is a multiple of 4 * threads, each within one
     * panel of the others, keeps every thread equally busy (43 blocks of
     * 256 columns on 2 threads would leave one with 24 and the other 19).
     * Ranges stay <= NC wide; which columns share a range does not change
     * any sum, so results do not depend on it. */
    const size_t units = (size_t)ctx->n_threads * 4, groups = div_up(T, CK512_MR);
    j.n_nitems = div_up(div_up(j.panels, CK512_NC / CK512_NR), units) * units;
    if (j.n_nitems > j.panels)
        j.n_nitems = j.panels;
    /* Whole T per item when N gives every thread a few ranges (W is then
     * packed exactly once); otherwise split T too, in multiples of MR. */
    size_t n_tblocks = j.n_nitems < units ? min_size(div_up(units, j.n_nitems), groups) : 1;
    j.tblock = div_up(groups, n_tblocks) * CK512_MR;
    n_tblocks = div_up(T, j.tblock);
    ck512_parallel(ctx, j.n_nitems * n_tblocks, 1, gemm_items, &j);
    return CK_OK;
}

const ck512_gemm_impl *ck512_gemm_for(uint32_t dtype, size_t K)
{
    if (dtype == CK_DTYPE_F16)
        return &ck512_gemm_f16_widen;
    if (dtype != CK_DTYPE_BF16)
        return &ck512_gemm_f32;
    /* vdpbf16ps with x split into hi + lo: half the packed-W bytes of the
     * widening path, same instruction rate. But hi + lo keeps 16 of x's 24
     * bits: up to 2^-16 |x w| per product, which f32 accumulation in any
     * order is only allowed (the gate's error model, docs/ops.md:
     * 10 sqrt(K + 1) 2^-24 sum |x w|) once K is long; from K = 2621 even the
     * worst case takes at most half of that, below it x is widened exactly. */
    if (K < CK512_SPLIT_MIN_K)
        return &ck512_gemm_bf16_widen;
    return ck_avx512_has_bf16 ? &ck512_gemm_bf16_dp_split : &ck512_gemm_bf16_widen;
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
    /* The packing gathers use 32-bit row offsets (16 or 32 rows of K): a K
     * too large for them takes the matvec, correct for any T. */
    if ((T < CK512_MATVEC_MAX_T || K > (size_t)INT32_MAX / CK512_NR) && !px) {
        if (dtype == CK_DTYPE_BF16)
            ck512_matvec_bf16(ctx, x, w, bias, y, T, K, N);
        else if (dtype == CK_DTYPE_F16)
            ck512_matvec_f16(ctx, x, w, bias, y, T, K, N);
        else
            ck512_matvec_f32(ctx, x, w, bias, y, T, K, N);
        return CK_OK;
    }
    return ck512_gemm(ctx, ck512_gemm_for(dtype, K), x, px, w, bias, y, T, K, N);
}
