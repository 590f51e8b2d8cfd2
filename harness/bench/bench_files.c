/* bench_files.c — where a plugin's result files go, and writing them
 * (results.c knows the format). */
#include <stdio.h>
#include <string.h>

#include "bench_internal.h"
#include "results.h"

static void result_paths(const ck_bench_opts *o, const char *dir, const char *plugin_name, const char *model,
                         ck_bench_plugin_result *pr)
{
    char plugin[64]; /* a copy: plugin_name may be pr->plugin */
    snprintf(plugin, sizeof plugin, "%s", plugin_name);
    if (o->out_path && o->n_plugins == 1) {
        snprintf(pr->json_path, sizeof pr->json_path, "%s", o->out_path);
    } else if (o->out_path) { /* one file per plugin: FILE.json -> FILE-<plugin>.json */
        char stem[4000];
        snprintf(stem, sizeof stem, "%s", o->out_path);
        size_t l = strlen(stem);
        if (l > 5 && strcmp(stem + l - 5, ".json") == 0)
            stem[l - 5] = '\0';
        snprintf(pr->json_path, sizeof pr->json_path, "%s-%s.json", stem, plugin);
    } else {
        ck_results_default_path(pr->json_path, sizeof pr->json_path, dir, plugin, model);
    }
    ck_results_csv_path(pr->csv_path, sizeof pr->csv_path, pr->json_path);
}

/* The result files of a plugin; returns 1 (and the reason in pr->why) if
 * they could not be written. */
int bench_write_files(const bench_env *e, const ck_plugin *p, const char *gb_path, ck_bench_plugin_result *pr)
{
    const ck_bench_opts *o = e->o;
    char err[CK_ERR_LEN];
    int threads[CK_BENCH_MAX_THREADS];
    for (int t = 0; t < e->cs->n; t++)
        threads[t] = e->cs->ctx[t]->n_threads;
    ck_results_info info = {.plugin = pr->plugin,
                            .plugin_version = pr->version,
                            .plugin_path = p->path,
                            .scalar_version = e->sr->plugin ? e->sr->plugin->desc->version : NULL,
                            .model = e->out->model,
                            .model_path = o->model_path,
                            .threads = threads,
                            .n_threads = e->cs->n,
                            .min_time = o->min_time,
                            .repetitions = o->repetitions,
                            .scalar_budget_flops = o->no_scalar ? 0 : o->scalar_budget_flops,
                            .roofs = e->out->have_roofs ? &e->out->roofs : NULL,
                            .roofs_path = e->roofs_path,
                            .counters = &e->out->counters,
                            .parity_json = o->parity_json,
                            .partial = ck_progress_interrupted(),
                            .compute = ck_compute_name(o->compute),
                            .probe = &pr->probe};
    result_paths(o, e->dir, pr->plugin, e->out->model, pr);
    if (ck_results_write(gb_path, pr->json_path, &info, pr->rows, pr->n_rows, err, sizeof err) == 0)
        return 0;
    snprintf(pr->why, sizeof pr->why, "%s", err);
    pr->json_path[0] = pr->csv_path[0] = '\0';
    return 1;
}
