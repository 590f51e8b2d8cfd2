/* ckbench calibrate — measure and save this machine's roofs (bench/calibrate.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/term.h"
#include "bench/bench_runner.h"
#include "bench/calibrate.h"
#include "bench/results.h"
#include "ck_host.h"
#include "cli_bench.h"
#include "commands.h"
#include "common/sysinfo.h"

/* ---- ckbench calibrate -------------------------------------------------------------- */

static void print_roofs(const ck_roofs *r, const char *path)
{
    printf("roofs of %s (%s), %d threads, measured %s (%s, load %.1f on %d CPUs)\n", r->host, r->cpu, r->threads,
           r->measured_at, r->mode == CK_ROOFS_QUICK ? "quick" : "full", r->load_avg, r->cpus);
    printf("  stream triad (3 x %zu MiB arrays): %.1f GB/s on 1 thread, %.1f GB/s on %d\n", r->triad_array_bytes >> 20,
           r->triad_gbs[0], r->triad_gbs[1], r->threads);
    for (int isa = 0; isa < CK_ISA_COUNT; isa++)
        if (r->peak_gflops[isa][0] > 0)
            printf("  %-6s FMA peak: %8.1f GFLOP/s on 1 thread, %8.1f on %d (ridge %.1f flop/B)\n", ck_isa_name(isa),
                   r->peak_gflops[isa][0], r->peak_gflops[isa][1], r->threads,
                   r->peak_gflops[isa][1] / r->triad_gbs[1]);
    for (int k = 0; k < CK_DOT_COUNT; k++)
        if (r->dot_gops[k][0] > 0)
            printf("  %-6s dot peak: %8.1f GOP/s on 1 thread, %8.1f on %d\n", ck_dot_name(k), r->dot_gops[k][0],
                   r->dot_gops[k][1], r->threads);
    for (int lv = 0; r->have_levels && lv < CK_MEM_COUNT; lv++) {
        const ck_mem_level *l = &r->level[lv];
        if (l->read_gbs[0] > 0)
            printf("  %-4s (%6zu KiB per thread): read %7.1f / %7.1f GB/s, triad %7.1f / %7.1f GB/s (1 / %d threads)\n",
                   ck_mem_level_name(lv), l->set_bytes >> 10, l->read_gbs[0], l->read_gbs[1], l->triad_gbs[0],
                   l->triad_gbs[1], r->threads);
        if (l->update_gbs[0] > 0)
            printf("  %-4s copy %7.1f / %7.1f GB/s, update in place %7.1f / %7.1f GB/s (read + write); the triad\n"
                   "       and the copy: the better of plain and streaming stores\n",
                   ck_mem_level_name(lv), l->copy_gbs[0], l->copy_gbs[1], l->update_gbs[0], l->update_gbs[1]);
    }
    if (!r->have_levels)
        printf("  per-level bandwidth: not measured (the system does not say its cache sizes)\n");
    if (r->apart_ns > 0)
        printf("  threads: the %d sat %.0f ns apart (a cache line, one way) as they read DRAM; on a VM the host\n"
               "  moves them, and the read on %d threads moves with it (bench says when its threads sit elsewhere)\n",
               r->threads, r->apart_ns, r->threads);
    if (path)
        printf("saved: %s\n", path);
    char why[200];
    if (ck_roofs_doubtful(r, (long long)time(NULL), why, sizeof why))
        printf("note: these roofs are %s; bench will say so on every run until 'ckbench calibrate'\n"
               "  (without --quick, on a quiet machine) measures them again.\n",
               why);
}

/* Measure and save; the headline uses it too (quick). */
int cli_calibrate_and_save(int threads, int quick, const char *out_path, ck_roofs *r)
{
    char err[CK_ERR_LEN], dir[4096], path[4200];
    if (out_path) {
        snprintf(path, sizeof path, "%s", out_path);
    } else {
        if (ck_sys_results_dir(dir, sizeof dir, err, sizeof err) != 0) {
            fprintf(stderr, "ckbench calibrate: %s\n", err);
            return 2;
        }
        ck_roofs_path(path, sizeof path, dir);
    }
    ck_progress prog;
    ck_progress_start(&prog, "calibrate", 0);
    int failed = ck_roofs_measure(r, threads, quick, &prog, err, sizeof err);
    ck_progress_finish(&prog);
    if (failed || ck_roofs_save(r, path, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench calibrate: %s\n", err);
        return 2;
    }
    print_roofs(r, path);
    return 0;
}

int ck_cmd_calibrate(int argc, char **argv)
{
    int threads = 0, quick = 0;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: ckbench calibrate [--threads N] [--quick] [--out FILE]\n\n"
                   "Measures this machine's roofs: stream-triad bandwidth (three arrays of 4x the last-level\n"
                   "cache each) on 1 thread and on N (default: all CPUs), read and triad bandwidth at L1, L2, L3\n"
                   "and DRAM working sets, the peak FMA rate of each ISA the CPU has (scalar, AVX2, AVX-512) with\n"
                   "register-resident FMA chains, and the int8 (VNNI) and bf16 (vdpbf16ps, the compute-bf16 roof)\n"
                   "dot-product peaks. Saves them to results/roofs-<host>-<cpu>-<date>-<HHMMSS>.json (or FILE);\n"
                   "'ckbench bench' reads the newest. --quick: shorter timing, for a first estimate. The file\n"
                   "records the mode, the load and the time; bench warns about roofs that are quick, loaded or\n"
                   "older than a day.\n");
            return 0;
        } else if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_option_value(argc, argv, &i)) || cli_parse_int(v, 1, 1024, &threads))
                return cli_usage_error("ckbench calibrate", "--threads: expected 1..1024, found '%s'", v ? v : "");
        } else if (!strcmp(a, "--out")) {
            if (!(out = cli_option_value(argc, argv, &i)))
                return cli_usage_error("ckbench calibrate", "%s", "--out: expected a file name");
        } else {
            return cli_usage_error("ckbench calibrate", "unknown option '%s'", a);
        }
    }
    ck_roofs r;
    return cli_calibrate_and_save(threads, quick, out, &r);
}
