/* error_model.c — per-element bounds for the tolerance ops (docs/ops.md,
 * "Error model"): from the case's inputs, in double, the magnitude that the
 * kernel's rounding errors scale with, times what the arithmetic the
 * contract allows can do at that length. Nothing here is calibrated on a
 * kernel: each constant is a count of roundings or a stated allowance.
 *
 *   u        2^-24, the unit roundoff of f32 (round to nearest)
 *   gamma(n) n u / (1 - n u): the worst case of n roundings in a row
 *            (Higham, Accuracy and Stability, 3.1), used for sums of
 *            non-negative terms, where there is no cancellation to hide in
 *   pdot(n)  LAMBDA sqrt(n) u: Higham & Mary's probabilistic bound for a
 *            signed sum or dot product of n terms in any order, violated
 *            with probability <= 2 n exp(-LAMBDA^2 / 2) per element if the
 *            rounding errors are independent and of mean zero
 *   EPS_F    the error allowed to exp / tanh: 4 ulps (libm and the vector
 *            exps used here are within 1-3), and EXP_FLOOR absolute: an exp
 *            whose result is below the normal range may return 0
 *   TINY     8 subnormal ulps per element: underflow rounds absolutely
 *
 * Every bound also carries u |r| for the reference's own rounding to f32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parity.h"

#define U 0x1p-24
#define LAMBDA 10.0 /* 2 n e^-50: < 1e-17 per element for n < 2^16 */
#define EPS_F (8.0 * U)
#define TINY 0x1p-146
#define EXP_MAX 88.72283935546875 /* exp overflows f32 beyond */
#define EXP_FLOOR 0x1p-126        /* FLT_MIN */

static double gamma_n(double n)
{
    return n * U / (1.0 - n * U);
}

static double pdot(double n)
{
    return LAMBDA * sqrt(n) * U;
}

typedef struct model {
    const ck_case *c;
    const ck_run_outcome *ref;
    double *b; /* one per element of every output, in case order */
} model;

/* The bounds and the reference values of output `name`. */
static double *bounds_of(model *m, const char *name, const float **r)
{
    size_t off = 0, boff = 0;
    for (size_t i = 0; i < ck_case_n_bufs(m->c); i++) {
        const ck_case_buf *b = ck_case_buf_at(m->c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        if (!strcmp(b->name, name)) {
            *r = (const float *)(const void *)(m->ref->outputs + off);
            return m->b + boff;
        }
        off += b->bytes;
        boff += b->count;
    }
    return NULL;
}

static double widen(const void *w, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case CK_DTYPE_BF16: return ck_bf16_to_f32(((const uint16_t *)w)[i]);
    case CK_DTYPE_F16: return ck_f16_to_f32(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

/* ---- linear, qkv: |y - r| <= pdot(K + 1) (sum_k |x_k w_k| + |b|) ---------------------- */

static void dot_rows(const float *x, const void *w, uint32_t dt, const float *bias, size_t T, size_t K, size_t N,
                     double *b, const float *r)
{
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            double mag = bias ? fabs((double)bias[n]) : 0.0;
            for (size_t k = 0; k < K; k++)
                mag += fabs((double)x[t * K + k] * widen(w, dt, n * K + k));
            size_t i = t * N + n;
            b[i] = pdot((double)K + 1) * mag + U * fabs((double)r[i]) + (double)(K + 1) * TINY;
        }
}

static int linear_bounds(model *m, const ck_linear_args *a)
{
    const float *r;
    double *b = bounds_of(m, "y", &r);
    if (!b)
        return -1;
    dot_rows(a->x, a->w, a->w_dtype, a->bias, a->T, a->K, a->N, b, r);
    return 0;
}

static int qkv_bounds(model *m, const ck_qkv_args *a)
{
    const char *names[3] = {"q", "k", "v"};
    const void *w[3] = {a->wq, a->wk, a->wv};
    const float *bias[3] = {a->bq, a->bk, a->bv};
    size_t heads[3] = {a->n_heads, a->n_kv_heads, a->n_kv_heads};
    for (int i = 0; i < 3; i++) {
        const float *r;
        double *b = bounds_of(m, names[i], &r);
        if (!b)
            return -1;
        dot_rows(a->x, w[i], a->w_dtype, bias[i], a->T, a->D, heads[i] * a->head_dim, b, r);
    }
    return 0;
}

/* ---- norms ----------------------------------------------------------------------------------- */

/* rmsnorm: the sum of squares has no cancellation (gamma(D) relative); then
 * /D, +eps, sqrt (halves what came before), reciprocal, x*, *gamma: 5
 * roundings, and 3 more allowed for a refined rsqrt or another order. */
static int norm_bounds(model *m, const ck_norm_args *a, int layer)
{
    const float *r;
    double *b = bounds_of(m, "y", &r);
    if (!b)
        return -1;
    size_t D = a->D;
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * D;
        double mean = 0, sabs = 0, ss = 0;
        for (size_t i = 0; layer && i < D; i++) {
            mean += x[i];
            sabs += fabs((double)x[i]);
        }
        mean /= (double)D;
        for (size_t i = 0; i < D; i++)
            ss += ((double)x[i] - mean) * ((double)x[i] - mean);
        double var = ss / (double)D, inv = 1.0 / sqrt(var + (double)a->eps);
        /* layernorm: the mean's error moves every x - mean by the same
         * delta, which adds delta^2 to the variance */
        double delta = layer ? pdot((double)D + 1) * sabs / (double)D : 0.0;
        double rel = 0.5 * gamma_n((double)D + 3) + 8 * U;
        double var_rel = layer && var + a->eps > 0 ? 0.5 * delta * delta / (var + (double)a->eps) : 0.0;
        for (size_t i = 0; i < D; i++) {
            size_t j = t * D + i;
            double g = fabs((double)a->gamma[i]);
            double core = fabs((double)x[i] - mean) * inv * g;
            double beta = layer && a->beta ? fabs((double)a->beta[i]) : 0.0;
            /* x gamma may round in the subnormal range before * inv */
            b[j] =
                (rel + var_rel) * core + delta * inv * g + 2 * U * beta + U * fabs((double)r[j]) + TINY * (1.0 + inv);
        }
    }
    return 0;
}

/* ---- swiglu, gelu ------------------------------------------------------------------------------- */

/* y = g / (1 + e) * up, e = exp(-g): e's error EPS_F reaches y damped by
 * e / (1 + e); add, divide (or reciprocal and multiply), multiply: 4u.
 * Where exp(-g) overflows f32 the kernel's 0 is right: the whole |r|. */
static int swiglu_bounds(model *m, const ck_swiglu_args *a)
{
    const float *r;
    double *b = bounds_of(m, "y", &r);
    if (!b)
        return -1;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], e = exp(-g), ar = fabs((double)r[i]);
        double damp = isinf(e) ? 1.0 : e / (1.0 + e);
        /* silu(g) may round in the subnormal range before the product */
        b[i] = (EPS_F * damp + 5 * U) * ar + (-g > EXP_MAX ? ar : 0.0) + TINY * (1.0 + fabs((double)a->up[i]));
    }
    return 0;
}

/* y = 0.5 x (1 + tanh(z)), z = c (x + a x^3): z carries 5 roundings
 * (|dz| <= 5u c (|x| + a|x|^3)), tanh EPS_F relative, and 1 + t cancels for
 * x << 0, so the error is 0.5|x| (EPS_F |t| + (1 - t^2) 2|dz|) absolute
 * (2|dz|: the sigmoid form x / (1 + exp(-2z)) is allowed too), plus the
 * last roundings relative to y. */
static int gelu_bounds(model *m, const ck_unary_args *a)
{
    const float *r;
    double *b = bounds_of(m, "y", &r);
    if (!b)
        return -1;
    const double c = 0.7978845608028654, k3 = 0.044715;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i], ax = fabs(x);
        double z = c * (x + k3 * x * x * x), t = tanh(z);
        double dz = 5 * U * c * (ax + k3 * ax * ax * ax);
        b[i] = 0.5 * ax * (EPS_F * fabs(t) + (1 - t * t) * 2 * dz) + (EPS_F + 4 * U) * fabs((double)r[i]) + TINY;
    }
    return 0;
}

/* ---- attention ---------------------------------------------------------------------------------- */

typedef struct att_row {
    double *sc, *p, *pi; /* score, probability, relative error bound of p; per key */
} att_row;

/* One query row of one head: scores (error sig = pdot(hd + 2) scale
 * sum|q k| + u|score|), probabilities (exp of score - max: the score's and
 * the max's errors, u|score - max|, EPS_F; the sum Z of positive terms
 * gamma(S); the division u), then out = sum p v (each p's error, the signed
 * sum pdot(S + 1), and gamma(2S) for an online softmax's rescalings of the
 * partial sums, whose exp factor cancels between numerator and Z). */
static void att_one(const ck_attention_args *a, size_t t, size_t h, att_row *w, double *b_sc, const float *r_sc,
                    double *b_p, const float *r_p, double *b_out, const float *r_out)
{
    size_t H = a->n_heads, hd = a->head_dim, S = a->S, kvh = h / (H / a->n_kv_heads);
    size_t vis = a->causal ? (a->q_pos + t + 1 < S ? a->q_pos + t + 1 : S) : S;
    const float *q = a->q + (t * H + h) * hd;
    double mx = -INFINITY, sig_max = 0, z = 0, a_rel = 0;
    double *sig = w->pi;
    for (size_t s = 0; s < vis; s++) {
        const float *k = a->k + (s * a->n_kv_heads + kvh) * hd;
        double dot = 0, mag = 0;
        for (size_t d = 0; d < hd; d++) {
            dot += (double)q[d] * k[d];
            mag += fabs((double)q[d] * k[d]);
        }
        w->sc[s] = (double)a->scale * dot;
        sig[s] = pdot((double)hd + 2) * fabs((double)a->scale) * mag + U * fabs(w->sc[s]);
        mx = w->sc[s] > mx ? w->sc[s] : mx;
        sig_max = sig[s] > sig_max ? sig[s] : sig_max;
    }
    for (size_t s = 0; s < vis; s++)
        z += (w->p[s] = exp(w->sc[s] - mx));
    for (size_t s = 0; s < vis; s++) {
        w->p[s] /= z;
        /* rho: relative error of exp(score - max) */
        double rho = sig[s] + sig_max + U * fabs(w->sc[s] - mx) + EPS_F;
        if (b_sc)
            b_sc[(h * a->T + t) * S + s] = sig[s] + U * fabs((double)r_sc[(h * a->T + t) * S + s]) + TINY;
        w->pi[s] = rho; /* sig no longer needed */
        a_rel += w->p[s] * rho;
    }
    for (size_t s = 0; s < vis; s++) {
        w->pi[s] += a_rel + gamma_n((double)vis + 1);
        size_t j = (h * a->T + t) * S + s;
        if (b_p)
            b_p[j] = w->p[s] * w->pi[s] + U * fabs((double)r_p[j]) + EXP_FLOOR + TINY;
    }
    for (size_t s = vis; s < S; s++) {
        size_t j = (h * a->T + t) * S + s;
        if (b_sc)
            b_sc[j] = 0; /* masked: exactly -inf and 0 */
        if (b_p)
            b_p[j] = 0;
    }
    for (size_t d = 0; d < hd; d++) {
        double mag = 0, perr = 0, vsum = 0;
        for (size_t s = 0; s < vis; s++) {
            double av = fabs((double)a->v[(s * a->n_kv_heads + kvh) * hd + d]), pv = w->p[s] * av;
            vsum += av;
            mag += pv;
            perr += pv * w->pi[s];
        }
        size_t j = (t * H + h) * hd + d;
        b_out[j] = perr + (pdot((double)vis + 1) + gamma_n(2.0 * (double)vis)) * mag + U * fabs((double)r_out[j]) +
                   EXP_FLOOR * vsum + (double)(vis + 1) * TINY;
    }
}

static int attention_bounds(model *m, const ck_attention_args *a)
{
    const float *r_out, *r_sc = NULL, *r_p = NULL;
    double *b_out = bounds_of(m, "out", &r_out), *b_sc = NULL, *b_p = NULL;
    if (!b_out)
        return -1;
    if (a->scores)
        b_sc = bounds_of(m, "scores", &r_sc);
    if (a->probs)
        b_p = bounds_of(m, "probs", &r_p);
    size_t S = a->S ? a->S : 1;
    double *buf = malloc(3 * S * sizeof *buf);
    if (!buf)
        return -1;
    att_row w = {buf, buf + S, buf + 2 * S};
    if (a->S == 0)
        for (size_t j = 0; j < a->T * a->n_heads * a->head_dim; j++)
            b_out[j] = 0; /* nothing to attend to: exactly 0 */
    for (size_t t = 0; a->S && t < a->T; t++)
        for (size_t h = 0; h < a->n_heads; h++)
            att_one(a, t, h, &w, b_sc, r_sc, b_p, r_p, b_out, r_out);
    free(buf);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------------------------- */

double *ck_error_bounds(const ck_case *c, const ck_run_outcome *ref)
{
    const ck_shape *s = ck_case_shape(c);
    const void *args = ck_case_args(c);
    if (ref->state != CK_RUN_DONE || !ref->outputs)
        return NULL;
    if ((s->op == CK_OP_LINEAR || s->op == CK_OP_QKV) && s->dtype != CK_DTYPE_F32 && s->dtype != CK_DTYPE_BF16 &&
        s->dtype != CK_DTYPE_F16)
        return NULL; /* quantised: quant.md's bounds */
    size_t n = 0;
    for (size_t i = 0; i < ck_case_n_bufs(c); i++)
        if (ck_case_buf_is_output(ck_case_buf_at(c, i)))
            n += ck_case_buf_at(c, i)->count;
    model m = {c, ref, malloc((n ? n : 1) * sizeof(double))};
    if (!m.b)
        return NULL;
    int rc;
    switch (s->op) {
    case CK_OP_LINEAR: rc = linear_bounds(&m, args); break;
    case CK_OP_QKV: rc = qkv_bounds(&m, args); break;
    case CK_OP_RMSNORM: rc = norm_bounds(&m, args, 0); break;
    case CK_OP_LAYERNORM: rc = norm_bounds(&m, args, 1); break;
    case CK_OP_SWIGLU: rc = swiglu_bounds(&m, args); break;
    case CK_OP_GELU: rc = gelu_bounds(&m, args); break;
    case CK_OP_ATTENTION: rc = attention_bounds(&m, args); break;
    default: rc = -1; break;
    }
    if (rc != 0) {
        free(m.b);
        return NULL;
    }
    return m.b;
}
