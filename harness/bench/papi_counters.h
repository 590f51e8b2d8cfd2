/* papi_counters.h — hardware counters around a kernel, through PAPI.
 *
 * One event set per kernel: cycles, instructions and cache misses at the
 * levels the machine offers (L1D, L2, L3). Where the counters cannot be read —
 * PAPI missing from the build, the perf_event component disabled, a VM without
 * a virtual PMU, perf_event_paranoid too strict — ck_papi_open returns NULL
 * and one sentence saying why; the bench run goes on with time-based figures.
 * Counting a kernel never fails a run.
 *
 * PAPI counts the thread that starts the event set: with a thread pool the
 * figures are those of the calling thread (tid 0), which the report says. */
#ifndef CK_PAPI_COUNTERS_H
#define CK_PAPI_COUNTERS_H

#include <stddef.h>

#define CK_PAPI_MAX_EVENTS 5

typedef struct ck_papi ck_papi;

/* An event set with every available event of the list above, or NULL with
 * the reason in why ("PAPI: the perf_event component has no hardware events
 * here (PAPI_TOT_CYC: Event does not exist); a VM without a virtual PMU?
 * kernel.perf_event_paranoid = 2"). */
ck_papi *ck_papi_open(char *why, size_t why_len);
void ck_papi_close(ck_papi *p);

int ck_papi_n_events(const ck_papi *p);
const char *ck_papi_event_name(const ck_papi *p, int i); /* "PAPI_TOT_CYC" */

/* Index of the last-level cache miss event, or -1 (for the traffic estimate:
 * misses x cache line). */
int ck_papi_llc_event(const ck_papi *p);

/* Count around `calls` calls of fn(arg); values[i] receives the count of
 * event i per call. 0 on success; -1 (values untouched) if counting failed. */
int ck_papi_measure(ck_papi *p, int (*fn)(void *arg), void *arg, long calls, double *values);

#endif
