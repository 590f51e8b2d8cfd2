/* ckbench fusion: fused against unfused at a model's real shapes, in one run.
 * The first N layers of every section are planned and run through the
 * plugin twice, once with the requested fusions and once without; per
 * section it prints the time of a layer each way, the speedup and the
 * activation bytes per layer that the applied fusions do not move. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "ck_gguf.h"
#include "ck_fusion.h"
#include "ck_ir.h"
#include "ck_run.h"
#include "commands.h"
#include "common/model_path.h"
#include "common/progress.h"

typedef struct fusion_cli {
    const char *plugin, *model;
    uint32_t fuse;
    size_t layers;
    int repetitions, threads;
    const char *json;
} fusion_cli;

static int usage(FILE *f)
{
    fprintf(f, "usage: ckbench fusion --plugin P --model M [--fuse all|LIST] [--layers N] [--repetitions R]\n"
               "       [--threads N] [--json FILE]\n"
               "Runs the first N layers (default 1) of every section of M through P, with the fusions (default\n"
               "all) and without, alternating, and prints per section the time of one layer each way (best of\n"
               "R, default 3), the speedup (median of the R paired ratios) and the activation bytes the\n"
               "applied fusions save (analytic; hardware\n"
               "counters are read by 'ckbench bench' where the machine exposes them). --json writes the\n"
               "same, with the fusion flags, as a result file.\n");
    return f == stdout ? 0 : 2;
}

static int parse(int argc, char **argv, fusion_cli *c)
{
    *c = (fusion_cli){NULL, NULL, CK_FUSE_ALL, 1, 3, 0, NULL};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (!v) {
            fprintf(stderr, "ckbench fusion: %s needs a value\n", a);
            return -1;
        }
        char err[256];
        if (strcmp(a, "--plugin") == 0)
            c->plugin = v;
        else if (strcmp(a, "--model") == 0) {
            if (!(c->model = ck_model_arg("ckbench fusion", v)))
                return -1;
        } else if (strcmp(a, "--fuse") == 0) {
            if (ck_fusion_parse(v, &c->fuse, err, sizeof err)) {
                fprintf(stderr, "ckbench fusion: %s\n", err);
                return -1;
            }
        } else if (strcmp(a, "--layers") == 0 && atol(v) > 0)
            c->layers = (size_t)atol(v);
        else if (strcmp(a, "--repetitions") == 0 && atoi(v) > 0)
            c->repetitions = atoi(v);
        else if (strcmp(a, "--threads") == 0)
            c->threads = atoi(v);
        else if (strcmp(a, "--json") == 0)
            c->json = v;
        else {
            fprintf(stderr, "ckbench fusion: bad option '%s %s'; see 'ckbench fusion --help'\n", a, v);
            return -1;
        }
    }
    if (!c->plugin || !c->model) {
        fprintf(stderr, "ckbench fusion: --plugin and --model are required\n");
        return -1;
    }
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One pass over every step; the time of the layer steps of each section. */
static int time_once(ck_runner *r, const ck_exec_ctx *ctx, double *per_section, size_t n_sec, ck_progress *prog)
{
    char err[CK_ERR_LEN];
    for (size_t s = 0; s < n_sec; s++)
        per_section[s] = 0;
    ck_progress_begin_part(prog, ck_runner_n_steps(r));
    for (size_t i = 0; i < ck_runner_n_steps(r); i++) {
        const ck_run_step *st = ck_runner_step(r, i);
        double t0 = now();
        if (ck_runner_run_step(r, i, ctx, err, sizeof err)) {
            fprintf(stderr, "ckbench fusion: %s\n", err);
            return -1;
        }
        if (st->part == CK_PART_LAYER)
            per_section[st->section] += now() - t0;
        ck_progress_part(prog, i + 1, st->label);
    }
    ck_progress_end_part(prog);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct timing {
    double plain[CK_MAX_SECTIONS], fused[CK_MAX_SECTIONS]; /* best of R, seconds */
    double speedup[CK_MAX_SECTIONS];                       /* median of the R paired ratios */
} timing;

/* Unfused and fused alternate, repetition by repetition, and the speedup is
 * the median of the paired ratios: on a shared machine a change of load then
 * falls on both sides of a pair instead of on one configuration. */
static int time_pairs(ck_runner *plain, ck_runner *fused, const ck_exec_ctx *ctx, int reps, size_t n_sec, timing *t,
                      ck_progress *prog)
{
    ck_progress_total(prog, (size_t)reps * (ck_runner_n_steps(plain) + ck_runner_n_steps(fused)));
    double *ratios = calloc((size_t)reps * n_sec, sizeof *ratios);
    if (!ratios)
        return -1;
    for (size_t s = 0; s < n_sec; s++)
        t->plain[s] = t->fused[s] = INFINITY;
    int rc = 0;
    for (int rep = 0; rep < reps && rc == 0; rep++) {
        double a[CK_MAX_SECTIONS], b[CK_MAX_SECTIONS];
        char section[64];
        snprintf(section, sizeof section, "repetition %d of %d, unfused then fused", rep + 1, reps);
        ck_progress_section(prog, section);
        rc = time_once(plain, ctx, a, n_sec, prog) || time_once(fused, ctx, b, n_sec, prog);
        for (size_t s = 0; s < n_sec && rc == 0; s++) {
            t->plain[s] = a[s] < t->plain[s] ? a[s] : t->plain[s];
            t->fused[s] = b[s] < t->fused[s] ? b[s] : t->fused[s];
            ratios[s * (size_t)reps + (size_t)rep] = b[s] > 0 ? a[s] / b[s] : 0;
        }
    }
    for (size_t s = 0; s < n_sec && rc == 0; s++) {
        double *r = ratios + s * (size_t)reps;
        qsort(r, (size_t)reps, sizeof *r, cmp_double);
        t->speedup[s] = reps % 2 ? r[reps / 2] : 0.5 * (r[reps / 2 - 1] + r[reps / 2]);
    }
    free(ratios);
    return rc;
}

/* The result file: the flags (as --fuse takes them back), what applied, and
 * the per-section times. Written to a temporary file and renamed. */
static int write_json(const fusion_cli *c, const ck_model *m, const ck_plugin *p, const ck_runner *fused,
                      const timing *t)
{
    char mask[256], tmp[4200];
    ck_fusion_format(c->fuse, mask, sizeof mask);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "format", "ckbench-fusion-1");
    cJSON_AddStringToObject(doc, "model", ck_model_name(m));
    cJSON_AddStringToObject(doc, "plugin", p->desc->name);
    cJSON_AddNumberToObject(doc, "layers_per_section", (double)c->layers);
    cJSON *fu = cJSON_AddObjectToObject(doc, "fusion");
    cJSON_AddStringToObject(fu, "requested", mask);
    cJSON *ap = cJSON_AddObjectToObject(fu, "applied");
    for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
        cJSON_AddNumberToObject(ap, ck_fusion_name(f), (double)ck_runner_fusion(fused, f));
    cJSON_AddNumberToObject(fu, "activation_bytes_saved", (double)ck_runner_bytes_saved(fused));
    cJSON *secs = cJSON_AddArrayToObject(doc, "sections");
    for (size_t s = 0; s < m->n_sections; s++) {
        size_t nl = m->sections[s].n_layers < c->layers ? m->sections[s].n_layers : c->layers;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->sections[s].name);
        cJSON_AddNumberToObject(o, "unfused_ms_per_layer", 1e3 * t->plain[s] / (double)nl);
        cJSON_AddNumberToObject(o, "fused_ms_per_layer", 1e3 * t->fused[s] / (double)nl);
        cJSON_AddNumberToObject(o, "speedup_median_of_pairs", t->speedup[s]);
        cJSON_AddItemToArray(secs, o);
    }
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    snprintf(tmp, sizeof tmp, "%s.tmp", c->json);
    FILE *f = text ? fopen(tmp, "w") : NULL;
    int ok = f && fprintf(f, "%s\n", text) > 0;
    ok = f && fclose(f) == 0 && ok && rename(tmp, c->json) == 0;
    if (!ok) {
        fprintf(stderr, "ckbench fusion: %s: cannot write the result file\n", c->json);
        remove(tmp);
    }
    free(text);
    return ok ? 0 : -1;
}

/* The unfused and the fused run of the first layers, weights seeded; 0, or
 * -1 after one line on stderr. */
static int make_runners(const fusion_cli *c, const ck_model *m, const ck_plugin *p, const ck_plugin *scalar,
                        ck_runner **plain, ck_runner **fused, ck_progress *prog)
{
    char err[CK_ERR_LEN];
    ck_run_opts o = {.seed = 1, .max_layers = c->layers};
    ck_run_opts of = o;
    of.fuse_mask = c->fuse;
    ck_progress_section(prog, "planning both runs and seeding their weights");
    if (!(*plain = ck_runner_create(m, p, scalar, &o, err, sizeof err)) ||
        !(*fused = ck_runner_create(m, p, scalar, &of, err, sizeof err)) ||
        ck_runner_prepare(*plain, err, sizeof err) || ck_runner_prepare(*fused, err, sizeof err)) {
        ck_progress_finish(prog);
        fprintf(stderr, "ckbench fusion: %s\n", err);
        return -1;
    }
    return 0;
}

int ck_cmd_fusion(int argc, char **argv)
{
    fusion_cli c;
    int pr = parse(argc, argv, &c);
    if (pr)
        return pr > 0 ? usage(stdout) : 2; /* the parser said why, in one line */
    char err[CK_ERR_LEN];
    int status = 2;
    ck_model *m = ck_model_open(c.model, err, sizeof err);
    ck_plugin *scalar = m ? ck_plugin_load("scalar", err, sizeof err) : NULL;
    ck_plugin *p = scalar ? (strcmp(c.plugin, "scalar") ? ck_plugin_load(c.plugin, err, sizeof err) : scalar) : NULL;
    ck_runner *plain = NULL, *fused = NULL;
    ck_exec_ctx *ctx = NULL;
    if (!p) {
        fprintf(stderr, "ckbench fusion: %s\n", err);
        goto out;
    }
    ck_progress prog;
    ck_progress_start(&prog, "fusion", 0);
    if (make_runners(&c, m, p, scalar, &plain, &fused, &prog))
        goto out;
    ctx = ck_exec_create(c.threads);
    size_t n_sec = m->n_sections;
    timing tm;
    status = 1;
    int failed = time_pairs(plain, fused, ctx, c.repetitions, n_sec, &tm, &prog);
    ck_progress_finish(&prog);
    if (failed)
        goto out;
    char mask[256];
    ck_fusion_format(c.fuse, mask, sizeof mask);
    printf("fused vs unfused: %s through %s, first %zu layer(s) per section, %d threads, best of %d\n",
           ck_model_name(m), p->desc->name, c.layers, ctx->n_threads, c.repetitions);
    printf("fusions requested: %s; applied:", mask);
    size_t any = 0, layers = 0;
    for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
        if (ck_runner_fusion(fused, f)) {
            printf(" %s x%zu", ck_fusion_name(f), ck_runner_fusion(fused, f));
            any++;
        }
    printf("%s\n", any ? "" : " none (the plugin offers no fused kernel for these)");
    for (size_t s = 0; s < n_sec; s++)
        layers += m->sections[s].n_layers < c.layers ? m->sections[s].n_layers : c.layers;
    printf("%-10s %14s %14s %9s\n", "section", "unfused/layer", "fused/layer", "speedup");
    printf("(times: best of %d; speedup: median of %d paired runs, unfused and fused alternating)\n", c.repetitions,
           c.repetitions);
    for (size_t s = 0; s < n_sec; s++) {
        size_t nl = m->sections[s].n_layers < c.layers ? m->sections[s].n_layers : c.layers;
        printf("%-10s %11.3f ms %11.3f ms %8.2fx\n", m->sections[s].name, 1e3 * tm.plain[s] / (double)nl,
               1e3 * tm.fused[s] / (double)nl, tm.speedup[s]);
    }
    printf("activation bytes not moved per forward: %zu (%.2f MiB per layer on average, header and footer "
           "included)\n",
           ck_runner_bytes_saved(fused),
           (double)ck_runner_bytes_saved(fused) / (double)(layers ? layers : 1) / 1048576.0);
    status = c.json && write_json(&c, m, p, fused, &tm) ? 2 : 0;
out:
    ck_exec_destroy(ctx);
    ck_runner_free(plain);
    ck_runner_free(fused);
    if (p && p != scalar)
        ck_plugin_unload(p);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    return status;
}
