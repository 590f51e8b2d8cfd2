/* The quantised linear / qkv driver shared by every path of every plugin
 * that runs Q8_0 / Q4_0 weights: quantise the activations to Q8_0 per row
 * (into ctx->scratch, with the reference quantiser), then either hand tiles
 * of CK_QROWS weight rows to the path's row kernel with up to CK_QXROWS
 * activation rows at a time, or, for many activation rows and a path that
 * has one, tiles of CK_QGEMM_ROWS rows to its gemm kernel with all rows.
 * Each output is computed whole by one kernel call, so results do not depend
 * on how parallel_for splits the tiles. */
#include "quant-ref.h"

typedef struct acts {
    ck_block_q8_0 *xq; /* [T, nb] */
    int32_t *xsum;     /* [T, nb]: sum of each block's codes */
} acts;

typedef struct quantize_job {
    const float *x;
    acts a;
    size_t K;
    void (*quantize)(const float *x, ck_block_q8_0 *y, size_t n);
    int xsum; /* the gemm kernel reads xsum; the row kernels do not */
} quantize_job;

static void quantize_rows_body(void *arg, size_t begin, size_t end, int tid)
{
    const quantize_job *j = arg;
    (void)tid;
    size_t nb = j->K / CK_QBLOCK;
    for (size_t t = begin; t < end; t++) {
        j->quantize(j->x + t * j->K, j->a.xq + t * nb, j->K);
        for (size_t b = t * nb; j->xsum && b < (t + 1) * nb; b++) {
            int32_t sum = 0;
            for (int i = 0; i < CK_QBLOCK; i++)
                sum += j->a.xq[b].qs[i];
            j->a.xsum[b] = sum;
        }
    }
}

typedef struct matmul_job {
    const ck_exec_ctx *ctx;
    acts a;
    const unsigned char *w; /* [N, row_bytes] */
    const float *bias;      /* [N] or NULL */
    float *y;               /* [T, N] */
    size_t T, nb, N, row_bytes;
    const ck_qkernels *k;
} matmul_job;

static void store_rows(const matmul_job *j, size_t t, size_t nx, size_t n0, size_t nr, const float *out,
                       size_t out_stride)
{
    for (size_t i = 0; i < nx; i++) {
        float *y = j->y + (t + i) * j->N + n0;
        for (size_t r = 0; r < nr; r++)
            y[r] = j->bias ? out[i * out_stride + r] + j->bias[n0 + r] : out[i * out_stride + r];
    }
}

/* Rows [n0, n0 + nr), nr <= CK_QROWS, through the row kernel. */
static void rows_tile(const matmul_job *j, size_t n0, size_t nr)
{
    float out[CK_QXROWS * CK_QROWS];
    const unsigned char *w = j->w + n0 * j->row_bytes;
    for (size_t t = 0; t < j->T; t += CK_QXROWS) {
        size_t nx = j->T - t < CK_QXROWS ? j->T - t : CK_QXROWS;
        j->k->rows(w, j->row_bytes, nr, j->a.xq + t * j->nb, j->nb, nx, out);
        store_rows(j, t, nx, n0, nr, out, CK_QROWS);
    }
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Items are tiles of CK_QROWS weight rows; the tile stays in cache while
 * the activation rows pass over it. */
static void rows_body(void *arg, size_t begin, size_t end, int tid)
{
    const matmul_job *j = arg;
    (void)tid;
    for (size_t tile = begin; tile < end; tile++)
        rows_tile(j, tile * CK_QROWS, min_size(j->N - tile * CK_QROWS, CK_QROWS));
}

/* Items are tiles of CK_QGEMM_ROWS weight rows, each repacked once by the
 * gemm kernel into per-thread scratch; without scratch, the row kernel. */
static void gemm_body(void *arg, size_t begin, size_t end, int tid)
{
    const matmul_job *j = arg;
    size_t work_bytes = (j->k->work_per_block * j->nb + 63) / 64 * 64;
    unsigned char *work = j->ctx->scratch(j->ctx, tid, work_bytes + j->T * CK_QGEMM_ROWS * sizeof(float));
    for (size_t tile = begin; tile < end; tile++) {
        size_t n0 = tile * CK_QGEMM_ROWS, nr = min_size(j->N - n0, CK_QGEMM_ROWS);
        if (!work) {
            for (size_t r = 0; r < nr; r += CK_QROWS)
                rows_tile(j, n0 + r, min_size(nr - r, CK_QROWS));
            continue;
        }
        float *out = (float *)(void *)(work + work_bytes);
        j->k->gemm(j->w + n0 * j->row_bytes, j->row_bytes, nr, j->a.xq, j->a.xsum, j->nb, j->T, work, out);
        store_rows(j, 0, j->T, n0, nr, out, CK_QGEMM_ROWS);
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

static int uses_gemm(const ck_qkernels *k, size_t T)
{
    return k->gemm && T >= k->gemm_min_t;
}

static void run_matmul(const ck_exec_ctx *ctx, acts a, size_t T, size_t K, const void *w, size_t N, const float *bias,
                       float *y, uint32_t dtype, const ck_qkernels *k)
{
    matmul_job j = {ctx, a, w, bias, y, T, K / CK_QBLOCK, N, ck_dtype_row_bytes(dtype, K), k};
    if (uses_gemm(k, T))
        run_parallel(ctx, (N + CK_QGEMM_ROWS - 1) / CK_QGEMM_ROWS, 2, gemm_body, &j);
    else
        run_parallel(ctx, (N + CK_QROWS - 1) / CK_QROWS, 4, rows_body, &j);
}

/* Checks shared by linear and qkv; on success *a holds x quantised (and,
 * where the gemm kernel will run, its block sums). */
static int quantize_activations(const ck_exec_ctx *ctx, const float *x, size_t T, size_t K, uint32_t dtype,
                                const ck_qkernels *k, acts *a)
{
    if ((dtype != CK_DTYPE_Q8_0 && dtype != CK_DTYPE_Q4_0) || K == 0 || K % CK_QBLOCK != 0)
        return CK_E_UNSUPPORTED;
    size_t blocks = T * (K / CK_QBLOCK);
    size_t xq_bytes = (blocks * sizeof(ck_block_q8_0) + 63) / 64 * 64;
    unsigned char *buf = ctx->scratch(ctx, CK_SCRATCH_SHARED, xq_bytes + blocks * sizeof(int32_t));
    if (!buf)
        return CK_E_NOMEM;
    a->xq = (ck_block_q8_0 *)(void *)buf;
    a->xsum = (int32_t *)(void *)(buf + xq_bytes);
    quantize_job j = {x, *a, K, k->quantize ? k->quantize : ck_q8_0_quantize_row_ref, uses_gemm(k, T)};
    run_parallel(ctx, T, 16, quantize_rows_body, &j);
    return CK_OK;
}

int ck_qlinear_exec(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype, const ck_qkernels *k)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->N == 0)
        return a->K % CK_QBLOCK == 0 ? CK_OK : CK_E_UNSUPPORTED;
    acts x;
    int rc = quantize_activations(ctx, a->x, a->T, a->K, dtype, k, &x);
    if (rc != CK_OK)
        return rc;
    run_matmul(ctx, x, a->T, a->K, a->w, a->N, a->bias, a->y, dtype, k);
    return CK_OK;
}

int ck_qqkv_exec(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype, const ck_qkernels *k)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    if (a->T == 0 || nq == 0)
        return a->D % CK_QBLOCK == 0 ? CK_OK : CK_E_UNSUPPORTED;
    acts x;
    int rc = quantize_activations(ctx, a->x, a->T, a->D, dtype, k, &x);
    if (rc != CK_OK)
        return rc;
    run_matmul(ctx, x, a->T, a->D, a->wq, nq, a->bq, a->q, dtype, k);
    run_matmul(ctx, x, a->T, a->D, a->wk, nkv, a->bk, a->k, dtype, k);
    run_matmul(ctx, x, a->T, a->D, a->wv, nkv, a->bv, a->v, dtype, k);
    return CK_OK;
}
