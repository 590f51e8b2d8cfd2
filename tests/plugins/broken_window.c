/* The parity gate's test subject for window, softcap and partial rotary
 * (issue 18): each kernel claims its capability flag and is right but for
 * one deliberate defect, which only the arguments using the feature expose:
 *   attention  off by one at the window edge: also sees key p - window
 *   attn_proj  (f32) ignores softcap: plain scores, then the projection
 *   rope       rotates one pair past rotary_dim (with the last table column)
 * The tests (tests/unit/test_parity.c) check that `ckbench parity` fails
 * exactly the cases that use the feature and names them. Plain C in double,
 * one thread: no other defect to confuse the verdicts. */
#include <math.h>
#include <stdlib.h>

#include "test_plugin.h"

enum { RIGHT = 0, OFF_BY_ONE = 1, NO_SOFTCAP = 2 };

static void attend_row(const ck_attention_args *a, size_t h, size_t t, int defect, double *p)
{
    size_t hd = a->head_dim, kvh = h / (a->n_heads / a->n_kv_heads), pos = a->q_pos + t;
    size_t end = a->causal && pos + 1 < a->S ? pos + 1 : a->S, lo = 0;
    size_t w = a->window + (defect == OFF_BY_ONE); /* the defect: one key too many */
    if (a->causal && a->window && pos >= w)
        lo = pos - w + 1;
    if (lo > end)
        lo = end;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    double mx = -INFINITY, sum = 0;
    for (size_t s = lo; s < end; s++) {
        const float *k = a->k + (s * a->n_kv_heads + kvh) * hd;
        double d = 0;
        for (size_t i = 0; i < hd; i++)
            d += (double)q[i] * k[i];
        d *= a->scale;
        if (a->softcap > 0.0f && defect != NO_SOFTCAP)
            d = a->softcap * tanh(d / a->softcap);
        p[s] = d;
        mx = d > mx ? d : mx;
    }
    size_t row = (h * a->T + t) * a->S;
    for (size_t s = 0; s < a->S; s++) {
        int seen = s >= lo && s < end;
        if (a->scores)
            a->scores[row + s] = seen ? (float)p[s] : -INFINITY;
        if (seen)
            sum += (p[s] = exp(p[s] - mx));
    }
    float *out = a->out + (t * a->n_heads + h) * hd;
    for (size_t i = 0; i < hd; i++) {
        double acc = 0;
        for (size_t s = lo; s < end; s++)
            acc += p[s] / sum * a->v[(s * a->n_kv_heads + kvh) * hd + i];
        out[i] = (float)acc;
    }
    for (size_t s = 0; a->probs && s < a->S; s++)
        a->probs[row + s] = s >= lo && s < end ? (float)(p[s] / sum) : 0.0f;
}

static int attention(const ck_attention_args *a, int defect)
{
    double *p = malloc((a->S + 1) * sizeof *p);
    if (!p)
        return CK_E_NOMEM;
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++)
            attend_row(a, h, t, defect, p);
    free(p);
    return CK_OK;
}

static int attention_window_off_by_one(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    return attention(args, OFF_BY_ONE);
}

static int attn_proj_ignores_softcap(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_fused_attn_proj_args *f = args;
    int rc = attention(&f->attn, NO_SOFTCAP);
    const ck_linear_args *l = &f->proj;
    const float *w = l->w;
    for (size_t t = 0; rc == CK_OK && t < l->T; t++)
        for (size_t n = 0; n < l->N; n++) {
            double acc = l->bias ? l->bias[n] : 0.0;
            for (size_t k = 0; k < l->K; k++)
                acc += (double)l->x[t * l->K + k] * w[n * l->K + k];
            l->y[t * l->N + n] = (float)acc;
        }
    return rc;
}

static void rotate(float *x, const float *c, const float *s, size_t half, size_t hd, uint32_t pairing)
{
    size_t pairs = 2 * half < hd ? half + 1 : half; /* the defect: one pair past rotary_dim */
    for (size_t i = 0; i < pairs; i++) {
        size_t j = i < half ? i : half - 1;
        size_t i0 = pairing == CK_ROPE_GPTJ ? 2 * i : i, i1 = pairing == CK_ROPE_GPTJ ? 2 * i + 1 : i + half;
        if (pairing != CK_ROPE_GPTJ && i == half) /* neox: the first dims past the rotated ones */
            i0 = 2 * half, i1 = 2 * half + 1;
        float x0 = x[i0], x1 = x[i1];
        float p00 = x0 * c[j], p11 = x1 * s[j], p01 = x0 * s[j], p10 = x1 * c[j];
        x[i0] = p00 - p11;
        x[i1] = p01 + p10;
    }
}

static int rope_past_rotary_dim(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_rope_args *a = args;
    size_t hd = a->head_dim, half = (a->rotary_dim ? a->rotary_dim : hd) / 2;
    for (size_t t = 0; t < a->T; t++) {
        const float *c = a->cos_tab + (a->pos_offset + t) * half, *s = a->sin_tab + (a->pos_offset + t) * half;
        for (size_t h = 0; h < a->n_heads; h++)
            rotate(a->q + (t * a->n_heads + h) * hd, c, s, half, hd, a->pairing);
        for (size_t h = 0; a->k && h < a->n_kv_heads; h++)
            rotate(a->k + (t * a->n_kv_heads + h) * hd, c, s, half, hd, a->pairing);
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, CK_KF_ATTN_WINDOW_SOFTCAP, "f32-attention/window-off-by-one",
     attention_window_off_by_one},
    {CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED | CK_KF_ATTN_WINDOW_SOFTCAP, "f32-attn_proj/ignores-softcap",
     attn_proj_ignores_softcap},
    {CK_OP_ROPE, CK_DTYPE_F32, CK_KF_ROPE_PARTIAL, "f32-rope/past-rotary-dim", rope_past_rotary_dim},
};

CK_TEST_PLUGIN("broken_window", "window off by one, softcap ignored, rope past rotary_dim")
