/* Reading result files for `ckbench report` (report.h): every field the
 * report uses is checked here, once, so the writers can trust what they get;
 * a file that is not a ckbench result is refused with the file, the field and
 * what was expected. report_tie.c then ties the runs together. */
#include "common/json_text.h"
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sysinfo.h"
#include "common/files.h"

#define RESULT_KIND                                                                                                    \
    "a ckbench result file (Google Benchmark JSON with a context.ckbench object, written by 'ckbench bench')"

void ck_report_init(ck_report *r)
{
    memset(r, 0, sizeof *r);
    r->default_threshold = CK_REPORT_DEFAULT_THRESHOLD;
    ck_sys_utc_iso(r->generated, sizeof r->generated);
}

static void free_runs(ck_report_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(runs[i].path);
        free(runs[i].rows);
        cJSON_Delete(runs[i].doc);
    }
    free(runs);
}

void ck_report_free(ck_report *r)
{
    free_runs(r->runs, r->n_runs);
    free_runs(r->baseline, r->n_baseline);
    free(r->machines);
    free(r->models);
    memset(r, 0, sizeof *r);
}

/* ---- reading and checking ----------------------------------------------------------- */

static char *read_file(const char *path, char *err, size_t err_len)
{
    char *buf = ck_read_file(path, NULL);
    if (!buf) {
        if (access(path, R_OK) != 0) /* the reason fopen gave */
            snprintf(err, err_len, "%s: cannot open: %s (expected %s)", path, strerror(errno), RESULT_KIND);
        else
            snprintf(err, err_len, "%s: cannot read it (is it a regular file?)", path);
    }
    return buf;
}

/* The checker: the file, where its first error went, and the message. */
typedef struct checker {
    const char *path;
    char *err;
    size_t err_len;
    int failed;
} checker;

static void fail(checker *c, const char *field, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->err_len, "%s: field '%s': expected %s", c->path, field, what);
}

static const char *need_string(checker *c, const cJSON *obj, const char *key, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(v))
        return v->valuestring;
    char field[160];
    snprintf(field, sizeof field, "%s%s", where, key);
    fail(c, field, "a string");
    return "";
}

const char *ck_report_str(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double need_number(checker *c, const cJSON *obj, const char *key, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0)
        return v->valuedouble;
    char field[160];
    snprintf(field, sizeof field, "%s%s", where, key);
    fail(c, field, "a number >= 0");
    return 0;
}

/* A number that may be absent (0 then), but not anything else. */
static double opt_number(checker *c, const cJSON *obj, const char *key, const char *where)
{
    if (!cJSON_GetObjectItemCaseSensitive(obj, key))
        return 0;
    return need_number(c, obj, key, where);
}

/* The cache-aware roofline members (absent in files from before them). A
 * row of a phase is shown as "<shape> · <phase>/<cache>", so that an instance
 * timed hot and cold, or at prefill and decode, is two rows everywhere (and
 * matches its own kind in a baseline); the text lives in the document. */
static void read_roofline(checker *c, cJSON *op, const char *where, ck_report_row *row)
{
    row->phase = ck_report_str(op, "phase", NULL);
    row->cache = ck_report_str(op, "cache", NULL);
    row->mem_level = ck_report_str(op, "mem_level", NULL);
    row->arith = ck_report_str(op, "arith", NULL);
    row->roof_flag = ck_report_str(op, "roof_flag", NULL);
    row->ideal_ns = opt_number(c, op, "ideal_ns", where);
    double roof_bytes = opt_number(c, op, "roof_bytes", where);
    row->plot_intensity = roof_bytes > 0 && row->flops > 0 ? row->flops / roof_bytes : row->intensity;
    if (!row->phase || !row->shape)
        return;
    char shown[400];
    snprintf(shown, sizeof shown, "%s \u00b7 %s/%s", row->shape, row->phase, row->cache ? row->cache : "hot");
    cJSON_DeleteItemFromObjectCaseSensitive(op, "ck_report_shape");
    const cJSON *v = cJSON_AddStringToObject(op, "ck_report_shape", shown);
    if (v)
        row->shape = v->valuestring;
}

static void read_row(checker *c, const cJSON *op, size_t i, ck_report_row *row)
{
    char where[64];
    snprintf(where, sizeof where, "context.ckbench.ops[%zu].", i);
    if (!cJSON_IsObject(op)) {
        where[strlen(where) - 1] = '\0';
        fail(c, where, "an object");
        return;
    }
    row->name = need_string(c, op, "name", where);
    row->label = need_string(c, op, "label", where);
    row->shape = need_string(c, op, "shape", where);
    row->op = need_string(c, op, "op", where);
    row->kernel = need_string(c, op, "kernel", where);
    row->status = need_string(c, op, "status", where);
    row->threads = (int)need_number(c, op, "threads", where);
    row->bytes = need_number(c, op, "bytes", where);
    row->flops = need_number(c, op, "flops", where);
    row->intensity = need_number(c, op, "intensity", where);
    row->time_ns = opt_number(c, op, "time_ns", where);
    row->gbs = opt_number(c, op, "gb_per_s", where);
    row->gflops = opt_number(c, op, "gflop_per_s", where);
    row->bound = ck_report_str(op, "bound", NULL);
    row->roof_pct = opt_number(c, op, "roof_pct", where);
    row->scalar_ns = opt_number(c, op, "scalar_time_ns", where);
    row->speedup = opt_number(c, op, "speedup_vs_scalar", where);
    row->scalar_scaled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "scalar_scaled"));
    row->thread_use =
        cJSON_GetObjectItemCaseSensitive(op, "thread_use") ? need_number(c, op, "thread_use", where) : NAN;
    row->notes = ck_report_str(op, "notes", "");
    row->noise = -1;
    row->parity_max_abs = row->parity_max_rel = NAN;
    read_roofline(c, (cJSON *)op, where, row);
}

static void read_pair(checker *c, const cJSON *obj, const char *key, const char *where, double out[2])
{
    char w[128];
    snprintf(w, sizeof w, "%s%s.", where, key);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, key);
    out[0] = need_number(c, p, "one_thread", w);
    out[1] = need_number(c, p, "all_threads", w);
}

/* The bandwidth per memory level (files from before levels have none): one
 * roof line per level in the HTML roofline. */
static void read_levels(checker *c, const cJSON *lv, ck_roofs *rf)
{
    if (!lv)
        return;
    if (!cJSON_IsObject(lv)) {
        fail(c, "context.ckbench.roofs.memory_levels", "an object (bandwidth per level)");
        return;
    }
    for (int l = 0; l < CK_MEM_COUNT && !c->failed; l++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(lv, ck_mem_level_name(l));
        if (!e)
            continue;
        char where[80];
        snprintf(where, sizeof where, "context.ckbench.roofs.memory_levels.%s.", ck_mem_level_name(l));
        read_pair(c, e, "read_gbs", where, rf->level[l].read_gbs);
        read_pair(c, e, "triad_gbs", where, rf->level[l].triad_gbs);
    }
    rf->have_levels = !c->failed && rf->level[CK_MEM_DRAM].read_gbs[0] > 0;
}

static void read_roofs(checker *c, const cJSON *ro, ck_report_run *run)
{
    if (!ro || cJSON_IsNull(ro))
        return; /* not calibrated: no % of roof, no roof lines */
    const char *where = "context.ckbench.roofs.";
    if (!cJSON_IsObject(ro)) {
        fail(c, "context.ckbench.roofs", "an object or null");
        return;
    }
    ck_roofs *rf = &run->roofs;
    snprintf(rf->host, sizeof rf->host, "%s", ck_report_str(ro, "host", ""));
    snprintf(rf->cpu, sizeof rf->cpu, "%s", ck_report_str(ro, "cpu", ""));
    snprintf(rf->measured_at, sizeof rf->measured_at, "%s", ck_report_str(ro, "measured_at", ""));
    rf->threads = (int)need_number(c, ro, "threads", where);
    read_pair(c, ro, "stream_triad_gbs", where, rf->triad_gbs);
    const cJSON *peak = cJSON_GetObjectItemCaseSensitive(ro, "peak_fma_gflops");
    if (!cJSON_IsObject(peak))
        fail(c, "context.ckbench.roofs.peak_fma_gflops", "an object (GFLOP/s per ISA)");
    for (int isa = 0; isa < CK_ISA_COUNT && !c->failed; isa++)
        if (cJSON_GetObjectItemCaseSensitive(peak, ck_isa_name(isa)))
            read_pair(c, peak, ck_isa_name(isa), "context.ckbench.roofs.peak_fma_gflops.", rf->peak_gflops[isa]);
    read_levels(c, cJSON_GetObjectItemCaseSensitive(ro, "memory_levels"), rf);
    run->have_roofs = !c->failed && rf->triad_gbs[1] > 0;
}

static void read_parity(checker *c, const cJSON *pa, ck_report_run *run)
{
    if (!pa)
        return;
    if (!cJSON_IsObject(pa)) {
        fail(c, "context.ckbench.parity", "an object");
        return;
    }
    run->parity_note = ck_report_str(pa, "note", NULL);
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(pa, "report");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pa, "run")) || !rep)
        return;
    run->parity_cases = cJSON_GetObjectItemCaseSensitive(rep, "cases");
    if (!cJSON_IsArray(run->parity_cases)) {
        fail(c, "context.ckbench.parity.report.cases", "an array");
        return;
    }
    /* the report may hold every plugin's cases ('parity --plugin all'): count this one's */
    const cJSON *cs;
    cJSON_ArrayForEach(cs, run->parity_cases)
    {
        if (strcmp(ck_report_str(cs, "plugin", ""), run->plugin))
            continue;
        const char *v = ck_report_str(cs, "verdict", "");
        run->parity_passed += !strcmp(v, "PASS");
        run->parity_failed += !strcmp(v, "FAIL");
        run->parity_skipped += !strcmp(v, "SKIP");
    }
    run->parity_run = run->parity_passed + run->parity_failed + run->parity_skipped > 0;
    if (!run->parity_run)
        run->parity_note = strcmp(run->plugin, "scalar") ? "the parity report has no case of this plugin"
                                                         : "scalar is the reference the others are compared with";
}

static void read_context(checker *c, const cJSON *ck, ck_report_run *run)
{
    const char *w = "context.ckbench.";
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(ck, "format_version");
    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        fail(c, "context.ckbench.format_version", "1 (this ckbench reads result format 1)");
        return;
    }
    run->date = need_string(c, ck, "date", w);
    run->host = need_string(c, ck, "host", w);
    run->git_commit = need_string(c, ck, "git_commit", w);
    run->cpu_model = need_string(c, ck, "cpu_model", w);
    run->cpu_flags = ck_report_str(ck, "cpu_flags", "");
    run->compiler = need_string(c, ck, "compiler", w);
    run->model = need_string(c, ck, "model", w);
    run->compute = ck_report_str(ck, "compute", "f32");
    const cJSON *plugin = cJSON_GetObjectItemCaseSensitive(ck, "plugin");
    run->plugin = need_string(c, plugin, "name", "context.ckbench.plugin.");
    run->plugin_version = ck_report_str(plugin, "version", "");
    run->plugin_file = ck_report_str(plugin, "file", "");
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(ck, "threads"), *t;
    if (!cJSON_IsArray(threads))
        fail(c, "context.ckbench.threads", "an array of thread counts");
    cJSON_ArrayForEach(t, threads) if (run->n_threads < 16 && cJSON_IsNumber(t)) run->threads[run->n_threads++] =
        (int)t->valuedouble;
    run->min_time = opt_number(c, ck, "min_time_s", w);
    run->repetitions = (int)opt_number(c, ck, "repetitions", w);
    const cJSON *counters = cJSON_GetObjectItemCaseSensitive(ck, "counters");
    run->counters_available = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(counters, "available"));
    run->counters_reason = ck_report_str(counters, "reason", "");
    read_roofs(c, cJSON_GetObjectItemCaseSensitive(ck, "roofs"), run);
    read_parity(c, cJSON_GetObjectItemCaseSensitive(ck, "parity"), run);
    run->partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ck, "partial"));
    char field[64];
    if (!c->failed && ck_report_read_e2e(ck, run, field, sizeof field) != 0)
        fail(c, field, "whole-model tests: test, threads, tokens_per_second and a profile of shares");
}

/* What a JSON file that is no bench result is: the files a results folder
 * also holds (the headline's parity report, the machine's roofs). */
static const char *other_kind(const cJSON *doc)
{
    const char *tool = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "tool"));
    if (tool && !strcmp(tool, "ckbench parity"))
        return "a parity report, not a bench result";
    if (cJSON_GetObjectItemCaseSensitive(doc, "stream_triad_gbs"))
        return "a roofs file (ckbench calibrate), not a bench result";
    return "no 'context' nor 'benchmarks': not a bench result";
}

/* 0 read; 1 not a bench result at all (err says what it is); -1 bad. */
static int read_run(const char *path, ck_report_run *run, char *err, size_t err_len)
{
    memset(run, 0, sizeof *run);
    char *text = read_file(path, err, err_len);
    if (!text)
        return -1;
    char *clean = ck_json_nonfinite_to_null(text);
    free(text);
    run->doc = clean ? cJSON_Parse(clean) : NULL;
    free(clean);
    run->path = strdup(path);
    checker c = {.path = path, .err = err, .err_len = err_len};
    const cJSON *context = cJSON_GetObjectItemCaseSensitive(run->doc, "context");
    if (cJSON_IsObject(run->doc) && !context && !cJSON_GetObjectItemCaseSensitive(run->doc, "benchmarks")) {
        snprintf(err, err_len, "%s: %s", path, other_kind(run->doc));
        return 1;
    }
    const cJSON *ck = cJSON_GetObjectItemCaseSensitive(context, "ckbench");
    if (!cJSON_IsObject(run->doc)) {
        snprintf(err, err_len, "%s: not a JSON object; expected %s", path, RESULT_KIND);
        c.failed = 1;
    } else if (!cJSON_IsObject(ck)) {
        snprintf(err, err_len, "%s: field 'context.ckbench': missing; expected %s", path, RESULT_KIND);
        c.failed = 1;
    } else if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(run->doc, "benchmarks"))) {
        fail(&c, "benchmarks", "an array (Google Benchmark's runs)");
    } else {
        read_context(&c, ck, run);
    }
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(ck, "ops");
    if (!c.failed && !cJSON_IsArray(ops))
        fail(&c, "context.ckbench.ops", "an array of op instances");
    size_t n = c.failed ? 0 : (size_t)cJSON_GetArraySize(ops);
    run->rows = calloc(n ? n : 1, sizeof *run->rows);
    if (!run->rows) {
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < n && !c.failed; i++, run->n_rows++)
        read_row(&c, cJSON_GetArrayItem(ops, (int)i), i, &run->rows[i]);
    return c.failed ? -1 : 0;
}

/* ---- adding files ---------------------------------------------------------------------------- */

int ck_report_add_file(ck_report *r, const char *path, int is_baseline, char *err, size_t err_len)
{
    ck_report_run **list = is_baseline ? &r->baseline : &r->runs;
    size_t *n = is_baseline ? &r->n_baseline : &r->n_runs;
    ck_report_run *grown = realloc(*list, (*n + 1) * sizeof **list);
    if (!grown) {
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    *list = grown;
    ck_report_run *run = &grown[*n];
    int rc = read_run(path, run, err, err_len);
    if (rc != 0) {
        free(run->path); /* the array itself stays, one slot too long */
        free(run->rows);
        cJSON_Delete(run->doc);
        return rc;
    }
    (*n)++;
    const cJSON *benchmarks = cJSON_GetObjectItemCaseSensitive(run->doc, "benchmarks");
    for (size_t i = 0; i < run->n_rows; i++) {
        ck_report_row *row = &run->rows[i];
        row->noise = ck_report_noise(benchmarks, row->name, &row->n_reps);
        if (run->parity_run)
            ck_report_row_parity(row, run);
    }
    return 0;
}
