/* Reading result files for `ckbench report` (report.h): every field the
 * report uses is checked here, once, so the writers can trust what they get;
 * a file that is not a ckbench result is refused with the file, the field and
 * what was expected. Then the runs are tied together: machines, models, the
 * parity verdict of each row, the noise of its repetitions and its baseline. */
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

static const char *opt_string(const cJSON *obj, const char *key, const char *dflt)
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
    row->phase = opt_string(op, "phase", NULL);
    row->cache = opt_string(op, "cache", NULL);
    row->mem_level = opt_string(op, "mem_level", NULL);
    row->arith = opt_string(op, "arith", NULL);
    row->roof_flag = opt_string(op, "roof_flag", NULL);
    row->ideal_ns = opt_number(c, op, "ideal_ns", where);
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
    row->bound = opt_string(op, "bound", NULL);
    row->roof_pct = opt_number(c, op, "roof_pct", where);
    row->scalar_ns = opt_number(c, op, "scalar_time_ns", where);
    row->speedup = opt_number(c, op, "speedup_vs_scalar", where);
    row->scalar_scaled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "scalar_scaled"));
    row->thread_use =
        cJSON_GetObjectItemCaseSensitive(op, "thread_use") ? need_number(c, op, "thread_use", where) : NAN;
    row->notes = opt_string(op, "notes", "");
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
    snprintf(rf->host, sizeof rf->host, "%s", opt_string(ro, "host", ""));
    snprintf(rf->cpu, sizeof rf->cpu, "%s", opt_string(ro, "cpu", ""));
    snprintf(rf->measured_at, sizeof rf->measured_at, "%s", opt_string(ro, "measured_at", ""));
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
    run->parity_note = opt_string(pa, "note", NULL);
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
        if (strcmp(opt_string(cs, "plugin", ""), run->plugin))
            continue;
        const char *v = opt_string(cs, "verdict", "");
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
    run->cpu_flags = opt_string(ck, "cpu_flags", "");
    run->compiler = need_string(c, ck, "compiler", w);
    run->model = need_string(c, ck, "model", w);
    run->compute = opt_string(ck, "compute", "f32");
    const cJSON *plugin = cJSON_GetObjectItemCaseSensitive(ck, "plugin");
    run->plugin = need_string(c, plugin, "name", "context.ckbench.plugin.");
    run->plugin_version = opt_string(plugin, "version", "");
    run->plugin_file = opt_string(plugin, "file", "");
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(ck, "threads"), *t;
    if (!cJSON_IsArray(threads))
        fail(c, "context.ckbench.threads", "an array of thread counts");
    cJSON_ArrayForEach(t, threads) if (run->n_threads < 16 && cJSON_IsNumber(t)) run->threads[run->n_threads++] =
        (int)t->valuedouble;
    run->min_time = opt_number(c, ck, "min_time_s", w);
    run->repetitions = (int)opt_number(c, ck, "repetitions", w);
    const cJSON *counters = cJSON_GetObjectItemCaseSensitive(ck, "counters");
    run->counters_available = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(counters, "available"));
    run->counters_reason = opt_string(counters, "reason", "");
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

/* ---- noise of the repetitions ----------------------------------------------------------- */

double ck_report_noise(const cJSON *benchmarks, const char *name, int *n_reps)
{
    double sum = 0, sum2 = 0, agg_mean = -1, agg_stddev = -1;
    int n = 0, agg_reps = 0;
    const cJSON *b;
    /* a row named after an aggregate ("..._median") belongs to its run_name */
    cJSON_ArrayForEach(b, benchmarks)
    {
        if (!strcmp(opt_string(b, "name", ""), name)) {
            name = opt_string(b, "run_name", name);
            break;
        }
    }
    cJSON_ArrayForEach(b, benchmarks)
    {
        const char *run_name = opt_string(b, "run_name", opt_string(b, "name", ""));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "real_time");
        if (strcmp(run_name, name) != 0 || !cJSON_IsNumber(t))
            continue;
        const char *type = opt_string(b, "run_type", "iteration");
        if (!strcmp(type, "iteration")) {
            sum += t->valuedouble;
            sum2 += t->valuedouble * t->valuedouble;
            n++;
        } else if (!strcmp(type, "aggregate")) {
            const char *agg = opt_string(b, "aggregate_name", "");
            const cJSON *reps = cJSON_GetObjectItemCaseSensitive(b, "repetitions");
            if (cJSON_IsNumber(reps))
                agg_reps = (int)reps->valuedouble;
            if (!strcmp(agg, "mean"))
                agg_mean = t->valuedouble;
            else if (!strcmp(agg, "stddev"))
                agg_stddev = t->valuedouble;
        }
    }
    *n_reps = n;
    if (n >= 2) {
        double mean = sum / n;
        double var = (sum2 - n * mean * mean) / (n - 1);
        return mean > 0 ? sqrt(var > 0 ? var : 0) / mean : -1;
    }
    if (agg_mean > 0 && agg_stddev >= 0) { /* reported as aggregates only */
        *n_reps = agg_reps;
        return agg_stddev / agg_mean;
    }
    return -1;
}

/* ---- parity of a row ---------------------------------------------------------------------- */

/* max over the outputs of a case; "nan"/"inf" strings (JSON has neither) become NAN/INFINITY */
static double output_err(const cJSON *out, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(out, key);
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v))
        return strstr(v->valuestring, "inf") ? INFINITY : NAN;
    return NAN;
}

static double max_err(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN; /* a NaN anywhere is the worst figure there is */
    return a > b ? a : b;
}

/* The verdict of every parity case of this row's label and plugin, combined:
 * FAIL if any failed, PASS if some passed, else SKIP. */
static void row_parity(ck_report_row *row, const ck_report_run *run)
{
    int pass = 0, failed = 0, any_err = 0;
    double abs_err = 0, rel_err = 0;
    const cJSON *cs;
    cJSON_ArrayForEach(cs, run->parity_cases)
    {
        if (strcmp(opt_string(cs, "label", ""), row->label) || strcmp(opt_string(cs, "plugin", ""), run->plugin))
            continue;
        row->parity_cases++;
        const char *v = opt_string(cs, "verdict", "SKIP");
        pass += !strcmp(v, "PASS");
        failed += !strcmp(v, "FAIL");
        const cJSON *out;
        cJSON_ArrayForEach(out, cJSON_GetObjectItemCaseSensitive(cs, "outputs"))
        {
            abs_err = max_err(abs_err, output_err(out, "max_abs_err"));
            rel_err = max_err(rel_err, output_err(out, "max_rel_err"));
            any_err = 1;
        }
    }
    if (!row->parity_cases)
        return;
    row->parity = failed ? "FAIL" : pass ? "PASS" : "SKIP";
    row->parity_max_abs = any_err ? abs_err : NAN;
    row->parity_max_rel = any_err ? rel_err : NAN;
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
            row_parity(row, run);
    }
    return 0;
}

int ck_report_row_on_roofline(const ck_report_row *row)
{
    return row->time_ns > 0 && row->flops > 0 && row->intensity > 0 && row->gflops > 0;
}

/* ---- tying the runs together ------------------------------------------------------------------- */

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static void find_machines(ck_report *r)
{
    r->machines = calloc(r->n_runs ? r->n_runs : 1, sizeof *r->machines);
    for (size_t i = 0; r->machines && i < r->n_runs; i++) {
        ck_report_run *run = &r->runs[i];
        size_t m = 0;
        while (m < r->n_machines && !(same(r->machines[m].host, run->host) && same(r->machines[m].cpu, run->cpu_model)))
            m++;
        ck_report_machine *mc = &r->machines[m];
        if (m == r->n_machines) {
            r->n_machines++;
            mc->host = run->host;
            mc->cpu = run->cpu_model;
            mc->cpu_flags = run->cpu_flags;
        }
        run->machine = (int)m;
        if (run->have_roofs && !mc->have_roofs) {
            mc->have_roofs = 1;
            mc->roofs = run->roofs;
            mc->roofs_from = run;
        } else if (run->have_roofs && memcmp(mc->roofs.triad_gbs, run->roofs.triad_gbs, sizeof run->roofs.triad_gbs)) {
            mc->roofs_differ = 1;
        }
    }
}

static void find_models(ck_report *r)
{
    r->models = calloc(r->n_runs ? r->n_runs : 1, sizeof *r->models);
    for (size_t i = 0; r->models && i < r->n_runs; i++) {
        size_t m = 0;
        while (m < r->n_models && !same(r->models[m], r->runs[i].model))
            m++;
        if (m == r->n_models)
            r->models[r->n_models++] = r->runs[i].model;
    }
}

/* plugin (and " (compute bf16)"), then " \u00b7 model" when there are several
 * models, "@host" when several machines, and " #k" when that still leaves two
 * runs with one name. */
static void make_tags(ck_report *r)
{
    for (size_t i = 0; i < r->n_runs; i++) {
        ck_report_run *run = &r->runs[i];
        /* a compute-bf16 run is another arithmetic: never confused with f32's */
        int len = snprintf(run->tag, sizeof run->tag, "%s%s", run->plugin,
                           strcmp(run->compute, "bf16") == 0 ? " (compute bf16)" : "");
        if (r->n_models > 1)
            len += snprintf(run->tag + len, sizeof run->tag - (size_t)len, " \u00b7 %s", run->model);
        if (r->n_machines > 1)
            snprintf(run->tag + len, sizeof run->tag - (size_t)len, "@%s", run->host);
        run->color = (int)i;
    }
    /* number the runs that share a tag, comparing unsuffixed tags only */
    char(*plain)[sizeof r->runs[0].tag] = malloc(r->n_runs * sizeof *plain);
    for (size_t i = 0; plain && i < r->n_runs; i++)
        memcpy(plain[i], r->runs[i].tag, sizeof plain[i]);
    for (size_t i = 0; plain && i < r->n_runs; i++) {
        int before = 0, after = 0;
        for (size_t j = 0; j < r->n_runs; j++)
            if (j != i && same(plain[j], plain[i])) {
                before += j < i;
                after += j > i;
            }
        if (before + after) {
            size_t l = strlen(r->runs[i].tag);
            snprintf(r->runs[i].tag + l, sizeof r->runs[i].tag - l, " #%d", before + 1);
        }
    }
    free(plain);
    for (size_t i = 0; i < r->n_runs; i++) { /* wherever a run is named, say it is incomplete */
        size_t l = strlen(r->runs[i].tag);
        if (r->runs[i].partial)
            snprintf(r->runs[i].tag + l, sizeof r->runs[i].tag - l, " (partial)");
    }
}

static const ck_report_row *find_base(const ck_report *r, const ck_report_run *run, const ck_report_row *row)
{
    for (size_t b = 0; b < r->n_baseline; b++) {
        const ck_report_run *br = &r->baseline[b];
        if (!same(br->model, run->model) || !same(br->plugin, run->plugin))
            continue;
        for (size_t i = 0; i < br->n_rows; i++) {
            const ck_report_row *x = &br->rows[i];
            if (x->time_ns > 0 && x->threads == row->threads && same(x->label, row->label) &&
                same(x->shape, row->shape))
                return x;
        }
    }
    return NULL;
}

static void compare_with_baseline(ck_report *r)
{
    for (size_t i = 0; i < r->n_runs; i++) {
        for (size_t k = 0; k < r->runs[i].n_rows; k++) {
            ck_report_row *row = &r->runs[i].rows[k];
            row->run = &r->runs[i];
            if (row->time_ns <= 0 || !(row->base = find_base(r, &r->runs[i], row)))
                continue;
            r->n_matched++;
            row->base_ratio = row->time_ns / row->base->time_ns;
            double noise = row->noise > row->base->noise ? row->noise : row->base->noise;
            row->base_noise_known = noise >= 0;
            row->base_threshold = noise >= 0 ? CK_REPORT_NOISE_SIGMAS * noise : r->default_threshold;
            row->slower = row->base_ratio > 1.0 + row->base_threshold;
            r->n_slower += (size_t)row->slower;
        }
    }
}

void ck_report_finish(ck_report *r)
{
    find_machines(r);
    find_models(r);
    make_tags(r);
    compare_with_baseline(r);
}
