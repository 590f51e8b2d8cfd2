/* The bench run (bench_runner.h): model -> op instances -> one Google
 * Benchmark per (instance, thread count) per plugin -> rows -> result files.
 * (About 700 lines: the registration, the setup/teardown/counting hooks and the
 * collection share one run state that Google Benchmark's C shim calls back
 * into; split, they would need it in a header for no other reader.)
 *
 * Buffers: each instance's case (harness/ck_case.h) is created just before
 * its benchmark runs (setup hook, outside the timed loop) and freed right
 * after it is reported (teardown hook), so a large model never holds more
 * than one instance's buffers at a time.
 *
 * The scalar reference: run in the same process, same thread counts. At full
 * shape it is far too slow for the big GEMMs and attention of a real model, so
 * an instance whose flops exceed the budget is measured at a reduced T and its
 * time scaled by the flops ratio (linear in T for everything but causal
 * attention); the row records the T it was measured at. */
#include "bench_runner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_cold.h"
#include "bench_phase.h"
#include "bench_shim.h"
#include "cases/ck_case.h"
#include "ck_cost.h"
#include "ck_gguf.h"
#include "ck_model.h"
#include "results.h"
#include "common/sysinfo.h"

#define BENCH_SEED 20260524u

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
/* One benchmark: an instance (maybe reduced) on one kernel and context. */
typedef struct bench_item {
    ck_shape shape;
    const ck_kernel_desc *kernel;
    const ck_exec_ctx *ctx;
    ck_case *c;
    ck_counters *ctr; /* the context's; NULL on out of memory */
    int id;           /* shim id, -1 when not registered */
    char setup_error[200];
    const char *phase;
    int cold;             /* rotate through cold_set (bench_cold.h) */
    ck_cold_set cold_set; /* made by the setup hook of a cold item */
    size_t n_copies;      /* how many it had (the set is gone after teardown) */
} bench_item;

static int item_call(void *arg)
{
    bench_item *it = arg;
    return ck_case_run_noreset(it->c, it->kernel, it->ctx);
}

static int item_setup(void *arg, char *err, size_t err_len)
{
    bench_item *it = arg;
    if (ck_progress_interrupted()) { /* the rest of the run is skipped quickly, the finished rows kept */
        snprintf(err, err_len, "interrupted");
        return -1;
    }
    if (it->c)
        return 0;
    it->c = ck_case_create(&it->shape, BENCH_SEED, err, err_len);
    if (!it->c)
        return -1;
    /* warm-up, and the first error shows here; a kernel that leaves the
     * host state changed is not timed (every later benchmark would run
     * under it): the state is put back and the row says why */
    ck_host_state fp;
    ck_exec_ctx saved = *it->ctx;
    ck_host_state_save(&fp);
    int status = ck_case_run(it->c, it->kernel, it->ctx);
    char what[300];
    int changed = ck_host_state_changed(&fp, what, sizeof what);
    if (!changed && memcmp(it->ctx, &saved, sizeof saved) != 0) {
        changed = 1;
        snprintf(what, sizeof what, "wrote into its exec context");
    }
    if (changed) {
        ck_host_state_restore(&fp);
        memcpy((void *)it->ctx, &saved, sizeof saved); /* the host's own object */
        snprintf(err, err_len, "kernel %s %s (put back; not timed)", it->kernel->name, what);
        return -1;
    }
    if (status != CK_OK) {
        snprintf(err, err_len, "kernel %s returned %d (%s)", it->kernel->name, status,
                 status == CK_E_UNSUPPORTED ? "unsupported arguments" : "error");
        return -1;
    }
    if (it->cold && ck_cold_make(&it->cold_set, it->c, BENCH_SEED, ck_sys_llc_bytes(), err, err_len) != 0)
        return -1; /* it->c stays, freed by the teardown */
    it->n_copies = it->cold_set.n;
    return 0;
}

static int item_count_start(void *arg)
{
    bench_item *it = arg;
    return it->ctr ? ck_counters_start(it->ctr) : -1;
}

static int item_count_stop(void *arg, double *totals)
{
    bench_item *it = arg;
    return it->ctr ? ck_counters_stop(it->ctr, totals) : -1;
}

/* Cold items: the next copy of the operands (not timed). */
static int item_advance(void *arg)
{
    bench_item *it = arg;
    it->c = ck_cold_next(&it->cold_set);
    return 0;
}

static void item_free_case(bench_item *it)
{
    if (it->cold_set.n)
        ck_cold_free(&it->cold_set); /* it->c is one of the copies */
    else
        ck_case_free(it->c);
    it->c = NULL;
}

static void item_teardown(void *arg)
{
    bench_item *it = arg;
    item_free_case(it);
}

/* ---- which kernel, which shape ------------------------------------------------ */

/* The kernel for an instance: the plain one, else an in-place one (ck_case
 * then feeds it y == x, at the cost of a copy per call, which the row notes);
 * with compute bf16, the compute-bf16 one where the compute type applies
 * (none: the row says there is no kernel); only one that honours the
 * instance's window, softcap or rotary_dim (ck_shape_needs). */
static const ck_kernel_desc *pick_kernel(const ck_plugin *p, const ck_shape *s, ck_compute compute)
{
    uint32_t dtype = s->dtype ? s->dtype : CK_DTYPE_F32;
    uint32_t cflags = ck_compute_flags(compute, s->op, dtype), need = ck_shape_needs(s);
    const ck_kernel_desc *k = ck_plugin_kernel(p, s->op, dtype, cflags);
    if (!k && !cflags)
        k = ck_plugin_kernel(p, s->op, dtype, CK_KF_INPLACE);
    /* a kernel that does not read the window / cap / rotary_dim would be
     * timed on other work: as if it had none (the host rule) */
    return k && (k->flags & need) == need ? k : NULL;
}

/* Ops whose cost grows with T and that can be cut down along it. */
static int reducible(const ck_shape *s)
{
    switch (s->op) {
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM:
    case CK_OP_LINEAR:
    case CK_OP_QKV:
    case CK_OP_ROPE:
    case CK_OP_ATTENTION:
    case CK_OP_EMBEDDING: return s->T > 1;
    default: return 0;
    }
}

static double work_of(const ck_shape *s)
{
    ck_cost c = ck_op_cost(s);
    return c.flops ? (double)c.flops : (double)c.bytes;
}

/* The shape scalar runs at: the instance itself when within budget, else the
 * same instance with fewer query rows. Causal attention keeps its last rows
 * (q_pos moves up) so each row still sees as many keys as the full one's tail. */
static ck_shape scalar_shape(const ck_shape *full, double budget)
{
    ck_shape s = *full;
    double w = work_of(full);
    if (!reducible(full) || w <= budget)
        return s;
    size_t t = (size_t)((double)full->T * budget / w);
    if (t < 1)
        t = 1;
    if (full->op == CK_OP_ATTENTION && full->causal)
        s.pos = full->pos + (full->T - t);
    s.T = t;
    return s;
}

/* ---- registering and collecting ---------------------------------------------- */

static void progress_line(void *user, const char *name, int done, int total)
{
    (void)total; /* the part was sized before the run */
    ck_progress_part(user, (size_t)done, name);
}

/* "<shape>/<phase>/<cache>/threads:N": the phase and cache mode are part of
 * the name, so that compare.py pairs like with like across runs. */
static void bench_name(char *buf, size_t len, const bench_item *it, int threads, int dup)
{
    char desc[160], dupl[16] = "";
    ck_shape_describe(&it->shape, desc, sizeof desc);
    if (dup)
        snprintf(dupl, sizeof dupl, " #%d", dup + 1);
    snprintf(buf, len, "%s%s/%s/%s/threads:%d", desc, dupl, it->phase, it->cold ? "cold" : "hot", threads);
}

static void register_item(bench_item *it, int threads)
{
    ck_cost cost = ck_op_cost(&it->shape);
    char name[256];
    it->id = -1;
    for (int dup = 0; dup < 100 && it->id < 0; dup++) { /* equal descriptions of different shapes */
        bench_name(name, sizeof name, it, threads, dup);
        it->id = ckb_register(name, item_call, it, (double)cost.bytes, (double)cost.flops);
    }
    ckb_set_hooks(it->id, item_setup, item_teardown);
    static const char *names[CK_CTR_COUNT];
    for (int i = 0; i < CK_CTR_COUNT; i++)
        names[i] = ck_counter_name(i);
    ckb_set_counting(it->id, item_count_start, item_count_stop, names, CK_CTR_COUNT);
    if (it->cold)
        ckb_set_advance(it->id, item_advance);
}

typedef struct run_set {
    bench_item *items; /* n_inst * n_threads, instance-major */
    size_t n;
} run_set;

/* Register and run one plugin over every (instance, context). Returns the
 * number of benchmarks run (0: the plugin has no kernel for any instance),
 * or -1 with err. */
static int run_plugin(const ck_plugin *p, const ck_bench_variant *vars, size_t n_inst, ck_exec_ctx **ctxs,
                      ck_counters **ctrs, int n_ctx, const ck_bench_opts *o, double scalar_budget, const char *gb_path,
                      run_set *rs, char *err, size_t err_len)
{
    rs->n = n_inst * (size_t)n_ctx;
    rs->items = calloc(rs->n ? rs->n : 1, sizeof *rs->items);
    if (!rs->items) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    ckb_reset();
    int registered = 0;
    for (size_t i = 0; i < n_inst; i++) {
        for (int t = 0; t < n_ctx; t++) {
            bench_item *it = &rs->items[i * (size_t)n_ctx + (size_t)t];
            it->shape = scalar_budget > 0 ? scalar_shape(&vars[i].shape, scalar_budget) : vars[i].shape;
            it->kernel = pick_kernel(p, &vars[i].shape, o->compute);
            it->phase = vars[i].phase;
            it->cold = vars[i].cold;
            it->ctx = ctxs[t];
            it->ctr = ctrs[t];
            it->id = -1;
            if (it->kernel) {
                register_item(it, ctxs[t]->n_threads);
                registered++;
            }
        }
    }
    if (registered == 0)
        return 0; /* Google Benchmark would complain that nothing matches and write no file */
    ckb_options bo = {.min_time = o->min_time, .repetitions = o->repetitions};
    if (o->progress) {
        bo.progress = progress_line;
        bo.progress_user = o->progress;
    }
    return ckb_run(&bo, gb_path, err, err_len);
}

static void free_run_set(run_set *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        item_free_case(&rs->items[i]);
    free(rs->items);
    rs->items = NULL;
    rs->n = 0;
}

static void fill_row(ck_bench_row *r, const bench_item *it, const ck_shape *full, const ck_plugin *p)
{
    memset(r, 0, sizeof *r);
    for (int c = 0; c < CK_CTR_COUNT; c++)
        r->counters[c] = NAN;
    r->cv = -1.0;
    r->thread_use = NAN;
    ck_shape_describe(full, r->shape, sizeof r->shape);
    snprintf(r->label, sizeof r->label, "%s", full->label);
    r->op = full->op;
    r->threads = it->ctx->n_threads;
    r->phase = it->phase;
    r->cache = it->cold ? "cold" : "hot";
    ck_cost cost = ck_op_cost(full);
    r->bytes = (double)cost.bytes;
    r->flops = (double)cost.flops;
    r->intensity = ck_cost_intensity(cost);
    if (!it->kernel) {
        snprintf(r->status, sizeof r->status, "no kernel: plugin %s has no %s/%s kernel", p->desc->name,
                 ck_op_name(full->op), ck_dtype_name(full->dtype ? full->dtype : CK_DTYPE_F32));
        return;
    }
    snprintf(r->kernel, sizeof r->kernel, "%s", it->kernel->name);
    ckb_result res;
    if (ckb_get_result(it->id, &res) != 0) {
        snprintf(r->status, sizeof r->status, "not run");
        return;
    }
    snprintf(r->name, sizeof r->name, "%s", res.name);
    if (res.error) {
        snprintf(r->status, sizeof r->status, "error: %s", res.error_message);
        return;
    }
    r->time_ns = res.real_time_ns;
    r->iterations = (double)res.iterations;
    /* from the time (GB/s = bytes per ns): the same for real and manual time */
    r->gbs = r->time_ns > 0 ? r->bytes / r->time_ns : 0;
    r->gflops = r->time_ns > 0 ? r->flops / r->time_ns : 0;
    r->copies = it->n_copies;
    r->compute_bf16 = (it->kernel->flags & CK_KF_COMPUTE_BF16) != 0;
    r->cv = res.cv;
    for (int c = 0; c < CK_CTR_COUNT; c++)
        r->counters[c] = res.counters[c];
    /* last-level traffic from the shim's LLC-miss count (per timed
     * iteration, all threads); 0 where the hardware set was not counted */
    if (!isnan(r->counters[CK_CTR_LLC_MISSES])) {
        long line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
        r->traffic_bytes = r->counters[CK_CTR_LLC_MISSES] * (double)(line > 0 ? line : 64);
    }
    ck_bench_row_judge(r);
}

/* Scalar's time at the full shape, from its measurement at it->shape. */
static double scaled_scalar_ns(const ck_bench_row *scalar_row, const ck_shape *full, const ck_shape *measured)
{
    if (scalar_row->time_ns <= 0)
        return 0.0;
    double wm = work_of(measured);
    return wm > 0 ? scalar_row->time_ns * work_of(full) / wm : scalar_row->time_ns;
}

/* ---- the run -------------------------------------------------------------------- */

/* One exec context per thread count, each with the counters of its threads
 * (their reasons are alike: the first context's are kept). */
typedef struct ctx_set {
    ck_exec_ctx *ctx[CK_BENCH_MAX_THREADS];
    ck_counters *ctr[CK_BENCH_MAX_THREADS];
    int n;
} ctx_set;

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

typedef struct scalar_ref {
    ck_plugin *plugin;
    run_set rs;
    ck_bench_row *rows; /* at the measured (maybe reduced) shapes */
    char gb_path[4200];
} scalar_ref;

static int is_scalar_name(const char *name)
{
    return strcmp(name, "scalar") == 0;
}

static int has_scalar(const ck_bench_opts *o)
{
    for (int i = 0; i < o->n_plugins; i++)
        if (is_scalar_name(o->plugins[i]))
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
    int ran = run_plugin(sr->plugin, vars, n_inst, cs->ctx, cs->ctr, cs->n, o, o->scalar_budget_flops, sr->gb_path,
                         &sr->rs, err, sizeof err);
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
        fill_row(&sr->rows[i], it, &it->shape, sr->plugin);
        if (it->shape.T != vars[i / (size_t)cs->n].shape.T)
            out->any_scaled_scalar = 1;
    }
}

static void free_scalar(scalar_ref *sr)
{
    free_run_set(&sr->rs);
    free(sr->rows);
    if (sr->gb_path[0])
        remove(sr->gb_path);
    ck_plugin_unload(sr->plugin);
}

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

/* What every plugin of a run shares. */
typedef struct bench_env {
    const ck_bench_opts *o;
    const ck_bench_variant *vars;
    size_t n_inst;
    ctx_set *cs;
    const scalar_ref *sr;
    const char *dir, *roofs_path;
    ck_bench_outcome *out;
} bench_env;

/* The scalar reference's row, restated for the full shape (scalar listed as
 * a plugin: its figure is the measured or scaled time of the full shape). */
static void scalar_row_at_full_shape(ck_bench_row *r, const ck_bench_row *measured, const ck_shape *full,
                                     const ck_shape *ran)
{
    ck_cost cost = ck_op_cost(full);
    *r = *measured;
    ck_shape_describe(full, r->shape, sizeof r->shape);
    r->scalar_T = ran->T;
    r->scalar_scaled = ran->T != full->T;
    r->scalar_ns = scaled_scalar_ns(measured, full, ran);
    r->time_ns = r->scalar_ns;
    r->bytes = (double)cost.bytes;
    r->flops = (double)cost.flops;
    r->intensity = ck_cost_intensity(cost);
    r->gbs = r->time_ns > 0 ? r->bytes / r->time_ns : 0;
    r->gflops = r->time_ns > 0 ? r->flops / r->time_ns : 0;
    r->speedup = r->time_ns > 0 ? 1.0 : 0.0;
    if (r->scalar_scaled) /* counted at the reduced shape: they say nothing of this one */
        for (int c = 0; c < CK_CTR_COUNT; c++)
            r->counters[c] = NAN;
    ck_bench_row_judge(r);
}

/* Rows of a plugin from its run set; returns 1 if any row was not measured. */
static int make_rows(const bench_env *e, const ck_plugin *p, const run_set *rs, int scalar_itself,
                     ck_bench_plugin_result *pr)
{
    const scalar_ref *sr = e->sr;
    pr->rows = calloc(rs->n ? rs->n : 1, sizeof *pr->rows);
    pr->n_rows = pr->rows ? rs->n : 0;
    int incomplete = !pr->rows;
    int isa = ck_isa_for_plugin(pr->plugin);
    for (size_t i = 0; i < pr->n_rows; i++) {
        const ck_shape *full = &e->vars[i / (size_t)e->cs->n].shape;
        ck_bench_row *r = &pr->rows[i];
        if (scalar_itself) {
            scalar_row_at_full_shape(r, &sr->rows[i], full, &rs->items[i].shape);
        } else {
            fill_row(r, &rs->items[i], full, p);
            if (sr->rows) {
                r->scalar_T = sr->rs.items[i].shape.T;
                r->scalar_scaled = r->scalar_T != full->T;
                r->scalar_ns = scaled_scalar_ns(&sr->rows[i], full, &sr->rs.items[i].shape);
                r->speedup = r->scalar_ns > 0 && r->time_ns > 0 ? r->scalar_ns / r->time_ns : 0.0;
            }
        }
        if (e->out->have_roofs)
            ck_roofline_apply(r, &e->out->roofs, isa, full->dtype);
        incomplete |= r->time_ns <= 0;
    }
    return incomplete;
}

/* The result files of a plugin; returns 1 (and the reason in pr->why) if
 * they could not be written. */
static int write_files(const bench_env *e, const ck_plugin *p, const char *gb_path, ck_bench_plugin_result *pr)
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
                            .compute = ck_compute_name(o->compute)};
    result_paths(o, e->dir, pr->plugin, e->out->model, pr);
    if (ck_results_write(gb_path, pr->json_path, &info, pr->rows, pr->n_rows, err, sizeof err) == 0)
        return 0;
    snprintf(pr->why, sizeof pr->why, "%s", err);
    pr->json_path[0] = pr->csv_path[0] = '\0';
    return 1;
}

/* Benchmarks that finished with a time: the reference's and each plugin's
 * (scalar in the list is the reference run, counted once). */
static size_t count_measured(const ck_bench_outcome *out, const scalar_ref *sr)
{
    size_t n = 0;
    for (size_t i = 0; sr->rows && i < sr->rs.n; i++)
        n += sr->rows[i].time_ns > 0;
    for (int p = 0; p < out->n_plugins; p++)
        for (size_t i = 0; !is_scalar_name(out->plugins[p].plugin) && i < out->plugins[p].n_rows; i++)
            n += out->plugins[p].rows[i].time_ns > 0;
    return n;
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
    int scalar_itself = is_scalar_name(p->desc->name) && e->sr->rows;
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
        int ran = run_plugin(p, e->vars, e->n_inst, e->cs->ctx, e->cs->ctr, e->cs->n, e->o, 0, gb_path, &own, err,
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
            free_run_set(&own);
            ck_plugin_unload(p);
            return 1;
        }
        rs = &own;
    }
    int incomplete = make_rows(e, p, rs, scalar_itself, pr);
    incomplete |= write_files(e, p, gb_path, pr);
    if (!scalar_itself)
        remove(gb_path);
    free_run_set(&own);
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
    if (wants_scalar)
        run_scalar(o, vars, n_inst, &cs, dir, &sr, out);
    bench_env env = {o, vars, n_inst, &cs, &sr, dir, roofs_path, out};
    int status = 0;
    for (int i = 0; i < o->n_plugins && i < CK_BENCH_MAX_PLUGINS; i++)
        status |= bench_one(&env, o->plugins[i], &out->plugins[out->n_plugins++]);
    ck_progress_untrap_sigint();
    if ((out->interrupted = ck_progress_interrupted()) && o->progress)
        ck_progress_say_interrupted(o->progress, count_measured(out, &sr), o->progress->total);
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
