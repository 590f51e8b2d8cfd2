/* The fused kernels of the avx2 and avx512 plugins against the same
 * plugin's unfused members, run in order: they compute the same sums in the
 * same order (the fusion only changes where rows live), so the results must
 * be identical bit for bit — including the shapes that take the streaming
 * stores (>= 16 MiB outputs), an in-place residual add (add.y == add.a),
 * rows that are not a multiple of the vector width, and row counts that do
 * and do not take the GEMM's packed path. (Parity against the scalar
 * reference, within tolerance, is the parity gate's job.) Plugins this CPU
 * cannot run are skipped. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"

static ck_plugin *load_runnable(const char *name)
{
    char err[512];
    ck_plugin *p = ck_plugin_load(name, err, sizeof err);
    cr_assert_not_null(p, "loading %s: %s", name, err);
    if (!p->runnable) {
        ck_plugin_unload(p);
        return NULL;
    }
    return p;
}

static ck_kernel_fn kernel(const ck_plugin *p, uint32_t op, uint32_t dtype, uint32_t flags)
{
    const ck_kernel_desc *k = ck_plugin_kernel(p, op, dtype, flags);
    cr_assert_not_null(k, "%s offers no %s kernel for dtype %u (flags %u)", p->desc->name, ck_op_name(op), dtype,
                       flags);
    return k->fn;
}

/* Seeded values in [-0.5, 0.5), 64-byte aligned (so large rows stream). */
static float *values(size_t n, uint32_t seed)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    cr_assert_not_null(p);
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

static uint16_t *bf16_values(size_t n, uint32_t seed)
{
    float *f = values(n, seed);
    uint16_t *h = malloc(n * sizeof *h);
    cr_assert_not_null(h);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &f[i], sizeof u);
        h[i] = (uint16_t)(u >> 16);
    }
    free(f);
    return h;
}

static void expect_same(const char *what, const float *want, const float *got, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&want[i], &got[i], sizeof(float)) != 0)
            cr_assert_fail("%s: element %zu is %.9g fused, %.9g unfused", what, i, (double)got[i], (double)want[i]);
}

static const char *const plugins[] = {"avx2", "avx512"};

static void check_add_norm(ck_plugin *p, ck_exec_ctx *ctx, size_t T, size_t D, uint32_t kind, int in_place)
{
    size_t n = T * D;
    float *a_ref = values(n, 1), *a = values(n, 1), *b = values(n, 2), *g = values(D, 3), *beta = values(D, 4);
    float *y_ref = values(n, 5), *y = values(n, 5), *out_ref = values(n, 6), *out = values(n, 6);
    const float *be = kind == CK_NORM_LAYER ? beta : NULL;
    ck_fused_add_norm_args ref = {
        {a_ref, b, in_place ? a_ref : y_ref, n}, {in_place ? a_ref : y_ref, out_ref, g, be, T, D, 1e-5f}, kind};
    ck_fused_add_norm_args f = {{a, b, in_place ? a : y, n}, {in_place ? a : y, out, g, be, T, D, 1e-5f}, kind};
    uint32_t norm_op = kind == CK_NORM_RMS ? CK_OP_RMSNORM : CK_OP_LAYERNORM;
    cr_assert_eq(kernel(p, CK_OP_ADD, CK_DTYPE_F32, 0)(ctx, &ref.add), CK_OK);
    cr_assert_eq(kernel(p, norm_op, CK_DTYPE_F32, 0)(ctx, &ref.norm), CK_OK);
    cr_assert_eq(kernel(p, CK_OP_ADD_NORM, CK_DTYPE_F32, CK_KF_FUSED)(ctx, &f), CK_OK);
    expect_same("add.y", ref.add.y, f.add.y, n);
    expect_same("norm.y", out_ref, out, n);
    free(a_ref), free(a), free(b), free(g), free(beta), free(y_ref), free(y), free(out_ref), free(out);
}

Test(fused_x86, add_norm_equals_the_unfused_pair)
{
    /* 2048 x 4096: outputs of 32 MiB (streamed); 7 x 1000 and 3 x 13: tails */
    const size_t shapes[][2] = {{2048, 4096}, {7, 1000}, {3, 13}};
    ck_exec_ctx *ctx = ck_exec_create(2);
    for (size_t i = 0; i < 2; i++) {
        ck_plugin *p = load_runnable(plugins[i]);
        if (!p)
            continue;
        for (size_t s = 0; s < 3; s++)
            for (uint32_t kind = CK_NORM_RMS; kind <= CK_NORM_LAYER; kind++)
                for (int in_place = 0; in_place < 2; in_place++)
                    check_add_norm(p, ctx, shapes[s][0], shapes[s][1], kind, in_place);
        ck_plugin_unload(p);
    }
    ck_exec_destroy(ctx);
}

Test(fused_x86, embed_norm_equals_the_unfused_pair)
{
    const size_t shapes[][2] = {{1100, 4096}, {5, 37}};
    const size_t vocab = 61;
    ck_exec_ctx *ctx = ck_exec_create(2);
    for (size_t i = 0; i < 2; i++) {
        ck_plugin *p = load_runnable(plugins[i]);
        if (!p)
            continue;
        for (size_t s = 0; s < 2; s++) {
            size_t T = shapes[s][0], D = shapes[s][1];
            int32_t *ids = malloc(T * sizeof *ids);
            for (size_t t = 0; t < T; t++)
                ids[t] = (int32_t)((t * 7919u) % vocab);
            uint16_t *table = bf16_values(vocab * D, 7);
            float *g = values(D, 8), *e_ref = values(T * D, 9), *e = values(T * D, 9);
            float *y_ref = values(T * D, 10), *y = values(T * D, 10);
            ck_fused_embed_norm_args ref = {
                {ids, table, e_ref, T, vocab, D, CK_DTYPE_BF16}, {e_ref, y_ref, g, NULL, T, D, 1e-5f}, CK_NORM_RMS};
            ck_fused_embed_norm_args f = {
                {ids, table, e, T, vocab, D, CK_DTYPE_BF16}, {e, y, g, NULL, T, D, 1e-5f}, CK_NORM_RMS};
            cr_assert_eq(kernel(p, CK_OP_EMBEDDING, CK_DTYPE_BF16, 0)(ctx, &ref.embed), CK_OK);
            cr_assert_eq(kernel(p, CK_OP_RMSNORM, CK_DTYPE_F32, 0)(ctx, &ref.norm), CK_OK);
            cr_assert_eq(kernel(p, CK_OP_EMBED_NORM, CK_DTYPE_BF16, CK_KF_FUSED)(ctx, &f), CK_OK);
            expect_same("embed.y", e_ref, e, T * D);
            expect_same("norm.y", y_ref, y, T * D);
            free(ids), free(table), free(g), free(e_ref), free(e), free(y_ref), free(y);
        }
        ck_plugin_unload(p);
    }
    ck_exec_destroy(ctx);
}

/* norm_qkv and act_down of avx512 (every act_kind): the rows are produced
 * into the packed x of the same GEMM the unfused linear runs. T = 2 takes the matvec (members
 * run unfused), 29 the packed path with a partial last group of 14 rows. */
Test(fused_x86, avx512_packed_fusions_equal_the_unfused_pairs)
{
    ck_plugin *p = load_runnable("avx512");
    if (!p)
        return;
    ck_exec_ctx *ctx = ck_exec_create(2);
    const size_t D = 72, H = 4, Hkv = 2, hd = 16, F = 100;
    for (size_t T = 2; T <= 29; T += 27) {
        float *x = values(T * D, 11), *g = values(D, 12), *beta = values(D, 13), *xn = values(T * D, 14);
        uint16_t *wq = bf16_values(H * hd * D, 15), *wk = bf16_values(Hkv * hd * D, 16),
                 *wv = bf16_values(Hkv * hd * D, 17);
        float *q[2], *k[2], *v[2];
        for (int r = 0; r < 2; r++)
            q[r] = values(T * H * hd, 18), k[r] = values(T * Hkv * hd, 19), v[r] = values(T * Hkv * hd, 20);
        ck_fused_norm_qkv_args nq[2];
        for (int r = 0; r < 2; r++)
            nq[r] = (ck_fused_norm_qkv_args){
                {x, xn, g, beta, T, D, 1e-5f},
                {xn, wq, wk, wv, NULL, NULL, NULL, q[r], k[r], v[r], T, D, H, Hkv, hd, CK_DTYPE_BF16},
                CK_NORM_LAYER};
        cr_assert_eq(kernel(p, CK_OP_LAYERNORM, CK_DTYPE_F32, 0)(ctx, &nq[0].norm), CK_OK);
        cr_assert_eq(kernel(p, CK_OP_QKV, CK_DTYPE_BF16, 0)(ctx, &nq[0].qkv), CK_OK);
        cr_assert_eq(kernel(p, CK_OP_NORM_QKV, CK_DTYPE_BF16, CK_KF_FUSED)(ctx, &nq[1]), CK_OK);
        expect_same("norm_qkv q", q[0], q[1], T * H * hd);
        expect_same("norm_qkv k", k[0], k[1], T * Hkv * hd);
        expect_same("norm_qkv v", v[0], v[1], T * Hkv * hd);

        float *gate = values(T * F, 21), *up = values(T * F, 22), *act = values(T * F, 23), *bias = values(D, 24);
        float *wd = values(D * F, 25), *down[2] = {values(T * D, 26), values(T * D, 26)}, *wide = values(T * F, 27);
        for (size_t i = 0; i < T * F; i++) /* the unary activations' tails too: |x| up to 12 */
            wide[i] *= 24.0f;
        for (uint32_t kind = CK_ACTIVATION_SWIGLU; kind <= CK_ACTIVATION_QUICK_GELU; kind++) {
            ck_fused_act_down_args ad[2];
            for (int r = 0; r < 2; r++)
                ad[r] = (ck_fused_act_down_args){.act_kind = kind,
                                                 .swiglu = {gate, up, act, T * F},
                                                 .gelu = {kind == CK_ACTIVATION_GELU ? gate : wide, act, T * F},
                                                 .down = {act, wd, bias, down[r], T, F, D, CK_DTYPE_F32}};
            uint32_t act_op = ck_activation_op(kind);
            const void *act_args =
                kind == CK_ACTIVATION_SWIGLU ? (const void *)&ad[0].swiglu : (const void *)&ad[0].gelu;
            cr_assert_eq(kernel(p, act_op, CK_DTYPE_F32, 0)(ctx, act_args), CK_OK);
            cr_assert_eq(kernel(p, CK_OP_LINEAR, CK_DTYPE_F32, 0)(ctx, &ad[0].down), CK_OK);
            cr_assert_eq(kernel(p, CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED)(ctx, &ad[1]), CK_OK);
            expect_same(ck_op_name(act_op), down[0], down[1], T * D);
        }
        free(x), free(g), free(beta), free(xn), free(wq), free(wk), free(wv);
        for (int r = 0; r < 2; r++)
            free(q[r]), free(k[r]), free(v[r]), free(down[r]);
        free(gate), free(up), free(act), free(bias), free(wd), free(wide);
    }
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}
