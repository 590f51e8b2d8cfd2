/* The parity gate can fail: each defect of tests/plugins/broken.c is caught
 * for its own reason and the run still finishes with its summary line; a
 * correct plugin passes; --dump, --json and --junit files are readable; bad
 * usage exits 2 with one line. Also the comparison rules and ck_case (the
 * seeded inputs and the guards) on their own. */
#include <criterion/criterion.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "cases/ck_case.h"
#include "parity/compare.h"
#include "parity/parity.h"

/* ---- running ckbench ---------------------------------------------------------------------- */

static const char *ckbench(void)
{
    const char *p = getenv("CK_CKBENCH");
    return p ? p : "build/bin/ckbench";
}

static const char *test_plugin(const char *name)
{
    static char path[1024];
    const char *d = getenv("CK_TEST_PLUGIN_DIR");
    snprintf(path, sizeof path, "%s/libck_%s.so", d ? d : "build/tests/plugins", name);
    return path;
}

static char *make_tmpdir(void)
{
    char *t = strdup("/tmp/ck_parity_test_XXXXXX");
    cr_assert_not_null(mkdtemp(t));
    return t;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

typedef struct run_result {
    int status;
    char *out, *err;
} run_result;

/* Run `ckbench parity <args>`; capture stdout and stderr. */
static run_result run_parity(const char *args)
{
    char *dir = make_tmpdir();
    char cmd[4096], outp[256], errp[256];
    snprintf(outp, sizeof outp, "%s/stdout", dir);
    snprintf(errp, sizeof errp, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "'%s' parity %s >'%s' 2>'%s'", ckbench(), args, outp, errp);
    int st = system(cmd);
    run_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(outp), slurp(errp)};
    cr_assert_not_null(r.out);
    cr_assert_not_null(r.err);
    unlink(outp);
    unlink(errp);
    rmdir(dir);
    free(dir);
    return r;
}

static int has_summary_line(const char *out)
{
    regex_t re;
    regcomp(&re, "^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$", REG_EXTENDED | REG_NEWLINE);
    int ok = regexec(&re, out, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* Run a test plugin on some ops, return the parsed --json. */
/* The gate on a test plugin by name, or on a built plugin ("=scalar"). */
static cJSON *run_plugin(const char *plugin, const char *ops, const char *extra, run_result *rr)
{
    char *dir = make_tmpdir();
    char json[256], args[2048];
    snprintf(json, sizeof json, "%s/parity.json", dir);
    snprintf(args, sizeof args, "--plugin '%s' --op %s --timeout 2 --json '%s' %s",
             plugin[0] == '=' ? plugin + 1 : test_plugin(plugin), ops, json, extra);
    *rr = run_parity(args);
    char *text = slurp(json);
    cr_assert_not_null(text, "--json was not written; stderr: %s", rr->err);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root);
    free(text);
    unlink(json);
    rmdir(dir);
    free(dir);
    return root;
}

static cJSON *run_broken(const char *ops, const char *extra, run_result *rr)
{
    return run_plugin("broken", ops, extra, rr);
}

static const cJSON *find_case(const cJSON *root, const char *instance)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(c, "op_instance"));
        if (s && !strcmp(s, instance))
            return c;
    }
    cr_assert_fail("no case '%s' in the JSON", instance);
    return NULL;
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    cr_assert_not_null(s, "no string '%s'", key);
    return s;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    cr_assert(cJSON_IsNumber(v), "no number '%s'", key);
    return v->valuedouble;
}

static const cJSON *first_output(const cJSON *c)
{
    const cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "outputs"), 0);
    cr_assert_not_null(o);
    return o;
}

static void expect_failure_of(const cJSON *root, const char *plugin, const char *instance, const char *reason,
                              const char *in_detail)
{
    const cJSON *c = find_case(root, instance);
    cr_expect_str_eq(str(c, "verdict"), "FAIL", "%s", instance);
    cr_expect_str_eq(str(c, "reason"), reason, "%s: %s", instance, str(c, "detail"));
    cr_expect(strstr(str(c, "detail"), in_detail) != NULL, "%s: expected \"%s\" in \"%s\"", instance, in_detail,
              str(c, "detail"));
    char who[96];
    snprintf(who, sizeof who, "plugin '%s'", plugin);
    cr_expect(strstr(str(c, "detail"), who) != NULL, "the detail names the plugin");
}

static void expect_failure(const cJSON *root, const char *instance, const char *reason, const char *in_detail)
{
    expect_failure_of(root, "broken", instance, reason, in_detail);
}

static void free_run(run_result *r, cJSON *root)
{
    free(r->out);
    free(r->err);
    cJSON_Delete(root);
}

/* ---- each defect of the broken plugin ------------------------------------------------------- */

Test(parity_broken, wrong_tail_is_reported_unwritten)
{
    run_result r;
    cJSON *root = run_broken("rmsnorm", "", &r);
    cr_expect_eq(r.status, 1);
    cr_expect(has_summary_line(r.out), "summary line missing:\n%s", r.out);
    expect_failure(root, "rmsnorm T=1 D=17", "unwritten", "'y'[16] was never written");
    expect_failure(root, "rmsnorm T=1 D=4095", "unwritten", "'y'[4080]");
    cr_expect_eq(num(first_output(find_case(root, "rmsnorm T=3 D=4095")), "bad_elements"), 3 * 15);
    cr_expect_str_eq(str(find_case(root, "rmsnorm T=1 D=64"), "verdict"), "PASS", "no tail when D %% 16 == 0");
    free_run(&r, root);
}

Test(parity_broken, one_ulp_off_in_exact_op)
{
    run_result r;
    cJSON *root = run_broken("add", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "add n=4095", "mismatch", "not bit-identical: first at [2047]");
    const cJSON *o = first_output(find_case(root, "add n=4095"));
    cr_expect_eq(num(o, "first_bad_ulp"), 1);
    cr_expect_eq(num(o, "bad_elements"), 1);
    cr_expect_eq(num(o, "first_bad_index"), 2047);
    free_run(&r, root);
}

Test(parity_broken, write_past_the_end)
{
    run_result r;
    cJSON *root = run_broken("gelu", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "gelu n=17", "oob-write", "past the end of 'y'");
    expect_failure(root, "gelu n=17", "oob-write", "gelu");
    free_run(&r, root);
}

Test(parity_broken, segfault_is_a_crash_with_its_signal)
{
    run_result r;
    cJSON *root = run_broken("swiglu", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "swiglu n=7", "crash", "signal 11");
    cr_expect(has_summary_line(r.out), "the run finishes after a crash:\n%s", r.out);
    free_run(&r, root);
}

Test(parity_broken, nan_output)
{
    run_result r;
    cJSON *root = run_broken("layernorm", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "layernorm T=1 D=17", "nan", "'y'[8] is NaN");
    free_run(&r, root);
}

Test(parity_broken, infinite_loop_times_out)
{
    run_result r;
    cJSON *root = run_broken("embedding", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "embedding f32 T=1 vocab=50 D=7", "timeout", "did not return within 2 s");
    expect_failure(root, "embedding f32 T=9 vocab=50 D=17", "timeout", "not run, it timed out 2 times");
    cr_expect(has_summary_line(r.out), "the run finishes after a hang:\n%s", r.out);
    free_run(&r, root);
}

Test(parity_broken, modified_input)
{
    run_result r;
    cJSON *root = run_broken("linear", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "linear f32 T=3 K=64 N=33", "input-modified", "read-only input 'x'");
    free_run(&r, root);
}

Test(parity_broken, fused_kernel_must_write_the_residual)
{
    run_result r;
    cJSON *root = run_broken("add_norm", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "add_norm f32 = add n=100 + rmsnorm T=1 D=100", "unwritten", "'add.y'[0] was never written");
    const cJSON *declined = find_case(root, "add_norm f32 = add n=300 + layernorm T=3 D=100 +bias");
    cr_expect_str_eq(str(declined, "verdict"), "SKIP", "a kernel may decline (CK_E_UNSUPPORTED)");
    cr_expect_str_eq(str(declined, "reason"), "unsupported");
    free_run(&r, root);
}

Test(parity_broken, result_depending_on_the_work_split)
{
    run_result r;
    cJSON *root = run_broken("linear", "--threads 2", &r);
    cr_expect_eq(r.status, 1);
    expect_failure(root, "linear bf16 T=3 K=64 N=33", "split-dependent", "differs between 1 and 2 logical threads");
    free_run(&r, root);
}

/* ---- window, softcap, partial rotary (issue 18): tests/plugins/broken_window.c ----------------- */

static void expect_pass(const cJSON *root, const char *instance)
{
    const cJSON *c = find_case(root, instance);
    cr_expect_str_eq(str(c, "verdict"), "PASS", "%s: %s", instance, str(c, "detail"));
}

Test(parity_broken, window_off_by_one_fails_the_window_cases_only)
{
    run_result r;
    cJSON *root = run_plugin("broken_window", "attention", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_window", "attention causal T=17 S=17 H=8 Hkv=8 hd=64 pos=0 W=1", "mismatch",
                      "kernel 'f32-attention/window-off-by-one'");
    expect_failure_of(root, "broken_window", "attention causal T=1 S=201 H=8 Hkv=8 hd=128 pos=200 W=33", "mismatch",
                      "'out' out of tolerance");
    /* a long cache: seen only where no few large keys take all the
     * probability (inputs=even-scores) */
    expect_failure_of(root, "broken_window",
                      "attention causal T=1 S=5000 H=8 Hkv=8 hd=64 pos=4999 W=4096 cap=50 inputs=even-scores",
                      "mismatch", "'out' out of tolerance");
    expect_pass(root, "attention causal T=1 S=5000 H=8 Hkv=8 hd=64 pos=4999 inputs=even-scores");
    expect_pass(root, "attention causal T=17 S=17 H=8 Hkv=8 hd=64 pos=0");
    expect_pass(root, "attention causal T=17 S=17 H=8 Hkv=8 hd=64 pos=0 W=40"); /* wider than S: no edge */
    free_run(&r, root);
}

Test(parity_broken, ignored_softcap_fails_the_capped_cases)
{
    run_result r;
    cJSON *root = run_plugin("broken_window", "attn_proj", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_window",
                      "attn_proj f32 = attention causal T=3 S=9 H=4 Hkv=2 hd=64 pos=6 W=4 cap=0.02 + linear f32 T=3 "
                      "K=256 N=100 +bias",
                      "mismatch", "kernel 'f32-attn_proj/ignores-softcap'");
    expect_pass(root, "attn_proj f32 = attention causal T=1 S=9 H=4 Hkv=2 hd=64 pos=8 + linear f32 T=1 K=256 N=100");
    free_run(&r, root);
}

Test(parity_broken, rope_past_rotary_dim_fails_the_partial_cases)
{
    run_result r;
    cJSON *root = run_plugin("broken_window", "rope", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_window", "rope neox T=5 H=4 Hkv=2 hd=80 pos=3 rd=32", "mismatch",
                      "'q' not bit-identical: first at [32]");
    expect_failure_of(root, "broken_window", "rope gptj T=1 H=4 Hkv=2 hd=96 pos=1000 rd=24", "mismatch",
                      "kernel 'f32-rope/past-rotary-dim'");
    expect_pass(root, "rope neox T=5 H=4 Hkv=1 hd=64 pos=0");
    expect_pass(root, "rope gptj T=5 H=4 Hkv=2 hd=64 pos=3 rd=64"); /* rotary_dim == head_dim: nothing past it */
    free_run(&r, root);
}

/* The backward of the trainable variants: tests/plugins/broken_bwd.c */
Test(parity_broken, attention_bwd_without_the_cap_slope_fails_the_capped_cases)
{
    run_result r;
    cJSON *root = run_plugin("broken_bwd", "attention_bwd", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_bwd", "attention_bwd causal T=17 S=17 H=4 Hkv=2 hd=80 pos=0 W=5 cap=0.02",
                      "mismatch", "kernel 'f32-attention_bwd/ignores-cap-slope'");
    expect_failure_of(root, "broken_bwd", "attention_bwd causal T=5 S=37 H=4 Hkv=1 hd=64 pos=32 W=4 cap=30", "mismatch",
                      "out of tolerance");
    expect_pass(root, "attention_bwd causal mat T=17 S=17 H=4 Hkv=4 hd=80 pos=0 W=5"); /* the window is right */
    expect_pass(root, "attention_bwd causal T=3 S=17 H=4 Hkv=1 hd=64 pos=14");
    free_run(&r, root);
}

Test(parity_broken, geglu_bwd_without_the_tanh_slope_term_fails)
{
    run_result r;
    cJSON *root = run_plugin("broken_bwd", "geglu_bwd", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_bwd", "geglu_bwd n=7", "mismatch", "'dgate' out of tolerance");
    expect_failure_of(root, "broken_bwd", "geglu_bwd n=4095", "mismatch", "kernel 'f32-geglu_bwd/drops-slope-term'");
    free_run(&r, root);
}

/* The CLIP activations' near neighbours: tests/plugins/broken_act.c. The
 * tanh form is within 5e-4 of erf gelu and quick_gelu's 1.7 within 4e-4 of
 * 1.702: the derived bounds must still name both, on the model-sized cases
 * and on the tails of the special inputs. */
Test(parity_broken, gelu_erf_in_the_tanh_form_and_quick_gelu_with_1_7_fail)
{
    run_result r;
    cJSON *root = run_plugin("broken_act", "gelu_erf,quick_gelu", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_act", "gelu_erf n=4095", "mismatch", "kernel 'f32-gelu_erf/tanh-form'");
    expect_failure_of(root, "broken_act", "gelu_erf n=67 inputs=erf-tails", "mismatch", "'y' out of tolerance");
    expect_failure_of(root, "broken_act", "quick_gelu n=4095", "mismatch", "kernel 'f32-quick_gelu/1.7'");
    expect_failure_of(root, "broken_act", "quick_gelu n=7", "mismatch", "'y' out of tolerance");
    free_run(&r, root);
}

/* act_down with gelu_erf and quick_gelu (CK_KF_ACT_DOWN_UNARY): broken_act's
 * act_down claims the flag and reads kinds 2 and 3 the other way round. The
 * gate names it on both kinds, at few rows and at more (a SIMD kernel's two
 * paths), and passes its right swiglu and gelu. */
Test(parity_broken, act_down_with_gelu_erf_and_quick_gelu_swapped_fails)
{
    run_result r;
    cJSON *root = run_plugin("broken_act", "act_down", "", &r);
    cr_expect_eq(r.status, 1);
    const char *kernel = "kernel 'f32-act_down/kinds-2-3-swapped'";
    expect_failure_of(root, "broken_act", "act_down f32 = gelu_erf n=72 + linear f32 T=1 K=72 N=100", "mismatch",
                      kernel);
    expect_failure_of(root, "broken_act", "act_down f32 = quick_gelu n=360 + linear f32 T=5 K=72 N=100", "mismatch",
                      "'down.y' out of tolerance");
    expect_failure_of(root, "broken_act", "act_down f32 = gelu_erf n=504 + linear f32 T=7 K=72 N=100 +bias", "mismatch",
                      kernel);
    expect_pass(root, "act_down f32 = swiglu n=72 + linear f32 T=1 K=72 N=100");
    expect_pass(root, "act_down f32 = gelu n=216 + linear f32 T=3 K=72 N=100 +bias");
    free_run(&r, root);
}

/* An f32 linear that finds its packed W again by address alone
 * (tests/plugins/stale_pack.c): right when called once, so the gate runs
 * each case first on other values in the same buffers and names the
 * reason. */
Test(parity_broken, kernel_keeping_state_between_calls_fails_as_stale)
{
    run_result r;
    cJSON *root = run_plugin("stale_pack", "linear", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "stale_pack", "linear f32 T=1 K=17 N=7 +bias", "stale-state",
                      "kernel 'f32-linear/packed-by-address'");
    expect_failure_of(root, "stale_pack", "linear f32 T=100 K=40 N=1030", "stale-state",
                      "right when called once, wrong after a call on other values in the same buffers");
    free_run(&r, root);
}

/* A q8_0 linear that widens f16 scales by shift and bias
 * (tests/plugins/broken_qscale.c): exact on normal scales, so it passes
 * every generated case; named on zero and subnormal scales, on the decode
 * and the gemm paths. */
Test(parity_broken, quant_scale_widened_by_shift_fails_on_zero_and_subnormal_scales)
{
    run_result r;
    cJSON *root = run_plugin("broken_qscale", "linear,dequantize,embedding", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_qscale", "linear q8_0 T=1 K=256 N=21 inputs=quant-scales", "mismatch",
                      "kernel 'q8_0-linear/f16-scale-by-shift'");
    expect_failure_of(root, "broken_qscale", "linear q8_0 T=20 K=256 N=21 inputs=quant-scales", "mismatch",
                      "'y' out of tolerance");
    expect_failure_of(root, "broken_qscale", "dequantize q8_0 n=768 inputs=quant-scales", "mismatch",
                      "kernel 'q8_0-dequantize/f16-scale-by-shift'");
    expect_failure_of(root, "broken_qscale", "embedding q8_0 T=9 vocab=50 D=96 inputs=quant-scales", "mismatch",
                      "kernel 'q8_0-embedding/f16-scale-by-shift'");
    expect_pass(root, "linear q8_0 T=16 K=128 N=31");
    expect_pass(root, "embedding q8_0 T=1 vocab=50 D=96");
    free_run(&r, root);
}

/* Linear kernels wrong only past their first block of rows (f32) or of
 * columns (bf16), a linear_bwd whose row sums stop after 64 rows:
 * tests/plugins/broken_blocks.c. Every case of at most 16 rows and 65
 * columns passes; the cases past the blocking name each. */
Test(parity_broken, linear_wrong_past_its_first_row_or_column_block_fails)
{
    run_result r;
    cJSON *root = run_plugin("broken_blocks", "linear,linear_bwd", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_blocks", "linear f32 T=100 K=40 N=1030", "mismatch",
                      "kernel 'f32-linear/second-row-block-off-by-one'");
    expect_failure_of(root, "broken_blocks", "linear f32 T=33 K=520 N=70", "mismatch", "'y' out of tolerance");
    expect_failure_of(root, "broken_blocks", "linear bf16 T=100 K=40 N=1030", "mismatch",
                      "kernel 'bf16-linear/second-column-block-unshifted'");
    expect_failure_of(root, "broken_blocks", "linear_bwd f32 T=100 K=40 N=300", "mismatch",
                      "kernel 'f32-linear_bwd/rows-past-64-dropped'");
    expect_pass(root, "linear f32 T=16 K=128 N=31");
    expect_pass(root, "linear bf16 T=257 K=300 N=70 +bias");
    expect_pass(root, "linear_bwd f32 T=5 K=64 N=33");
    free_run(&r, root);
}

/* Attention that scales by 1 / sqrt(head_dim) and rope that computes its
 * angles from theta 10000, whatever their arguments say
 * (tests/plugins/broken_defaults.c): right at LLaMA-2's defaults, named on
 * the cases with another scale (Gemma-2 27B's 1/12 at hd 128) and other
 * tables (Llama 3's theta). */
Test(parity_broken, kernels_assuming_llama_2_defaults_fail_where_the_arguments_differ)
{
    run_result r;
    cJSON *root = run_plugin("broken_defaults", "attention,rope", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_defaults", "attention causal T=17 S=17 H=8 Hkv=2 hd=128 pos=0 scale=0.0833333",
                      "mismatch", "kernel 'f32-attention/scale-from-head-dim'");
    expect_failure_of(root, "broken_defaults", "attention causal T=1 S=300 H=8 Hkv=2 hd=128 pos=299 scale=0.0833333",
                      "mismatch", "'out' out of tolerance");
    expect_failure_of(root, "broken_defaults", "rope neox T=5 H=4 Hkv=2 hd=128 pos=1000 inputs=theta-500000",
                      "mismatch", "kernel 'f32-rope/own-angles-theta-10000'");
    expect_pass(root, "attention causal T=1 S=17 H=8 Hkv=1 hd=64 pos=16");
    expect_pass(root, "rope neox T=7 H=2 Hkv=1 hd=128 pos=8185");
    free_run(&r, root);
}

/* Attention with per-head state for 32 heads (tests/plugins/broken_heads.c):
 * right up to 32 heads, named on Llama-2 70B's 64 and Falcon-40B's 128. */
Test(parity_broken, attention_with_state_for_32_heads_fails_on_many_heads)
{
    run_result r;
    cJSON *root = run_plugin("broken_heads", "attention", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_heads", "attention causal T=1 S=40 H=64 Hkv=8 hd=64 pos=39", "mismatch",
                      "kernel 'f32-attention/32-heads-of-state'");
    expect_failure_of(root, "broken_heads", "attention causal T=9 S=40 H=128 Hkv=8 hd=64 pos=31", "mismatch",
                      "'out' out of tolerance");
    expect_pass(root, "attention causal T=1 S=17 H=8 Hkv=1 hd=64 pos=16");
    free_run(&r, root);
}

/* Attention in splits of 256 keys whose third split on merges unscaled
 * (tests/plugins/broken_splits.c): right over every short edge case it
 * takes (it declines windows, soft-caps and written scores), named on the
 * decode rows over long caches. */
Test(parity_broken, attention_merging_its_third_split_unscaled_fails_on_long_caches)
{
    run_result r;
    cJSON *root = run_plugin("broken_splits", "attention", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_splits", "attention causal T=1 S=1000 H=8 Hkv=2 hd=128 pos=999", "mismatch",
                      "kernel 'f32-attention/splits-past-two-unscaled'");
    expect_failure_of(root, "broken_splits", "attention causal T=3 S=1000 H=8 Hkv=1 hd=64 pos=997", "mismatch",
                      "'out' out of tolerance");
    expect_pass(root, "attention causal T=1 S=17 H=8 Hkv=1 hd=64 pos=16");
    expect_pass(root, "attention bidir T=17 S=17 H=8 Hkv=8 hd=96 pos=0");
    free_run(&r, root);
}

/* Attention, its backward and the fused attn_proj finding the kv head by a
 * shift, h >> ctz(H / Hkv) (tests/plugins/broken_groups.c): right for
 * groups of 1, 2, 4, 8 and 16, named on the models' groups of 3, 5 and 7. */
Test(parity_broken, attention_with_power_of_two_groups_fails_on_groups_of_3_5_and_7)
{
    run_result r;
    cJSON *root = run_plugin("broken_groups", "attention,attention_bwd,attn_proj", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_groups", "attention causal T=9 S=9 H=24 Hkv=8 hd=64 pos=0", "mismatch",
                      "kernel 'f32-attention/group-by-shift'");
    expect_failure_of(root, "broken_groups", "attention causal T=1 S=40 H=28 Hkv=4 hd=128 pos=39", "mismatch",
                      "'out' out of tolerance");
    expect_failure_of(root, "broken_groups", "attention causal T=3 S=20 H=24 Hkv=8 hd=64 pos=17", "mismatch",
                      "'out' out of tolerance");
    expect_pass(root, "attention causal T=1 S=17 H=8 Hkv=1 hd=64 pos=16");
    expect_pass(root, "attention causal T=9 S=40 H=128 Hkv=8 hd=64 pos=31");
    expect_failure_of(root, "broken_groups", "attention_bwd causal T=9 S=9 H=6 Hkv=2 hd=64 pos=0", "mismatch",
                      "kernel 'f32-attention_bwd/group-by-shift'");
    expect_failure_of(
        root, "broken_groups",
        "attn_proj f32 = attention causal T=3 S=9 H=6 Hkv=2 hd=64 pos=6 + linear f32 T=3 K=384 N=100 +bias", "mismatch",
        "kernel 'f32-attn_proj/group-by-shift'");
    free_run(&r, root);
}

/* A decode path holding 128 dims of a head (tests/plugins/
 * broken_decode_hd.c): its prefill passes at Gemma's head_dim 256, its
 * decode rows are named there. */
Test(parity_broken, decode_with_a_128_dim_tile_fails_at_head_dim_256)
{
    run_result r;
    cJSON *root = run_plugin("broken_decode_hd", "attention", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_decode_hd", "attention causal T=1 S=17 H=8 Hkv=1 hd=256 pos=16", "mismatch",
                      "kernel 'f32-attention/decode-tile-of-128'");
    expect_failure_of(root, "broken_decode_hd", "attention causal T=1 S=1 H=8 Hkv=8 hd=256 pos=0", "mismatch",
                      "'out' out of tolerance");
    expect_pass(root, "attention causal T=17 S=17 H=8 Hkv=2 hd=256 pos=0");
    expect_pass(root, "attention causal T=1 S=17 H=8 Hkv=1 hd=128 pos=16");
    free_run(&r, root);
}

/* An online softmax whose running max starts at 0 (tests/plugins/
 * broken_max0.c): right whenever a score of the row is within exp's range,
 * NaN on rows whose scores all lie far below it (low-scores). */
Test(parity_broken, softmax_max_from_zero_fails_on_scores_below_the_exp_range)
{
    run_result r;
    cJSON *root = run_plugin("broken_max0", "attention", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_max0", "attention causal T=9 S=9 H=4 Hkv=2 hd=64 pos=0 inputs=low-scores", "nan",
                      "kernel 'f32-attention/running-max-from-0'");
    expect_failure_of(root, "broken_max0", "attention causal T=1 S=1000 H=8 Hkv=2 hd=128 pos=999 inputs=low-scores",
                      "nan", "is NaN");
    expect_pass(root, "attention causal T=9 S=9 H=4 Hkv=2 hd=64 pos=0 inputs=far-scores");
    expect_pass(root, "attention causal T=9 S=9 H=4 Hkv=2 hd=64 pos=0 inputs=tied-keys");
    free_run(&r, root);
}

/* A decode row that takes every key as seen (tests/plugins/
 * broken_decode_mask.c): right where S = q_pos + 1, named over a cache that
 * holds keys past q_pos. */
Test(parity_broken, decode_row_ignoring_q_pos_fails_over_a_longer_cache)
{
    run_result r;
    cJSON *root = run_plugin("broken_decode_mask", "attention", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_decode_mask", "attention causal T=1 S=40 H=4 Hkv=2 hd=64 pos=20", "mismatch",
                      "kernel 'f32-attention/decode-sees-all-keys'");
    expect_pass(root, "attention causal T=3 S=40 H=4 Hkv=2 hd=64 pos=20");
    expect_pass(root, "attention causal T=1 S=17 H=8 Hkv=1 hd=256 pos=16");
    free_run(&r, root);
}

/* A q8_0 linear dropping blocks 5..7 of a row's last 8 (tests/plugins/
 * broken_qtail.c): named where K / 32 leaves 5, 6 or 7 over a multiple of
 * 8, on the decode, row and gemm rows; right where it leaves 0..4. */
Test(parity_broken, quant_linear_dropping_a_long_block_tail_fails)
{
    run_result r;
    cJSON *root = run_plugin("broken_qtail", "linear", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_qtail", "linear q8_0 T=1 K=416 N=10", "mismatch",
                      "kernel 'q8_0-linear/tail-of-5-to-7-blocks-dropped'");
    expect_failure_of(root, "broken_qtail", "linear q8_0 T=3 K=448 N=11", "mismatch", "'y' out of tolerance");
    expect_failure_of(root, "broken_qtail", "linear q8_0 T=20 K=480 N=12", "mismatch", "'y' out of tolerance");
    expect_pass(root, "linear q8_0 T=3 K=384 N=9");
    expect_pass(root, "linear q8_0 T=1 K=4096 N=17 +bias");
    free_run(&r, root);
}

/* rope and adam computed as under DAZ / FTZ (tests/plugins/broken_daz.c):
 * exact on normal values, named on signed zeros and subnormals. */
Test(parity_broken, exact_ops_under_daz_ftz_fail_on_subnormals)
{
    run_result r;
    cJSON *root = run_plugin("broken_daz", "rope,adam", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_daz", "rope neox T=3 H=2 Hkv=1 hd=64 pos=5 inputs=zeros-subnormals", "mismatch",
                      "kernel 'f32-rope/daz-ftz'");
    expect_failure_of(root, "broken_daz", "rope gptj T=3 H=2 Hkv=1 hd=64 pos=5 inputs=zeros-subnormals", "mismatch",
                      "not bit-identical");
    expect_failure_of(root, "broken_daz", "adam n=67 inputs=zeros-subnormals", "mismatch", "kernel 'f32-adam/daz-ftz'");
    expect_pass(root, "rope neox T=7 H=2 Hkv=1 hd=128 pos=8185");
    expect_pass(root, "adam n=4095");
    free_run(&r, root);
}

/* A linear whose 17..31-row path drops the bias past row 16
 * (broken_mid_rows.c: the cover's rows 17..32); f16 weights widened by
 * shift and bias (broken_f16_shift.c: the generated weights have f16
 * subnormals, one in 400, an embedding table only in its zeros-subnormals
 * case); and two defects the edge suite named already, kept so it goes on
 * naming them: an rmsnorm with eps outside the root (broken_norm_eps.c)
 * and cross_entropy without the max shift (broken_ce_shift.c: the outlier
 * rows' logits pass exp's range). */
Test(parity_broken, row_path_f16_widening_eps_and_logsumexp_defects_fail)
{
    run_result r;
    cJSON *root = run_plugin("broken_mid_rows", "linear", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_mid_rows", "linear f32 T=24 K=24 N=129 +bias", "mismatch",
                      "kernel 'f32-linear/mid-rows-without-bias'");
    expect_pass(root, "linear f32 T=257 K=300 N=70 +bias");
    expect_pass(root, "linear f32 T=16 K=16 N=25 +bias");
    free_run(&r, root);
    root = run_plugin("broken_f16_shift", "linear,embedding", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_f16_shift", "linear f16 T=3 K=64 N=33", "mismatch",
                      "kernel 'f16-linear/widened-by-shift'");
    /* an exact op: only a table holding f16 zeros and subnormals shows it */
    expect_failure_of(root, "broken_f16_shift", "embedding f16 T=9 vocab=50 D=67 inputs=zeros-subnormals", "mismatch",
                      "kernel 'f16-embedding/widened-by-shift'");
    expect_pass(root, "embedding f16 T=1 vocab=50 D=4095");
    free_run(&r, root);
    root = run_plugin("broken_norm_eps", "rmsnorm", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_norm_eps", "rmsnorm T=1 D=1", "mismatch",
                      "kernel 'f32-rmsnorm/eps-outside-the-root'");
    free_run(&r, root);
    root = run_plugin("broken_ce_shift", "cross_entropy", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_ce_shift", "cross_entropy T=300 V=1000", "inf",
                      "kernel 'f32-cross_entropy/no-max-shift'");
    expect_pass(root, "cross_entropy T=2 V=32000");
    free_run(&r, root);
}

/* Calls with nothing to do (tests/plugins/broken_empty.c): each kernel
 * passes every case with work, and the gate names the ones that are no
 * no-op at a zero count, on rows of their own, made of the first and the
 * largest case each took: reading x ahead of the rows, a last element first
 * at n = 0, declining n = 0 (both rows fail), and reading x ahead on the
 * path of large weights only (the first row passes, the largest fails).
 * The well-behaved kernels of scalar pass the same check. */
static size_t empty_cases_of(const cJSON *root, const char *kernel, const cJSON *found[2])
{
    const cJSON *c;
    size_t n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(c, "kernel"));
        if (k && !strcmp(k, kernel) && cJSON_IsTrue(cJSON_GetObjectItem(c, "nothing_to_do"))) {
            if (n < 2)
                found[n] = c;
            n++;
        }
    }
    cr_assert(n == 1 || n == 2, "kernel %s: %zu calls with nothing to do, expected its first and largest case", kernel,
              n);
    return n;
}

static void expect_empty_fails(const cJSON *c, const char *kernel, const char *instance, const char *what)
{
    cr_expect_str_eq(str(c, "verdict"), "FAIL", "%s", kernel);
    cr_expect_str_eq(str(c, "reason"), "empty-not-noop", "%s: %s", kernel, str(c, "detail"));
    cr_expect(!strncmp(str(c, "op_instance"), instance, strlen(instance)), "%s: %s", kernel, str(c, "op_instance"));
    cr_expect(strstr(str(c, "detail"), what) && strstr(str(c, "detail"), "plugin 'broken_empty'"), "%s: %s", kernel,
              str(c, "detail"));
}

Test(parity_broken, kernels_that_are_no_no_op_with_nothing_to_do_fail)
{
    run_result r;
    cJSON *root = run_plugin("broken_empty", "linear,add,swiglu", "", &r);
    cr_expect_eq(r.status, 1);
    const struct {
        const char *kernel, *instance, *what;
    } want[] = {
        {"f32-linear/reads-x-ahead", "linear f32 T=0 ", "touched memory with nothing to do"},
        {"f32-add/last-element-first", "add n=0", "touched memory with nothing to do"},
        {"f32-swiglu/declines-n-0", "swiglu n=0", "returned status 1, where a zero count is a successful no-op"},
    };
    const cJSON *e[2];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (size_t j = 0, n = empty_cases_of(root, want[i].kernel, e); j < n; j++)
            expect_empty_fails(e[j], want[i].kernel, want[i].instance, want[i].what);
    const char *big = "bf16-linear/big-path-reads-x-ahead";
    cr_assert_eq(empty_cases_of(root, big, e), 2, "%s: its first and its largest case", big);
    cr_expect_str_eq(str(e[0], "verdict"), "PASS", "%s on its first case: %s", big, str(e[0], "detail"));
    expect_empty_fails(e[1], big, "linear bf16 T=0 ", "touched memory with nothing to do");
    /* with work, each of them is right */
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItem(c, "nothing_to_do")))
            cr_expect_str_neq(str(c, "verdict"), "FAIL", "%s: %s", str(c, "op_instance"), str(c, "detail"));
    }
    free_run(&r, root);
    root = run_plugin("=scalar", "linear,add,swiglu,rmsnorm,attention,embedding", "", &r);
    cr_expect_eq(r.status, 0, "%s", r.out);
    const char *kernels[] = {"f32-linear/scalar",  "f32-add/scalar",       "f32-swiglu/scalar",
                             "f32-rmsnorm/scalar", "f32-attention/scalar", "f32-embedding/scalar"};
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        for (size_t j = 0, n = empty_cases_of(root, kernels[i], e); j < n; j++)
            cr_expect_str_eq(str(e[j], "verdict"), "PASS", "%s", kernels[i]);
    free_run(&r, root);
}

/* A backward op's weight gradients over no rows are zeros, not a no-op
 * (tests/plugins/broken_empty.c): a linear_bwd that returns at once leaves
 * dW unwritten, an attention_bwd that reads a query row with none faults
 * on the empty q; with rows, each is right. */
Test(parity_broken, backward_ops_that_skip_or_read_with_no_rows_fail)
{
    run_result r;
    cJSON *root = run_plugin("broken_empty", "linear_bwd,attention_bwd", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_empty", "linear_bwd f32 T=0 K=17 N=7 +bias", "unwritten",
                      "kernel 'f32-linear_bwd/skips-no-rows'");
    expect_failure_of(root, "broken_empty", "attention_bwd causal T=0 S=9 H=4 Hkv=2 hd=64 pos=0", "oob-read",
                      "read past the end of 'q'");
    const cJSON *c;
    int no_rows = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        if (strstr(str(c, "op_instance"), " T=0 ")) {
            no_rows++;
            cr_expect_str_eq(str(c, "verdict"), "FAIL", "%s", str(c, "op_instance"));
        } else {
            cr_expect_str_neq(str(c, "verdict"), "FAIL", "%s: %s", str(c, "op_instance"), str(c, "detail"));
        }
    }
    cr_expect_eq(no_rows, 4, "linear_bwd and attention_bwd over no rows, with and without bias / causal");
    free_run(&r, root);
}

/* Token ids out of range (tests/plugins/broken_ids.c): the reference
 * declines them, so a kernel must too, writing nothing; named whether it
 * reads past the table, writes rows before declining, lets -1 through or
 * clamps and returns CK_OK; the fused embed_norm as the embedding, and
 * embedding_bwd's ids and cross_entropy's targets likewise. */
Test(parity_broken, embedding_that_does_not_refuse_bad_ids_fails)
{
    run_result r;
    cJSON *root = run_plugin("broken_ids", "embedding", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_ids", "embedding f32 T=9 vocab=50 D=67 inputs=id-past-vocab", "oob-read",
                      "read past the end of 'table'");
    expect_failure_of(root, "broken_ids", "embedding bf16 T=9 vocab=50 D=67 inputs=id-past-vocab",
                      "declined-after-writing", "kernel 'bf16-embedding/ids-checked-while-copying'");
    expect_failure_of(root, "broken_ids", "embedding f16 T=9 vocab=50 D=67 inputs=negative-id", "oob-read",
                      "before the start of 'table'");
    expect_failure_of(root, "broken_ids", "embedding q8_0 T=9 vocab=50 D=96 inputs=negative-id", "not-refused",
                      "kernel 'q8_0-embedding/ids-clamped'");
    expect_pass(root, "embedding f16 T=9 vocab=50 D=67 inputs=id-past-vocab");
    expect_pass(root, "embedding bf16 T=9 vocab=50 D=17");
    free_run(&r, root);
    /* the fused embed_norm gets the same ids */
    root = run_plugin("broken_ids", "embed_norm", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_ids",
                      "embed_norm f32 = embedding f32 T=9 vocab=50 D=67 + rmsnorm T=9 D=67 inputs=id-past-vocab",
                      "oob-read", "read past the end of 'embed.table'");
    expect_failure_of(root, "broken_ids",
                      "embed_norm f32 = embedding f32 T=9 vocab=50 D=67 + rmsnorm T=9 D=67 inputs=negative-id",
                      "oob-read", "before the start of 'embed.table'");
    free_run(&r, root);
    /* and the training ops that index by id: the embedding's scatter-add,
     * cross_entropy's target logit (a target inside the buffer reads
     * another row's logit and returns CK_OK) */
    root = run_plugin("broken_ids", "embedding_bwd,cross_entropy", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_ids", "embedding_bwd f32 T=9 vocab=50 D=67 inputs=id-past-vocab", "oob-read",
                      "past the end of 'dtable'");
    expect_failure_of(root, "broken_ids", "embedding_bwd f32 T=9 vocab=50 D=67 inputs=negative-id", "oob-read",
                      "before the start of 'dtable'");
    expect_failure_of(root, "broken_ids", "cross_entropy T=9 V=50 inputs=id-past-vocab", "oob-read",
                      "past the end of 'logits'");
    expect_failure_of(root, "broken_ids", "cross_entropy T=9 V=50 loss-only inputs=negative-id", "not-refused",
                      "kernel 'f32-cross_entropy/targets-unchecked'");
    expect_pass(root, "cross_entropy T=2 V=32000");
    free_run(&r, root);
}

/* geglu (Gemma's MLP) whose tanh overflows exp (tests/plugins/
 * broken_geglu.c): right on N(0, 1) gates, named on exp's range, which the
 * cover gives geglu as it gives swiglu and gelu. */
Test(parity_broken, geglu_overflowing_exp_fails_on_the_exp_range)
{
    run_result r;
    cJSON *root = run_plugin("broken_geglu", "geglu", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_geglu", "geglu n=67 inputs=exp-range", "nan",
                      "kernel 'f32-geglu/tanh-through-exp'");
    expect_pass(root, "geglu n=13");
    expect_pass(root, "geglu n=67 inputs=zeros-subnormals");
    free_run(&r, root);
}

/* A swiglu_bwd whose tail of 2..6 leaves dgate unwritten (tests/plugins/
 * broken_bwd_tail.c): the backward's elementwise ops had the lengths 1, 7,
 * 17 and 4095 only (tails 1 and 7); the cover's lengths name it. */
Test(parity_broken, backward_elementwise_tail_fails_on_the_cover_lengths)
{
    run_result r;
    cJSON *root = run_plugin("broken_bwd_tail", "swiglu_bwd", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_bwd_tail", "swiglu_bwd n=12", "unwritten",
                      "kernel 'f32-swiglu_bwd/tail-of-2-to-6'");
    expect_failure_of(root, "broken_bwd_tail", "swiglu_bwd n=3", "unwritten", "'dgate'");
    expect_pass(root, "swiglu_bwd n=4095");
    expect_pass(root, "swiglu_bwd n=17");
    free_run(&r, root);
}

/* cross_entropy writing dlogits when it is NULL (tests/plugins/
 * broken_ce_null.c): the trainer's loss alone passes NULL; the loss-only
 * case names the crash, the others pass. */
Test(parity_broken, cross_entropy_writing_a_null_dlogits_crashes_on_the_loss_alone)
{
    run_result r;
    cJSON *root = run_plugin("broken_ce_null", "cross_entropy", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_ce_null", "cross_entropy T=3 V=1000 loss-only", "crash",
                      "kernel 'f32-cross_entropy/dlogits-always'");
    expect_pass(root, "cross_entropy T=3 V=1000");
    free_run(&r, root);
}

/* Query rows in blocks of 8 whose tail of 3..7 shares one causal limit
 * (tests/plugins/broken_qblock.c): the suite's prefill rows were 3, 5, 9,
 * 17 and 130 (tails of 1 and 2); the cover's rows 1..32 name it. */
Test(parity_broken, attention_query_block_tail_fails_on_the_cover_rows)
{
    run_result r;
    cJSON *root = run_plugin("broken_qblock", "attention", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_qblock", "attention causal T=14 S=25 H=4 Hkv=1 hd=2 pos=11", "mismatch",
                      "kernel 'f32-attention/query-tail-one-limit'");
    expect_failure_of(root, "broken_qblock", "attention causal T=30 S=39 H=4 Hkv=1 hd=18 pos=9", "mismatch",
                      "'out' out of tolerance");
    expect_pass(root, "attention causal T=17 S=17 H=8 Hkv=8 hd=64 pos=0");
    free_run(&r, root);
}

/* act_down whose gelu_erf is the tanh form (tests/plugins/tanh_act_down.c):
 * within what a dense row's projection may add (it passes there), named on
 * the sparse-input cases, where the projection sums a few terms; its right
 * kinds pass those too. */
Test(parity_broken, act_down_with_gelu_erf_in_the_tanh_form_fails_on_sparse_rows)
{
    run_result r;
    cJSON *root = run_plugin("tanh_act_down", "act_down", "", &r);
    cr_expect_eq(r.status, 1);
    const char *kernel = "kernel 'f32-act_down/erf-as-tanh'";
    expect_failure_of(root, "tanh_act_down", "act_down f32 = gelu_erf n=72 + linear f32 T=1 K=72 N=24 inputs=sparse",
                      "mismatch", kernel);
    expect_failure_of(root, "tanh_act_down", "act_down f32 = gelu_erf n=1200 + linear f32 T=6 K=200 N=24 inputs=sparse",
                      "mismatch", "'down.y' out of tolerance");
    expect_pass(root, "act_down f32 = gelu_erf n=72 + linear f32 T=1 K=72 N=100");
    expect_pass(root, "act_down f32 = quick_gelu n=1200 + linear f32 T=6 K=200 N=24 inputs=sparse");
    expect_pass(root, "act_down f32 = swiglu n=1200 + linear f32 T=6 K=200 N=24 inputs=sparse");
    free_run(&r, root);
}

/* gelu_erf as 0.5 x (1 + erff(x / sqrt 2)) in f32 (tests/plugins/
 * broken_erf_cancel.c): right near 0, but the sum cancels for x << 0, which
 * Phi's relative bound does not allow; already at x ~ -2.6 (n=7) it is off
 * by twice its bound. */
Test(parity_broken, gelu_erf_through_one_plus_erf_fails_on_the_negative_tail)
{
    run_result r;
    cJSON *root = run_plugin("broken_erf_cancel", "gelu_erf", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "broken_erf_cancel", "gelu_erf n=67 inputs=erf-tails", "mismatch",
                      "kernel 'f32-gelu_erf/one-plus-erff'");
    expect_failure_of(root, "broken_erf_cancel", "gelu_erf n=7", "mismatch", "'y' out of tolerance");
    expect_pass(root, "gelu_erf n=1");
    free_run(&r, root);
}

/* A kernel without the capability flag is never run on a case that needs
 * it: the gate reports "not claimed" (run would use scalar's), not a pass
 * and not a failure. The test plugin pre_rev2 has a plain attention kernel. */
Test(parity_gate, kernel_without_the_flag_is_not_claimed_for_window_cases)
{
    run_result r;
    cJSON *root = run_plugin("pre_rev2", "attention", "", &r);
    const cJSON *c = find_case(root, "attention causal T=17 S=17 H=8 Hkv=8 hd=64 pos=0 W=1");
    cr_expect_str_eq(str(c, "verdict"), "SKIP");
    cr_expect_str_eq(str(c, "reason"), "not-claimed");
    cr_expect(strstr(str(c, "detail"), "without window/softcap (run uses scalar's)") != NULL, "%s", str(c, "detail"));
    free_run(&r, root);
}

/* An act_down kernel built before gelu_erf and quick_gelu (tests/plugins/
 * old_act_down.c, no CK_KF_ACT_DOWN_UNARY) is never given them: not claimed,
 * and run leaves such groups unfused (not scalar's fused kernel). */
Test(parity_gate, act_down_without_the_flag_is_not_claimed_for_gelu_erf_and_quick_gelu)
{
    run_result r;
    cJSON *root = run_plugin("old_act_down", "act_down", "", &r);
    cr_expect_eq(r.status, 0, "%s", r.out);
    const char *kinds[] = {"act_down f32 = gelu_erf n=72 + linear f32 T=1 K=72 N=100",
                           "act_down f32 = quick_gelu n=504 + linear f32 T=7 K=72 N=100 +bias"};
    for (int i = 0; i < 2; i++) {
        const cJSON *c = find_case(root, kinds[i]);
        cr_expect_str_eq(str(c, "verdict"), "SKIP", "%s", kinds[i]);
        cr_expect_str_eq(str(c, "reason"), "not-claimed", "%s", kinds[i]);
        cr_expect(strstr(str(c, "detail"), "without act_down gelu_erf/quick_gelu (run leaves such groups unfused)"),
                  "%s", str(c, "detail"));
    }
    expect_pass(root, "act_down f32 = swiglu n=72 + linear f32 T=1 K=72 N=100");
    free_run(&r, root);
}

/* ---- the hostile plugins: one per class of defect the gate must name -------------------------- */

Test(parity_hostile, floating_point_state_left_behind)
{
    run_result r;
    cJSON *root = run_plugin("hostile_host", "gelu", "", &r);
    cr_expect_eq(r.status, 1);
#if defined(__x86_64__) || defined(__i386__)
    expect_failure_of(root, "hostile_host", "gelu n=7", "host-state", "left MXCSR flush-to-zero set");
    expect_failure_of(root, "hostile_host", "gelu n=7", "host-state", "left MXCSR denormals-are-zero set");
#endif
    expect_failure_of(root, "hostile_host", "gelu n=7", "host-state", "fenv rounding mode at FE_UPWARD");
    free_run(&r, root);
}

Test(parity_hostile, floating_point_state_left_behind_on_a_pool_worker)
{
    run_result r;
    /* the calling thread stays clean: only the workers' check can see it */
    cJSON *root = run_plugin("hostile_host", "add", "--threads 2", &r);
    cr_expect_eq(r.status, 1);
#if defined(__x86_64__) || defined(__i386__)
    expect_failure_of(root, "hostile_host", "add n=1", "host-state", "left MXCSR flush-to-zero set on pool worker 1");
#endif
    free_run(&r, root);
}

Test(parity_hostile, write_into_the_const_exec_context)
{
    run_result r;
    cJSON *root = run_plugin("hostile_host", "swiglu", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "hostile_host", "swiglu n=7", "host-state", "wrote into the const exec context");
    expect_failure_of(root, "hostile_host", "swiglu n=7", "host-state", "'n_threads' changed");
    free_run(&r, root);
}

Test(parity_hostile, run_puts_the_host_state_back_and_counts_it)
{
    char *dir = make_tmpdir(), cmd[4096], out[512];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(cmd, sizeof cmd, "'%s' run --plugin '%s' --model '%s/ir/models/tiny-llava.json' >'%s' 2>&1", ckbench(),
             test_plugin("hostile_host"), src ? src : ".", out);
    int st = system(cmd);
    char *text = slurp(out);
    cr_assert_not_null(text);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the run goes on: %s", text);
    /* the first offender in execution order is add, whose FTZ is left on the pool's worker thread */
    cr_expect(strstr(text, "host state: put back after") && strstr(text, "f32-add/hostile-worker-fpenv"), "%s", text);
    free(text);
    unlink(out);
    rmdir(dir);
    free(dir);
}

Test(parity_hostile, bench_does_not_time_a_kernel_that_changes_the_host_state, .timeout = 120)
{
    char *dir = make_tmpdir(), cmd[4096], out[512];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(cmd, sizeof cmd,
             "'%s' bench --plugin '%s' --model '%s/ir/models/tiny-gqa.json' --op swiglu --min-time 0.001 >'%s' 2>&1",
             ckbench(), test_plugin("hostile_host"), src ? src : ".", out);
    int st = system(cmd);
    char *text = slurp(out);
    cr_assert_not_null(text);
    (void)st;
    cr_expect(strstr(text, "f32-swiglu/hostile-ctx wrote into its exec context (put back; not timed)"), "%s", text);
    free(text);
    unlink(out);
    rmdir(dir);
    free(dir);
}

Test(parity_hostile, wrong_only_on_three_or_more_threads)
{
    run_result r;
    /* the main run on 2 threads and 1 and 2 logical threads agree: only
     * the re-runs on 3, 4 and 7 logical threads can see it */
    cJSON *root = run_plugin("hostile_host", "rmsnorm", "--threads 2", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "hostile_host", "rmsnorm T=3 D=17", "split-dependent",
                      "differs between 3 and 2 logical threads");
    free_run(&r, root);
}

Test(parity_hostile, write_before_the_start_faults_and_is_named)
{
    run_result r;
    cJSON *root = run_plugin("hostile_mem", "add", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "hostile_mem", "add n=7", "oob-write", "wrote 68 bytes before the start of 'y'");
    free_run(&r, root);
}

Test(parity_hostile, write_far_past_the_end_faults_and_is_named)
{
    run_result r;
    cJSON *root = run_plugin("hostile_mem", "layernorm", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "hostile_mem", "layernorm T=3 D=17", "oob-write",
                      "wrote past the end of 'y' (8192 bytes after its last byte");
    free_run(&r, root);
}

Test(parity_hostile, wrong_only_on_unaligned_buffers)
{
    run_result r;
    cJSON *root = run_plugin("hostile_mem", "gelu", "", &r);
    cr_expect_eq(r.status, 1);
    /* 7 floats end at a page end 28 bytes into a 32-byte line: x is unaligned */
    expect_failure_of(root, "hostile_mem", "gelu n=7", "mismatch", "when its buffers end at a page end");
    free_run(&r, root);
}

Test(parity_hostile, read_past_the_end_of_an_input)
{
    run_result r;
    cJSON *root = run_plugin("hostile_mem", "linear", "", &r);
    cr_expect_eq(r.status, 1);
    /* 3 x 64 floats are 768 bytes: only the end-aligned run can see it */
    expect_failure_of(root, "hostile_mem", "linear f32 T=3 K=64 N=33", "oob-read",
                      "read past the end of 'x' (0 bytes after its last byte, end-aligned run)");
    free_run(&r, root);
}

static cJSON *run_on_model(const char *plugin, const char *ops, run_result *r)
{
    char extra[1024];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(extra, sizeof extra, "--model '%s/tests/models/long-rows.json'", src ? src : ".");
    return run_plugin(plugin, ops, extra, r);
}

Test(parity_hostile, declining_a_models_rows_is_a_failure)
{
    run_result r;
    cJSON *root = run_on_model("hostile_decline", "rmsnorm,linear", &r);
    cr_expect_eq(r.status, 1);
    /* run at the model's rows: the decline is the main run's */
    expect_failure_of(root, "hostile_decline", "rmsnorm T=512 D=512", "declined",
                      "CK_E_UNSUPPORTED for an instance of the model, at T=512");
    /* run at reduced rows (passes there), offered the model's own rows */
    expect_failure_of(root, "hostile_decline", "linear f32 T=95 K=512 N=1024", "declined", "declined at T=512");
    /* the edge suite may be declined: only the model's sizes must be taken */
    const cJSON *edge = find_case(root, "rmsnorm T=1 D=17");
    cr_expect_str_eq(str(edge, "verdict"), "PASS");
    free_run(&r, root);
}

Test(parity_hostile, error_model_catches_a_narrowed_x_and_a_coarse_rsqrt)
{
    run_result r;
    cJSON *root = run_plugin("hostile_values", "linear,rmsnorm", "", &r);
    cr_expect_eq(r.status, 1);
    /* x rounded to bf16: 2^-9 per product, far above what f32 can do at K = 64 */
    expect_failure_of(root, "hostile_values", "linear f32 T=3 K=64 N=33", "mismatch", "times its bound");
    /* 2^-14: above (gamma(D + 3)/2 + 9u) at D = 17 */
    expect_failure_of(root, "hostile_values", "rmsnorm T=3 D=17", "mismatch", "out of tolerance");
    free_run(&r, root);
    /* the backward GEMMs have the same model: dW from a bf16-rounded x */
    root = run_plugin("hostile_values", "linear_bwd", "", &r);
    cr_expect_eq(r.status, 1);
    expect_failure_of(root, "hostile_values", "linear_bwd f32 T=3 K=17 N=7 +bias", "mismatch", "'dw' out of tolerance");
    free_run(&r, root);
    root = run_plugin("hostile_values", "rmsnorm", "", &r);
    /* every tolerance case carries its worst use of the bound */
    const cJSON *o = first_output(find_case(root, "rmsnorm T=3 D=17"));
    cr_expect(num(o, "bound_use") > 1.0);
    cr_expect(num(o, "worst_bound") > 0.0);
    free_run(&r, root);
}

Test(parity_hostile, coverage_finds_a_length_and_a_value_bug)
{
    run_result r;
    cJSON *root = run_plugin("hostile_values", "add,swiglu", "", &r);
    cr_expect_eq(r.status, 1);
    /* one ULP off only when n % 16 == 0: the generated lengths have 16, 32, 64 ... */
    expect_failure_of(root, "hostile_values", "add n=16", "mismatch", "not bit-identical");
    expect_failure_of(root, "hostile_values", "add n=256", "mismatch", "not bit-identical");
    const cJSON *ok = find_case(root, "add n=17");
    cr_expect_str_eq(str(ok, "verdict"), "PASS");
    /* NaN where gate > 88.7: only the special inputs go there */
    expect_failure_of(root, "hostile_values", "swiglu n=67 inputs=exp-range", "nan", "is NaN");
    free_run(&r, root);
}

Test(parity_error_model, linear_bound_scales_with_the_terms_not_the_result)
{
    /* one row of x: terms 1e3, -1e3 and 1: the result is 1, the bound is
     * set by the 2e3 the terms sum to in magnitude */
    ck_shape s = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_F32, .T = 1, .K = 3, .N = 1};
    char err[256];
    ck_case *c = ck_case_create(&s, 1, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    const ck_linear_args *a = ck_case_args(c);
    float *x = (float *)a->x, *w = (float *)a->w;
    x[0] = 1e3f, x[1] = -1e3f, x[2] = 1.0f, w[0] = w[1] = w[2] = 1.0f;
    float y = 1.0f;
    ck_run_outcome ref = {.state = CK_RUN_DONE, .kernel_rc = CK_OK, .outputs = (unsigned char *)&y};
    double *b = ck_error_bounds(c, &ref);
    cr_assert_not_null(b);
    double expect = 10.0 * sqrt(4.0) * 0x1p-24 * 2001.0;
    cr_expect(b[0] >= expect && b[0] < expect * 1.01, "bound %g, expected about %g", b[0], expect);
    free(b);
    ck_case_free(c);
}

Test(parity_broken, whole_run_finishes_and_counts_add_up, .timeout = 120)
{
    char *dir = make_tmpdir();
    char junit[256], extra[512];
    snprintf(junit, sizeof junit, "%s/parity.xml", dir);
    snprintf(extra, sizeof extra, "--junit '%s'", junit);
    run_result r;
    cJSON *root = run_broken("rmsnorm,add,gelu,swiglu,layernorm,embedding,linear,attention", extra, &r);
    cr_expect_eq(r.status, 1);
    cr_expect(has_summary_line(r.out), "summary line missing:\n%s", r.out);
    const char *reasons[] = {"unwritten", "mismatch",       "oob-write",   "crash",   "nan",
                             "timeout",   "input-modified", "not-offered", "no-case", "split-dependent"};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        int seen = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) seen |= !strcmp(str(c, "reason"), reasons[i]);
        cr_expect(seen, "no case failed with reason %s", reasons[i]);
    }
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(root, "cases"));
    double passed = num(root, "passed"), failed = num(root, "failed"), skipped = num(root, "skipped");
    cr_expect_eq(passed + failed + skipped, n);
    char line[128];
    snprintf(line, sizeof line, "\n%.0f passed, %.0f failed, %.0f skipped\n", passed, failed, skipped);
    cr_expect(strstr(r.out, line) != NULL, "summary '%s' not in output", line + 1);
    char *xml = slurp(junit);
    cr_assert_not_null(xml, "--junit not written");
    char attr[64];
    snprintf(attr, sizeof attr, "failures=\"%.0f\"", failed);
    cr_expect(strncmp(xml, "<?xml", 5) == 0);
    cr_expect(strstr(xml, attr) != NULL, "JUnit does not say %s", attr);
    cr_expect(strstr(xml, "<failure type=\"crash\"") != NULL);
    free(xml);
    unlink(junit);
    rmdir(dir);
    free(dir);
    free_run(&r, root);
}

/* ---- a correct plugin passes ------------------------------------------------------------------ */

/* The reference on itself: every verdict a pass, the summary printed. Here
 * on a few ops of each kind (elementwise, rows, tables, a reduction to one
 * value, fused, in place), the gate's own code under the sanitizers; make
 * test-parity runs scalar on itself over the whole edge suite. */
Test(parity_good, scalar_against_itself_passes, .timeout = 120)
{
    run_result r = run_parity("--plugin scalar --op rmsnorm,swiglu,embedding,cross_entropy,add_norm,rope --timeout 60");
    cr_expect_eq(r.status, 0, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
    cr_expect(strstr(r.out, " 0 failed") != NULL, "%s", r.out);
    cr_expect(has_summary_line(r.out));
    free(r.out);
    free(r.err);
}

/* ---- --dump writes .npy files NumPy can read -------------------------------------------------- */

/* Parse a .npy v1.0 header; return the data and its element count. */
static float *load_npy_f32(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    unsigned char head[10];
    cr_assert_eq(fread(head, 1, 10, f), 10);
    cr_assert(memcmp(head, "\x93NUMPY", 6) == 0, "%s: bad magic", path);
    cr_assert_eq(head[6], 1);
    cr_assert_eq(head[7], 0);
    size_t hlen = (size_t)head[8] | (size_t)head[9] << 8;
    cr_assert_eq((10 + hlen) % 64, 0, "header padded to 64 bytes");
    char *dict = calloc(1, hlen + 1);
    cr_assert_eq(fread(dict, 1, hlen, f), hlen);
    cr_assert_eq(dict[hlen - 1], '\n');
    cr_assert(strstr(dict, "'descr': '<f4'") != NULL, "%s", dict);
    cr_assert(strstr(dict, "'fortran_order': False") != NULL, "%s", dict);
    const char *sh = strstr(dict, "'shape': (");
    cr_assert_not_null(sh);
    *count = strtoull(sh + 10, NULL, 10);
    free(dict);
    float *data = malloc(*count * sizeof *data + 1);
    cr_assert_eq(fread(data, sizeof *data, *count, f), *count);
    cr_assert_eq(fgetc(f), EOF, "no bytes after the data");
    fclose(f);
    return data;
}

Test(parity_dump, npy_files_load_back_and_hold_the_case)
{
    char *dir = make_tmpdir();
    char args[1024];
    snprintf(args, sizeof args, "--plugin scalar --op add --seed 7 --dump '%s/d'", dir);
    run_result r = run_parity(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char mpath[512];
    snprintf(mpath, sizeof mpath, "%s/d/manifest.json", dir);
    char *text = slurp(mpath);
    cr_assert_not_null(text, "manifest.json not written");
    cJSON *m = cJSON_Parse(text);
    cr_assert_not_null(m);
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "cases"), 3); /* add n=33 */
    cr_assert_not_null(c);
    const cJSON *in = cJSON_GetObjectItem(c, "inputs"), *ref = cJSON_GetObjectItem(c, "reference");
    const cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "results"), 0);
    const char *files[4] = {str(in, "a"), str(in, "b"), str(ref, "y"), str(cJSON_GetObjectItem(res, "outputs"), "y")};
    float *v[4];
    size_t n[4];
    for (int i = 0; i < 4; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/d/%s", dir, files[i]);
        v[i] = load_npy_f32(p, &n[i]);
        cr_assert_eq(n[i], 33);
    }
    for (size_t i = 0; i < 33; i++) {
        float sum = v[0][i] + v[1][i];
        cr_expect(memcmp(&sum, &v[2][i], 4) == 0, "reference y[%zu] == a + b", i);
        cr_expect(memcmp(&v[3][i], &v[2][i], 4) == 0, "plugin y[%zu] == reference", i);
    }
    for (int i = 0; i < 4; i++)
        free(v[i]);
    cJSON_Delete(m);
    free(text);
    free(r.out);
    free(r.err);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    cr_expect_eq(system(rm), 0);
    free(dir);
}

/* ---- bad usage ------------------------------------------------------------------------------ */

static void expect_usage_error(const char *args, const char *in_message)
{
    run_result r = run_parity(args);
    cr_expect_eq(r.status, 2, "%s: exit %d", args, r.status);
    cr_expect(strstr(r.err, in_message) != NULL, "%s: expected \"%s\" in \"%s\"", args, in_message, r.err);
    size_t l = strlen(r.err);
    cr_expect(l > 0 && strchr(r.err, '\n') == r.err + l - 1, "%s: one line: %s", args, r.err);
    cr_expect(!has_summary_line(r.out), "%s: no run happened", args);
    free(r.out);
    free(r.err);
}

Test(parity_usage, shard_out_of_range_or_malformed)
{
    const char *bad[] = {"--shard 2/2", "--shard 1/0", "--shard -1/2", "--shard 1", "--shard 1/2x", "--shard x/2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_usage_error(bad[i], "--shard: expected K/N with 0 <= K < N");
}

/* (op instance, kernel, verdict, reason) of the cases with work to do, one
 * string each, sorted; the nothing-to-do calls each shard makes on its own
 * first and largest case of a kernel are left out. */
static size_t worked_cases(const cJSON *root, char (*out)[320], size_t cap)
{
    size_t n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        if (cJSON_IsTrue(cJSON_GetObjectItem(c, "nothing_to_do")))
            continue;
        cr_assert_lt(n, cap);
        snprintf(out[n++], 320, "%s|%s|%s|%s", str(c, "op_instance"), str(c, "kernel"), str(c, "verdict"),
                 str(c, "reason"));
    }
    qsort(out, n, sizeof *out, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* --shard K/N: the three shards of a gate over a broken plugin run, between
 * them, every case of the whole run once, failures included, and each says
 * the run failed where its share holds a failure; kernels no case came up
 * for are listed by shard 0 alone. */
Test(parity_suite, shards_split_the_whole_run_between_them)
{
    enum { CAP = 4096 };
    char(*whole)[320] = calloc(CAP, 320), (*parts)[320] = calloc(CAP, 320), (*one)[320] = calloc(CAP, 320);
    cr_assert(whole && parts && one);
    run_result r;
    cJSON *root = run_broken("add,rmsnorm,gelu", "", &r);
    cr_assert_eq(r.status, 1, "the broken plugin fails: %s", r.err);
    size_t n_whole = worked_cases(root, whole, CAP);
    int no_case = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) no_case += !strcmp(str(c, "reason"), "no-case");
    cr_expect_gt(no_case, 0, "broken-unchecked's bf16 gelu has no instance in the suite");
    free_run(&r, root);
    size_t n_parts = 0;
    int failed = 0;
    for (int k = 0; k < 3; k++) {
        char extra[32];
        snprintf(extra, sizeof extra, "--shard %d/3", k);
        root = run_broken("add,rmsnorm,gelu", extra, &r);
        cr_assert(strstr(r.out, "shard"), "the intro names the shard: %s", r.out);
        size_t m = worked_cases(root, one, CAP);
        int fails = 0, shard_no_case = 0;
        for (size_t i = 0; i < m; i++)
            fails += strstr(one[i], "|FAIL|") != NULL;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) shard_no_case += !strcmp(str(c, "reason"), "no-case");
        cr_expect_eq(r.status, fails ? 1 : 0, "shard %d: %d failures, exit %d", k, fails, r.status);
        cr_expect_eq(shard_no_case, k == 0 ? no_case : 0, "shard %d: unchecked kernels listed by shard 0 only", k);
        failed += fails;
        cr_assert_leq(n_parts + m, CAP);
        memcpy(parts + n_parts, one, m * sizeof *one);
        n_parts += m;
        free_run(&r, root);
    }
    cr_expect_gt(failed, 0);
    /* shard 0 of 1000 holds two instances: the kernels whose cases are all
     * in other shards are not unchecked */
    root = run_broken("add,rmsnorm,gelu", "--shard 0/1000", &r);
    int shard_no_case = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) shard_no_case += !strcmp(str(c, "reason"), "no-case");
    cr_expect_eq(shard_no_case, no_case, "shard 0/1000 lists %d kernels unchecked, the whole run %d", shard_no_case,
                 no_case);
    free_run(&r, root);
    qsort(parts, n_parts, sizeof *parts, (int (*)(const void *, const void *))strcmp);
    cr_assert_eq(n_parts, n_whole, "the shards ran %zu cases with work, the whole run %zu", n_parts, n_whole);
    for (size_t i = 0; i < n_whole; i++)
        cr_assert_str_eq(parts[i], whole[i], "case %zu", i);
    free(whole);
    free(parts);
    free(one);
}

Test(parity_usage, unknown_plugin)
{
    expect_usage_error("--plugin no_such_plugin", "no_such_plugin");
}
Test(parity_usage, unknown_op)
{
    expect_usage_error("--plugin scalar --op rmsnorm,frobnicate", "unknown op 'frobnicate'");
}
Test(parity_usage, missing_model)
{
    expect_usage_error("--plugin scalar --model /nonexistent/model.json", "/nonexistent/model.json");
}
Test(parity_usage, unknown_option)
{
    expect_usage_error("--frobnicate", "unknown option '--frobnicate'");
}
Test(parity_usage, bad_seed)
{
    expect_usage_error("--seed twelve", "--seed");
}
Test(parity_usage, bad_timeout)
{
    expect_usage_error("--timeout -1", "--timeout");
}
Test(parity_usage, bad_weight_dtype)
{
    expect_usage_error("--model tiny-gqa --weight-dtype q9", "--weight-dtype");
}
Test(parity_usage, weight_dtype_needs_model)
{
    expect_usage_error("--weight-dtype q8_0", "needs --model");
}
Test(parity_usage, option_without_value)
{
    expect_usage_error("--plugin", "--plugin needs a value");
}
Test(parity_usage, bad_suite)
{
    expect_usage_error("--model tiny-gqa --suite both", "--suite: expected all, model or edge, found 'both'");
}
Test(parity_usage, suite_model_needs_model)
{
    expect_usage_error("--suite model", "--suite model needs --model");
}

/* --suite model: only the model's instances (every label one of its
 * sections', no edge case); --suite edge: only the edge suite. */
Test(parity_suite, model_and_edge_each_alone)
{
    run_result r = run_parity("--plugin scalar --model tiny-gqa --suite model --op rmsnorm");
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "op instances (model)") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "rmsnorm T=1 D=1 ") == NULL, "an edge case ran: %s", r.out);
    cr_expect(has_summary_line(r.out));
    free(r.out);
    free(r.err);
    r = run_parity("--plugin scalar --model tiny-gqa --suite edge --op rmsnorm");
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "op instances (edge suite)") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "rmsnorm T=1 D=1 ") != NULL, "no edge case ran: %s", r.out);
    free(r.out);
    free(r.err);
}

/* ---- comparison rules ------------------------------------------------------------------------- */

Test(compare, ulp_distance)
{
    cr_expect_eq(ck_ulp_distance_f32(1.0f, 1.0f), 0);
    cr_expect_eq(ck_ulp_distance_f32(1.0f, nextafterf(1.0f, 2.0f)), 1);
    cr_expect_eq(ck_ulp_distance_f32(nextafterf(1.0f, 0.0f), nextafterf(1.0f, 2.0f)), 2);
    cr_expect_eq(ck_ulp_distance_f32(0.0f, -0.0f), 0, "the zeros are 0 apart");
    cr_expect_eq(ck_ulp_distance_f32(-0x1p-149f, 0x1p-149f), 2, "across zero");
    cr_expect_eq(ck_ulp_distance_f32(0x1.fffffep127f, INFINITY), 1);
    cr_expect_eq(ck_ulp_distance_f32(NAN, 1.0f), CK_ULP_INF);
    cr_expect_eq(ck_ulp_distance_f32(1.0f, NAN), CK_ULP_INF);
}

static const ck_tolerance exact = {CK_PARITY_EXACT, 0, 0};
static const ck_tolerance tol = {CK_PARITY_TOLERANCE, 1e-5, 1e-4};

Test(compare, exact_reports_first_difference_and_count)
{
    float ref[5] = {1, 2, 3, 4, 5}, y[5] = {1, 2, 3, 4, 5};
    ck_cmp_result r;
    ck_compare_f32(y, ref, 5, exact, 0, &r);
    cr_expect(r.pass);
    y[2] = nextafterf(3.0f, 4.0f);
    y[4] = 5.5f;
    ck_compare_f32(y, ref, 5, exact, 0, &r);
    cr_expect(!r.pass);
    cr_expect_eq(r.reason, CK_CMP_MISMATCH);
    cr_expect_eq(r.first_bad, 2);
    cr_expect_eq(r.first_ulp, 1);
    cr_expect_eq(r.n_bad, 2);
    cr_expect_float_eq(r.first_ref, 3.0, 0);
    y[2] = 3, y[4] = 5;
    y[0] = -0.0f, ref[0] = 0.0f;
    ck_compare_f32(y, ref, 5, exact, 0, &r);
    cr_expect(!r.pass, "exact means bits: -0 is not +0");
}

Test(compare, tolerance_bound_and_figures)
{
    float ref[4] = {1, -2, 100, 0}, y[4] = {1 + 1e-5f, -2, 100.005f, 0};
    ck_cmp_result r;
    ck_compare_f32(y, ref, 4, tol, 0, &r);
    cr_expect(r.pass, "inside atol + rtol*|ref|");
    cr_expect(r.max_abs > 4e-3 && r.max_abs < 6e-3, "max abs %g", r.max_abs);
    cr_expect_eq(r.worst, 2, "worst relative to its bound");
    cr_expect(r.nmse > 0 && r.nmse < 1e-8, "nmse %g", r.nmse);
    y[3] = 2e-5f; /* ref 0: only atol applies */
    ck_compare_f32(y, ref, 4, tol, 0, &r);
    cr_expect(!r.pass);
    cr_expect_eq(r.first_bad, 3);
    cr_expect_eq(r.reason, CK_CMP_MISMATCH);
}

Test(compare, nan_inf_and_unwritten)
{
    uint32_t poison = CK_CASE_POISON_F32;
    float pf;
    memcpy(&pf, &poison, 4);
    float ref[4] = {1, 2, -INFINITY, 4}, y[4] = {1, 2, -INFINITY, 4};
    ck_cmp_result r;
    ck_compare_f32(y, ref, 4, tol, poison, &r);
    cr_expect(r.pass, "matching -inf (a masked score) is fine");
    y[1] = NAN;
    ck_compare_f32(y, ref, 4, tol, poison, &r);
    cr_expect(!r.pass);
    cr_expect_eq(r.reason, CK_CMP_NAN);
    cr_expect_eq(r.first_bad, 1);
    y[1] = 2, y[3] = INFINITY;
    ck_compare_f32(y, ref, 4, exact, poison, &r);
    cr_expect_eq(r.reason, CK_CMP_INF);
    cr_expect_eq(r.first_bad, 3);
    y[3] = pf;
    ck_compare_f32(y, ref, 4, tol, poison, &r);
    cr_expect_eq(r.reason, CK_CMP_UNWRITTEN);
    y[3] = 4, y[2] = 0;
    ck_compare_f32(y, ref, 4, tol, poison, &r);
    cr_expect(!r.pass, "finite where the reference is -inf");
    float rn[1] = {NAN}, yn[1] = {-NAN};
    ck_compare_f32(yn, rn, 1, exact, 0, &r);
    cr_expect(r.pass, "NaN where the reference is NaN");
}

Test(compare, bytes)
{
    unsigned char a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 9, 4, 5, 7};
    ck_cmp_result r;
    ck_compare_bytes(a, b, 6, &r);
    cr_expect(!r.pass);
    cr_expect_eq(r.first_bad, 2);
    cr_expect_eq(r.n_bad, 2);
}

/* ---- ck_case ------------------------------------------------------------------------------------ */

static ck_shape norm_shape(void)
{
    ck_shape s = {.op = CK_OP_RMSNORM, .dtype = CK_DTYPE_F32, .T = 5, .D = 17, .eps = 1e-5f};
    return s;
}

Test(ck_case, same_seed_same_inputs_other_seed_other_inputs)
{
    ck_shape s = norm_shape();
    char err[256];
    ck_case *a = ck_case_create(&s, 1, err, sizeof err), *b = ck_case_create(&s, 1, err, sizeof err);
    ck_case *c = ck_case_create(&s, 2, err, sizeof err);
    cr_assert(a && b && c, "%s", err);
    const ck_case_buf *xa = ck_case_find(a, "x"), *xb = ck_case_find(b, "x"), *xc = ck_case_find(c, "x");
    cr_assert_not_null(xa);
    cr_expect_eq(xa->count, 85);
    cr_expect(memcmp(xa->data, xb->data, xa->bytes) == 0);
    cr_expect(memcmp(xa->data, xc->data, xa->bytes) != 0);
    const ck_norm_args *args = ck_case_args(a);
    cr_expect_eq(args->x, xa->data);
    cr_expect_eq(args->y, ck_case_find(a, "y")->data);
    cr_expect(ck_case_poisoned(ck_case_find(a, "y"), 84), "outputs start poisoned");
    ck_case_free(a);
    ck_case_free(b);
    ck_case_free(c);
}

Test(ck_case, known_first_values_on_every_machine)
{
    /* pins the generator: a change here changes every parity input */
    ck_shape s = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = 4};
    char err[256];
    ck_case *c = ck_case_create(&s, 42, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    const uint32_t expected[4] = {0x3f133efeu, 0xbe769a11u, 0xbf653febu, 0x3f882c59u};
    uint32_t got[4];
    memcpy(got, ck_case_find(c, "a")->data, sizeof got);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(got[i], expected[i], "a[%d] = 0x%08x", i, got[i]);
    ck_case_free(c);
}

Test(ck_case, guards_catch_writes_outside_and_input_changes)
{
    ck_shape s = norm_shape();
    char err[256], msg[256];
    ck_case *c = ck_case_create(&s, 3, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    cr_expect_eq(ck_case_check_guards(c, msg, sizeof msg), 0);
    cr_expect_eq(ck_case_check_inputs(c, msg, sizeof msg), 0);
    float *y = ck_case_find(c, "y")->data;
    y[85] = 1.0f;
    cr_expect_eq(ck_case_check_guards(c, msg, sizeof msg), 1);
    cr_expect(strstr(msg, "past the end of 'y'") && strstr(msg, "element 85 of 85"), "%s", msg);
    ck_case_reset(c);
    cr_expect_eq(ck_case_check_guards(c, msg, sizeof msg), 0, "reset re-arms the canaries");
    /* y starts at a page start (a guard page before it); end-aligned, the
     * rest of its first page is a canary */
    cr_assert_eq(ck_case_place(c, 1, err, sizeof err), 0, "%s", err);
    cr_expect_eq(((uintptr_t)ck_case_find(c, "y")->data + 85 * 4) % 4096, 0, "y ends at a page end");
    cr_expect_eq(((const ck_norm_args *)ck_case_args(c))->y, ck_case_find(c, "y")->data, "args follow the move");
    y = ck_case_find(c, "y")->data;
    y[-17] = 1.0f;
    cr_expect_eq(ck_case_check_guards(c, msg, sizeof msg), 1);
    cr_expect(strstr(msg, "before the start of 'y'"), "%s", msg);
    float *x = ck_case_find(c, "x")->data;
    x[7] += 1.0f;
    cr_expect_eq(ck_case_check_inputs(c, msg, sizeof msg), 1);
    cr_expect(strstr(msg, "'x'") && strstr(msg, "element 7"), "%s", msg);
    ck_case_reset(c);
    cr_expect_eq(ck_case_check_inputs(c, msg, sizeof msg), 0, "reset restores inputs");
    ck_case_free(c);
}

/* Cold bench copies run on the page size the arena gives a model: a buffer
 * of a huge page or more starts on a huge-page boundary (ends, placed
 * end-aligned), a small one where its guard pages leave it. */
Test(ck_case, large_buffers_sit_on_huge_page_boundaries)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    ck_shape s = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = (size_t)1 << 20}; /* 4 MiB per buffer */
    char err[256];
    ck_case *c = ck_case_create(&s, 5, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    for (const char *const *n = (const char *const[]){"a", "b", "y", NULL}; *n; n++)
        cr_expect_eq((uintptr_t)ck_case_find(c, *n)->data % huge, 0, "'%s' starts on a 2 MiB boundary", *n);
    cr_assert_eq(ck_case_place(c, 1, err, sizeof err), 0, "%s", err);
    const ck_case_buf *y = ck_case_find(c, "y");
    cr_expect_eq(((uintptr_t)y->data + y->bytes) % huge, 0, "end-aligned, 'y' ends on a 2 MiB boundary");
    uintptr_t lo, hi;
    ck_case_buf_mapping(c, 2, &lo, &hi);
    cr_expect(lo + 16 * 4096 <= (uintptr_t)y->data && (uintptr_t)y->data + y->bytes + 16 * 4096 <= hi,
              "guard pages still on both sides");
    ck_case_free(c);
    s.n = 9;
    c = ck_case_create(&s, 5, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    cr_expect_eq((uintptr_t)ck_case_find(c, "a")->data % 4096, 0, "a small buffer starts at a page start");
    ck_case_free(c);
}

static int inplace_add(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    cr_expect_eq((const float *)a->a, a->y, "an in-place kernel gets y == a");
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    return CK_OK;
}

Test(ck_case, inplace_kernel_sees_aliased_output)
{
    ck_shape s = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = 9};
    char err[256];
    ck_case *c = ck_case_create(&s, 5, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    ck_kernel_desc k = {CK_OP_ADD, CK_DTYPE_F32, CK_KF_INPLACE, "f32-add/test", inplace_add};
    cr_expect_eq(ck_case_run(c, &k, NULL), CK_OK);
    const float *a = ck_case_find(c, "a")->data, *b = ck_case_find(c, "b")->data, *y = ck_case_find(c, "y")->data;
    for (int i = 0; i < 9; i++)
        cr_expect_eq(y[i], a[i] + b[i]);
    ck_case_free(c);
}

Test(ck_case, bad_shapes_are_refused_with_a_reason)
{
    char err[256];
    ck_shape s = {.op = CK_OP_QKV, .dtype = CK_DTYPE_F32, .T = 1, .D = 8, .n_heads = 6, .n_kv_heads = 4, .head_dim = 8};
    cr_expect_null(ck_case_create(&s, 1, err, sizeof err));
    cr_expect(strstr(err, "n_heads must be a multiple of n_kv_heads") != NULL, "%s", err);
    ck_shape q = {.op = CK_OP_QUANTIZE, .dtype = CK_DTYPE_Q8_0, .n = 33};
    cr_expect_null(ck_case_create(&q, 1, err, sizeof err));
    cr_expect(strstr(err, "multiple of 32") != NULL, "%s", err);
    ck_shape big = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = (size_t)1 << 40};
    cr_expect_null(ck_case_create(&big, 1, err, sizeof err));
    cr_expect(strstr(err, "reduce the shape") != NULL, "%s", err);
}

Test(ck_case, backward_cases_have_every_gradient_and_consistent_probs)
{
    char err[256];
    ck_shape q = {.op = CK_OP_QKV_BWD,
                  .dtype = CK_DTYPE_F32,
                  .T = 2,
                  .D = 8,
                  .n_heads = 4,
                  .n_kv_heads = 2,
                  .head_dim = 4,
                  .has_bias = 1};
    ck_case *c = ck_case_create(&q, 1, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    cr_expect_eq(ck_case_n_bufs(c), 14, "x, 3 weights, 3 upstream grads, dx, 3 dW, 3 db");
    const ck_qkv_bwd_args *qa = ck_case_args(c);
    cr_expect_eq(qa->dbv, ck_case_find(c, "dbv")->data);
    ck_case_free(c);

    ck_shape a = {.op = CK_OP_ATTENTION_BWD,
                  .dtype = CK_DTYPE_F32,
                  .T = 3,
                  .S = 5,
                  .pos = 2,
                  .n_heads = 2,
                  .n_kv_heads = 1,
                  .head_dim = 8,
                  .causal = 1,
                  .materialize = 1};
    c = ck_case_create(&a, 1, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    const ck_case_buf *p = ck_case_find(c, "probs");
    cr_assert_not_null(p);
    cr_expect_eq(p->role, CK_BUF_IN);
    const float *probs = p->data;
    for (size_t h = 0; h < 2; h++)
        for (size_t t = 0; t < 3; t++) {
            double sum = 0;
            for (size_t j = 0; j < 5; j++) {
                float v = probs[(h * 3 + t) * 5 + j];
                if (j > 2 + t)
                    cr_expect_eq(v, 0.0f, "masked key %zu of row %zu", j, t);
                sum += v;
            }
            cr_expect(fabs(sum - 1.0) < 1e-6, "row %zu of head %zu sums to %g", t, h, sum);
        }
    ck_case_free(c);

    ck_shape e = {.op = CK_OP_EMBEDDING_BWD, .dtype = CK_DTYPE_F32, .T = 4, .vocab = 3, .D = 2};
    c = ck_case_create(&e, 1, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    cr_expect_eq(ck_case_find(c, "dtable")->role, CK_BUF_INOUT, "the table gradient is accumulated into");
    ck_case_free(c);
}

Test(ck_case, fused_case_links_members_and_marks_intermediates)
{
    char err[256];
    ck_shape m[2] = {
        {.op = CK_OP_RMSNORM, .dtype = CK_DTYPE_F32, .T = 2, .D = 16, .eps = 1e-5f},
        {.op = CK_OP_QKV, .dtype = CK_DTYPE_BF16, .T = 2, .D = 16, .n_heads = 2, .n_kv_heads = 1, .head_dim = 8}};
    ck_case *c = ck_case_create_fused(CK_OP_NORM_QKV, CK_DTYPE_BF16, m, 2, 1, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    const ck_case_buf *ny = ck_case_find(c, "norm.y");
    cr_assert_not_null(ny);
    cr_expect_eq(ny->role, CK_BUF_SCRATCH, "the normed x may stay unwritten");
    cr_expect_null(ck_case_find(c, "qkv.x"), "qkv reads norm.y, it has no x of its own");
    cr_expect_eq(ck_case_find(c, "qkv.q")->role, CK_BUF_OUT);
    const ck_fused_norm_qkv_args *a = ck_case_args(c);
    cr_expect_eq(a->qkv.x, ny->data);
    cr_expect_eq(a->norm_kind, CK_NORM_RMS);
    cr_expect_eq(a->qkv.w_dtype, CK_DTYPE_BF16);
    ck_case_free(c);

    m[1].D = 17; /* the norm's output does not fit the projection's input */
    cr_expect_null(ck_case_create_fused(CK_OP_NORM_QKV, CK_DTYPE_BF16, m, 2, 1, err, sizeof err));
    cr_expect(strstr(err, "members do not fit") != NULL, "%s", err);
    cr_expect_null(ck_case_create_fused(CK_OP_GATE_UP, CK_DTYPE_BF16, m, 2, 1, err, sizeof err));
    cr_expect(strstr(err, "not those of this fused op") != NULL, "%s", err);
}

Test(parity_judge, every_output_is_compared_even_the_seventh)
{
    char err[256];
    ck_shape q = {.op = CK_OP_QKV_BWD,
                  .dtype = CK_DTYPE_F32,
                  .T = 2,
                  .D = 8,
                  .n_heads = 2,
                  .n_kv_heads = 1,
                  .head_dim = 4,
                  .has_bias = 1};
    ck_case *c = ck_case_create(&q, 1, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    size_t bytes = ck_parity_output_bytes(c);
    float *ref = calloc(1, bytes), *got = calloc(1, bytes);
    got[bytes / sizeof(float) - 1] = 1.0f; /* the last element of the last output, dbv */
    ck_run_outcome r = {.state = CK_RUN_DONE, .kernel_rc = CK_OK, .outputs = (unsigned char *)ref};
    ck_run_outcome g = {.state = CK_RUN_DONE, .kernel_rc = CK_OK, .outputs = (unsigned char *)got};
    ck_parity_result res = {.plugin = "p", .kernel = "k"};
    ck_parity_judge(c, &r, &g, &res);
    cr_expect_eq(res.verdict, CK_FAIL);
    cr_expect(strstr(res.detail, "'dbv'") != NULL, "%s", res.detail);
    cr_expect_eq(res.n_outputs, 7);
    free(ref);
    free(got);
    ck_case_free(c);
}

Test(ck_case, remembered_weights_equal_generated_ones)
{
    char err[256];
    ck_shape a = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_BF16, .T = 3, .K = 1024, .N = 1024};
    ck_shape b = a;
    b.T = 1; /* another case of the same matrix: its weights come from the memo */
    ck_case *x = ck_case_create(&a, 9, err, sizeof err), *y = ck_case_create(&b, 9, err, sizeof err);
    ck_case *z = ck_case_create(&b, 10, err, sizeof err);
    cr_assert(x && y && z, "%s", err);
    const ck_case_buf *wx = ck_case_find(x, "w"), *wy = ck_case_find(y, "w"), *wz = ck_case_find(z, "w");
    cr_assert_eq(wx->bytes, 2u << 20);
    cr_expect(memcmp(wx->data, wy->data, wx->bytes) == 0);
    cr_expect(memcmp(wx->data, wz->data, wx->bytes) != 0, "another seed, other weights");
    ck_case_free(x);
    ck_case_free(y);
    ck_case_free(z);
}
