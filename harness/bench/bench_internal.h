/* bench_internal.h — what the files of a bench run share (bench_runner.h
 * is its interface): the state Google Benchmark's C shim calls back into,
 * one benchmark per (instance, context), and the jobs of the run, one file
 * each. Only harness/bench/bench_*.c include it. */
#ifndef CK_BENCH_INTERNAL_H
#define CK_BENCH_INTERNAL_H

#include "bench_cold.h"
#include "bench_phase.h"
#include "bench_runner.h"
#include "cases/ck_case.h"

#define BENCH_SEED 20260524u

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
    double apart_ns[2];   /* where its threads sat before and after its timing (placement.h); 0: one thread */
    size_t case_bytes;    /* one copy's buffers, of which the op may read only a part */
} bench_item;

typedef struct run_set {
    bench_item *items; /* n_inst * n_threads, instance-major */
    size_t n;
} run_set;

/* One exec context per thread count, each with the counters of its threads
 * (their reasons are alike: the first context's are kept). */
typedef struct ctx_set {
    ck_exec_ctx *ctx[CK_BENCH_MAX_THREADS];
    ck_counters *ctr[CK_BENCH_MAX_THREADS];
    int n;
} ctx_set;

typedef struct scalar_ref {
    ck_plugin *plugin;
    run_set rs;
    ck_bench_row *rows; /* at the measured (maybe reduced) shapes */
    char gb_path[4200];
} scalar_ref;

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

/* bench_guard.c: the warm-up call, and the host state it must leave as it
 * found it; 0, or -1 with the reason in err. */
int bench_warm_up(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx, char *err, size_t err_len);

/* bench_item.c: register and run one plugin over every (instance, context).
 * Returns the number of benchmarks run (0: the plugin has no kernel for any
 * instance), or -1 with err. */
int bench_run_plugin(const ck_plugin *p, const ck_bench_variant *vars, size_t n_inst, ck_exec_ctx **ctxs,
                     ck_counters **ctrs, int n_ctx, const ck_bench_opts *o, double scalar_budget, const char *gb_path,
                     run_set *rs, char *err, size_t err_len);
void bench_free_run_set(run_set *rs);

/* bench_pick.c: which kernel and which shape a benchmark runs, and the
 * scalar reference's time scaled back to the full shape. */
const ck_kernel_desc *bench_pick_kernel(const ck_plugin *p, const ck_shape *s, ck_compute compute);
ck_shape bench_scalar_shape(const ck_shape *full, double budget);
double bench_scaled_scalar_ns(const ck_bench_row *scalar_row, const ck_shape *full, const ck_shape *measured);

/* bench_rows.c: rows from what ran. */
void bench_fill_row(ck_bench_row *r, const bench_item *it, const ck_shape *full, const ck_plugin *p);
int bench_make_rows(const bench_env *e, const ck_plugin *p, const run_set *rs, int scalar_itself,
                    ck_bench_plugin_result *pr);
size_t bench_count_measured(const ck_bench_outcome *out, const scalar_ref *sr);
int bench_is_scalar_name(const char *name);

/* bench_files.c: the result files of a plugin. */
int bench_write_files(const bench_env *e, const ck_plugin *p, const char *gb_path, ck_bench_plugin_result *pr);

#endif /* CK_BENCH_INTERNAL_H */
