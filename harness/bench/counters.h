/* counters.h — what a benchmark's timed loop did to the machine, counted over
 * exactly its timed iterations. The one place that decides, at run time,
 * which counter sets a run has:
 *
 * - the software set, always where the kernel allows it: task clock (ns of
 *   CPU), page faults, context switches, CPU migrations — the kernel's own
 *   software events, read with perf_event_open on every thread the kernel
 *   runs on (the calling thread and the exec context's workers, each
 *   attached by its thread id: the pool's threads exist before counting
 *   starts, so inheritance would miss them) — plus involuntary context
 *   switches from /proc/self/task/<tid>/status (the pool's workers sleep
 *   between jobs, so only preemption says another load took the CPU).
 *   perf_event_open and not PAPI: PAPI 7 disables its whole perf_event
 *   component, software events included, where libpfm4 finds no core PMU,
 *   which is every VM without a virtual PMU; these events are the kernel's
 *   and need none.
 * - the hardware set (papi_counters.h): cycles, instructions, last-level
 *   misses, where PAPI offers them — the calling thread only.
 *
 * A set that cannot be counted is absent (NAN), never 0, and its reason is
 * one sentence. CK_COUNTERS=sw makes the hardware set missing, CK_COUNTERS=none
 * both sets (to test those paths on any machine). */
#ifndef CK_COUNTERS_H
#define CK_COUNTERS_H

#include <stddef.h>

#include "ck_host.h"

enum {
    CK_CTR_TASK_CLOCK_NS,
    CK_CTR_PAGE_FAULTS,
    CK_CTR_CONTEXT_SWITCHES,
    CK_CTR_INVOLUNTARY_SWITCHES,
    CK_CTR_CPU_MIGRATIONS,
    CK_CTR_CYCLES, /* the hardware set from here on */
    CK_CTR_INSTRUCTIONS,
    CK_CTR_LLC_MISSES,
    CK_CTR_COUNT
};
#define CK_CTR_FIRST_HW CK_CTR_CYCLES

/* "task_clock_ns", "page_faults", ..., "llc_misses" (result-file keys). */
const char *ck_counter_name(int id);

typedef struct ck_counters_why {
    char software[256]; /* "" when the software set is counted */
    char hardware[320]; /* "" when some hardware event is counted */
    char partial[200];  /* "" unless the software set lacks some event (which, and why) */
} ck_counters_why;

typedef struct ck_counters ck_counters;

/* Counters for kernels run on ctx from the calling thread. Never NULL but
 * on out of memory; what could not be opened is said in why. */
ck_counters *ck_counters_open(const ck_exec_ctx *ctx, ck_counters_why *why);
void ck_counters_close(ck_counters *c);

/* 1 if counter id is counted. */
int ck_counters_has(const ck_counters *c, int id);

/* Start counting; stop writes the totals since start to totals[id] (NAN for
 * a counter not counted). 0 on success, -1 if counting failed (totals all
 * NAN). */
int ck_counters_start(ck_counters *c);
int ck_counters_stop(ck_counters *c, double totals[CK_CTR_COUNT]);

#endif
