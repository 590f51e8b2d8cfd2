/* Where a run's threads sit (bench/placement.h): on a VM the host moves the
 * vCPUs between one L3 and two dies, and the DRAM read of several threads
 * moves with them, so calibrate records where its threads sat, each probe
 * of a bench run measures it again, and a run whose threads sat elsewhere
 * than at calibration, or moved between its probes, is named. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_runner.h"
#include "bench/calibrate.h"
#include "bench/mem_probe.h"
#include "bench/placement.h"
#include "common/sysinfo.h"

TestSuite(placement, .timeout = 60);

Test(placement, one_thread_is_nowhere_apart_and_more_threads_than_cpus_are_not_measured)
{
    cr_expect_eq(ck_threads_apart_ns(1), 0.0);
    cr_expect_eq(ck_threads_apart_ns(0), 0.0);
    cr_expect_eq(ck_threads_apart_ns(ck_sys_ncpus() + 1), 0.0, "a member without a CPU would spin a time slice");
}

/* A cache line between two cores takes tens to hundreds of ns on any
 * machine this runs on; a millisecond would be a broken measurement, and
 * 0 every time one that never measures (0 alone: a member was off its CPU,
 * which other tests running beside this one may cause now and then). */
Test(placement, two_threads_are_a_cache_line_apart)
{
    if (ck_sys_ncpus() < 2)
        cr_skip_test("one CPU");
    double ns = 0;
    for (int i = 0; i < 50 && ns == 0; i++) {
        ns = ck_threads_apart_ns(2);
        if (ns == 0)
            usleep(20000);
    }
    cr_expect(ns > 1.0 && ns < 10000.0, "one way %g ns", ns);
}

Test(placement, distances_two_fold_apart_are_two_places)
{
    cr_expect_eq(ck_apart_moved(30, 170), 1, "one L3, then two dies");
    cr_expect_eq(ck_apart_moved(170, 30), 1);
    cr_expect_eq(ck_apart_moved(30, 45), 0, "the same place, measured twice");
    cr_expect_eq(ck_apart_moved(30, 60), 0, "exactly the ratio is not past it");
    cr_expect_eq(ck_apart_moved(30, 61), 1);
    cr_expect_eq(ck_apart_moved(0, 170), 0, "unknown is no move");
    cr_expect_eq(ck_apart_moved(170, 0), 0);
}

static ck_mem_probe probe(double before, double after, double roof)
{
    ck_mem_probe p = {.n = 1, .threads = {2}, .start_gbs = {30}, .end_gbs = {40}, .roof_gbs = {35}};
    p.start_apart_ns[0] = before, p.end_apart_ns[0] = after, p.roof_apart_ns[0] = roof;
    return p;
}

Test(placement, a_probe_names_a_move_between_its_reads_and_one_since_calibration)
{
    char why[200];
    ck_mem_probe p = probe(30, 32, 35);
    cr_expect_eq(ck_mem_probe_moved(&p, 0, why, sizeof why), 0, "%s", why);
    cr_expect_str_empty(why);
    p = probe(160, 30, 35);
    cr_expect_eq(ck_mem_probe_moved(&p, 0, why, sizeof why), 1);
    cr_expect(strstr(why, "moved the 2 threads between the reads (160 ns apart before, 30 after)"), "%s", why);
    p = probe(170, 165, 30);
    cr_expect_eq(ck_mem_probe_moved(&p, 0, why, sizeof why), 1);
    cr_expect(strstr(why, "sat 170 ns apart, and 30 when the roofs were measured"), "%s", why);
    p = probe(170, 165, 0);
    cr_expect_eq(ck_mem_probe_moved(&p, 0, why, sizeof why), 0, "roofs of unknown placement: %s", why);
    p = probe(0, 0, 30);
    cr_expect_eq(ck_mem_probe_moved(&p, 0, why, sizeof why), 0, "one thread: %s", why);
}

/* Reads of two placements have no mean to put rows against. */
Test(placement, a_probe_whose_threads_moved_gives_no_ratio)
{
    ck_mem_probe p = probe(30, 32, 35);
    cr_expect_float_eq(ck_mem_probe_ratio(&p, 2), 35.0 / 35.0, 1e-12, "(30 + 40) / 2 against 35");
    p = probe(30, 160, 35);
    cr_expect_eq(ck_mem_probe_ratio(&p, 2), 0.0);
}

/* The roofs file keeps where calibrate's threads sat; an older file, or a
 * value that is no distance, loads as unknown. */
Test(placement, the_roofs_file_keeps_where_the_threads_sat)
{
    char dir[64], path[128], err[512];
    snprintf(dir, sizeof dir, "/tmp/ck_placement_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/roofs.json", dir);
    ck_roofs r = {.threads = 2, .llc_bytes = 1u << 20, .triad_array_bytes = 4u << 20, .triad_gbs = {10, 18}}, back;
    r.peak_gflops[CK_ISA_SCALAR][0] = 20, r.peak_gflops[CK_ISA_SCALAR][1] = 40;
    snprintf(r.measured_at, sizeof r.measured_at, "2026-12-07T00:00:00Z");
    r.apart_ns = 171.5;
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_expect_float_eq(back.apart_ns, 171.5, 1e-9);
    r.apart_ns = 0;
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(back.apart_ns, 0.0, "not measured: not written, loads as unknown");
    FILE *f = fopen(path, "r+");
    cr_assert_not_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    char *brace = strchr(text, '{');
    cr_assert_not_null(brace);
    char edited[8300];
    snprintf(edited, sizeof edited, "{\"threads_apart_ns\": -5, %s", brace + 1);
    rewind(f);
    cr_assert(fputs(edited, f) >= 0);
    fclose(f);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(back.apart_ns, 0.0, "a negative distance is unknown");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* A row's own placement, measured before and after its timing: a move in
 * between makes it noisy, and a cold row above its DRAM roof whose threads
 * sat farther apart than calibrate's is told why. */
static ck_bench_row dram_row(double before, double after)
{
    ck_bench_row r = {.op = CK_OP_LINEAR, .threads = 2, .bytes = 40e6, .flops = 40e6, .cache = "cold", .copies = 8};
    r.time_ns = 40e6 / 45.0; /* 45 GB/s against a 35 GB/s roof */
    r.cv = -1;
    r.thread_use = NAN;
    for (int i = 0; i < CK_CTR_COUNT; i++)
        r.counters[i] = NAN;
    r.apart_ns[0] = before, r.apart_ns[1] = after;
    return r;
}

static ck_roofs roofs_at(double apart_ns)
{
    ck_roofs r = {.threads = 2, .llc_bytes = 32u << 20, .apart_ns = apart_ns, .have_levels = 1};
    const double read[CK_MEM_COUNT] = {500, 250, 100, 35};
    for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
        r.level[lv].read_gbs[0] = r.level[lv].read_gbs[1] = read[lv];
        r.level[lv].cache_bytes = lv < CK_MEM_DRAM ? (size_t)32 << (10 + 5 * lv) : 0;
    }
    r.peak_gflops[CK_ISA_AVX512][0] = r.peak_gflops[CK_ISA_AVX512][1] = 1000;
    return r;
}

Test(placement, a_row_whose_threads_moved_is_noisy_and_says_so)
{
    char notes[600];
    ck_bench_row r = dram_row(40, 42);
    ck_bench_row_judge(&r);
    cr_expect_eq(r.flags & CK_ROW_MOVED, 0u);
    r = dram_row(40, 160);
    ck_bench_row_judge(&r);
    cr_expect_eq(r.flags & CK_ROW_MOVED, CK_ROW_MOVED);
    cr_expect(r.flags & CK_ROW_NOISY, "a move is noise");
    ck_bench_row_notes(&r, notes, sizeof notes);
    cr_expect(strstr(notes, "the host moved the threads during it (40 ns apart before, 160 after)"), "%s", notes);
}

Test(placement, a_row_above_dram_names_the_placement_when_it_differs_from_calibration)
{
    ck_roofs roofs = roofs_at(40);
    ck_bench_row r = dram_row(160, 158);
    ck_roofline_apply(&r, &roofs, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(r.roof_pct > 105, "%g%%", r.roof_pct);
    cr_expect(strstr(r.roof_flag, "its threads sat 160 ns apart, 40 when the roofs were measured"), "%s", r.roof_flag);
    r = dram_row(42, 44); /* where calibrate sat: the other reasons */
    ck_roofline_apply(&r, &roofs, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_expect(strstr(r.roof_flag, "streaming stores"), "%s", r.roof_flag);
    roofs = roofs_at(160); /* closer than calibrate: less bandwidth, no excuse for more */
    r = dram_row(40, 40);
    ck_roofline_apply(&r, &roofs, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_expect(!strstr(r.roof_flag, "sat"), "%s", r.roof_flag);
    roofs = roofs_at(0); /* an older roofs file: placement unknown */
    r = dram_row(160, 160);
    ck_roofline_apply(&r, &roofs, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_expect(!strstr(r.roof_flag, "sat"), "%s", r.roof_flag);
}
