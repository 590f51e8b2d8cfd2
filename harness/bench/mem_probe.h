/* mem_probe.h — the DRAM read bandwidth a bench run measures itself, at its
 * start and at its end, at each of its thread counts, with calibrate's DRAM
 * read loop over calibrate's working set. On a VM the memory is shared with
 * other tenants that neither the load average nor the counters see: the same
 * read moves by a third from one minute to the next, so a cold row's % of the
 * calibrated roof says as much about the neighbours as about the kernel. The
 * probe says how far the memory was from its roof while the rows ran, and
 * each row bound by DRAM is also put against it (roofline.c). */
#ifndef CK_MEM_PROBE_H
#define CK_MEM_PROBE_H

#include "calibrate.h"

#define CK_PROBE_MAX 8

typedef struct ck_mem_probe {
    int n; /* thread counts probed; 0: no probe (why_not says why) */
    int threads[CK_PROBE_MAX];
    double start_gbs[CK_PROBE_MAX], end_gbs[CK_PROBE_MAX]; /* DRAM read; 0: not measured */
    double roof_gbs[CK_PROBE_MAX];                         /* the calibrated DRAM read at that count */
    /* one-way ns between the threads as each read was taken (placement.h);
     * 0 on 1 thread or not measured */
    double start_apart_ns[CK_PROBE_MAX], end_apart_ns[CK_PROBE_MAX];
    double roof_apart_ns[CK_PROBE_MAX]; /* the calibration's, at its all-threads count; else 0 */
    char why_not[120];
    ck_level_buf buf; /* the working set, kept for the next probe; copies have none */
} ck_mem_probe;

/* Below this fraction of the calibrated read, the memory was shared. */
#define CK_PROBE_SHARED 0.9

/* Measure at the start (end = 0: also sets up p for the thread counts, each
 * once, keeping the working set of an earlier probe; p starts zeroed) or at the end (end = 1) of a run. Without DRAM levels in the roofs,
 * or with CK_PROBE=0 in the environment, nothing is measured and why_not
 * says why. About 0.2 s per thread count. */
void ck_mem_probe_take(ck_mem_probe *p, const ck_roofs *r, const int *threads, int n_threads, int end);

/* Releases the kept working set. */
void ck_mem_probe_free(ck_mem_probe *p);

/* After a plugin's rows: the reads just taken become the "before" of the
 * next plugin's. */
void ck_mem_probe_advance(ck_mem_probe *p);

/* The probe's read at `threads` (the mean of start and end, or the one
 * measured) over the calibrated read at that count; 0 when not probed, or
 * when the host moved the threads between start and end (placement.h). */
double ck_mem_probe_ratio(const ck_mem_probe *p, int threads);

/* Whether probe i's threads sat in different places (ck_apart_moved)
 * before and after, or, before or after, elsewhere than when the roofs
 * were measured: then its reads, and the rows against them, compare
 * figures of two placements. Writes a sentence saying which into why. */
int ck_mem_probe_moved(const ck_mem_probe *p, int i, char *why, size_t len);

#endif
