/* The whole-model executor: tiny models run end to end through every
 * runnable plugin, logits within tolerance of scalar; deterministic replay;
 * a windowed run equals a resident one; diverge names the first bad op. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ck_fusion.h"
#include "ck_model.h"
#include "ck_run.h"

static char model_path[1024];

static const char *model(const char *name)
{
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(model_path, sizeof model_path, "%s/ir/models/%s", src ? src : ".", name);
    return model_path;
}

typedef struct output {
    float *y;
    size_t n;
    size_t max_resident;
    size_t fused_groups;
} output;

static int track_resident(void *user, ck_runner *r, size_t step)
{
    output *o = user;
    for (uint32_t s = 0; s < 4; s++) {
        size_t k = ck_runner_resident_layers(r, s);
        if (k > o->max_resident)
            o->max_resident = k;
    }
    (void)step;
    return 0;
}

/* Run `model_name` through `plugin_name`; NULL plugin when it does not run here. */
static output run_model_fused(const char *model_name, const char *plugin_name, int threads, size_t window,
                              uint32_t fuse);

static output run_model(const char *model_name, const char *plugin_name, int threads, size_t window)
{
    return run_model_fused(model_name, plugin_name, threads, window, 0);
}

static output run_model_fused(const char *model_name, const char *plugin_name, int threads, size_t window,
                              uint32_t fuse)
{
    char err[CK_ERR_LEN];
    output o = {0};
    ck_model *m = ck_model_load(model(model_name), err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_plugin *p = strcmp(plugin_name, "scalar") ? ck_plugin_load(plugin_name, err, sizeof err) : scalar;
    if (!p || !p->runnable) {
        ck_plugin_unload(scalar);
        ck_model_free(m);
        return o;
    }
    ck_run_opts opts = {.seed = 42, .window_layers = window, .fuse_mask = fuse};
    ck_runner *r = ck_runner_create(m, p, scalar, &opts, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(threads);
    cr_assert_eq(ck_runner_forward(r, ctx, track_resident, &o, err, sizeof err), 0, "%s", err);
    for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
        o.fused_groups += ck_runner_fusion(r, f);
    const float *y = ck_runner_output(r, &o.n);
    cr_assert(o.n > 0);
    o.y = malloc(o.n * sizeof *o.y);
    memcpy(o.y, y, o.n * sizeof *o.y);
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    if (p != scalar)
        ck_plugin_unload(p);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    return o;
}

Test(run, tiny_models_give_finite_logits_through_scalar)
{
    const char *models[] = {"tiny-llava.json", "tiny-gqa.json", "tiny-quant.json"};
    for (size_t i = 0; i < 3; i++) {
        output o = run_model(models[i], "scalar", 1, 0);
        double rms = 0;
        for (size_t j = 0; j < o.n; j++) {
            cr_assert(isfinite(o.y[j]), "%s: logit %zu is %g", models[i], j, o.y[j]);
            rms += (double)o.y[j] * o.y[j];
        }
        cr_assert(rms > 0, "%s: all-zero output", models[i]);
        free(o.y);
    }
}

Test(run, replay_is_bit_identical_for_the_same_plugin_and_threads)
{
    const char *plugins[] = {"scalar", "avx2", "avx512"};
    for (size_t i = 0; i < 3; i++) {
        output a = run_model("tiny-llava.json", plugins[i], 2, 0);
        output b = run_model("tiny-llava.json", plugins[i], 2, 0);
        if (!a.y)
            continue;
        cr_assert_eq(a.n, b.n);
        cr_assert(memcmp(a.y, b.y, a.n * sizeof *a.y) == 0, "%s: two runs differ", plugins[i]);
        free(a.y), free(b.y);
    }
}

Test(run, simd_plugins_match_scalar_logits_within_tolerance)
{
    const char *plugins[] = {"avx2", "avx512", "quant"};
    const char *models[] = {"tiny-llava.json", "tiny-gqa.json"};
    for (size_t mi = 0; mi < 2; mi++) {
        output ref = run_model(models[mi], "scalar", 1, 0);
        for (size_t i = 0; i < 3; i++) {
            output o = run_model(models[mi], plugins[i], 2, 0);
            if (!o.y)
                continue;
            cr_assert_eq(o.n, ref.n);
            for (size_t j = 0; j < o.n; j++)
                cr_assert(fabsf(o.y[j] - ref.y[j]) <= 1e-4f + 1e-3f * fabsf(ref.y[j]),
                          "%s via %s: logit %zu = %.8g, scalar %.8g", models[mi], plugins[i], j, o.y[j], ref.y[j]);
            free(o.y);
        }
        free(ref.y);
    }
}

Test(run, a_window_of_layers_gives_the_same_output_and_stays_small)
{
    output full = run_model("tiny-gqa.json", "scalar", 1, 0);
    output win = run_model("tiny-gqa.json", "scalar", 1, 1);
    cr_assert_eq(full.n, win.n);
    cr_assert(memcmp(full.y, win.y, full.n * sizeof *full.y) == 0, "windowed output differs");
    cr_assert(full.max_resident == 3, "all 3 layers resident without a window, saw %zu", full.max_resident);
    cr_assert(win.max_resident <= 2, "window 1: the current layer and the one feeding it, saw %zu", win.max_resident);
    free(full.y), free(win.y);
}

static int run_cmd(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t got = fread(out, 1, len - 1, p);
    out[got] = 0;
    return WEXITSTATUS(pclose(p));
}

Test(run, diverge_names_the_first_op_that_leaves_tolerance)
{
    const char *ck = getenv("CK_CKBENCH"), *plugs = getenv("CK_TEST_PLUGIN_DIR");
    if (!ck || !plugs)
        cr_skip_test("CK_CKBENCH / CK_TEST_PLUGIN_DIR not set (run through make test-unit)");
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s diverge --plugin %s/libck_skewed_norm.so --model %s 2>&1", ck, plugs,
             model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "first divergence at step 1 of 39: text.layer.0.attn_norm (rmsnorm") != NULL, "%s", out);
    cr_assert(strstr(out, "tensor text.layer.0.attn_norm.out at offset 0x") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s diverge --plugin scalar --model %s 2>&1", ck, model("tiny-llava.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "no divergence") != NULL, "%s", out);
}

Test(run, bad_arguments_get_one_clear_line)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model %s --tokens 1,x 2>&1", ck, model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--tokens: expected comma-separated non-negative integers") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model %s --tokens 3,101 2>&1", ck, model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "token 1 is 101, outside the vocabulary [0, 101)") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model /nonexistent.json 2>&1", ck);
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "/nonexistent.json") != NULL, "%s", out);
}

/* The forward writes every buffer of its fresh mapping (weights seeded,
 * activations computed), so it faults at least once per page of it; tiny-gqa's
 * mapping is under 2 MiB, so no transparent huge page can stand in for 512. */
Test(run, the_forward_faults_in_its_whole_mapping)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model %s 2>&1", ck, model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "%s", out);
    const char *a = strstr(out, "allocation: "), *c = strstr(out, "counters: ");
    double bytes = 0, faults = 0, cpu = 0;
    cr_assert(a && sscanf(a, "allocation: %lf bytes", &bytes) == 1 && bytes > 0, "%s", out);
    cr_assert(c && sscanf(c, "counters: %lf page faults", &faults) == 1, "%s", out);
    const char *u = strstr(c, "cpu ");
    cr_assert(u && sscanf(u, "cpu %lf", &cpu) == 1 && cpu > 0, "the threads ran: %s", out);
    cr_assert(bytes < 2 << 20);
    cr_assert_geq(faults, bytes / (double)sysconf(_SC_PAGESIZE), "%g faults for a %g-byte mapping", faults, bytes);
}

Test(run, scalar_fused_groups_are_bit_identical_to_the_unfused_graph)
{
    const char *models[] = {"tiny-llava.json", "tiny-gqa.json"};
    for (size_t i = 0; i < 2; i++) {
        output plain = run_model(models[i], "scalar", 2, 0);
        output fused = run_model_fused(models[i], "scalar", 2, 0, CK_FUSE_ALL);
        cr_assert_eq(plain.fused_groups, 0);
        cr_assert(fused.fused_groups > 0, "%s: no fusion applied", models[i]);
        cr_assert(memcmp(plain.y, fused.y, plain.n * sizeof *plain.y) == 0,
                  "%s: the scalar fused reference is its members in order, so outputs must be identical", models[i]);
        free(plain.y), free(fused.y);
    }
}

Test(run, diverge_with_fusion_names_a_wrong_fused_kernel)
{
    const char *ck = getenv("CK_CKBENCH"), *plugs = getenv("CK_TEST_PLUGIN_DIR");
    if (!ck || !plugs)
        cr_skip_test("CK_CKBENCH / CK_TEST_PLUGIN_DIR not set (run through make test-unit)");
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s diverge --plugin %s/libck_bad_fused.so --model %s --fuse add_norm 2>&1", ck, plugs,
             model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "+add_norm (add_norm, f32 kernel of bad_fused)") != NULL, "the kernel and its plugin: %s",
              out);
    snprintf(cmd, sizeof cmd, "%s diverge --plugin %s/libck_bad_fused.so --model %s --fuse none 2>&1", ck, plugs,
             model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "unfused, everything falls back to scalar: %s", out);
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model %s --fuse norm_qvk 2>&1", ck, model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "unknown fusion 'norm_qvk'") != NULL, "%s", out);
}

Test(run, fusion_bench_reports_time_and_bytes_per_layer)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s fusion --plugin scalar --model %s --layers 2 --repetitions 1 2>&1", ck,
             model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "applied: gate_up x2") != NULL, "%s", out);
    cr_assert(strstr(out, "text ") != NULL && strstr(out, "x\n") != NULL, "a speedup column: %s", out);
    cr_assert(strstr(out, "activation bytes not moved per forward: ") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "%s fusion --plugin scalar --model %s --layers 0 2>&1", ck, model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 2, "%s", out);
}

/* ---- decode: one token against the KV cache ------------------------------------ */

#include "ck_plan.h"

static const ck_buffer *buffer_named(const ck_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_buffers; i++)
        if (strcmp(p->buffers[i].name, name) == 0)
            return &p->buffers[i];
    return NULL;
}

Test(run, decode_appends_the_token_to_the_cache_and_matches_scalar)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_load(model("tiny-gqa.json"), err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    const char *names[] = {"scalar", "avx512", "avx2"};
    float *ref = NULL;
    size_t n_ref = 0;
    for (size_t i = 0; i < 3; i++) {
        ck_plugin *p = i ? ck_plugin_load(names[i], err, sizeof err) : scalar;
        if (!p || !p->runnable)
            continue;
        ck_run_opts o = {.seed = 5, .decode = 1, .decode_pos = 9};
        ck_runner *r = ck_runner_create(m, p, scalar, &o, err, sizeof err);
        cr_assert_not_null(r, "%s", err);
        ck_exec_ctx *ctx = ck_exec_create(2);
        cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
        const ck_plan *plan = ck_runner_plan(r);
        const ck_buffer *kc = buffer_named(plan, "text.layer.1.qkv.k_cache");
        const ck_buffer *k = buffer_named(plan, "text.layer.1.qkv.k");
        cr_assert(kc && k, "decode plans a cache per layer");
        const char *base = ck_runner_base(r);
        cr_assert(memcmp(base + kc->offset + 9 * k->size, base + k->offset, k->size) == 0,
                  "%s: the token's rotated k is row 9 of the cache", names[i]);
        size_t n;
        const float *y = ck_runner_output(r, &n);
        cr_assert_eq(n, 101, "one row of logits");
        if (!ref) {
            ref = malloc(n * sizeof *ref);
            memcpy(ref, y, n * sizeof *ref);
            n_ref = n;
        } else {
            for (size_t j = 0; j < n_ref; j++)
                cr_assert(fabsf(y[j] - ref[j]) <= 1e-4f + 1e-3f * fabsf(ref[j]), "%s: logit %zu %.8g vs %.8g", names[i],
                          j, y[j], ref[j]);
        }
        ck_exec_destroy(ctx);
        ck_runner_free(r);
        if (p != scalar)
            ck_plugin_unload(p);
    }
    free(ref);
    ck_plugin_unload(scalar);
    ck_model_free(m);
}

Test(run, decode_position_outside_the_context_is_refused)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model %s --decode-pos 13 2>&1", ck, model("tiny-gqa.json"));
    cr_assert_eq(run_cmd(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "decode position: expected less than seq_len (13), found 13") != NULL, "%s", out);
}
