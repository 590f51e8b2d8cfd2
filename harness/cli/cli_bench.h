/* cli_bench.h — what the bench, calibrate and headline commands share: the
 * option helpers, bench's option parser and result tables, and measuring
 * roofs (the headline calibrates when a machine has none). */
#ifndef CK_CLI_BENCH_H
#define CK_CLI_BENCH_H

#include <stddef.h>

#include "bench/bench_runner.h"
#include "bench/calibrate.h"

/* "<cmd>: <fmt % what>" on stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, const char *what);
/* The value after argv[*i] (advancing *i), or NULL. */
const char *cli_option_value(int argc, char **argv, int *i);
/* 0 with *out in [lo, hi], or -1. */
int cli_parse_int(const char *s, int lo, int hi, int *out);
/* "1.23 ms" and the like. */
void cli_format_time(char *buf, size_t len, double ns);

/* bench's options from argv[first..]: 0, -1 for --help, 2 bad usage (said). */
int cli_parse_bench_args(int argc, char **argv, int first, ck_bench_opts *o);
/* --phase, --cache, --decode-pos (cli_phase.c): 0 taken, 2 bad value
 * (said), -1 not one of these. */
int cli_phase_option(const char *a, const char *v, ck_bench_opts *o);
/* What the headline's summary says of the whole model: the first result's
 * tokens per second and how far each phase is from its roof (0: unknown). */
typedef struct cli_e2e_summary {
    int ran;
    size_t pp, tg;
    double pp_tps, tg_tps;
    double tg_bound_ratio; /* ms per token / (bytes per token at the DRAM roof) */
    double pp_roof;        /* time-weighted fraction of the roof */
    double tg_now_ratio;   /* tg_bound_ratio against the DRAM read measured around the run; 0: none */
} cli_e2e_summary;
/* bench --e2e (cli_e2e.c): every plugin at every thread count; the exit
 * status (0, 1 a run failed, 2 bad input). sum, when not NULL, gets the
 * first result's figures. */
int cli_bench_e2e(const ck_bench_opts *o, cli_e2e_summary *sum);
/* bench --md (cli_md.c): every row as one Markdown table. */
void cli_print_md(const ck_bench_outcome *out);
/* The per-plugin tables and the roofs line. */
void cli_print_outcome(const ck_bench_outcome *out);

/* Measure the roofs, save them (results dir or out_path) and print them;
 * 0 or 2 (said). */
int cli_calibrate_and_save(int threads, int quick, const char *out_path, ck_roofs *r);

#endif
