/* f32-rmsnorm_bwd/avx2: with r = 1/sqrt(mean(x^2) + eps) per row,
 *   dx = r g dy - x r^3/D sum_j(dy_j g_j x_j),   dgamma = sum_t dy x r.
 * Pass 1 (rows split over the threads): the row sums in f32 lanes, r in
 * double, dx; r goes to shared scratch. Pass 2 (columns split): dgamma,
 * each column summed in t order, so nothing depends on the split. */
#include <math.h>

#include "bwd-avx2.h"

#define COLS 64

typedef struct rms_job {
    const ck_norm_bwd_args *a;
    float *r; /* [T] */
} rms_job;

static void rms_rows(void *arg, size_t begin, size_t end, int tid)
{
    const rms_job *j = arg;
    const ck_norm_bwd_args *a = j->a;
    size_t D = a->D;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D, *dy = a->dy + t * D;
        bv_f32 ss = bv_zero(), dot = bv_zero();
        for (size_t i = 0; i < D; i += BV_W) {
            bv_f32 xv = bv_load_n(x + i, D - i);
            ss = bv_add(ss, bv_mul(xv, xv));
            dot = bv_add(dot, bv_mul(bv_mul(bv_load_n(dy + i, D - i), bv_load_n(a->gamma + i, D - i)), xv));
        }
        double r = 1.0 / sqrt((double)bv_hsum(ss) / (double)D + a->eps);
        j->r[t] = (float)r;
        if (!a->dx)
            continue;
        bv_f32 rv = bv_set1((float)r), cv = bv_set1((float)(r * r * r * (double)bv_hsum(dot) / (double)D));
        for (size_t i = 0; i < D; i += BV_W) {
            size_t n = D - i;
            bv_f32 rg = bv_mul(rv, bv_load_n(a->gamma + i, n));
            bv_store_n(a->dx + t * D + i, bv_sub(bv_mul(rg, bv_load_n(dy + i, n)), bv_mul(bv_load_n(x + i, n), cv)),
                       n);
        }
    }
}

static void rms_dgamma(void *arg, size_t begin, size_t end, int tid)
{
    const rms_job *j = arg;
    const ck_norm_bwd_args *a = j->a;
    size_t D = a->D, c1 = end * COLS < D ? end * COLS : D;
    (void)tid;
    for (size_t i = begin * COLS; i < c1; i += BV_W) {
        size_t n = c1 - i;
        bv_f32 acc = bv_zero();
        for (size_t t = 0; t < a->T; t++) {
            bv_f32 p = bv_mul(bv_load_n(a->dy + t * D + i, n), bv_load_n(a->x + t * D + i, n));
            acc = bv_add(acc, bv_mul(p, bv_set1(j->r[t])));
        }
        bv_store_n(a->dgamma + i, acc, n);
    }
}

int BV_KERNEL(rmsnorm_bwd)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_bwd_args *a = args;
    if (!a || !a->x || !a->gamma || !a->dy)
        return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 10.0 * (double)a->T * (double)a->D);
    if (a->D == 0)
        return CK_OK;
    rms_job j = {a, ctx->scratch(ctx, CK_SCRATCH_SHARED, (a->T + 1) * sizeof(float))};
    if (!j.r)
        return CK_E_NOMEM;
    bv_parallel(ctx, a->T, 1, rms_rows, &j);
    if (a->dgamma)
        bv_parallel(ctx, (a->D + COLS - 1) / COLS, 1, rms_dgamma, &j);
    return CK_OK;
}
