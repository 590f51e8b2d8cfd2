/* ckbench bench — the command line of the benchmark runner (bench/), and
 * the tables people read; the option parser and the tables are shared with
 * the headline (cmd_headline.c) through cli_bench.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/term.h"
#include "bench/bench_runner.h"
#include "bench/calibrate.h"
#include "bench/placement.h"
#include "bench/results.h"
#include "ck_host.h"
#include "cli_bench.h"
#include "commands.h"
#include "common/model_path.h"
#include "common/op_list.h"
#include "common/sysinfo.h"

/* ---- option parsing helpers ----------------------------------------------------- */

int cli_usage_error(const char *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", cmd);
    fprintf(stderr, fmt, what);
    fprintf(stderr, "; see '%s --help'\n", cmd);
    return 2;
}

/* The value of option argv[*i] (moving *i past it), or NULL when missing. */
const char *cli_option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || isinf(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Split "a,b,c" in place into at most max parts. Returns the count, or -1
 * if there are more or one is empty. */
static int split_list(char *s, char **parts, int max)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max)
            return -1;
        parts[n++] = tok;
    }
    return n;
}

/* The DRAM read measured around the rows, and the rows against it: on a VM
 * whose memory other tenants share, the calibrated roof may be far from what
 * the memory gave while the rows ran. */
static void print_probe(const ck_bench_plugin_result *pr)
{
    const ck_mem_probe *p = &pr->probe;
    if (p->n == 0)
        return;
    printf("memory: DRAM read before / after these rows:");
    double low = 1.0;
    for (int i = 0; i < p->n; i++) {
        printf("%s %.1f / %.1f GB/s on %d thr (roof %.1f", i ? "," : "", p->start_gbs[i], p->end_gbs[i], p->threads[i],
               p->roof_gbs[i]);
        if (p->start_apart_ns[i] > 0)
            printf("; threads %.0f / %.0f ns apart", p->start_apart_ns[i], p->end_apart_ns[i]);
        printf(")");
        char why[200];
        double ratio = ck_mem_probe_ratio(p, p->threads[i]);
        /* a read low because the threads sit elsewhere than at calibration
         * is not a shared memory: the note below says that instead */
        if (ratio > 0 && ratio < low && !ck_mem_probe_moved(p, i, why, sizeof why))
            low = ratio;
    }
    printf("\n");
    int any = 0;
    for (int i = 0; i < p->n; i++) {
        double f = ck_roofline_now_fraction(pr->rows, pr->n_rows, p->threads[i], NULL, NULL, NULL);
        if (f <= 0)
            continue;
        printf("%s %.0f%% on %d thr", any++ ? "," : "  DRAM rows against that read (time-weighted):", 100 * f,
               p->threads[i]);
    }
    if (any)
        printf("\n");
    for (int i = 0; i < p->n; i++) {
        char why[200];
        if (ck_mem_probe_moved(p, i, why, sizeof why))
            printf("  note: %s:\n  " CK_PLACEMENT_WHY ",\n"
                   "  so these %d-thread figures compare two placements; rerun, or calibrate again\n",
                   why, p->threads[i]);
    }
    if (low < CK_PROBE_SHARED)
        printf("  the memory gave %.0f%% of its calibrated read: other work shares it, and the %% of roof of\n"
               "  the DRAM rows understates them\n",
               100 * low);
}

/* ---- printing ---------------------------------------------------------------------- */

void cli_format_time(char *buf, size_t len, double ns)
{
    if (ns <= 0)
        snprintf(buf, len, "-");
    else if (ns < 1e3)
        snprintf(buf, len, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, len, "%.1f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, len, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, len, "%.2f s", ns / 1e9);
}

static void print_roofs_line(const ck_bench_outcome *out, const char *plugin, int threads)
{
    if (!out->have_roofs) {
        printf("roofs: not calibrated on this machine - run 'ckbench calibrate' for %% of roof\n");
        return;
    }
    int isa = ck_isa_for_plugin(plugin);
    const ck_roofs *r = &out->roofs;
    printf("roofs at %d thread%s:", threads, threads == 1 ? "" : "s");
    for (int lv = 0; lv < CK_MEM_COUNT; lv++)
        if (ck_roofs_level_gbs(r, lv, threads) > 0)
            printf(" %s %.1f GB/s,", ck_mem_level_name(lv), ck_roofs_level_gbs(r, lv, threads));
    printf(" %s FMA %.1f GFLOP/s", ck_isa_name(isa), ck_roofs_peak_gflops(r, isa, threads));
    for (int k = 0; k < CK_DOT_COUNT; k++)
        if (ck_roofs_dot_gops(r, k, threads) > 0)
            printf(", %s dot %.1f GOP/s", ck_dot_name(k), ck_roofs_dot_gops(r, k, threads));
    printf("\n");
    if (!r->have_levels)
        printf("roofs: this roofs file has no cache levels (DRAM only) - run ckbench calibrate\n");
}

static void print_plugin_table(const ck_bench_outcome *out, const ck_bench_plugin_result *pr)
{
    if (!pr->runnable) {
        printf("\n%s: not run: %s\n", pr->plugin, pr->why);
        return;
    }
    printf("\n%s %s on %s\n", pr->plugin, pr->version, out->model);
    /* rows come instance by instance, each at every thread count: the first
     * rows up to a repeated count name them all */
    for (size_t i = 0; i < pr->n_rows && (i == 0 || pr->rows[i].threads != pr->rows[0].threads); i++)
        print_roofs_line(out, pr->plugin, pr->rows[i].threads);
    printf("%-26s %-12s %3s %10s %8s %9s %7s %16s %8s %9s %4s %-3s  %s\n", "op instance", "phase/cache", "thr", "time",
           "GB/s", "GFLOP/s", "flop/B", "% of roof", "speedup", "scalar@T", "cpu", "!", "shape");
    int flagged = 0;
    for (size_t i = 0; i < pr->n_rows; i++) {
        const ck_bench_row *r = &pr->rows[i];
        char t[32], roof[48] = "-", speed[32] = "-", sT[32] = "-", pc[24];
        snprintf(pc, sizeof pc, "%s/%s", r->phase ? r->phase : "-", r->cache ? r->cache : "-");
        cli_format_time(t, sizeof t, r->time_ns);
        if (r->bound)
            snprintf(roof, sizeof roof, "%.0f%% %s%s", r->roof_pct,
                     r->bound[0] == 'm' ? ck_mem_level_name(r->mem_level) : r->arith, r->roof_flag[0] ? " !" : "");
        flagged |= r->roof_flag[0] != 0;
        if (r->speedup > 0)
            snprintf(speed, sizeof speed, "%.1fx", r->speedup);
        if (r->scalar_ns > 0 && r->scalar_scaled)
            snprintf(sT, sizeof sT, "%zu*", r->scalar_T);
        else if (r->scalar_ns > 0)
            snprintf(sT, sizeof sT, "full");
        char use[16] = "-", flags[8] = "";
        if (!isnan(r->thread_use))
            snprintf(use, sizeof use, "%.2f", r->thread_use);
        snprintf(flags, sizeof flags, "%s%s%s", r->flags & CK_ROW_NOISY ? "N" : "", r->flags & CK_ROW_FAULTS ? "F" : "",
                 r->flags & CK_ROW_THREADS_IDLE ? "I" : "");
        if (r->time_ns > 0)
            printf("%-26.26s %-12s %3d %10s %8.2f %9.2f %7.2f %16s %8s %9s %4s %-3s  %s\n", r->label, pc, r->threads, t,
                   r->gbs, r->gflops, r->intensity, roof, speed, sT, use, flags, r->shape);
        else
            printf("%-26.26s %-12s %3d %10s  %s  (%s)\n", r->label, pc, r->threads, "-", r->status, r->shape);
    }
    for (size_t i = 0; flagged && i < pr->n_rows; i++)
        if (pr->rows[i].roof_flag[0])
            printf("! %s %s/%s %d thr: %s\n", pr->rows[i].label, pr->rows[i].phase, pr->rows[i].cache,
                   pr->rows[i].threads, pr->rows[i].roof_flag);
    print_probe(pr);
    if (pr->json_path[0])
        printf("files: %s\n       %s\n", pr->json_path, pr->csv_path);
    else
        printf("files: not written: %s\n", pr->why[0] ? pr->why : "unknown reason");
}

/* Which counter sets were read, each reason once, and what cpu and ! mean. */
static void print_counters_legend(const ck_counters_why *w)
{
    if (w->software[0])
        printf("counters: software set unavailable: %s; no cpu or ! column\n", w->software);
    else
        printf("counters: per timed iteration, on every thread of the pool (perf_event_open)%s%s\n"
               "  cpu: task clock / (wall x threads), how much the threads really ran; !: N noisy (preempted\n"
               "  for > %.0f%% of the time, migrated, moved by the host, or cv over repetitions > %.0f%%), F page\n"
               "  faults in the timed loop (first touch or paging), I threads idle (cpu < %.2f); the result\n"
               "  file says each in words\n",
               w->partial[0] ? "; " : "", w->partial, 100 * CK_ROW_MAX_CV, 100 * CK_ROW_MAX_CV, CK_ROW_MIN_THREAD_USE);
    if (w->hardware[0])
        printf("hardware counters: unavailable: %s\n", w->hardware);
}

void cli_print_outcome(const ck_bench_outcome *out)
{
    for (int i = 0; i < out->n_plugins; i++)
        print_plugin_table(out, &out->plugins[i]);
    printf("\n");
    if (out->any_scaled_scalar)
        printf("* scalar@T: the scalar reference ran at that T (the full shape would take too long) and its\n"
               "  time was scaled to the full shape by the flops ratio; unmarked: measured at the full shape.\n");
    printf("%% of roof: ideal time / measured time, the ideal being max(bytes / bandwidth of the memory level\n"
           "  the working set lives in (hot: where it fits; cold: DRAM), flops / peak of the arithmetic the\n"
           "  kernel uses (FMA of its ISA; int8 or bf16 dot product for quantised / bf16 matmuls)), at the\n"
           "  row's thread count; the level or arithmetic that bounds it follows; '!': above 105%%, why below.\n"
           "  At DRAM a row's bytes are priced by what they are: read at the read, written and updated in\n"
           "  place at what calibrate's streaming triad and update loop spend on them.\n"
           "cold: operands rotated through copies that together exceed 8x the last-level cache\n"
           "  (the working set of the DRAM roof).\n");
    if (out->compute == CK_COMPUTE_BF16)
        printf("compute: bf16: bf16-weight linear / qkv ran their compute-bf16 kernels (x rounded to bf16,\n"
               "  docs/ops.md); their %% of roof is against calibrate's bf16 dot-product peak (vdpbf16ps), or\n"
               "  the f32 FMA peak where the roofs have none (older roofs files: run ckbench calibrate).\n");
    if (out->roofs_doubt[0])
        printf("roofs: %s; %% of roof may be off. 'ckbench calibrate' on a quiet machine measures them again.\n",
               out->roofs_doubt);
    print_counters_legend(&out->counters);
    if (out->load_avg > 0.5 * out->n_cpus)
        printf("load: %.1f on %d CPUs when the run started: other work shares this machine and the times are\n"
               "  noisy; --repetitions R reports the median of R runs.\n",
               out->load_avg, out->n_cpus);
}

/* ---- ckbench bench ------------------------------------------------------------------ */

static void bench_usage(FILE *f)
{
    fprintf(f,
            "usage: ckbench bench --plugin P[,P2...] --model M [--threads N[,N2...]] [--op OP,...]\n"
            "                     [--weight-dtype DTYPE] [--min-time S] [--repetitions R] [--out FILE] [--no-scalar]\n"
            "                     [--scalar-budget FLOPS] [--parity-json FILE] [--compute f32|bf16]\n"
            "                     [--phase prefill|decode|both] [--cache cold|hot|both] [--decode-pos P]\n"
            "                     [--e2e [--pp N] [--tg N]] [--md]\n\n"
            "Times every distinct op instance of model M at its real shapes (full sequence) through Google\n"
            "Benchmark, for each plugin and thread count (default: all CPUs), and prints per op: time, GB/s,\n"
            "GFLOP/s, arithmetic intensity, %% of the relevant calibrated roof and the speedup over the scalar\n"
            "plugin measured in the same run. Scalar instances above --scalar-budget flops (default 2e8) run at\n"
            "a reduced T and are scaled by the flops ratio; the scalar@T column says which (marked *).\n"
            "--min-time: seconds per benchmark (default 0.05); --repetitions: report the median of R runs.\n"
            "--weight-dtype: every weight in this dtype instead of the model's (q8_0 / q4_0 for quant).\n"
            "--compute bf16: bf16-weight linear / qkv take the compute-bf16 kernels (x rounded to bf16;\n"
            "docs/ops.md), scalar's too; a plugin without them shows 'no kernel'.\n"
            "--phase: prefill (full sequence), decode (T=1 against a KV cache filled to --decode-pos P,\n"
            "default seq_len/2) or both (default). --cache: cold (operands rotated through copies exceeding\n"
            "8x the LLC), hot, or both; default cold for decode, both for prefill.\n"
            "--e2e: the whole model instead: prefill of --pp N tokens and greedy generation of --tg N\n"
            "(default 512 and 128, within the context), tokens/s (median, min-max) and a profile. With --e2e a\n"
            "plugin may be a chain P1+P2 (each op on the first that has a kernel, then scalar).\n"
            "--md: the rows as one Markdown table (to paste into a pull request) instead of the tables.\n"
            "Writes results/<date>-<HHMMSS>-<host>-<plugin>-<model>.json (-2, -3, ... when taken; Google\n"
            "Benchmark JSON + a ckbench context; compare.py reads it) and .csv, or --out FILE\n"
            "(FILE-<plugin>.json with several plugins).\n"
            "Each row carries counters over its timed loop, per iteration, on every thread: task clock, page\n"
            "faults, context switches, migrations (perf_event_open), cycles, instructions, LLC misses (PAPI,\n"
            "where the PMU is there); cpu = task clock / (wall x threads); ! flags N noisy, F faults, I idle.\n"
            "CK_COUNTERS=sw leaves the hardware set out, CK_COUNTERS=none both sets.\n"
            "With cold rows, the DRAM read is measured before and after each plugin's rows (CK_PROBE=0: not)\n"
            "and the DRAM rows are also put against it ('memory:' under the table, pct_of_dram_now).\n"
            "$CK_RESULTS_DIR changes the results directory. Exit: 0 ok, 1 a plugin or kernel did not run,\n"
            "2 bad usage or input.\n");
}

static int parse_threads(char *list, ck_bench_opts *o)
{
    char *parts[CK_BENCH_MAX_THREADS];
    int n = split_list(list, parts, CK_BENCH_MAX_THREADS);
    if (n <= 0)
        return cli_usage_error("ckbench bench", "--threads: expected N[,N...] (at most 8 counts), found '%s'", list);
    for (int i = 0; i < n; i++)
        if (cli_parse_int(parts[i], 1, 1024, &o->threads[i]) != 0)
            return cli_usage_error("ckbench bench", "--threads: expected counts in 1..1024, found '%s'", parts[i]);
    o->n_threads = n;
    return 0;
}

/* Parse bench options from argv[first..]; 0 ok, 2 bad usage, -1 --help. */
int cli_parse_bench_args(int argc, char **argv, int first, ck_bench_opts *o)
{
    static char lists[2][1024]; /* strtok needs writable copies */
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return -1;
        if (!strcmp(a, "--no-scalar")) {
            o->no_scalar = 1;
            continue;
        }
        if (!strcmp(a, "--e2e")) {
            o->e2e = 1;
            continue;
        }
        if (!strcmp(a, "--md")) {
            o->md = 1;
            continue;
        }
        const char *v = cli_option_value(argc, argv, &i);
        if (!v)
            return cli_usage_error("ckbench bench", "%s: expected a value after it", a);
        if (!strcmp(a, "--plugin")) {
            snprintf(lists[0], sizeof lists[0], "%s", v);
            o->n_plugins = split_list(lists[0], (char **)o->plugins, CK_BENCH_MAX_PLUGINS);
            if (o->n_plugins <= 0)
                return cli_usage_error("ckbench bench", "--plugin: expected P[,P...] (at most 8), found '%s'", v);
        } else if (!strcmp(a, "--model")) {
            if (!(o->model_path = ck_model_arg("ckbench bench", v)))
                return 2;
        } else if (!strcmp(a, "--threads")) {
            snprintf(lists[1], sizeof lists[1], "%s", v);
            if (parse_threads(lists[1], o))
                return 2;
        } else if (!strcmp(a, "--op")) {
            char err[1400];
            if (ck_op_list_parse(v, o->op_filter, err, sizeof err))
                return cli_usage_error("ckbench bench", "%s", err);
        } else if (!strcmp(a, "--min-time")) {
            if (parse_double(v, &o->min_time))
                return cli_usage_error("ckbench bench", "--min-time: expected seconds > 0, found '%s'", v);
        } else if (!strcmp(a, "--repetitions")) {
            if (cli_parse_int(v, 1, 1000, &o->repetitions))
                return cli_usage_error("ckbench bench", "--repetitions: expected 1..1000, found '%s'", v);
        } else if (!strcmp(a, "--scalar-budget")) {
            if (parse_double(v, &o->scalar_budget_flops))
                return cli_usage_error("ckbench bench", "--scalar-budget: expected flops > 0, found '%s'", v);
        } else if (!strcmp(a, "--weight-dtype")) {
            o->weight_dtype = ck_dtype_from_name(v);
            if (o->weight_dtype == CK_DTYPE_NONE || o->weight_dtype == CK_DTYPE_I32)
                return cli_usage_error("ckbench bench",
                                       "--weight-dtype: expected f32, bf16, f16, q8_0 or q4_0, found '%s'", v);
        } else if (!strcmp(a, "--weights")) {
            /* the old spelling of the dtype here; --weights is a weight source in run and diverge */
            return cli_usage_error("ckbench bench",
                                   "--weights is the weight source (a .gguf file, run and diverge) in every "
                                   "command; the weight dtype is --weight-dtype, e.g. '--weight-dtype %s'",
                                   ck_dtype_from_name(v) ? v : "q8_0");
        } else if (!strcmp(a, "--compute")) {
            if (ck_compute_from_name(v, &o->compute))
                return cli_usage_error("ckbench bench", "--compute: expected f32 or bf16, found '%s'", v);
        } else if (!strcmp(a, "--out")) {
            o->out_path = v;
        } else if (!strcmp(a, "--parity-json")) {
            o->parity_json = v;
        } else {
            int taken = cli_phase_option(a, v, o);
            if (taken < 0)
                return cli_usage_error("ckbench bench", "unknown option '%s'", a);
            if (taken)
                return taken;
        }
    }
    if (!o->n_plugins)
        return cli_usage_error("ckbench bench", "%s", "--plugin is required");
    if (!o->model_path)
        return cli_usage_error("ckbench bench", "%s", "--model is required");
    return 0;
}

int ck_cmd_bench(int argc, char **argv)
{
    ck_bench_opts o;
    ck_bench_opts_default(&o);
    int rc = cli_parse_bench_args(argc, argv, 1, &o);
    if (rc == -1) {
        bench_usage(stdout);
        return 0;
    }
    if (rc)
        return rc;
    if (o.e2e)
        return cli_bench_e2e(&o, NULL);
    /* the per-op table times each plugin's own kernels; a chain is a way to run the whole model */
    for (int i = 0; i < o.n_plugins; i++)
        if (ck_chain_spec(o.plugins[i]))
            return cli_usage_error("ckbench bench",
                                   "--plugin '%s': a chain (P1+P2) runs with --e2e only; the per-op table times "
                                   "each plugin's own kernels (list them: P1,P2)",
                                   o.plugins[i]);
    ck_progress prog;
    ck_progress_start(&prog, "bench", 0);
    o.progress = &prog;
    ck_bench_outcome out;
    rc = ck_bench_run(&o, &out);
    ck_progress_finish(&prog);
    if (rc != 2 && o.md)
        cli_print_md(&out);
    else if (rc != 2)
        cli_print_outcome(&out);
    ck_bench_outcome_free(&out);
    return rc;
}
