/* ckbench run: the whole planned model through one plugin (or a chain),
 * once, timed and counted, and a report of its output; --generate loops
 * the decode step instead (cli_generate.c), --dump, --patch and --share
 * observe the forward (cli_observe.c); the options are shared with
 * diverge (cli_run.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/counters.h"
#include "cli_run.h"
#include "commands.h"
#include "common/progress.h"

/* The forward's page faults (the mapping's first touch, and with --window
 * the layers faulted in and released) and whether its threads ran. */
static void print_run_counters(const double *c, const char *why, double wall_s, int threads)
{
    if (!c) {
        printf("counters: unavailable: %s\n", why[0] ? why : "counting failed");
        return;
    }
    long page = sysconf(_SC_PAGESIZE);
    printf("counters: %.0f page faults (%.1f MiB at %ld-byte pages: first touch and paging), cpu %.2f "
           "(task clock / (wall x threads)), %.0f involuntary context switches\n",
           c[CK_CTR_PAGE_FAULTS], c[CK_CTR_PAGE_FAULTS] * (double)page / (1 << 20), page,
           wall_s > 0 ? c[CK_CTR_TASK_CLOCK_NS] / (wall_s * 1e9 * threads) : 0.0, c[CK_CTR_INVOLUNTARY_SWITCHES]);
}

/* One forward, timed and counted over exactly its steps, with progress;
 * any --patch applies through the step hook. */
typedef struct forward_stats {
    double seconds;
    double counts[CK_CTR_COUNT];
    int counted;
    ck_counters_why why;
} forward_stats;

static int timed_forward(run_cli *c, ck_runner *r, ck_exec_ctx *ctx, forward_stats *st, char *err, size_t len)
{
    ck_counters *ctr = ck_counters_open(ctx, &st->why);
    struct timespec t0, t1;
    int counting = ctr && ck_counters_start(ctr) == 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_progress prog;
    ck_progress_start(&prog, "run", ck_runner_n_steps(r));
    ck_progress_section(&prog, c->window ? "steps (weights seeded window by window)" : "seeding weights, then steps");
    run_hook hook = {&prog, &c->patches};
    int failed = ck_runner_forward(r, ctx, cli_run_step_hook, &hook, err, len);
    ck_progress_finish(&prog);
    if (!failed) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        st->counted = ctr && ck_counters_stop(ctr, st->counts) == 0 && counting;
        st->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    }
    ck_counters_close(ctr);
    return failed;
}

/* What ran, where, and the output: its statistics and digest. 0 if the
 * output is finite, else 1. */
static int print_report(const run_cli *c, const loaded *l, const ck_runner *r, const ck_exec_ctx *ctx,
                        const forward_stats *st)
{
    size_t n_out, fallbacks = 0;
    const float *y = ck_runner_output(r, &n_out);
    for (size_t i = 0; i < ck_runner_n_steps(r); i++)
        fallbacks += ck_runner_step(r, i)->fallback;
    double sum = 0, sq = 0;
    int finite = 1;
    for (size_t i = 0; i < n_out; i++) {
        finite &= isfinite(y[i]) != 0;
        sum += y[i];
        sq += (double)y[i] * y[i];
    }
    printf("model %s through %s: %zu steps (%zu by scalar fallback), %d threads, %.3f s%s\n", ck_model_name(l->model),
           l->chain.name, ck_runner_n_steps(r), fallbacks, ctx->n_threads, st->seconds,
           c->compute == CK_COMPUTE_BF16 ? ", compute bf16" : "");
    if (l->chain.n > 1)
        cli_print_chain_counts(r, &l->chain);
    ck_print_host_restores(r);
    cli_print_fusions(r, c->fuse, l->plugin, l->model);
    printf("allocation: %zu bytes in one mapping%s%s\n", ck_runner_plan(r)->total,
           ck_runner_arena_note(r)[0] ? "; " : "", ck_runner_arena_note(r));
    printf("output: %zu values, mean %.6g, rms %.6g, digest %016llx%s\n", n_out, n_out ? sum / (double)n_out : 0.0,
           n_out ? sqrt(sq / (double)n_out) : 0.0, (unsigned long long)cli_digest(y, n_out),
           finite ? "" : " (NOT FINITE)");
    print_run_counters(st->counted ? st->counts : NULL, st->why.software, st->seconds, ctx->n_threads);
    return finite ? 0 : 1;
}

int ck_cmd_run(int argc, char **argv)
{
    run_cli c;
    int pr = cli_run_parse(argc, argv, &c);
    if (pr) {
        free(c.tokens);
        ck_patch_free(&c.patches);
        return pr > 0 ? cli_run_usage("run", stdout) : 2; /* the parser said why, in one line */
    }
    loaded l;
    int status = 2;
    char err[CK_ERR_LEN];
    ck_runner *r = NULL;
    ck_exec_ctx *ctx = NULL;
    float *baseline = NULL;
    if (cli_run_load(&c, &l))
        goto out;
    ck_run_opts o = cli_run_opts(&c);
    o.fuse_mask = c.fuse;
    ck_dump_opts dump = {.glob = c.dump_glob, .source = "run"};
    if (!(r = cli_run_runner(&l, &o, err, sizeof err)) || ck_patch_bind(&c.patches, r, err, sizeof err)) {
        fprintf(stderr, "ckbench run: %s\n", err);
        goto out;
    }
    if (c.dump_glob && ck_dump_count(ck_runner_plan(r), &dump) == 0) {
        fprintf(stderr, "ckbench run: --dump: no tensor of %s matches '%s'\n", ck_model_name(l.model), c.dump_glob);
        goto out;
    }
    ctx = ck_exec_create(c.threads);
    status = 1;
    if (c.generate) {
        status = cli_run_generate(&c, &l, r, ctx);
        goto out;
    }
    if (c.patches.n && !(baseline = cli_observe_baseline(r, ctx, err, sizeof err))) {
        fprintf(stderr, "ckbench run: %s\n", err);
        goto out;
    }
    forward_stats st = {0};
    if (timed_forward(&c, r, ctx, &st, err, sizeof err)) {
        fprintf(stderr, "ckbench run: %s\n", err);
        goto out;
    }
    status = print_report(&c, &l, r, ctx, &st);
    if (c.patches.n) {
        size_t n_out;
        cli_print_moved(&c.patches, baseline, ck_runner_output(r, &n_out), n_out);
    }
    if (c.dump_glob && cli_print_dump(&c, r, &dump) != 0)
        status = 1;
out:
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    cli_run_unload(&l);
    free(c.tokens);
    free(baseline);
    ck_patch_free(&c.patches);
    return status;
}
