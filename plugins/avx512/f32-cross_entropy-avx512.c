/* f32-cross_entropy/avx512: loss = mean_t (logsumexp(l_t) - l_t[target_t]),
 * dlogits = (softmax(l_t) - onehot(target_t)) / T. Each row's max and sum of
 * e^(l - max) in f32 lanes, its logsumexp and loss term in double; the row
 * terms go to shared scratch and are summed in t order after the parallel
 * loop, so the loss does not depend on the split. The target's gradient
 * p - 1 is formed in double (it cancels when p is near 1). */
#include <math.h>

#include "bwd-avx512.h"

typedef struct ce_job {
    const ck_cross_entropy_args *a;
    double *row_loss; /* [T] */
} ce_job;

static double logsumexp_row(const float *l, size_t V)
{
    bv_f32 mv = bv_set1(-INFINITY), sv = bv_zero();
    for (size_t j = 0; j < V; j += BV_W)
        mv = bv_max(mv, bv_load_n_fill(l + j, V - j, -INFINITY));
    float mx = bv_hmax(mv);
    bv_f32 m = bv_set1(mx);
    for (size_t j = 0; j < V; j += BV_W)
        sv = bv_add(sv, bv_keep_n(bv_exp(bv_sub(bv_load_n(l + j, V - j), m)), V - j));
    return (double)mx + log((double)bv_hsum(sv));
}

static void ce_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ce_job *j = arg;
    const ck_cross_entropy_args *a = j->a;
    size_t V = a->V;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        const float *l = a->logits + t * V;
        size_t target = (size_t)a->targets[t];
        double lse = logsumexp_row(l, V);
        j->row_loss[t] = lse - l[target];
        if (!a->dlogits)
            continue;
        float *d = a->dlogits + t * V;
        bv_f32 m = bv_set1((float)lse), inv_t = bv_set1((float)(1.0 / (double)a->T));
        for (size_t i = 0; i < V; i += BV_W)
            bv_store_n(d + i, bv_mul(bv_exp(bv_sub(bv_load_n(l + i, V - i), m)), inv_t), V - i);
        d[target] = (float)((exp((double)l[target] - lse) - 1.0) / (double)a->T);
    }
}

int BV_KERNEL(cross_entropy)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_cross_entropy_args *a = args;
    if (!a || !a->logits || !a->targets || !a->loss || a->T == 0 || a->V == 0)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->targets[t] < 0 || (size_t)a->targets[t] >= a->V)
            return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 20.0 * (double)a->T * (double)a->V);
    ce_job j = {a, ctx->scratch(ctx, CK_SCRATCH_SHARED, a->T * sizeof(double))};
    if (!j.row_loss)
        return CK_E_NOMEM;
    bv_parallel(ctx, a->T, 1, ce_rows, &j);
    double total = 0;
    for (size_t t = 0; t < a->T; t++)
        total += j.row_loss[t];
    a->loss[0] = (float)(total / (double)a->T);
    return CK_OK;
}
