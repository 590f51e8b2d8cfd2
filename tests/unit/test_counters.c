/* The counter sets for real (counters.h), through the Google Benchmark shim
 * as a bench run uses them: a first-touch benchmark — a fresh mapping whose
 * pages the caller and a pool worker each touch half of, every iteration —
 * must show, per iteration, one page fault per page (so the worker's faults
 * are counted too) and a non-zero task clock. Forcing the hardware set (or
 * both sets) missing leaves them absent (NAN), never 0, with the reason;
 * repetitions give the time's cv. And the rules that turn counters into a
 * row's notes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/bench_runner.h"
#include "bench/bench_shim.h"
#include "bench/counters.h"
#include "ck_host.h"

#define TOUCH_BYTES (4u << 20)

typedef struct first_touch {
    const ck_exec_ctx *ctx;
    ck_counters *counters;
    char *map;
    size_t page;
    atomic_int worker_done;
    atomic_long worker_pages;
} first_touch;

/* Item 0 (the caller's) waits for item 1, so the worker always touches its
 * half: a count that missed the workers would show half the faults. */
static void touch_half(void *arg, size_t b, size_t e, int tid)
{
    first_touch *ft = arg;
    size_t half = TOUCH_BYTES / 2;
    for (size_t item = b; item < e; item++) {
        for (size_t off = 0; off < half; off += ft->page)
            ft->map[item * half + off] = 1;
        if (item == 1) {
            atomic_fetch_add(&ft->worker_pages, tid > 0 ? (long)(half / ft->page) : 0);
            atomic_store(&ft->worker_done, 1);
        }
    }
    if (b == 0)
        while (!atomic_load(&ft->worker_done))
            ;
}

static int first_touch_call(void *arg)
{
    first_touch *ft = arg;
    ft->map = mmap(NULL, TOUCH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ft->map == MAP_FAILED)
        return 1;
    madvise(ft->map, TOUCH_BYTES, MADV_NOHUGEPAGE); /* a huge page would fault once for 512 */
    atomic_store(&ft->worker_done, 0);
    ft->ctx->parallel_for(ft->ctx, 2, 1, touch_half, ft);
    return munmap(ft->map, TOUCH_BYTES);
}

static int count_start(void *arg)
{
    first_touch *ft = arg;
    return ck_counters_start(ft->counters);
}

static int count_stop(void *arg, double *totals)
{
    first_touch *ft = arg;
    return ck_counters_stop(ft->counters, totals);
}

static const char *names[CK_CTR_COUNT];

/* Run the first-touch benchmark on ctx counted by c, reps times; its result. */
static ckb_result run_first_touch(ck_exec_ctx *ctx, ck_counters *c, first_touch *ft, int reps)
{
    for (int i = 0; i < CK_CTR_COUNT; i++)
        names[i] = ck_counter_name(i);
    memset(ft, 0, sizeof *ft);
    ft->ctx = ctx;
    ft->counters = c;
    ft->page = (size_t)sysconf(_SC_PAGESIZE);
    ckb_reset();
    int id = ckb_register("first touch", first_touch_call, ft, TOUCH_BYTES, 0);
    cr_assert_eq(ckb_set_counting(id + 1, count_start, count_stop, names, CK_CTR_COUNT), -1, "unknown id");
    cr_assert_eq(ckb_set_counting(id, count_start, count_stop, names, CKB_MAX_COUNTERS + 1), -1, "too many");
    cr_assert_eq(ckb_set_counting(id, count_start, count_stop, names, CK_CTR_COUNT), 0);
    ckb_options o = {.min_time = 0.02, .repetitions = reps};
    char err[256];
    cr_assert_eq(ckb_run(&o, NULL, err, sizeof err), 1, "%s", err);
    ckb_result r;
    cr_assert_eq(ckb_get_result(id, &r), 0);
    cr_assert_eq(r.error, 0, "%s", r.error_message);
    return r;
}

Test(counters, first_touch_faults_once_per_page_on_every_thread)
{
    unsetenv("CK_COUNTERS");
    ck_exec_ctx *ctx = ck_exec_create(2);
    ck_counters_why why;
    ck_counters *c = ck_counters_open(ctx, &why);
    cr_assert_not_null(c);
    cr_assert_str_empty(why.software, "the software set counts on this machine: %s", why.software);
#if !CK_WITH_PAPI /* make WITH_PAPI=0: the same software set, and the hardware set's reason */
    cr_assert_str_eq(why.hardware, "ckbench was built without PAPI (WITH_PAPI=0)");
#endif
    first_touch ft;
    ckb_result r = run_first_touch(ctx, c, &ft, 1);
    cr_assert_eq(r.cv, -1.0, "no repetitions, no cv");
    double pages = (double)TOUCH_BYTES / (double)ft.page;
    double faults = r.counters[CK_CTR_PAGE_FAULTS];
    cr_assert(atomic_load(&ft.worker_pages) > 0, "the worker touched its half");
    /* Under AddressSanitizer every 8 bytes touched have a shadow byte, whose
     * pages fault in too when fresh: up to pages / 8 more. */
    double shadow = 0;
#if defined(__SANITIZE_ADDRESS__)
    shadow = pages / 8;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    shadow = pages / 8;
#endif
#endif
    cr_assert(faults >= pages && faults <= (pages + shadow) * 1.02 + 4,
              "%g page faults per iteration for %g fresh pages, half of them the worker's", faults, pages);
    double task = r.counters[CK_CTR_TASK_CLOCK_NS];
    cr_assert(task > 0, "task clock %g ns per iteration", task);
    cr_assert(task <= 2 * r.real_time_ns * 1.1 + 1e4, "task clock %g ns is at most wall %g ns x 2 threads", task,
              r.real_time_ns);
    for (int i = CK_CTR_FIRST_HW; i < CK_CTR_COUNT; i++)
        cr_assert(isnan(r.counters[i]) == !ck_counters_has(c, i), "%s: a number exactly when counted",
                  ck_counter_name(i));
    ck_counters_close(c);
    ck_exec_destroy(ctx);
}

Test(counters, forced_missing_sets_are_absent_not_zero)
{
    ck_exec_ctx *ctx = ck_exec_create(2);
    ck_counters_why why;
    setenv("CK_COUNTERS", "sw", 1);
    ck_counters *c = ck_counters_open(ctx, &why);
    cr_assert(strstr(why.hardware, "CK_COUNTERS=sw"), "the reason names the switch: %s", why.hardware);
    first_touch ft;
    ckb_result r = run_first_touch(ctx, c, &ft, 1);
    for (int i = CK_CTR_FIRST_HW; i < CK_CTR_COUNT; i++) {
        cr_assert(!ck_counters_has(c, i));
        cr_assert(isnan(r.counters[i]), "%s is absent, not %g", ck_counter_name(i), r.counters[i]);
    }
    cr_assert(r.counters[CK_CTR_TASK_CLOCK_NS] > 0, "the software set still counts");
    ck_counters_close(c);

    setenv("CK_COUNTERS", "none", 1);
    c = ck_counters_open(ctx, &why);
    cr_assert(strstr(why.software, "CK_COUNTERS=none") && why.hardware[0]);
    r = run_first_touch(ctx, c, &ft, 3);
    for (int i = 0; i < CK_CTR_COUNT; i++)
        cr_assert(isnan(r.counters[i]), "%s is absent, not %g", ck_counter_name(i), r.counters[i]);
    cr_assert(r.real_time_ns > 0, "timing goes on without counters");
    cr_assert(r.cv > 0, "3 repetitions give the time's cv (%g)", r.cv);
    unsetenv("CK_COUNTERS");
    ck_counters_close(c);
    ck_exec_destroy(ctx);
}

/* ---- what a row's counters say ----------------------------------------------------- */

static ck_bench_row quiet_row(int threads)
{
    ck_bench_row r;
    memset(&r, 0, sizeof r);
    r.threads = threads;
    r.time_ns = 1000;
    r.cv = -1;
    for (int i = 0; i < CK_CTR_COUNT; i++)
        r.counters[i] = i < CK_CTR_FIRST_HW ? 0.0 : NAN;
    r.counters[CK_CTR_TASK_CLOCK_NS] = 1000.0 * threads;
    return r;
}

Test(counters, row_notes_follow_the_counters)
{
    ck_bench_row r = quiet_row(2);
    char notes[600];
    ck_bench_row_judge(&r);
    ck_bench_row_notes(&r, notes, sizeof notes);
    cr_assert_eq(r.flags, 0u, "nothing to say: %s", notes);
    cr_assert_str_empty(notes);
    cr_assert_float_eq(r.thread_use, 1.0, 1e-12);

    r.counters[CK_CTR_CONTEXT_SWITCHES] = 3; /* the pool's workers sleeping: not noise */
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, 0u);
    r.counters[CK_CTR_INVOLUNTARY_SWITCHES] = 0.01;
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, 0u, "preempted, but the threads ran throughout: the time is the kernel's");
    r.counters[CK_CTR_TASK_CLOCK_NS] = 2000.0 * (1.0 - CK_ROW_MAX_CV) * 1.001;
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, 0u, "short of the wall time by less than the cv bound");
    r.counters[CK_CTR_TASK_CLOCK_NS] = 2000.0 * (1.0 - CK_ROW_MAX_CV) * 0.999;
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, CK_ROW_SWITCHED, "preempted for a visible share of the time: noisy");
    r.counters[CK_CTR_TASK_CLOCK_NS] = NAN;
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, CK_ROW_SWITCHED, "preempted, and no task clock to say for how long: noisy");

    r = quiet_row(1);
    r.counters[CK_CTR_CPU_MIGRATIONS] = 0.5;
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, CK_ROW_SWITCHED, "migrated: noisy");

    r = quiet_row(1);
    r.cv = CK_ROW_MAX_CV * 0.9;
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, 0u);
    r.cv = CK_ROW_MAX_CV * 1.1;
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, CK_ROW_VARIES);

    r = quiet_row(4);
    r.counters[CK_CTR_PAGE_FAULTS] = 256;
    r.counters[CK_CTR_TASK_CLOCK_NS] = 1000.0; /* one of four threads ran */
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, CK_ROW_FAULTS | CK_ROW_THREADS_IDLE);
    cr_assert_float_eq(r.thread_use, 0.25, 1e-12);
    ck_bench_row_notes(&r, notes, sizeof notes);
    cr_assert(strstr(notes, "faults in its timed loop: first-touch or paging (256 per iteration)"), "%s", notes);
    cr_assert(strstr(notes, "threads idle") && strstr(notes, "0.25"), "%s", notes);

    for (int i = 0; i < CK_CTR_COUNT; i++)
        r.counters[i] = NAN; /* not counted: nothing may be concluded */
    ck_bench_row_judge(&r);
    cr_assert_eq(r.flags, 0u);
    cr_assert(isnan(r.thread_use));
}
