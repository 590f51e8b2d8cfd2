/* calibrate_internal.h — what calibrate.c shares with calibrate_levels.c
 * (bandwidth per memory level) and calibrate_dot.c (dot-product peaks): the
 * thread team and the best-of-runs rate. Not for use outside harness/bench. */
#ifndef CK_CALIBRATE_INTERNAL_H
#define CK_CALIBRATE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "calibrate.h"

/* 12 and 24 copies of X(i): the independent chains of the peak loops. */
#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define REP24(X) REP12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

typedef void (*thread_work_fn)(void *arg, int tid, int n_threads);

typedef struct team_time {
    double wall;    /* from the barrier until the last member finished */
    double cpu_max; /* CPU seconds of the member that used the most */
    double cpu_min; /* and of the one that used the least */
} team_time;

/* Seconds on the monotonic clock. */
double calibrate_wall_seconds(void);

/* Runs fn on n threads at once (the calling thread is tid 0); negative times
 * if the threads cannot be set up. */
team_time run_team(int n, thread_work_fn fn, void *arg);

/* Rounds per second on `threads` threads of a job whose work per thread is
 * *iters rounds: *iters is first sized so one run takes about `target`
 * seconds on one thread, then the best (least CPU time) of `reps` runs. */
double calibrate_best_rate(thread_work_fn fn, void *job, uint64_t *iters, int threads, double target, int reps);

/* The same for work that shares a resource between the threads (memory
 * bandwidth): on several threads the best wall time of runs in which every
 * member ran throughout (CPU time >= 90% of the wall time), the best wall
 * time of any run if none was clean. On one thread, calibrate_best_rate. */
double calibrate_best_shared_rate(thread_work_fn fn, void *job, uint64_t *iters, int threads, double target, int reps);

/* Read and triad bandwidth per memory level (calibrate_levels.c) and the
 * int8 / bf16 dot-product peaks (calibrate_dot.c); both fill r in place and
 * leave a figure at 0 where the machine lacks it. */
void calibrate_levels(ck_roofs *r, int quick, FILE *log);
void calibrate_dot_peaks(ck_roofs *r, double target, int reps, FILE *log);

#endif
