/* A whole bench run on a tiny model (ir/models/tiny-gqa.json): a full
 * result file, with the software counters on every row and the reason the
 * hardware set is missing recorded; bad input is one line and exit status 2
 * with nothing written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench/bench_runner.h"
#include "bench/calibrate.h"
#include "ck_plugin.h"
#include "common/build_info.h"
#include "common/sysinfo.h"
#include "roofs_testlib.h"

static char results_dir[256];

static void make_results_dir(void)
{
    snprintf(results_dir, sizeof results_dir, "/tmp/ck-test-bench-run-XXXXXX");
    cr_assert_not_null(mkdtemp(results_dir));
    setenv("CK_RESULTS_DIR", results_dir, 1);
}

static void remove_results_dir(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", results_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(bench_run, .init = make_results_dir, .fini = remove_results_dir);

/* The plain tiny decoder (tiny-gqa): its decode rows are one token each,
 * which the assertions below count on (tiny-features' qk_norm rows are
 * T x heads). */
static void tiny_model(char *buf, size_t len)
{
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(buf, len, "%s/ir/models/tiny-gqa.json", src ? src : ".");
    FILE *f = fopen(buf, "r");
    cr_assert_not_null(f, "%s", buf);
    fclose(f);
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(j, "%s is not JSON", path);
    return j;
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}


/* The `ckbench --version` facts, as the file records them: the build's own. */
static void check_build_block(const cJSON *b)
{
    cr_assert(cJSON_IsObject(b), "ckbench.build is there");
    const char *want[][2] = {
        {"ckbench_version", ck_build_version()}, {"commit", ck_build_commit()}, {"compiler", ck_sys_compiler()},
        {"cflags", ck_build_cflags()},           {"march", ck_build_march()},   {"sanitizers", ck_build_sanitizers()}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, want[i][0]);
        cr_assert(cJSON_IsString(v), "build.%s is a string", want[i][0]);
        cr_assert_str_eq(v->valuestring, want[i][1], "build.%s", want[i][0]);
    }
    cr_assert(strlen(ck_build_version()) > 0 && strlen(ck_build_commit()) > 0);
    const cJSON *abi = cJSON_GetObjectItemCaseSensitive(b, "plugin_abi");
    cr_assert(cJSON_IsNumber(abi) && abi->valueint == (int)CK_ABI_VERSION, "build.plugin_abi is CK_ABI_VERSION");
}

/* The software set counted on every row; the hardware set forced missing,
 * so that the file says so the same way on a machine with a PMU. */
Test(bench_run, tiny_model_gives_a_full_result_file_with_software_counters)
{
    setenv("CK_COUNTERS", "sw", 1);
    char model[512];
    tiny_model(model, sizeof model);
    ck_bench_opts o;
    ck_bench_opts_default(&o);
    o.plugins[0] = "scalar";
    o.n_plugins = 1;
    o.model_path = model;
    o.threads[0] = 1;
    o.min_time = 0.001;
    ck_bench_outcome out;
    cr_assert_eq(ck_bench_run(&o, &out), 0, "every op of the tiny model has a scalar kernel");
    cr_assert_eq(out.n_plugins, 1);
    const ck_bench_plugin_result *pr = &out.plugins[0];
    cr_assert(pr->runnable && pr->n_rows > 0);
    cr_assert(strncmp(pr->json_path, results_dir, strlen(results_dir)) == 0, "written under CK_RESULTS_DIR: %s",
              pr->json_path);
    cr_assert(strstr(pr->json_path, "-scalar-"), "named <date>-<host>-<plugin>-<model>.json: %s", pr->json_path);

    cJSON *doc = read_json(pr->json_path);
    const cJSON *benchmarks = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    cr_assert_eq((size_t)cJSON_GetArraySize(benchmarks), pr->n_rows, "one Google Benchmark entry per op instance");
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench");
    cr_assert(cJSON_IsObject(ck), "the ckbench context block is there");
    const char *fields[] = {"git_commit", "cpu_model", "cpu_flags", "compiler", "model"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ck, fields[i])), "ckbench.%s", fields[i]);
    cr_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ck, "threads")));
    cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(ck, "roofs"), "roofs: the figures or null");
    cr_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ck, "parity")));
    check_build_block(cJSON_GetObjectItemCaseSensitive(ck, "build"));

    const cJSON *counters = cJSON_GetObjectItemCaseSensitive(ck, "counters");
    const cJSON *hardware = cJSON_GetObjectItemCaseSensitive(counters, "hardware");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(counters, "available")), "the software set counts");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(hardware, "available")), "CK_COUNTERS=sw");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(hardware, "reason");
    cr_assert(cJSON_IsString(reason) && !strchr(reason->valuestring, '\n'), "one line says why");
    cr_assert_str_eq(out.counters.hardware, reason->valuestring);
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(ck, "ops");
    cr_assert_eq((size_t)cJSON_GetArraySize(ops), pr->n_rows);
    const cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(op, "status")->valuestring, "ok");
        cr_assert(cJSON_GetObjectItemCaseSensitive(op, "time_ns")->valuedouble > 0);
        cr_assert(cJSON_GetObjectItemCaseSensitive(op, "bytes")->valuedouble > 0);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(op, "counters_per_iteration");
        cr_assert(cJSON_GetObjectItemCaseSensitive(c, "task_clock_ns")->valuedouble > 0, "the threads ran");
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(c, "page_faults")));
        cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, "cycles")), "a missing set is null, not 0");
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(op, "thread_use")));
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(op, "notes")));
    }
    cJSON_Delete(doc);
    cr_assert_eq(count_lines(pr->csv_path), pr->n_rows + 1, "CSV: a header and one line per row");
    ck_bench_outcome_free(&out);
    unsetenv("CK_COUNTERS");
}

Test(bench_run, scalar_reference_is_scaled_above_the_budget_and_says_so)
{
    char model[512];
    tiny_model(model, sizeof model);
    ck_bench_opts o;
    ck_bench_opts_default(&o);
    o.plugins[0] = "scalar";
    o.n_plugins = 1;
    o.model_path = model;
    o.threads[0] = 1;
    o.min_time = 0.001;
    o.scalar_budget_flops = 2000; /* tiny: every reducible instance is cut down */
    ck_bench_outcome out;
    cr_assert_eq(ck_bench_run(&o, &out), 0);
    cr_assert(out.any_scaled_scalar);
    const ck_bench_plugin_result *pr = &out.plugins[0];
    int scaled = 0;
    for (size_t i = 0; i < pr->n_rows; i++) {
        const ck_bench_row *r = &pr->rows[i];
        if (!r->scalar_scaled)
            continue;
        scaled++;
        char t_field[32];
        snprintf(t_field, sizeof t_field, "T=%zu ", r->scalar_T);
        cr_assert(strstr(r->name, t_field), "the benchmark name shows the T it ran at: %s", r->name);
        cr_assert(r->time_ns > 0 && r->scalar_ns > 0);
    }
    cr_assert(scaled > 0);
    ck_bench_outcome_free(&out);
}

/* Run the ckbench binary; returns its exit status, stderr in err. */
static int run_ckbench(const char *args, char *err, size_t len)
{
    const char *bin = getenv("CK_CKBENCH");
    cr_assert_not_null(bin, "CK_CKBENCH must name the ckbench binary (make test-unit sets it)");
    char cmd[2048], errfile[300];
    snprintf(errfile, sizeof errfile, "%s/stderr.txt", results_dir);
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>'%s'", bin, args, errfile);
    int status = system(cmd);
    FILE *f = fopen(errfile, "r");
    size_t n = f ? fread(err, 1, len - 1, f) : 0;
    err[n] = '\0';
    if (f)
        fclose(f);
    remove(errfile);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int results_dir_is_empty(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", results_dir);
    return system(cmd) == 0;
}

Test(bench_run, missing_model_is_one_line_and_status_2)
{
    char err[2048];
    cr_assert_eq(run_ckbench("bench --plugin scalar --model /nonexistent/model.json", err, sizeof err), 2);
    cr_assert(strstr(err, "/nonexistent/model.json"), "names the file: %s", err);
    cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "one line: %s", err);
    cr_assert(results_dir_is_empty(), "nothing written");
}

Test(bench_run, bad_options_are_refused)
{
    char err[2048];
    cr_assert_eq(run_ckbench("bench --plugin scalar --model tiny-gqa --min-time soon", err, sizeof err), 2);
    cr_assert(strstr(err, "--min-time") && strstr(err, "soon"), "%s", err);
    cr_assert_eq(run_ckbench("bench --model tiny-gqa", err, sizeof err), 2);
    cr_assert(strstr(err, "--plugin"), "%s", err);
    cr_assert_eq(run_ckbench("bench --plugin scalar --model tiny-gqa --op nosuchop", err, sizeof err), 2);
    cr_assert(strstr(err, "nosuchop"), "%s", err);
    cr_assert(results_dir_is_empty(), "nothing written");
}

/* With a roofs file for this machine, every row is placed against the right
 * roof: below the ridge the bandwidth, above it the plugin ISA's peak. */
Test(bench_run, rows_are_placed_against_the_calibrated_roof)
{
    ck_roofs r = {.threads = 1, .llc_bytes = 1u << 20, .triad_array_bytes = 4u << 20, .triad_gbs = {10.0, 10.0}};
    for (int isa = 0; isa < CK_ISA_COUNT; isa++)
        r.peak_gflops[isa][0] = r.peak_gflops[isa][1] = 20.0; /* ridge: 2 flop/B */
    char path[600], err[512], model[512];
    ck_roofs_path(path, sizeof path, results_dir);
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    tiny_model(model, sizeof model);
    ck_bench_opts o;
    ck_bench_opts_default(&o);
    o.plugins[0] = "scalar";
    o.n_plugins = 1;
    o.model_path = model;
    o.threads[0] = 1;
    o.min_time = 0.001;
    ck_bench_outcome out;
    cr_assert_eq(ck_bench_run(&o, &out), 0);
    cr_assert(out.have_roofs, "the roofs file in CK_RESULTS_DIR is found");
    int memory = 0, compute = 0;
    for (size_t i = 0; i < out.plugins[0].n_rows; i++) {
        const ck_bench_row *row = &out.plugins[0].rows[i];
        cr_assert_not_null(row->bound, "%s has a bound", row->shape);
        if (row->intensity < 2.0) {
            memory++;
            cr_assert_str_eq(row->bound, "memory", "%s: intensity %g", row->shape, row->intensity);
            cr_assert_float_eq(row->roof_pct, 100.0 * row->gbs / 10.0, 1e-9);
        } else {
            compute++;
            cr_assert_str_eq(row->bound, "compute", "%s: intensity %g", row->shape, row->intensity);
            cr_assert_float_eq(row->roof_pct, 100.0 * row->gflops / 20.0, 1e-9);
        }
    }
    cr_assert(memory > 0 && compute > 0, "the tiny model has both kinds (%d memory, %d compute)", memory, compute);
    ck_bench_outcome_free(&out);
}

/* The headline: parity, then bench, then a report naming the result file,
 * whose ckbench block carries the parity verdicts. Roofs are given so that
 * the test does not calibrate. Parity checks the ops bench times (--op). */
Test(bench_run, headline_runs_parity_then_bench_and_names_the_file)
{
    ck_roofs r = {.threads = 1, .llc_bytes = 1u << 20, .triad_array_bytes = 4u << 20, .triad_gbs = {10.0, 10.0}};
    r.peak_gflops[CK_ISA_SCALAR][0] = r.peak_gflops[CK_ISA_SCALAR][1] = 20.0;
    char roofs[600], err[512], model[512], cmd[2048], out_path[600];
    ck_roofs_path(roofs, sizeof roofs, results_dir);
    cr_assert_eq(ck_roofs_save(&r, roofs, err, sizeof err), 0, "%s", err);
    tiny_model(model, sizeof model);
    const char *bin = getenv("CK_CKBENCH");
    cr_assert_not_null(bin);
    snprintf(out_path, sizeof out_path, "%s/headline.txt", results_dir);
    snprintf(cmd, sizeof cmd,
             "%s --plugin scalar --model '%s' --op add,rmsnorm --threads 1 --min-time 0.001 >'%s' 2>&1", bin, model,
             out_path);
    int status = system(cmd);
    FILE *f = fopen(out_path, "r");
    cr_assert_not_null(f);
    char line[4096], result_file[4096] = "";
    int short_e2e = 0, in_report = 0, roofs_doubted = 0;
    double pp_tps = 0, tg_tps = 0;
    while (fgets(line, sizeof line, f)) {
        short_e2e |= strncmp(line, "== whole model, short: ", 23) == 0;
        in_report |= strncmp(line, "== report", 9) == 0;
        /* these roofs carry no date: the summary's fractions say so */
        roofs_doubted |= in_report && strstr(line, "(roofs: ") && strstr(line, "old");
        if (in_report && !pp_tps)
            sscanf(line, "e2e: pp%*u %lf tokens/s; tg%*u %lf tokens/s", &pp_tps, &tg_tps);
        if (sscanf(line, "results: %4095s", result_file) == 1)
            break;
    }
    fclose(f);
    cr_expect(short_e2e, "a short whole-model run follows bench, its sizes said (output in %s)", out_path);
    cr_expect(pp_tps > 0 && tg_tps > 0, "the summary gives its tokens/s (output in %s)", out_path);
    cr_expect(roofs_doubted, "the summary says its roofs are doubtful (output in %s)", out_path);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d (output in %s)", status, out_path);
    cr_assert(result_file[0], "the report names the result file");
    cJSON *doc = read_json(result_file);
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench");
    const cJSON *parity = cJSON_GetObjectItemCaseSensitive(ck, "parity");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(parity, "run")), "parity ran before bench");
    cr_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(parity, "report")), "its report is in the file");
    cJSON_Delete(doc);
    char parity_file[4200];
    snprintf(parity_file, sizeof parity_file, "%.*s.parity.json", (int)(strlen(result_file) - 5), result_file);
    struct stat st;
    cr_assert_eq(stat(parity_file, &st), 0, "the parity report is named after the run: %s", parity_file);
    doc = read_json(parity_file);
    int seen[2] = {0, 0}, others = 0;
    const char *other = "";
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases"))
    {
        const char *inst = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "op_instance"));
        cr_assert_not_null(inst);
        int add = !strncmp(inst, "add ", 4), norm = !strncmp(inst, "rmsnorm ", 8);
        if (!add && !norm && !others++)
            other = inst;
        seen[0] |= add;
        seen[1] |= norm;
    }
    cr_expect_eq(others, 0, "parity checked %d cases of ops bench was not asked to time, the first '%s'", others,
                 other);
    cr_expect(seen[0] && seen[1], "parity checked both ops bench timed (add %d, rmsnorm %d)", seen[0], seen[1]);
    cJSON_Delete(doc);
}

/* "Run twice, then compare" needs two files: the second run of the same
 * plugin and model, even within the same second, must not replace the first. */
Test(bench_run, two_runs_in_a_row_give_two_files)
{
    char model[512], paths[2][4096];
    tiny_model(model, sizeof model);
    for (int k = 0; k < 2; k++) {
        ck_bench_opts o;
        ck_bench_opts_default(&o);
        o.plugins[0] = "scalar";
        o.n_plugins = 1;
        o.model_path = model;
        o.threads[0] = 1;
        o.min_time = 0.001;
        o.no_scalar = 1;
        o.op_filter[CK_OP_ADD] = 1;
        ck_bench_outcome out;
        cr_assert_eq(ck_bench_run(&o, &out), 0);
        snprintf(paths[k], sizeof paths[k], "%s", out.plugins[0].json_path);
        ck_bench_outcome_free(&out);
    }
    cr_assert_str_neq(paths[0], paths[1], "both runs wrote %s", paths[0]);
    struct stat st;
    cr_expect_eq(stat(paths[0], &st), 0, "the first run's file is gone: %s", paths[0]);
    cr_expect_eq(stat(paths[1], &st), 0, "%s", paths[1]);
    cr_expect(strstr(paths[0], "-scalar-"), "named <date>-<time>-<host>-<plugin>-<model>.json: %s", paths[0]);
}

/* A run of the tiny model on scalar, one thread, of one phase (cache 0: the
 * phase's default) and of ops op0 and op1 (-1: none; both -1: every op). */
static int run_phase(ck_bench_outcome *out, int phase, int cache, int op0, int op1)
{
    static char model[512];
    tiny_model(model, sizeof model);
    ck_bench_opts o;
    ck_bench_opts_default(&o);
    o.plugins[0] = "scalar";
    o.n_plugins = 1;
    o.model_path = model;
    o.threads[0] = 1;
    o.min_time = 0.001;
    o.phases = phase;
    o.cache = cache;
    o.no_scalar = 1;
    if (op0 >= 0)
        o.op_filter[op0] = 1;
    if (op1 >= 0)
        o.op_filter[op1] = 1;
    return ck_bench_run(&o, out);
}

/* A decode run; op: only that op, or -1 every op. */
static int run_decode(ck_bench_outcome *out, int op)
{
    return run_phase(out, CK_PHASE_DECODE, 0, op, -1);
}

/* Prefill as a prompt is run: the decoder's footer (final norm, lm_head)
 * on the last row only, every layer's op over the whole sequence. */
Test(bench_run, prefill_runs_the_footer_on_the_last_row_only)
{
    ck_bench_outcome out;
    cr_assert_eq(run_phase(&out, CK_PHASE_PREFILL, CK_CACHE_HOT, CK_OP_LINEAR, CK_OP_RMSNORM), 0);
    const ck_bench_plugin_result *pr = &out.plugins[0];
    int footer = 0, layer = 0;
    for (size_t i = 0; i < pr->n_rows; i++) {
        const ck_bench_row *r = &pr->rows[i];
        cr_assert_str_eq(r->phase, "prefill");
        int in_footer = strstr(r->label, ".footer.") != NULL;
        cr_expect(strstr(r->shape, in_footer ? " T=1 " : " T=13 "), "%s: %s", r->label, r->shape);
        footer += in_footer;
        layer += !in_footer;
    }
    cr_expect(footer >= 2 && layer >= 2, "footer rows %d (final norm, lm_head), layer rows %d", footer, layer);
    ck_bench_outcome_free(&out);
}

/* Decode of the tiny model, cold by default: every row T = 1 at the middle
 * of the context, attention over pos + 1 keys; phase, cache and copies in
 * the rows; and the Google Benchmark entries keep what compare.py reads. */
Test(bench_run, decode_rows_are_cold_single_token_and_tagged)
{
    ck_bench_outcome out;
    cr_assert_eq(run_decode(&out, -1), 0);
    const ck_bench_plugin_result *pr = &out.plugins[0];
    cr_assert_gt(pr->n_rows, 3);
    int attention = 0;
    for (size_t i = 0; i < pr->n_rows; i++) {
        const ck_bench_row *r = &pr->rows[i];
        cr_assert_str_eq(r->phase, "decode");
        cr_assert_str_eq(r->cache, "cold", "decode is cold by default");
        cr_assert_geq(r->copies, 2, "%s: rotated through copies", r->label);
        cr_assert(strstr(r->name, "/decode/cold/threads:1/manual_time"), "name %s", r->name);
        cr_assert(strstr(r->shape, " T=1 ") || strncmp(r->shape, "add", 3) == 0 ||
                      strncmp(r->shape, "swiglu", 6) == 0 || strncmp(r->shape, "gelu", 4) == 0,
                  "one token: %s", r->shape);
        if (r->op == CK_OP_ATTENTION) {
            char want[64];
            snprintf(want, sizeof want, "S=%zu ", out.decode_pos + 1);
            cr_assert(strstr(r->shape, want), "attention over pos + 1 keys: %s", r->shape);
            attention++;
        }
    }
    cr_assert_gt(attention, 0);
    cJSON *doc = read_json(pr->json_path);
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const char *strings[] = {"name", "run_name", "run_type", "time_unit", "phase", "cache"};
        for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
            cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(b, strings[k])), "benchmarks[].%s", strings[k]);
        const char *numbers[] = {"real_time", "cpu_time", "iterations"};
        for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++)
            cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(b, numbers[k])), "benchmarks[].%s", numbers[k]);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(b, "phase")->valuestring, "decode");
    }
    cJSON_Delete(doc);
    ck_bench_outcome_free(&out);
}

Test(bench_run, a_decode_position_outside_the_context_is_refused)
{
    char model[512];
    tiny_model(model, sizeof model);
    ck_bench_opts o;
    ck_bench_opts_default(&o);
    o.plugins[0] = "scalar";
    o.n_plugins = 1;
    o.model_path = model;
    o.phases = CK_PHASE_DECODE;
    o.decode_pos = 1000000;
    ck_bench_outcome out;
    cr_assert_eq(ck_bench_run(&o, &out), 2, "bad input: exit 2, nothing run");
    cr_assert_eq(out.n_plugins, 0);
    ck_bench_outcome_free(&out);
}

static void save_level_roofs(double read_gbs)
{
    char err[512];
    cr_assert_eq(st_save_level_roofs(results_dir, read_gbs, err, sizeof err), 0, "%s", err);
}


/* On a VM the memory's bandwidth is shared with other tenants: a cold run
 * measures the DRAM read itself before and after the rows, says it in the
 * result file, and puts each DRAM row against it as well. */
Test(bench_run, cold_rows_carry_the_dram_read_measured_around_them)
{
    save_level_roofs(12345.0); /* far above any VM: the probe reads well under it */
    ck_bench_outcome out;
    cr_assert_eq(run_decode(&out, CK_OP_LINEAR), 0);
    const ck_bench_plugin_result *pr = &out.plugins[0];
    const ck_mem_probe *p = &pr->probe;
    cr_assert_eq(p->n, 1, "one thread count probed (%s)", p->why_not);
    cr_assert_eq(p->threads[0], 1);
    cr_assert_float_eq(p->roof_gbs[0], 12345.0, 1e-9, "the calibrated read at 1 thread");
    cr_assert(p->start_gbs[0] > 0 && p->end_gbs[0] > 0, "before %g, after %g", p->start_gbs[0], p->end_gbs[0]);
    double ratio = (p->start_gbs[0] + p->end_gbs[0]) / 2 / 12345.0;
    cr_assert_float_eq(ck_mem_probe_ratio(p, 1), ratio, 1e-12);
    cr_assert_null(p->buf.base, "the result's copy owns no buffer");
    for (size_t i = 0; i < pr->n_rows; i++) {
        const ck_bench_row *r = &pr->rows[i];
        cr_assert_eq(r->mem_level, CK_MEM_DRAM, "%s: cold", r->label);
        cr_assert_float_eq(r->now_pct, r->roof_pct / ratio, 1e-6 * r->now_pct, "%s: roof %g%%, now %g%%", r->label,
                           r->roof_pct, r->now_pct);
    }
    cJSON *doc = read_json(pr->json_path);
    const cJSON *ckb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench");
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(ckb, "dram_probe");
    cr_assert(cJSON_IsObject(dp), "ckbench.dram_probe");
    const char *arrays[] = {"threads",
                            "before_gbs",
                            "after_gbs",
                            "roof_read_gbs",
                            "threads_apart_before_ns",
                            "threads_apart_after_ns",
                            "threads_apart_roof_ns"};
    for (size_t k = 0; k < 7; k++)
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dp, arrays[k])), 1, "dram_probe.%s",
                     arrays[k]);
    const cJSON *op0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ckb, "ops"), 0);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(op0, "pct_of_dram_now")), "ops[0].pct_of_dram_now");
    cJSON_Delete(doc);
    FILE *f = fopen(pr->csv_path, "r");
    cr_assert_not_null(f);
    char head[2048];
    cr_assert_not_null(fgets(head, sizeof head, f));
    fclose(f);
    cr_assert(strstr(head, ",roof_flag,pct_of_dram_now,"), "csv header: %s", head);
    ck_bench_outcome_free(&out);
}

Test(bench_run, the_dram_probe_is_skipped_with_ck_probe_0_and_says_so)
{
    save_level_roofs(40.0);
    setenv("CK_PROBE", "0", 1);
    ck_bench_outcome out;
    cr_assert_eq(run_decode(&out, CK_OP_LINEAR), 0);
    const ck_bench_plugin_result *pr = &out.plugins[0];
    cr_assert_eq(pr->probe.n, 0);
    for (size_t i = 0; i < pr->n_rows; i++)
        cr_assert_eq(pr->rows[i].now_pct, 0, "%s: no probe, no now", pr->rows[i].label);
    cJSON *doc = read_json(pr->json_path);
    const cJSON *ckb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench");
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(ckb, "dram_probe");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(dp, "not_measured");
    cr_assert(cJSON_IsString(why) && strcmp(why->valuestring, "CK_PROBE=0") == 0, "dram_probe.not_measured");
    cJSON_Delete(doc);
    ck_bench_outcome_free(&out);
}
