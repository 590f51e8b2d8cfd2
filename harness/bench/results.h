/* results.h — the result files of a bench run.
 *
 * results/<date>-<time>-<host>-<plugin>-<model>.json is the JSON Google Benchmark
 * wrote for the run (so its tools/compare.py diffs two runs), with one object
 * added to its "context": "ckbench" — git commit, CPU model and flags,
 * compiler, plugin versions, threads, roofs, the counter sets and why one is
 * missing, parity verdicts and, per benchmark, the derived figures (GB/s,
 * GFLOP/s, intensity, % of roof, speedup over scalar and how scalar was
 * measured), the counters per timed iteration (null where not counted) and
 * what they say (noisy, faults, idle threads). Next to it, the same rows as
 * CSV. */
#ifndef CK_RESULTS_H
#define CK_RESULTS_H

#include <stddef.h>

#include "bench_runner.h"
#include "calibrate.h"

typedef struct ck_results_info {
    const char *plugin, *plugin_version, *plugin_path;
    const char *scalar_version; /* the reference plugin's version, or NULL */
    const char *model, *model_path;
    const int *threads;
    int n_threads;
    double min_time;
    int repetitions;
    double scalar_budget_flops;
    const ck_roofs *roofs; /* NULL: not calibrated */
    const char *roofs_path;
    const ck_counters_why *counters; /* which counter sets were read; NULL: none tried */
    const char *parity_json;         /* a parity report file to summarise, or NULL */
    int partial;                     /* 1: interrupted; rows after the interrupt say so */
    const char *compute;             /* the run's compute type ("f32", "bf16"); NULL: f32 */
    const ck_mem_probe *probe;       /* the DRAM read around the rows; NULL: none */
} ck_results_info;

/* dir/<date>-<HHMMSS>-<host>-<plugin>-<model>.json in UTC (names made
 * file-safe), with -2, -3, ... before .json when a file of that stem (.json,
 * .csv, .parity.json) exists already. */
void ck_results_default_path(char *buf, size_t len, const char *dir, const char *plugin, const char *model);

/* The CSV path for a JSON path: ".json" replaced by ".csv" (or appended). */
void ck_results_csv_path(char *buf, size_t len, const char *json_path);

/* Merge Google Benchmark's JSON (gb_json, read then left alone) with the
 * ckbench block into out_json, and write the CSV next to it. Both are written
 * to temporary files and renamed, so nothing is left half-written. 0 on
 * success; -1 with one line in err. */
int ck_results_write(const char *gb_json, const char *out_json, const ck_results_info *info, const ck_bench_row *rows,
                     size_t n_rows, char *err, size_t err_len);

/* results_roofline.c: a row's roofline members into its JSON object; and
 * phase, cache and memory level into each Google Benchmark entry of doc
 * (returns how many were tagged). */
void ck_results_row_roofline(cJSON *o, const ck_bench_row *r);
int ck_results_tag_benchmarks(cJSON *doc, const ck_bench_row *rows, size_t n);
/* The run's DRAM read probe (mem_probe.h) as the context's "dram_probe". */
cJSON *ck_results_probe_json(const ck_mem_probe *p);

#endif
