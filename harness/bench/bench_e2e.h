/* bench_e2e.h — `ckbench bench --e2e`: the whole model through the runtime
 * in its one allocation, as llama-bench measures it: prefill of pp prompt
 * tokens (pp512) and a greedy generation loop of tg tokens that appends each
 * token's k and v to the KV cache (tg128); tokens per second with the spread
 * over repetitions, and where the time goes (per op kind, per section). */
#ifndef CK_BENCH_E2E_H
#define CK_BENCH_E2E_H

#include <stddef.h>

#include "bench_runner.h"
#include "calibrate.h"
#include "ck_ir.h"

enum { CK_E2E_PP = 0, CK_E2E_TG = 1 };

typedef struct ck_e2e_phase {
    size_t tokens;                       /* pp or tg */
    double tps_median, tps_min, tps_max; /* tokens per second over the repetitions */
    double ns_median;                    /* the whole phase */
    double op_ns[CK_OP_COUNT + 16];      /* profile, summed over repetitions (fused ops included) */
    double section_ns[CK_MAX_SECTIONS];
    double ideal_bytes; /* pp: one forward; tg: one token at the middle position, weights + KV */
    double ideal_ns;    /* pp: sum over nodes of max(bytes at their level's bandwidth, flops at the peak of
                         * the arithmetic their kernel uses); 0 without roofs */
} ck_e2e_phase;

typedef struct ck_e2e_result {
    char plugin[64];                  /* a plugin or a chain, "quant+avx512" */
    char op_by[CK_OP_COUNT + 16][48]; /* per op kind, the plugins whose kernels ran it ("scalar" a fallback) */
    int threads;
    size_t n_sections;
    char section_names[CK_MAX_SECTIONS][32];
    size_t tg_from; /* the generation starts at this position (= pp) */
    ck_e2e_phase phase[2];
    /* the DRAM read measured before and after the run (mem_probe.h) and the
     * calibrated read at its thread count; 0: not probed */
    double dram_before_gbs, dram_after_gbs, dram_roof_gbs;
    double dram_ratio; /* ck_mem_probe_ratio of those reads; 0: not probed, or the host moved the
                        * threads between them (no one read to put the run against) */
    /* one-way ns between the threads at each read and at the calibration
     * (placement.h); 0 unknown; dram_moved: ck_mem_probe_moved's sentence,
     * "" when they sat in one place */
    double dram_before_apart_ns, dram_after_apart_ns, dram_roof_apart_ns;
    char dram_moved[200];
} ck_e2e_result;

/* The headline's short sample (o->e2e_short): the first layer of each
 * section, pp and tg at most these by default, so that `make run` grows by
 * seconds, not the minutes that seeding every layer of a 7B model takes. */
#define CK_E2E_SHORT_PP 16
#define CK_E2E_SHORT_TG 4

/* pp and tg default (0) to min(512, seq_len / 2) and min(128, seq_len - pp)
 * of the decoder (CK_E2E_SHORT_* with o->e2e_short). 0, 1 (a step failed), 2 bad input; one line in err. */
int ck_e2e_run(const ck_bench_opts *o, const char *plugin, int threads, const ck_roofs *roofs, ck_e2e_result *res,
               char *err, size_t err_len);

/* The result file of n results of one plugin (bench_e2e_file.c): Google
 * Benchmark's shape plus context.ckbench with an "e2e" array; written to
 * --out or results/<date>-<host>-<plugin>-e2e-<model>.json, whose path goes
 * to json_path. 0, or -1 with one line in err. */
int ck_e2e_write(const ck_bench_opts *o, const ck_e2e_result *res, size_t n, const char *model, char *json_path,
                 size_t path_len, char *err, size_t err_len);

#endif
