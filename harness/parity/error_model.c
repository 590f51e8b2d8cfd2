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

#include "error_model.h"


/* The case buffer p points into, or -1. */
static int buf_of(const model *m, const void *p)
{
    for (size_t i = 0; p && i < ck_case_n_bufs(m->c); i++) {
        const ck_case_buf *b = ck_case_buf_at(m->c, i);
        const unsigned char *d = b->data;
        if ((const unsigned char *)p >= d && (const unsigned char *)p < d + (b->bytes ? b->bytes : 1))
            return (int)i;
    }
    return -1;
}

/* Byte offset of buffer i's copy in the reference's outputs (outputs in
 * case order, then intermediates), and its element offset in m->b. */
static void offsets(const model *m, int i, size_t *bytes, size_t *elems)
{
    const ck_case_buf *bi = ck_case_buf_at(m->c, (size_t)i);
    *bytes = *elems = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < ck_case_n_bufs(m->c); j++) {
            const ck_case_buf *b = ck_case_buf_at(m->c, j);
            int in_pass = pass == 0 ? ck_case_buf_is_output(b) : b->role == CK_BUF_SCRATCH;
            if (!in_pass)
                continue;
            if ((int)j == i)
                return;
            *bytes += b->bytes;
            if (pass == 0)
                *elems += b->count;
        }
    (void)bi;
}

/* The values an op read at p: the case's input, or the reference's copy of
 * an output or intermediate (the parent never ran a kernel on the case). */
static const float *vals(const model *m, const float *p)
{
    int i = buf_of(m, p);
    if (i < 0 || ck_case_buf_is_input(ck_case_buf_at(m->c, (size_t)i)))
        return p;
    size_t bytes, elems;
    offsets(m, i, &bytes, &elems);
    return (const float *)(const void *)(m->ref->outputs + bytes) +
           (p - (const float *)ck_case_buf_at(m->c, (size_t)i)->data);
}

/* The error bound of what an op read at p: NULL for the case's inputs
 * (exact), else the bound a previous member left there. */
static const double *errs(const model *m, const float *p)
{
    int i = buf_of(m, p);
    if (i < 0 || !m->done[i])
        return NULL;
    const ck_case_buf *b = ck_case_buf_at(m->c, (size_t)i);
    size_t bytes, elems, at = (size_t)(p - (const float *)b->data);
    offsets(m, i, &bytes, &elems);
    return b->role == CK_BUF_SCRATCH ? m->scratch[i] + at : m->b + elems + at;
}

/* Where an op's bounds for output p go, and the reference's values there. */
double *em_bounds_at(model *m, const float *p, const float **r)
{
    int i = buf_of(m, p);
    if (i < 0)
        return NULL;
    const ck_case_buf *b = ck_case_buf_at(m->c, (size_t)i);
    size_t bytes, elems, at = (size_t)(p - (const float *)b->data);
    offsets(m, i, &bytes, &elems);
    if (b->role == CK_BUF_SCRATCH && !m->scratch[i] &&
        !(m->scratch[i] = calloc(b->count ? b->count : 1, sizeof(double))))
        return NULL;
    if (!ck_case_buf_is_output(b) && b->role != CK_BUF_SCRATCH)
        return NULL;
    m->done[i] = 1;
    *r = vals(m, p);
    return b->role == CK_BUF_SCRATCH ? m->scratch[i] + at : m->b + elems + at;
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

/* For a fused op's later member x carries the error e of the member that
 * made it: sum_k e_k |w_k| more, and the magnitude taken at |x| + e. */
static int dot_rows(model *m, const float *xp, const void *w, uint32_t dt, const float *bias, const float *yp, size_t T,
                    size_t K, size_t N)
{
    const float *r, *x = vals(m, xp);
    const double *e = errs(m, xp);
    double *b = em_bounds_at(m, yp, &r);
    if (!b)
        return -1;
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            double mag = bias ? fabs((double)bias[n]) : 0.0, prop = 0.0;
            for (size_t k = 0; k < K; k++) {
                double aw = fabs(widen(w, dt, n * K + k)), ek = e ? e[t * K + k] : 0.0;
                mag += (fabs((double)x[t * K + k]) + ek) * aw;
                prop += ek * aw;
            }
            size_t i = t * N + n;
            b[i] = pdot((double)K + 1) * mag + prop + U * fabs((double)r[i]) + (double)(K + 1) * TINY;
        }
    return 0;
}

static int linear_bounds(model *m, const ck_linear_args *a)
{
    return dot_rows(m, a->x, a->w, a->w_dtype, a->bias, a->y, a->T, a->K, a->N);
}

static int qkv_bounds(model *m, const ck_qkv_args *a)
{
    const void *w[3] = {a->wq, a->wk, a->wv};
    const float *bias[3] = {a->bq, a->bk, a->bv}, *y[3] = {a->q, a->k, a->v};
    size_t heads[3] = {a->n_heads, a->n_kv_heads, a->n_kv_heads};
    for (int i = 0; i < 3; i++)
        if (dot_rows(m, a->x, w[i], a->w_dtype, bias[i], y[i], a->T, a->D, heads[i] * a->head_dim))
            return -1;
    return 0;
}

/* ---- norms ----------------------------------------------------------------------------------- */

/* rmsnorm: the sum of squares has no cancellation (gamma(D) relative); then
 * /D, +eps, sqrt (halves what came before), reciprocal, x*, *gamma: 5
 * roundings, and 3 more allowed for a refined rsqrt or another order. A
 * norm reads exact inputs only (a case input, or an exact member's output). */
static int norm_bounds(model *m, const ck_norm_args *a, int layer)
{
    const float *r, *x0 = vals(m, a->x);
    double *b = em_bounds_at(m, a->y, &r);
    if (!b)
        return -1;
    size_t D = a->D;
    for (size_t t = 0; t < a->T; t++) {
        const float *x = x0 + t * D;
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

#define SILU_SLOPE 1.0999 /* max |silu'|: an input error's largest effect */
#define GELU_SLOPE 1.1290 /* max |gelu'| */

/* y = g / (1 + e) * up, e = exp(-g): e's error EPS_F reaches y damped by
 * e / (1 + e); add, divide (or reciprocal and multiply), multiply: 4u.
 * Where exp(-g) overflows f32 the kernel's 0 is right: the whole |r|. */
static int swiglu_bounds(model *m, const ck_swiglu_args *a)
{
    const float *r, *gate = vals(m, a->gate), *up = vals(m, a->up);
    const double *ge = errs(m, a->gate), *ue = errs(m, a->up);
    double *b = em_bounds_at(m, a->y, &r);
    if (!b)
        return -1;
    for (size_t i = 0; i < a->n; i++) {
        double g = gate[i], e = exp(-g), ar = fabs((double)r[i]), u = fabs((double)up[i]);
        double damp = isinf(e) ? 1.0 : e / (1.0 + e);
        double dg = ge ? ge[i] : 0.0, du = ue ? ue[i] : 0.0;
        double prop = SILU_SLOPE * dg * (u + du) + fabs(g / (1.0 + e)) * du;
        /* silu(g) may round in the subnormal range before the product */
        b[i] = (EPS_F * damp + 5 * U) * ar + (-g > EXP_MAX ? ar : 0.0) + prop + TINY * (1.0 + u);
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
    const float *r, *xv = vals(m, a->x);
    const double *xe = errs(m, a->x);
    double *b = em_bounds_at(m, a->y, &r);
    if (!b)
        return -1;
    const double c = 0.7978845608028654, k3 = 0.044715;
    for (size_t i = 0; i < a->n; i++) {
        double x = xv[i], ax = fabs(x);
        double z = c * (x + k3 * x * x * x), t = tanh(z);
        double dz = 5 * U * c * (ax + k3 * ax * ax * ax);
        b[i] = 0.5 * ax * (EPS_F * fabs(t) + (1 - t * t) * 2 * dz) + (EPS_F + 4 * U) * fabs((double)r[i]) +
               (xe ? GELU_SLOPE * xe[i] : 0.0) + TINY;
    }
    return 0;
}

/* rope in a fused op: a rotation of qkv's outputs, whose errors it turns
 * (|c| e0 + |s| e1), plus its own roundings on each side (the kernel's and
 * the reference's): 2u (|x0 c| + |x1 s| + |y0|). Only the rotated values
 * are kept (the outputs): the pair's norm stands for |x0| and |x1|. */
static int rope_rotate(model *m, const ck_rope_args *a, float *p, size_t heads)
{
    const float *r;
    const double *e = errs(m, p);
    const float *x = vals(m, p);
    double *b = em_bounds_at(m, p, &r);
    if (!b || !e)
        return -1;
    size_t hd = a->head_dim, half = (a->rotary_dim ? a->rotary_dim : hd) / 2;
    for (size_t t = 0; t < a->T; t++)
        for (size_t h = 0; h < heads; h++) {
            size_t base = (t * heads + h) * hd, row = (a->pos_offset + t) * half;
            for (size_t i = 2 * half; i < hd; i++)
                b[base + i] = e[base + i]; /* past rotary_dim: qkv's value, passed through */
            for (size_t i = 0; i < half; i++) {
                size_t i0 = a->pairing == CK_ROPE_GPTJ ? base + 2 * i : base + i;
                size_t i1 = a->pairing == CK_ROPE_GPTJ ? i0 + 1 : i0 + half;
                double c = fabs((double)a->cos_tab[row + i]), s = fabs((double)a->sin_tab[row + i]);
                /* |x0|, |x1| <= the pair's norm, which the rotation keeps */
                double e0 = e[i0], e1 = e[i1], nrm = hypot((double)x[i0], (double)x[i1]);
                b[i0] = c * e0 + s * e1 + 2 * U * (nrm * (c + s) + fabs((double)r[i0])) + TINY;
                b[i1] = s * e0 + c * e1 + 2 * U * (nrm * (s + c) + fabs((double)r[i1])) + TINY;
            }
        }
    return 0;
}

/* An exact member's output (embed.y, add.y): the reference's bits. */
static int exact_output(model *m, const float *p, size_t n)
{
    const float *r;
    double *b = em_bounds_at(m, p, &r);
    if (!b)
        return -1;
    memset(b, 0, n * sizeof *b);
    return 0;
}

/* ---- attention ---------------------------------------------------------------------------------- */

typedef struct att_row {
    double *sc, *p, *pi; /* score, probability, relative error bound of p; per key */
} att_row;

/* A soft-capped score cap tanh(s / cap) and its error: s's error (and the
 * division's, or a reciprocal's, 2u|s|) scaled by the slope 1 - t^2 <= 1;
 * tanh's own E + 3u absolute, which covers a tanh accurate to E relative
 * and the form 1 - 2 / (1 + exp(2x)), whose cancellation near 0 is
 * absolute; and u for the product by cap (docs/ops.md, "Error model"). */
static double softcapped(double cap, double *score, double sig)
{
    double t = tanh(*score / cap), c = cap * t;
    sig = (1 - t * t) * (sig + 2 * U * fabs(*score)) + cap * (EPS_F + 3 * U) + U * fabs(c);
    *score = c;
    return sig;
}

/* Keys row t sees: [*lo, end) (docs/ops.md: causal, window). */
static size_t att_visible(const ck_attention_args *a, size_t t, size_t *lo)
{
    size_t p = a->q_pos + t, end = a->causal ? (p + 1 < a->S ? p + 1 : a->S) : a->S;
    *lo = a->causal && a->window && p >= a->window ? p - a->window + 1 : 0;
    if (*lo > end)
        *lo = end;
    return end;
}

/* One query row of one head: scores (error sig = pdot(hd + 2) scale
 * sum|q k| + u|score|, then through the cap), probabilities (exp of score - max: the score's and
 * the max's errors, u|score - max|, EPS_F; the sum Z of positive terms
 * gamma(S); the division u), then out = sum p v (each p's error, the signed
 * sum pdot(S + 1), and gamma(2S) for an online softmax's rescalings of the
 * partial sums, whose exp factor cancels between numerator and Z). */
static void att_one(const ck_attention_args *a, size_t t, size_t h, att_row *w, double *b_sc, const float *r_sc,
                    double *b_p, const float *r_p, double *b_out, const float *r_out)
{
    size_t H = a->n_heads, hd = a->head_dim, S = a->S, kvh = h / (H / a->n_kv_heads);
    size_t lo, vis = att_visible(a, t, &lo), n = vis - lo;
    const float *q = a->q + (t * H + h) * hd;
    double mx = -INFINITY, sig_max = 0, z = 0, a_rel = 0;
    double *sig = w->pi;
    for (size_t s = lo; s < vis; s++) {
        const float *k = a->k + (s * a->n_kv_heads + kvh) * hd;
        double dot = 0, mag = 0;
        for (size_t d = 0; d < hd; d++) {
            dot += (double)q[d] * k[d];
            mag += fabs((double)q[d] * k[d]);
        }
        w->sc[s] = (double)a->scale * dot;
        sig[s] = pdot((double)hd + 2) * fabs((double)a->scale) * mag + U * fabs(w->sc[s]);
        if (a->softcap > 0.0f)
            sig[s] = softcapped((double)a->softcap, &w->sc[s], sig[s]);
        mx = w->sc[s] > mx ? w->sc[s] : mx;
        sig_max = sig[s] > sig_max ? sig[s] : sig_max;
    }
    for (size_t s = lo; s < vis; s++)
        z += (w->p[s] = exp(w->sc[s] - mx));
    for (size_t s = lo; s < vis; s++) {
        w->p[s] /= z;
        /* rho: relative error of exp(score - max) */
        double rho = sig[s] + sig_max + U * fabs(w->sc[s] - mx) + EPS_F;
        if (b_sc)
            b_sc[(h * a->T + t) * S + s] = sig[s] + U * fabs((double)r_sc[(h * a->T + t) * S + s]) + TINY;
        w->pi[s] = rho; /* sig no longer needed */
        a_rel += w->p[s] * rho;
    }
    for (size_t s = lo; s < vis; s++) {
        w->pi[s] += a_rel + gamma_n((double)n + 1);
        size_t j = (h * a->T + t) * S + s;
        if (b_p)
            b_p[j] = w->p[s] * w->pi[s] + U * fabs((double)r_p[j]) + EXP_FLOOR + TINY;
    }
    for (size_t s = 0; s < S; s++) {
        if (s >= lo && s < vis)
            continue;
        size_t j = (h * a->T + t) * S + s;
        if (b_sc)
            b_sc[j] = 0; /* masked: exactly -inf and 0 */
        if (b_p)
            b_p[j] = 0;
    }
    for (size_t d = 0; d < hd; d++) {
        double mag = 0, perr = 0, vsum = 0;
        for (size_t s = lo; s < vis; s++) {
            double av = fabs((double)a->v[(s * a->n_kv_heads + kvh) * hd + d]), pv = w->p[s] * av;
            vsum += av;
            mag += pv;
            perr += pv * w->pi[s];
        }
        size_t j = (t * H + h) * hd + d;
        b_out[j] = perr + (pdot((double)n + 1) + gamma_n(2.0 * (double)n)) * mag + U * fabs((double)r_out[j]) +
                   EXP_FLOOR * vsum + (double)(n + 1) * TINY;
    }
}

static int attention_bounds(model *m, const ck_attention_args *a)
{
    const float *r_out, *r_sc = NULL, *r_p = NULL;
    double *b_out = em_bounds_at(m, a->out, &r_out), *b_sc = NULL, *b_p = NULL;
    if (!b_out)
        return -1;
    if (a->scores)
        b_sc = em_bounds_at(m, a->scores, &r_sc);
    if (a->probs)
        b_p = em_bounds_at(m, a->probs, &r_p);
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

static int norm_of(model *m, const ck_norm_args *a, uint32_t kind)
{
    return norm_bounds(m, a, kind == CK_NORM_LAYER);
}

/* The ops' bounds, as case_ops.def's bounds column names them. A fused op
 * is its members in order: each member's bound, with the errors its inputs
 * carry from the members before it. */
static int em_norm(model *m, uint32_t op, const void *args)
{
    return norm_bounds(m, args, op == CK_OP_LAYERNORM);
}

static int em_linear(model *m, uint32_t op, const void *args)
{
    (void)op;
    return linear_bounds(m, args);
}

static int em_qkv(model *m, uint32_t op, const void *args)
{
    (void)op;
    return qkv_bounds(m, args);
}

static int em_swiglu(model *m, uint32_t op, const void *args)
{
    (void)op;
    return swiglu_bounds(m, args);
}

static int em_gelu(model *m, uint32_t op, const void *args)
{
    (void)op;
    return gelu_bounds(m, args);
}

static int em_attention(model *m, uint32_t op, const void *args)
{
    (void)op;
    return attention_bounds(m, args);
}

static int em_embed_norm(model *m, uint32_t op, const void *args)
{
    const ck_fused_embed_norm_args *f = args;
    (void)op;
    return exact_output(m, f->embed.y, f->embed.T * f->embed.D) || norm_of(m, &f->norm, f->norm_kind);
}

static int em_norm_qkv(model *m, uint32_t op, const void *args)
{
    const ck_fused_norm_qkv_args *f = args;
    (void)op;
    return norm_of(m, &f->norm, f->norm_kind) || qkv_bounds(m, &f->qkv);
}

static int em_qkv_rope(model *m, uint32_t op, const void *args)
{
    const ck_fused_qkv_rope_args *f = args;
    (void)op;
    return qkv_bounds(m, &f->qkv) || rope_rotate(m, &f->rope, f->rope.q, f->rope.n_heads) ||
           (f->rope.k && rope_rotate(m, &f->rope, f->rope.k, f->rope.n_kv_heads));
}

static int em_attn_proj(model *m, uint32_t op, const void *args)
{
    const ck_fused_attn_proj_args *f = args;
    (void)op;
    return attention_bounds(m, &f->attn) || linear_bounds(m, &f->proj);
}

static int em_norm_mlp(model *m, uint32_t op, const void *args)
{
    const ck_fused_norm_mlp_args *f = args;
    (void)op;
    return norm_of(m, &f->norm, f->norm_kind) || (f->gate.w && linear_bounds(m, &f->gate)) || linear_bounds(m, &f->up);
}

static int em_gate_up(model *m, uint32_t op, const void *args)
{
    const ck_fused_gate_up_args *f = args;
    (void)op;
    return linear_bounds(m, &f->gate) || linear_bounds(m, &f->up) || swiglu_bounds(m, &f->act);
}

static int em_act_down(model *m, uint32_t op, const void *args)
{
    const ck_fused_act_down_args *f = args;
    (void)op;
    int rc;
    switch (f->act_kind) { /* each activation's own bound, the down projection's after it */
    case CK_ACTIVATION_SWIGLU: rc = swiglu_bounds(m, &f->swiglu); break;
    case CK_ACTIVATION_GELU: rc = gelu_bounds(m, &f->gelu); break;
    case CK_ACTIVATION_GELU_ERF: rc = em_gelu_erf(m, CK_OP_GELU_ERF, &f->gelu); break;
    case CK_ACTIVATION_QUICK_GELU: rc = em_quick_gelu(m, CK_OP_QUICK_GELU, &f->gelu); break;
    default: return -1;
    }
    return rc || linear_bounds(m, &f->down);
}

static int em_add_norm(model *m, uint32_t op, const void *args)
{
    const ck_fused_add_norm_args *f = args;
    (void)op;
    return exact_output(m, f->add.y, f->add.n) || norm_of(m, &f->norm, f->norm_kind);
}

static int (*const bounds_of[CK_OP_COUNT])(model *m, uint32_t op, const void *args) = {
#define CK_CASE_OP(ID, build, rows, inplace, inputs, bounds) [CK_OP_##ID] = bounds,
#include "cases/case_ops.def"
#undef CK_CASE_OP
};

/* -1: no model for op (the caller falls back to atol / rtol) */
static int op_bounds(model *m, uint32_t op, const void *args)
{
    return op < CK_OP_COUNT && bounds_of[op] ? bounds_of[op](m, op, args) : -1;
}

/* The weight dtype the model covers: widened exactly (quantised: quant.md). */
static int modelled_dtype(uint32_t dt)
{
    return dt == CK_DTYPE_F32 || dt == CK_DTYPE_BF16 || dt == CK_DTYPE_F16;
}

double *ck_error_bounds(const ck_case *c, const ck_run_outcome *ref)
{
    const ck_shape *s = ck_case_shape(c);
    if (ref->state != CK_RUN_DONE || !ref->outputs || !modelled_dtype(s->dtype))
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < ck_case_n_bufs(c); i++)
        if (ck_case_buf_is_output(ck_case_buf_at(c, i)))
            n += ck_case_buf_at(c, i)->count;
    model m = {.c = c, .ref = ref, .b = malloc((n ? n : 1) * sizeof(double))};
    if (!m.b)
        return NULL;
    int rc = op_bounds(&m, s->op, ck_case_args(c));
    for (size_t i = 0; i < CK_CASE_MAX_BUFS; i++)
        free(m.scratch[i]);
    if (rc != 0) {
        free(m.b);
        return NULL;
    }
    return m.b;
}
