/* bench_runner.h — `ckbench bench` without its command line: every distinct
 * op instance of a model, at its real shapes, timed through Google Benchmark
 * for each plugin and thread count, next to the scalar plugin measured in the
 * same run, and written as result files (results.h). The headline command
 * calls it too. */
#ifndef CK_BENCH_RUNNER_H
#define CK_BENCH_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "calibrate.h"
#include "ck_host.h"
#include "common/progress.h"
#include "counters.h"
#include "mem_probe.h"

#define CK_BENCH_MAX_PLUGINS 8
#define CK_BENCH_MAX_THREADS 8

/* Phases and cache modes, as bit sets in the options (0: the default). */
enum { CK_PHASE_PREFILL = 1, CK_PHASE_DECODE = 2 };
enum { CK_CACHE_COLD = 1, CK_CACHE_HOT = 2 };

typedef struct ck_bench_opts {
    const char *plugins[CK_BENCH_MAX_PLUGINS]; /* names or paths */
    int n_plugins;
    const char *model_path;
    unsigned weight_dtype;             /* 0: the model's own; else e.g. CK_DTYPE_Q8_0 for every weight */
    ck_compute compute;                /* --compute: bf16 takes the CK_KF_COMPUTE_BF16 linear / qkv kernels */
    int threads[CK_BENCH_MAX_THREADS]; /* one exec context per entry; <= 0: all CPUs */
    int n_threads;
    int op_filter[CK_OP_COUNT]; /* 1: bench this op; all 0: every op */
    double min_time;            /* seconds per benchmark (Google Benchmark) */
    int repetitions;
    const char *out_path;       /* NULL: results/<date>-<host>-<plugin>-<model>.json */
    const char *parity_json;    /* a parity report to summarise in the results, or NULL */
    double scalar_budget_flops; /* above this, scalar runs at a reduced T (scaled) */
    int no_scalar;              /* 1: no scalar reference, no speedup column */
    ck_progress *progress;      /* started by the caller (ck_progress_start), or NULL: none */
    int phases;                 /* CK_PHASE_* bits; 0: both */
    int cache;                  /* CK_CACHE_* bits; 0: cold for decode, both for prefill */
    long decode_pos;            /* decode: KV cache filled to this position; < 0: seq_len / 2 */
    int e2e;                    /* 1: the whole model (bench_e2e.h) instead of op instances */
    size_t e2e_pp, e2e_tg;      /* --pp, --tg; 0: the defaults */
    int e2e_short;              /* the headline's sample: the first layer of each section, default pp 16 and tg 4 */
    int md;                     /* 1: print the rows as a Markdown table (the cli's) */
} ck_bench_opts;

void ck_bench_opts_default(ck_bench_opts *o);

/* One op instance on one plugin at one thread count. */
typedef struct ck_bench_row {
    char name[256];  /* the Google Benchmark name */
    char shape[160]; /* ck_shape_describe */
    char label[64];  /* where in the model it comes from */
    char kernel[64]; /* the plugin's kernel name */
    uint32_t op;
    int threads;
    double time_ns; /* per call; 0 when not measured (see status) */
    double iterations;
    double bytes, flops;
    double written, updated; /* of bytes: new output lines; operands updated in place (ck_cost.h) */
    double gbs, gflops, intensity;
    const char *bound;             /* "memory" or "compute" (by intensity vs the ridge), NULL without roofs */
    double roof_pct;               /* % of the relevant roof; 0 without roofs */
    double scalar_ns;              /* scalar's time at this shape (measured, or scaled from scalar_T) */
    size_t scalar_T;               /* T scalar was measured at */
    int scalar_scaled;             /* 1: scalar_T is below the shape's T and scalar_ns was scaled */
    double speedup;                /* scalar_ns / time_ns; 0 when either is missing */
    char status[320];              /* "" when measured, else why not ("no kernel for ...", an error) */
    double counters[CK_CTR_COUNT]; /* per timed iteration (counters.h); NAN where not counted */
    double traffic_bytes;          /* last-level misses x line size per call; 0 without that counter */
    double cv;                     /* of the time over repetitions; < 0 without repetitions */
    double thread_use;             /* task clock / (time x threads); NAN without the task clock */
    unsigned flags;                /* CK_ROW_* (ck_bench_row_judge) */
    /* the cache-aware roofline (roofline.c) */
    const char *phase;   /* "prefill" or "decode" */
    const char *cache;   /* "cold" (operands rotated through copies) or "hot" */
    size_t copies;       /* cold: copies of the operands rotated through */
    int mem_level;       /* CK_MEM_*: where the working set lives (cold: DRAM) */
    const char *arith;   /* the compute roof: an ISA's FMA, "int8" or "bf16" dot */
    int compute_bf16;    /* ran a compute-bf16 kernel (CK_KF_COMPUTE_BF16): its roof is the bf16 dot peak */
    double ideal_ns;     /* max(bytes / level bandwidth, flops / peak); 0 without roofs */
    double compute_ns;   /* flops / peak, the compute part of ideal_ns */
    double mem_ns;       /* the memory part: bytes at the level's bandwidth (DRAM: each part at its own) */
    double roof_bytes;   /* mem_ns x the level's line bandwidth (ck_roofs_level_gbs): where the row sits
                          * against that line (= bytes but at DRAM, where writes are priced apart) */
    double now_pct;      /* DRAM-level rows: % of the roof scaled to the DRAM read the run measured
                          * around the row (mem_probe.h); 0 when not probed */
    char roof_flag[256]; /* "" unless the row is above 105% of its roof: why */
    double apart_ns[2];  /* one-way ns between its threads before and after its timing (placement.h: on a
                          * VM the host moves them, and the memory bandwidth with them); 0: one thread */
    size_t case_bytes;   /* cold: one copy's buffers (the op may read only a part of them: bytes) */
} ck_bench_row;

/* What the counters and repetitions say about a row. */
#define CK_ROW_SWITCHED 1u     /* preempted for a visible share of the time, or migrated: noisy */
#define CK_ROW_VARIES 2u       /* coefficient of variation over repetitions above CK_ROW_MAX_CV: noisy */
#define CK_ROW_FAULTS 4u       /* page faults in the timed loop: first touch or paging */
#define CK_ROW_THREADS_IDLE 8u /* the threads were on a CPU well under the wall time */
#define CK_ROW_MOVED 16u       /* the host moved the threads between places during the row: noisy */
#define CK_ROW_NOISY (CK_ROW_SWITCHED | CK_ROW_VARIES | CK_ROW_MOVED)
#define CK_ROW_MAX_CV 0.05
#define CK_ROW_MIN_THREAD_USE 0.8

/* Derive thread_use, traffic_bytes and flags from the row's time, threads,
 * counters and cv. */
void ck_bench_row_judge(ck_bench_row *r);

/* The flags in words, "; "-separated ("" for none): "noisy: 2 involuntary
 * context switches per iteration", "faults in its timed loop: first-touch or
 * paging (256 per iteration)", "threads idle: task clock / (wall x threads)
 * = 0.41". */
void ck_bench_row_notes(const ck_bench_row *r, char *buf, size_t len);

/* The rows of one plugin and where they were written. */
typedef struct ck_bench_plugin_result {
    char plugin[64];
    char version[64];
    int runnable;
    char why[CK_ERR_LEN + 64]; /* why it did not run */
    ck_bench_row *rows;
    size_t n_rows;
    char json_path[4096];
    char csv_path[4096];
    ck_mem_probe probe; /* the DRAM read measured before and after this plugin's rows */
} ck_bench_plugin_result;

typedef struct ck_bench_outcome {
    ck_bench_plugin_result plugins[CK_BENCH_MAX_PLUGINS];
    int n_plugins;
    char model[128];
    int have_roofs;
    ck_roofs roofs;
    char roofs_doubt[200];    /* why the roofs should be measured again (ck_roofs_doubtful), or "" */
    ck_counters_why counters; /* which counter sets were read, and why not */
    int any_scaled_scalar;    /* some scalar figure was measured at a reduced T */
    double load_avg;          /* the 1-minute load average when the run started; < 0 unknown */
    int interrupted;          /* SIGINT stopped it: the files hold the rows that finished, marked partial */
    ck_compute compute;       /* the run's compute type (--compute) */
    size_t decode_pos;        /* the decode rows' KV cache position */
    int n_cpus;
    ck_mem_probe probe; /* the latest DRAM read probe (before: the one before it) */
} ck_bench_outcome;

/* Run. Returns 0 when every plugin ran and every row was measured, 1 when a
 * plugin did not run or a kernel failed (the rest still ran and was written),
 * 2 on bad input (one line on stderr, nothing written). */
int ck_bench_run(const ck_bench_opts *o, ck_bench_outcome *out);
void ck_bench_outcome_free(ck_bench_outcome *out);

/* The roof of a measured row (roofline.c): level, arithmetic, ideal time,
 * bound, % of roof and the flag above 105%. `isa` is the plugin's. */
void ck_roofline_apply(ck_bench_row *r, const ck_roofs *roofs, int isa, uint32_t dtype);

/* ns to move `bytes` (of them `written` new output lines and `updated` in
 * place, counted twice: ck_cost.h) at a memory level: at DRAM each part at
 * what calibrate measured for it (roofline.c), elsewhere all at the level's
 * bandwidth; 0 without one. */
double ck_roofs_mem_ns(const ck_roofs *roofs, int level, int threads, double bytes, double written, double updated);

/* The DRAM read measured now, from the ratio of it to the calibrated read
 * (ck_mem_probe_ratio): DRAM's line, the calibrated read, scaled. Without
 * levels: the triad roof scaled. */
double ck_roofs_dram_now_gbs(const ck_roofs *roofs, int threads, double ratio);
/* now_pct: the row's memory part (mem_ns) scaled by ratio, the DRAM read
 * measured around it over the calibrated one, the compute part unchanged. Only rows bound by DRAM at the calibrated roofs have one; the
 * others, or ratio <= 0: now_pct 0. */
void ck_roofline_now(ck_bench_row *r, double ratio);

/* The time-weighted fraction of the now-scaled roof (now_pct) of the rows
 * that have one, at `threads` (<= 0: any) and of a phase and cache mode
 * (NULL: any); 0 if none. roof, when not NULL, gets the same rows'
 * fraction of their calibrated roof. */
double ck_roofline_now_fraction(const ck_bench_row *rows, size_t n, int threads, const char *phase, const char *cache,
                                double *roof);

/* Time-weighted fraction of the roof of the measured rows of one phase and
 * cache mode (NULL: any): sum of ideal times / sum of measured times; 0 if
 * none. */
double ck_roofline_fraction(const ck_bench_row *rows, size_t n, const char *phase, const char *cache, double *ideal_ns,
                            double *measured_ns);

#endif
