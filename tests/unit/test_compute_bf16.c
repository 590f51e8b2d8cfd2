/* Compute bf16 (CK_KF_COMPUTE_BF16, docs/ops.md): the scalar reference
 * rounds x to bf16 to nearest even and nothing else (hand-made ties and
 * near-ties, linear and qkv); the avx512 compute-bf16 kernels pass the gate
 * with its own bound, a kernel that truncates x instead fails it, and the
 * f32 kernels are not judged by it. */
#include <cpuid.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "bench/calibrate.h"
#include "ck_host.h"

/* ---- the scalar reference ---------------------------------------------------------------- */

static ck_plugin *load(const char *name)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = ck_plugin_load(name, err, sizeof err);
    cr_assert_not_null(p, "loading %s: %s", name, err);
    return p;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* x and the bf16 value it must become: exact ties go to the even mantissa,
 * anything above a tie goes up, below goes down; negative values mirror. */
static const struct {
    uint32_t x, want;
} narrowing[] = {
    {0x3f808000u, 0x3f800000u}, /* 1 + 2^-8: tie, 1.0 is even */
    {0x3f818000u, 0x3f820000u}, /* 1 + 3 * 2^-8: tie, odd below, goes up */
    {0x3f808001u, 0x3f810000u}, /* just above a tie: up */
    {0x3f807fffu, 0x3f800000u}, /* just below: down (truncation would agree) */
    {0x3f80ffffu, 0x3f810000u}, /* truncation would give 0x3f80 */
    {0xbf80ffffu, 0xbf810000u}, /* the same, negative */
    {0x3f800000u, 0x3f800000u}, /* already bf16 */
    {0x00000000u, 0x00000000u},
};
#define N_NARROW (sizeof narrowing / sizeof narrowing[0])

/* With w = 1 (bf16 0x3f80) and K = 1, y[t] is x[t] as the kernel narrowed it. */
Test(compute_bf16_reference, scalar_linear_rounds_x_to_nearest_even)
{
    ck_plugin *p = load("scalar");
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_LINEAR, CK_DTYPE_BF16, CK_KF_COMPUTE_BF16);
    const ck_kernel_desc *f = ck_plugin_kernel(p, CK_OP_LINEAR, CK_DTYPE_BF16, 0);
    cr_assert(k && f, "scalar must offer both compute types for bf16 linear");
    float x[N_NARROW], y[N_NARROW];
    uint16_t w = 0x3f80;
    for (size_t i = 0; i < N_NARROW; i++)
        x[i] = from_bits(narrowing[i].x);
    ck_exec_ctx *ctx = ck_exec_create(2);
    ck_linear_args a = {x, &w, NULL, y, N_NARROW, 1, 1, CK_DTYPE_BF16};
    cr_assert_eq(k->fn(ctx, &a), CK_OK);
    for (size_t i = 0; i < N_NARROW; i++) {
        uint32_t got;
        memcpy(&got, &y[i], sizeof got);
        cr_expect_eq(got, narrowing[i].want, "x = %#010x became %#010x, expected %#010x", narrowing[i].x, got,
                     narrowing[i].want);
    }
    /* the f32-compute kernel keeps x whole: the narrowing is the flag's */
    cr_assert_eq(f->fn(ctx, &a), CK_OK);
    cr_expect_eq(y[0], x[0], "compute f32 must not round x");
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

/* Products of bf16 values are exact and the sum is taken in double, so a
 * sum that f32 would round is exact here: y = bf16(x0) * w0 + bf16(x1) * w1
 * + bias with terms 2^20 apart whose sum fits in f32 exactly. */
Test(compute_bf16_reference, scalar_sum_is_exact_and_qkv_matches)
{
    ck_plugin *p = load("scalar");
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_LINEAR, CK_DTYPE_BF16, CK_KF_COMPUTE_BF16);
    const ck_kernel_desc *q = ck_plugin_kernel(p, CK_OP_QKV, CK_DTYPE_BF16, CK_KF_COMPUTE_BF16);
    cr_assert(k && q);
    /* x0 = 1 + 2^-8 (-> 1), x1 = 3 + 2^-7 (tie between 3 and 3 + 2^-6: -> 3) */
    float x[2] = {from_bits(0x3f808000u), from_bits(0x40404000u)}, bias = 0.25f, y;
    uint16_t w[2] = {0x4980 /* 2^20 */, 0x3f80 /* 1 */};
    ck_exec_ctx *ctx = ck_exec_create(1);
    ck_linear_args a = {x, w, &bias, &y, 1, 2, 1, CK_DTYPE_BF16};
    cr_assert_eq(k->fn(ctx, &a), CK_OK);
    cr_expect_eq(y, 1048576.0f + 3.0f + 0.25f, "y = %.9g", (double)y);
    float qo[2], ko[2], vo[2];
    uint16_t wq[4] = {0x4980, 0x3f80, 0x3f80, 0x3f80}; /* two heads of head_dim 1 */
    ck_qkv_args qa = {x, wq, w, w, NULL, NULL, NULL, qo, ko, vo, 1, 2, 2, 1, 1, CK_DTYPE_BF16};
    cr_assert_eq(q->fn(ctx, &qa), CK_OK);
    cr_expect_eq(qo[0], 1048576.0f + 3.0f);
    cr_expect_eq(qo[1], 4.0f);
    cr_expect_eq(ko[0], 1048579.0f);
    cr_expect_eq(vo[0], 1048579.0f);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

/* ---- the gate ------------------------------------------------------------------------------ */

static cJSON *run_gate(const char *plugin, const char *extra, int *status)
{
    const char *bench = getenv("CK_CKBENCH");
    char dir[] = "/tmp/ck_cbf16_XXXXXX", cmd[2048], json[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/p.json", dir);
    snprintf(cmd, sizeof cmd, "'%s' parity --plugin '%s' --op linear,qkv --json '%s' %s >/dev/null 2>&1",
             bench ? bench : "build/bin/ckbench", plugin, json, extra);
    int st = system(cmd);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    FILE *f = fopen(json, "rb");
    cr_assert_not_null(f, "no --json from: %s", cmd);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    unlink(json);
    rmdir(dir);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root);
    return root;
}

static const char *field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static const cJSON *cases_of(const cJSON *root)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "cases");
    cr_assert(cJSON_IsArray(c), "parity JSON has no cases array");
    return c;
}

static int cpu_has_avx512_bf16(void)
{
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1u);
}

Test(compute_bf16_gate, avx512_kernels_pass_with_their_bound, .timeout = 120)
{
    int status;
    cJSON *root = run_gate("avx512", "--compute bf16", &status);
    int passed = 0, other = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases_of(root))
    {
        if (!strstr(field(c, "kernel"), "cbf16"))
            continue;
        if (!strcmp(field(c, "verdict"), "PASS"))
            passed++;
        else
            other++;
    }
    if (cpu_has_avx512_bf16()) {
        cr_expect_eq(status, 0, "the gate failed the avx512 compute-bf16 kernels");
        cr_expect_gt(passed, 10, "only %d compute-bf16 cases passed", passed);
        cr_expect_eq(other, 0);
    }
    cJSON_Delete(root);
}

Test(compute_bf16_gate, truncating_x_fails_the_bound, .timeout = 120)
{
    char path[1024];
    const char *d = getenv("CK_TEST_PLUGIN_DIR");
    snprintf(path, sizeof path, "%s/libck_bf16_truncate.so", d ? d : "build/tests/plugins");
    int status;
    cJSON *root = run_gate(path, "", &status);
    cr_expect_eq(status, 1, "the gate passed a kernel that truncates x");
    int failed = 0, passed_long = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases_of(root))
    {
        if (!strcmp(field(c, "verdict"), "FAIL")) {
            failed++;
            cr_expect_str_eq(field(c, "reason"), "mismatch", "%s", field(c, "detail"));
        } else if (!strcmp(field(c, "verdict"), "PASS") && strstr(field(c, "shape"), "K=4095")) {
            passed_long++;
        }
    }
    cr_expect_gt(failed, 5, "only %d cases failed", failed);
    cr_expect_eq(passed_long, 0, "a K = 4095 case passed despite the truncation");
    cJSON_Delete(root);
}

/* ---- the command line ---------------------------------------------------------------------- */

/* Run `ckbench <args>`, stdout and stderr together into out; exit status. */
static int ckbench_cmd(const char *args, char *out, size_t len)
{
    const char *bench = getenv("CK_CKBENCH");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bench ? bench : "build/bin/ckbench", args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *model_path(void)
{
    static char path[512];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/ir/models/tiny-gqa.json", src ? src : ".");
    return path;
}

Test(compute_bf16_cli, plan_records_the_compute_type_in_layout_json)
{
    char dir[] = "/tmp/ck_cbf16_plan_XXXXXX", args[2048], out[8192], layout[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(layout, sizeof layout, "%s/layout.json", dir);
    const char *want[2] = {"\"compute\": \"f32\"", "\"compute\": \"bf16\""};
    for (int c = 0; c < 2; c++) {
        snprintf(args, sizeof args, "plan --model '%s' --layout '%s' %s", model_path(), layout,
                 c ? "--compute bf16" : "");
        cr_assert_eq(ckbench_cmd(args, out, sizeof out), 0, "%s", out);
        FILE *f = fopen(layout, "r");
        cr_assert_not_null(f);
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = 0;
        fclose(f);
        cr_expect(strstr(out, want[c]) != NULL, "layout.json lacks %s", want[c]);
    }
    unlink(layout);
    rmdir(dir);
}

Test(compute_bf16_cli, run_takes_compute_bf16_kernels_and_refuses_other_weights)
{
    char args[2048], out[8192];
    snprintf(args, sizeof args, "run --plugin avx2 --model '%s' --compute bf16 --weight-dtype bf16", model_path());
    cr_assert_eq(ckbench_cmd(args, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, ", compute bf16") != NULL, "the summary names the compute type: %s", out);
    /* avx2 has no compute-bf16 kernel: its linears and qkv go to scalar's */
    cr_expect(strstr(out, "(0 by scalar fallback)") == NULL, "%s", out);
    snprintf(args, sizeof args, "run --plugin avx2 --model '%s' --compute bf16 --weight-dtype f32", model_path());
    cr_expect_eq(ckbench_cmd(args, out, sizeof out), 2);
    cr_expect(strstr(out, "--compute bf16 applies to bf16 weights, and this run's are f32") != NULL, "%s", out);
    snprintf(args, sizeof args, "run --plugin avx2 --model '%s' --compute f16", model_path());
    cr_expect_eq(ckbench_cmd(args, out, sizeof out), 2);
    cr_expect(strstr(out, "--compute: expected f32 or bf16, found 'f16'") != NULL, "%s", out);
}

Test(compute_bf16_cli, bench_and_parity_refuse_an_unknown_compute_type)
{
    char out[4096];
    cr_expect_eq(ckbench_cmd("parity --compute fp8", out, sizeof out), 2);
    cr_expect(strstr(out, "--compute: expected f32 or bf16, found 'fp8'") != NULL, "%s", out);
    cr_expect_eq(ckbench_cmd("bench --plugin avx2 --model tiny-gqa --compute fp8", out, sizeof out), 2);
    cr_expect(strstr(out, "--compute: expected f32 or bf16, found 'fp8'") != NULL, "%s", out);
}

/* ---- the compute-bf16 roof ------------------------------------------------------------------ */

/* calibrate's bf16 dot-product peak (one figure: the per-level roofs'
 * dot_gops[CK_DOT_BF16]) survives a save and a load, a roofs file without it
 * (older, or a CPU without avx512_bf16) still loads, with 0, and a file
 * with it under its earlier name (peak_bf16_dot_gflops) loads it. */
Test(compute_bf16_roofs, bf16_peak_round_trips_and_is_optional)
{
    ck_roofs r = {.host = "h", .cpu = "c", .measured_at = "now", .threads = 2, .llc_bytes = 1 << 20};
    r.triad_array_bytes = 1 << 24;
    r.triad_gbs[0] = 20, r.triad_gbs[1] = 40;
    r.peak_gflops[CK_ISA_AVX512][0] = 250, r.peak_gflops[CK_ISA_AVX512][1] = 500;
    r.dot_gops[CK_DOT_BF16][0] = 500, r.dot_gops[CK_DOT_BF16][1] = 1000;
    char dir[] = "/tmp/ck_cbf16_roofs_XXXXXX", path[300], err[CK_ERR_LEN];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/roofs.json", dir);
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    ck_roofs back;
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(back.dot_gops[CK_DOT_BF16][0], 500.0);
    cr_expect_eq(back.dot_gops[CK_DOT_BF16][1], 1000.0);
    cr_expect_eq(ck_roofs_bf16_dot_gflops(&back, 1), 500.0);
    cr_expect_eq(ck_roofs_bf16_dot_gflops(&back, 2), 1000.0);
    /* the earlier name */
    cJSON *o = ck_roofs_to_json(&r);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "peak_dot_gops");
    cJSON *old = cJSON_AddObjectToObject(o, "peak_bf16_dot_gflops");
    cJSON_AddNumberToObject(old, "one_thread", 300);
    cJSON_AddNumberToObject(old, "all_threads", 600);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(ck_roofs_bf16_dot_gflops(&back, 2), 600.0, "the earlier name loads into the one bf16 peak");
    r.dot_gops[CK_DOT_BF16][0] = r.dot_gops[CK_DOT_BF16][1] = 0;
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    memset(&back, 0xff, sizeof back);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "a file without the bf16 peak: %s", err);
    cr_expect_eq(back.dot_gops[CK_DOT_BF16][0], 0.0, "absent means 0, not garbage");
    unlink(path);
    rmdir(dir);
}

/* bench --compute bf16 times the compute-bf16 kernels, writes "compute" into
 * the result file, and the report tags the run. */
Test(compute_bf16_cli, bench_records_compute_and_report_tags_it, .timeout = 120)
{
    char dir[] = "/tmp/ck_cbf16_bench_XXXXXX", args[2048], out[16384], res[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(res, sizeof res, "%s/r.json", dir);
    snprintf(args, sizeof args,
             "bench --plugin avx512 --model '%s' --compute bf16 --op linear,qkv --threads 1 --min-time 0.001 "
             "--no-scalar --out '%s'",
             model_path(), res);
    int rc = ckbench_cmd(args, out, sizeof out);
    if (!cpu_has_avx512_bf16()) { /* the kernels decline: nothing to record */
        unlink(res);
        rmdir(dir);
        return;
    }
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "compute: bf16") != NULL, "bench says which compute ran: %s", out);
    FILE *f = fopen(res, "r");
    cr_assert_not_null(f, "no result file: %s", out);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root);
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "context"), "ckbench");
    cr_expect_str_eq(field(ck, "compute"), "bf16");
    const cJSON *op;
    int rows = 0;
    cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(ck, "ops"))
    {
        rows++;
        cr_expect(strstr(field(op, "kernel"), "cbf16") != NULL, "row ran %s", field(op, "kernel"));
    }
    cr_expect_gt(rows, 0);
    cJSON_Delete(root);
    snprintf(args, sizeof args, "report '%s'", res);
    cr_assert_eq(ckbench_cmd(args, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "avx512 (compute bf16)") != NULL, "the report tags the run: %s", out);
    char csv[320];
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    unlink(res);
    unlink(csv);
    rmdir(dir);
}
