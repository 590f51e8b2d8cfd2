/* Where a team's threads sit (placement.h): a cache line bounced between
 * thread 0 and each other member in turn. */
#include "placement.h"
#include "calibrate_internal.h"
#include "common/sysinfo.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>

#define APART_TRIPS 200 /* round trips per batch */
#define APART_BATCHES 5
/* A batch slower than this (5 us a round trip, ten times two sockets
 * apart) had a member off its CPU: other work shares the CPUs, and the
 * distance is not measured (0) rather than waited for a time slice a trip. */
#define APART_MAX_BATCH_S (APART_TRIPS * 5e-6)
#define APART_GIVE_UP UINT32_MAX

typedef struct apart_line {
    _Alignas(64) _Atomic uint32_t v; /* odd: thread 0's turn done; even: the member's */
} apart_line;

typedef struct apart_job {
    apart_line line[64];
    double ns; /* farthest member, one way */
} apart_job;

/* 0 when thread 0 gave up instead */
static int wait_for(_Atomic uint32_t *v, uint32_t want)
{
    uint32_t now;
    while ((now = atomic_load_explicit(v, memory_order_acquire)) != want)
        if (now == APART_GIVE_UP)
            return 0;
    return 1;
}

/* Thread 0 writes 2k + 1 into member i's line and waits for 2k + 2; the
 * member answers each in turn. Members wait their turn on their own line. */
static void apart_work(void *arg, int tid, int n)
{
    apart_job *j = arg;
    const uint32_t trips = APART_TRIPS * APART_BATCHES;
    if (tid > 0) {
        for (uint32_t k = 0; k < trips && wait_for(&j->line[tid].v, 2 * k + 1); k++)
            atomic_store_explicit(&j->line[tid].v, 2 * k + 2, memory_order_release);
        return;
    }
    double farthest = 0;
    int gave_up = 0;
    for (int m = 1; m < n; m++) {
        double best = INFINITY;
        uint32_t k = 0;
        for (int b = 0; b < APART_BATCHES && !gave_up; b++) {
            double t0 = calibrate_wall_seconds();
            for (int r = 0; r < APART_TRIPS; r++, k++) {
                atomic_store_explicit(&j->line[m].v, 2 * k + 1, memory_order_release);
                wait_for(&j->line[m].v, 2 * k + 2);
            }
            double dt = calibrate_wall_seconds() - t0;
            best = dt < best ? dt : best;
            gave_up = dt > APART_MAX_BATCH_S;
        }
        if (gave_up) { /* this member and every later one stop waiting */
            for (int i = m; i < n; i++)
                atomic_store_explicit(&j->line[i].v, APART_GIVE_UP, memory_order_release);
            break;
        }
        double ns = 1e9 * best / (2.0 * APART_TRIPS);
        farthest = ns > farthest ? ns : farthest;
    }
    j->ns = gave_up ? 0 : farthest;
}

double ck_threads_apart_ns(int threads)
{
    /* a member without a CPU of its own would be waited for a time slice
     * per trip */
    if (threads < 2 || threads > 64 || threads > ck_sys_ncpus())
        return 0.0;
    static apart_job j; /* 4 KiB of lines: not on the stack; one team at a time */
    for (int i = 0; i < threads; i++)
        atomic_store(&j.line[i].v, 0);
    j.ns = 0;
    team_time t = run_team(threads, apart_work, &j);
    return t.wall > 0 ? j.ns : 0.0;
}

int ck_apart_moved(double a_ns, double b_ns)
{
    if (!(a_ns > 0) || !(b_ns > 0))
        return 0;
    double hi = a_ns > b_ns ? a_ns : b_ns, lo = a_ns > b_ns ? b_ns : a_ns;
    return hi > CK_APART_RATIO * lo;
}
