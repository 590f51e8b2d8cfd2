/* The host's argument rules (ck_op_check_args, core/args_check.c) refuse
 * exactly what docs/ops.md refuses: each case starts from valid arguments,
 * breaks one rule, and expects that rule's sentence; the valid arguments
 * and the allowed aliasing pass. And the contract docs/plugin.md gives
 * kernels: refused arguments never reach one (a plugin that counts calls). */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/ck_case.h"
#include "ck_host.h"

static float buf[4096];

static void expect_ok(uint32_t op, const void *args)
{
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_op_check_args(op, args, err, sizeof err), 0, "%s refused: %s", ck_op_name(op), err);
}

static void expect_refused(uint32_t op, const void *args, const char *what)
{
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_op_check_args(op, args, err, sizeof err), -1, "%s accepted: expected '%s'", ck_op_name(op), what);
    cr_assert(strstr(err, what), "%s: expected '%s' in '%s'", ck_op_name(op), what, err);
    cr_assert(strncmp(err, ck_op_name(op), strlen(ck_op_name(op))) == 0, "the line names the op: %s", err);
}

static ck_norm_args norm(void)
{
    return (ck_norm_args){buf, buf + 1024, buf + 2048, NULL, 4, 16, 1e-5f};
}

Test(args_check, norm)
{
    ck_norm_args a = norm();
    expect_ok(CK_OP_RMSNORM, &a);
    a.y = (float *)a.x; /* may alias x */
    expect_ok(CK_OP_RMSNORM, &a);
    a.y = buf + 3; /* but not a shifted x */
    expect_refused(CK_OP_RMSNORM, &a, "y partly overlaps x");
    a = norm();
    a.gamma = NULL;
    expect_refused(CK_OP_LAYERNORM, &a, "gamma is NULL with work to do");
    a.T = 0; /* nothing to do: NULL is fine */
    expect_ok(CK_OP_LAYERNORM, &a);
}

static ck_linear_args linear(void)
{
    return (ck_linear_args){buf, buf + 512, NULL, buf + 1024, 4, 32, 8, CK_DTYPE_F32};
}

Test(args_check, linear)
{
    ck_linear_args a = linear();
    expect_ok(CK_OP_LINEAR, &a);
    a.y = buf + 64; /* y [4, 8] inside x [4, 32] */
    expect_refused(CK_OP_LINEAR, &a, "y overlaps x, which it may not alias");
    a = linear();
    a.w_dtype = CK_DTYPE_I32;
    expect_refused(CK_OP_LINEAR, &a, "w_dtype");
    a = linear();
    a.w_dtype = CK_DTYPE_Q8_0;
    a.K = 33;
    expect_refused(CK_OP_LINEAR, &a, "multiple of 32");
    a = linear();
    a.w = NULL;
    expect_refused(CK_OP_LINEAR, &a, "w is NULL");
    a.K = 0; /* y = bias: no weights read */
    expect_ok(CK_OP_LINEAR, &a);
}

Test(args_check, qkv_heads_and_outputs)
{
    ck_qkv_args a = {buf,        buf,        buf, buf, NULL, NULL, NULL, buf + 1024,
                     buf + 2048, buf + 3072, 2,   8,   4,    2,    8,    CK_DTYPE_F32};
    expect_ok(CK_OP_QKV, &a);
    a.n_kv_heads = 3;
    expect_refused(CK_OP_QKV, &a, "n_kv_heads (3) must be >= 1 and divide n_heads (4)");
    a.n_kv_heads = 2;
    a.k = a.q + 8; /* k inside q */
    expect_refused(CK_OP_QKV, &a, "q overlaps k");
}

Test(args_check, rope)
{
    ck_rope_args a = {buf, buf + 512, buf + 1024, buf + 2048, 4, 2, 1, 8, 0, 16, CK_ROPE_NEOX, 0};
    expect_ok(CK_OP_ROPE, &a);
    expect_ok(CK_OP_ROPE_BWD, &a);
    a.head_dim = 7;
    expect_refused(CK_OP_ROPE, &a, "head_dim 7 is odd");
    a.head_dim = 8;
    a.pos_offset = 13; /* rows 13..16, the table has 16 */
    expect_refused(CK_OP_ROPE, &a, "beyond max_pos 16");
    a.pos_offset = 0;
    a.pairing = 9;
    expect_refused(CK_OP_ROPE_BWD, &a, "pairing 9");
}

/* rotary_dim: 0 (all of head_dim) or even in [2, head_dim]; broken once each. */
Test(args_check, rope_rotary_dim)
{
    ck_rope_args a = {buf, buf + 512, buf + 1024, buf + 2048, 4, 2, 1, 8, 0, 16, CK_ROPE_GPTJ, 2};
    expect_ok(CK_OP_ROPE, &a);
    a.rotary_dim = 8;
    expect_ok(CK_OP_ROPE, &a);
    a.rotary_dim = 3;
    expect_refused(CK_OP_ROPE, &a, "rotary_dim 3: expected 0 (all of head_dim) or an even number in [2, head_dim 8]");
    a.rotary_dim = 10;
    expect_refused(CK_OP_ROPE_BWD, &a, "rotary_dim 10");
    ck_fused_qkv_rope_args f = {
        {buf, buf, buf, buf, NULL, NULL, NULL, buf + 1024, buf + 2048, buf + 3072, 2, 8, 4, 2, 8, CK_DTYPE_F32}, a};
    expect_refused(CK_OP_QKV_ROPE, &f, "rotary_dim 10");
}

/* window only with causal; softcap finite and >= 0; broken once each. */
Test(args_check, attention_window_and_softcap)
{
    ck_attention_args a = {buf, buf + 512, buf + 1024, buf + 2048, NULL, NULL, 2, 3, 4, 2, 8, 0, 1, 0.35f, 1, 50.0f};
    expect_ok(CK_OP_ATTENTION, &a);
    a.causal = 0;
    expect_refused(CK_OP_ATTENTION, &a, "window 1 on a bidirectional attention");
    a.causal = 1;
    a.softcap = -1.0f;
    expect_refused(CK_OP_ATTENTION, &a, "softcap -1: expected 0 (none) or a finite positive cap");
    a.softcap = INFINITY;
    expect_refused(CK_OP_ATTENTION, &a, "softcap inf");
    a.softcap = NAN;
    expect_refused(CK_OP_ATTENTION, &a, "softcap nan");
    a.softcap = 0.0f;
    ck_fused_attn_proj_args p = {a, {0}};
    p.attn.causal = 0;
    expect_refused(CK_OP_ATTN_PROJ, &p, "window 1 on a bidirectional attention");
}

Test(args_check, attention)
{
    ck_attention_args a = {buf, buf + 512, buf + 1024, buf + 2048, NULL, NULL, 2, 3, 4, 2, 8, 0, 1, 0.35f, 0, 0.0f};
    expect_ok(CK_OP_ATTENTION, &a);
    a.scores = buf + 3000;
    expect_refused(CK_OP_ATTENTION, &a, "scores and probs must both be given");
    a.scores = NULL;
    a.out = (float *)a.q;
    expect_refused(CK_OP_ATTENTION, &a, "out overlaps q");
    a.out = buf + 2048;
    a.k = NULL;
    expect_refused(CK_OP_ATTENTION, &a, "k is NULL");
    a.S = 0; /* nothing to attend to: out = 0 */
    expect_ok(CK_OP_ATTENTION, &a);
}

Test(args_check, elementwise_aliasing)
{
    ck_add_args add = {buf, buf + 100, buf, 64};
    expect_ok(CK_OP_ADD, &add); /* y == a */
    add.y = buf + 101;
    expect_refused(CK_OP_ADD, &add, "y partly overlaps b");
    ck_swiglu_args sw = {buf, NULL, buf + 200, 10};
    expect_refused(CK_OP_SWIGLU, &sw, "up is NULL");
    ck_unary_args g = {buf, buf + 1, 10};
    expect_refused(CK_OP_GELU, &g, "y partly overlaps x");
}

Test(args_check, adam_embedding_quant)
{
    ck_adam_args a = {buf, buf + 100, buf + 200, buf + 300, 50, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1, 0.1f, 0.001f};
    expect_ok(CK_OP_ADAM, &a);
    a.step = 0;
    expect_refused(CK_OP_ADAM, &a, "step is 0");
    a.step = 1;
    a.bc2 = 0;
    expect_refused(CK_OP_ADAM, &a, "bc1 (0.1) and bc2 (0) must be in (0, 1]");
    int32_t ids[2] = {0, 1};
    ck_embedding_args e = {ids, buf, buf + 1000, 2, 0, 16, CK_DTYPE_F32};
    expect_refused(CK_OP_EMBEDDING, &e, "vocab is 0");
    ck_quant_args q = {buf, buf + 1000, 48, CK_DTYPE_Q8_0};
    expect_refused(CK_OP_QUANTIZE, &q, "n (48) is not a multiple of 32");
}

Test(args_check, fused_ops_check_their_members)
{
    ck_fused_add_norm_args a = {{buf, buf + 64, buf + 128, 64}, norm(), CK_NORM_RMS};
    a.norm.x = buf + 128;
    a.norm.y = buf + 1024;
    expect_ok(CK_OP_ADD_NORM, &a);
    a.norm.gamma = NULL;
    expect_refused(CK_OP_ADD_NORM, &a, "gamma is NULL");
    ck_fused_attn_proj_args p = {{buf, buf + 512, buf + 1024, buf + 2048, NULL, NULL, 2, 3, 4, 2, 8, 0, 1, 0.35f, 0, 0},
                                 linear()};
    p.proj.x = buf + 2048;
    p.proj.K = 32;
    p.proj.y = buf + 3000;
    expect_ok(CK_OP_ATTN_PROJ, &p);
    p.proj.w_dtype = 0;
    expect_refused(CK_OP_ATTN_PROJ, &p, "w_dtype 0");
}

Test(args_check, unknown_op_and_missing_struct)
{
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_op_check_args(CK_OP_COUNT + 1, buf, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown op id"), "%s", err);
    cr_assert_eq(ck_op_check_args(CK_OP_ADD, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "no argument struct"), "%s", err);
}

Test(args_check, fused_kinds_are_the_hosts)
{
    ck_fused_add_norm_args a = {{buf, buf + 64, buf + 128, 64}, norm(), 7};
    a.norm.x = buf + 128;
    a.norm.y = buf + 1024;
    expect_refused(CK_OP_ADD_NORM, &a, "norm_kind 7");
}

/* act_down's kinds 1-3 (gelu, gelu_erf, quick_gelu) read the gelu member;
 * swiglu's member is then not looked at; 4 is no kind. */
Test(args_check, act_down_kinds_read_their_own_member)
{
    for (uint32_t kind = CK_ACTIVATION_GELU; kind <= CK_ACTIVATION_QUICK_GELU; kind++) {
        ck_fused_act_down_args a = {.act_kind = kind,
                                    .gelu = {buf, buf + 64, 16},
                                    .down = {buf + 64, buf + 256, NULL, buf + 1024, 1, 16, 8, CK_DTYPE_F32}};
        expect_ok(CK_OP_ACT_DOWN, &a);
        a.gelu.x = NULL;
        expect_refused(CK_OP_ACT_DOWN, &a, "x");
    }
    ck_fused_act_down_args a = {.act_kind = 4,
                                .gelu = {buf, buf + 64, 16},
                                .down = {buf + 64, buf + 256, NULL, buf + 1024, 1, 16, 8, CK_DTYPE_F32}};
    expect_refused(CK_OP_ACT_DOWN, &a, "act_kind 4");
}

/* ---- the contract: kernels may trust their arguments, because refused ones never reach them ---- */

static ck_plugin *record_plugin(int **calls)
{
    const char *dir = getenv("CK_TEST_PLUGIN_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/libck_record_calls.so", dir ? dir : "build/tests/plugins");
    ck_plugin *p = ck_plugin_load(path, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD); /* the loader's own copy */
    cr_assert_not_null(h, "%s", dlerror());
    *calls = dlsym(h, "ck_test_record_calls");
    cr_assert_not_null(*calls);
    dlclose(h);
    return p;
}

Test(args_check, refused_arguments_never_reach_the_kernel)
{
    int *calls;
    ck_plugin *p = record_plugin(&calls);
    const ck_kernel_desc *add = ck_plugin_kernel(p, CK_OP_ADD, CK_DTYPE_F32, 0);
    const ck_kernel_desc *quant = ck_plugin_kernel(p, CK_OP_QUANTIZE, CK_DTYPE_Q8_0, 0);
    cr_assert(add && quant);
    ck_exec_ctx *ctx = ck_exec_create(1);
    char err[CK_ERR_LEN];
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {1, 1, 1, 1, 1, 1, 1, 1}, y[9] = {0};
    ck_add_args null_y = {a, b, NULL, 8};
    ck_add_args shifted = {a, b, a + 1, 7}; /* y partly overlaps a */
    unsigned char blocks[64];
    ck_quant_args partial = {a, blocks, 8, CK_DTYPE_Q8_0}; /* n not a multiple of 32 */
    cr_assert_eq(ck_kernel_call_checked(add, ctx, &null_y, err, sizeof err), -1);
    cr_assert(strstr(err, "y is NULL"), "%s", err);
    cr_assert_eq(ck_kernel_call_checked(add, ctx, &shifted, err, sizeof err), -1);
    cr_assert(strstr(err, "partly overlaps"), "%s", err);
    cr_assert_eq(ck_kernel_call_checked(quant, ctx, &partial, err, sizeof err), -1);
    cr_assert(strstr(err, "not a multiple of 32"), "%s", err);
    cr_assert_eq(*calls, 0, "a refused call reached the kernel %d times", *calls);
    ck_add_args good = {a, b, y, 8};
    cr_assert_eq(ck_kernel_call_checked(add, ctx, &good, err, sizeof err), CK_OK);
    cr_assert_eq(*calls, 1);
    cr_assert_eq(y[7], 9.0f);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

/* The harness runs a kernel only on a case whose arguments it built and
 * checked: a bad shape is refused at ck_case_create, and the kernel never
 * sees it. */
Test(args_check, harness_cases_run_kernels_on_checked_arguments_only)
{
    int *calls;
    ck_plugin *p = record_plugin(&calls);
    const ck_kernel_desc *add = ck_plugin_kernel(p, CK_OP_ADD, CK_DTYPE_F32, 0);
    ck_exec_ctx *ctx = ck_exec_create(1);
    char err[CK_ERR_LEN];
    ck_shape bad = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = 0};
    cr_assert_null(ck_case_create(&bad, 1, err, sizeof err));
    ck_shape s = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = 33};
    ck_case *c = ck_case_create(&s, 1, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    cr_assert_eq(ck_op_check_args(CK_OP_ADD, ck_case_args(c), err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_case_run(c, add, ctx), CK_OK);
    cr_assert_eq(*calls, 1);
    ck_case_free(c);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}
