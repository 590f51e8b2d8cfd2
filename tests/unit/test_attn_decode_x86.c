/* The avx512 decode attention (T < 8 without scores or probs: key chunks
 * merged per head, plugins/avx512/f32-attention-decode-avx512.c) at shapes
 * the parity gate's edge suite does not reach: caches of several chunks
 * with a ragged last block, every score-tile width (GQA groups of 1, 2, 3,
 * 4, 6, 8 and 16 query heads), MHA with 32 kv heads (LLaMA-7B) and its
 * own path's tails, head dims
 * that are no multiple of 16, windows that start inside a chunk,
 * soft-capping, and a few query rows.
 * Each is judged as the gate judges a case: within the error model's bound
 * of the scalar reference, the same bits on every thread count, nothing
 * written outside its buffers, inputs kept. Skipped where the CPU cannot
 * run avx512. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/ck_case.h"
#include "ck_host.h"
#include "parity/parity.h"

#define SEED 11

static ck_plugin *load(const char *name)
{
    char err[512];
    ck_plugin *p = ck_plugin_load(name, err, sizeof err);
    cr_assert_not_null(p, "loading %s: %s", name, err);
    return p;
}

/* Decode at q_pos = S - T over S cached keys. */
static void check(size_t T, size_t S, size_t H, size_t Hkv, size_t hd, size_t window, float softcap)
{
    ck_shape s = {.op = CK_OP_ATTENTION,
                  .dtype = CK_DTYPE_F32,
                  .T = T,
                  .S = S,
                  .pos = S - T,
                  .n_heads = H,
                  .n_kv_heads = Hkv,
                  .head_dim = hd,
                  .causal = 1,
                  .window = window,
                  .softcap = softcap};
    ck_plugin *avx = load("avx512"), *scalar = load("scalar");
    if (!avx->runnable) {
        ck_plugin_unload(avx);
        ck_plugin_unload(scalar);
        cr_skip_test("avx512 cannot run on this CPU");
    }
    char err[512];
    ck_case *c = ck_case_create(&s, SEED, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    const ck_kernel_desc *rk = ck_plugin_kernel(scalar, CK_OP_ATTENTION, CK_DTYPE_F32, 0);
    const ck_kernel_desc *k = ck_plugin_kernel(avx, CK_OP_ATTENTION, CK_DTYPE_F32, 0);
    cr_assert(rk && k);
    ck_run_outcome ref, got;
    ck_parity_run_isolated(c, rk, 2, CK_RUN_KEEP_SCRATCH, 60.0, &ref);
    cr_assert(ref.state == CK_RUN_DONE && ref.kernel_rc == CK_OK, "the reference failed: %s", ref.error);
    ref.bounds = ck_error_bounds(c, &ref);
    cr_assert_not_null(ref.bounds);
    ck_parity_run_isolated(c, k, 2, CK_RUN_CHECK_THREADS | CK_RUN_CHECK_GUARDS, 60.0, &got);
    ck_parity_result r;
    memset(&r, 0, sizeof r);
    ck_shape_describe(&s, r.shape_desc, sizeof r.shape_desc);
    snprintf(r.plugin, sizeof r.plugin, "avx512");
    snprintf(r.kernel, sizeof r.kernel, "%s", k->name);
    ck_parity_judge(c, &ref, &got, &r);
    cr_assert_eq(r.verdict, CK_PASS, "%s: %s", r.shape_desc, r.detail);
    ck_run_outcome_free(&got);
    ck_run_outcome_free(&ref);
    ck_case_free(c);
    ck_plugin_unload(avx);
    ck_plugin_unload(scalar);
}

/* LLaMA-3-8B's decode step, the benchmark shape (every chunk
 * full), and a cache 37 keys longer: a ragged last chunk whose last block
 * has 5 keys. */
Test(attn_decode_x86, llama_shape_and_a_ragged_cache)
{
    check(1, 2048, 32, 8, 128, 0, 0.0f);
    check(1, 2085, 32, 8, 128, 0, 0.0f);
}

/* LLaMA-7B's decode step (issue 17's whole-model target): no GQA, so 32
 * kv heads of one query head each, a key row of 16 KiB of K and 16 of V;
 * its model file's full cache, a cache of many chunks with a last block of
 * five keys, and two query rows of which the first misses the last key. */
Test(attn_decode_x86, mha_with_many_kv_heads)
{
    check(1, 1024, 32, 32, 128, 0, 0.0f);
    check(1, 2085, 32, 32, 128, 0, 0.0f);
    check(2, 601, 32, 32, 128, 0, 0.0f);
}

/* MHA takes its own path (key rows in address order, 16 heads per tile,
 * blocks of 32 keys): heads that fill no tile (20: a tile of 4), head dims
 * with a tail and beyond 128, a window that starts inside a block, the
 * cap, and two query rows. */
Test(attn_decode_x86, mha_tails_windows_and_softcap)
{
    check(1, 333, 20, 20, 17, 0, 0.0f);
    check(1, 290, 20, 20, 100, 0, 0.0f);
    check(1, 170, 3, 3, 257, 0, 0.0f);
    check(1, 1000, 16, 16, 128, 77, 30.0f);
    check(2, 300, 5, 5, 64, 0, 0.5f);
}

/* Query heads per kv head decide the score tile (4, 2 or 1 heads at a
 * time); every group size with heads that are no multiple of 16. */
Test(attn_decode_x86, every_group_size)
{
    static const size_t hkv_h[][2] = {{4, 4}, {3, 6}, {2, 6}, {2, 8}, {1, 6}, {2, 16}, {1, 16}, {3, 15}};
    for (size_t i = 0; i < sizeof hkv_h / sizeof hkv_h[0]; i++)
        check(1, 300 + 17 * i, hkv_h[i][1], hkv_h[i][0], 64, 0, 0.0f);
}

/* Head dims with a tail of 1 to 15 floats, and one of two vector blocks. */
Test(attn_decode_x86, ragged_head_dims)
{
    static const size_t hd[] = {17, 80, 100, 127, 257};
    for (size_t i = 0; i < sizeof hd / sizeof hd[0]; i++)
        check(1, 700 + i, 8, 2, hd[i], 0, 0.0f);
}

/* Windows that begin inside a chunk and inside a block, a window of one
 * key, and the cap (also both together). */
Test(attn_decode_x86, windows_and_softcap)
{
    check(1, 1000, 8, 2, 128, 300, 0.0f);
    check(1, 1000, 8, 2, 96, 37, 30.0f);
    check(1, 513, 12, 4, 64, 1, 0.0f);
    check(1, 2048, 32, 8, 128, 0, 50.0f);
    check(1, 129, 4, 1, 80, 0, 0.02f);
}

/* A few query rows (a chunk after a cache): each row its own causal end. */
Test(attn_decode_x86, several_rows)
{
    check(3, 600, 8, 2, 128, 0, 0.0f);
    check(7, 260, 6, 3, 40, 50, 30.0f);
}

/* Each thread takes a run of consecutive chunks and, when its run is done,
 * the other runs' chunks from their back. These hosts force the two ways
 * of stealing whatever the timing: one that runs every run on the calling
 * thread (a worker that never came: run 0 takes all of run 1 from its
 * back, then run 1 finds nothing), and one that runs the runs last first
 * (run n-1 then takes the others'). Both must give the bits of one thread. */
static void in_one_call(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    (void)ctx;
    (void)grain;
    fn(arg, 0, n, 0);
}

static void last_first(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    (void)ctx;
    (void)grain;
    for (size_t i = n; i-- > 0;)
        fn(arg, i, i + 1, 0);
}

/* The output buffers one after the other into dst; their bytes. */
static size_t outputs(const ck_case *c, unsigned char *dst, size_t cap)
{
    size_t off = 0;
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        cr_assert_leq(off + b->bytes, cap);
        memcpy(dst + off, b->data, b->bytes);
        off += b->bytes;
    }
    return off;
}

static void check_stealing(size_t T, size_t S, int n_threads)
{
    ck_shape s = {.op = CK_OP_ATTENTION,
                  .dtype = CK_DTYPE_F32,
                  .T = T,
                  .S = S,
                  .pos = S - T,
                  .n_heads = 32,
                  .n_kv_heads = 8,
                  .head_dim = 128,
                  .causal = 1};
    ck_plugin *avx = load("avx512");
    if (!avx->runnable) {
        ck_plugin_unload(avx);
        cr_skip_test("avx512 cannot run on this CPU");
    }
    char err[512];
    ck_case *c = ck_case_create(&s, SEED, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    const ck_kernel_desc *k = ck_plugin_kernel(avx, CK_OP_ATTENTION, CK_DTYPE_F32, 0);
    cr_assert_not_null(k);
    const size_t cap = ck_case_bytes(c);
    unsigned char *want = malloc(cap), *got = malloc(cap);
    cr_assert(want && got);
    ck_exec_ctx *one = ck_exec_create(1), *pool = ck_exec_create(n_threads);
    cr_assert(one && pool);
    cr_assert_eq(ck_case_run(c, k, one), CK_OK);
    const size_t n = outputs(c, want, cap);
    void (*const hosts[])(const ck_exec_ctx *, size_t, size_t, ck_range_fn, void *) = {in_one_call, last_first};
    for (size_t h = 0; h < 2; h++) {
        ck_exec_ctx ctx = *pool;
        ctx.parallel_for = hosts[h];
        /* NaN in the partials a run leaves: a chunk no run computes shows */
        void *shared = ctx.scratch(&ctx, CK_SCRATCH_SHARED, (size_t)4 << 20);
        cr_assert_not_null(shared);
        memset(shared, 0xff, (size_t)4 << 20);
        cr_assert_eq(ck_case_run(c, k, &ctx), CK_OK);
        cr_assert_eq(outputs(c, got, cap), n);
        cr_assert(memcmp(want, got, n) == 0, "T=%zu S=%zu on %d threads, host %zu: not the bits of one thread", T, S,
                  n_threads, h);
    }
    ck_exec_destroy(pool);
    ck_exec_destroy(one);
    free(want);
    free(got);
    ck_case_free(c);
    ck_plugin_unload(avx);
}

Test(attn_decode_x86, runs_taken_from_the_back)
{
    check_stealing(1, 2085, 2);
    check_stealing(3, 600, 3);
    check_stealing(1, 601, 7);
}
