/* attention_bwd_ref.h — attention's backward in double, one query row at a
 * time, written once for the test plugins that break one part of it: the
 * caller says which kv head a query head reads. Windows are honoured; a
 * soft-cap caps the scores but dS never gets the cap's slope, which is
 * broken_bwd.c's defect (its other users decline soft-caps). */
#ifndef CK_ATTENTION_BWD_REF_H
#define CK_ATTENTION_BWD_REF_H

#include <math.h>
#include <stdlib.h>

#include "ck_plugin.h"

typedef size_t (*ref_kv_head_fn)(size_t h, size_t H, size_t Hkv);

/* the right grouping: G = H / Hkv query heads per kv head */
static inline size_t ref_kv_head(size_t h, size_t H, size_t Hkv)
{
    return h / (H / Hkv);
}

/* query row t of head h: P over the keys it sees, then dq and its shares
 * of dk and dv (p: 2 S doubles of scratch) */
static inline void ref_attention_bwd_row(const ck_attention_bwd_args *a, size_t h, size_t kvh, size_t t, double *p,
                                         double *dk, double *dv)
{
    size_t hd = a->head_dim, pos = a->q_pos + t, lo = 0;
    size_t n = a->causal && pos + 1 < a->S ? pos + 1 : a->S;
    if (a->causal && a->window && pos >= a->window)
        lo = pos - a->window + 1 < n ? pos - a->window + 1 : n;
    const float *q = a->q + (t * a->n_heads + h) * hd, *dout = a->dout + (t * a->n_heads + h) * hd;
    double mx = -INFINITY, sum = 0, pdp = 0, *dp = p + a->S;
    for (size_t s = lo; s < n; s++) {
        double d = 0;
        for (size_t i = 0; i < hd; i++)
            d += (double)q[i] * a->k[(s * a->n_kv_heads + kvh) * hd + i];
        d *= a->scale;
        if (a->softcap > 0.0f)
            d = a->softcap * tanh(d / a->softcap);
        p[s] = d;
        mx = d > mx ? d : mx;
    }
    for (size_t s = lo; s < n; s++)
        sum += (p[s] = exp(p[s] - mx));
    for (size_t s = lo; s < n; s++) {
        p[s] /= sum;
        double d = 0;
        for (size_t i = 0; i < hd; i++) {
            d += (double)dout[i] * a->v[(s * a->n_kv_heads + kvh) * hd + i];
            dv[(s * a->n_kv_heads + kvh) * hd + i] += p[s] * dout[i];
        }
        dp[s] = d;
        pdp += p[s] * d;
    }
    for (size_t i = 0; i < hd; i++) {
        double g = 0;
        for (size_t s = lo; s < n; s++) /* no cap slope on dS (see above) */
            g += p[s] * (dp[s] - pdp) * a->k[(s * a->n_kv_heads + kvh) * hd + i];
        if (a->dq)
            a->dq[(t * a->n_heads + h) * hd + i] = (float)(g * a->scale);
    }
    for (size_t s = lo; s < n; s++)
        for (size_t i = 0; i < hd; i++)
            dk[(s * a->n_kv_heads + kvh) * hd + i] += p[s] * (dp[s] - pdp) * a->scale * q[i];
}

/* every row of every head, dk and dv summed in double and rounded once */
static inline int ref_attention_bwd(const ck_attention_bwd_args *a, ref_kv_head_fn kv_head)
{
    const size_t kvn = a->S * a->n_kv_heads * a->head_dim;
    double *p = calloc(2 * a->S + 1, sizeof *p), *dk = calloc(kvn + 1, sizeof *dk), *dv = calloc(kvn + 1, sizeof *dv);
    int rc = p && dk && dv ? CK_OK : CK_E_NOMEM;
    for (size_t h = 0; rc == CK_OK && h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++)
            ref_attention_bwd_row(a, h, kv_head(h, a->n_heads, a->n_kv_heads), t, p, dk, dv);
    for (size_t i = 0; rc == CK_OK && i < kvn; i++) {
        if (a->dk)
            a->dk[i] = (float)dk[i];
        if (a->dv)
            a->dv[i] = (float)dv[i];
    }
    free(p);
    free(dk);
    free(dv);
    return rc;
}

#endif
