/* The counter sets of a run (counters.h): the software set with
 * perf_event_open, each event on each thread; involuntary switches from
 * /proc; the hardware set through papi_counters.c. */
#include "counters.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "papi_counters.h"

#if defined(__linux__)
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#define HAVE_PERF_EVENTS 1
#else
#define HAVE_PERF_EVENTS 0
#endif

#define MAX_THREADS 1025

static const char *const names[CK_CTR_COUNT] = {
    "task_clock_ns",  "page_faults", "context_switches", "involuntary_switches",
    "cpu_migrations", "cycles",      "instructions",     "llc_misses",
};

const char *ck_counter_name(int id)
{
    return id >= 0 && id < CK_CTR_COUNT ? names[id] : "?";
}

/* Each thread has these events open, in this order. */
#define N_PERF 4
static const int perf_slot[N_PERF] = {CK_CTR_TASK_CLOCK_NS, CK_CTR_PAGE_FAULTS, CK_CTR_CONTEXT_SWITCHES,
                                      CK_CTR_CPU_MIGRATIONS};

struct ck_counters {
    int n_tids;
    int tids[MAX_THREADS];
    int *fds;           /* n_tids * N_PERF, -1 where not open; NULL without the software set */
    int kernel_side;    /* 1: the kernel-side events (switches, migrations) count too */
    long *invol_before; /* per thread */
    ck_papi *papi;
};

/* ---- the software set ---------------------------------------------------------- */

#if HAVE_PERF_EVENTS
static const uint64_t perf_config[N_PERF] = {PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_PAGE_FAULTS,
                                             PERF_COUNT_SW_CONTEXT_SWITCHES, PERF_COUNT_SW_CPU_MIGRATIONS};

static int perf_open(int tid, int e, int exclude_kernel)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = perf_config[e];
    a.disabled = 1;
    a.exclude_kernel = (unsigned)exclude_kernel;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC); /* not into forked children */
}

/* Every event on every thread (0, or the errno of the open that failed);
 * with exclude_kernel the events raised in the kernel (switches, migrations)
 * would read a false 0, so they are left out. Not a group per thread: a
 * sleeping worker's page faults went partly uncounted when its group was
 * enabled (a first-touch test counted 512 to 1024 of a worker's 1024 faults,
 * /proc and lone events all 1024), and lone events count every one. */
static int open_events(ck_counters *c, int exclude_kernel, char *why, size_t len)
{
    for (int t = 0; t < c->n_tids; t++) {
        int *fd = &c->fds[t * N_PERF];
        for (int e = 0; e < N_PERF; e++) {
            if (exclude_kernel && e >= 2)
                continue;
            fd[e] = perf_open(c->tids[t], e, exclude_kernel);
            if (fd[e] < 0) {
                int err = errno;
                snprintf(why, len, "perf_event_open(%s, thread %d) failed: %s", names[perf_slot[e]], c->tids[t],
                         strerror(err));
                return err;
            }
        }
    }
    return 0;
}

static void close_events(ck_counters *c)
{
    for (int i = 0; c->fds && i < c->n_tids * N_PERF; i++) {
        if (c->fds[i] >= 0)
            close(c->fds[i]);
        c->fds[i] = -1;
    }
}

static int paranoid_level(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int v = -99;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -99;
        fclose(f);
    }
    return v;
}

static void open_software(ck_counters *c, ck_counters_why *w)
{
    char *why = w->software;
    size_t len = sizeof w->software;
    c->fds = malloc((size_t)c->n_tids * N_PERF * sizeof *c->fds);
    c->invol_before = calloc((size_t)c->n_tids, sizeof *c->invol_before);
    if (!c->fds || !c->invol_before) {
        snprintf(why, len, "out of memory");
        free(c->fds);
        c->fds = NULL;
        return;
    }
    for (int i = 0; i < c->n_tids * N_PERF; i++)
        c->fds[i] = -1;
    c->kernel_side = 1;
    int err = open_events(c, 0, why, len);
    if (err == 0)
        return;
    close_events(c);
    if (err == EACCES || err == EPERM) { /* perf_event_paranoid >= 2 and no CAP_PERFMON: user side only */
        c->kernel_side = 0;
        if (open_events(c, 1, why, len) == 0) {
            why[0] = '\0';
            snprintf(w->partial, sizeof w->partial,
                     "context switches and CPU migrations unavailable: only user-side events may be counted "
                     "(kernel.perf_event_paranoid = %d)",
                     paranoid_level());
            return;
        }
        close_events(c);
    }
    size_t l = strlen(why);
    snprintf(why + l, len - l, "; kernel.perf_event_paranoid = %d", paranoid_level());
    free(c->fds);
    c->fds = NULL;
}

static int software_enable(ck_counters *c, unsigned long request)
{
    for (int i = 0; i < c->n_tids * N_PERF; i++) {
        if (c->fds[i] < 0)
            continue;
        if (request == PERF_EVENT_IOC_ENABLE && ioctl(c->fds[i], PERF_EVENT_IOC_RESET, 0) != 0)
            return -1;
        if (ioctl(c->fds[i], request, 0) != 0)
            return -1;
    }
    return 0;
}

/* Sum each event over the threads. */
static int software_read(ck_counters *c, double *totals)
{
    for (int i = 0; i < c->n_tids * N_PERF; i++) {
        uint64_t v = 0;
        if (c->fds[i] < 0)
            continue;
        if (read(c->fds[i], &v, sizeof v) != (ssize_t)sizeof v)
            return -1;
        totals[perf_slot[i % N_PERF]] += (double)v;
    }
    return 0;
}
#else
static void open_software(ck_counters *c, ck_counters_why *w)
{
    (void)c;
    snprintf(w->software, sizeof w->software, "perf_event_open is Linux's, and this is not Linux");
}
#endif

/* ---- involuntary switches -------------------------------------------------------- */

static long involuntary_switches(int tid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && v < 0 && fgets(line, sizeof line, f))
        if (sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) != 1)
            v = -1;
    if (f)
        fclose(f);
    return v;
}

/* ---- the sets together ------------------------------------------------------------ */

static const char *forced(void)
{
    const char *v = getenv("CK_COUNTERS");
    return v && *v ? v : "all";
}

ck_counters *ck_counters_open(const ck_exec_ctx *ctx, ck_counters_why *why)
{
    memset(why, 0, sizeof *why);
    ck_counters *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
#if HAVE_PERF_EVENTS
    c->tids[0] = (int)syscall(SYS_gettid);
#endif
    c->n_tids = 1 + ck_exec_thread_ids(ctx, c->tids + 1, MAX_THREADS - 1);
    if (strcmp(forced(), "none") == 0)
        snprintf(why->software, sizeof why->software, "turned off by CK_COUNTERS=none");
    else
        open_software(c, why);
    if (strcmp(forced(), "all") != 0)
        snprintf(why->hardware, sizeof why->hardware, "turned off by CK_COUNTERS=%s", forced());
    else
        c->papi = ck_papi_open(why->hardware, sizeof why->hardware);
    return c;
}

void ck_counters_close(ck_counters *c)
{
    if (!c)
        return;
#if HAVE_PERF_EVENTS
    close_events(c);
#endif
    free(c->fds);
    free(c->invol_before);
    ck_papi_close(c->papi);
    free(c);
}

int ck_counters_has(const ck_counters *c, int id)
{
    if (!c)
        return 0;
    switch (id) {
    case CK_CTR_TASK_CLOCK_NS:
    case CK_CTR_PAGE_FAULTS:
    case CK_CTR_INVOLUNTARY_SWITCHES: return c->fds != NULL;
    case CK_CTR_CONTEXT_SWITCHES:
    case CK_CTR_CPU_MIGRATIONS: return c->fds != NULL && c->kernel_side;
    case CK_CTR_CYCLES: return ck_papi_has(c->papi, CK_PAPI_CYCLES);
    case CK_CTR_INSTRUCTIONS: return ck_papi_has(c->papi, CK_PAPI_INSTRUCTIONS);
    case CK_CTR_LLC_MISSES: return ck_papi_has(c->papi, CK_PAPI_LLC_MISSES);
    default: return 0;
    }
}

int ck_counters_start(ck_counters *c)
{
    if (c->fds) {
        for (int t = 0; t < c->n_tids; t++)
            c->invol_before[t] = involuntary_switches(c->tids[t]);
#if HAVE_PERF_EVENTS
        if (software_enable(c, PERF_EVENT_IOC_ENABLE) != 0)
            return -1;
#endif
    }
    return c->papi && ck_papi_start(c->papi) != 0 ? -1 : 0;
}

int ck_counters_stop(ck_counters *c, double totals[CK_CTR_COUNT])
{
    double v[CK_CTR_COUNT] = {0};
    double hw[CK_PAPI_N] = {0};
    int failed = 0;
    if (c->papi)
        failed |= ck_papi_stop(c->papi, hw) != 0;
#if HAVE_PERF_EVENTS
    if (c->fds)
        failed |= software_enable(c, PERF_EVENT_IOC_DISABLE) != 0 || software_read(c, v) != 0;
#endif
    for (int t = 0; c->fds && t < c->n_tids; t++) {
        long after = involuntary_switches(c->tids[t]);
        failed |= after < 0 || c->invol_before[t] < 0;
        v[CK_CTR_INVOLUNTARY_SWITCHES] += (double)(after - c->invol_before[t]);
    }
    v[CK_CTR_CYCLES] = hw[CK_PAPI_CYCLES];
    v[CK_CTR_INSTRUCTIONS] = hw[CK_PAPI_INSTRUCTIONS];
    v[CK_CTR_LLC_MISSES] = hw[CK_PAPI_LLC_MISSES];
    for (int i = 0; i < CK_CTR_COUNT; i++)
        totals[i] = !failed && ck_counters_has(c, i) ? v[i] : NAN;
    return failed ? -1 : 0;
}
