/* The quantised linear / qkv driver shared by every path of every plugin
 * that runs Q8_0 / Q4_0 weights: quantise the activations to Q8_0 per row
 * (into ctx->scratch, with the path's quantiser or the reference), then
 * either hand tiles of CK_QROWS weight rows to the path's row kernel with up
 * to CK_QXROWS activation rows at a time, or, for many activation rows and a
 * path that has one, tiles of its gemm_rows to its gemm kernel with all rows
 * (the activations then regrouped as quant-ref.h's CK_QXG layout).
 * Each output is computed whole by one kernel call, so results do not depend
 * on how parallel_for splits the tiles. */
#include <string.h>

#include "quant-ref.h"

typedef struct acts {
    ck_block_q8_0 *xq; /* [T, nb], for the row kernels (and a gemm tile without scratch) */
    unsigned char *xg; /* CK_QXG records for the gemm kernels, or NULL */
} acts;

typedef struct quantize_job {
    const float *x;
    acts a;
    size_t K;
    ck_qacts_fn fast; /* the path's quantiser, or NULL */
} quantize_job;

/* Row i of a group: its quantised blocks also into the group's records
 * (quant-ref.h). */
static void group_row(const ck_block_q8_0 *xq, unsigned char *rec, size_t i, size_t nb)
{
    for (size_t b = 0; b < nb; b++, rec += CK_QXG_BYTES) {
        int32_t sum = 0;
        for (int k = 0; k < CK_QBLOCK; k++)
            sum += xq[b].qs[k];
        float d = ck_f16_to_f32(xq[b].d);
        memcpy(rec + CK_QBLOCK * i, xq[b].qs, CK_QBLOCK);
        memcpy(rec + 256 + 4 * i, &sum, sizeof sum);
        memcpy(rec + 288 + 4 * i, &d, sizeof d);
    }
}

static void quantize_rows_body(void *arg, size_t begin, size_t end, int tid)
{
    const quantize_job *j = arg;
    (void)tid;
    size_t nb = j->K / CK_QBLOCK;
    for (size_t t = begin; t < end; t++) {
        unsigned char *rec = j->a.xg ? j->a.xg + t / CK_QXG_ROWS * nb * CK_QXG_BYTES : NULL;
        if (j->fast) {
            j->fast(j->x + t * j->K, nb, j->a.xq + t * nb, rec, t % CK_QXG_ROWS);
            continue;
        }
        ck_q8_0_quantize_row_ref(j->x + t * j->K, j->a.xq + t * nb, j->K);
        if (rec)
            group_row(j->a.xq + t * nb, rec, t % CK_QXG_ROWS, nb);
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
    /* the bias test hoisted out of the loops: a copy the compiler vectorises
     * (this runs over every output of a prefill) */
    for (size_t i = 0; i < nx; i++) {
        float *y = j->y + (t + i) * j->N + n0;
        const float *o = out + i * out_stride;
        if (!j->bias) {
            memcpy(y, o, nr * sizeof *y);
            continue;
        }
        for (size_t r = 0; r < nr; r++)
            y[r] = o[r] + j->bias[n0 + r];
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

static size_t gemm_rows(const ck_qkernels *k)
{
    return k->gemm_rows ? k->gemm_rows : CK_QGEMM_ROWS;
}

/* Items are tiles of the path's gemm rows, each repacked once by the gemm
 * kernel into per-thread scratch; without scratch, the row kernel. */
static void gemm_body(void *arg, size_t begin, size_t end, int tid)
{
    const matmul_job *j = arg;
    size_t rows = gemm_rows(j->k), work_bytes = (j->k->work_per_block * j->nb + 63) / 64 * 64;
    size_t t_pad = (j->T + CK_QXG_ROWS - 1) / CK_QXG_ROWS * CK_QXG_ROWS;
    unsigned char *work = j->ctx->scratch(j->ctx, tid, work_bytes + t_pad * rows * sizeof(float));
    for (size_t tile = begin; tile < end; tile++) {
        size_t n0 = tile * rows, nr = min_size(j->N - n0, rows);
        if (!work) {
            for (size_t r = 0; r < nr; r += CK_QROWS)
                rows_tile(j, n0 + r, min_size(nr - r, CK_QROWS));
            continue;
        }
        float *out = (float *)(void *)(work + work_bytes);
        j->k->gemm(j->w + n0 * j->row_bytes, j->row_bytes, nr, j->a.xg, j->nb, j->T, work, out);
        store_rows(j, 0, j->T, n0, nr, out, rows);
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

static int use_gemm(const ck_qkernels *k, size_t T)
{
    return k->gemm && T >= k->gemm_min_t;
}

static void run_matmul(const ck_exec_ctx *ctx, acts a, size_t T, size_t K, const void *w, size_t N, const float *bias,
                       float *y, uint32_t dtype, const ck_qkernels *k)
{
    matmul_job j = {ctx, a, w, bias, y, T, K / CK_QBLOCK, N, ck_dtype_row_bytes(dtype, K), k};
    if (use_gemm(k, T))
        run_parallel(ctx, (N + gemm_rows(k) - 1) / gemm_rows(k), 1, gemm_body, &j);
    else
        run_parallel(ctx, (N + CK_QROWS - 1) / CK_QROWS, 4, rows_body, &j);
}

/* Checks shared by linear and qkv; on success *a holds x quantised (and
 * grouped, when the gemm kernel will run). */
static int quantize_activations(const ck_exec_ctx *ctx, const float *x, size_t T, size_t K, uint32_t dtype,
                                const ck_qkernels *k, acts *a)
{
    if ((dtype != CK_DTYPE_Q8_0 && dtype != CK_DTYPE_Q4_0) || K == 0 || K % CK_QBLOCK != 0)
        return CK_E_UNSUPPORTED;
    size_t nb = K / CK_QBLOCK, groups = (T + CK_QXG_ROWS - 1) / CK_QXG_ROWS;
    size_t xq_bytes = (T * nb * sizeof(ck_block_q8_0) + 63) / 64 * 64;
    size_t xg_bytes = use_gemm(k, T) ? groups * nb * CK_QXG_BYTES : 0;
    unsigned char *buf = ctx->scratch(ctx, CK_SCRATCH_SHARED, xq_bytes + xg_bytes);
    if (!buf)
        return CK_E_NOMEM;
    a->xq = (ck_block_q8_0 *)(void *)buf;
    a->xg = xg_bytes ? buf + xq_bytes : NULL;
    if (a->xg && T % CK_QXG_ROWS != 0) /* the padding rows are zero */
        memset(a->xg + (groups - 1) * nb * CK_QXG_BYTES, 0, nb * CK_QXG_BYTES);
    quantize_job j = {x, *a, K, k->acts};
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
