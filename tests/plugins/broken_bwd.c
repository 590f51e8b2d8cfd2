/* The parity gate's test subject for the trainable variants (issue 18):
 * each kernel is right but for one deliberate defect, which only the
 * arguments using the feature expose:
 *   attention_bwd  ignores the soft-cap's slope (dS not multiplied by
 *                  1 - tanh^2), claiming CK_KF_ATTN_WINDOW_SOFTCAP
 *   geglu_bwd      dgate with gelu' = 0.5 (1 + tanh z): the x (1 - tanh^2 z)
 *                  term dropped (dup is right)
 * The tests (tests/unit/test_parity.c) check that `ckbench parity` fails the
 * cases that use the feature and names the kernel. Plain C in double, one
 * thread: no other defect to confuse the verdicts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_plugin.h"

/* one query row of head h: P over [lo, n), then dq and the dk / dv shares */
static void attention_row(const ck_attention_bwd_args *a, size_t h, size_t t, double *p, double *dk, double *dv)
{
    size_t hd = a->head_dim, kvh = h / (a->n_heads / a->n_kv_heads), pos = a->q_pos + t, lo = 0;
    size_t n = a->causal && pos + 1 < a->S ? pos + 1 : a->S;
    if (a->causal && a->window && pos >= a->window)
        lo = pos - a->window + 1 < n ? pos - a->window + 1 : n;
    const float *q = a->q + (t * a->n_heads + h) * hd, *dout = a->dout + (t * a->n_heads + h) * hd;
    double mx = -INFINITY, sum = 0, pdp = 0;
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
    double *dp = p + a->S;
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
        for (size_t s = lo; s < n; s++) /* the defect: no cap slope on dS */
            g += p[s] * (dp[s] - pdp) * a->k[(s * a->n_kv_heads + kvh) * hd + i];
        if (a->dq)
            a->dq[(t * a->n_heads + h) * hd + i] = (float)(g * a->scale);
    }
    for (size_t s = lo; s < n; s++)
        for (size_t i = 0; i < hd; i++)
            dk[(s * a->n_kv_heads + kvh) * hd + i] += p[s] * (dp[s] - pdp) * a->scale * q[i];
}

static int attention_bwd_ignores_cap_slope(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_bwd_args *a = args;
    (void)ctx;
    size_t kvn = a->S * a->n_kv_heads * a->head_dim;
    double *p = calloc(2 * a->S + 1, sizeof *p), *dk = calloc(kvn + 1, sizeof *dk), *dv = calloc(kvn + 1, sizeof *dv);
    int rc = p && dk && dv ? CK_OK : CK_E_NOMEM;
    for (size_t h = 0; rc == CK_OK && h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++)
            attention_row(a, h, t, p, dk, dv);
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

static int geglu_bwd_drops_the_slope_term(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], th = tanh(0.7978845608028654 * (g + 0.044715 * g * g * g));
        if (a->dgate)
            a->dgate[i] = (float)((double)a->dy[i] * a->up[i] * 0.5 * (1.0 + th));
        if (a->dup)
            a->dup[i] = (float)((double)a->dy[i] * 0.5 * g * (1.0 + th));
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION_BWD, CK_DTYPE_F32, CK_KF_ATTN_WINDOW_SOFTCAP, "f32-attention_bwd/ignores-cap-slope",
     attention_bwd_ignores_cap_slope},
    {CK_OP_GEGLU_BWD, CK_DTYPE_F32, 0, "f32-geglu_bwd/drops-slope-term", geglu_bwd_drops_the_slope_term},
};

CK_TEST_PLUGIN("broken_bwd", "attention_bwd without the cap's slope, geglu_bwd without gelu's tanh-slope term")
