/* f32-attention_bwd/scalar: gradients of scaled dot-product attention.
 * Per head h and query row t, with P the softmax row (taken from the forward
 * when given, else recomputed in double):
 *   dV[s] += P[s] * dout;   dP[s] = dout . v[s];
 *   dS[s] = P[s] * (dP[s] - sum_j P[j] dP[j]);
 *   dq = scale * sum_s dS[s] k[s];   dK[s] += scale * dS[s] q.
 * dK and dV sum over the query heads that share a kv head (GQA).
 * A window limits row t to the keys [lo, n) the forward let it see; a soft
 * cap c (score = c tanh(r / c), r = scale * dot) multiplies dS by the cap's
 * slope 1 - tanh^2(r / c), for which the raw r is recomputed even when the
 * forward's probs are given. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scalar-bwd.h"

typedef struct attn_bwd {
    const ck_attention_bwd_args *a;
    double *p, *dp;  /* [S] */
    double *slope;   /* [S]: d capped / d raw score, 1 without a cap */
    double *dk, *dv; /* [S, Hkv, hd] */
} attn_bwd;

/* Keys row t sees: [*lo, end), as the forward (f32-attention-scalar.c). */
static size_t visible(const ck_attention_bwd_args *a, size_t t, size_t *lo)
{
    *lo = 0;
    if (!a->causal)
        return a->S;
    size_t p = a->q_pos + t;
    if (a->window && p >= a->window)
        *lo = p - a->window + 1;
    size_t end = p >= a->S ? a->S : p + 1;
    if (*lo > end)
        *lo = end;
    return end;
}

/* Raw scores into p[lo, n) with the cap applied and its slope kept. */
static void capped_scores(const attn_bwd *w, size_t h, size_t t, size_t kvh, size_t lo, size_t n)
{
    const ck_attention_bwd_args *a = w->a;
    size_t hd = a->head_dim;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    for (size_t s = lo; s < n; s++) {
        const float *k = a->k + (s * a->n_kv_heads + kvh) * hd;
        double d = 0;
        for (size_t i = 0; i < hd; i++)
            d += (double)q[i] * k[i];
        w->p[s] = d * a->scale;
        w->slope[s] = 1.0;
        if (a->softcap > 0.0f) {
            double th = tanh(w->p[s] / (double)a->softcap);
            w->p[s] = (double)a->softcap * th;
            w->slope[s] = 1.0 - th * th;
        }
    }
}

static void softmax_row(const attn_bwd *w, size_t h, size_t t, size_t kvh, size_t lo, size_t n)
{
    const ck_attention_bwd_args *a = w->a;
    if (a->softcap > 0.0f || !a->probs)
        capped_scores(w, h, t, kvh, lo, n);
    if (a->probs) {
        for (size_t s = lo; s < n; s++)
            w->p[s] = a->probs[(h * a->T + t) * a->S + s];
        return;
    }
    double mx = -INFINITY, sum = 0;
    for (size_t s = lo; s < n; s++)
        mx = w->p[s] > mx ? w->p[s] : mx;
    for (size_t s = lo; s < n; s++)
        sum += (w->p[s] = exp(w->p[s] - mx));
    for (size_t s = lo; s < n; s++)
        w->p[s] /= sum;
}

static void one_row(attn_bwd *w, size_t h, size_t t)
{
    const ck_attention_bwd_args *a = w->a;
    size_t hd = a->head_dim, kvh = h / (a->n_heads / a->n_kv_heads), lo, n = visible(a, t, &lo);
    const float *dout = a->dout + (t * a->n_heads + h) * hd;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    softmax_row(w, h, t, kvh, lo, n);
    double pdp = 0;
    for (size_t s = lo; s < n; s++) {
        const float *v = a->v + (s * a->n_kv_heads + kvh) * hd;
        double d = 0;
        for (size_t i = 0; i < hd; i++) {
            d += (double)dout[i] * v[i];
            w->dv[(s * a->n_kv_heads + kvh) * hd + i] += w->p[s] * dout[i];
        }
        w->dp[s] = d;
        pdp += w->p[s] * d;
    }
    /* dS, through the cap's slope, replaces dP in place */
    for (size_t s = lo; s < n; s++)
        w->dp[s] = w->p[s] * (w->dp[s] - pdp) * (a->softcap > 0.0f ? w->slope[s] : 1.0);
    for (size_t i = 0; i < hd && a->dq; i++) {
        double g = 0;
        for (size_t s = lo; s < n; s++)
            g += w->dp[s] * a->k[(s * a->n_kv_heads + kvh) * hd + i];
        a->dq[(t * a->n_heads + h) * hd + i] = (float)(g * a->scale);
    }
    for (size_t s = lo; s < n; s++) {
        double ds = w->dp[s] * a->scale;
        for (size_t i = 0; i < hd; i++)
            w->dk[(s * a->n_kv_heads + kvh) * hd + i] += ds * q[i];
    }
}

int ck_scalar_f32_attention_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_bwd_args *a = args;
    (void)ctx;
    size_t kvn = a->S * a->n_kv_heads * a->head_dim;
    attn_bwd w = {a,
                  calloc(a->S + 1, sizeof(double)),
                  calloc(a->S + 1, sizeof(double)),
                  calloc(a->S + 1, sizeof(double)),
                  calloc(kvn + 1, sizeof(double)),
                  calloc(kvn + 1, sizeof(double))};
    int rc = CK_E_NOMEM;
    if (w.p && w.dp && w.slope && w.dk && w.dv) {
        for (size_t h = 0; h < a->n_heads; h++)
            for (size_t t = 0; t < a->T; t++)
                one_row(&w, h, t);
        for (size_t i = 0; i < kvn; i++) {
            if (a->dk)
                a->dk[i] = (float)w.dk[i];
            if (a->dv)
                a->dv[i] = (float)w.dv[i];
        }
        rc = CK_OK;
    }
    free(w.p);
    free(w.dp);
    free(w.slope);
    free(w.dk);
    free(w.dv);
    return rc;
}
