/* Tying the runs of `ckbench report` together (report.h), once
 * report_load.c has read and checked them: the noise of a row's
 * repetitions, its parity verdict, the machines and models, the tags and
 * each row's baseline. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- noise of the repetitions ----------------------------------------------------------- */

double ck_report_noise(const cJSON *benchmarks, const char *name, int *n_reps)
{
    double sum = 0, sum2 = 0, agg_mean = -1, agg_stddev = -1;
    int n = 0, agg_reps = 0;
    const cJSON *b;
    /* a row named after an aggregate ("..._median") belongs to its run_name */
    cJSON_ArrayForEach(b, benchmarks)
    {
        if (!strcmp(ck_report_str(b, "name", ""), name)) {
            name = ck_report_str(b, "run_name", name);
            break;
        }
    }
    cJSON_ArrayForEach(b, benchmarks)
    {
        const char *run_name = ck_report_str(b, "run_name", ck_report_str(b, "name", ""));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "real_time");
        if (strcmp(run_name, name) != 0 || !cJSON_IsNumber(t))
            continue;
        const char *type = ck_report_str(b, "run_type", "iteration");
        if (!strcmp(type, "iteration")) {
            sum += t->valuedouble;
            sum2 += t->valuedouble * t->valuedouble;
            n++;
        } else if (!strcmp(type, "aggregate")) {
            const char *agg = ck_report_str(b, "aggregate_name", "");
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
void ck_report_row_parity(ck_report_row *row, const ck_report_run *run)
{
    int pass = 0, failed = 0, any_err = 0;
    double abs_err = 0, rel_err = 0;
    const cJSON *cs;
    cJSON_ArrayForEach(cs, run->parity_cases)
    {
        if (strcmp(ck_report_str(cs, "label", ""), row->label) || strcmp(ck_report_str(cs, "plugin", ""), run->plugin))
            continue;
        row->parity_cases++;
        const char *v = ck_report_str(cs, "verdict", "SKIP");
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
