/* Result files (results.h): Google Benchmark's JSON plus a "ckbench" context
 * object, and a CSV of the same rows. */
#include "common/build_info.h"
#include "common/json_text.h"
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ck_host.h"
#include "common/sysinfo.h"
#include "common/files.h"

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whether stem + any ending a run writes is taken (the result, its CSV, the
 * headline's parity report). */
static int stem_taken(const char *stem)
{
    static const char *const ends[] = {".json", ".csv", ".parity.json"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", stem, ends[i]);
        if (exists(p))
            return 1;
    }
    return 0;
}

void ck_results_default_path(char *buf, size_t len, const char *dir, const char *plugin, const char *model)
{
    char when[32], host[64], p[64], m[128], stem[4096];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d-%H%M%S", &tm);
    ck_sys_host(host, sizeof host);
    snprintf(p, sizeof p, "%s", plugin);
    snprintf(m, sizeof m, "%s", model);
    ck_sys_slug(host);
    ck_sys_slug(p);
    ck_sys_slug(m);
    snprintf(stem, sizeof stem, "%s/%s-%s-%s-%s", dir, when, host, p, m);
    /* two runs in one second (or a clock set back) get -2, -3, ...: a run
     * never replaces another's files */
    char try[4200];
    snprintf(try, sizeof try, "%s", stem);
    for (int n = 2; stem_taken(try) && n < 10000; n++)
        snprintf(try, sizeof try, "%s-%d", stem, n);
    snprintf(buf, len, "%s.json", try);
}

void ck_results_csv_path(char *buf, size_t len, const char *json_path)
{
    size_t l = strlen(json_path);
    if (l > 5 && strcmp(json_path + l - 5, ".json") == 0)
        snprintf(buf, len, "%.*s.csv", (int)(l - 5), json_path);
    else
        snprintf(buf, len, "%s.csv", json_path);
}


/* ---- the ckbench object ------------------------------------------------------- */

static cJSON *row_json(const ck_bench_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "label", r->label);
    cJSON_AddStringToObject(o, "shape", r->shape);
    cJSON_AddStringToObject(o, "op", ck_op_name(r->op));
    cJSON_AddStringToObject(o, "kernel", r->kernel);
    cJSON_AddNumberToObject(o, "threads", r->threads);
    cJSON_AddStringToObject(o, "status", r->status[0] ? r->status : "ok");
    cJSON_AddNumberToObject(o, "bytes", r->bytes);
    cJSON_AddNumberToObject(o, "flops", r->flops);
    cJSON_AddNumberToObject(o, "intensity", r->intensity);
    if (r->time_ns > 0) {
        cJSON_AddNumberToObject(o, "time_ns", r->time_ns);
        cJSON_AddNumberToObject(o, "gb_per_s", r->gbs);
        cJSON_AddNumberToObject(o, "gflop_per_s", r->gflops);
    }
    if (r->bound) {
        cJSON_AddStringToObject(o, "bound", r->bound);
        cJSON_AddNumberToObject(o, "roof_pct", r->roof_pct);
    }
    ck_results_row_roofline(o, r);
    if (r->scalar_ns > 0) {
        cJSON_AddNumberToObject(o, "scalar_time_ns", r->scalar_ns);
        cJSON_AddNumberToObject(o, "scalar_measured_T", (double)r->scalar_T);
        cJSON_AddBoolToObject(o, "scalar_scaled", r->scalar_scaled);
    }
    if (r->speedup > 0)
        cJSON_AddNumberToObject(o, "speedup_vs_scalar", r->speedup);
    cJSON *c = cJSON_AddObjectToObject(o, "counters_per_iteration");
    for (int i = 0; i < CK_CTR_COUNT; i++) {
        if (isnan(r->counters[i]))
            cJSON_AddNullToObject(c, ck_counter_name(i)); /* not counted: never 0 */
        else
            cJSON_AddNumberToObject(c, ck_counter_name(i), r->counters[i]);
    }
    if (!isnan(r->thread_use))
        cJSON_AddNumberToObject(o, "thread_use", r->thread_use);
    if (r->cv >= 0)
        cJSON_AddNumberToObject(o, "cv", r->cv);
    if (r->traffic_bytes > 0) /* next to the analytic "bytes" */
        cJSON_AddNumberToObject(o, "llc_miss_traffic_bytes", r->traffic_bytes);
    cJSON_AddBoolToObject(o, "noisy", (r->flags & CK_ROW_NOISY) != 0);
    cJSON_AddBoolToObject(o, "faults_in_timed_loop", (r->flags & CK_ROW_FAULTS) != 0);
    cJSON_AddBoolToObject(o, "threads_idle", (r->flags & CK_ROW_THREADS_IDLE) != 0);
    if (r->apart_ns[0] > 0 || r->apart_ns[1] > 0) { /* one-way ns before / after it (placement.h) */
        cJSON *ap = cJSON_AddArrayToObject(o, "threads_apart_ns");
        cJSON_AddItemToArray(ap, cJSON_CreateNumber(r->apart_ns[0]));
        cJSON_AddItemToArray(ap, cJSON_CreateNumber(r->apart_ns[1]));
    }
    char notes[600];
    ck_bench_row_notes(r, notes, sizeof notes);
    cJSON_AddStringToObject(o, "notes", notes);
    return o;
}

static cJSON *parity_json(const char *path)
{
    cJSON *o = cJSON_CreateObject();
    if (!path) {
        cJSON_AddBoolToObject(o, "run", 0);
        cJSON_AddStringToObject(o, "note", "parity was not run with this bench (the headline command runs it)");
        return o;
    }
    cJSON_AddBoolToObject(o, "run", 1);
    cJSON_AddStringToObject(o, "file", path);
    char *text = ck_read_file(path, NULL);
    cJSON *report = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (report)
        cJSON_AddItemToObject(o, "report", report);
    else
        cJSON_AddStringToObject(o, "note", "the parity report could not be read");
    return o;
}

static cJSON *counter_set_json(const char *why, const char *source, const char *threads)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "available", !why[0]);
    cJSON_AddStringToObject(o, "source", source);
    if (why[0])
        cJSON_AddStringToObject(o, "reason", why);
    else
        cJSON_AddStringToObject(o, "threads", threads);
    return o;
}

/* Both sets; "available" and "reason" sum them up for a reader that wants
 * one word and one sentence. */
static cJSON *counters_json(const ck_counters_why *w)
{
    static const ck_counters_why none = {"not tried", "not tried", ""};
    if (!w)
        w = &none;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "available", !w->software[0] || !w->hardware[0]);
    char reason[700] = "";
    if (w->software[0] || w->partial[0])
        snprintf(reason, sizeof reason, "software set: %s", w->software[0] ? w->software : w->partial);
    if (w->hardware[0]) {
        size_t l = strlen(reason);
        snprintf(reason + l, sizeof reason - l, "%shardware set: %s", l ? "; " : "", w->hardware);
    }
    if (reason[0])
        cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddStringToObject(o, "per", "timed iteration, over exactly the timed loop");
    cJSON *sw = counter_set_json(w->software, "perf_event_open (the kernel's software events)",
                                 "the calling thread and every worker of the exec context");
    if (w->partial[0])
        cJSON_AddStringToObject(sw, "partial", w->partial);
    cJSON_AddItemToObject(o, "software", sw);
    cJSON_AddItemToObject(o, "hardware", counter_set_json(w->hardware, "PAPI", "the calling thread only"));
    return o;
}

/* The `ckbench --version` facts: which build wrote this file. */
static void add_build(cJSON *o)
{
    cJSON *b = cJSON_AddObjectToObject(o, "build");
    cJSON_AddStringToObject(b, "ckbench_version", ck_build_version());
    cJSON_AddStringToObject(b, "commit", ck_build_commit());
    cJSON_AddStringToObject(b, "compiler", ck_sys_compiler());
    cJSON_AddStringToObject(b, "cflags", ck_build_cflags());
    cJSON_AddStringToObject(b, "march", ck_build_march());
    cJSON_AddStringToObject(b, "sanitizers", ck_build_sanitizers());
    cJSON_AddNumberToObject(b, "plugin_abi", ck_build_abi_version());
}

static cJSON *ckbench_json(const ck_results_info *info, const ck_bench_row *rows, size_t n_rows)
{
    cJSON *o = cJSON_CreateObject();
    char buf[4096], date[40], host[64];
    ck_sys_utc_iso(date, sizeof date);
    ck_sys_host(host, sizeof host);
    cJSON_AddNumberToObject(o, "format_version", 1);
    cJSON_AddStringToObject(o, "date", date);
    cJSON_AddStringToObject(o, "host", host);
    /* the commit ckbench was built from (build_info), not the current directory's */
    cJSON_AddStringToObject(o, "git_commit", ck_build_commit());
    ck_sys_cpu_model(buf, sizeof buf);
    cJSON_AddStringToObject(o, "cpu_model", buf);
    ck_sys_cpu_flags(buf, sizeof buf);
    cJSON_AddStringToObject(o, "cpu_flags", buf);
    cJSON_AddStringToObject(o, "compiler", ck_sys_compiler());
    add_build(o);
    cJSON_AddStringToObject(o, "model", info->model);
    cJSON_AddStringToObject(o, "model_file", info->model_path);
    cJSON_AddStringToObject(o, "compute", info->compute ? info->compute : "f32");
    cJSON *plug = cJSON_AddObjectToObject(o, "plugin");
    cJSON_AddStringToObject(plug, "name", info->plugin);
    cJSON_AddStringToObject(plug, "version", info->plugin_version ? info->plugin_version : "");
    cJSON_AddStringToObject(plug, "file", info->plugin_path ? info->plugin_path : "");
    cJSON *ref = cJSON_AddObjectToObject(o, "reference");
    cJSON_AddStringToObject(ref, "name", "scalar");
    if (info->scalar_version) {
        cJSON_AddStringToObject(ref, "version", info->scalar_version);
        cJSON_AddNumberToObject(ref, "budget_flops", info->scalar_budget_flops);
        cJSON_AddStringToObject(ref, "method",
                                "instances above budget_flops run at a reduced T (scalar_measured_T) and their "
                                "time is scaled by the flops ratio of the full to the reduced shape");
    } else {
        cJSON_AddStringToObject(ref, "note", "not measured: no speedups");
    }
    cJSON *threads = cJSON_AddArrayToObject(o, "threads");
    for (int i = 0; i < info->n_threads; i++)
        cJSON_AddItemToArray(threads, cJSON_CreateNumber(info->threads[i]));
    cJSON_AddNumberToObject(o, "min_time_s", info->min_time);
    cJSON_AddNumberToObject(o, "repetitions", info->repetitions);
    if (info->roofs) {
        cJSON *roofs = ck_roofs_to_json(info->roofs);
        cJSON_AddStringToObject(roofs, "file", info->roofs_path ? info->roofs_path : "");
        cJSON_AddItemToObject(o, "roofs", roofs);
    } else {
        cJSON_AddNullToObject(o, "roofs");
    }
    if (info->probe) /* bench's; an e2e file has its reads per entry */
        cJSON_AddItemToObject(o, "dram_probe", ck_results_probe_json(info->probe));
    cJSON_AddItemToObject(o, "counters", counters_json(info->counters));
    cJSON_AddItemToObject(o, "parity", parity_json(info->parity_json));
    cJSON_AddBoolToObject(o, "partial", info->partial != 0);
    cJSON *ops = cJSON_AddArrayToObject(o, "ops");
    for (size_t i = 0; i < n_rows; i++)
        cJSON_AddItemToArray(ops, row_json(&rows[i]));
    return o;
}

/* ---- CSV ----------------------------------------------------------------------- */

static void csv_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* cv, thread use, the counters, the notes; empty where there is none
 * (an uncounted counter is empty, never 0). */
static void write_csv_counters(FILE *f, const ck_bench_row *r)
{
    fputc(',', f);
    if (r->cv >= 0)
        fprintf(f, "%.4g", r->cv);
    fputc(',', f);
    if (!isnan(r->thread_use))
        fprintf(f, "%.4g", r->thread_use);
    for (int c = 0; c < CK_CTR_COUNT; c++) {
        fputc(',', f);
        if (!isnan(r->counters[c]))
            fprintf(f, "%.6g", r->counters[c]);
    }
    char notes[600];
    ck_bench_row_notes(r, notes, sizeof notes);
    fputc(',', f);
    csv_string(f, notes);
}

static void write_csv(FILE *f, const char *plugin, const ck_bench_row *rows, size_t n)
{
    fprintf(f, "plugin,label,shape,op,kernel,threads,time_us,gb_per_s,gflop_per_s,intensity,bound,roof_pct,"
               "scalar_time_us,scalar_measured_T,speedup_vs_scalar,status,phase,cache,mem_level,arith,ideal_us,"
               "roof_flag,pct_of_dram_now,cv,thread_use");
    for (int c = 0; c < CK_CTR_COUNT; c++)
        fprintf(f, ",%s", ck_counter_name(c));
    fprintf(f, ",notes\n");
    for (size_t i = 0; i < n; i++) {
        const ck_bench_row *r = &rows[i];
        csv_string(f, plugin);
        fputc(',', f);
        csv_string(f, r->label);
        fputc(',', f);
        csv_string(f, r->shape);
        fprintf(f, ",%s,", ck_op_name(r->op));
        csv_string(f, r->kernel);
        fprintf(f, ",%d,%.6g,%.6g,%.6g,%.6g,%s,%.4g,%.6g,%zu,%.4g,", r->threads, r->time_ns / 1e3, r->gbs, r->gflops,
                r->intensity, r->bound ? r->bound : "", r->roof_pct, r->scalar_ns / 1e3, r->scalar_T, r->speedup);
        csv_string(f, r->status[0] ? r->status : "ok");
        fprintf(f, ",%s,%s,%s,%s,%.6g,", r->phase ? r->phase : "", r->cache ? r->cache : "",
                r->bound ? ck_mem_level_name(r->mem_level) : "", r->arith ? r->arith : "", r->ideal_ns / 1e3);
        csv_string(f, r->roof_flag);
        fputc(',', f);
        if (r->now_pct > 0)
            fprintf(f, "%.4g", r->now_pct);
        write_csv_counters(f, r);
        fputc('\n', f);
    }
}

/* ---- writing ------------------------------------------------------------------- */

static int write_then_rename(const char *path, const char *text, const char *plugin, const ck_bench_row *rows, size_t n,
                             char *err, size_t err_len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write: %s", tmp, strerror(errno));
        return -1;
    }
    if (text)
        fprintf(f, "%s\n", text);
    else
        write_csv(f, plugin, rows, n);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, err_len, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* Google Benchmark's text with the ckbench object inserted as the first
 * member of "context": the rest stays as Google Benchmark wrote it, except
 * that its bare NaN / Infinity are null (json_text.h). */
static char *insert_ckbench(const char *gb_text, const char *ckbench)
{
    const char *key = strstr(gb_text, "\"context\"");
    const char *brace = key ? strchr(key, '{') : NULL;
    if (!brace)
        return NULL;
    size_t head = (size_t)(brace + 1 - gb_text);
    size_t len = strlen(gb_text) + strlen(ckbench) + 32;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "%.*s\n  \"ckbench\": %s,%s", (int)head, gb_text, ckbench, brace + 1);
    return out;
}

int ck_results_write(const char *gb_json, const char *out_json, const ck_results_info *info, const ck_bench_row *rows,
                     size_t n_rows, char *err, size_t err_len)
{
    char *raw = ck_read_file(gb_json, NULL);
    char *text = raw ? ck_json_nonfinite_to_null(raw) : NULL;
    free(raw);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    int shaped = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "context")) &&
                 cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"));
    if (!shaped) {
        cJSON_Delete(doc);
        snprintf(err, err_len, "%s: expected Google Benchmark's JSON (an object with 'context' and 'benchmarks')",
                 gb_json);
        free(text);
        return -1;
    }
    /* each benchmark gains its phase, cache mode and memory level */
    if (ck_results_tag_benchmarks(doc, rows, n_rows)) {
        free(text);
        text = cJSON_Print(doc);
    }
    cJSON_Delete(doc);
    cJSON *ck = ckbench_json(info, rows, n_rows);
    char *ck_text = cJSON_Print(ck);
    cJSON_Delete(ck);
    char *out = ck_text ? insert_ckbench(text, ck_text) : NULL;
    free(ck_text);
    free(text);
    if (!out) {
        snprintf(err, err_len, "%s: out of memory formatting the results", out_json);
        return -1;
    }
    char csv[4200];
    ck_results_csv_path(csv, sizeof csv, out_json);
    int rc = write_then_rename(out_json, out, NULL, NULL, 0, err, err_len);
    if (rc == 0)
        rc = write_then_rename(csv, NULL, info->plugin, rows, n_rows, err, err_len);
    free(out);
    return rc;
}
