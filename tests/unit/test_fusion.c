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
        cr_assert_eq(m, 1u << f);
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

static size_t count_fnodes_fused(const char *model, uint32_t allowed, ck_fusion_result *r, size_t sec)
{
    char path[512], err[512];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/ir/models/%s", src ? src : ".", model);
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_fnode *v;
    size_t n = ck_section_fnodes(m, sec, NULL, &v);
    cr_assert(n > 0);
    cr_assert_eq(ck_fuse(v, n, allowed, r), 0);
    free(v);
    ck_model_free(m);
    return n;
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
    cr_assert_eq(r.applied[CK_FUSE_ACT_DOWN], 1, "gelu + down in its one layer, not the bridge's gelu_erf");
    ck_fusion_result_free(&r);
}

/* act_down's act_kind names swiglu and gelu only (docs/fusion.md): CLIP's
 * quick_gelu MLP (tiny-llava's encoder) stays two steps, the rest fuses. */
Test(fusion_pass, a_quick_gelu_encoder_leaves_its_activation_unfused)
{
    ck_fusion_result r;
    count_fnodes_fused("tiny-llava.json", CK_FUSE_ALL, &r, 0);
    cr_assert_eq(r.matched[CK_FUSE_ACT_DOWN], 0);
    cr_assert_eq(r.applied[CK_FUSE_NORM_QKV], 2);
    ck_fusion_result_free(&r);
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
