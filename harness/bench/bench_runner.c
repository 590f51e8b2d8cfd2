/* The bench run (bench_runner.h): model -> op instances -> one Google
 * Benchmark per (instance, thread count) per plugin -> rows -> result files.
 * This file runs the whole: the exec contexts, the scalar reference first,
 * then each plugin. Its jobs live beside it, sharing bench_internal.h:
 * bench_item.c (a benchmark's hooks and registration), bench_guard.c (the
 * warm-up and the host-state guard), bench_pick.c (which kernel, which
 * shape; scalar at a reduced T), bench_cold.c (cold copies), bench_rows.c
 * (rows) and bench_files.c (result files). */
#include "bench_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"
#include "results.h"
#include "common/sysinfo.h"

void ck_bench_opts_default(ck_bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_threads = 1;
    o->threads[0] = 0;
    o->min_time = 0.05;
    o->repetitions = 1;
    o->scalar_budget_flops = 2e8;
    o->decode_pos = -1;
}

#if CK_WITH_BENCH

static int make_contexts(const ck_bench_opts *o, ctx_set *cs, ck_counters_why *why, char *err, size_t err_len)
{
    cs->n = 0;
    for (int t = 0; t < (o->n_threads ? o->n_threads : 1); t++) {
        cs->ctx[t] = ck_exec_create(o->n_threads ? o->threads[t] : 0);
        if (!cs->ctx[t]) {
            snprintf(err, err_len, "cannot create an execution context with %d threads", o->threads[t]);
            return -1;
        }
        ck_counters_why w;
        cs->ctr[t] = ck_counters_open(cs->ctx[t], &w);
        if (t == 0)
            *why = w;
        cs->n++;
    }
    return 0;
}

static void free_contexts(ctx_set *cs)
{
    for (int t = 0; t < cs->n; t++) {
        ck_counters_close(cs->ctr[t]);
        ck_exec_destroy(cs->ctx[t]);
    }
    cs->n = 0;
}

static int has_scalar(const ck_bench_opts *o)
{
    for (int i = 0; i < o->n_plugins; i++)
        if (bench_is_scalar_name(o->plugins[i]))
            return 1;
    return 0;
}

/* A part of the run begins (section named) or, with section NULL, ends. */
static void progress_part(const ck_bench_opts *o, const char *section, size_t n)
{
    if (!o->progress)
        return;
    if (!section) {
        ck_progress_end_part(o->progress);
        return;
    }
    ck_progress_section(o->progress, section);
    ck_progress_begin_part(o->progress, n);
}

/* Measure the scalar reference (its rows are at the shapes it ran). */
static void run_scalar(const ck_bench_opts *o, const ck_bench_variant *vars, size_t n_inst, ctx_set *cs,
                       const char *dir, scalar_ref *sr, ck_bench_outcome *out)
{
    char err[CK_ERR_LEN];
    memset(sr, 0, sizeof *sr);
    sr->plugin = ck_plugin_load("scalar", err, sizeof err);
    if (!sr->plugin || !sr->plugin->runnable) {
        fprintf(stderr, "ckbench bench: no scalar reference, so no speedups: %s\n", sr->plugin ? sr->plugin->why : err);
        ck_plugin_unload(sr->plugin);
        sr->plugin = NULL;
        return;
    }
    snprintf(sr->gb_path, sizeof sr->gb_path, "%s/.scalar-%d.gb.json", dir, (int)getpid());
    progress_part(o, "scalar reference", n_inst * (size_t)cs->n);
    int ran = bench_run_plugin(sr->plugin, vars, n_inst, cs->ctx, cs->ctr, cs->n, o, o->scalar_budget_flops,
                               sr->gb_path, &sr->rs, err, sizeof err);
    progress_part(o, NULL, 0);
    if (ran < 0)
        fprintf(stderr, "ckbench bench: scalar reference: %s\n", err);
    if (ran <= 0) {
        sr->gb_path[0] = '\0';
        return; /* rows stay NULL: no speedups */
    }
    sr->rows = calloc(sr->rs.n ? sr->rs.n : 1, sizeof *sr->rows);
    for (size_t i = 0; sr->rows && i < sr->rs.n; i++) {
        const bench_item *it = &sr->rs.items[i];
        bench_fill_row(&sr->rows[i], it, &it->shape, sr->plugin);
        if (it->shape.T != vars[i / (size_t)cs->n].shape.T)
            out->any_scaled_scalar = 1;
    }
}

static void free_scalar(scalar_ref *sr)
{
    bench_free_run_set(&sr->rs);
    free(sr->rows);
    if (sr->gb_path[0])
        remove(sr->gb_path);
    ck_plugin_unload(sr->plugin);
}

/* The DRAM read before the first plugin (before the scalar reference too),
 * when there are cold rows to put against it. */
static void probe_start(const ck_bench_variant *vars, size_t n_inst, const ctx_set *cs, ck_bench_outcome *out)
{
    int cold = 0;
    for (size_t i = 0; i < n_inst; i++)
        cold |= vars[i].cold;
    if (!out->have_roofs || !cold) {
        memset(&out->probe, 0, sizeof out->probe);
        snprintf(out->probe.why_not, sizeof out->probe.why_not, "%s",
                 !out->have_roofs ? "no roofs (run 'ckbench calibrate')" : "no cold rows");
        return;
    }
    int threads[CK_BENCH_MAX_THREADS];
    for (int t = 0; t < cs->n; t++)
        threads[t] = cs->ctx[t]->n_threads;
    ck_mem_probe_take(&out->probe, &out->roofs, threads, cs->n, 0);
}

/* The DRAM read after a plugin's rows, and each row against the reads
 * before and after it. */
static void probe_after(const bench_env *e, ck_bench_plugin_result *pr)
{
    ck_mem_probe *mp = &e->out->probe;
    if (mp->n > 0)
        ck_mem_probe_take(mp, &e->out->roofs, NULL, 0, 1);
    pr->probe = *mp;
    pr->probe.buf = (ck_level_buf){0};
    for (size_t i = 0; mp->n > 0 && i < pr->n_rows; i++)
        ck_roofline_now(&pr->rows[i], ck_mem_probe_ratio(mp, pr->rows[i].threads));
    ck_mem_probe_advance(mp);
}

/* Bench one plugin, fill its rows, write its files. 0 all measured, 1 not. */
static int bench_one(const bench_env *e, const char *name, ck_bench_plugin_result *pr)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = ck_plugin_load(name, err, sizeof err);
    snprintf(pr->plugin, sizeof pr->plugin, "%s", p ? p->desc->name : name);
    if (!p || !p->runnable) {
        snprintf(pr->why, sizeof pr->why, "%s", p ? p->why : err);
        ck_plugin_unload(p);
        return 1;
    }
    pr->runnable = 1;
    snprintf(pr->version, sizeof pr->version, "%s", p->desc->version ? p->desc->version : "");
    /* scalar in the list is the reference run itself: no second run */
    int scalar_itself = bench_is_scalar_name(p->desc->name) && e->sr->rows;
    if (!scalar_itself && ck_progress_interrupted()) {
        snprintf(pr->why, sizeof pr->why, "interrupted before it started");
        pr->runnable = 0;
        ck_plugin_unload(p);
        return 1;
    }
    run_set own = {0};
    const run_set *rs = &e->sr->rs;
    char gb_path[4200];
    snprintf(gb_path, sizeof gb_path, "%s", e->sr->gb_path);
    if (!scalar_itself) {
        snprintf(gb_path, sizeof gb_path, "%s/.%s-%d.gb.json", e->dir, pr->plugin, (int)getpid());
        progress_part(e->o, pr->plugin, e->n_inst * (size_t)e->cs->n);
        int ran = bench_run_plugin(p, e->vars, e->n_inst, e->cs->ctx, e->cs->ctr, e->cs->n, e->o, 0, gb_path, &own, err,
                                   sizeof err);
        progress_part(e->o, NULL, 0);
        if (ran <= 0) {
            if (ran == 0)
                snprintf(err, sizeof err,
                         "it has no kernel for any op instance of %s (try --weight-dtype for a "
                         "quantised plugin)",
                         e->out->model);
            snprintf(pr->why, sizeof pr->why, "%s", err);
            pr->runnable = 0;
            bench_free_run_set(&own);
            ck_plugin_unload(p);
            return 1;
        }
        rs = &own;
    }
    int incomplete = bench_make_rows(e, p, rs, scalar_itself, pr);
    probe_after(e, pr);
    incomplete |= bench_write_files(e, p, gb_path, pr);
    if (!scalar_itself)
        remove(gb_path);
    bench_free_run_set(&own);
    ck_plugin_unload(p);
    return incomplete;
}

#endif /* CK_WITH_BENCH */

int ck_bench_run(const ck_bench_opts *o, ck_bench_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->compute = o->compute;
#if !CK_WITH_BENCH
    fprintf(stderr, "ckbench bench: this ckbench was built without Google Benchmark (WITH_BENCH=0)\n");
    return 2;
#else
    char err[CK_ERR_LEN], dir[4096], roofs_path[4200];
    ck_bench_variant *vars = NULL;
    size_t n_inst = ck_bench_variants(o, out->model, sizeof out->model, &out->decode_pos, &vars, err, sizeof err);
    if (n_inst == 0) {
        fprintf(stderr, "ckbench bench: %s\n", err);
        return 2;
    }
    if (ck_sys_results_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench bench: %s\n", err);
        free(vars);
        return 2;
    }
    if (ck_roofs_find(roofs_path, sizeof roofs_path, dir) != 0)
        roofs_path[0] = '\0';
    if (getloadavg(&out->load_avg, 1) != 1)
        out->load_avg = -1.0;
    out->n_cpus = ck_sys_ncpus();
    out->have_roofs = roofs_path[0] && ck_roofs_load(&out->roofs, roofs_path, err, sizeof err) == 0;
    if (out->have_roofs)
        ck_roofs_doubtful(&out->roofs, (long long)time(NULL), out->roofs_doubt, sizeof out->roofs_doubt);
    ctx_set cs = {0};
    if (make_contexts(o, &cs, &out->counters, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench bench: %s\n", err);
        free_contexts(&cs);
        free(vars);
        return 2;
    }
    scalar_ref sr = {0};
    int wants_scalar = !o->no_scalar || has_scalar(o);
    if (o->progress) /* every plugin's run and the reference's; scalar in the list is the reference */
        ck_progress_total(o->progress, n_inst * (size_t)cs.n * (size_t)(o->n_plugins + wants_scalar - has_scalar(o)));
    ck_progress_trap_sigint();
    probe_start(vars, n_inst, &cs, out);
    if (wants_scalar)
        run_scalar(o, vars, n_inst, &cs, dir, &sr, out);
    bench_env env = {o, vars, n_inst, &cs, &sr, dir, roofs_path, out};
    int status = 0;
    for (int i = 0; i < o->n_plugins && i < CK_BENCH_MAX_PLUGINS; i++)
        status |= bench_one(&env, o->plugins[i], &out->plugins[out->n_plugins++]);
    ck_progress_untrap_sigint();
    if ((out->interrupted = ck_progress_interrupted()) && o->progress)
        ck_progress_say_interrupted(o->progress, bench_count_measured(out, &sr), o->progress->total);
    ck_mem_probe_free(&out->probe);
    free_scalar(&sr);
    free_contexts(&cs);
    free(vars);
    return status ? 1 : 0;
#endif
}

void ck_bench_outcome_free(ck_bench_outcome *out)
{
    for (int i = 0; i < out->n_plugins; i++)
        free(out->plugins[i].rows);
    memset(out, 0, sizeof *out);
}
