/* The host's execution context: every item is visited exactly once, on a
 * valid thread id, for any thread count; scratch is aligned and private. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ck_host.h"

typedef struct visit {
    atomic_int *hits;
    int n_threads;
    atomic_int bad_tid;
} visit;

static void mark(void *arg, size_t b, size_t e, int tid)
{
    visit *v = arg;
    if (tid < 0 || tid >= v->n_threads)
        atomic_store(&v->bad_tid, 1);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add(&v->hits[i], 1);
}

static void check_cover(int threads, size_t n, size_t grain)
{
    ck_exec_ctx *ctx = ck_exec_create(threads);
    cr_assert_not_null(ctx);
    cr_assert_eq(ctx->struct_size, sizeof(ck_exec_ctx));
    atomic_int *hits = calloc(n ? n : 1, sizeof *hits);
    visit v = {hits, ctx->n_threads, 0};
    for (int rep = 0; rep < 3; rep++)
        ctx->parallel_for(ctx, n, grain, mark, &v);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(atomic_load(&hits[i]), 3, "item %zu visited %d times (threads %d)", i, hits[i], threads);
    cr_assert_eq(atomic_load(&v.bad_tid), 0);
    free(hits);
    ck_exec_destroy(ctx);
}

Test(exec, covers_every_item_once_single_thread)
{
    check_cover(1, 1000, 1);
}
Test(exec, covers_every_item_once_two_threads)
{
    check_cover(2, 1000, 7);
}
Test(exec, covers_every_item_once_many_threads)
{
    check_cover(5, 12345, 1);
}
Test(exec, handles_empty_and_tiny_ranges)
{
    check_cover(4, 0, 1);
    check_cover(4, 1, 1);
    check_cover(4, 3, 100);
}

typedef struct scratch_probe {
    const ck_exec_ctx *ctx;
    void *ptr[8];
    atomic_int misaligned;
} scratch_probe;

static void take_scratch(void *arg, size_t b, size_t e, int tid)
{
    scratch_probe *s = arg;
    (void)b;
    (void)e;
    unsigned char *p = s->ctx->scratch(s->ctx, tid, 1000);
    if (!p || ((uintptr_t)p & 63))
        atomic_store(&s->misaligned, 1);
    else {
        p[999] = (unsigned char)tid;
        s->ptr[tid] = p;
    }
}

Test(exec, scratch_is_aligned_and_private_per_thread)
{
    ck_exec_ctx *ctx = ck_exec_create(2);
    scratch_probe s = {ctx, {0}, 0};
    ctx->parallel_for(ctx, 64, 1, take_scratch, &s);
    cr_assert_eq(atomic_load(&s.misaligned), 0);
    void *shared = ctx->scratch(ctx, CK_SCRATCH_SHARED, 1 << 20);
    cr_assert_not_null(shared);
    cr_assert(shared != s.ptr[0] && shared != s.ptr[1]);
    if (s.ptr[0] && s.ptr[1])
        cr_assert(s.ptr[0] != s.ptr[1]);
    cr_assert_null(ctx->scratch(ctx, 7, 16), "a tid beyond n_threads gets no buffer");
    ck_exec_destroy(ctx);
}

Test(exec, zero_threads_means_all_cpus)
{
    ck_exec_ctx *ctx = ck_exec_create(0);
    cr_assert(ctx->n_threads >= 1);
    ck_exec_destroy(ctx);
}

/* The workers' kernel thread ids: one per worker, none the caller's, each
 * a live thread of this process — and the one that ran an item. */
static void record_tid(void *arg, size_t b, size_t e, int tid)
{
    atomic_int *seen = arg;
    if (tid > 0)
        atomic_store(&seen[tid - 1], (int)syscall(SYS_gettid));
    (void)b;
    (void)e;
}

Test(exec, thread_ids_are_the_workers)
{
    ck_exec_ctx *one = ck_exec_create(1);
    int tids[8] = {0};
    cr_assert_eq(ck_exec_thread_ids(one, tids, 8), 0, "a one-thread context has no workers");
    ck_exec_destroy(one);

    ck_exec_ctx *ctx = ck_exec_create(3);
    cr_assert_eq(ck_exec_thread_ids(ctx, tids, 8), 2, "started on demand: two workers");
    cr_assert_eq(ck_exec_thread_ids(ctx, tids + 2, 1), 1, "at most cap");
    cr_assert_eq(tids[2], tids[0], "the same threads when asked again");
    int self = (int)syscall(SYS_gettid);
    cr_assert(tids[0] != tids[1] && tids[0] != self && tids[1] != self);
    for (int i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d", tids[i]);
        cr_assert_eq(access(path, F_OK), 0, "%s is a thread of this process", path);
    }
    atomic_int seen[2] = {0};
    for (int rep = 0; rep < 200 && !(atomic_load(&seen[0]) && atomic_load(&seen[1])); rep++)
        ctx->parallel_for(ctx, 64, 1, record_tid, seen);
    for (int i = 0; i < 2; i++)
        cr_assert(atomic_load(&seen[i]) == 0 || atomic_load(&seen[i]) == tids[i],
                  "worker %d ran on thread %d, listed as %d", i + 1, atomic_load(&seen[i]), tids[i]);
    ck_exec_destroy(ctx);
}
