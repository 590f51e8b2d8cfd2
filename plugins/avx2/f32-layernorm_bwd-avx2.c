/* f32-layernorm_bwd/avx2: with xh = (x - mu) r, r = 1/sqrt(var + eps),
 * dxh = dy g per row,
 *   dx = r (dxh - mean(dxh) - xh mean(dxh xh)),
 *   dgamma = sum_t dy xh,  dbeta = sum_t dy.
 * Pass 1 (rows split over the threads): mean and (two-pass) variance in f32
 * lanes, r in double, dx; mu and r go to shared scratch. Pass 2 (columns
 * split): dgamma and dbeta, each column summed in t order. */
#include <math.h>

#include "bwd-avx2.h"

#define COLS 64

typedef struct ln_job {
    const ck_norm_bwd_args *a;
    float *mu, *r; /* [T] each */
} ln_job;

static void ln_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ln_job *j = arg;
    const ck_norm_bwd_args *a = j->a;
    size_t D = a->D;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D, *dy = a->dy + t * D;
        bv_f32 s = bv_zero();
        for (size_t i = 0; i < D; i += BV_W)
            s = bv_add(s, bv_load_n(x + i, D - i));
        float muf = (float)((double)bv_hsum(s) / (double)D);
        bv_f32 mu = bv_set1(muf), var = bv_zero();
        for (size_t i = 0; i < D; i += BV_W) {
            bv_f32 c = bv_keep_n(bv_sub(bv_load_n(x + i, D - i), mu), D - i);
            var = bv_add(var, bv_mul(c, c));
        }
        double r = 1.0 / sqrt((double)bv_hsum(var) / (double)D + a->eps);
        bv_f32 rv = bv_set1((float)r), m1 = bv_zero(), m2 = bv_zero();
        for (size_t i = 0; i < D; i += BV_W) {
            size_t n = D - i;
            bv_f32 xh = bv_mul(bv_sub(bv_load_n(x + i, n), mu), rv);
            bv_f32 dxh = bv_mul(bv_load_n(dy + i, n), bv_load_n(a->gamma + i, n));
            m1 = bv_add(m1, dxh);
            m2 = bv_add(m2, bv_keep_n(bv_mul(dxh, xh), n));
        }
        j->mu[t] = muf;
        j->r[t] = (float)r;
        if (!a->dx)
            continue;
        bv_f32 m1v = bv_set1((float)((double)bv_hsum(m1) / (double)D));
        bv_f32 m2v = bv_set1((float)((double)bv_hsum(m2) / (double)D));
        for (size_t i = 0; i < D; i += BV_W) {
            size_t n = D - i;
            bv_f32 xh = bv_mul(bv_sub(bv_load_n(x + i, n), mu), rv);
            bv_f32 dxh = bv_mul(bv_load_n(dy + i, n), bv_load_n(a->gamma + i, n));
            bv_store_n(a->dx + t * D + i, bv_mul(rv, bv_sub(bv_sub(dxh, m1v), bv_mul(xh, m2v))), n);
        }
    }
}

static void ln_params(void *arg, size_t begin, size_t end, int tid)
{
    const ln_job *j = arg;
    const ck_norm_bwd_args *a = j->a;
    size_t D = a->D, c1 = end * COLS < D ? end * COLS : D;
    (void)tid;
    for (size_t i = begin * COLS; i < c1; i += BV_W) {
        size_t n = c1 - i;
        bv_f32 dg = bv_zero(), db = bv_zero();
        for (size_t t = 0; t < a->T; t++) {
            bv_f32 dy = bv_load_n(a->dy + t * D + i, n);
            bv_f32 xh = bv_mul(bv_sub(bv_load_n(a->x + t * D + i, n), bv_set1(j->mu[t])), bv_set1(j->r[t]));
            dg = bv_add(dg, bv_mul(dy, xh));
            db = bv_add(db, dy);
        }
        if (a->dgamma)
            bv_store_n(a->dgamma + i, dg, n);
        if (a->dbeta)
            bv_store_n(a->dbeta + i, db, n);
    }
}

int BV_KERNEL(layernorm_bwd)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_bwd_args *a = args;
    if (!a || !a->x || !a->gamma || !a->dy)
        return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 14.0 * (double)a->T * (double)a->D);
    if (a->D == 0)
        return CK_OK;
    float *buf = ctx->scratch(ctx, CK_SCRATCH_SHARED, (2 * a->T + 1) * sizeof(float));
    if (!buf)
        return CK_E_NOMEM;
    ln_job j = {a, buf, buf + a->T};
    bv_parallel(ctx, a->T, 1, ln_rows, &j);
    if (a->dgamma || a->dbeta)
        bv_parallel(ctx, (a->D + COLS - 1) / COLS, 1, ln_params, &j);
    return CK_OK;
}
