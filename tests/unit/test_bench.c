/* The bench runner's parts: the Google Benchmark shim (registration, its JSON
 * file parsed back and checked), the bytes/flops model against hand-computed
 * values, and the roofs file (round trip, bad input). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench/bench_shim.h"
#include "bench/calibrate.h"
#include "ck_cost.h"
#include "bench/results.h"

/* ---- helpers -------------------------------------------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static cJSON *read_json(const char *path)
{
    char *text = read_file(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(j, "%s is not JSON", path);
    return j;
}

static double number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "field '%s' missing or not a number", key);
    return v->valuedouble;
}

static void temp_path(char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "/tmp/ck-test-bench-%d-%s", (int)getpid(), suffix);
}

/* ---- the shim ------------------------------------------------------------------------ */

#define SUM_N 4096
static float sum_data[SUM_N];
static volatile float sum_sink;

static int sum_array(void *arg)
{
    size_t n = *(const size_t *)arg;
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += sum_data[i];
    sum_sink = s;
    return 0;
}

static int always_fails(void *arg)
{
    (void)arg;
    return 7;
}

static int setups, teardowns;
static int count_setup(void *arg, char *err, size_t len)
{
    (void)arg;
    (void)err;
    (void)len;
    setups++;
    return 0;
}
static void count_teardown(void *arg)
{
    (void)arg;
    teardowns++;
}

Test(shim, json_has_google_benchmark_fields_and_consistent_counters)
{
    static size_t small = 256, large = SUM_N;
    char path[256], err[256];
    temp_path(path, sizeof path, "shim.json");
    ckb_reset();
    int a = ckb_register("sum small", sum_array, &small, small * 4.0, small * 1.0);
    int b = ckb_register("sum large", sum_array, &large, large * 4.0, large * 1.0);
    cr_assert(a >= 0 && b >= 0 && a != b);
    cr_assert_eq(ckb_register("sum small", sum_array, &small, 1, 1), -1, "duplicate names are refused");
    cr_assert_eq(ckb_set_hooks(a, count_setup, count_teardown), 0);
    ckb_add_context("ckbench_test", "yes");
    ckb_options opts = {.min_time = 0.01, .repetitions = 1};
    cr_assert_eq(ckb_run(&opts, path, err, sizeof err), 2, "%s", err);
    cr_assert(setups >= 1, "setup runs before the timed loop");
    cr_assert_eq(teardowns, 1, "teardown runs once, after the benchmark is reported");

    cJSON *doc = read_json(path);
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(doc, "context");
    cr_assert(cJSON_IsObject(ctx));
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(ctx, "ckbench_test")->valuestring, "yes");
    cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ctx, "date")));
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    cr_assert_eq(cJSON_GetArraySize(list), 2);
    const char *names[2] = {"sum small/real_time", "sum large/real_time"};
    double bytes_expected[2] = {small * 4.0, large * 4.0};
    for (int i = 0; i < 2; i++) {
        const cJSON *bm = cJSON_GetArrayItem(list, i);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(bm, "name")->valuestring, names[i]);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(bm, "time_unit")->valuestring, "us");
        double t_us = number(bm, "real_time");
        cr_assert(t_us > 0 && number(bm, "iterations") > 0 && number(bm, "cpu_time") > 0);
        double bps = number(bm, "bytes_per_second"), fps = number(bm, "flops_per_second");
        cr_assert(bps > 0 && fps > 0);
        cr_assert_float_eq(number(bm, "bytes"), bytes_expected[i], 1e-9);
        /* GB/s x time == bytes per call, and flops likewise */
        cr_assert_float_eq(bps * t_us * 1e-6 / bytes_expected[i], 1.0, 1e-6, "bytes/s x time = %g, bytes = %g",
                           bps * t_us * 1e-6, bytes_expected[i]);
        cr_assert_float_eq(fps * t_us * 1e-6 / number(bm, "flops"), 1.0, 1e-6);
    }
    ckb_result r;
    cr_assert_eq(ckb_get_result(b, &r), 0);
    cr_assert_str_eq(r.name, "sum large/real_time");
    cr_assert(r.real_time_ns > 0 && r.iterations > 0 && !r.error);
    cr_assert_float_eq(r.bytes_per_second * r.real_time_ns * 1e-9 / (large * 4.0), 1.0, 1e-6);
    cr_assert_eq(ckb_get_result(99, &r), -1);
    cJSON_Delete(doc);
    remove(path);
}

Test(shim, failing_function_is_an_error_not_a_time)
{
    char path[256], err[256];
    temp_path(path, sizeof path, "fail.json");
    ckb_reset();
    int id = ckb_register("fails", always_fails, NULL, 4, 1);
    ckb_options opts = {.min_time = 0.01, .repetitions = 1};
    cr_assert_eq(ckb_run(&opts, path, err, sizeof err), 1, "%s", err);
    ckb_result r;
    cr_assert_eq(ckb_get_result(id, &r), 0);
    cr_assert_eq(r.error, 1);
    cr_assert(strstr(r.error_message, "returned 7"), "message: %s", r.error_message);
    cJSON *doc = read_json(path);
    const cJSON *bm = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"), 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bm, "error_occurred")));
    cJSON_Delete(doc);
    remove(path);
}

Test(shim, repetitions_hand_back_the_median)
{
    static size_t n = 512;
    char path[256], err[256];
    temp_path(path, sizeof path, "reps.json");
    ckb_reset();
    int id = ckb_register("sum reps", sum_array, &n, n * 4.0, n * 1.0);
    ckb_options opts = {.min_time = 0.005, .repetitions = 3};
    cr_assert_eq(ckb_run(&opts, path, err, sizeof err), 1, "%s", err);
    ckb_result r;
    cr_assert_eq(ckb_get_result(id, &r), 0);
    cr_assert_str_eq(r.name, "sum reps/real_time_median");
    cJSON *doc = read_json(path);
    int medians = 0, runs = 0;
    const cJSON *bm;
    cJSON_ArrayForEach(bm, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *agg = cJSON_GetObjectItemCaseSensitive(bm, "aggregate_name");
        medians += cJSON_IsString(agg) && !strcmp(agg->valuestring, "median");
        runs += !strcmp(cJSON_GetObjectItemCaseSensitive(bm, "run_type")->valuestring, "iteration");
    }
    cr_assert_eq(runs, 3);
    cr_assert_eq(medians, 1);
    cJSON_Delete(doc);
    remove(path);
}

Test(shim, unwritable_output_is_one_line_error)
{
    char err[256] = "";
    ckb_reset();
    ckb_options opts = {.min_time = 0.01, .repetitions = 1};
    cr_assert_eq(ckb_run(&opts, "/nonexistent-dir/x.json", err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent-dir/x.json") && !strchr(err, '\n'), "err: %s", err);
}

/* ---- the bytes/flops model --------------------------------------------------------- */

Test(cost, linear_f32_with_bias)
{
    ck_shape s = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_F32, .T = 2, .K = 64, .N = 3, .has_bias = 1};
    ck_cost c = ck_op_cost(&s);
    /* x 2*64*4 + w 3*64*4 + y 2*3*4 + bias 3*4 */
    cr_assert_eq(c.bytes, 512u + 768u + 24u + 12u);
    /* 2*T*K*N + T*N */
    cr_assert_eq(c.flops, 768u + 6u);
    cr_assert_float_eq(ck_cost_intensity(c), 774.0 / 1316.0, 1e-12);
}

Test(cost, linear_q8_0_counts_blocks_with_scales)
{
    ck_shape s = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_Q8_0, .T = 1, .K = 64, .N = 2};
    ck_cost c = ck_op_cost(&s);
    /* x 64*4 + w 2 rows x 2 blocks x 34 B + y 2*4 */
    cr_assert_eq(c.bytes, 256u + 136u + 8u);
    cr_assert_eq(c.flops, 256u);
    s.dtype = CK_DTYPE_BF16;
    cr_assert_eq(ck_op_cost(&s).bytes, 256u + 2u * 64u * 2u + 8u);
}

Test(cost, rmsnorm_and_layernorm)
{
    ck_shape s = {.op = CK_OP_RMSNORM, .T = 3, .D = 5, .dtype = CK_DTYPE_F32};
    ck_cost c = ck_op_cost(&s);
    cr_assert_eq(c.bytes, 2u * 15u * 4u + 5u * 4u); /* x, y, gamma */
    cr_assert_eq(c.flops, 4u * 15u);
    s.op = CK_OP_LAYERNORM;
    s.has_bias = 1;
    c = ck_op_cost(&s);
    cr_assert_eq(c.bytes, 2u * 15u * 4u + 2u * 5u * 4u); /* and beta */
    cr_assert_eq(c.flops, 8u * 15u);
}

Test(cost, causal_attention_counts_visible_pairs)
{
    ck_shape s = {.op = CK_OP_ATTENTION, .T = 4, .S = 4, .n_heads = 2, .n_kv_heads = 1, .head_dim = 8, .causal = 1};
    ck_cost c = ck_op_cost(&s);
    /* rows see 1+2+3+4 = 10 keys; per head: 10*(4*8+5) + 4*8 */
    cr_assert_eq(c.flops, 2u * (10u * 37u + 32u));
    /* q and out 4*2*8*4 each, k and v 4*1*8*4 each */
    cr_assert_eq(c.bytes, 2u * 256u + 2u * 128u);
    s.pos = 10; /* a later chunk: every row sees all 4 keys */
    cr_assert_eq(ck_op_cost(&s).flops, 2u * (16u * 37u + 32u));
    s.pos = 0, s.window = 2; /* rows see 1+2+2+2 = 7 keys */
    cr_assert_eq(ck_op_cost(&s).flops, 2u * (7u * 37u + 32u));
    s.op = CK_OP_ATTENTION_BWD; /* per head and seen pair 10 hd + 5 */
    cr_assert_eq(ck_op_cost(&s).flops, 2u * 7u * 85u);
}

Test(cost, materialising_bidirectional_attention_writes_scores_and_probs)
{
    ck_shape s = {
        .op = CK_OP_ATTENTION, .T = 2, .S = 3, .n_heads = 1, .n_kv_heads = 1, .head_dim = 4, .materialize = 1};
    ck_cost c = ck_op_cost(&s);
    cr_assert_eq(c.flops, 6u * 21u + 2u * 4u);
    cr_assert_eq(c.bytes, 2u * 2u * 4u * 4u + 2u * 3u * 4u * 4u + 2u * 6u * 4u);
}

/* What of the bytes is written and what updated in place (the roofline
 * prices them apart): the in-place operands of rope, adam and
 * embedding_bwd, the outputs of the rest; for every op, both within its
 * bytes. */
Test(cost, written_and_updated_bytes)
{
    ck_shape add = {.op = CK_OP_ADD, .n = 6};
    cr_assert_eq(ck_op_cost(&add).written, 24u, "c = a + b: one stream of three written");
    cr_assert_eq(ck_op_cost(&add).updated, 0u);
    ck_shape adam = {.op = CK_OP_ADAM, .n = 10};
    cr_assert_eq(ck_op_cost(&adam).updated, 3u * 40u, "w, m and v in place");
    cr_assert_eq(ck_op_cost(&adam).written, 0u);
    ck_shape rope = {.op = CK_OP_ROPE, .T = 2, .n_heads = 2, .n_kv_heads = 1, .head_dim = 4};
    cr_assert_eq(ck_op_cost(&rope).updated, 2u * 3u * 4u * 4u, "q and k in place");
    ck_shape lin = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_F32, .T = 2, .K = 64, .N = 3};
    cr_assert_eq(ck_op_cost(&lin).written, 2u * 3u * 4u, "y");
    ck_shape q = {.op = CK_OP_QUANTIZE, .dtype = CK_DTYPE_Q4_0, .n = 64};
    cr_assert_eq(ck_op_cost(&q).written, 2u * 18u, "the blocks");
    q.op = CK_OP_DEQUANTIZE;
    cr_assert_eq(ck_op_cost(&q).written, 256u, "the floats");
    ck_shape any = {.T = 3,
                    .D = 8,
                    .K = 8,
                    .N = 5,
                    .n = 24,
                    .S = 4,
                    .n_heads = 2,
                    .n_kv_heads = 1,
                    .head_dim = 8,
                    .vocab = 10,
                    .dtype = CK_DTYPE_F32,
                    .causal = 1,
                    .has_bias = 1};
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        any.op = op;
        ck_cost c = ck_op_cost(&any);
        cr_assert_leq(c.written + 2 * c.updated, c.bytes, "%s: %llu written, %llu updated of %llu bytes",
                      ck_op_name(op), (unsigned long long)c.written, (unsigned long long)c.updated,
                      (unsigned long long)c.bytes);
    }
}

Test(cost, elementwise_take_n_or_rows)
{
    ck_shape add = {.op = CK_OP_ADD, .T = 2, .D = 3};
    cr_assert_eq(ck_op_cost(&add).bytes, 3u * 6u * 4u);
    cr_assert_eq(ck_op_cost(&add).flops, 6u);
    ck_shape adam = {.op = CK_OP_ADAM, .n = 10};
    cr_assert_eq(ck_op_cost(&adam).bytes, 7u * 40u);
    cr_assert_eq(ck_op_cost(&adam).flops, 160u);
    ck_shape q = {.op = CK_OP_QUANTIZE, .dtype = CK_DTYPE_Q4_0, .n = 64};
    cr_assert_eq(ck_op_cost(&q).bytes, 256u + 2u * 18u);
    ck_shape emb = {.op = CK_OP_EMBEDDING, .dtype = CK_DTYPE_BF16, .T = 3, .vocab = 1000, .D = 8};
    cr_assert_eq(ck_op_cost(&emb).bytes, 12u + 3u * 16u + 3u * 32u, "only the rows looked up count");
    ck_shape none = {.op = CK_OP_NONE};
    cr_assert_eq(ck_op_cost(&none).bytes, 0u);
    cr_assert_float_eq(ck_cost_intensity(ck_op_cost(&none)), 0.0, 0);
}

/* ---- roofs files -------------------------------------------------------------------- */

Test(roofs, save_load_round_trip_and_lookups)
{
    ck_roofs r = {.threads = 4, .llc_bytes = 32u << 20, .triad_array_bytes = 128u << 20, .triad_gbs = {20.0, 40.0}};
    snprintf(r.host, sizeof r.host, "h");
    snprintf(r.cpu, sizeof r.cpu, "cpu");
    r.peak_gflops[CK_ISA_SCALAR][0] = 10;
    r.peak_gflops[CK_ISA_SCALAR][1] = 40;
    r.peak_gflops[CK_ISA_AVX2][0] = 100;
    r.peak_gflops[CK_ISA_AVX2][1] = 380;
    char path[256], err[512];
    temp_path(path, sizeof path, "roofs.json");
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    ck_roofs back;
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(back.threads, 4);
    cr_assert_float_eq(back.triad_gbs[1], 40.0, 1e-12);
    cr_assert_float_eq(back.peak_gflops[CK_ISA_AVX2][0], 100.0, 1e-12);
    cr_assert_float_eq(back.peak_gflops[CK_ISA_AVX512][0], 0.0, 0, "an ISA not measured stays 0");
    cr_assert_float_eq(ck_roofs_bandwidth_gbs(&back, 1), 20.0, 1e-12);
    cr_assert_float_eq(ck_roofs_bandwidth_gbs(&back, 4), 40.0, 1e-12);
    cr_assert_float_eq(ck_roofs_bandwidth_gbs(&back, 2), 20.0 + 20.0 / 3.0, 1e-9);
    cr_assert_float_eq(ck_roofs_peak_gflops(&back, CK_ISA_AVX2, 2), 200.0, 1e-12);
    cr_assert_float_eq(ck_roofs_peak_gflops(&back, CK_ISA_AVX2, 4), 380.0, 1e-12);
    remove(path);
}

Test(roofs, bad_file_names_the_field)
{
    char path[256], err[512];
    temp_path(path, sizeof path, "bad-roofs.json");
    FILE *f = fopen(path, "w");
    fputs("{\"threads\": 2, \"llc_bytes\": 1, \"triad_array_bytes\": 1, \"stream_triad_gbs\": {\"one_thread\": 5},"
          " \"peak_fma_gflops\": {}}",
          f);
    fclose(f);
    ck_roofs r;
    cr_assert_eq(ck_roofs_load(&r, path, err, sizeof err), -1);
    cr_assert(strstr(err, path) && strstr(err, "stream_triad_gbs.all_threads") && !strchr(err, '\n'), "err: %s", err);
    remove(path);
}

Test(cost, backward_linear_and_cross_entropy)
{
    ck_shape s = {.op = CK_OP_LINEAR_BWD, .dtype = CK_DTYPE_F32, .T = 2, .K = 4, .N = 3, .has_bias = 1};
    ck_cost c = ck_op_cost(&s);
    /* x, dx 2*4; w, dw 3*4; dy 2*3; db 3 — floats */
    cr_assert_eq(c.bytes, (2u * 8u + 2u * 12u + 6u + 3u) * 4u);
    cr_assert_eq(c.flops, 4u * 24u + 6u);
    ck_shape ce = {.op = CK_OP_CROSS_ENTROPY, .T = 2, .vocab = 10};
    cr_assert_eq(ck_op_cost(&ce).bytes, 2u * 20u * 4u + 2u * 4u + 4u);
    cr_assert_eq(ck_op_cost(&ce).flops, 140u);
    ck_shape fused = {.op = CK_OP_ADD_NORM, .T = 2, .D = 4};
    cr_assert_eq(ck_op_cost(&fused).bytes, 0u, "fused ops have no single shape");
}

/* ---- result files ------------------------------------------------------------------- */

/* Google Benchmark writes NaN for the cv of a counter that is always 0 (a
 * bare word JSON does not have): the result file keeps its text with those
 * values as null, valid JSON for every reader, and adds the ckbench object. */
Test(results, google_benchmark_nan_becomes_null_and_ckbench_added)
{
    char gb[256], out[256], csv[300], err[512];
    temp_path(gb, sizeof gb, "gb.json");
    temp_path(out, sizeof out, "result.json");
    FILE *f = fopen(gb, "w");
    fputs("{\n  \"context\": {\n    \"date\": \"x\"\n  },\n  \"benchmarks\": [\n    {\"name\": \"a NaN here\", "
          "\"run_type\": \"aggregate\", \"aggregate_name\": \"cv\", \"flops_per_second\": NaN, \"x\": -Infinity}\n"
          "  ]\n}\n",
          f);
    fclose(f);
    ck_bench_row row = {.op = CK_OP_ADD, .threads = 1, .time_ns = 10, .bytes = 12, .gbs = 1.2};
    snprintf(row.name, sizeof row.name, "a NaN here");
    snprintf(row.shape, sizeof row.shape, "add n=1");
    ck_results_info info = {.plugin = "p", .plugin_version = "1", .model = "m", .model_path = "m.json"};
    cr_assert_eq(ck_results_write(gb, out, &info, &row, 1, err, sizeof err), 0, "%s", err);
    char *text = read_file(out);
    cr_assert(strstr(text, "\"flops_per_second\": null, \"x\": null"), "non-finite values as null: %s", text);
    cr_assert(strstr(text, "\"name\": \"a NaN here\""), "words inside strings kept: %s", text);
    cJSON *doc = cJSON_Parse(text);
    cr_assert_not_null(doc, "the result file is valid JSON");
    cJSON_Delete(doc);
    free(text);
    ck_results_csv_path(csv, sizeof csv, out);
    cr_assert(strstr(csv, "result.csv"), "%s", csv);
    text = read_file(csv);
    cr_assert(strstr(text, "\"p\",\"\",\"add n=1\",add,"), "%s", text);
    free(text);
    remove(gb);
    remove(out);
    remove(csv);
}

Test(results, not_google_benchmark_json_is_refused_and_nothing_written)
{
    char gb[256], out[256], err[512];
    temp_path(gb, sizeof gb, "notgb.json");
    temp_path(out, sizeof out, "never.json");
    FILE *f = fopen(gb, "w");
    fputs("{\"benchmarks\": 3}", f);
    fclose(f);
    ck_results_info info = {.plugin = "p", .model = "m", .model_path = "m.json"};
    cr_assert_eq(ck_results_write(gb, out, &info, NULL, 0, err, sizeof err), -1);
    cr_assert(strstr(err, gb) && strstr(err, "'context'"), "%s", err);
    cr_assert_eq(access(out, F_OK), -1, "nothing written");
    remove(gb);
}
