/* bench_item.c — one benchmark: an instance (maybe reduced) on one kernel
 * and context, the hooks Google Benchmark's C shim calls around its timed
 * loop (setup and warm-up, counting, the next cold copy, teardown), and the
 * registration and run of one plugin's items.
 *
 * Buffers: each instance's case (harness/ck_case.h) is created just before
 * its benchmark runs (setup hook, outside the timed loop) and freed right
 * after it is reported (teardown hook), so a large model never holds more
 * than one instance's buffers at a time. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_internal.h"
#include "bench_shim.h"
#include "ck_cost.h"
#include "common/sysinfo.h"
#include "placement.h"

#if CK_WITH_BENCH /* the shim is built only then */

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
    it->case_bytes = ck_case_bytes(it->c);
    if (bench_warm_up(it->c, it->kernel, it->ctx, err, err_len) != 0)
        return -1; /* it->c stays, freed by the teardown */
    if (it->cold && ck_cold_make(&it->cold_set, it->c, ck_sys_llc_bytes(), err, err_len) != 0)
        return -1; /* it->c stays, freed by the teardown */
    it->n_copies = it->cold_set.n;
    it->apart_ns[0] = ck_threads_apart_ns(it->ctx->n_threads);
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
    it->apart_ns[1] = ck_threads_apart_ns(it->ctx->n_threads);
    item_free_case(it);
}

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

/* Register and run one plugin over every (instance, context). Returns the
 * number of benchmarks run (0: the plugin has no kernel for any instance),
 * or -1 with err. */
int bench_run_plugin(const ck_plugin *p, const ck_bench_variant *vars, size_t n_inst, ck_exec_ctx **ctxs,
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
            it->shape = scalar_budget > 0 ? bench_scalar_shape(&vars[i].shape, scalar_budget) : vars[i].shape;
            it->kernel = bench_pick_kernel(p, &vars[i].shape, o->compute);
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

void bench_free_run_set(run_set *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        item_free_case(&rs->items[i]);
    free(rs->items);
    rs->items = NULL;
    rs->n = 0;
}

#endif /* CK_WITH_BENCH */
