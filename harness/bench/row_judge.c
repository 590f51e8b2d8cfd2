/* What a row's counters and repetitions say about its time
 * (ck_bench_row_judge in bench_runner.h). The rules:
 *
 * - noisy: the timed loop was preempted (involuntary context switches) for
 *   a visible share of its time (the threads' CPU time more than
 *   CK_ROW_MAX_CV short of wall time x threads, or no task clock to say),
 *   or a thread moved CPU, or the time varies over repetitions by more
 *   than CK_ROW_MAX_CV. Voluntary switches are not noise: the pool's
 *   workers sleep between jobs by design. A preemption that cost no visible
 *   time is not either: on a 2-CPU VM the system's own housekeeping
 *   preempted every 2-thread decode row 0.03-0.15 times per iteration,
 *   with the threads on a CPU 98-100% of the wall time.
 * - faults: any page fault in the timed loop. Kernels run on buffers
 *   touched in the untimed warm-up, so a fault there is first touch (of
 *   scratch, of a fresh mapping) or paging, and the time includes it.
 * - threads idle: the threads' CPU time is well under wall time x threads,
 *   i.e. they waited — for a CPU on a shared machine, or on each other.
 * - moved: the threads sat in different places (placement.h) before and
 *   after the row: part of its time ran with another memory bandwidth. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench_runner.h"
#include "placement.h"

static int positive(double v)
{
    return !isnan(v) && v > 0;
}

void ck_bench_row_judge(ck_bench_row *r)
{
    const double *c = r->counters;
    r->flags = 0;
    r->thread_use = NAN;
    r->traffic_bytes = 0;
    if (r->time_ns > 0 && r->threads > 0 && !isnan(c[CK_CTR_TASK_CLOCK_NS]))
        r->thread_use = c[CK_CTR_TASK_CLOCK_NS] / (r->time_ns * r->threads);
    if (positive(c[CK_CTR_LLC_MISSES])) {
        long line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
        r->traffic_bytes = c[CK_CTR_LLC_MISSES] * (double)(line > 0 ? line : 64);
    }
    int lost = isnan(r->thread_use) || r->thread_use < 1.0 - CK_ROW_MAX_CV;
    if ((positive(c[CK_CTR_INVOLUNTARY_SWITCHES]) && lost) || positive(c[CK_CTR_CPU_MIGRATIONS]))
        r->flags |= CK_ROW_SWITCHED;
    if (r->cv > CK_ROW_MAX_CV)
        r->flags |= CK_ROW_VARIES;
    if (positive(c[CK_CTR_PAGE_FAULTS]))
        r->flags |= CK_ROW_FAULTS;
    if (!isnan(r->thread_use) && r->thread_use < CK_ROW_MIN_THREAD_USE)
        r->flags |= CK_ROW_THREADS_IDLE;
    if (ck_apart_moved(r->apart_ns[0], r->apart_ns[1]))
        r->flags |= CK_ROW_MOVED;
}

static void add(char *buf, size_t len, const char *text)
{
    size_t l = strlen(buf);
    if (l < len)
        snprintf(buf + l, len - l, "%s%s", l ? "; " : "", text);
}

void ck_bench_row_notes(const ck_bench_row *r, char *buf, size_t len)
{
    char t[200];
    const double *c = r->counters;
    buf[0] = '\0';
    if (r->flags & CK_ROW_SWITCHED) {
        snprintf(t, sizeof t, "noisy: %.3g involuntary context switches and %.3g CPU migrations per iteration",
                 isnan(c[CK_CTR_INVOLUNTARY_SWITCHES]) ? 0 : c[CK_CTR_INVOLUNTARY_SWITCHES],
                 isnan(c[CK_CTR_CPU_MIGRATIONS]) ? 0 : c[CK_CTR_CPU_MIGRATIONS]);
        add(buf, len, t);
    }
    if (r->flags & CK_ROW_VARIES) {
        snprintf(t, sizeof t, "noisy: time varies by %.1f%% over repetitions", 100.0 * r->cv);
        add(buf, len, t);
    }
    if (r->flags & CK_ROW_FAULTS) {
        snprintf(t, sizeof t, "faults in its timed loop: first-touch or paging (%.3g per iteration)",
                 c[CK_CTR_PAGE_FAULTS]);
        add(buf, len, t);
    }
    if (r->flags & CK_ROW_MOVED) {
        snprintf(t, sizeof t, "noisy: the host moved the threads during it (%.0f ns apart before, %.0f after)",
                 r->apart_ns[0], r->apart_ns[1]);
        add(buf, len, t);
    }
    if (r->flags & CK_ROW_THREADS_IDLE) {
        snprintf(t, sizeof t, "threads idle: task clock / (wall x threads) = %.2f", r->thread_use);
        add(buf, len, t);
    }
}
