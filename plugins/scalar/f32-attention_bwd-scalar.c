/* f32-attention_bwd/scalar: gradients of scaled dot-product attention.
 * Per head h and query row t, with P the softmax row (taken from the forward
 * when given, else recomputed in double):
 *   dV[s] += P[s] * dout;   dP[s] = dout . v[s];
 *   dS[s] = P[s] * (dP[s] - sum_j P[j] dP[j]);
 *   dq = scale * sum_s dS[s] k[s];   dK[s] += scale * dS[s] q.
 * dK and dV sum over the query heads that share a kv head (GQA). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scalar-bwd.h"

typedef struct attn_bwd {
    const ck_attention_bwd_args *a;
    double *p, *dp;  /* [S] */
    double *dk, *dv; /* [S, Hkv, hd] */
} attn_bwd;

static size_t visible(const ck_attention_bwd_args *a, size_t t)
{
    if (!a->causal)
        return a->S;
    size_t last = a->q_pos + t + 1;
    return last < a->S ? last : a->S;
}

static void softmax_row(const attn_bwd *w, size_t h, size_t t, size_t kvh, size_t n)
{
    const ck_attention_bwd_args *a = w->a;
    size_t hd = a->head_dim;
    if (a->probs) {
        for (size_t s = 0; s < n; s++)
            w->p[s] = a->probs[(h * a->T + t) * a->S + s];
        return;
    }
    const float *q = a->q + (t * a->n_heads + h) * hd;
    double mx = -INFINITY, sum = 0;
    for (size_t s = 0; s < n; s++) {
        const float *k = a->k + (s * a->n_kv_heads + kvh) * hd;
        double d = 0;
        for (size_t i = 0; i < hd; i++)
            d += (double)q[i] * k[i];
        w->p[s] = d * a->scale;
        mx = w->p[s] > mx ? w->p[s] : mx;
    }
    for (size_t s = 0; s < n; s++)
        sum += (w->p[s] = exp(w->p[s] - mx));
    for (size_t s = 0; s < n; s++)
        w->p[s] /= sum;
}

static void one_row(attn_bwd *w, size_t h, size_t t)
{
    const ck_attention_bwd_args *a = w->a;
    size_t hd = a->head_dim, kvh = h / (a->n_heads / a->n_kv_heads), n = visible(a, t);
    const float *dout = a->dout + (t * a->n_heads + h) * hd;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    softmax_row(w, h, t, kvh, n);
    double pdp = 0;
    for (size_t s = 0; s < n; s++) {
        const float *v = a->v + (s * a->n_kv_heads + kvh) * hd;
        double d = 0;
        for (size_t i = 0; i < hd; i++) {
            d += (double)dout[i] * v[i];
            w->dv[(s * a->n_kv_heads + kvh) * hd + i] += w->p[s] * dout[i];
        }
        w->dp[s] = d;
        pdp += w->p[s] * d;
    }
    for (size_t i = 0; i < hd && a->dq; i++) {
        double g = 0;
        for (size_t s = 0; s < n; s++)
            g += w->p[s] * (w->dp[s] - pdp) * a->k[(s * a->n_kv_heads + kvh) * hd + i];
        a->dq[(t * a->n_heads + h) * hd + i] = (float)(g * a->scale);
    }
    for (size_t s = 0; s < n; s++) {
        double ds = w->p[s] * (w->dp[s] - pdp) * a->scale;
        for (size_t i = 0; i < hd; i++)
            w->dk[(s * a->n_kv_heads + kvh) * hd + i] += ds * q[i];
    }
}

int ck_scalar_f32_attention_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_bwd_args *a = args;
    (void)ctx;
    size_t kvn = a->S * a->n_kv_heads * a->head_dim;
    attn_bwd w = {a, calloc(a->S + 1, sizeof(double)), calloc(a->S + 1, sizeof(double)),
                  calloc(kvn + 1, sizeof(double)), calloc(kvn + 1, sizeof(double))};
    int rc = CK_E_NOMEM;
    if (w.p && w.dp && w.dk && w.dv) {
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
    free(w.dk);
    free(w.dv);
    return rc;
}
