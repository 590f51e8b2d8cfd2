/* error_model_bwd.c — the error model of the backward ops that have one
 * (docs/ops.md, "Error model"): the three GEMMs of linear_bwd and qkv_bwd,
 * swiglu_bwd's and geglu_bwd's two products, rmsnorm_bwd's cancelling
 * terms and attention_bwd's chain (its own section below). The others
 * (layernorm and gelu backward, cross_entropy) keep their
 * calibrated bounds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error_model.h"

/* ---- backward ops -------------------------------------------------------------------------------- */

/* out[i] = sum_j a[i, j] b[j, c] over `len` terms (strides in elements):
 * pdot(len) sum |a b| + u|r|. The three GEMMs of linear_bwd are this. */
typedef struct gemm_view {
    const float *a, *b;
    size_t rows, cols, len;
    size_t a_row, a_k, b_k, b_col; /* a[i*a_row + j*a_k], b[j*b_k + c*b_col] */
} gemm_view;

static int gemm_bounds(model *m, const gemm_view *g, const float *out)
{
    const float *r;
    double *b = out ? em_bounds_at(m, out, &r) : NULL;
    if (!out)
        return 0;
    if (!b)
        return -1;
    for (size_t i = 0; i < g->rows; i++)
        for (size_t c = 0; c < g->cols; c++) {
            double mag = 0;
            for (size_t j = 0; j < g->len; j++)
                mag += fabs((double)g->a[i * g->a_row + j * g->a_k] * g->b[j * g->b_k + c * g->b_col]);
            size_t o = i * g->cols + c;
            b[o] = pdot((double)g->len + 1) * mag + U * fabs((double)r[o]) + (double)(g->len + 1) * TINY;
        }
    return 0;
}

/* db[n] = sum_t dy[t, n]: a sum over T */
static int colsum_bounds(model *m, const float *dy, size_t T, size_t N, const float *out)
{
    const float *r;
    double *b = out ? em_bounds_at(m, out, &r) : NULL;
    if (!out)
        return 0;
    if (!b)
        return -1;
    for (size_t n = 0; n < N; n++) {
        double mag = 0;
        for (size_t t = 0; t < T; t++)
            mag += fabs((double)dy[t * N + n]);
        b[n] = pdot((double)T + 1) * mag + U * fabs((double)r[n]) + (double)(T + 1) * TINY;
    }
    return 0;
}

/* dx = dy W (sum over N), dW = dy^T x (sum over T), db = sum_t dy */
int em_linear_bwd(model *m, uint32_t op, const void *args)
{
    const ck_linear_bwd_args *a = args;
    (void)op;
    gemm_view dx = {a->dy, a->w, a->T, a->K, a->N, a->N, 1, a->K, 1};
    gemm_view dw = {a->dy, a->x, a->N, a->K, a->T, 1, a->N, a->K, 1};
    return gemm_bounds(m, &dx, a->dx) || gemm_bounds(m, &dw, a->dw) || colsum_bounds(m, a->dy, a->T, a->N, a->db);
}

/* dx sums the three projections' dx: one signed sum over (H + 2 Hkv) hd
 * terms; each weight and bias gradient is linear_bwd's. */
int em_qkv_bwd(model *m, uint32_t op, const void *args)
{
    const ck_qkv_bwd_args *a = args;
    (void)op;
    const float *dy[3] = {a->dq, a->dk, a->dv}, *w[3] = {a->wq, a->wk, a->wv};
    float *dw[3] = {a->dwq, a->dwk, a->dwv}, *db[3] = {a->dbq, a->dbk, a->dbv};
    size_t n[3] = {a->n_heads * a->head_dim, a->n_kv_heads * a->head_dim, a->n_kv_heads * a->head_dim};
    for (int i = 0; i < 3; i++) {
        gemm_view g = {dy[i], a->x, n[i], a->D, a->T, 1, n[i], a->D, 1};
        if (gemm_bounds(m, &g, dw[i]) || colsum_bounds(m, dy[i], a->T, n[i], db[i]))
            return -1;
    }
    const float *r;
    double *b = a->dx ? em_bounds_at(m, a->dx, &r) : NULL;
    if (!a->dx)
        return 0;
    if (!b)
        return -1;
    size_t terms = n[0] + n[1] + n[2];
    for (size_t t = 0; t < a->T; t++)
        for (size_t k = 0; k < a->D; k++) {
            double mag = 0;
            for (int i = 0; i < 3; i++)
                for (size_t j = 0; j < n[i]; j++)
                    mag += fabs((double)dy[i][t * n[i] + j] * w[i][j * a->D + k]);
            size_t o = t * a->D + k;
            b[o] = pdot((double)terms + 1) * mag + U * fabs((double)r[o]) + (double)(terms + 1) * TINY;
        }
    return 0;
}

/* dup = dy silu(g): swiglu's bound with dy for up. dgate = dy up silu'(g),
 * silu' = s (1 + g (1 - s)), s = 1 / (1 + exp(-g)) with relative error
 * E_s = EPS_F + 3u; 1 - s may be formed as 1 - s (absolute error E_s s + u)
 * and cancels against g's term near g = -1.28, so the bound is absolute:
 * |dy up| (E_s s + |g| s ((1 - s) E_s + E_s s + u) + 3u (s + |g| s (1 - s))). */
int em_swiglu_bwd(model *m, uint32_t op, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)op;
    const float *r_g = NULL, *r_u = NULL;
    double *bg = a->dgate ? em_bounds_at(m, a->dgate, &r_g) : NULL, *bu = a->dup ? em_bounds_at(m, a->dup, &r_u) : NULL;
    if ((a->dgate && !bg) || (a->dup && !bu))
        return -1;
    const double es = EPS_F + 3 * U;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], e = exp(-g), s = isinf(e) ? 0.0 : 1.0 / (1.0 + e);
        double dy = fabs((double)a->dy[i]), du = dy * fabs((double)a->up[i]), over = -g > EXP_MAX;
        if (bg) {
            double ag = fabs(g),
                   abs_err = es * s + ag * s * ((1 - s) * es + es * s + U) + 3 * U * (s + ag * s * (1 - s));
            double ar = fabs((double)r_g[i]);
            bg[i] = du * abs_err + 2 * U * ar + (over ? ar : 0.0) + TINY * (1.0 + du);
        }
        if (bu) {
            double ar = fabs((double)r_u[i]), damp = isinf(e) ? 1.0 : e / (1.0 + e);
            bu[i] = (EPS_F * damp + 5 * U) * ar + (over ? ar : 0.0) + TINY * (1.0 + dy);
        }
    }
    return 0;
}

/* geglu_bwd, with z = c (g + k g^3) (error dz = 5u c (|g| + k|g|^3), as
 * gelu's forward), t = tanh z, s = (1 + t) / 2 and s' = (1 - t) / 2 (the
 * sigmoids of +-2z, each with exp's EPS_F): dup = dy gelu(g) is gelu's bound
 * times |dy| plus a product. gelu'(g) = s + 2 g s s' w, w = c (1 + 3k g^2),
 * crosses 0 near g = -0.75, so its error is absolute: s errs by
 * s s' (2dz + EPS_F) + 2u s; the second term's s and s' err relatively by
 * s' (2dz + EPS_F) and s (2dz + EPS_F) (s + s' = 1), w and its four products
 * by 12u; then the sum (u) and the products by dy and up (2u |r|). Where
 * exp(-2z) overflows f32 the kernel's 0 is right: the whole |r|. */
int em_geglu_bwd(model *m, uint32_t op, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)op;
    const float *r_g = NULL, *r_u = NULL;
    double *bg = a->dgate ? em_bounds_at(m, a->dgate, &r_g) : NULL, *bu = a->dup ? em_bounds_at(m, a->dup, &r_u) : NULL;
    if ((a->dgate && !bg) || (a->dup && !bu))
        return -1;
    const double c = 0.7978845608028654, k = 0.044715;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], ag = fabs(g), z = c * (g + k * g * g * g), t = tanh(z);
        double dz = 5 * U * c * (ag + k * ag * ag * ag), ez = 2 * dz + EPS_F, over = -2 * z > EXP_MAX;
        double dy = fabs((double)a->dy[i]), du = dy * fabs((double)a->up[i]);
        if (bg) {
            double s = 0.5 * (1 + t), ss = 0.25 * (1 - t * t), w = c * (1 + 3 * k * g * g);
            double second = 2 * ag * ss * w, slope = fabs(s + 2 * g * ss * w);
            double abs_err = ss * ez + 2 * U * s + second * (ez + 12 * U) + U * slope;
            double ar = fabs((double)r_g[i]);
            bg[i] = du * abs_err + 2 * U * ar + (over ? ar : 0.0) + TINY * (1.0 + du);
        }
        if (bu) {
            double ar = fabs((double)r_u[i]);
            bu[i] = dy * 0.5 * ag * (EPS_F * fabs(t) + (1 - t * t) * 2 * dz) + (EPS_F + 5 * U) * ar +
                    (over ? ar : 0.0) + TINY * (1.0 + dy);
        }
    }
    return 0;
}

/* ---- attention_bwd ------------------------------------------------------------------------------ */

/* Per key of one query row: P and its absolute error, dP = dout . v and
 * its error, the cap's slope and its error, dS and its error. */
typedef struct attb_row {
    double *p, *ep, *dp, *edp, *slope, *es, *ds, *eds;
} attb_row;

/* Raw score r = scale q.k to sig = pdot(hd + 2) |scale| sum|q k| + u|r|, as
 * the forward's; with a cap, c = cap t (t = tanh(r / cap)) to the forward's
 * capped bound, and the slope 1 - t^2 to 2|t| (t's error) + 3u. Returns the
 * score the softmax sees and sets *sig. */
static double attb_score(const ck_attention_bwd_args *a, const float *q, const float *k, double *slope, double *es,
                         double *sig)
{
    double dot = 0, mag = 0;
    for (size_t d = 0; d < a->head_dim; d++) {
        dot += (double)q[d] * k[d];
        mag += fabs((double)q[d] * k[d]);
    }
    double r = (double)a->scale * dot, cap = (double)a->softcap;
    *sig = pdot((double)a->head_dim + 2) * fabs((double)a->scale) * mag + U * fabs(r);
    *slope = 1, *es = 0;
    if (a->softcap <= 0.0f)
        return r;
    double t = tanh(r / cap), c = cap * t;
    *sig = (1 - t * t) * (*sig + 2 * U * fabs(r)) + cap * (EPS_F + 3 * U) + U * fabs(c);
    *slope = 1 - t * t;
    *es = 2 * fabs(t) * (*sig / cap) + 3 * U;
    return c;
}

/* P over [lo, vis): the forward's probs (exact: the reference reads the same
 * floats) or recomputed, to the forward's bound p pi + 2^-126. */
static void attb_probs(const ck_attention_bwd_args *a, size_t h, size_t t, size_t lo, size_t vis, attb_row *w)
{
    size_t kvh = h / (a->n_heads / a->n_kv_heads), hd = a->head_dim, n = vis - lo;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    double mx = -INFINITY, sig_max = 0, z = 0, a_rel = 0;
    for (size_t s = lo; s < vis; s++) { /* sc in p, sig in ep for now */
        w->p[s] = attb_score(a, q, a->k + (s * a->n_kv_heads + kvh) * hd, &w->slope[s], &w->es[s], &w->ep[s]);
        mx = w->p[s] > mx ? w->p[s] : mx;
        sig_max = w->ep[s] > sig_max ? w->ep[s] : sig_max;
    }
    if (a->probs) {
        for (size_t s = lo; s < vis; s++)
            w->p[s] = a->probs[(h * a->T + t) * a->S + s], w->ep[s] = 0;
        return;
    }
    for (size_t s = lo; s < vis; s++) {
        double rho = w->ep[s] + sig_max + U * fabs(w->p[s] - mx) + EPS_F;
        z += (w->p[s] = exp(w->p[s] - mx));
        w->ep[s] = rho;
    }
    for (size_t s = lo; s < vis; s++)
        a_rel += (w->p[s] /= z) * w->ep[s];
    for (size_t s = lo; s < vis; s++)
        w->ep[s] = w->p[s] * (w->ep[s] + a_rel + gamma_n((double)n + 1)) + EXP_FLOOR;
}

/* dP[s] = dout . v[s] (pdot(hd + 1)); pdp = sum P dP (each P's and dP's
 * error, pdot(n + 1)); g = dP - pdp, which cancels, so its error is
 * absolute; dS = scale P g slope: each factor's error times the others, 3u. */
static void attb_ds(const ck_attention_bwd_args *a, size_t h, size_t t, size_t lo, size_t vis, attb_row *w)
{
    size_t kvh = h / (a->n_heads / a->n_kv_heads), hd = a->head_dim;
    const float *dout = a->dout + (t * a->n_heads + h) * hd;
    double pdp = 0, epdp = 0, mag = 0, sc = fabs((double)a->scale);
    for (size_t s = lo; s < vis; s++) {
        const float *v = a->v + (s * a->n_kv_heads + kvh) * hd;
        double d = 0, dm = 0;
        for (size_t i = 0; i < hd; i++) {
            d += (double)dout[i] * v[i];
            dm += fabs((double)dout[i] * v[i]);
        }
        w->dp[s] = d;
        w->edp[s] = pdot((double)hd + 1) * dm + U * fabs(d);
        pdp += w->p[s] * d;
        mag += w->p[s] * fabs(d);
        epdp += w->ep[s] * fabs(d) + w->p[s] * w->edp[s];
    }
    epdp += pdot((double)(vis - lo) + 1) * mag;
    for (size_t s = lo; s < vis; s++) {
        double g = w->dp[s] - pdp, eg = w->edp[s] + epdp + U * fabs(g);
        w->ds[s] = (double)a->scale * w->p[s] * g * w->slope[s];
        w->eds[s] =
            sc * (w->ep[s] * fabs(g) * w->slope[s] + w->p[s] * eg * w->slope[s] + w->p[s] * fabs(g) * w->es[s]) +
            3 * U * fabs(w->ds[s]) + TINY;
    }
}

/* Keys row t sees: [*lo, end), as the forward's. */
static size_t visible_keys(const ck_attention_bwd_args *a, size_t t, size_t *lo)
{
    size_t p = a->q_pos + t, end = a->causal ? (p + 1 < a->S ? p + 1 : a->S) : a->S;
    *lo = a->causal && a->window && p >= a->window ? p - a->window + 1 : 0;
    if (*lo > end)
        *lo = end;
    return end;
}

/* Accumulators of dk / dv over the query rows: error and magnitude apart. */
typedef struct attb_acc {
    double *ek, *mk, *ev, *mv; /* [S, Hkv, hd] */
} attb_acc;

/* One query row: dq = sum_s dS k (each dS's error, pdot(n + 1)); its shares
 * of dk (dS q) and dv (P dout). */
static void attb_row_bounds(const ck_attention_bwd_args *a, size_t h, size_t t, attb_row *w, attb_acc *acc,
                            double *b_dq, const float *r_dq)
{
    size_t kvh = h / (a->n_heads / a->n_kv_heads), hd = a->head_dim, lo, vis = visible_keys(a, t, &lo);
    attb_probs(a, h, t, lo, vis, w);
    attb_ds(a, h, t, lo, vis, w);
    const float *q = a->q + (t * a->n_heads + h) * hd, *dout = a->dout + (t * a->n_heads + h) * hd;
    for (size_t i = 0; b_dq && i < hd; i++) {
        double e = 0, mag = 0;
        for (size_t s = lo; s < vis; s++) {
            double k = fabs((double)a->k[(s * a->n_kv_heads + kvh) * hd + i]);
            e += w->eds[s] * k;
            mag += fabs(w->ds[s]) * k;
        }
        size_t j = (t * a->n_heads + h) * hd + i;
        b_dq[j] = e + pdot((double)(vis - lo) + 1) * mag + U * fabs((double)r_dq[j]) + (double)(vis - lo + 1) * TINY;
    }
    for (size_t s = lo; s < vis; s++)
        for (size_t i = 0; i < hd; i++) {
            size_t j = (s * a->n_kv_heads + kvh) * hd + i;
            double aq = fabs((double)q[i]), ad = fabs((double)dout[i]);
            acc->ek[j] += w->eds[s] * aq;
            acc->mk[j] += fabs(w->ds[s]) * aq;
            acc->ev[j] += w->ep[s] * ad;
            acc->mv[j] += w->p[s] * ad;
        }
}

/* attention_bwd (docs/ops.md, "Error model"): dS's chain through P (the
 * forward's bound, or exact from the forward's probs), dP, their cancelling
 * difference and the cap's slope; then dq, dk and dv as sums of products
 * over the keys (dq) or the query rows of the kv head's group (dk, dv:
 * pdot(G T + 1), every row counted). */
int em_attention_bwd(model *m, uint32_t op, const void *args)
{
    const ck_attention_bwd_args *a = args;
    (void)op;
    const float *r_dq = NULL, *r_dk = NULL, *r_dv = NULL;
    double *b_dq = a->dq ? em_bounds_at(m, a->dq, &r_dq) : NULL, *b_dk = a->dk ? em_bounds_at(m, a->dk, &r_dk) : NULL,
           *b_dv = a->dv ? em_bounds_at(m, a->dv, &r_dv) : NULL;
    if ((a->dq && !b_dq) || (a->dk && !b_dk) || (a->dv && !b_dv) || !a->n_kv_heads)
        return -1;
    size_t S = a->S ? a->S : 1, kvn = a->S * a->n_kv_heads * a->head_dim, G = a->n_heads / a->n_kv_heads;
    double *buf = calloc(8 * S + 4 * kvn, sizeof *buf);
    if (!buf)
        return -1;
    attb_row w = {buf, buf + S, buf + 2 * S, buf + 3 * S, buf + 4 * S, buf + 5 * S, buf + 6 * S, buf + 7 * S};
    attb_acc acc = {buf + 8 * S, buf + 8 * S + kvn, buf + 8 * S + 2 * kvn, buf + 8 * S + 3 * kvn};
    if (b_dq)
        memset(b_dq, 0, a->T * a->n_heads * a->head_dim * sizeof *b_dq); /* rows that see no key: exactly 0 */
    for (size_t h = 0; a->S && h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++)
            attb_row_bounds(a, h, t, &w, &acc, b_dq, r_dq);
    double terms = (double)(G * a->T) + 1;
    for (size_t j = 0; j < kvn; j++) {
        if (b_dk)
            b_dk[j] = acc.ek[j] + pdot(terms) * acc.mk[j] + U * fabs((double)r_dk[j]) + terms * TINY;
        if (b_dv)
            b_dv[j] = acc.ev[j] + pdot(terms) * acc.mv[j] + U * fabs((double)r_dv[j]) + terms * TINY;
    }
    free(buf);
    return 0;
}

/* rmsnorm_bwd, with inv = 1 / sqrt(mean x^2 + eps) (relative error
 * ei = gamma(D + 3)/2 + 4u) and c = sum_j gamma_j dy_j x_j (a signed sum):
 * dx_i = inv gamma_i dy_i - x_i c inv^3 / D, two terms that may cancel, so
 * each is bounded on its own; dgamma_j = sum_t dy x inv (a sum over T). */
int em_rmsnorm_bwd(model *m, uint32_t op, const void *args)
{
    const ck_norm_bwd_args *a = args;
    (void)op;
    const float *r_dx = NULL, *r_dg = NULL;
    double *bx = a->dx ? em_bounds_at(m, a->dx, &r_dx) : NULL,
           *bg = a->dgamma ? em_bounds_at(m, a->dgamma, &r_dg) : NULL;
    if ((a->dx && !bx) || (a->dgamma && !bg))
        return -1;
    size_t D = a->D;
    double ei = 0.5 * gamma_n((double)D + 3) + 4 * U;
    if (bg)
        memset(bg, 0, D * sizeof *bg);
    for (size_t t = 0; t < a->T; t++) {
        const float *x = a->x + t * D, *dy = a->dy + t * D;
        double ss = 0, c = 0, cmag = 0;
        for (size_t i = 0; i < D; i++) {
            ss += (double)x[i] * x[i];
            c += (double)a->gamma[i] * dy[i] * x[i];
            cmag += fabs((double)a->gamma[i] * dy[i] * x[i]);
        }
        double inv = 1.0 / sqrt(ss / (double)D + (double)a->eps), k3 = inv * inv * inv / (double)D;
        for (size_t i = 0; i < D; i++) {
            double t1 = inv * fabs((double)a->gamma[i] * dy[i]), t2 = fabs((double)x[i]) * k3;
            if (bx)
                bx[t * D + i] = t1 * (ei + 3 * U) + t2 * (fabs(c) * (3 * ei + 4 * U) + pdot((double)D + 1) * cmag) +
                                U * fabs((double)r_dx[t * D + i]) + TINY * (1.0 + inv);
            if (bg) /* accumulated magnitude first, finished below */
                bg[i] += fabs((double)dy[i] * x[i]) * inv;
        }
    }
    for (size_t i = 0; bg && i < D; i++)
        bg[i] = (pdot((double)a->T + 1) + ei + 2 * U) * bg[i] + U * fabs((double)r_dg[i]) + (double)(a->T + 1) * TINY;
    return 0;
}
