/* f32-attention_bwd/avx512: gradients of scaled dot-product attention, one
 * kv head at a time (the query heads of its group, g = H / Hkv of them).
 * Pass 1, over (group head, query row) items, in double where outlier rows
 * (|score| ~ 1e3, |dP| ~ 1e2-1e3) would make f32 rounding visible: the
 * softmax row P (the forward's probs, or recomputed with double scores and
 * exp), dP[s] = dout . v[s], dS[s] = scale P[s] (dP[s] - sum_j P[j] dP[j])
 * and dq = sum_s dS[s] k[s]; P and dS, rounded to f32, go to shared scratch
 * [g, T, S] (masked keys 0). Pass 2, over key rows s, in f32: dv[s] =
 * sum P dout and dk[s] = sum dS q over the group's heads and the query rows,
 * in that fixed order. Every output element is written by one item, so
 * nothing depends on the split. */
#include <math.h>

#include "bwd-avx512.h"

typedef struct attn_bwd_job {
    const ck_exec_ctx *ctx;
    const ck_attention_bwd_args *a;
    size_t kvh, group;
    float *p, *ds; /* [group, T, S] */
} attn_bwd_job;

/* y += c * x over n floats */
static void axpy_row(float *y, float c, const float *x, size_t n)
{
    bv_f32 cv = bv_set1(c);
    for (size_t i = 0; i < n; i += BV_W)
        bv_store_n(y + i, bv_fmadd(cv, bv_load_n(x + i, n - i), bv_load_n(y + i, n - i)), n - i);
}

static size_t visible(const ck_attention_bwd_args *a, size_t t)
{
    if (!a->causal)
        return a->S;
    size_t last = a->q_pos + t + 1;
    return last < a->S ? last : a->S;
}

/* P[0..n) of query row t of head h into pd (doubles): the forward's probs,
 * or recomputed from scores summed in double, max subtracted, a double
 * exp. P is kept in double because dS = P (dP - sum P dP) multiplies its
 * error by |dP|, which outlier value rows make ~1e2-1e3. */
static void softmax_row(const ck_attention_bwd_args *a, size_t h, size_t t, size_t kvh, size_t n, double *pd)
{
    size_t hd = a->head_dim, stride = a->n_kv_heads * hd;
    if (a->probs) {
        const float *pr = a->probs + (h * a->T + t) * a->S;
        for (size_t s = 0; s < n; s++)
            pd[s] = pr[s];
        return;
    }
    const float *q = a->q + (t * a->n_heads + h) * hd;
    double mx = -INFINITY, sum = 0;
    for (size_t s = 0; s < n; s++) {
        pd[s] = (double)a->scale * bv_dot_f64(q, a->k + s * stride + kvh * hd, hd);
        mx = pd[s] > mx ? pd[s] : mx;
    }
    for (size_t s = 0; s < n; s++)
        pd[s] -= mx;
    bv_exp_f64_row(pd, n);
    for (size_t s = 0; s < n; s++)
        sum += pd[s];
    for (size_t s = 0; s < n; s++)
        pd[s] /= sum;
}

static void query_rows(void *arg, size_t begin, size_t end, int tid)
{
    const attn_bwd_job *j = arg;
    const ck_attention_bwd_args *a = j->a;
    size_t hd = a->head_dim, S = a->S, stride = a->n_kv_heads * hd;
    double *pd = j->ctx->scratch(j->ctx, tid, (2 * S + hd) * sizeof(double)); /* reserved up front */
    double *dp = pd + S, *dq_acc = dp + S;
    for (size_t item = begin; item < end; item++) {
        size_t g = item / a->T, t = item % a->T, h = j->kvh * j->group + g, n = visible(a, t);
        float *p = j->p + item * S, *ds = j->ds + item * S;
        const float *dout = a->dout + (t * a->n_heads + h) * hd;
        softmax_row(a, h, t, j->kvh, n, pd);
        double pdp = 0;
        for (size_t s = 0; s < n; s++) {
            dp[s] = bv_dot_f64(dout, a->v + s * stride + j->kvh * hd, hd);
            pdp += pd[s] * dp[s];
        }
        /* dq = sum_s dS[s] k[s] in double from the unrounded dS: sum_s dS[s]
         * is 0, so the sum cancels the keys' common part */
        memset(dq_acc, 0, hd * sizeof(double));
        for (size_t s = 0; s < n; s++) {
            double d = (double)a->scale * pd[s] * (dp[s] - pdp);
            p[s] = (float)pd[s];
            ds[s] = (float)d;
            if (a->dq)
                bv_axpy_f64(dq_acc, d, a->k + s * stride + j->kvh * hd, hd);
        }
        memset(p + n, 0, (S - n) * sizeof(float));
        memset(ds + n, 0, (S - n) * sizeof(float));
        if (a->dq)
            for (size_t i = 0; i < hd; i++)
                a->dq[(t * a->n_heads + h) * hd + i] = (float)dq_acc[i];
    }
}

static void key_rows(void *arg, size_t begin, size_t end, int tid)
{
    const attn_bwd_job *j = arg;
    const ck_attention_bwd_args *a = j->a;
    size_t hd = a->head_dim, S = a->S, T = a->T, off = j->kvh * hd;
    (void)tid;
    for (size_t s = begin; s < end; s++) {
        float *dk = a->dk ? a->dk + s * a->n_kv_heads * hd + off : NULL;
        float *dv = a->dv ? a->dv + s * a->n_kv_heads * hd + off : NULL;
        if (dk)
            memset(dk, 0, hd * sizeof(float));
        if (dv)
            memset(dv, 0, hd * sizeof(float));
        size_t t0 = a->causal && s > a->q_pos ? s - a->q_pos : 0;
        for (size_t g = 0; g < j->group; g++) {
            size_t h = j->kvh * j->group + g;
            for (size_t t = t0; t < T; t++) {
                size_t row = (g * T + t) * S + s, qi = (t * a->n_heads + h) * hd;
                if (dv)
                    axpy_row(dv, j->p[row], a->dout + qi, hd);
                if (dk)
                    axpy_row(dk, j->ds[row], a->q + qi, hd);
            }
        }
    }
}

int BV_KERNEL(attention_bwd)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_bwd_args *a = args;
    if (!a || !a->q || !a->k || !a->v || !a->dout || a->n_kv_heads == 0 || a->n_heads % a->n_kv_heads)
        return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 8.0 * (double)a->n_heads * (double)a->T * (double)a->S * (double)a->head_dim);
    attn_bwd_job j = {ctx, a, 0, a->n_heads / a->n_kv_heads, NULL, NULL};
    size_t rows = j.group * a->T;
    if (rows == 0 || a->S == 0 || a->head_dim == 0) {
        /* nothing flows back: zero gradients */
        if (a->dq)
            memset(a->dq, 0, a->T * a->n_heads * a->head_dim * sizeof(float));
        for (int i = 0; i < 2; i++) {
            float *d = i ? a->dv : a->dk;
            if (d)
                memset(d, 0, a->S * a->n_kv_heads * a->head_dim * sizeof(float));
        }
        return CK_OK;
    }
    j.p = ctx->scratch(ctx, CK_SCRATCH_SHARED, 2 * rows * a->S * sizeof(float));
    if (!j.p)
        return CK_E_NOMEM;
    j.ds = j.p + rows * a->S;
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, (2 * a->S + a->head_dim) * sizeof(double)))
            return CK_E_NOMEM;
    for (j.kvh = 0; j.kvh < a->n_kv_heads; j.kvh++) {
        bv_parallel(ctx, rows, 1, query_rows, &j);
        if (a->dk || a->dv)
            bv_parallel(ctx, a->S, 1, key_rows, &j);
    }
    return CK_OK;
}
