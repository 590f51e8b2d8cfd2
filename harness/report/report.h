/* report.h — `ckbench report`: bench result files (results.h) merged into one
 * Markdown report and one self-contained HTML page with inline SVG charts.
 *
 *   report_load.c   read and check result files, parity per row, noise of the
 *                   repetitions, baseline matching
 *   report_fmt.c    number formatting and escaping shared by both writers
 *   report_md.c     the Markdown report
 *   report_svg.c    the charts: roofline per machine, speedup bars per model
 *   report_html.c   the HTML page around them
 *   report_make.c   a whole report: load, render, write through temporary files
 *   cmd_report.c    the command line
 *
 * Strings in these structs point into the parsed JSON documents, which the
 * report owns until ck_report_free. */
#ifndef CK_REPORT_H
#define CK_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "bench/calibrate.h"

/* Threshold for "slower than the baseline" where neither run has
 * repetitions to measure its noise (a fraction: 0.05 = 5%). */
#define CK_REPORT_DEFAULT_THRESHOLD 0.05
/* With repetitions: flagged when slower by more than this many relative
 * standard deviations (the larger of the two runs'). */
#define CK_REPORT_NOISE_SIGMAS 3.0

typedef struct ck_report_run ck_report_run;

/* One op instance of one run (context.ckbench.ops[i]). */
typedef struct ck_report_row {
    const char *name, *label, *shape, *op, *kernel, *status, *bound;
    int threads;
    double bytes, flops, intensity;
    double time_ns, gbs, gflops; /* time_ns 0: not measured (see status) */
    double roof_pct;             /* valid when bound != NULL */
    /* cache-aware roofline (NULL / 0 in files from before it) */
    const char *phase, *cache, *mem_level, *arith, *roof_flag;
    double ideal_ns;
    /* the x of its point against its level's line: flops / roof_bytes
     * (writes priced apart at DRAM), or intensity in files without them */
    double plot_intensity;
    double scalar_ns, speedup; /* speedup 0: no scalar figure */
    int scalar_scaled;
    /* from the counters (NAN / "" in files without them): the threads' CPU
     * time over wall x threads, and what the counters say of the row */
    double thread_use;
    const char *notes;
    /* noise of time_ns across repetitions: relative standard deviation, or
     * -1 when the run had no repetitions (n_reps < 2) */
    double noise;
    int n_reps;
    /* parity of the instance's label in this run's parity report */
    const char *parity;                    /* "PASS", "FAIL", "SKIP" or NULL: no parity */
    double parity_max_abs, parity_max_rel; /* NAN when a case had no figure */
    int parity_cases;
    /* against the baseline (when given and matched) */
    const struct ck_report_row *base;
    double base_ratio;     /* time_ns / base->time_ns: above 1 is slower */
    double base_threshold; /* fraction; how it was found: base_noise_known */
    int base_noise_known;  /* 1: from repetitions, 0: the default */
    int slower;            /* 1: ratio > 1 + threshold */
    const ck_report_run *run;
} ck_report_row;

typedef struct ck_report_machine {
    const char *host, *cpu, *cpu_flags;
    int have_roofs;
    ck_roofs roofs; /* from the first of its runs that has roofs */
    const ck_report_run *roofs_from;
    int roofs_differ; /* another run on it had different roofs */
} ck_report_machine;

struct ck_report_run {
    char *path;
    cJSON *doc;
    const char *date, *host, *git_commit, *cpu_model, *cpu_flags, *compiler;
    const char *model, *plugin, *plugin_version, *plugin_file;
    const char *compute; /* "f32" (also for files from before the field) or "bf16" */
    int threads[16], n_threads;
    double min_time;
    int repetitions;
    int have_roofs;
    ck_roofs roofs;
    int counters_available;
    const char *counters_reason;
    int parity_run; /* 1: the result file carries a parity report */
    int partial;    /* 1: Ctrl-C stopped the bench run; rows after it were not measured */
    int parity_passed, parity_failed, parity_skipped;
    const char *parity_note;
    const cJSON *parity_cases; /* the report's "cases" array, or NULL */
    ck_report_row *rows;
    size_t n_rows;
    const cJSON *e2e; /* whole-model tests (bench --e2e), checked; NULL: none */
    char tag[160];    /* short unique name: plugin [· model] [@host] [#k] */
    int color;        /* index into the palette */
    int machine;      /* index into ck_report.machines */
};

typedef struct ck_report {
    ck_report_run *runs;
    size_t n_runs;
    ck_report_run *baseline; /* baseline runs (matched, never reported) */
    size_t n_baseline;
    ck_report_machine *machines;
    size_t n_machines;
    const char **models; /* distinct models in input order */
    size_t n_models;
    double default_threshold;
    size_t n_slower;    /* rows flagged slower than the baseline */
    size_t n_matched;   /* rows with a baseline counterpart */
    char generated[40]; /* ISO date the report was made */
} ck_report;

/* ---- report_make.c: the whole job, for `ckbench report` and whoever else
 *      wants a report of result files (the headline command) ---- */

typedef struct ck_report_request {
    const char *const *inputs; /* result files */
    int n_inputs;
    const char *const *baselines; /* result files to compare with, or none */
    int n_baselines;
    const char *html, *md; /* either may be NULL */
    double threshold;      /* "slower" threshold without repetitions (fraction); 0: the default */
    FILE *md_stream;       /* html and md both NULL: the Markdown goes here (NULL: stdout) */
    FILE *note_stream;     /* one line per input skipped as no bench result (NULL: stderr) */
} ck_report_request;

typedef struct ck_report_summary {
    size_t n_runs, n_points;    /* runs read; roofline points drawn */
    size_t n_skipped;           /* inputs that were no bench result */
    size_t n_matched, n_slower; /* rows with a baseline; flagged slower */
} ck_report_summary;

/* 0 when every output is written; -1 with one line in err naming the file
 * (and the field, and what was expected), nothing written. */
int ck_report_make(const ck_report_request *q, ck_report_summary *sum, char *err, size_t err_len);

/* ---- report_load.c ---- */

void ck_report_init(ck_report *r);
void ck_report_free(ck_report *r);

/* Read one result file into r (as a run, or as a baseline run). -1 with one
 * line in err naming the file, the field and what was expected; 1 when the
 * file is JSON but no bench result at all (a parity report, a roofs file),
 * with err saying what it is: a caller may skip it. */
int ck_report_add_file(ck_report *r, const char *path, int is_baseline, char *err, size_t err_len);

/* After every file is added: tags, colours, machines, models, baseline
 * ratios and flags. */
void ck_report_finish(ck_report *r);

/* The relative noise of one benchmark in a Google Benchmark document: the
 * relative standard deviation of its repetitions' real_time (the repetitions
 * themselves, else the stddev/mean aggregates); -1 without repetitions.
 * *n_reps gets the number of repetitions. */
/* obj's string member key, or dflt where there is none. */
const char *ck_report_str(const cJSON *obj, const char *key, const char *dflt);
double ck_report_noise(const cJSON *benchmarks, const char *name, int *n_reps);
/* A row's parity verdict and errors from its run's parity report (the run
 * had one: parity_run). */
void ck_report_row_parity(ck_report_row *row, const ck_report_run *run);

/* Measured rows of a run that have flops: the points of the roofline. */
int ck_report_row_on_roofline(const ck_report_row *row);

/* ---- report_fmt.c ---- */

/* "98 ns", "17.2 us", "13.3 ms", "1.20 s"; "-" when t <= 0. `micro` is the
 * micro sign to use ("us" in Markdown, "\u00b5s" in HTML). */
void ck_report_fmt_time(char *buf, size_t len, double ns, const char *micro);
/* %.3g-like with a fixed number of decimals for readable columns. */
void ck_report_fmt_num(char *buf, size_t len, double v);
void ck_report_fmt_err(char *buf, size_t len, double v); /* "0", "7.6e-06", "nan" */
/* speedup "10.8x" (+ "*" when the scalar time was scaled); "-" when none */
void ck_report_fmt_speedup(char *buf, size_t len, const ck_report_row *row);
/* thread use "0.98"; "-" when not counted */
void ck_report_fmt_use(char *buf, size_t len, const ck_report_row *row);
/* "45% mem" / "105% comp"; "-" without roofs */
void ck_report_fmt_roof(char *buf, size_t len, const ck_report_row *row);
/* the CPU flags that say which SIMD the machine has */
void ck_report_simd_flags(char *buf, size_t len, const char *flags);
void ck_report_html_escape(FILE *f, const char *s);
void ck_report_md_escape(FILE *f, const char *s);
/* geometric mean of a run's speedups over scalar; 0 when it has none.
 * *n gets how many rows it is over. */
double ck_report_geomean_speedup(const ck_report_run *run, size_t *n);
/* the sentence that says how "slower than baseline" is decided */
void ck_report_threshold_rule(char *buf, size_t len, const ck_report *r);
/* the op names in order of first appearance within one model */
size_t ck_report_model_ops(const ck_report *r, const char *model, const char **ops, size_t max);
/* rows of `model` and `op`, instance by instance, runs side by side; calls
 * fn for each (row index order: instance first appearance, then run order) */
void ck_report_each_row(const ck_report *r, const char *model, const char *op,
                        void (*fn)(const ck_report_row *row, void *arg), void *arg);

/* ---- writers: each writes the whole document to f; 0 ok, -1 on a write error ---- */
int ck_report_write_md(const ck_report *r, FILE *f);
int ck_report_write_html(const ck_report *r, FILE *f);

/* report_svg.c: the charts (one <svg> each); n_points / n_bars get how many
 * elements of class "kernel-point" / "speedup-bar" were drawn */
void ck_report_svg_roofline(const ck_report *r, size_t machine, FILE *f, size_t *n_points);
void ck_report_svg_speedups(const ck_report *r, const char *model, FILE *f, size_t *n_bars);
const char *ck_report_color(int index); /* "#0072b2", ... */

/* ---- report_e2e.c: whole-model runs ---- */
/* Check context.ckbench.e2e (absent: fine) and keep it in run->e2e; -1 with
 * the bad field's name in `field`. */
int ck_report_read_e2e(const cJSON *ck, ck_report_run *run, char *field, size_t field_len);
/* A Markdown table / an HTML section with stacked profile bars; nothing
 * when no run has whole-model tests. */
void ck_report_e2e_md(const ck_report *r, FILE *f);
void ck_report_e2e_html(const ck_report *r, FILE *f);

#endif
