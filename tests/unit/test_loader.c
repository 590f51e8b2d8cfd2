/* The loader refuses each malformed plugin with its own sentence, and loads
 * a correct one. The bad plugins are built from tests/plugins/. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ck_host.h"

static const char *plugin_dir(void)
{
    const char *d = getenv("CK_TEST_PLUGIN_DIR");
    return d ? d : "build/tests/plugins";
}

static ck_plugin *load_test_plugin(const char *name, char *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/libck_%s.so", plugin_dir(), name);
    return ck_plugin_load(path, err, CK_ERR_LEN);
}

static void expect_refused(const char *name, const char *reason)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = load_test_plugin(name, err);
    cr_assert_null(p, "%s should be refused", name);
    cr_assert(strstr(err, reason) != NULL, "%s: expected \"%s\" in \"%s\"", name, reason, err);
    cr_assert(strstr(err, name) != NULL, "the message names the file: %s", err);
    cr_assert(strchr(err, '\n') == NULL, "one line: %s", err);
}

Test(loader, refuses_wrong_abi_version)
{
    expect_refused("bad_abi", "ABI version 42, this host speaks 1");
}
Test(loader, refuses_bad_struct_size)
{
    expect_refused("small_struct", "description is 24 bytes");
}
Test(loader, refuses_missing_entry_symbol)
{
    expect_refused("no_entry", "no entry symbol 'ck_plugin_entry'");
}
Test(loader, refuses_null_kernel_pointer)
{
    expect_refused("null_kernel", "kernel #1 (f32-gelu/bad) has a null function pointer");
}
Test(loader, refuses_a_plugin_whose_only_kernel_has_an_unknown_op_id)
{
    expect_refused("unknown_op", "has no kernel this host knows (kernel #0 (f32-future/bad): unknown op id");
}
Test(loader, refuses_a_description_without_kernel_size)
{
    expect_refused("no_kernel_size", "set .kernel_size = sizeof(ck_kernel_desc)");
}

/* ABI rule (docs/plugin.md): a newer plugin of the same ABI version loads;
 * the entries this host does not know are skipped and named. */
Test(loader, loads_a_newer_plugin_and_skips_what_it_does_not_know)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = load_test_plugin("newer_abi", err);
    cr_assert_not_null(p, "%s", err);
    cr_assert(p->runnable, "%s", p->why);
    cr_assert_eq(p->n_kernels, 2);
    cr_assert_eq(p->n_skipped, 2);
    cr_assert_not_null(ck_plugin_kernel(p, CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED),
                       "args revision 2: its attn_proj kernel loads");
    cr_assert(strstr(p->skipped[0], "kernel #0 (f32-futureop/newer): unknown op id"), "%s", p->skipped[0]);
    cr_assert(strstr(p->skipped[1], "kernel #2 (f8-linear/newer): unknown dtype id"), "%s", p->skipped[1]);
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_ADD, CK_DTYPE_F32, 0);
    cr_assert_not_null(k);
    cr_assert_str_eq(k->name, "f32-add/newer");
    float a[3] = {1, 2, 3}, b[3] = {0.5f, 0.25f, -3}, y[3] = {0};
    ck_add_args args = {a, b, y, 3};
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(k->fn(ctx, &args), CK_OK);
    cr_assert(y[0] == 1.5f && y[1] == 2.25f && y[2] == 0.0f);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

Test(loader, loads_a_plugin_built_before_kernel_size_at_the_original_stride)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = load_test_plugin("older_abi", err);
    cr_assert_not_null(p, "%s", err);
    cr_assert_eq(p->n_kernels, 2);
    cr_assert_eq(p->n_skipped, 1);
    cr_assert(strstr(p->skipped[0],
                     "kernel #2 (f32-attn_proj/older): built against attention args before revision 2; skipped"),
              "%s", p->skipped[0]);
    cr_assert_null(ck_plugin_kernel(p, CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED));
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_ADD, CK_DTYPE_F32, CK_KF_INPLACE);
    cr_assert_not_null(k);
    cr_assert_str_eq(k->name, "f32-add-inplace/older");
    ck_plugin_unload(p);
}

/* A description of the kernel_size era ends before args_revision: its
 * attn_proj kernel (ck_attention_args grew, .proj moved) is skipped and
 * named, its other kernels load, and `ckbench list` shows the reason. */
Test(loader, skips_attn_proj_of_a_plugin_built_before_args_revision_2)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = load_test_plugin("pre_rev2", err);
    cr_assert_not_null(p, "%s", err);
    cr_assert_eq(p->n_kernels, 1);
    cr_assert_eq(p->n_skipped, 1);
    cr_assert(
        strstr(p->skipped[0], "kernel #0 (f32-attn_proj/pre_rev2): built against attention args before revision 2"),
        "%s", p->skipped[0]);
    cr_assert_null(ck_plugin_kernel(p, CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED));
    cr_assert_not_null(ck_plugin_kernel(p, CK_OP_ATTENTION, CK_DTYPE_F32, 0));
    ck_plugin_unload(p);
    char cmd[1200], out[4096] = {0};
    const char *bin = getenv("CK_CKBENCH") ? getenv("CK_CKBENCH") : "build/bin/ckbench";
    snprintf(cmd, sizeof cmd, "%s list --plugin %s/libck_pre_rev2.so 2>&1", bin, plugin_dir());
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    pclose(f);
    cr_assert(
        strstr(out, "skipped: kernel #0 (f32-attn_proj/pre_rev2): built against attention args before revision 2"),
        "ckbench list does not name it:\n%s", out);
}

/* The host rule for capability flags: a kernel that does not claim the
 * window / softcap (or partial rope) is passed over for scalar's when the
 * arguments use it, and taken when they do not. */
Test(loader, arguments_with_a_window_go_only_to_a_kernel_that_claims_it)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = load_test_plugin("pre_rev2", err);
    cr_assert_not_null(p, "%s", err);
    ck_plugin *ref = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(ref, "%s", err);
    ck_attention_args a = {.T = 1, .S = 4, .n_heads = 1, .n_kv_heads = 1, .head_dim = 8, .causal = 1, .scale = 1};
    int fallback = -1;
    char why[256];
    const ck_kernel_desc *k =
        ck_kernel_for_args(p, ref, CK_OP_ATTENTION, CK_DTYPE_F32, 0, &a, &fallback, why, sizeof why);
    cr_assert(k && !strcmp(k->name, "f32-attention/pre_rev2") && fallback == 0);
    a.window = 2;
    k = ck_kernel_for_args(p, ref, CK_OP_ATTENTION, CK_DTYPE_F32, 0, &a, &fallback, why, sizeof why);
    cr_assert(k && !strcmp(k->name, "f32-attention/scalar") && fallback == 1, "%s", k ? k->name : "NULL");
    cr_assert(strstr(why, "f32-attention/pre_rev2 does not claim window/softcap"), "%s", why);
    a.window = 0, a.softcap = 30.0f;
    k = ck_kernel_for_args(p, ref, CK_OP_ATTENTION, CK_DTYPE_F32, 0, &a, &fallback, why, sizeof why);
    cr_assert(k && (k->flags & CK_KF_ATTN_WINDOW_SOFTCAP) && fallback == 1);
    ck_rope_args r = {.T = 1, .n_heads = 1, .head_dim = 8, .max_pos = 1, .rotary_dim = 8};
    cr_assert_eq(ck_args_needs(CK_OP_ROPE, &r), 0, "rotary_dim == head_dim is full rope");
    r.rotary_dim = 4;
    cr_assert_eq(ck_args_needs(CK_OP_ROPE, &r), CK_KF_ROPE_PARTIAL);
    cr_assert_eq(ck_args_needs(CK_OP_ROPE_BWD, &r), CK_KF_ROPE_PARTIAL);
    ck_plugin_unload(p);
    ck_plugin_unload(ref);
}
/* act_down's gelu_erf and quick_gelu need CK_KF_ACT_DOWN_UNARY; swiglu and
 * gelu need nothing. old_act_down's kernel lacks the flag: the unary kinds
 * go to scalar's (ck_kernel_for_args, the host rule; the fusion pass keeps
 * them from being asked at all), with a message naming flag and macro. */
Test(loader, act_down_gelu_erf_and_quick_gelu_need_the_unary_flag)
{
    char err[CK_ERR_LEN], why[256];
    ck_plugin *p = load_test_plugin("old_act_down", err);
    cr_assert_not_null(p, "%s", err);
    ck_plugin *ref = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(ref, "%s", err);
    const uint32_t need[] = {[CK_ACTIVATION_SWIGLU] = 0,
                             [CK_ACTIVATION_GELU] = 0,
                             [CK_ACTIVATION_GELU_ERF] = CK_KF_ACT_DOWN_UNARY,
                             [CK_ACTIVATION_QUICK_GELU] = CK_KF_ACT_DOWN_UNARY};
    for (uint32_t kind = 0; kind < 4; kind++) {
        ck_fused_act_down_args a = {.act_kind = kind};
        cr_assert_eq(ck_args_needs(CK_OP_ACT_DOWN, &a), need[kind], "act_kind %u", kind);
        int fallback = -1;
        const ck_kernel_desc *k =
            ck_kernel_for_args(p, ref, CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED, &a, &fallback, why, sizeof why);
        cr_assert_not_null(k);
        cr_assert_str_eq(k->name, need[kind] ? "f32-act_down/scalar" : "f32-act_down/before-unary");
        cr_assert_eq(fallback, need[kind] != 0);
        if (need[kind])
            cr_assert_str_eq(why, "f32-act_down/before-unary does not claim act_down gelu_erf/quick_gelu "
                                  "(CK_KF_ACT_DOWN_UNARY)");
        cr_assert(ck_kernel_honours(ck_plugin_kernel(ref, CK_OP_ACT_DOWN, CK_DTYPE_BF16, CK_KF_FUSED), &a));
    }
    cr_assert_eq(ck_kernel_variant(CK_KF_FUSED | CK_KF_ACT_DOWN_UNARY), CK_KF_FUSED, "a capability, not a variant");
    ck_plugin_unload(p);
    ck_plugin_unload(ref);
}

/* The capability names come from one table: each flag alone, combinations
 * joined, every flag of CK_KF_CAPABILITIES named. */
Test(loader, capability_names_cover_every_flag_and_join_combinations)
{
    cr_assert_str_eq(ck_capability_name(0), "none");
    cr_assert_str_eq(ck_capability_name(CK_KF_ATTN_WINDOW_SOFTCAP), "window/softcap");
    cr_assert_str_eq(ck_capability_name(CK_KF_ROPE_PARTIAL), "partial rotary_dim");
    cr_assert_str_eq(ck_capability_name(CK_KF_ACT_DOWN_UNARY), "act_down gelu_erf/quick_gelu");
    cr_assert_str_eq(ck_capability_name(CK_KF_ATTN_WINDOW_SOFTCAP | CK_KF_ACT_DOWN_UNARY),
                     "window/softcap and act_down gelu_erf/quick_gelu");
    cr_assert_str_eq(ck_capability_name(CK_KF_CAPABILITIES),
                     "window/softcap and partial rotary_dim and act_down gelu_erf/quick_gelu");
    for (uint32_t bit = 1; bit; bit <<= 1)
        if (CK_KF_CAPABILITIES & bit)
            cr_assert_str_neq(ck_capability_name(bit), "none", "flag %#x has no name", bit);
}

Test(loader, refuses_duplicate_kernels)
{
    expect_refused("dup_kernel", "kernel #1 (f32-add/two) duplicates f32-add/one");
}
Test(loader, refuses_empty_table)
{
    expect_refused("empty_table", "empty kernel table");
}
Test(loader, refuses_non_elf_file)
{
    expect_refused("not_elf", "not a shared object (no ELF header)");
}

Test(loader, refuses_missing_file)
{
    char err[CK_ERR_LEN];
    cr_assert_null(ck_plugin_load("/nonexistent/libck_x.so", err, sizeof err));
    cr_assert(strstr(err, "/nonexistent/libck_x.so: no such file") != NULL, "%s", err);
}

Test(loader, refuses_unknown_name)
{
    char err[CK_ERR_LEN];
    cr_assert_null(ck_plugin_load("no_such_plugin_anywhere", err, sizeof err));
    cr_assert(strstr(err, "no plugin of that name") != NULL, "%s", err);
    cr_assert_null(ck_plugin_load("bad name!", err, sizeof err));
    cr_assert(strstr(err, "not a plugin name") != NULL, "%s", err);
    cr_assert(!strstr(err, "chain"), "no list in it, no hint: %s", err);
    /* a list where one plugin is wanted: the hint names the other syntax */
    cr_assert_null(ck_plugin_load("quant,avx512", err, sizeof err));
    cr_assert(strstr(err, "takes one plugin") && strstr(err, "P1+P2"), "%s", err);
    cr_assert_null(ck_plugin_load("quant+avx512", err, sizeof err));
    cr_assert(strstr(err, "run, diverge and bench --e2e only"), "%s", err);
}

Test(loader, refuses_text_file_given_by_path)
{
    char err[CK_ERR_LEN];
    char path[] = "/tmp/ck_loader_textXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert(write(fd, "hello\n", 6) == 6);
    close(fd);
    cr_assert_null(ck_plugin_load(path, err, sizeof err));
    unlink(path);
    cr_assert(strstr(err, "no ELF header") != NULL, "%s", err);
}

Test(loader, probe_refusal_keeps_reason)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = load_test_plugin("probe_no", err);
    cr_assert_not_null(p, "%s", err);
    cr_assert(!p->runnable);
    cr_assert_str_eq(p->why, "needs the unicorn extension");
    ck_plugin_unload(p);
}

Test(loader, loads_a_correct_plugin_and_finds_its_kernel)
{
    char err[CK_ERR_LEN];
    ck_plugin *p = load_test_plugin("good_add", err);
    cr_assert_not_null(p, "%s", err);
    cr_assert(p->runnable, "%s", p->why);
    cr_assert_str_eq(p->desc->name, "good_add");
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_ADD, CK_DTYPE_F32, CK_KF_INPLACE);
    cr_assert_not_null(k);
    cr_assert_null(ck_plugin_kernel(p, CK_OP_ADD, CK_DTYPE_BF16, CK_KF_INPLACE));
    cr_assert_null(ck_plugin_kernel(p, CK_OP_GELU, CK_DTYPE_F32, 0));
    float a[3] = {1, 2, 3}, b[3] = {0.5f, 0.25f, -3}, y[3];
    ck_add_args args = {a, b, y, 3};
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(k->fn(ctx, &args), CK_OK);
    cr_assert(y[0] == 1.5f && y[1] == 2.25f && y[2] == 0.0f);
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

Test(loader, finds_plugins_by_name_through_CK_PLUGIN_PATH)
{
    char err[CK_ERR_LEN];
    setenv("CK_PLUGIN_PATH", plugin_dir(), 1);
    ck_plugin *p = ck_plugin_load("good_add", err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    ck_plugin_unload(p);
    char **paths = NULL;
    size_t n = ck_plugin_discover(&paths);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= strstr(paths[i], "libck_good_add.so") != NULL;
    ck_plugin_paths_free(paths, n);
    cr_assert(found, "discover lists libck_good_add.so from CK_PLUGIN_PATH");
}

Test(loader_hostile, probe_that_crashes_is_refused_not_fatal)
{
    expect_refused("probe_crash", "crashed while loading (signal 11");
}

Test(loader_hostile, init_that_hangs_is_refused_after_a_timeout, .timeout = 30)
{
    setenv("CK_LOAD_TIMEOUT_MS", "500", 1);
    expect_refused("init_hang", "did not finish loading (entry, probe or init) within 0.5 s");
}

Test(loader_hostile, name_clashing_with_a_builtin_is_refused)
{
    char builtin[1200];
    snprintf(builtin, sizeof builtin, "%s/libck_scalar.so", ck_plugin_default_dir());
    if (access(builtin, F_OK) != 0)
        cr_skip_test("no built-in scalar plugin at %s to clash with", builtin);
    expect_refused("name_clash", "plugin name 'scalar' clashes with the built-in plugin");
}

/* `ckbench list` names the skipped kernels, so a user sees what will not run. */
Test(loader, list_names_the_kernels_it_skipped)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s list --plugin %s/libck_newer_abi.so", getenv("CK_CKBENCH"),
             getenv("CK_TEST_PLUGIN_DIR"));
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    cr_assert_eq(pclose(f), 0, "%s", out);
    cr_assert(strstr(out, "kernels: 2"), "%s", out);
    cr_assert(strstr(out, "skipped: kernel #0 (f32-futureop/newer): unknown op id"), "%s", out);
    cr_assert(strstr(out, "skipped: kernel #2 (f8-linear/newer): unknown dtype id"), "%s", out);
}
