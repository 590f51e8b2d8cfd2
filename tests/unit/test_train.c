/* The training step (runtime/ck_train.h, ckbench train-step): the loss falls
 * on a fixed batch; the whole-model backward pass agrees with central finite
 * differences of the loss; a step replays bit-identically; bad arguments get
 * one clear line. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ck_ir.h"
#include "ck_train.h"

static ck_model *load_shipped(const char *name)
{
    const char *root = getenv("CK_SOURCE_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/ir/models/%s", root ? root : ".", name);
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s: %s", name, err);
    return m;
}

static ck_plugin *scalar_plugin(void)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    return p;
}

static ck_trainer *trainer(const ck_model *m, ck_plugin *p, uint64_t seed)
{
    char err[CK_ERR_LEN];
    ck_train_opts o = ck_train_defaults();
    o.seed = seed;
    ck_trainer *t = ck_trainer_create(m, p, p, &o, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    return t;
}

/* ---- the loss falls --------------------------------------------------------- */

static void loss_falls(const char *model)
{
    ck_model *m = load_shipped(model);
    ck_plugin *p = scalar_plugin();
    ck_trainer *t = trainer(m, p, 7);
    ck_exec_ctx *ctx = ck_exec_create(2);
    char err[CK_ERR_LEN];
    float loss[6];
    for (int s = 0; s < 5; s++)
        cr_assert_eq(ck_trainer_step(t, ctx, &loss[s], err, sizeof err), 0, "%s step %d: %s", model, s, err);
    cr_assert_eq(ck_trainer_loss(t, ctx, &loss[5], err, sizeof err), 0, "%s", err);
    for (int s = 0; s < 6; s++)
        cr_assert(isfinite(loss[s]), "%s: loss %d is %g", model, s, (double)loss[s]);
    /* a random model starts near log(vocab); five Adam steps on one batch
     * take a clear bite out of it, not a rounding-level wobble */
    cr_assert_lt(loss[5], 0.8f * loss[0], "%s: loss %g -> %g", model, (double)loss[0], (double)loss[5]);
    ck_train_counts c = ck_trainer_counts(t);
    cr_assert_gt(c.backward, 0);
    cr_assert_eq(c.backward_fallback, 0, "scalar runs its own backward kernels");
    ck_exec_destroy(ctx);
    ck_trainer_free(t);
    ck_plugin_unload(p);
    ck_model_free(m);
}

/* Gemma 3's layer (geglu, post norms, local rope, qk_norm, tied scaled
 * table) and the features model (geglu, head_dim apart from d_model) */
Test(train, loss_falls_on_a_fixed_batch_tiny_gemma3_and_tiny_features)
{
    loss_falls("tiny-gemma3.json");
    loss_falls("tiny-features.json");
}

Test(train, loss_falls_on_a_fixed_batch_tiny_gqa)
{
    loss_falls("tiny-gqa.json");
}

Test(train, loss_falls_on_a_fixed_batch_tiny_llava_with_the_vision_encoder_frozen)
{
    loss_falls("tiny-llava.json");
    /* frozen means frozen: no vision weight moves */
    ck_model *m = load_shipped("tiny-llava.json");
    ck_plugin *p = scalar_plugin();
    ck_trainer *t = trainer(m, p, 7);
    ck_exec_ctx *ctx = ck_exec_create(1);
    char err[CK_ERR_LEN];
    size_t n;
    float *w = ck_trainer_tensor(t, "vision.layer.0.qkv.wq", &n);
    cr_assert_not_null(w);
    float *before = malloc(n * sizeof *before);
    memcpy(before, w, n * sizeof *w);
    float loss;
    cr_assert_eq(ck_trainer_step(t, ctx, &loss, err, sizeof err), 0, "%s", err);
    cr_assert_eq(memcmp(before, w, n * sizeof *w), 0, "a frozen vision weight changed");
    cr_assert_eq(ck_trainer_counts(t).frozen_sections, 1);
    free(before);
    ck_exec_destroy(ctx);
    ck_trainer_free(t);
    ck_plugin_unload(p);
    ck_model_free(m);
}

/* ---- whole-model gradient check ------------------------------------------------ */

/* Central difference of the loss at element i of tensor w, step h. */
static double finite_difference(ck_trainer *t, const ck_exec_ctx *ctx, float *w, size_t i, float h)
{
    char err[CK_ERR_LEN];
    float keep = w[i], up, down;
    w[i] = keep + h;
    cr_assert_eq(ck_trainer_loss(t, ctx, &up, err, sizeof err), 0, "%s", err);
    w[i] = keep - h;
    cr_assert_eq(ck_trainer_loss(t, ctx, &down, err, sizeof err), 0, "%s", err);
    double step = ((double)(keep + h) - (double)(keep - h)); /* the step actually taken in f32 */
    w[i] = keep;
    return ((double)up - (double)down) / step;
}

/* The element with the largest gradient: the check is then about a number
 * well above the loss's rounding, not about noise. */
static size_t largest(const float *g, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (fabsf(g[i]) > fabsf(g[best]))
            best = i;
    return best;
}

/* A weight to check and the finite-difference step for it. */
typedef struct probe {
    const char *name;
    float h;
} probe;

/* For each probe, the element with the largest gradient from the backward
 * pass against a central difference of the loss computed by forward runs.
 *
 * Tolerance: ulp(loss) / h absolute + 2 % relative. The loss is an f32, so
 * the two losses of the quotient each carry up to half an ulp of rounding:
 * ulp / (2h) at worst, doubled for the forward's own f32 rounding. The
 * truncation error (h^2/6 times the third derivative) is below 1 % where
 * measured: an embedding row at h = 1e-2, whose rmsnorm sees a 7 % change
 * of the row's norm, is the worst at 0.7 %. Each checked gradient must be at
 * least 4 times the absolute part, so that part never decides the check. */
static void check_gradients(ck_trainer *t, const probe *probes, size_t n_probes)
{
    ck_exec_ctx *ctx = ck_exec_create(1);
    char err[CK_ERR_LEN];
    float loss;
    cr_assert_eq(ck_trainer_gradients(t, ctx, &loss, err, sizeof err), 0, "%s", err);
    double ulp = (double)nextafterf(loss, INFINITY) - (double)loss;
    for (size_t k = 0; k < n_probes; k++) {
        const char *name = probes[k].name;
        char gname[128];
        size_t n, ng;
        float *w = ck_trainer_tensor(t, name, &n);
        snprintf(gname, sizeof gname, "%s.grad", name);
        float *g = ck_trainer_tensor(t, gname, &ng);
        cr_assert(w && g && n == ng, "%s", name);
        size_t i = largest(g, n);
        double analytic = g[i], atol = ulp / probes[k].h;
        double numeric = finite_difference(t, ctx, w, i, probes[k].h);
        cr_assert(fabs(analytic) >= 4 * atol, "%s: largest gradient %g is too small to check (atol %g)", name, analytic,
                  atol);
        cr_assert(fabs(analytic - numeric) <= atol + 0.02 * fabs(numeric),
                  "%s[%zu]: backward %.6g, finite difference %.6g", name, i, analytic, numeric);
    }
    ck_exec_destroy(ctx);
}

/* check_gradients on a trainer of m through scalar, seeded with `seed`;
 * frees m. */
static void check_model_gradients(ck_model *m, uint64_t seed, const probe *probes, size_t n_probes)
{
    ck_plugin *p = scalar_plugin();
    ck_trainer *t = trainer(m, p, seed);
    check_gradients(t, probes, n_probes);
    ck_trainer_free(t);
    ck_plugin_unload(p);
    ck_model_free(m);
}

Test(train, backward_matches_finite_differences_of_the_loss)
{
    /* one weight of each kind, spread over the layers; an f32 forward of
     * tiny-gqa (3 layers, GQA, gptj rope, qkv biases, swiglu) */
    const probe probes[] = {{"text.layer.1.attn_norm.gamma", 1e-2f}, {"text.layer.0.qkv.wq", 1e-2f},
                            {"text.layer.2.mlp_down.w", 1e-2f},      {"text.header.embedding.table", 1e-2f},
                            {"text.layer.0.qkv.bk", 1e-2f},          {"text.layer.1.out_proj.w", 1e-2f},
                            {"text.layer.2.mlp_gate.w", 1e-2f},      {"text.footer.final_norm.gamma", 1e-2f},
                            {"text.footer.lm_head.w", 1e-2f}};
    ck_model *m = load_shipped("tiny-gqa.json");
    ck_plugin *p = scalar_plugin();
    ck_trainer *t = trainer(m, p, 3);
    check_gradients(t, probes, sizeof probes / sizeof probes[0]);
    /* a vocabulary row no token of the batch uses gets no gradient */
    size_t n;
    const int32_t *ids = (const int32_t *)ck_trainer_tensor(t, "text.header.embedding.ids", NULL);
    float *dtable = ck_trainer_tensor(t, "text.header.embedding.table.grad", &n);
    cr_assert_null(ids, "ids are i32: not handed out as f32");
    size_t D = 48, vocab = n / D;
    int used[101] = {0};
    const ck_plan *plan = ck_runner_plan(ck_trainer_runner(t));
    for (size_t b = 0; b < plan->n_buffers; b++)
        if (strcmp(plan->buffers[b].name, "text.header.embedding.ids") == 0)
            ids = (const int32_t *)((const char *)ck_runner_base(ck_trainer_runner(t)) + plan->buffers[b].offset);
    cr_assert_not_null(ids);
    for (size_t i = 0; i < 13; i++)
        used[ids[i]] = 1;
    size_t unused_rows = 0;
    for (size_t r = 0; r < vocab; r++) {
        if (used[r])
            continue;
        unused_rows++;
        for (size_t j = 0; j < D; j++)
            cr_assert_eq(dtable[r * D + j], 0.0f, "row %zu of the table is not in the batch", r);
    }
    cr_assert_gt(unused_rows, 0);
    ck_trainer_free(t);
    ck_plugin_unload(p);
    ck_model_free(m);
}

/* The other paths of the backward pass: layernorm with beta, pre-norm,
 * learned positions, GELU, every bias, an MHA (not GQA) causal decoder. */
Test(train, backward_matches_finite_differences_on_a_gelu_layernorm_decoder)
{
    const char *json = "{\"name\": \"tiny-gpt\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", "
                       "\"kind\": \"decoder\", \"n_layers\": 2, \"d_model\": 20, \"n_heads\": 4, "
                       "\"n_kv_heads\": 4, \"head_dim\": 5, \"d_ff\": 37, \"seq_len\": 11, \"vocab\": 29, "
                       "\"norm\": \"layernorm\", \"norm_eps\": 1e-5, \"activation\": \"gelu\", "
                       "\"qkv_bias\": true, \"out_bias\": true, \"mlp_bias\": true, \"pre_norm\": true, "
                       "\"position\": \"learned\"}]}";
    /* the layers' norms get small gradients here (the branches of a
     * freshly seeded model are small): a larger step keeps the quotient's
     * rounding below them, and affine parameters have little curvature */
    const probe probes[] = {{"text.layer.1.attn_norm.beta", 3e-2f}, {"text.layer.1.attn_norm.gamma", 3e-2f},
                            {"text.layer.0.mlp_norm.gamma", 3e-2f}, {"text.layer.0.mlp_up.w", 1e-2f},
                            {"text.layer.1.mlp_up.b", 1e-2f},       {"text.layer.0.mlp_down.b", 1e-2f},
                            {"text.layer.1.out_proj.b", 1e-2f},     {"text.layer.0.qkv.bv", 1e-2f},
                            {"text.layer.1.qkv.wv", 1e-2f},         {"text.header.pos_add.pos_embed", 1e-2f},
                            {"text.header.pre_norm.gamma", 1e-2f},  {"text.header.embedding.table", 1e-2f},
                            {"text.footer.final_norm.beta", 1e-2f}};
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse(json, strlen(json), "tiny-gpt.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    check_model_gradients(m, 5, probes, sizeof probes / sizeof probes[0]);
}

/* A GELU-family decoder with the activation `act` (2 layers, MLP bias). */
static ck_model *clip_act_decoder(const char *act)
{
    char json[1024], err[CK_ERR_LEN];
    snprintf(json, sizeof json,
             "{\"name\": \"tiny-clip\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", "
             "\"kind\": \"decoder\", \"n_layers\": 2, \"d_model\": 20, \"n_heads\": 4, "
             "\"n_kv_heads\": 4, \"head_dim\": 5, \"d_ff\": 37, \"seq_len\": 11, \"vocab\": 29, "
             "\"norm\": \"layernorm\", \"norm_eps\": 1e-5, \"activation\": \"%s\", "
             "\"mlp_bias\": true, \"position\": \"learned\"}]}",
             act);
    ck_model *m = ck_model_parse(json, strlen(json), "tiny-clip.json", err, sizeof err);
    cr_assert_not_null(m, "%s: %s", act, err);
    return m;
}

/* The CLIP activations train end to end: finite differences through the
 * weights in front of the activation (mlp_up) and behind it (mlp_down). */
Test(train, backward_matches_finite_differences_with_gelu_erf_and_quick_gelu)
{
    static const char *const acts[] = {"gelu_erf", "quick_gelu"};
    const probe probes[] = {{"text.layer.0.mlp_up.w", 1e-2f},
                            {"text.layer.1.mlp_up.b", 1e-2f},
                            {"text.layer.0.mlp_down.w", 1e-2f},
                            {"text.layer.1.qkv.wv", 1e-2f}};
    for (size_t i = 0; i < 2; i++)
        check_model_gradients(clip_act_decoder(acts[i]), 23 + i, probes, sizeof probes / sizeof probes[0]);
}

/* ... and the step between is their own derivative, not gelu's (tanh form):
 * the two differ by up to 3e-2 (quick_gelu) and 9e-4 (erf), which the 2 %
 * of a finite-difference check can miss; here each element of the MLP's
 * input gradient is dy f'(x), recomputed in double, to 1e-6. */
Test(train, the_mlp_backward_is_the_activations_own_derivative)
{
    static const char *const acts[] = {"gelu_erf", "quick_gelu"};
    for (size_t a = 0; a < 2; a++) {
        ck_model *m = clip_act_decoder(acts[a]);
        ck_plugin *p = scalar_plugin();
        ck_trainer *t = trainer(m, p, 29);
        ck_exec_ctx *ctx = ck_exec_create(1);
        char err[CK_ERR_LEN];
        float loss;
        cr_assert_eq(ck_trainer_gradients(t, ctx, &loss, err, sizeof err), 0, "%s", err);
        size_t n, n1, n2;
        const float *x = ck_trainer_tensor(t, "text.layer.0.mlp_up.out", &n);
        const float *dy = ck_trainer_tensor(t, "text.layer.0.mlp_act.out.grad", &n1);
        const float *dx = ck_trainer_tensor(t, "text.layer.0.mlp_up.out.grad", &n2);
        cr_assert(x && dy && dx && n == n1 && n == n2 && n >= 37, "%s", acts[a]);
        for (size_t i = 0; i < n; i++) {
            double v = x[i], d;
            if (a == 0) {
                d = 0.5 * erfc(-v / sqrt(2.0)) + v * exp(-0.5 * v * v) / sqrt(2.0 * M_PI);
            } else {
                double s = 1.0 / (1.0 + exp(-1.702 * v));
                d = s + 1.702 * v * s * (1.0 - s);
            }
            double want = dy[i] * d;
            cr_assert(fabs(dx[i] - want) <= 1e-6 * fabs(want) + 1e-30, "%s [%zu]: x %g: %.9g, want %.9g", acts[a], i, v,
                      (double)dx[i], want);
        }
        ck_exec_destroy(ctx);
        ck_trainer_free(t);
        ck_plugin_unload(p);
        ck_model_free(m);
    }
}

/* Tied embeddings and the embedding scale: the table's gradient is the sum
 * of the head's share (every row) and the embedding's (the batch's rows,
 * times the scale). A row the batch uses is checked as well as the largest
 * element, so a missing share fails either way. Attention is 4 x 12 wide on
 * a 40-wide residual. */
Test(train, backward_matches_finite_differences_with_a_tied_scaled_table)
{
    const char *json = "{\"name\": \"tiny-tied\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", "
                       "\"kind\": \"decoder\", \"n_layers\": 2, \"d_model\": 40, \"n_heads\": 4, "
                       "\"n_kv_heads\": 2, \"head_dim\": 12, \"d_ff\": 37, \"seq_len\": 11, \"vocab\": 29, "
                       "\"tie_word_embeddings\": true, \"embedding_scale\": 6.324555320336759, "
                       "\"norm\": \"rmsnorm\", \"activation\": \"swiglu\", \"position\": \"rope\", "
                       "\"rope_theta\": 10000}]}";
    const probe probes[] = {
        {"text.header.embedding.table", 1e-2f}, {"text.layer.0.qkv.wq", 1e-2f}, {"text.layer.1.out_proj.w", 1e-2f}};
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse(json, strlen(json), "tiny-tied.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_plugin *p = scalar_plugin();
    ck_trainer *t = trainer(m, p, 9);
    check_gradients(t, probes, sizeof probes / sizeof probes[0]);
    const ck_plan *plan = ck_runner_plan(ck_trainer_runner(t));
    const int32_t *ids = NULL;
    for (size_t b = 0; b < plan->n_buffers; b++)
        if (strcmp(plan->buffers[b].name, "text.header.embedding.ids") == 0)
            ids = (const int32_t *)((const char *)ck_runner_base(ck_trainer_runner(t)) + plan->buffers[b].offset);
    cr_assert_not_null(ids);
    size_t n;
    float *w = ck_trainer_tensor(t, "text.header.embedding.table", &n);
    const float *g = ck_trainer_tensor(t, "text.header.embedding.table.grad", NULL);
    ck_exec_ctx *ctx = ck_exec_create(1);
    size_t row = (size_t)ids[3], best = row * 40;
    for (size_t k = 1; k < 40; k++)
        if (fabsf(g[row * 40 + k]) > fabsf(g[best]))
            best = row * 40 + k;
    double numeric = finite_difference(t, ctx, w, best, 1e-2f);
    cr_assert(fabs(g[best] - numeric) <= 1e-4 + 0.02 * fabs(numeric),
              "row %zu of the batch: backward %.6g, finite "
              "difference %.6g",
              row, g[best], numeric);
    ck_exec_destroy(ctx);
    ck_trainer_free(t);
    ck_plugin_unload(p);
    ck_model_free(m);
}

/* qk_norm: the heads' rmsnorm between qkv and rope, backwards through the
 * rmsnorm_bwd op on [T*H, hd] rows; q / k gammas and the projections. */
Test(train, backward_matches_finite_differences_with_qk_norm)
{
    const char *json = "{\"name\": \"tiny-qk\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", "
                       "\"kind\": \"decoder\", \"n_layers\": 2, \"d_model\": 40, \"n_heads\": 4, "
                       "\"n_kv_heads\": 2, \"head_dim\": 12, \"d_ff\": 37, \"seq_len\": 11, \"vocab\": 29, "
                       "\"qk_norm\": true, \"qkv_bias\": true, \"norm\": \"rmsnorm\", \"activation\": "
                       "\"swiglu\", \"position\": \"rope\", \"rope_theta\": 10000}]}";
    const probe probes[] = {{"text.layer.0.q_norm.gamma", 3e-2f}, {"text.layer.1.k_norm.gamma", 3e-2f},
                            {"text.layer.0.qkv.wq", 1e-2f},       {"text.layer.1.qkv.wk", 1e-2f},
                            {"text.layer.0.qkv.bk", 1e-2f},       {"text.layer.1.qkv.wv", 1e-2f}};
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse(json, strlen(json), "tiny-qk.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    check_model_gradients(m, 11, probes, sizeof probes / sizeof probes[0]);
}

/* Partial rotary (6 of 12 dims, gptj pairs) and an attention scale of
 * 1/sqrt(7): rope_bwd rotates back only the rotated dims, attention_bwd
 * takes the forward's scale. */
Test(train, backward_matches_finite_differences_with_partial_rotary)
{
    const char *json = "{\"name\": \"tiny-rd\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", "
                       "\"kind\": \"decoder\", \"n_layers\": 2, \"d_model\": 40, \"n_heads\": 4, "
                       "\"n_kv_heads\": 2, \"head_dim\": 12, \"d_ff\": 37, \"seq_len\": 11, \"vocab\": 29, "
                       "\"rotary_dim\": 6, \"query_pre_attn_scalar\": 7, \"norm\": \"rmsnorm\", \"activation\": "
                       "\"swiglu\", \"position\": \"rope\", \"rope_theta\": 10000, \"rope_pairing\": \"gptj\"}]}";
    const probe probes[] = {{"text.layer.0.qkv.wq", 1e-2f},
                            {"text.layer.1.qkv.wk", 1e-2f},
                            {"text.layer.0.qkv.wk", 1e-2f},
                            {"text.layer.1.qkv.wv", 1e-2f}};
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse(json, strlen(json), "tiny-rd.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    check_model_gradients(m, 13, probes, sizeof probes / sizeof probes[0]);
}

/* tiny-window's decoder: 5-key sliding windows on layers 0 and 2 (of its
 * 19 rows), an attention soft-cap of 0.05 and a final one of 0.1 (small
 * enough that the seeded scores and logits reach the tanh's bend), post
 * norms, partial gptj rotary; its encoder and mlp2x_gelu bridge are frozen.
 * The q / k projections of a windowed and a global layer see the window and
 * the cap's slope, lm_head the final cap's. */
Test(train, backward_matches_finite_differences_with_windows_and_soft_caps)
{
    /* the final cap keeps the logits within 0.1 of each other, so every
     * gradient is small: steps of 3e-2 keep the quotient's rounding below */
    const probe probes[] = {{"text.layer.0.qkv.wq", 3e-2f},
                            {"text.layer.0.qkv.wk", 3e-2f},
                            {"text.layer.1.qkv.wq", 3e-2f},
                            {"text.layer.2.qkv.wk", 3e-2f},
                            {"text.layer.2.out_proj.w", 3e-2f},
                            {"text.layer.1.post_attn_norm.gamma", 3e-2f},
                            {"text.layer.0.post_mlp_norm.gamma", 3e-2f},
                            {"text.layer.1.mlp_down.w", 3e-2f},
                            {"text.footer.lm_head.w", 1e-2f},
                            {"text.header.embedding.table", 1e-3f}};
    ck_model *m = load_shipped("tiny-window.json");
    check_model_gradients(m, 17, probes, sizeof probes / sizeof probes[0]);
}

/* tiny-gemma3: geglu (geglu_bwd), post norms, qk_norm, local rope layers
 * with their own theta's tables, a tied table scaled by sqrt(d_model). */
Test(train, backward_matches_finite_differences_with_geglu_and_local_rope)
{
    const probe probes[] = {{"text.layer.0.mlp_gate.w", 1e-2f},
                            {"text.layer.1.mlp_up.w", 1e-2f},
                            {"text.layer.0.post_mlp_norm.gamma", 3e-2f},
                            {"text.layer.1.post_attn_norm.gamma", 3e-2f},
                            {"text.layer.0.qkv.wq", 1e-2f},
                            {"text.layer.1.qkv.wk", 1e-2f},
                            {"text.header.embedding.table", 1e-2f}};
    ck_model *m = load_shipped("tiny-gemma3.json");
    check_model_gradients(m, 19, probes, sizeof probes / sizeof probes[0]);
}

/* ---- deterministic replay --------------------------------------------------------- */

static unsigned char *one_step_arena(const ck_model *m, ck_plugin *p, uint64_t seed, int threads, size_t *bytes)
{
    ck_trainer *t = trainer(m, p, seed);
    ck_exec_ctx *ctx = ck_exec_create(threads);
    char err[CK_ERR_LEN];
    float loss;
    cr_assert_eq(ck_trainer_step(t, ctx, &loss, err, sizeof err), 0, "%s", err);
    const ck_plan *plan = ck_runner_plan(ck_trainer_runner(t));
    *bytes = plan->total;
    unsigned char *copy = malloc(plan->total);
    cr_assert_not_null(copy);
    memcpy(copy, ck_runner_base(ck_trainer_runner(t)), plan->total);
    ck_exec_destroy(ctx);
    ck_trainer_free(t);
    return copy;
}

Test(train, a_step_replays_bit_identically)
{
    ck_model *m = load_shipped("tiny-gqa.json");
    ck_plugin *p = scalar_plugin();
    size_t na, nb, nc;
    unsigned char *a = one_step_arena(m, p, 11, 2, &na);
    unsigned char *b = one_step_arena(m, p, 11, 2, &nb);
    unsigned char *c = one_step_arena(m, p, 12, 2, &nc);
    cr_assert_eq(na, nb);
    /* the whole allocation: weights, gradients, moments, activations */
    cr_assert_eq(memcmp(a, b, na), 0, "same seed, plugin and threads: the arenas differ after one step");
    cr_assert_neq(memcmp(a, c, na), 0, "another seed gives another model (the comparison can fail)");
    free(a);
    free(b);
    free(c);
    ck_plugin_unload(p);
    ck_model_free(m);
}

/* ---- ckbench train-step ----------------------------------------------------------- */

typedef struct run_result {
    int status;
    char out[8192], err[2048];
    int err_lines;
} run_result;

static void slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

static run_result ckbench(const char *args)
{
    const char *bin = getenv("CK_CKBENCH"), *root = getenv("CK_SOURCE_DIR");
    cr_assert_not_null(bin, "CK_CKBENCH must name the ckbench binary");
    char cmd[2048], out[] = "/tmp/ck-train-out-XXXXXX", err[] = "/tmp/ck-train-err-XXXXXX";
    int fo = mkstemp(out), fe = mkstemp(err);
    cr_assert(fo >= 0 && fe >= 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' train-step %s >%s 2>%s", root ? root : ".", bin, args, out, err);
    run_result r;
    int rc = system(cmd);
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    slurp(out, r.out, sizeof r.out);
    slurp(err, r.err, sizeof r.err);
    r.err_lines = 0;
    for (const char *c = r.err; *c; c++)
        r.err_lines += *c == '\n';
    close(fo);
    close(fe);
    unlink(out);
    unlink(err);
    return r;
}

Test(train_cli, trains_and_reports_the_loss_per_step)
{
    run_result r = ckbench("--plugin scalar --model ir/models/tiny-gqa.json --steps 3 --seed 5 --threads 1");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "step 1: loss ") && strstr(r.out, "step 3: loss "), "%s", r.out);
    cr_assert(strstr(r.out, "(fell from"), "%s", r.out);
    cr_assert(strstr(r.out, "by scalar fallback"), "%s", r.out);
    /* one plugin is a chain of one: named as loaded, no per-plugin line */
    cr_assert(strstr(r.out, "train-step tiny-gqa through scalar: 1 threads"), "%s", r.out);
    cr_assert_null(strstr(r.out, "kernels by plugin"), "%s", r.out);
}

Test(train_cli, time_prints_a_row_per_layer)
{
    run_result r = ckbench("--plugin scalar --model ir/models/tiny-gqa.json --steps 2 --time 1");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "layer 0") && strstr(r.out, "layer 2") && strstr(r.out, "footer"), "%s", r.out);
}

Test(train_cli, a_loss_that_does_not_fall_fails)
{
    /* lr 1e-12 moves no weight by an ulp: the loss stays where it was */
    run_result r = ckbench("--plugin scalar --model ir/models/tiny-gqa.json --steps 2 --lr 1e-12");
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "the loss did not fall"), "%s", r.err);
}

Test(train_cli, bad_arguments_get_one_clear_line)
{
    const struct {
        const char *args, *says;
    } cases[] = {
        {"--model ir/models/tiny-gqa.json", "--plugin and --model are required"},
        {"--plugin scalar --model ir/models/tiny-gqa.json --steps two", "--steps: expected an integer"},
        {"--plugin scalar --model ir/models/tiny-gqa.json --steps 1", "--steps: expected an integer from 2"},
        {"--plugin scalar --model ir/models/tiny-gqa.json --lr -1", "--lr: expected a number"},
        {"--plugin scalar --model ir/models/tiny-gqa.json --threads", "--threads needs a value"},
        {"--plugin scalar --model ir/models/tiny-gqa.json --window 2", "unknown option '--window'"},
        {"--plugin scalar --model /nonexistent/m.json", "/nonexistent/m.json"},
        {"--plugin nosuch --model ir/models/tiny-gqa.json", "nosuch"},
        {"--plugin scalar+ --model ir/models/tiny-gqa.json", "--plugin 'scalar+': item 2 is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r = ckbench(cases[i].args);
        cr_assert_eq(r.status, 2, "%s: status %d", cases[i].args, r.status);
        cr_assert_eq(r.err_lines, 1, "%s: expected one line, got:\n%s", cases[i].args, r.err);
        cr_assert(strstr(r.err, cases[i].says), "%s: '%s' does not say '%s'", cases[i].args, r.err, cases[i].says);
        cr_assert_eq(r.out[0], '\0', "%s: nothing on stdout, found %s", cases[i].args, r.out);
    }
}

Test(train, a_model_without_a_decoder_is_refused)
{
    const char *json = "{\"name\": \"eyes-only\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"vision\", "
                       "\"kind\": \"vision_encoder\", \"n_layers\": 1, \"d_model\": 8, \"n_heads\": 2, "
                       "\"head_dim\": 4, \"d_ff\": 16, \"seq_len\": 5, \"image_size\": 4, \"patch_size\": 2, "
                       "\"channels\": 1, \"norm\": \"layernorm\", \"activation\": \"gelu\", "
                       "\"position\": \"learned\"}]}";
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse(json, strlen(json), "eyes-only.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_plugin *p = scalar_plugin();
    ck_train_opts o = ck_train_defaults();
    cr_assert_null(ck_trainer_create(m, p, p, &o, err, sizeof err));
    cr_assert(strstr(err, "nothing to train: expected a decoder section"), "%s", err);
    ck_plugin_unload(p);
    ck_model_free(m);
}

Test(train_cli, layers_keeps_only_the_first_layers)
{
    run_result r = ckbench("--plugin scalar --model ir/models/tiny-gqa.json --steps 2 --layers 1 --time 1");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "layer 0") && !strstr(r.out, "layer 1"), "%s", r.out);
    r = ckbench("--plugin scalar --model ir/models/tiny-gqa.json --layers 0");
    cr_assert_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "--layers: expected an integer from 1"), "%s", r.err);
}
