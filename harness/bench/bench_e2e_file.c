/* The result file of `ckbench bench --e2e` (bench_e2e.h): Google Benchmark's
 * shape — one benchmark per test and thread count, "pp512/threads:2", its
 * real_time the time of the whole test in ms — so compare.py diffs two runs,
 * and the usual context.ckbench block (results.c) with an "e2e" array added:
 * per test its tokens per second, spread, ideal bytes and the profile (the
 * share of the test's time per op kind and per section). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench_e2e.h"
#include "common/sysinfo.h"
#include "results.h"

static const char *const test_name[2] = {"pp", "tg"};

static cJSON *gb_entry(const ck_e2e_result *r, int k, int reps)
{
    const ck_e2e_phase *ph = &r->phase[k];
    char name[96];
    snprintf(name, sizeof name, "%s%zu/threads:%d", test_name[k], ph->tokens, r->threads);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "run_name", name);
    cJSON_AddStringToObject(b, "run_type", "iteration");
    cJSON_AddNumberToObject(b, "repetitions", reps);
    cJSON_AddNumberToObject(b, "repetition_index", 0);
    cJSON_AddNumberToObject(b, "threads", r->threads);
    cJSON_AddNumberToObject(b, "iterations", 1);
    cJSON_AddNumberToObject(b, "real_time", ph->ns_median / 1e6);
    cJSON_AddNumberToObject(b, "cpu_time", ph->ns_median / 1e6);
    cJSON_AddStringToObject(b, "time_unit", "ms");
    cJSON_AddNumberToObject(b, "tokens_per_second", ph->tps_median);
    return b;
}

static cJSON *shares(const double *ns, size_t n, const char *(*name)(const ck_e2e_result *, size_t),
                     const ck_e2e_result *r, double total)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++)
        if (ns[i] > 0 && total > 0)
            cJSON_AddNumberToObject(o, name(r, i), ns[i] / total);
    return o;
}

static const char *op_label(const ck_e2e_result *r, size_t i)
{
    (void)r;
    return ck_op_name((uint32_t)i);
}

static const char *section_label(const ck_e2e_result *r, size_t i)
{
    return r->section_names[i];
}

static cJSON *e2e_entry(const ck_e2e_result *r, int k)
{
    const ck_e2e_phase *ph = &r->phase[k];
    char test[48];
    snprintf(test, sizeof test, "%s%zu", test_name[k], ph->tokens);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "test", test);
    cJSON_AddNumberToObject(e, "threads", r->threads);
    cJSON_AddNumberToObject(e, "tokens", (double)ph->tokens);
    cJSON_AddNumberToObject(e, "tokens_per_second", ph->tps_median);
    cJSON_AddNumberToObject(e, "tokens_per_second_min", ph->tps_min);
    cJSON_AddNumberToObject(e, "tokens_per_second_max", ph->tps_max);
    cJSON_AddNumberToObject(e, "time_ns", ph->ns_median);
    cJSON_AddNumberToObject(e, "ideal_bytes", ph->ideal_bytes);
    if (r->dram_roof_gbs > 0) {
        cJSON_AddNumberToObject(e, "dram_read_before_gbs", r->dram_before_gbs);
        cJSON_AddNumberToObject(e, "dram_read_after_gbs", r->dram_after_gbs);
        cJSON_AddNumberToObject(e, "dram_roof_read_gbs", r->dram_roof_gbs);
        if (r->dram_before_apart_ns > 0) {
            cJSON_AddNumberToObject(e, "threads_apart_before_ns", r->dram_before_apart_ns);
            cJSON_AddNumberToObject(e, "threads_apart_after_ns", r->dram_after_apart_ns);
        }
        if (r->dram_roof_apart_ns > 0)
            cJSON_AddNumberToObject(e, "threads_apart_roof_ns", r->dram_roof_apart_ns);
        if (r->dram_moved[0])
            cJSON_AddStringToObject(e, "threads_moved", r->dram_moved);
    }
    double total = 0;
    for (size_t s = 0; s < r->n_sections; s++)
        total += ph->section_ns[s];
    cJSON_AddItemToObject(e, "profile", shares(ph->op_ns, sizeof ph->op_ns / sizeof ph->op_ns[0], op_label, r, total));
    cJSON_AddItemToObject(e, "sections", shares(ph->section_ns, r->n_sections, section_label, r, total));
    return e;
}

static int write_text(const char *path, const char *text, char *err, size_t err_len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_len, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* The file results.c wrote, with the e2e array added to its ckbench block. */
static int add_e2e(const char *path, cJSON *e2e, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) &&
        fread(text, 1, (size_t)size, f) == (size_t)size)
        text[size] = '\0';
    else
        free(text), text = NULL;
    if (f)
        fclose(f);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *ck = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench");
    if (!cJSON_IsObject(ck)) {
        snprintf(err, err_len, "%s: cannot read back the result file", path);
        cJSON_Delete(doc);
        cJSON_Delete(e2e);
        return -1;
    }
    cJSON_AddItemToObject(ck, "e2e", e2e);
    char *out = cJSON_Print(doc);
    cJSON_Delete(doc);
    int rc = out ? write_text(path, out, err, err_len) : -1;
    free(out);
    return rc;
}

int ck_e2e_write(const ck_bench_opts *o, const ck_e2e_result *res, size_t n, const char *model, char *json_path,
                 size_t path_len, char *err, size_t err_len)
{
    char dir[4096], gb_path[4200], date[40], host[64], plugin[80];
    if (n == 0 || ck_sys_results_dir(dir, sizeof dir, err, err_len) != 0)
        return -1;
    int reps = o->repetitions < 1 ? 1 : o->repetitions;
    cJSON *gb = cJSON_CreateObject(), *ctx = cJSON_AddObjectToObject(gb, "context");
    ck_sys_utc_iso(date, sizeof date);
    ck_sys_host(host, sizeof host);
    cJSON_AddStringToObject(ctx, "date", date);
    cJSON_AddStringToObject(ctx, "host_name", host);
    cJSON_AddStringToObject(ctx, "executable", "ckbench");
    cJSON *benchmarks = cJSON_AddArrayToObject(gb, "benchmarks"), *e2e = cJSON_CreateArray();
    int threads[CK_BENCH_MAX_THREADS];
    int n_threads = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            cJSON_AddItemToArray(benchmarks, gb_entry(&res[i], k, reps));
            cJSON_AddItemToArray(e2e, e2e_entry(&res[i], k));
            if (k == 0 && n_threads < CK_BENCH_MAX_THREADS)
                threads[n_threads++] = res[i].threads;
        }
    char *text = cJSON_Print(gb);
    cJSON_Delete(gb);
    snprintf(gb_path, sizeof gb_path, "%s/.e2e-%d.gb.json", dir, (int)getpid());
    snprintf(plugin, sizeof plugin, "%s-e2e", res[0].plugin);
    ck_results_default_path(json_path, path_len, dir, plugin, model);
    if (o->out_path && o->n_plugins == 1) /* several plugins: each its default name */
        snprintf(json_path, path_len, "%s", o->out_path);
    ck_roofs roofs;
    char roofs_path[4200];
    int have_roofs =
        ck_roofs_find(roofs_path, sizeof roofs_path, dir) == 0 && ck_roofs_load(&roofs, roofs_path, err, err_len) == 0;
    ck_counters_why why = {.software = "not read by the whole-model benchmark",
                           .hardware = "not read by the whole-model benchmark"};
    ck_results_info info = {.plugin = res[0].plugin,
                            .model = model,
                            .model_path = o->model_path,
                            .threads = threads,
                            .n_threads = n_threads,
                            .repetitions = reps,
                            .roofs = have_roofs ? &roofs : NULL,
                            .roofs_path = have_roofs ? roofs_path : NULL,
                            .counters = &why,
                            .compute = ck_compute_name(o->compute)};
    int rc = !text || write_text(gb_path, text, err, err_len) ||
             ck_results_write(gb_path, json_path, &info, NULL, 0, err, err_len);
    free(text);
    remove(gb_path);
    if (rc) {
        cJSON_Delete(e2e);
        return -1;
    }
    return add_e2e(json_path, e2e, err, err_len);
}
