/* ir/models/tiny-window.json end to end, each step of a scalar run against a
 * recomputation here in double from the run's own inputs to that step: the
 * mlp2x_gelu bridge (linear, erf gelu, linear), partial rotary (the first 6 of
 * 14 dims of each head rotated, the rest as qkv wrote them), attention with
 * a 5-key window on even layers and full causal attention on odd ones, its
 * soft-cap and 1/sqrt(query_pre_attn_scalar) scale, and the final soft-cap
 * on the logits. Then a decode step at a position past the window. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_plan.h"
#include "ck_run.h"

enum { T = 19, D = 36, H = 3, HKV = 1, HD = 14, RD = 6, W = 5, V = 59, DV = 20, P = 9 };
static const double ACAP = 0.05, FCAP = 0.1, SCALAR = 10.0;

static ck_model *load_window(void)
{
    const char *root = getenv("CK_SOURCE_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/ir/models/tiny-window.json", root ? root : ".");
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    return m;
}

static const float *at(ck_runner *r, const char *name)
{
    const ck_plan *p = ck_runner_plan(r);
    for (size_t i = 0; i < p->n_buffers; i++)
        if (strcmp(p->buffers[i].name, name) == 0)
            return (const float *)((const char *)ck_runner_base(r) + p->buffers[i].offset);
    cr_assert_fail("no buffer %s", name);
    return NULL;
}

static void near(double got, double want, double tol, const char *what, size_t i)
{
    cr_assert(fabs(got - want) <= tol * (1.0 + fabs(want)), "%s[%zu]: %.9g, recomputed %.9g", what, i, got, want);
}

/* mlp2x_gelu's gelu is torch's nn.GELU(): the exact form */
static double gelu_erf(double x)
{
    return 0.5 * x * erfc(-x / sqrt(2.0));
}

/* y[t, n] = x[t] . w[n] + b[n] */
static double dot_row(const float *x, const float *w, const float *b, size_t K, size_t t, size_t n)
{
    double s = b ? b[n] : 0.0;
    for (size_t k = 0; k < K; k++)
        s += (double)x[t * K + k] * w[n * K + k];
    return s;
}

static ck_runner *run_forward(ck_model *m, ck_plugin *scalar, const ck_run_opts *opts)
{
    char err[CK_ERR_LEN];
    ck_runner *r = ck_runner_create(m, scalar, scalar, opts, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    ck_exec_destroy(ctx);
    return r;
}

Test(window, the_bridge_is_linear_erf_gelu_linear)
{
    char err[CK_ERR_LEN];
    ck_model *m = load_window();
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_run_opts opts = {.seed = 5};
    ck_runner *r = run_forward(m, scalar, &opts);
    const float *x = at(r, "vision.layer.0.mlp_residual.out"), *w1 = at(r, "vision.footer.bridge.w");
    const float *b1 = at(r, "vision.footer.bridge.b"), *a = at(r, "vision.footer.bridge_act.out");
    const float *w2 = at(r, "vision.footer.bridge_out.w"), *b2 = at(r, "vision.footer.bridge_out.b");
    const float *y = at(r, "vision.footer.bridge_out.out"), *emb = at(r, "text.header.embedding.out");
    for (size_t t = 0; t < P; t++)
        for (size_t n = 0; n < D; n++) {
            near(a[t * D + n], gelu_erf(dot_row(x, w1, b1, DV, t, n)), 1e-5, "bridge_act", t * D + n);
            near(y[t * D + n], dot_row(a, w2, b2, D, t, n), 1e-5, "bridge_out", t * D + n);
        }
    cr_assert_eq(memcmp(emb, y, P * D * sizeof(float)), 0, "the image rows are the second linear's");
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}

/* Attention of layer l recomputed from its q, k, v (rotated in place). */
static void check_attention(ck_runner *r, size_t l, size_t window)
{
    char name[96];
    snprintf(name, sizeof name, "text.layer.%zu.qkv.q", l);
    const float *q = at(r, name);
    snprintf(name, sizeof name, "text.layer.%zu.qkv.k", l);
    const float *k = at(r, name);
    snprintf(name, sizeof name, "text.layer.%zu.qkv.v", l);
    const float *v = at(r, name);
    snprintf(name, sizeof name, "text.layer.%zu.attention.out", l);
    const float *o = at(r, name);
    for (size_t t = 0; t < T; t++)
        for (size_t h = 0; h < H; h++) {
            double s[T], mx = -INFINITY, sum = 0.0;
            size_t lo = window && t + 1 > window ? t + 1 - window : 0;
            for (size_t j = lo; j <= t; j++) {
                double d = 0.0;
                for (size_t i = 0; i < HD; i++)
                    d += (double)q[(t * H + h) * HD + i] * k[j * HKV * HD + i];
                s[j] = ACAP * tanh(d / sqrt(SCALAR) / ACAP);
                mx = fmax(mx, s[j]);
            }
            for (size_t j = lo; j <= t; j++)
                sum += s[j] = exp(s[j] - mx);
            for (size_t i = 0; i < HD; i++) {
                double want = 0.0;
                for (size_t j = lo; j <= t; j++)
                    want += s[j] / sum * v[j * HKV * HD + i];
                near(o[(t * H + h) * HD + i], want, 1e-5, name, (t * H + h) * HD + i);
            }
        }
}

Test(window, windows_caps_scale_and_partial_rotary)
{
    char err[CK_ERR_LEN];
    ck_model *m = load_window();
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_run_opts opts = {.seed = 5};
    ck_runner *r = run_forward(m, scalar, &opts);
    /* layer 0 local (window 5), 1 global, 2 local */
    check_attention(r, 0, W);
    check_attention(r, 1, 0);
    check_attention(r, 2, W);
    /* partial rotary: q = h . wq + bq, then the first 6 dims of each head
     * rotated by position (gptj: adjacent pairs), the other 8 untouched */
    const float *hn = at(r, "text.layer.1.attn_norm.out"), *wq = at(r, "text.layer.1.qkv.wq");
    const float *bq = at(r, "text.layer.1.qkv.bq"), *q = at(r, "text.layer.1.qkv.q");
    for (size_t t = 0; t < T; t++)
        for (size_t h = 0; h < H; h++) {
            double pre[HD];
            for (size_t i = 0; i < HD; i++)
                pre[i] = dot_row(hn, wq, bq, D, t, h * HD + i);
            for (size_t i = 0; i < HD; i++) {
                double want = pre[i];
                if (i < RD) {
                    double ang = (double)t * pow(10000.0, -2.0 * (double)(i / 2) / RD);
                    want = i % 2 == 0 ? pre[i] * cos(ang) - pre[i + 1] * sin(ang)
                                      : pre[i - 1] * sin(ang) + pre[i] * cos(ang);
                }
                near(q[(t * H + h) * HD + i], want, 1e-5, "layer 1 q", (t * H + h) * HD + i);
            }
        }
    /* the final soft-cap: logits = 30-style cap * tanh(x . w / cap) */
    const float *x = at(r, "text.footer.final_norm.out"), *w = at(r, "text.footer.lm_head.w");
    const float *logits = at(r, "text.footer.lm_head.logits");
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < V; n++) {
            cr_assert(fabsf(logits[t * V + n]) < (float)FCAP, "logit %zu beyond the cap", t * V + n);
            near(logits[t * V + n], FCAP * tanh(dot_row(x, w, NULL, D, t, n) / FCAP), 1e-5, "logits", t * V + n);
        }
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}

/* A decode step at position 12 sees keys 8..12 of the cache on a local layer:
 * a cache row outside the window changes nothing there, and does change a
 * global layer's output. */
Test(window, decode_masks_the_cache_outside_the_window)
{
    char err[CK_ERR_LEN];
    ck_model *m = load_window();
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_run_opts opts = {.seed = 5, .decode = 1, .decode_pos = 12};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &opts, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    /* step by step: a forward would seed the cache again */
    cr_assert_eq(ck_runner_prepare(r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_runner_run_all(r, ctx, NULL, err, sizeof err), 0, "%s", err);
    float before0[H * HD], before1[H * HD];
    memcpy(before0, at(r, "text.layer.0.attention.out"), sizeof before0);
    memcpy(before1, at(r, "text.layer.1.attention.out"), sizeof before1);
    /* row 3 of every layer's cache (outside 8..12), then run again */
    for (size_t l = 0; l < 3; l++) {
        char name[64];
        snprintf(name, sizeof name, "text.layer.%zu.qkv.v_cache", l);
        float *vc = (float *)at(r, name);
        for (size_t i = 0; i < HKV * HD; i++)
            vc[3 * HKV * HD + i] += 1.0f;
    }
    cr_assert_eq(ck_runner_run_all(r, ctx, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(memcmp(before0, at(r, "text.layer.0.attention.out"), sizeof before0), 0,
                 "layer 0 (window 5) read a key outside its window");
    cr_assert_neq(memcmp(before1, at(r, "text.layer.1.attention.out"), sizeof before1), 0,
                  "layer 1 (global) did not read the whole cache");
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}
