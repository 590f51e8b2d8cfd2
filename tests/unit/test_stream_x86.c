/* The avx512 elementwise ops and rmsnorm write outputs of at least 16 MiB
 * with streaming stores after an unaligned head (CK512_STREAM_BYTES). The
 * parity gate reduces elementwise ops below that size, so here a large
 * output (unaligned, odd length, in place too) must equal, bit for bit, the
 * same kernel run over slices small enough to take the ordinary stores
 * (each element is computed the same way on either path), and add must
 * equal a + b exactly. Skipped where the CPU cannot run avx512. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"

#define BIG ((size_t)(4u << 20) + 37) /* floats: past 16 MiB, not a multiple of 16 */
#define SLICE ((size_t)1 << 20)

static ck_plugin *avx512(void)
{
    char err[512];
    ck_plugin *p = ck_plugin_load("avx512", err, sizeof err);
    cr_assert_not_null(p, "loading avx512: %s", err);
    if (!p->runnable) {
        ck_plugin_unload(p);
        return NULL;
    }
    return p;
}

static ck_kernel_fn kernel(const ck_plugin *p, uint32_t op)
{
    const ck_kernel_desc *k = ck_plugin_kernel(p, op, CK_DTYPE_F32, 0);
    cr_assert_not_null(k, "avx512 offers no %s kernel", ck_op_name(op));
    return k->fn;
}

/* n + 3 seeded floats in [-4, 4); callers use p + 3 (not 64-byte aligned). */
static float *values(size_t n, uint32_t seed)
{
    float *p = malloc((n + 3) * sizeof *p);
    cr_assert_not_null(p);
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n + 3; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)(s >> 8) / 2097152.0f - 4.0f;
    }
    return p;
}

static void binary_op(uint32_t op)
{
    ck_plugin *p = avx512();
    if (!p)
        cr_skip_test("avx512 cannot run on this CPU");
    ck_exec_ctx *ctx = ck_exec_create(2);
    float *a = values(BIG, 1), *b = values(BIG, 2), *big = values(BIG, 3), *small = values(BIG, 4);
    ck_kernel_fn fn = kernel(p, op);
    ck_swiglu_args g = {a + 3, b + 3, big + 3, BIG};
    ck_add_args s = {a + 3, b + 3, big + 3, BIG};
    cr_assert_eq(fn(ctx, op == CK_OP_ADD ? (const void *)&s : (const void *)&g), CK_OK);
    for (size_t i = 0; i < BIG; i += SLICE) {
        size_t n = BIG - i < SLICE ? BIG - i : SLICE;
        ck_swiglu_args gs = {a + 3 + i, b + 3 + i, small + 3 + i, n};
        ck_add_args ss = {a + 3 + i, b + 3 + i, small + 3 + i, n};
        cr_assert_eq(fn(ctx, op == CK_OP_ADD ? (const void *)&ss : (const void *)&gs), CK_OK);
    }
    cr_assert_eq(memcmp(big + 3, small + 3, BIG * sizeof(float)), 0, "%s: streamed output differs", ck_op_name(op));
    if (op == CK_OP_ADD) {
        for (size_t i = 0; i < BIG; i++)
            cr_assert_eq(big[3 + i], a[3 + i] + b[3 + i], "add[%zu]", i);
        ck_add_args inplace = {a + 3, b + 3, a + 3, BIG}; /* y aliases a */
        cr_assert_eq(fn(ctx, &inplace), CK_OK);
        cr_assert_eq(memcmp(a + 3, big + 3, BIG * sizeof(float)), 0, "add in place differs");
    }
    free(a);
    free(b);
    free(big);
    free(small);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

Test(stream_x86, add_streams_exactly)
{
    binary_op(CK_OP_ADD);
}

Test(stream_x86, swiglu_streams_as_it_computes_slices)
{
    binary_op(CK_OP_SWIGLU);
}

Test(stream_x86, geglu_streams_as_it_computes_slices)
{
    binary_op(CK_OP_GEGLU);
}

Test(stream_x86, gelu_and_rmsnorm_stream_as_they_compute_slices)
{
    ck_plugin *p = avx512();
    if (!p)
        cr_skip_test("avx512 cannot run on this CPU");
    ck_exec_ctx *ctx = ck_exec_create(2);
    float *x = values(BIG, 5), *big = values(BIG, 6), *small = values(BIG, 7);
    ck_kernel_fn gelu = kernel(p, CK_OP_GELU);
    ck_unary_args u = {x + 3, big + 3, BIG};
    cr_assert_eq(gelu(ctx, &u), CK_OK);
    for (size_t i = 0; i < BIG; i += SLICE) {
        ck_unary_args us = {x + 3 + i, small + 3 + i, BIG - i < SLICE ? BIG - i : SLICE};
        cr_assert_eq(gelu(ctx, &us), CK_OK);
    }
    cr_assert_eq(memcmp(big + 3, small + 3, BIG * sizeof(float)), 0, "gelu: streamed output differs");

    const size_t D = 4099, T = BIG / D; /* rows not a multiple of the vector width */
    float *gamma = values(D, 8);
    ck_kernel_fn norm = kernel(p, CK_OP_RMSNORM);
    ck_norm_args n = {.x = x + 3, .gamma = gamma + 3, .y = big + 3, .T = T, .D = D, .eps = 1e-5f};
    cr_assert_eq(norm(ctx, &n), CK_OK);
    for (size_t t = 0; t < T; t += 200) {
        ck_norm_args ns = n;
        ns.x = x + 3 + t * D;
        ns.y = small + 3 + t * D;
        ns.T = T - t < 200 ? T - t : 200;
        cr_assert_eq(norm(ctx, &ns), CK_OK);
    }
    cr_assert_eq(memcmp(big + 3, small + 3, T * D * sizeof(float)), 0, "rmsnorm: streamed output differs");
    free(gamma);
    free(x);
    free(big);
    free(small);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

/* The CLIP activations write through the same streaming range as gelu: the
 * streamed output equals the same kernel's output computed in slices below
 * the threshold, bit for bit, from an unaligned start. */
Test(stream_x86, gelu_erf_and_quick_gelu_stream_as_they_compute_slices)
{
    ck_plugin *p = avx512();
    if (!p)
        cr_skip_test("avx512 cannot run on this CPU");
    ck_exec_ctx *ctx = ck_exec_create(2);
    float *x = values(BIG, 9), *big = values(BIG, 10), *small = values(BIG, 11);
    static const uint32_t ops[] = {CK_OP_GELU_ERF, CK_OP_QUICK_GELU};
    for (size_t o = 0; o < 2; o++) {
        ck_kernel_fn fn = kernel(p, ops[o]);
        ck_unary_args u = {x + 3, big + 3, BIG};
        cr_assert_eq(fn(ctx, &u), CK_OK);
        for (size_t i = 0; i < BIG; i += SLICE) {
            ck_unary_args us = {x + 3 + i, small + 3 + i, BIG - i < SLICE ? BIG - i : SLICE};
            cr_assert_eq(fn(ctx, &us), CK_OK);
        }
        cr_assert_eq(memcmp(big + 3, small + 3, BIG * sizeof(float)), 0, "%s: streamed output differs",
                     ck_op_name(ops[o]));
    }
    free(x);
    free(big);
    free(small);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

/* A streamed y whose rows are 64-byte aligned (D a multiple of 16) takes
 * the pipelined loop (the next row's sum of squares taken while this one is
 * scaled): the same bits as slices on the ordinary stores, out of place and
 * in place; the last row of each chunk has no next row to sum. */
Test(stream_x86, rmsnorm_pipelined_rows_match_slices)
{
    ck_plugin *p = avx512();
    if (!p)
        cr_skip_test("avx512 cannot run on this CPU");
    ck_exec_ctx *ctx = ck_exec_create(2);
    const size_t D = 4112, T = BIG / D + 1; /* 257 vectors: a 16-lane tail after the 64-lane blocks */
    cr_assert_geq(T * D * sizeof(float), (size_t)16 << 20, "the output must reach the streaming size");
    float *src = values(T * D, 9), *gamma = values(D, 10), *want = values(T * D, 11);
    float *x = aligned_alloc(64, T * D * sizeof(float)), *y = aligned_alloc(64, T * D * sizeof(float));
    cr_assert(x && y);
    memcpy(x, src + 3, T * D * sizeof(float));
    ck_kernel_fn norm = kernel(p, CK_OP_RMSNORM);
    ck_norm_args n = {.x = x, .gamma = gamma + 3, .y = y, .T = T, .D = D, .eps = 1e-5f};
    cr_assert_eq(norm(ctx, &n), CK_OK);
    for (size_t t = 0; t < T; t += 200) {
        ck_norm_args ns = n;
        ns.x = x + t * D;
        ns.y = want + 3 + t * D;
        ns.T = T - t < 200 ? T - t : 200;
        cr_assert_eq(norm(ctx, &ns), CK_OK);
    }
    cr_assert_eq(memcmp(y, want + 3, T * D * sizeof(float)), 0, "rmsnorm: pipelined output differs");
    n.y = x; /* in place */
    cr_assert_eq(norm(ctx, &n), CK_OK);
    cr_assert_eq(memcmp(x, want + 3, T * D * sizeof(float)), 0, "rmsnorm in place: pipelined output differs");
    free(x);
    free(y);
    free(src);
    free(gamma);
    free(want);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}
