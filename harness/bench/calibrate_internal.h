/* calibrate_internal.h — what calibrate.c shares with calibrate_levels.c
 * (bandwidth per memory level) and calibrate_dot.c (dot-product peaks): the
 * thread team and the best-of-runs rate. Not for use outside harness/bench. */
#ifndef CK_CALIBRATE_INTERNAL_H
#define CK_CALIBRATE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "calibrate.h"

typedef void (*thread_work_fn)(void *arg, int tid, int n_threads);

typedef struct team_time {
    double wall;    /* from the barrier until the last member finished */
    double cpu_max; /* CPU seconds of the member that used the most */
} team_time;

/* Runs fn on n threads at once (the calling thread is tid 0); negative times
 * if the threads cannot be set up. */
team_time run_team(int n, thread_work_fn fn, void *arg);

/* Rounds per second on `threads` threads of a job whose work per thread is
 * *iters rounds: *iters is first sized so one run takes about `target`
 * seconds on one thread, then the best (least CPU time) of `reps` runs. */
double calibrate_best_rate(thread_work_fn fn, void *job, uint64_t *iters, int threads, double target, int reps);

/* Read and triad bandwidth per memory level (calibrate_levels.c) and the
 * int8 / bf16 dot-product peaks (calibrate_dot.c); both fill r in place and
 * leave a figure at 0 where the machine lacks it. */
void calibrate_levels(ck_roofs *r, int quick, FILE *log);
void calibrate_dot_peaks(ck_roofs *r, double target, int reps, FILE *log);

#endif
