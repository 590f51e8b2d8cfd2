/* The cache-aware roofline without timing anything: roofs files with memory
 * levels and dot-product peaks (and those from before them), the level a
 * working set lives in, a row's ideal time, arithmetic and flag, the
 * time-weighted fraction of a phase, and how many cold copies are made. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_cold.h"
#include "bench/bench_runner.h"
#include "bench/calibrate.h"

static void temp_path(char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "/tmp/ck-test-roofline-%d-%s", (int)getpid(), suffix);
}

/* L1 48 KiB and L2 1 MiB per core, L3 32 MiB shared, two threads. */
static ck_roofs levels(void)
{
    ck_roofs r = {.threads = 2, .llc_bytes = 32u << 20, .triad_array_bytes = 128u << 20, .triad_gbs = {20, 40}};
    const size_t cache[CK_MEM_COUNT] = {48u << 10, 1u << 20, 32u << 20, 0};
    const double read[CK_MEM_COUNT] = {500, 250, 100, 40};
    for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
        r.level[lv] = (ck_mem_level){.cache_bytes = cache[lv], .shared = lv == CK_MEM_L3, .set_bytes = cache[lv] / 2};
        r.level[lv].read_gbs[0] = read[lv];
        r.level[lv].read_gbs[1] = 2 * read[lv];
        r.level[lv].triad_gbs[0] = read[lv] / 2; /* read is the better: the roof */
        r.level[lv].triad_gbs[1] = read[lv];
    }
    r.level[CK_MEM_DRAM].set_bytes = 64u << 20;
    r.have_levels = 1;
    r.peak_gflops[CK_ISA_AVX512][0] = 100;
    r.peak_gflops[CK_ISA_AVX512][1] = 200;
    r.dot_gops[CK_DOT_INT8][0] = 400;
    r.dot_gops[CK_DOT_INT8][1] = 800;
    return r;
}

Test(roofline, levels_and_dot_peaks_survive_the_file)
{
    ck_roofs r = levels(), back;
    char path[256], err[512];
    temp_path(path, sizeof path, "roofs.json");
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    remove(path);
    cr_assert(back.have_levels);
    for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
        cr_assert_eq(back.level[lv].cache_bytes, r.level[lv].cache_bytes, "%s capacity", ck_mem_level_name(lv));
        cr_assert_eq(back.level[lv].shared, r.level[lv].shared);
        cr_assert_float_eq(back.level[lv].read_gbs[1], r.level[lv].read_gbs[1], 1e-9);
        cr_assert_float_eq(back.level[lv].triad_gbs[0], r.level[lv].triad_gbs[0], 1e-9);
    }
    cr_assert_float_eq(back.dot_gops[CK_DOT_INT8][1], 800, 1e-9);
    cr_assert_float_eq(back.dot_gops[CK_DOT_BF16][0], 0, 0, "a dot product not measured stays 0");
}

Test(roofline, a_roofs_file_from_before_levels_loads_as_dram_only)
{
    char path[256], err[512];
    temp_path(path, sizeof path, "old-roofs.json");
    FILE *f = fopen(path, "w");
    fputs("{\"threads\": 2, \"llc_bytes\": 33554432, \"triad_array_bytes\": 134217728,"
          " \"stream_triad_gbs\": {\"one_thread\": 20, \"all_threads\": 40},"
          " \"peak_fma_gflops\": {\"avx2\": {\"one_thread\": 100, \"all_threads\": 190}}}",
          f);
    fclose(f);
    ck_roofs r;
    cr_assert_eq(ck_roofs_load(&r, path, err, sizeof err), 0, "%s", err);
    remove(path);
    cr_assert_not(r.have_levels);
    cr_assert_eq(ck_roofs_level_of(&r, 1000, 1), CK_MEM_DRAM, "no levels: everything is compared with DRAM");
    cr_assert_float_eq(ck_roofs_level_gbs(&r, CK_MEM_DRAM, 2), 40, 1e-9, "DRAM is the triad");
    cr_assert_float_eq(ck_roofs_level_gbs(&r, CK_MEM_L1, 1), 0, 0);
    /* and a row above it says to calibrate */
    ck_bench_row row = {.op = CK_OP_ADD, .threads = 1, .bytes = 4e6, .flops = 1e6, .time_ns = 1e4, .cache = "hot"};
    ck_roofline_apply(&row, &r, CK_ISA_AVX2, CK_DTYPE_F32);
    cr_assert_gt(row.roof_pct, 105);
    cr_assert(strstr(row.roof_flag, "run ckbench calibrate"), "flag: %s", row.roof_flag);
}

Test(roofline, a_bad_level_is_refused_naming_the_field)
{
    char path[256], err[512];
    temp_path(path, sizeof path, "bad-level.json");
    FILE *f = fopen(path, "w");
    fputs("{\"threads\": 2, \"llc_bytes\": 1, \"triad_array_bytes\": 1,"
          " \"stream_triad_gbs\": {\"one_thread\": 20, \"all_threads\": 40}, \"peak_fma_gflops\": {},"
          " \"memory_levels\": {\"L2\": {\"cache_bytes\": 1048576, \"set_bytes\": 524288,"
          " \"read_gbs\": {\"one_thread\": 200, \"all_threads\": \"fast\"},"
          " \"triad_gbs\": {\"one_thread\": 100, \"all_threads\": 200}}}}",
          f);
    fclose(f);
    ck_roofs r;
    cr_assert_eq(ck_roofs_load(&r, path, err, sizeof err), -1);
    remove(path);
    cr_assert(strstr(err, path) && strstr(err, "memory_levels.L2.read_gbs.all_threads") && !strchr(err, '\n'),
              "err: %s", err);
}

Test(roofline, a_working_set_lives_in_the_first_level_that_holds_it)
{
    ck_roofs r = levels();
    cr_assert_eq(ck_roofs_level_of(&r, 30e3, 1), CK_MEM_L1);
    cr_assert_eq(ck_roofs_level_of(&r, 60e3, 1), CK_MEM_L2, "60 KB spills one L1");
    cr_assert_eq(ck_roofs_level_of(&r, 60e3, 2), CK_MEM_L1, "but fits two private L1s");
    cr_assert_eq(ck_roofs_level_of(&r, 20e6, 2), CK_MEM_L3, "the shared L3 counts once");
    cr_assert_eq(ck_roofs_level_of(&r, 40e6, 2), CK_MEM_DRAM);
    cr_assert_float_eq(ck_roofs_level_gbs(&r, CK_MEM_L2, 1), 250, 1e-9, "the better of read and triad");
    cr_assert_float_eq(ck_roofs_level_gbs(&r, CK_MEM_L2, 2), 500, 1e-9);
}

Test(roofline, a_row_is_compared_with_its_level_and_its_arithmetic)
{
    ck_roofs r = levels();
    /* hot, 500 KB in L2 at 250 GB/s: 2000 ns ideal; measured 4000 ns: 50% */
    ck_bench_row hot = {.op = CK_OP_ADD, .threads = 1, .bytes = 500e3, .flops = 1e5, .time_ns = 4000, .cache = "hot"};
    ck_roofline_apply(&hot, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_eq(hot.mem_level, CK_MEM_L2);
    cr_assert_str_eq(hot.bound, "memory");
    cr_assert_float_eq(hot.ideal_ns, 2000, 1e-6);
    cr_assert_float_eq(hot.roof_pct, 50, 1e-9);
    cr_assert_str_eq(hot.roof_flag, "", "below 105%%: no flag");
    /* the same row cold: DRAM at 40 GB/s, ideal 12500 ns, above it by far */
    ck_bench_row cold = hot;
    cold.cache = "cold";
    ck_roofline_apply(&cold, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_eq(cold.mem_level, CK_MEM_DRAM);
    cr_assert_float_eq(cold.roof_pct, 312.5, 1e-9);
    cr_assert(strstr(cold.roof_flag, "DRAM"), "flag: %s", cold.roof_flag);
    cr_assert(!strstr(cold.roof_flag, "streaming"), "312%%, beyond what skipped write-allocates give: %s",
              cold.roof_flag);
    /* 120%: within the 4/3 that streaming stores can gain on the triad */
    ck_bench_row nt = cold;
    nt.time_ns = 12500 / 1.2;
    ck_roofline_apply(&nt, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(nt.roof_flag, "streaming stores"), "flag: %s", nt.roof_flag);
    /* an in-place update (rope's q and k) writes back beside its reads: up
     * to 2x the read roof, and no further */
    ck_bench_row upd = cold;
    upd.updated = upd.bytes / 2; /* all of it: read and written */
    upd.time_ns = 12500 / 1.6;
    ck_roofline_apply(&upd, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(upd.roof_flag, "in-place update"), "flag: %s", upd.roof_flag);
    upd.time_ns = 12500 / 2.5;
    ck_roofline_apply(&upd, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(upd.roof_flag, "still hit the last-level cache") && !strstr(upd.roof_flag, "in-place"),
              "250%%, beyond what write-backs give: %s", upd.roof_flag);
    /* copies counted by a case's whole buffers (2 MiB of rope tables) while
     * the op reads 500 KB of each: 20 copies rotate 10 MB, inside the 32 MiB
     * LLC, and the flag says so with the figures */
    ck_bench_row tab = cold;
    tab.copies = 20, tab.case_bytes = 2u << 20;
    ck_roofline_apply(&tab, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(tab.roof_flag, "reads 488 KiB of each 2048 KiB copy, so its 20 copies rotate 9.5 MiB, within "
                                    "the last-level cache (32 MiB)"),
              "flag: %s", tab.roof_flag);
    tab.copies = 200; /* 100 MB: past the LLC, the other reasons */
    ck_roofline_apply(&tab, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(!strstr(tab.roof_flag, "copy, so its"), "flag: %s", tab.roof_flag);
    nt.time_ns = 12500 / 1.6; /* not in place: the copies */
    ck_roofline_apply(&nt, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(nt.roof_flag, "still hit the last-level cache") && !strstr(nt.roof_flag, "in-place"), "flag: %s",
              nt.roof_flag);
    cold.copies = 1; /* an embedding table read one row at a time: the row stays cached */
    ck_roofline_apply(&cold, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(cold.roof_flag, "one copy"), "flag: %s", cold.roof_flag);
    /* quick or loaded roofs are named first: they are low more often than a kernel is fast */
    ck_roofs quick = r;
    quick.mode = CK_ROOFS_QUICK;
    ck_roofline_apply(&cold, &quick, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(cold.roof_flag, "roofs a quick measurement") == cold.roof_flag &&
                  strstr(cold.roof_flag, "one copy"),
              "flag: %s", cold.roof_flag);
    ck_roofs loaded = r;
    loaded.mode = CK_ROOFS_FULL, loaded.cpus = 2, loaded.load_avg = 1.9;
    ck_roofline_apply(&cold, &loaded, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(cold.roof_flag, "roofs measured under load") == cold.roof_flag, "flag: %s", cold.roof_flag);
    loaded.load_avg = 0.2; /* quiet and full: the row's own reason alone */
    ck_roofline_apply(&cold, &loaded, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strncmp(cold.roof_flag, "above DRAM: one copy", 20) == 0, "flag: %s", cold.roof_flag);
    /* hot above its L2 roof: part of it stays in L1 */
    hot.time_ns = 1000;
    ck_roofline_apply(&hot, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(strstr(hot.roof_flag, "L1"), "flag: %s", hot.roof_flag);
    /* a q8_0 matmul: compute-bound against the int8 dot peak, not the FMA's */
    ck_bench_row q = {.op = CK_OP_LINEAR, .threads = 1, .bytes = 1e4, .flops = 4e6, .time_ns = 2e4, .cache = "hot"};
    ck_roofline_apply(&q, &r, CK_ISA_AVX512, CK_DTYPE_Q8_0);
    cr_assert_str_eq(q.arith, "int8");
    cr_assert_str_eq(q.bound, "compute");
    cr_assert_float_eq(q.ideal_ns, 1e4, 1e-6, "4e6 ops at 400 GOP/s");
    /* a bf16 matmul where no bf16 peak was measured: the ISA's FMA */
    ck_roofline_apply(&q, &r, CK_ISA_AVX512, CK_DTYPE_BF16);
    cr_assert_str_eq(q.arith, "avx512");
    cr_assert_float_eq(q.ideal_ns, 4e4, 1e-6);
    cr_assert(strstr(q.roof_flag, "avx512 peak"), "200%% of the FMA peak is flagged: %s", q.roof_flag);
}

Test(roofline, the_summary_weighs_rows_by_time)
{
    ck_bench_row rows[3] = {
        {.phase = "decode", .cache = "cold", .ideal_ns = 1, .time_ns = 1},    /* 100% */
        {.phase = "decode", .cache = "cold", .ideal_ns = 10, .time_ns = 100}, /* 10% */
        {.phase = "prefill", .cache = "hot", .ideal_ns = 50, .time_ns = 50},
    };
    double ideal, measured;
    double f = ck_roofline_fraction(rows, 3, "decode", NULL, &ideal, &measured);
    cr_assert_float_eq(f, 11.0 / 101.0, 1e-12, "sum of ideal / sum of measured, not the 55%% average");
    cr_assert_float_eq(ideal, 11, 1e-12);
    cr_assert_float_eq(measured, 101, 1e-12);
    cr_assert_float_eq(ck_roofline_fraction(rows, 3, "prefill", NULL, NULL, NULL), 1.0, 1e-12);
    cr_assert_float_eq(ck_roofline_fraction(rows, 3, NULL, NULL, NULL, NULL), 61.0 / 151.0, 1e-12);
    cr_assert_float_eq(ck_roofline_fraction(rows, 2, "prefill", NULL, NULL, NULL), 0, 0, "no rows: 0");
    cr_assert_float_eq(ck_roofline_fraction(rows, 3, NULL, "hot", NULL, NULL), 1.0, 1e-12, "by cache mode");
    cr_assert_float_eq(ck_roofline_fraction(rows, 3, "prefill", "cold", NULL, NULL), 0, 0);
}

Test(roofline, cold_copies_exceed_the_dram_set)
{
    size_t llc = 32u << 20;
    size_t n = ck_cold_copies(96u << 10, llc);
    cr_assert_eq(ck_dram_set_bytes(llc), 8 * llc, "the DRAM roof's set: 8x the cache");
    cr_assert_gt(n * (96u << 10), 8 * llc, "%zu copies", n);
    cr_assert_leq((n - 2) * (96u << 10), 8 * llc, "not many more than needed");
    cr_assert_eq(ck_cold_copies(300u << 20, llc), 1, "one copy alone is 8x the cache");
    cr_assert_geq(ck_cold_copies(200u << 20, llc), 2, "4x the cache is not enough");
    cr_assert_geq(ck_cold_copies(100u << 20, llc), 2, "never a call right after itself");
    cr_assert_eq(ck_cold_copies(64, llc), CK_COLD_MAX_COPIES, "capped");
}

/* A row against the DRAM read the run measured: the memory part of its ideal
 * scales with the probe's ratio, the compute part does not, and only DRAM
 * rows have one. */
Test(roofline, the_roof_now_scales_the_dram_part_only)
{
    ck_roofs r = levels();
    /* cold, 4 MB at 40 GB/s: 100000 ns; 1e6 flops at 100 GFLOP/s: 10000 ns */
    ck_bench_row row = {.op = CK_OP_ADD, .threads = 1, .bytes = 4e6, .flops = 1e6, .time_ns = 200000, .cache = "cold"};
    ck_roofline_apply(&row, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(row.roof_pct, 50, 1e-9);
    cr_assert_float_eq(row.compute_ns, 10000, 1e-6);
    ck_roofline_now(&row, 0.5); /* the memory gave half its roof: 200000 ns ideal */
    cr_assert_float_eq(row.now_pct, 100, 1e-9);
    ck_roofline_now(&row, 20.0); /* memory part 5000 ns, below the compute part */
    cr_assert_float_eq(row.now_pct, 5, 1e-9, "the compute part bounds it: %g", row.now_pct);
    ck_roofline_now(&row, 0);
    cr_assert_eq(row.now_pct, 0, "no probe, no figure");
    ck_bench_row heavy = row; /* 1e8 flops: 1 ms at the peak, compute-bound */
    heavy.flops = 1e8;
    ck_roofline_apply(&heavy, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_str_eq(heavy.bound, "compute");
    ck_roofline_now(&heavy, 0.5);
    cr_assert_eq(heavy.now_pct, 0, "a compute-bound row stays against its peak alone");
    ck_bench_row hot = row;
    hot.cache = "hot";
    hot.bytes = 500e3;
    ck_roofline_apply(&hot, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    ck_roofline_now(&hot, 0.5);
    cr_assert_eq(hot.now_pct, 0, "an L2 row is not against the DRAM read");
    /* time-weighted: 100% over 200000 ns and 50% over 100000 ns */
    ck_bench_row rows[2] = {row, row};
    ck_roofline_now(&rows[0], 0.5);
    rows[1].time_ns = 100000;
    rows[1].now_pct = 50;
    cr_assert_float_eq(ck_roofline_now_fraction(rows, 2, 1, NULL, NULL, NULL), (200000 + 50000) / 300000.0, 1e-12);
    cr_assert_eq(ck_roofline_now_fraction(rows, 2, 2, NULL, NULL, NULL), 0, "no rows at 2 threads");
}

/* "against that read" is against the read the probe measured: where
 * calibrate's triad came out above its read (the level's line is the better
 * of the two), scaling that line by the probe's ratio would put a row
 * against more than was measured; and a row that only reads is priced at
 * the read in the first place. */
Test(roofline, the_roof_now_is_the_measured_read_even_below_the_triad)
{
    ck_roofs r = levels();
    r.level[CK_MEM_DRAM].triad_gbs[0] = 50; /* read 40: streaming stores made the triad faster */
    cr_assert_float_eq(ck_roofs_level_gbs(&r, CK_MEM_DRAM, 1), 40, 1e-12,
                       "DRAM's line is its read: the triad would count the writes free");
    cr_assert_float_eq(ck_roofs_level_gbs(&r, CK_MEM_L3, 1), 100, 1e-12, "a cache level's the better of the two");
    r.level[CK_MEM_L3].triad_gbs[0] = 120;
    cr_assert_float_eq(ck_roofs_level_gbs(&r, CK_MEM_L3, 1), 120, 1e-12);
    cr_assert_float_eq(ck_roofs_dram_now_gbs(&r, 1, 0.5), 20, 1e-12, "half the calibrated read of 40");
    ck_bench_row row = {.op = CK_OP_ADD, .threads = 1, .bytes = 4e6, .flops = 1e3, .time_ns = 400000, .cache = "cold"};
    ck_roofline_apply(&row, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(row.roof_pct, 25, 1e-9, "4 MB read at the 40 GB/s read, not the triad's 50: 100000 ns");
    ck_roofline_now(&row, 0.5); /* 4 MB at 20 GB/s: 200000 ns */
    cr_assert_float_eq(row.now_pct, 50, 1e-9, "%g", row.now_pct);
    r.have_levels = 0; /* no read of its own: the roof scaled */
    cr_assert_float_eq(ck_roofs_dram_now_gbs(&r, 1, 0.5), 0.5 * ck_roofs_level_gbs(&r, CK_MEM_DRAM, 1), 1e-12);
}

/* The probe's ratio: the mean of before and after over the calibrated read;
 * one of them alone when the other is missing; 0 for a count not probed.
 * CK_PROBE=0 and roofs without levels take nothing and say why. */
Test(roofline, the_probe_ratio_and_why_it_was_not_taken)
{
    ck_mem_probe p = {.n = 2, .threads = {1, 2}, .start_gbs = {30, 60}, .end_gbs = {10, 0}, .roof_gbs = {40, 80}};
    cr_assert_float_eq(ck_mem_probe_ratio(&p, 1), 0.5, 1e-12);
    cr_assert_float_eq(ck_mem_probe_ratio(&p, 2), 0.75, 1e-12);
    cr_assert_eq(ck_mem_probe_ratio(&p, 4), 0);
    ck_mem_probe_advance(&p);
    cr_assert_float_eq(p.start_gbs[0], 10, 1e-12, "after becomes before");
    cr_assert_eq(p.end_gbs[0], 0);
    ck_roofs r = levels();
    int threads[1] = {1};
    setenv("CK_PROBE", "0", 1);
    ck_mem_probe_take(&p, &r, threads, 1, 0);
    cr_assert_eq(p.n, 0);
    cr_assert_str_eq(p.why_not, "CK_PROBE=0");
    unsetenv("CK_PROBE");
    r.have_levels = 0;
    ck_mem_probe_take(&p, &r, threads, 1, 0);
    cr_assert_eq(p.n, 0);
    cr_assert(strstr(p.why_not, "calibrate"), "why: %s", p.why_not);
}

/* At DRAM each part of a row's bytes is priced at what calibrate measured
 * for it (ck_cost.h, roofline.c): reads at the read, a new output line at
 * the triad's cost beyond its two reads, an update in place at the update
 * loop's; roof_bytes puts the row against the level's line. */
Test(roofline, dram_prices_reads_writes_and_updates_apart)
{
    ck_roofs r = levels();
    ck_mem_level *d = &r.level[CK_MEM_DRAM];
    d->read_gbs[0] = 40, d->triad_gbs[0] = 32, d->update_gbs[0] = 80;
    /* 1 MB read only, 1 MB written, 1 MB updated (counted twice): 25000 +
     * 1e6 (3/32 - 2/40) + 1e6 (2/80) = 25000 + 43750 + 25000 ns */
    ck_bench_row row = {.op = CK_OP_ADD,
                        .threads = 1,
                        .bytes = 4e6,
                        .written = 1e6,
                        .updated = 1e6,
                        .flops = 1e3,
                        .time_ns = 93750,
                        .cache = "cold"};
    ck_roofline_apply(&row, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(row.ideal_ns, 93750, 1e-6, "%g", row.ideal_ns);
    cr_assert_float_eq(row.roof_pct, 100, 1e-9);
    cr_assert_float_eq(row.roof_bytes, 93750 * 40, 1e-3, "the ideal time at DRAM's line (the read, 40 GB/s)");
    /* an in-place update at twice the read (rope on one Zen 4 core): at its
     * roof, and no flag */
    ck_bench_row upd = {.op = CK_OP_ROPE,
                        .threads = 1,
                        .bytes = 4e6,
                        .updated = 2e6,
                        .flops = 1e3,
                        .time_ns = 4e6 / 80,
                        .cache = "cold"};
    ck_roofline_apply(&upd, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(upd.roof_pct, 100, 1e-9);
    upd.time_ns = 4e6 / 80 / 1.5;
    ck_roofline_apply(&upd, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert(upd.roof_pct > 149 && !strstr(upd.roof_flag, "in-place"),
              "an update loop was measured: 150%% is not explained by write-backs: %s", upd.roof_flag);
    /* streaming stores making the triad faster than its two reads: a new
     * line costs nothing beyond them */
    d->triad_gbs[0] = 70;
    ck_roofline_apply(&row, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(row.ideal_ns, 25000 + 25000, 1e-6, "%g", row.ideal_ns);
    /* an older roofs file without the update loop: an updated byte is a read
     * and a written one, each at the read, and the in-place reason stands */
    d->update_gbs[0] = 0;
    upd.time_ns = 4e6 / 80;
    ck_roofline_apply(&upd, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(upd.ideal_ns, 4e6 / 40, 1e-6);
    cr_assert_float_eq(upd.roof_pct, 200, 1e-9, "%g", upd.roof_pct);
    cr_assert(strstr(upd.roof_flag, "in-place update"), "flag: %s", upd.roof_flag);
    /* a calibrated copy prices a write beside one read: a row of one read
     * per write at the copy's rate is at its roof; one of 1.5 reads per
     * write halfway between the copy's and the triad's price */
    d->triad_gbs[0] = 32, d->copy_gbs[0] = 25, d->update_gbs[0] = 80;
    ck_bench_row cp = {.op = CK_OP_GELU,
                       .threads = 1,
                       .bytes = 2e6,
                       .written = 1e6,
                       .flops = 1e3,
                       .time_ns = 2e6 / 25,
                       .cache = "cold"};
    ck_roofline_apply(&cp, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(cp.roof_pct, 100, 1e-9, "%g", cp.roof_pct);
    cp.bytes = 2.5e6; /* 1.5 MB read, 1 MB written */
    ck_roofline_apply(&cp, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    double w1 = 2 / 25.0 - 1 / 40.0, w2 = 3 / 32.0 - 2 / 40.0;
    cr_assert_float_eq(cp.ideal_ns, 1.5e6 / 40 + 1e6 * (w1 + w2) / 2, 1e-6, "%g", cp.ideal_ns);
    cp.bytes = 4e6; /* 3 reads per write: the triad's price */
    ck_roofline_apply(&cp, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    cr_assert_float_eq(cp.ideal_ns, 3e6 / 40 + 1e6 * w2, 1e-6, "%g", cp.ideal_ns);
    d->copy_gbs[0] = 0;
    d->triad_gbs[0] = 70;
    d->update_gbs[0] = 0;
    /* the probe's ratio scales every part */
    ck_roofline_apply(&row, &r, CK_ISA_AVX512, CK_DTYPE_F32);
    ck_roofline_now(&row, 0.5);
    cr_assert_float_eq(row.now_pct, 2 * row.roof_pct, 1e-9);
}

/* The update loop's figures survive the roofs file, and a file without them
 * loads with none (an older calibrate). */
Test(roofline, the_update_and_copy_loops_survive_the_file_and_may_be_missing)
{
    ck_roofs r = levels(), back;
    r.level[CK_MEM_DRAM].update_gbs[0] = 45, r.level[CK_MEM_DRAM].update_gbs[1] = 70;
    r.level[CK_MEM_DRAM].copy_gbs[0] = 33, r.level[CK_MEM_DRAM].copy_gbs[1] = 51;
    char path[256], err[512];
    temp_path(path, sizeof path, "update.json");
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(back.level[CK_MEM_DRAM].update_gbs[1], 70, 1e-9);
    cr_assert_float_eq(back.level[CK_MEM_DRAM].copy_gbs[0], 33, 1e-9);
    cr_assert_eq(back.level[CK_MEM_L1].update_gbs[0], 0, "measured at DRAM only");
    r.level[CK_MEM_DRAM].update_gbs[0] = r.level[CK_MEM_DRAM].update_gbs[1] = 0;
    r.level[CK_MEM_DRAM].copy_gbs[0] = r.level[CK_MEM_DRAM].copy_gbs[1] = 0;
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    remove(path);
    cr_assert_eq(back.level[CK_MEM_DRAM].update_gbs[0], 0);
    cr_assert_eq(back.level[CK_MEM_DRAM].copy_gbs[0], 0);
}
