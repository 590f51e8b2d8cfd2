/* The headline, `ckbench --plugin P --model M`: parity at reduced sizes,
 * bench at the model's real shapes, then a short report. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/term.h"
#include "bench/bench_e2e.h"
#include "bench/bench_runner.h"
#include "bench/calibrate.h"
#include "bench/results.h"
#include "ck_host.h"
#include "cli_bench.h"
#include "commands.h"
#include "common/op_list.h"
#include "common/sysinfo.h"

/* ---- the headline ---------------------------------------------------------------------- */

/* The best plugin that runs here: avx512 > avx2 > neon > scalar. */
static const char *best_plugin(void)
{
    static const char *const order[] = {"avx512", "avx2", "neon", "scalar"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char err[CK_ERR_LEN];
        ck_plugin *p = ck_plugin_load(order[i], err, sizeof err);
        int ok = p && p->runnable;
        ck_plugin_unload(p);
        if (ok)
            return order[i];
    }
    return NULL;
}

static void ensure_roofs(void)
{
    char err[CK_ERR_LEN], dir[4096], path[4200];
    ck_roofs r;
    if (ck_sys_results_dir(dir, sizeof dir, err, sizeof err) != 0)
        return; /* bench reports the directory problem */
    if (ck_roofs_find(path, sizeof path, dir) == 0 && ck_roofs_load(&r, path, err, sizeof err) == 0)
        return;
    printf("== calibrate (no roofs for this machine yet; a quick measurement)\n");
    cli_calibrate_and_save(0, 1, NULL, &r);
}

/* Geometric mean of the speedups that were measured. */
static double geomean_speedup(const ck_bench_plugin_result *pr, int *n)
{
    double logs = 0;
    *n = 0;
    for (size_t i = 0; i < pr->n_rows; i++)
        if (pr->rows[i].speedup > 0) {
            logs += log(pr->rows[i].speedup);
            ++*n;
        }
    return *n ? exp(logs / *n) : 0.0;
}

/* For the DRAM-bound rows of a phase and cache mode (those with a now_pct,
 * mem_probe.h): "; its DRAM-bound rows N% of the roof, M% against the DRAM
 * read measured in the run", else "". */
static const char *now_part(const ck_bench_plugin_result *pr, const char *phase, const char *cache)
{
    static char buf[128];
    double roof = 0, now = ck_roofline_now_fraction(pr->rows, pr->n_rows, 0, phase, cache, &roof);
    buf[0] = '\0';
    if (now > 0)
        snprintf(buf, sizeof buf, "; its DRAM-bound rows %.0f%%, %.0f%% against the DRAM read measured in the run",
                 100.0 * roof, 100.0 * now);
    return buf;
}

/* Per phase and cache mode: sum of ideal times / sum of measured times, so a
 * row weighs what it costs; an average of percentages would let a tiny row
 * above its roof hide a slow large one. */
static void print_roof_fractions(const ck_bench_plugin_result *pr)
{
    static const char *const phases[] = {"prefill", "decode"}, *const caches[] = {"hot", "cold"};
    for (size_t k = 0; k < 4; k++) {
        double ideal = 0, measured = 0;
        double f = ck_roofline_fraction(pr->rows, pr->n_rows, phases[k / 2], caches[k % 2], &ideal, &measured);
        if (measured <= 0)
            continue;
        char ti[32], tm[32], which[24];
        cli_format_time(ti, sizeof ti, ideal);
        cli_format_time(tm, sizeof tm, measured);
        snprintf(which, sizeof which, "%s/%s", phases[k / 2], caches[k % 2]);
        printf("roofs:   %-12s %3.0f%% of the roof, time-weighted (sum of ideal %s / sum of measured %s)%s\n", which,
               100.0 * f, ti, tm, now_part(pr, phases[k / 2], caches[k % 2]));
    }
}

/* The whole model after bench: by default a short sample (its first layer
 * per section, small pp and tg: bench_e2e.h), every layer with --e2e. Its
 * own result file: the headline's --out names bench's. */
static int run_e2e(ck_bench_opts o, cli_e2e_summary *sum)
{
    o.out_path = NULL;
    o.e2e_short = !o.e2e;
    if (o.e2e_short)
        printf("\n== whole model, short: the first layer of each section, pp and tg at most %d and %d tokens "
               "(--e2e: every layer)\n",
               CK_E2E_SHORT_PP, CK_E2E_SHORT_TG);
    else
        printf("\n== whole model (prefill and generation)\n");
    fflush(stdout);
    return cli_bench_e2e(&o, sum);
}

/* The summary's whole-model line: tokens per second, and each phase against its roof. */
static void print_e2e(const cli_e2e_summary *e, int sample)
{
    if (!e->ran) {
        printf("e2e:     not run (see above)\n");
        return;
    }
    printf("e2e:     pp%zu %.1f tokens/s%s; tg%zu %.2f tokens/s", e->pp, e->pp_tps, e->pp_roof > 0 ? "" : " (no roofs)",
           e->tg, e->tg_tps);
    if (e->tg_bound_ratio > 0)
        printf(", %.2fx its DRAM bound", e->tg_bound_ratio);
    if (e->tg_now_ratio > 0)
        printf(" (%.2fx at the DRAM read measured around it)", e->tg_now_ratio);
    printf("%s\n", sample ? " (first layer of each section)" : "");
    if (e->pp_roof > 0)
        printf("e2e:     pp%zu at %.0f%% of the roof, time-weighted\n", e->pp, 100 * e->pp_roof);
}

static void print_report(const ck_bench_outcome *out, int parity_rc, ck_compute compute, const cli_e2e_summary *e2e,
                         int sample)
{
    const ck_bench_plugin_result *pr = &out->plugins[0];
    printf("\n== report\n");
    ck_colour c = parity_rc == 0 ? CK_GREEN : parity_rc == 1 ? CK_RED : CK_YELLOW;
    printf("parity:  %s%s%s\n", ck_term_on(stdout, c),
           parity_rc == 0   ? "passed"
           : parity_rc == 1 ? "FAILED (see above)"
                            : "not run (error)",
           ck_term_off(stdout));
    if (!pr->runnable) {
        printf("bench:   %s did not run: %s\n", pr->plugin, pr->why);
        print_e2e(e2e, sample);
        return;
    }
    size_t measured = 0;
    double total = 0;
    for (size_t i = 0; i < pr->n_rows; i++) {
        if (pr->rows[i].time_ns <= 0)
            continue;
        measured++;
        total += pr->rows[i].time_ns;
    }
    int n_speed;
    double g = geomean_speedup(pr, &n_speed);
    char t[32];
    cli_format_time(t, sizeof t, total);
    printf("bench:   %s on %s: %zu of %zu rows (instance, phase, cache) measured, one call of each: %s in total\n",
           pr->plugin, out->model, measured, pr->n_rows, t);
    if (n_speed)
        printf("speedup: %.1fx over scalar (geometric mean of %d instances)\n", g, n_speed);
    print_roof_fractions(pr);
    if (out->roofs_doubt[0]) /* the fractions above are against these roofs */
        printf("         (roofs: %s; 'ckbench calibrate' on a quiet machine measures them again)\n", out->roofs_doubt);
    print_e2e(e2e, sample);
    if (compute == CK_COMPUTE_BF16)
        printf("compute: bf16 (bf16-weight linear / qkv round x to bf16; docs/ops.md)\n");
    printf("results: %s\n", pr->json_path[0] ? pr->json_path : "(not written)");
}

int ck_cmd_headline(int argc, char **argv)
{
    ck_bench_opts o;
    ck_bench_opts_default(&o);
    o.repetitions = 3; /* the headline's figures are medians; --repetitions overrides */
    /* argv[0] is already an option (main passes argv from "--plugin" on) */
    int rc = cli_parse_bench_args(argc, argv, 0, &o);
    if (rc == -1) {
        printf("usage: ckbench --plugin P|best --model M [bench options]\n\n"
               "Parity (reduced sizes, against the scalar reference), then bench at the model's real shapes,\n"
               "then a short report with the result file's path. '--plugin best' takes the best plugin that\n"
               "runs here (avx512 > avx2 > neon > scalar). Calibrates the roofs first if this machine has\n"
               "none. Then the whole model, prefill and generation ('ckbench bench --help', --e2e): by\n"
               "default a short sample (the first layer of each section, pp 16, tg 4), with --e2e every layer.\n"
               "Bench options: see 'ckbench bench --help'.\n");
        return 0;
    }
    if (rc)
        return rc;
    if (o.n_plugins != 1)
        return cli_usage_error("ckbench", "%s", "the headline takes one plugin (use 'ckbench bench' for several)");
    if (ck_chain_spec(o.plugins[0])) /* parity and the per-op table are per plugin */
        return cli_usage_error("ckbench",
                               "--plugin '%s': the headline takes one plugin; a chain runs in 'ckbench run' and "
                               "'ckbench bench --e2e'",
                               o.plugins[0]);
    if (!strcmp(o.plugins[0], "best") && !(o.plugins[0] = best_plugin())) {
        fprintf(stderr, "ckbench: --plugin best: no plugin runs here; see 'ckbench list'\n");
        return 2;
    }
    printf("ckbench: %s on %s\n", o.plugins[0], o.model_path);
    ensure_roofs();
    char dir[4096], err[CK_ERR_LEN], result_path[4096], parity_path[4200];
    if (ck_sys_results_dir(dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench: %s\n", err);
        return 2;
    }
    /* The run's name is chosen once, before parity, so that its parity report
     * and its bench results share it: <stem>.parity.json beside <stem>.json. */
    if (!o.out_path) {
        char model[256];
        const char *base = strrchr(o.model_path, '/');
        snprintf(model, sizeof model, "%s", base ? base + 1 : o.model_path);
        if (strlen(model) > 5 && !strcmp(model + strlen(model) - 5, ".json"))
            model[strlen(model) - 5] = '\0';
        ck_results_default_path(result_path, sizeof result_path, dir, o.plugins[0], model);
        o.out_path = result_path;
    }
    size_t stem = strlen(o.out_path);
    stem -= stem > 5 && !strcmp(o.out_path + stem - 5, ".json") ? 5 : 0;
    snprintf(parity_path, sizeof parity_path, "%.*s.parity.json", (int)stem, o.out_path);
    printf("\n== parity (reduced sizes)\n");
    fflush(stdout);
    /* parity checks what bench will time: the same ops, weights and compute type */
    char ops[1024];
    if (ck_op_list_format(o.op_filter, ops, sizeof ops) != 0) {
        fprintf(stderr, "ckbench: --op: too many ops to hand to parity\n");
        return 2;
    }
    char *pargv[14] = {"parity",    "--plugin",           (char *)o.plugins[0],
                       "--model",   (char *)o.model_path, "--json",
                       parity_path, "--compute",          (char *)ck_compute_name(o.compute)};
    int pargc = 9;
    if (o.weight_dtype) {
        pargv[pargc++] = "--weight-dtype";
        pargv[pargc++] = (char *)ck_dtype_name(o.weight_dtype);
    }
    if (ops[0]) {
        pargv[pargc++] = "--op";
        pargv[pargc++] = ops;
    }
    pargv[pargc] = NULL;
    int parity_rc = ck_cmd_parity(pargc, pargv);
    o.parity_json = parity_rc == 2 ? NULL : parity_path;
    printf("\n== bench (full shapes)\n");
    fflush(stdout);
    ck_progress prog;
    ck_progress_start(&prog, "bench", 0);
    o.progress = &prog;
    ck_bench_outcome out;
    int bench_rc = ck_bench_run(&o, &out);
    ck_progress_finish(&prog);
    cli_e2e_summary e2e = {0};
    if (bench_rc != 2) {
        cli_print_outcome(&out);
        int e2e_rc = run_e2e(o, &e2e);
        bench_rc = e2e_rc > bench_rc ? e2e_rc : bench_rc;
        print_report(&out, parity_rc, o.compute, &e2e, !o.e2e);
    }
    ck_bench_outcome_free(&out);
    return parity_rc ? parity_rc : bench_rc;
}
