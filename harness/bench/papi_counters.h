/* papi_counters.h — the hardware set through PAPI: cycles, instructions and
 * last-level cache misses, whichever the machine offers.
 *
 * counters.h chooses the sets; this is its hardware backend. Where the
 * events cannot be read — PAPI missing from the build, the perf_event
 * component disabled (PAPI 7 disables it whole, software events included,
 * when libpfm4 finds no core PMU: a VM without a virtual PMU), the events
 * absent, perf_event_paranoid too strict — ck_papi_open returns NULL and one
 * sentence saying why.
 *
 * PAPI counts the thread that starts the event set (one running event set
 * per thread and component), so these figures are the calling thread's
 * (tid 0 of every parallel_for); the result file says so. */
#ifndef CK_PAPI_COUNTERS_H
#define CK_PAPI_COUNTERS_H

#include <stddef.h>

/* What the hardware set can hold, in this order. */
enum { CK_PAPI_CYCLES, CK_PAPI_INSTRUCTIONS, CK_PAPI_LLC_MISSES, CK_PAPI_N };

typedef struct ck_papi ck_papi;

/* An event set of every available event above, or NULL with the reason in
 * why ("PAPI's perf_event component is disabled: Error libpfm4 no default
 * PMU found; kernel.perf_event_paranoid = 2"). */
ck_papi *ck_papi_open(char *why, size_t why_len);
void ck_papi_close(ck_papi *p);

/* 1 if event e (CK_PAPI_*) is in the set. */
int ck_papi_has(const ck_papi *p, int e);

/* Count from start to stop on the calling thread; stop writes the counts of
 * the events in the set to values[e] (the others are left alone). 0 on
 * success, -1 if counting failed. */
int ck_papi_start(ck_papi *p);
int ck_papi_stop(ck_papi *p, double values[CK_PAPI_N]);

#endif
