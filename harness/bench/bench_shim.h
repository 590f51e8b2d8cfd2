/* bench_shim.h — Google Benchmark behind plain C functions.
 *
 * The harness is C; Google Benchmark is C++. harness/bench_shim.cc is the one
 * C++ file and this header is all the rest of the harness sees of it. The
 * usual sequence:
 *
 *     ckb_reset();
 *     int id = ckb_register("linear f32 T=577 K=1024 N=4096", run_once, arg, bytes, flops);
 *     ckb_run(&opts, "results/raw.json", err, sizeof err);
 *     ckb_result r; ckb_get_result(id, &r);
 *
 * Results go to the file in Google Benchmark's own JSON format (its
 * compare.py reads it) and are also handed back through ckb_get_result.
 * Every benchmark is timed in wall-clock time (UseRealTime): the work runs
 * on the host's thread pool, so the calling thread's CPU time would say
 * nothing. Per benchmark the JSON carries the user counters "bytes" and
 * "flops" (per call), "bytes_per_second" and "flops_per_second".
 *
 * Built only when the Makefile has WITH_BENCH=1 (CK_WITH_BENCH). */
#ifndef CK_BENCH_SHIM_H
#define CK_BENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One call of the code under test. Returns 0 on success; anything else stops
 * that benchmark, which is reported as an error (not a crash, not a time). */
typedef int (*ckb_fn)(void *arg);

/* Called after each benchmark finishes (done of total), e.g. for a progress
 * line. `name` is the benchmark's full name as Google Benchmark reports it. */
typedef void (*ckb_progress_fn)(void *user, const char *name, int done, int total);

typedef struct ckb_options {
    double min_time;          /* seconds per benchmark (Google Benchmark's MinTime); <= 0: 0.05 */
    int repetitions;          /* >= 1; with more than one, the median is handed back */
    ckb_progress_fn progress; /* may be NULL */
    void *progress_user;
} ckb_options;

#define CKB_MAX_COUNTERS 12

typedef struct ckb_result {
    char name[256];      /* as written to the JSON file */
    double real_time_ns; /* wall time per call (median over repetitions) */
    int64_t iterations;  /* calls timed (of the run that was picked) */
    double bytes_per_second;
    double flops_per_second;
    double cv; /* stddev / mean of the real time over the repetitions; -1 with one */
    /* per timed iteration, in the order of ckb_set_counting's names (median
     * over repetitions); NAN where not counted */
    double counters[CKB_MAX_COUNTERS];
    int error; /* 1: the function returned non-zero */
    char error_message[256];
} ckb_result;

/* Forget every registered benchmark, custom context entry and result. */
void ckb_reset(void);

/* Register one benchmark. `name` must be unique within a run; bytes and flops
 * are per call. Returns an id (>= 0) for ckb_get_result, or -1 if name is
 * empty or fn is NULL. */
int ckb_register(const char *name, ckb_fn fn, void *arg, double bytes_per_call, double flops_per_call);

/* Optional hooks of benchmark `id`, run outside the timed loop: `setup` before
 * every timed run of it (make it idempotent: Google Benchmark runs a
 * benchmark several times while it sizes the iteration count; a non-zero
 * return skips the benchmark with the message written into err), `teardown`
 * once after its last run has been reported (free what setup made). Either
 * may be NULL. Returns 0, or -1 for an unknown id. */
typedef int (*ckb_setup_fn)(void *arg, char *err, size_t err_len);
typedef void (*ckb_teardown_fn)(void *arg);
int ckb_set_hooks(int id, ckb_setup_fn setup, ckb_teardown_fn teardown);

/* Counting around benchmark `id`'s timed loop: start right before its first
 * timed iteration, stop right after its last, in every run Google Benchmark
 * makes of it; stop writes the totals of counter i to totals[i] (NAN: not
 * counted). The figures of the reported run, divided by its iterations, come
 * back in ckb_result.counters and go to the JSON file as user counters named
 * names[i] (which must outlive the run). A non-zero return of either drops
 * that run's counts. n <= CKB_MAX_COUNTERS. Returns 0, or -1 for an unknown
 * id or too many names. */
typedef int (*ckb_count_start_fn)(void *arg);
typedef int (*ckb_count_stop_fn)(void *arg, double *totals);
int ckb_set_counting(int id, ckb_count_start_fn start, ckb_count_stop_fn stop, const char *const *names, int n);
/* Make benchmark `id` call `advance` before every call of its function,
 * outside the timed part: the benchmark then times each call itself (Google
 * Benchmark's manual time, and its name ends in "/manual_time" instead of
 * "/real_time"). For cold runs, which rotate through copies of the operands.
 * Returns 0, or -1 for an unknown id or a NULL advance. */
int ckb_set_advance(int id, ckb_fn advance);

/* Add a key/value string to the "context" object of the JSON file. */
void ckb_add_context(const char *key, const char *value);

/* Run every registered benchmark and write the JSON file (NULL: no file).
 * Returns the number of benchmarks run, or -1 with one line in err if the
 * file cannot be written. Nothing is printed to stdout. */
int ckb_run(const ckb_options *opts, const char *json_out_path, char *err, size_t err_len);

/* The result of benchmark `id` after ckb_run: 0 on success, -1 if there is
 * none (unknown id, or not run). */
int ckb_get_result(int id, ckb_result *out);

#ifdef __cplusplus
}
#endif
#endif /* CK_BENCH_SHIM_H */
