/* The backward kernels of the avx2 and avx512 plugins at shapes large enough
 * to take their parallel paths (the parity gate's edge suite is small
 * enough that they run on one thread): on the parity inputs, each must give
 * the same bits on 1 and on 2 threads, stay within its op's parity bound of
 * the scalar reference (exact ops: equal), leave no output element
 * unwritten, keep its inputs and write nothing outside its buffers. Shapes
 * have ragged widths (not a multiple of either vector width) and GQA.
 * Plugins this CPU cannot run are skipped. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cases/ck_case.h"
#include "ck_host.h"

#define SEED 7

static ck_plugin *load(const char *name)
{
    char err[512];
    ck_plugin *p = ck_plugin_load(name, err, sizeof err);
    cr_assert_not_null(p, "loading %s: %s", name, err);
    return p;
}

/* Every written float of the case (OUT and INOUT buffers), in buffer order. */
static float *outputs(const ck_case *c, size_t *n)
{
    size_t total = 0, at = 0;
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_input(b) || b->role == CK_BUF_INOUT)
            total += b->count;
    }
    float *out = malloc((total + 1) * sizeof *out);
    cr_assert_not_null(out);
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (ck_case_buf_is_input(b) && b->role != CK_BUF_INOUT)
            continue;
        for (size_t k = 0; k < b->count; k++)
            cr_assert(b->role != CK_BUF_OUT || !ck_case_poisoned(b, k), "%s[%zu] was never written", b->name, k);
        memcpy(out + at, b->data, b->bytes);
        at += b->count;
    }
    *n = total;
    return out;
}

static float *run(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx, const char *what, size_t *n)
{
    char msg[512];
    cr_assert_eq(ck_case_run(c, k, ctx), CK_OK, "%s: %s refused the case", what, k->name);
    cr_assert_eq(ck_case_check_guards(c, msg, sizeof msg), 0, "%s: %s", what, msg);
    cr_assert_eq(ck_case_check_inputs(c, msg, sizeof msg), 0, "%s: %s", what, msg);
    return outputs(c, n);
}

static void check_shape(const ck_shape *s)
{
    static const char *const names[] = {"avx2", "avx512"};
    char err[512], what[160];
    ck_shape_describe(s, what, sizeof what);
    ck_case *c = ck_case_create(s, SEED, err, sizeof err);
    cr_assert_not_null(c, "%s: %s", what, err);
    ck_plugin *scalar = load("scalar");
    ck_exec_ctx *one = ck_exec_create(1), *two = ck_exec_create(2);
    cr_assert(one && two);
    const ck_kernel_desc *rk = ck_plugin_kernel(scalar, s->op, CK_DTYPE_F32, 0);
    cr_assert_not_null(rk, "scalar has no %s", ck_op_name(s->op));
    size_t n_ref, n1, n2;
    float *ref = run(c, rk, one, what, &n_ref);
    ck_tolerance tol = ck_op_tolerance(s->op, CK_DTYPE_F32);
    for (int i = 0; i < 2; i++) {
        ck_plugin *p = load(names[i]);
        if (!p->runnable) {
            ck_plugin_unload(p);
            continue;
        }
        const ck_kernel_desc *k = ck_plugin_kernel(p, s->op, CK_DTYPE_F32, 0);
        cr_assert_not_null(k, "%s has no %s kernel", names[i], ck_op_name(s->op));
        float *y2 = run(c, k, two, what, &n2), *y1 = run(c, k, one, what, &n1);
        cr_assert_eq(n2, n_ref);
        cr_assert_eq(memcmp(y1, y2, n1 * sizeof *y1), 0, "%s %s: 1 and 2 threads differ", names[i], what);
        for (size_t e = 0; e < n_ref; e++) {
            double d = fabs((double)y2[e] - (double)ref[e]);
            int ok = tol.cls == CK_PARITY_EXACT ? memcmp(&y2[e], &ref[e], sizeof(float)) == 0
                                                : d <= tol.atol + tol.rtol * fabs((double)ref[e]);
            cr_assert(ok, "%s %s: output float %zu is %.9g, reference %.9g", names[i], what, e, (double)y2[e],
                      (double)ref[e]);
        }
        free(y1);
        free(y2);
        ck_plugin_unload(p);
    }
    free(ref);
    ck_exec_destroy(one);
    ck_exec_destroy(two);
    ck_plugin_unload(scalar);
    ck_case_free(c);
}

Test(bwd_x86, norms)
{
    check_shape(&(ck_shape){.op = CK_OP_RMSNORM_BWD, .dtype = CK_DTYPE_F32, .T = 67, .D = 2053, .eps = 1e-5f});
    check_shape(
        &(ck_shape){.op = CK_OP_LAYERNORM_BWD, .dtype = CK_DTYPE_F32, .T = 67, .D = 2053, .eps = 1e-5f, .has_bias = 1});
}

Test(bwd_x86, linear_and_qkv)
{
    check_shape(&(ck_shape){.op = CK_OP_LINEAR_BWD, .dtype = CK_DTYPE_F32, .T = 45, .K = 301, .N = 259, .has_bias = 1});
    check_shape(&(ck_shape){.op = CK_OP_QKV_BWD,
                            .dtype = CK_DTYPE_F32,
                            .T = 29,
                            .D = 203,
                            .n_heads = 6,
                            .n_kv_heads = 2,
                            .head_dim = 36,
                            .has_bias = 1});
}

Test(bwd_x86, rope_exact)
{
    for (int pairing = CK_ROPE_NEOX; pairing <= CK_ROPE_GPTJ; pairing++)
        check_shape(&(ck_shape){.op = CK_OP_ROPE_BWD,
                                .dtype = CK_DTYPE_F32,
                                .T = 301,
                                .n_heads = 12,
                                .n_kv_heads = 4,
                                .head_dim = 90,
                                .pos = 5,
                                .max_pos = 400,
                                .pairing = pairing});
}

Test(bwd_x86, attention)
{
    for (int causal = 0; causal <= 1; causal++)
        for (int mat = 0; mat <= 1; mat++)
            check_shape(&(ck_shape){.op = CK_OP_ATTENTION_BWD,
                                    .dtype = CK_DTYPE_F32,
                                    .T = 41,
                                    .S = 53,
                                    .n_heads = 6,
                                    .n_kv_heads = 2,
                                    .head_dim = 40,
                                    .pos = 12,
                                    .causal = causal,
                                    .materialize = mat});
    /* a window that cuts rows inside the chunk, with and without a cap */
    for (int cap = 0; cap <= 1; cap++)
        check_shape(&(ck_shape){.op = CK_OP_ATTENTION_BWD,
                                .dtype = CK_DTYPE_F32,
                                .T = 41,
                                .S = 53,
                                .n_heads = 6,
                                .n_kv_heads = 2,
                                .head_dim = 40,
                                .pos = 12,
                                .causal = 1,
                                .materialize = cap,
                                .window = 9,
                                .softcap = cap ? 0.5f : 0.0f});
}

Test(bwd_x86, activations)
{
    check_shape(&(ck_shape){.op = CK_OP_SWIGLU_BWD, .dtype = CK_DTYPE_F32, .n = 100003});
    check_shape(&(ck_shape){.op = CK_OP_GELU_BWD, .dtype = CK_DTYPE_F32, .n = 100003});
    check_shape(&(ck_shape){.op = CK_OP_GEGLU_BWD, .dtype = CK_DTYPE_F32, .n = 100003});
}

/* Gates whose cube or square overflows f32: geglu_bwd saturates to
 * dgate = dy up (g >> 0) or 0 (g << 0), as the reference does, never NaN. */
Test(bwd_x86, geglu_bwd_saturates_without_nan)
{
    static const char *const names[] = {"scalar", "avx2", "avx512"};
    float g[] = {1e20f, -1e20f, 3e19f, -3e19f, 1e13f, -1e13f, 2.5f, 0.0f, -FLT_MAX};
    float up[9], dy[9], dg[3][9], du[3][9];
    for (int i = 0; i < 9; i++)
        up[i] = 0.5f + (float)i, dy[i] = 1.0f - 0.25f * (float)i;
    ck_exec_ctx *ctx = ck_exec_create(1);
    for (int p = 0; p < 3; p++) {
        ck_plugin *pl = load(names[p]);
        ck_swiglu_bwd_args a = {g, up, dy, dg[p], du[p], 9};
        if (pl->runnable)
            cr_assert_eq(ck_plugin_kernel(pl, CK_OP_GEGLU_BWD, CK_DTYPE_F32, 0)->fn(ctx, &a), CK_OK);
        else
            memcpy(dg[p], dg[0], sizeof dg[0]), memcpy(du[p], du[0], sizeof du[0]);
        ck_plugin_unload(pl);
        for (int i = 0; i < 9; i++) {
            cr_assert(isfinite(dg[p][i]) && isfinite(du[p][i]), "%s: g %g: dgate %g, dup %g", names[p], (double)g[i],
                      (double)dg[p][i], (double)du[p][i]);
            if (fabsf(g[i]) > 1e12f)
                cr_assert_eq(dg[p][i], g[i] > 0 ? dy[i] * up[i] : 0.0f, "%s: g %g: dgate %g", names[p], (double)g[i],
                             (double)dg[p][i]);
        }
    }
    ck_exec_destroy(ctx);
}

Test(bwd_x86, embedding_exact_and_cross_entropy)
{
    check_shape(&(ck_shape){.op = CK_OP_EMBEDDING_BWD, .dtype = CK_DTYPE_F32, .T = 1500, .vocab = 40, .D = 1001});
    check_shape(&(ck_shape){.op = CK_OP_CROSS_ENTROPY, .dtype = CK_DTYPE_F32, .T = 23, .vocab = 32003});
}
