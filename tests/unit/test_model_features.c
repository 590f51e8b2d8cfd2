/* The schema's model features on ir/models/tiny-features.json, end to end:
 * what the planner lays out (a tied head without a weight of its own,
 * attention [H*hd] wide on a narrower residual, a patch grid that drops the
 * remainder), and what a scalar run computes (the embedding scale, the tied
 * head, llama3-scaled rope tables), each against a recomputation here. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_plan.h"
#include "ck_run.h"
#include "ck_train.h"

static ck_model *load_features(void)
{
    const char *root = getenv("CK_SOURCE_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/ir/models/tiny-features.json", root ? root : ".");
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    return m;
}

static const ck_buffer *find(const ck_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_buffers; i++)
        if (strcmp(p->buffers[i].name, name) == 0)
            return &p->buffers[i];
    return NULL;
}

static void expect_shape(const ck_plan *p, const char *name, size_t a, size_t b)
{
    const ck_buffer *buf = find(p, name);
    cr_assert_not_null(buf, "no %s", name);
    cr_assert_eq(buf->ndim, 2, "%s", name);
    cr_assert(buf->shape[0] == a && buf->shape[1] == b, "%s is [%zu, %zu], expected [%zu, %zu]", name, buf->shape[0],
              buf->shape[1], a, b);
}

Test(features, the_fields_are_read)
{
    ck_model *m = load_features();
    const ck_section *v = &m->sections[0], *t = &m->sections[1];
    cr_assert_eq(v->seq_len, 16); /* floor(13 / 3)^2, no class token */
    cr_assert_eq(t->tie_embeddings, 1);
    cr_assert_float_eq(t->embedding_scale, sqrt(40.0), 1e-12);
    cr_assert_eq(t->n_heads * t->head_dim, 48);
    cr_assert_eq(t->d_model, 40);
    cr_assert_eq(t->sliding_window, 21);
    cr_assert_float_eq(t->rope_factor, 8.0, 0.0);
    cr_assert_eq(t->rope_original_context, 16);
    ck_model_free(m);
}

Test(features, the_plan_has_one_table_and_wide_attention)
{
    ck_model *m = load_features();
    char err[CK_ERR_LEN];
    for (int training = 0; training < 2; training++) {
        ck_plan *p = NULL;
        ck_plan_opts o = {.training = training};
        cr_assert_eq(ck_plan_build(m, &o, &p, err, sizeof err), 0, "%s", err);
        cr_assert_null(find(p, "text.footer.lm_head.w"), "a tied head has no weight of its own");
        cr_assert_null(find(p, "text.footer.lm_head.w.grad"));
        expect_shape(p, "text.header.embedding.table", 67, 40);
        expect_shape(p, "text.footer.lm_head.logits", 21, 67);
        if (training)
            expect_shape(p, "text.header.embedding.table.grad", 67, 40);
        expect_shape(p, "text.layer.0.qkv.wq", 48, 40);
        expect_shape(p, "text.layer.0.qkv.wk", 24, 40);
        expect_shape(p, "text.layer.1.out_proj.w", 40, 48);
        cr_assert_eq(find(p, "text.layer.0.q_norm.gamma")->shape[0], 12);
        cr_assert_eq(find(p, "text.layer.0.k_norm.out")->shape[1], 2);
        expect_shape(p, "vision.header.patch_embed.pixels", 16, 27);
        expect_shape(p, "vision.header.pos_add.pos_embed", 16, 24);
        cr_assert_null(find(p, "vision.header.pos_add.class_token"));
        /* the weights, from the dimensions alone (f32): the table counted once */
        size_t vis_layer = 2 * 24 + 2 * 24 + (3 * 32 * 24 + 3 * 32) + (24 * 32 + 24) + (36 * 24 + 36) + (24 * 36 + 24);
        size_t vis = 27 * 24 + 24 + 16 * 24 + 2 * vis_layer + 2 * 24 + (40 * 24 + 40);
        size_t txt_layer = 40 + (48 * 40 + 48 + 2 * (24 * 40 + 24)) + 2 * 12 + 40 * 48 + 40 + 3 * 45 * 40;
        size_t txt = 67 * 40 + 2 * txt_layer + 40;
        cr_assert_eq(p->by_kind[CK_BUF_WEIGHT], (vis + txt) * 4, "weights %zu, expected %zu", p->by_kind[CK_BUF_WEIGHT],
                     (vis + txt) * 4);
        ck_plan_free(p);
    }
    ck_model_free(m);
}

static const float *at(ck_runner *r, const char *name)
{
    const ck_buffer *b = find(ck_runner_plan(r), name);
    cr_assert_not_null(b, "no %s", name);
    return (const float *)((const char *)ck_runner_base(r) + b->offset);
}

/* After a scalar run: token rows of the embedding are table[id] * scale
 * exactly (one f32 multiply), the 16 spliced image rows are the bridge's
 * output unscaled, and the logits are final_norm(x) . table[v]. */
Test(features, a_run_scales_the_embedding_and_reads_the_tied_table)
{
    char err[CK_ERR_LEN];
    ck_model *m = load_features();
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_run_opts opts = {.seed = 7};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &opts, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    const size_t D = 40, V = 67, T = 21, image_rows = 16;
    const float *table = at(r, "text.header.embedding.table"), *emb = at(r, "text.header.embedding.out");
    const int32_t *ids = (const int32_t *)at(r, "text.header.embedding.ids");
    const float *bridge = at(r, "vision.footer.bridge.out"), scale = (float)sqrt(40.0);
    cr_assert_eq(memcmp(emb, bridge, image_rows * D * sizeof(float)), 0, "image rows are the bridge's, unscaled");
    for (size_t t = image_rows; t < T; t++)
        for (size_t k = 0; k < D; k++)
            cr_assert_eq(emb[t * D + k], table[(size_t)ids[t] * D + k] * scale, "row %zu col %zu", t, k);
    /* qk_norm: k's row 0 (position 0, which rope leaves as it is) is the
     * rmsnorm of each of its 2 heads of 12, times the shared gamma */
    const float *kr = at(r, "text.layer.1.qkv.k"), *kn = at(r, "text.layer.1.k_norm.out");
    const float *kg = at(r, "text.layer.1.k_norm.gamma");
    for (size_t hh = 0; hh < 2; hh++) {
        double ss = 0;
        for (size_t i = 0; i < 12; i++)
            ss += (double)kr[hh * 12 + i] * kr[hh * 12 + i];
        double inv = 1.0 / sqrt(ss / 12 + 1e-6);
        for (size_t i = 0; i < 12; i++) {
            double want = kr[hh * 12 + i] * inv * kg[i];
            cr_assert(fabs(kn[hh * 12 + i] - want) <= 1e-5 * fabs(want) + 1e-7, "k head %zu dim %zu: %g, expected %g",
                      hh, i, kn[hh * 12 + i], want);
        }
    }
    /* geglu: the MLP's activation is gelu(gate) * up, tanh form */
    const float *gate = at(r, "text.layer.0.mlp_gate.out"), *up = at(r, "text.layer.0.mlp_up.out");
    const float *act = at(r, "text.layer.0.mlp_act.out");
    for (size_t i = 0; i < T * 45; i++) {
        double g = gate[i], u = 0.7978845608028654 * (g + 0.044715 * g * g * g);
        double want = 0.5 * g * (1.0 + tanh(u)) * up[i];
        cr_assert(fabs(act[i] - want) <= 1e-6 * fabs(want) + 1e-12, "geglu [%zu]: %g, expected %g", i, act[i], want);
    }
    const float *h = at(r, "text.footer.final_norm.out"), *logits = at(r, "text.footer.lm_head.logits");
    for (size_t t = 0; t < T; t += 5)
        for (size_t v = 0; v < V; v++) {
            double want = 0, mag = 0;
            for (size_t k = 0; k < D; k++) {
                want += (double)h[t * D + k] * (double)table[v * D + k];
                mag += fabs((double)h[t * D + k] * (double)table[v * D + k]);
            }
            cr_assert(fabs(logits[t * V + v] - want) <= 1e-6 * mag + 1e-30, "logit [%zu, %zu]: %g, expected %g", t, v,
                      logits[t * V + v], want);
        }
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}

/* llama3 scaling on the tables the run wrote: head_dim 12, theta 1e4,
 * original context 16, low / high factors 1 and 4, factor 8. Frequency i
 * has wavelength 2 pi 1e4^(i/6): i = 0 (6.3) lies between 16 / 4 and 16 / 1
 * and is interpolated with weight s = (16 / 6.3 - 1) / (4 - 1); i >= 1
 * (29.2 and up) lie above 16 and are divided by 8. */
Test(features, rope_tables_are_llama3_scaled)
{
    char err[CK_ERR_LEN];
    ck_model *m = load_features();
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_run_opts opts = {.seed = 7};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &opts, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(ck_runner_prepare(r, err, sizeof err), 0, "%s", err);
    const float *cos_tab = at(r, "text.header.rope.cos");
    const size_t half = 6, pos = 20;
    const double pi = 3.14159265358979323846, smooth = (16.0 / (2.0 * pi) - 1.0) / 3.0;
    double f0 = (1.0 - smooth) / 8.0 + smooth;
    cr_assert_eq(cos_tab[pos * half + 0], (float)cos((double)pos * f0));
    for (size_t i = 1; i < half; i++)
        cr_assert_eq(cos_tab[pos * half + i], (float)cos((double)pos * pow(1e4, -2.0 * (double)i / 12.0) / 8.0),
                     "frequency %zu", i);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}

/* geglu trains (geglu_bwd): a training step binds its backward to the
 * plugin's kernel, none falls back, and the loss is finite. */
Test(features, training_with_geglu_runs_geglu_bwd)
{
    char err[CK_ERR_LEN];
    ck_model *m = load_features();
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_train_opts o = ck_train_defaults();
    ck_trainer *t = ck_trainer_create(m, scalar, scalar, &o, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    float loss;
    cr_assert_eq(ck_trainer_step(t, ctx, &loss, err, sizeof err), 0, "%s", err);
    cr_assert(isfinite(loss));
    cr_assert_eq(ck_trainer_counts(t).backward_fallback, 0);
    ck_exec_destroy(ctx);
    ck_trainer_free(t);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}

/* ---- tiny-gemma3: Gemma 3's layer -------------------------------------------- */

static ck_model *load_gemma3(void)
{
    const char *root = getenv("CK_SOURCE_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/ir/models/tiny-gemma3.json", root ? root : ".");
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    return m;
}

/* rmsnorm of one row of n, times gamma, in double */
static double normed(const float *x, const float *gamma, size_t n, size_t i)
{
    double ss = 0;
    for (size_t k = 0; k < n; k++)
        ss += (double)x[k] * x[k];
    return x[i] / sqrt(ss / (double)n + 1e-6) * gamma[i];
}

/* After a scalar run: the residual adds read the post norms' outputs, which
 * normalise out_proj's and mlp_down's; layer 0 (local) rotates k by theta
 * 1e4, layer 1 (global, every 2nd) by 1e6: row 1 of k_norm.out against the
 * normalised qkv.k rotated here (neox pairs, hd 16). */
Test(features, gemma3_post_norms_and_local_rope)
{
    char err[CK_ERR_LEN];
    ck_model *m = load_gemma3();
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_run_opts opts = {.seed = 5};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &opts, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    const size_t D = 24, T = 11;
    const float *proj = at(r, "text.layer.2.out_proj.out"), *pn = at(r, "text.layer.2.post_attn_norm.out");
    const float *pg = at(r, "text.layer.2.post_attn_norm.gamma"), *res_in = at(r, "text.layer.1.mlp_residual.out");
    const float *res = at(r, "text.layer.2.attn_residual.out");
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < D; i++) {
            double want = normed(proj + t * D, pg, D, i);
            cr_assert(fabs(pn[t * D + i] - want) <= 1e-5 * fabs(want) + 1e-7, "post_attn_norm [%zu, %zu]", t, i);
            cr_assert_eq(res[t * D + i], res_in[t * D + i] + pn[t * D + i], "the residual adds the normalised branch");
        }
    const double thetas[2] = {1e4, 1e6};
    for (uint32_t l = 0; l < 2; l++) {
        char kn[64], kq[64], kg[64];
        snprintf(kn, sizeof kn, "text.layer.%u.k_norm.out", l);
        snprintf(kq, sizeof kq, "text.layer.%u.qkv.k", l);
        snprintf(kg, sizeof kg, "text.layer.%u.k_norm.gamma", l);
        const float *k = at(r, kq) + 16, *out = at(r, kn) + 16, *g = at(r, kg); /* row 1: one kv head of 16 */
        for (size_t i = 0; i < 8; i++) {
            double a = pow(thetas[l], -2.0 * (double)i / 16.0), x0 = normed(k, g, 16, i), x1 = normed(k, g, 16, i + 8);
            double y0 = x0 * cos(a) - x1 * sin(a), y1 = x0 * sin(a) + x1 * cos(a);
            cr_assert(fabs(out[i] - y0) <= 1e-5 * fabs(y0) + 1e-6 && fabs(out[i + 8] - y1) <= 1e-5 * fabs(y1) + 1e-6,
                      "layer %u pair %zu: (%g, %g), expected (%g, %g) with theta %g", l, i, out[i], out[i + 8], y0, y1,
                      thetas[l]);
        }
    }
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}
