/* The host's execution context: every item is visited exactly once, on a
 * valid thread id, for any thread count; scratch is aligned and private. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

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
