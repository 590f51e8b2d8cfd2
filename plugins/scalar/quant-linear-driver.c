/* The quantised linear / qkv driver shared by every path of every plugin
 * that runs Q8_0 / Q4_0 weights: quantise the activations to Q8_0 per row
 * (into ctx->scratch, with the reference quantiser), then hand tiles of
 * CK_QROWS weight rows to the path's row kernel with up to CK_QXROWS
 * activation rows at a time.
 * Each output is computed whole by one row-kernel call, so results do not
 * depend on how parallel_for splits the tiles. */
#include "quant-scalar.h"

typedef struct quantize_job {
    const float *x;
    ck_block_q8_0 *xq;
    size_t K;
} quantize_job;

static void quantize_rows_body(void *arg, size_t begin, size_t end, int tid)
{
    const quantize_job *j = arg;
    (void)tid;
    size_t nb = j->K / CK_QBLOCK;
    for (size_t t = begin; t < end; t++)
        ck_q8_0_quantize_row_ref(j->x + t * j->K, j->xq + t * nb, j->K);
}

typedef struct matmul_job {
    const ck_exec_ctx *ctx;
    const ck_block_q8_0 *xq; /* [T, nb] */
    const unsigned char *w;  /* [N, row_bytes] */
    const float *bias;       /* [N] or NULL */
    float *y;                /* [T, N] */
    size_t T, nb, N, row_bytes;
    const ck_qkernels *k;
} matmul_job;

static void store_tile(const matmul_job *j, size_t t, size_t nx, size_t n0, size_t nr, const float *out)
{
    for (size_t i = 0; i < nx; i++) {
        float *y = j->y + (t + i) * j->N + n0;
        for (size_t r = 0; r < nr; r++)
            y[r] = j->bias ? out[i * CK_QROWS + r] + j->bias[n0 + r] : out[i * CK_QROWS + r];
    }
}

/* The path's many-row kernel on one tile, if it has one, T is large enough
 * and the host has the scratch; else 0 and the row kernel does the tile. */
static int tile_by_gemm(const matmul_job *j, int tid, size_t n0, size_t nr, const unsigned char *w)
{
    if (!j->k->gemm || j->T < j->k->gemm_min_t)
        return 0;
    size_t work_bytes = (j->k->work_per_block * j->nb + 63) / 64 * 64;
    unsigned char *work = j->ctx->scratch(j->ctx, tid, work_bytes + j->T * CK_QROWS * sizeof(float));
    if (!work)
        return 0;
    float *out = (float *)(void *)(work + work_bytes);
    j->k->gemm(w, j->row_bytes, nr, j->xq, j->nb, j->T, work, out);
    store_tile(j, 0, j->T, n0, nr, out);
    return 1;
}

/* Items are tiles of CK_QROWS weight rows; the tile stays in cache while
 * the activation rows pass over it, CK_QXROWS at a time (or all at once
 * through the path's gemm kernel). */
static void matmul_body(void *arg, size_t begin, size_t end, int tid)
{
    const matmul_job *j = arg;
    float out[CK_QXROWS * CK_QROWS];
    for (size_t tile = begin; tile < end; tile++) {
        size_t n0 = tile * CK_QROWS;
        size_t nr = j->N - n0 < CK_QROWS ? j->N - n0 : CK_QROWS;
        const unsigned char *w = j->w + n0 * j->row_bytes;
        if (tile_by_gemm(j, tid, n0, nr, w))
            continue;
        for (size_t t = 0; t < j->T; t += CK_QXROWS) {
            size_t nx = j->T - t < CK_QXROWS ? j->T - t : CK_QXROWS;
            j->k->rows(w, j->row_bytes, nr, j->xq + t * j->nb, j->nb, nx, out);
            store_tile(j, t, nx, n0, nr, out);
        }
    }
}

/* Serial when there is one thread or nothing to split: no pool round trip. */
static void run_parallel(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (ctx->n_threads <= 1 || !ctx->parallel_for || n <= grain)
        fn(arg, 0, n, 0);
    else
        ctx->parallel_for(ctx, n, grain, fn, arg);
}

static void run_matmul(const ck_exec_ctx *ctx, const ck_block_q8_0 *xq, size_t T, size_t K,
                       const void *w, size_t N, const float *bias, float *y, uint32_t dtype, const ck_qkernels *k)
{
    matmul_job j = {ctx, xq, w, bias, y, T, K / CK_QBLOCK, N, ck_dtype_row_bytes(dtype, K), k};
    size_t tiles = (N + CK_QROWS - 1) / CK_QROWS;
    run_parallel(ctx, tiles, 4, matmul_body, &j);
}

/* Checks shared by linear and qkv; on success *xq holds x quantised. */
static int quantize_activations(const ck_exec_ctx *ctx, const float *x, size_t T, size_t K, uint32_t dtype,
                                ck_block_q8_0 **xq)
{
    if ((dtype != CK_DTYPE_Q8_0 && dtype != CK_DTYPE_Q4_0) || K == 0 || K % CK_QBLOCK != 0)
        return CK_E_UNSUPPORTED;
    *xq = ctx->scratch(ctx, CK_SCRATCH_SHARED, T * (K / CK_QBLOCK) * sizeof(ck_block_q8_0));
    if (!*xq)
        return CK_E_NOMEM;
    quantize_job j = {x, *xq, K};
    run_parallel(ctx, T, 16, quantize_rows_body, &j);
    return CK_OK;
}

int ck_qlinear_exec(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype, const ck_qkernels *k)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->N == 0)
        return a->K % CK_QBLOCK == 0 ? CK_OK : CK_E_UNSUPPORTED;
    ck_block_q8_0 *xq;
    int rc = quantize_activations(ctx, a->x, a->T, a->K, dtype, &xq);
    if (rc != CK_OK)
        return rc;
    run_matmul(ctx, xq, a->T, a->K, a->w, a->N, a->bias, a->y, dtype, k);
    return CK_OK;
}

int ck_qqkv_exec(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype, const ck_qkernels *k)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    if (a->T == 0 || nq == 0)
        return a->D % CK_QBLOCK == 0 ? CK_OK : CK_E_UNSUPPORTED;
    ck_block_q8_0 *xq;
    int rc = quantize_activations(ctx, a->x, a->T, a->D, dtype, &xq);
    if (rc != CK_OK)
        return rc;
    run_matmul(ctx, xq, a->T, a->D, a->wq, nq, a->bq, a->q, dtype, k);
    run_matmul(ctx, xq, a->T, a->D, a->wk, nkv, a->bk, a->k, dtype, k);
    run_matmul(ctx, xq, a->T, a->D, a->wv, nkv, a->bv, a->v, dtype, k);
    return CK_OK;
}
