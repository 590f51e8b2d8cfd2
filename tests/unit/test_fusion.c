/* The fusion-flag pass on tiny graphs: which sequences fuse, which must not,
 * the priority between overlapping fusions, the bytes saved, and the flags'
 * round trip through their text form. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ck_fusion.h"

static ck_fnode node(uint32_t op, int i0, int i1, int o0, size_t bytes)
{
    ck_fnode f;
    memset(&f, 0, sizeof f);
    f.op = op;
    f.in[0] = i0, f.in[1] = i1, f.in[2] = -1;
    f.out[0] = o0, f.out[1] = -1, f.out[2] = -1;
    f.out_bytes[0] = bytes;
    return f;
}

Test(fusion_flags, parse_and_format_round_trip)
{
    char err[256], buf[256];
    uint32_t m;
    cr_assert_eq(ck_fusion_parse("all", &m, err, sizeof err), 0);
    cr_assert_eq(m, CK_FUSE_ALL);
    cr_assert_eq(ck_fusion_parse("none", &m, err, sizeof err), 0);
    cr_assert_eq(m, 0u);
    cr_assert_eq(ck_fusion_parse("qkv_rope,norm_qkv", &m, err, sizeof err), 0);
    cr_assert_eq(m, (1u << CK_FUSE_QKV_ROPE) | (1u << CK_FUSE_NORM_QKV));
    ck_fusion_format(m, buf, sizeof buf);
    cr_assert_str_eq(buf, "norm_qkv,qkv_rope");
    uint32_t back;
    cr_assert_eq(ck_fusion_parse(buf, &back, err, sizeof err), 0);
    cr_assert_eq(back, m);
    for (unsigned f = 0; f < CK_FUSE_COUNT; f++) {
        cr_assert_eq(ck_fusion_parse(ck_fusion_name(f), &m, err, sizeof err), 0);
        /* act_down asks for every activation it has: its condition bit too */
        cr_assert_eq(m, (1u << f) | (f == CK_FUSE_ACT_DOWN ? CK_FUSE_ACT_DOWN_UNARY : 0u));
        ck_fusion_format(m, buf, sizeof buf);
        cr_assert_str_eq(buf, ck_fusion_name(f), "the condition bit is no fusion of its own");
        cr_assert_neq(ck_fusion_op(f), (uint32_t)CK_OP_NONE);
    }
}

Test(fusion_flags, unknown_name_is_refused_with_its_name)
{
    char err[256];
    uint32_t m;
    cr_assert_eq(ck_fusion_parse("norm_qkv,norm_qvk", &m, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown fusion 'norm_qvk'") != NULL, "%s", err);
}

/* x -> norm -> h -> qkv -> (q,k,v) */
Test(fusion_pass, norm_then_qkv_fuses_when_allowed)
{
    ck_fnode v[2] = {node(CK_OP_RMSNORM, 1, -1, 2, 400), node(CK_OP_QKV, 2, -1, 3, 400)};
    v[1].out[1] = 4, v[1].out[2] = 5, v[1].out_bytes[1] = v[1].out_bytes[2] = 100;
    ck_fusion_result r;
    cr_assert_eq(ck_fuse(v, 2, CK_FUSE_ALL, &r), 0);
    cr_assert_eq(r.n_steps, 1);
    cr_assert_eq(r.steps[0].fusion, CK_FUSE_NORM_QKV);
    cr_assert_eq(r.steps[0].count, 2);
    cr_assert_eq(r.bytes_saved, 800, "h is neither written nor re-read: 2 x 400, got %zu", r.bytes_saved);
    ck_fusion_result_free(&r);
    cr_assert_eq(ck_fuse(v, 2, 0, &r), 0);
    cr_assert_eq(r.n_steps, 2, "nothing allowed: unfused");
    cr_assert_eq(r.matched[CK_FUSE_NORM_QKV], 1);
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], 0);
    ck_fusion_result_free(&r);
}

Test(fusion_pass, an_intermediate_read_later_blocks_the_fusion)
{
    /* the norm's output h is also read by a later add: it must be written */
    ck_fnode v[3] = {node(CK_OP_RMSNORM, 1, -1, 2, 400), node(CK_OP_QKV, 2, -1, 3, 400), node(CK_OP_ADD, 2, 3, 6, 400)};
    ck_fusion_result r;
    cr_assert_eq(ck_fuse(v, 3, CK_FUSE_ALL, &r), 0);
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], 0);
    cr_assert_eq(r.blocked[CK_FUSE_NORM_QKV], 1);
    cr_assert_eq(r.n_steps, 3);
    ck_fusion_result_free(&r);
}

Test(fusion_pass, residual_add_then_norm_fuses_because_the_sum_is_written)
{
    /* the sum (new residual) is read again two ops later: add_norm still
     * applies, since the fused op writes add.y by definition */
    ck_fnode v[4] = {node(CK_OP_ADD, 1, 2, 3, 400), node(CK_OP_RMSNORM, 3, -1, 4, 400),
                     node(CK_OP_LINEAR, 4, -1, 5, 400), node(CK_OP_ADD, 3, 5, 6, 400)};
    ck_fusion_result r;
    cr_assert_eq(ck_fuse(v, 4, 1u << CK_FUSE_ADD_NORM, &r), 0);
    cr_assert_eq(r.applied[CK_FUSE_ADD_NORM], 1);
    cr_assert_eq(r.steps[0].fusion, CK_FUSE_ADD_NORM);
    cr_assert_eq(r.bytes_saved, 400, "only the re-read of the sum is saved");
    ck_fusion_result_free(&r);
}

Test(fusion_pass, gate_up_takes_priority_over_act_down_and_counts_the_shared_input)
{
    /* h -> gate -> g ; h -> up -> u ; swiglu(g,u) -> m ; down(m) -> d */
    ck_fnode v[4] = {node(CK_OP_LINEAR, 1, -1, 2, 200), node(CK_OP_LINEAR, 1, -1, 3, 200),
                     node(CK_OP_SWIGLU, 2, 3, 4, 200), node(CK_OP_LINEAR, 4, -1, 5, 100)};
    ck_fusion_result r;
    cr_assert_eq(ck_fuse(v, 4, CK_FUSE_ALL, &r), 0);
    cr_assert_eq(r.applied[CK_FUSE_GATE_UP], 1);
    cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 0, "swiglu already belongs to gate_up");
    cr_assert_eq(r.n_steps, 2);
    /* g and u not written nor re-read (2 x 2 x 200); h is an outside input of
     * unknown size here (0 bytes), read once instead of twice */
    cr_assert_eq(r.bytes_saved, 800, "got %zu", r.bytes_saved);
    ck_fusion_result_free(&r);
    cr_assert_eq(ck_fuse(v, 4, 1u << CK_FUSE_ACT_DOWN, &r), 0);
    cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 1, "with gate_up not allowed, act_down applies");
    ck_fusion_result_free(&r);
}

/* The fusion pass over section sec of a model's graph under opts (NULL:
 * the forward over every row); its node count. With nodes, the nodes too. */
static size_t fuse_section(const char *model, const ck_graph_opts *opts, uint32_t allowed, ck_fusion_result *r,
                           size_t sec, ck_fnode **nodes)
{
    char path[512], err[512];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/ir/models/%s", src ? src : ".", model);
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_fnode *v;
    size_t n = ck_section_fnodes(m, sec, opts, &v);
    cr_assert(n > 0);
    cr_assert_eq(ck_fuse(v, n, allowed, r), 0);
    if (nodes)
        *nodes = v;
    else
        free(v);
    ck_model_free(m);
    return n;
}

static size_t count_fnodes_fused(const char *model, uint32_t allowed, ck_fusion_result *r, size_t sec)
{
    return fuse_section(model, NULL, allowed, r, sec, NULL);
}

/* A prompt's forward norms the last row only at the footer (last_logits):
 * the last layer's residual add, over every row, is no add_norm with it;
 * the footer fuses as in the forward over every row (final norm and
 * lm_head, norm_mlp). */
Test(fusion_pass, a_prompts_footer_norm_is_not_fused_with_the_last_add)
{
    ck_fusion_result all, last;
    ck_graph_opts prompt = {.last_logits = 1};
    ck_fnode *v;
    fuse_section("tiny-gqa.json", NULL, CK_FUSE_ALL, &all, 0, NULL);
    fuse_section("tiny-gqa.json", &prompt, CK_FUSE_ALL, &last, 0, &v);
    cr_assert_gt(all.applied[CK_FUSE_ADD_NORM], 0);
    cr_expect_eq(last.applied[CK_FUSE_ADD_NORM], all.applied[CK_FUSE_ADD_NORM]);
    cr_expect_eq(last.applied[CK_FUSE_NORM_MLP], all.applied[CK_FUSE_NORM_MLP]);
    for (size_t i = 0; i < last.n_steps; i++) {
        const ck_step *st = &last.steps[i];
        if (st->fusion != CK_FUSE_ADD_NORM)
            continue;
        const ck_shape *add = &v[st->first].shape, *norm = &v[st->first + 1].shape;
        cr_expect_eq(add->n, norm->T * norm->D, "add_norm at node %zu: the add writes %zu values, the norm reads %zu",
                     st->first, add->n, norm->T * norm->D);
    }
    free(v);
    ck_fusion_result_free(&all);
    ck_fusion_result_free(&last);
}

Test(fusion_pass, every_layer_of_a_decoder_fuses_the_same_way)
{
    ck_fusion_result r;
    size_t n = count_fnodes_fused("tiny-gqa.json", CK_FUSE_ALL, &r, 0);
    size_t layers = 3;
    cr_assert_eq(r.applied[CK_FUSE_GATE_UP], layers);
    cr_assert_eq(r.applied[CK_FUSE_QKV_ROPE], layers);
    cr_assert_eq(r.applied[CK_FUSE_ATTN_PROJ], layers);
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], 0, "qkv_rope saves more than norm_qkv on the same qkv");
    cr_assert_eq(r.applied[CK_FUSE_EMBED_NORM], 1);
    cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 0, "the swiglu belongs to gate_up");
    size_t covered = 0, saved = 0;
    for (size_t i = 0; i < r.n_steps; i++) {
        cr_assert_eq(r.steps[i].first, covered, "steps are contiguous and in order");
        covered += r.steps[i].count;
        saved += r.steps[i].bytes_saved;
    }
    cr_assert_eq(covered, n, "steps cover every node once");
    cr_assert_eq(saved, r.bytes_saved);
    ck_fusion_result_free(&r);

    /* allowing only norm_qkv, it applies to every layer instead */
    count_fnodes_fused("tiny-gqa.json", 1u << CK_FUSE_NORM_QKV, &r, 0);
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], layers);
    ck_fusion_result_free(&r);

    count_fnodes_fused("tiny-gqa.json", 0, &r, 0);
    cr_assert_eq(r.n_steps, n, "none: one step per node");
    cr_assert_eq(r.bytes_saved, 0);
    ck_fusion_result_free(&r);
}

Test(fusion_pass, a_gelu_encoder_has_no_gate_up_or_qkv_rope)
{
    ck_fusion_result r;
    count_fnodes_fused("tiny-window.json", CK_FUSE_ALL, &r, 0);
    cr_assert_eq(r.matched[CK_FUSE_GATE_UP], 0);
    cr_assert_eq(r.matched[CK_FUSE_QKV_ROPE], 0, "learned positions: no rope");
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], 1);
    cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 2, "gelu + down in its one layer, the bridge's gelu_erf + linear");
    ck_fusion_result_free(&r);
    count_fnodes_fused("tiny-window.json", CK_FUSE_ALL & ~CK_FUSE_ACT_DOWN_UNARY, &r, 0);
    cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 1, "without the condition bit, not the bridge's gelu_erf");
    ck_fusion_result_free(&r);
}

/* CLIP's quick_gelu MLP (tiny-llava's encoder, 2 layers) fuses act_down
 * only with CK_FUSE_ACT_DOWN_UNARY (an act_down kernel that claims
 * CK_KF_ACT_DOWN_UNARY): without it the activation and down stay two steps
 * and the rest fuses as before. */
Test(fusion_pass, a_quick_gelu_encoder_fuses_act_down_only_where_the_kernel_claims_it)
{
    ck_fusion_result r;
    count_fnodes_fused("tiny-llava.json", CK_FUSE_ALL, &r, 0);
    cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 2, "quick_gelu + down in each encoder layer");
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], 2);
    ck_fusion_result_free(&r);
    count_fnodes_fused("tiny-llava.json", CK_FUSE_ALL & ~CK_FUSE_ACT_DOWN_UNARY, &r, 0);
    cr_assert_eq(r.matched[CK_FUSE_ACT_DOWN], 0, "quick_gelu is no act_down activation for this kernel");
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], 2);
    ck_fusion_result_free(&r);
}

/* x -> gelu_erf -> h -> down: with and without the condition bit */
Test(fusion_pass, gelu_erf_and_quick_gelu_need_the_condition_bit_swiglu_and_gelu_do_not)
{
    const uint32_t acts[] = {CK_OP_SWIGLU, CK_OP_GELU, CK_OP_GELU_ERF, CK_OP_QUICK_GELU};
    for (int i = 0; i < 4; i++) {
        ck_fnode v[2] = {node(acts[i], 1, -1, 2, 400), node(CK_OP_LINEAR, 2, -1, 3, 100)};
        ck_fusion_result r;
        cr_assert_eq(ck_fuse(v, 2, 1u << CK_FUSE_ACT_DOWN, &r), 0);
        cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], i < 2, "%s without the bit", ck_op_name(acts[i]));
        ck_fusion_result_free(&r);
        cr_assert_eq(ck_fuse(v, 2, (1u << CK_FUSE_ACT_DOWN) | CK_FUSE_ACT_DOWN_UNARY, &r), 0);
        cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 1, "%s with it", ck_op_name(acts[i]));
        cr_assert_eq(r.bytes_saved, 800);
        ck_fusion_result_free(&r);
        cr_assert_eq(ck_fuse(v, 2, CK_FUSE_ACT_DOWN_UNARY, &r), 0);
        cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 0, "the bit alone allows no fusion");
        ck_fusion_result_free(&r);
    }
}

/* ---- the flags round-trip through layout.json and the fusion result file ---- */

#include <cJSON.h>
#include <sys/wait.h>
#include <unistd.h>

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s was not written", path);
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *doc = cJSON_Parse(buf);
    cr_assert_not_null(doc, "%s is not JSON", path);
    return doc;
}

static uint32_t requested_in(cJSON *doc)
{
    cJSON *fu = cJSON_GetObjectItemCaseSensitive(doc, "fusion");
    cJSON *req = cJSON_GetObjectItemCaseSensitive(fu, "requested");
    cr_assert(cJSON_IsString(req), "no fusion.requested");
    uint32_t mask;
    char err[256];
    cr_assert_eq(ck_fusion_parse(req->valuestring, &mask, err, sizeof err), 0, "%s", err);
    return mask;
}

Test(fusion_flags, round_trip_through_layout_json_and_the_fusion_result)
{
    const char *ck = getenv("CK_CKBENCH"), *src = getenv("CK_SOURCE_DIR");
    if (!ck || !src)
        cr_skip_test("CK_CKBENCH / CK_SOURCE_DIR not set (run through make test-unit)");
    const char *specs[] = {"all", "none", "norm_qkv,qkv_rope", "add_norm", "gate_up,act_down,embed_norm"};
    char dir[] = "/tmp/ck_fuse_rt_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        uint32_t want;
        char err[256], cmd[4096], layout[256], result[256];
        cr_assert_eq(ck_fusion_parse(specs[i], &want, err, sizeof err), 0);
        snprintf(layout, sizeof layout, "%s/layout.json", dir);
        snprintf(result, sizeof result, "%s/fusion.json", dir);
        snprintf(cmd, sizeof cmd,
                 "%s plan --model %s/ir/models/tiny-gqa.json --fuse %s --plugin scalar --layout %s >/dev/null && "
                 "%s fusion --model %s/ir/models/tiny-gqa.json --plugin scalar --fuse %s --layers 99 --repetitions 1 "
                 "--json %s "
                 ">/dev/null",
                 ck, src, specs[i], layout, ck, src, specs[i], result);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        cJSON *l = read_json(layout), *r = read_json(result);
        cr_assert_eq(requested_in(l), want, "layout.json: %s", specs[i]);
        cr_assert_eq(requested_in(r), want, "fusion result: %s", specs[i]);
        /* both ran the same pass: the same groups applied */
        cJSON *la = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(l, "fusion"), "applied");
        cJSON *ra = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "fusion"), "applied");
        for (unsigned f = 0; f < CK_FUSE_COUNT; f++) {
            cJSON *a = cJSON_GetObjectItemCaseSensitive(la, ck_fusion_name(f));
            cJSON *b = cJSON_GetObjectItemCaseSensitive(ra, ck_fusion_name(f));
            cr_assert(cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble == b->valuedouble,
                      "%s: %s applied differently in layout.json and the run", specs[i], ck_fusion_name(f));
            if (!(want & (1u << f)))
                cr_assert_eq(a->valuedouble, 0, "%s applied without being requested", ck_fusion_name(f));
        }
        cJSON_Delete(l);
        cJSON_Delete(r);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(fusion_flags, a_layout_without_fuse_has_no_fusion_record)
{
    const char *ck = getenv("CK_CKBENCH"), *src = getenv("CK_SOURCE_DIR");
    if (!ck || !src)
        cr_skip_test("CK_CKBENCH / CK_SOURCE_DIR not set (run through make test-unit)");
    char cmd[4096], path[] = "/tmp/ck_nofuse_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s plan --model %s/ir/models/tiny-gqa.json --layout %s >/dev/null", ck, src, path);
    cr_assert_eq(system(cmd), 0);
    cJSON *l = read_json(path);
    unlink(path);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(l, "fusion"));
    cJSON_Delete(l);
}

/* ---- a plugin's act_down without CK_KF_ACT_DOWN_UNARY: the members run ---- */

#include "ck_run.h"

static ck_plugin *load_plugin(const char *name, int test_fixture)
{
    char path[1024], err[CK_ERR_LEN];
    const char *dir = getenv(test_fixture ? "CK_TEST_PLUGIN_DIR" : "CK_PLUGIN_PATH");
    if (!dir)
        cr_skip_test("CK_TEST_PLUGIN_DIR / CK_PLUGIN_PATH not set (run through make test-unit)");
    snprintf(path, sizeof path, "%s/libck_%s.so", dir, name);
    ck_plugin *p = ck_plugin_load(path, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    return p;
}

/* The steps of tiny-llava's vision section run through p with every fusion
 * requested: how many are act_down units and quick_gelu steps, and whether
 * any act_down unit went to scalar's kernel as a stand-in. */
static void vision_units(const ck_plugin *p, const ck_plugin *scalar, size_t *act_down, size_t *quick_gelu,
                         size_t *act_down_by_scalar)
{
    char path[512], err[CK_ERR_LEN];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/ir/models/tiny-llava.json", src ? src : ".");
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_run_opts opts = {.seed = 42, .fuse_mask = CK_FUSE_ALL};
    ck_runner *r = ck_runner_create(m, p, scalar, &opts, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    *act_down = *quick_gelu = *act_down_by_scalar = 0;
    for (size_t i = 0; i < ck_runner_n_steps(r); i++) {
        const ck_run_step *s = ck_runner_step(r, i);
        if (s->section != 0)
            continue;
        *act_down += s->op == CK_OP_ACT_DOWN;
        *quick_gelu += s->op == CK_OP_QUICK_GELU;
        *act_down_by_scalar += s->op == CK_OP_ACT_DOWN && (s->fallback || strcmp(s->plugin, p->desc->name) != 0);
    }
    ck_runner_free(r);
    ck_model_free(m);
}

Test(fusion_run, an_act_down_kernel_without_the_flag_leaves_the_quick_gelu_mlp_to_its_members)
{
    ck_plugin *old = load_plugin("old_act_down", 1), *scalar = load_plugin("scalar", 0);
    uint32_t offered = ck_fusion_offered(old, CK_DTYPE_F32);
    cr_assert(offered & (1u << CK_FUSE_ACT_DOWN), "it has a fused act_down kernel");
    cr_assert_not(offered & CK_FUSE_ACT_DOWN_UNARY, "which does not claim CK_KF_ACT_DOWN_UNARY");
    cr_assert(ck_fusion_offered(scalar, CK_DTYPE_F32) & CK_FUSE_ACT_DOWN_UNARY);
    cr_assert(ck_fusion_offered(scalar, CK_DTYPE_BF16) & CK_FUSE_ACT_DOWN_UNARY);
    size_t act_down, quick_gelu, by_scalar;
    vision_units(old, scalar, &act_down, &quick_gelu, &by_scalar);
    cr_assert_eq(act_down, 0, "no act_down group: scalar's fused kernel would stand in");
    cr_assert_eq(quick_gelu, 2, "each layer's quick_gelu runs as its own step");
    vision_units(scalar, scalar, &act_down, &quick_gelu, &by_scalar);
    cr_assert_eq(act_down, 2, "scalar's act_down claims the flag: both layers fuse");
    cr_assert_eq(quick_gelu, 0);
    ck_plugin_unload(old);
    ck_plugin_unload(scalar);
}

Test(fusion_run, avx512_fuses_the_quick_gelu_mlp_with_its_own_kernel)
{
    ck_plugin *p = load_plugin("avx512", 0), *scalar = load_plugin("scalar", 0);
    if (!p->runnable) {
        ck_plugin_unload(p);
        ck_plugin_unload(scalar);
        cr_skip_test("avx512 does not run on this CPU");
    }
    size_t act_down, quick_gelu, by_scalar;
    vision_units(p, scalar, &act_down, &quick_gelu, &by_scalar);
    cr_assert_eq(act_down, 2);
    cr_assert_eq(quick_gelu, 0);
    cr_assert_eq(by_scalar, 0, "avx512's own act_down runs them");
    ck_plugin_unload(p);
    ck_plugin_unload(scalar);
}
