/* The generation loop (runtime/run_decode.c) and the commands on it: a
 * generated token is the argmax of the single decode step at its position,
 * the loop replays bit for bit (also on another thread count), positions
 * outside the context are refused, and `ckbench bench --e2e` prints pp and tg
 * rows and a profile whose shares add up. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "ck_fusion.h"
#include "ck_model.h"
#include "ck_run.h"
#include "roofs_testlib.h"

#define MODEL "tiny-gqa.json"

static const char *model_path(void)
{
    static char buf[1024];
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/ir/models/%s", src ? src : ".", MODEL);
    return buf;
}

typedef struct fixture {
    ck_model *m;
    ck_plugin *p, *scalar;
    ck_exec_ctx *ctx;
} fixture;

static fixture open_all(const char *plugin, int threads)
{
    char err[CK_ERR_LEN];
    fixture f = {0};
    f.m = ck_model_load(model_path(), err, sizeof err);
    cr_assert_not_null(f.m, "%s", err);
    f.scalar = ck_plugin_load("scalar", err, sizeof err);
    f.p = ck_plugin_load(plugin, err, sizeof err);
    cr_assert(f.scalar && f.p, "%s", err);
    f.ctx = ck_exec_create(threads);
    return f;
}

static void close_all(fixture *f)
{
    ck_exec_destroy(f->ctx);
    ck_plugin_unload(f->p);
    ck_plugin_unload(f->scalar);
    ck_model_free(f->m);
}

static ck_runner *window_runner(const fixture *f, size_t pos, size_t window)
{
    char err[CK_ERR_LEN];
    ck_run_opts o = {.seed = 7, .decode = 1, .decode_pos = pos, .window_layers = window};
    ck_runner *r = ck_runner_create(f->m, f->p, f->scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static ck_runner *decode_runner(const fixture *f, size_t pos)
{
    char err[CK_ERR_LEN];
    ck_run_opts o = {.seed = 7, .decode = 1, .decode_pos = pos};
    ck_runner *r = ck_runner_create(f->m, f->p, f->scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static void generate(const fixture *f, size_t pos, size_t n, int32_t *ids)
{
    char err[CK_ERR_LEN];
    ck_runner *r = decode_runner(f, pos);
    cr_assert_eq(ck_runner_prepare(r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_runner_generate(r, f->ctx, pos, n, ids, NULL, err, sizeof err), 0, "%s", err);
    ck_runner_free(r);
}

Test(generate, the_first_token_is_the_argmax_of_one_decode_step)
{
    fixture f = open_all("scalar", 1);
    char err[CK_ERR_LEN];
    ck_runner *r = decode_runner(&f, 5);
    cr_assert_eq(ck_runner_forward(r, f.ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    size_t vocab;
    const float *logits = ck_runner_output(r, &vocab);
    size_t best = 0;
    for (size_t i = 1; i < vocab; i++)
        best = logits[i] > logits[best] ? i : best;
    ck_runner_free(r);
    int32_t ids[3];
    generate(&f, 5, 3, ids);
    cr_assert_eq(ids[0], (int32_t)best, "the loop's first step is the plain decode step at its position");
    for (int i = 0; i < 3; i++)
        cr_assert(ids[i] >= 0 && (size_t)ids[i] < vocab);
    close_all(&f);
}

Test(generate, replays_bit_identically_on_any_thread_count)
{
    int32_t a[6], b[6], c[6];
    fixture one = open_all("avx2", 1), two = open_all("avx2", 2);
    if (!one.p->runnable) {
        close_all(&one);
        close_all(&two);
        cr_skip_test("avx2 does not run here");
    }
    generate(&one, 3, 6, a);
    generate(&one, 3, 6, b);
    generate(&two, 3, 6, c);
    cr_assert_arr_eq(a, b, sizeof a, "the same run twice");
    cr_assert_arr_eq(a, c, sizeof a, "1 and 2 threads");
    close_all(&one);
    close_all(&two);
}

/* --window with generation: the cache lives outside the layer spans the
 * window releases, so paging layers in and out (weights seeded anew each
 * token) changes nothing in what is generated. */
Test(generate, a_window_of_one_layer_generates_the_same_tokens)
{
    fixture f = open_all("scalar", 1);
    char err[CK_ERR_LEN];
    int32_t whole[8], windowed[8];
    generate(&f, 0, 8, whole);
    ck_runner *r = window_runner(&f, 0, 1);
    cr_assert_eq(ck_runner_prepare(r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_runner_generate(r, f.ctx, 0, 8, windowed, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_arr_eq(whole, windowed, sizeof whole, "--window 1 against every layer resident");
    cr_assert_gt(ck_runner_paging_ns(r), 0, "the layers were paged, and that time is counted apart");
    cr_assert_leq(ck_runner_resident_layers(r, 0), 2, "at most the window and the layer behind it stay");
    ck_runner_free(r);
    close_all(&f);
}

Test(generate, a_position_outside_the_context_is_refused)
{
    fixture f = open_all("scalar", 1);
    char err[CK_ERR_LEN];
    ck_runner *r = decode_runner(&f, 2);
    cr_assert_eq(ck_runner_set_decode_pos(r, 13, err, sizeof err), -1, "tiny-gqa's seq_len is 13");
    cr_assert(strstr(err, "seq_len (13)") && !strchr(err, '\n'), "%s", err);
    cr_assert_eq(ck_runner_set_decode_pos(r, 12, err, sizeof err), 0, "%s", err);
    ck_runner_free(r);
    close_all(&f);
}

/* Runs a shell command, its stdout into out; the exit status. */
static int sh_out(char *out, size_t len, const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(generate, run_generate_with_a_window_says_the_paging_apart)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[2048], whole[4096], windowed[4096];
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model '%s' --threads 1 --generate 8 2>&1", ck, model_path());
    cr_assert_eq(sh_out(whole, sizeof whole, cmd), 0, "%s", whole);
    snprintf(cmd, sizeof cmd, "%s run --plugin scalar --model '%s' --threads 1 --generate 8 --window 1 2>&1", ck,
             model_path());
    cr_assert_eq(sh_out(windowed, sizeof windowed, cmd), 0, "%s", windowed);
    size_t ids = strcspn(whole, "\n");
    cr_assert(strncmp(whole, windowed, ids) == 0, "the same ids:\n%s\n%s", whole, windowed);
    cr_assert(strstr(windowed, "paging (--window 1): ") && strstr(windowed, "ms per token computing"), "%s", windowed);
    cr_assert_null(strstr(whole, "paging"), "%s", whole);
}

Test(generate, bench_e2e_prints_pp_tg_and_a_profile_that_adds_up)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[2048], out[16384];
    snprintf(cmd, sizeof cmd, "%s bench --e2e --plugin scalar --model '%s' --threads 1 --pp 5 --tg 4 2>&1", ck,
             model_path());
    cr_assert_eq(sh_out(out, sizeof out, cmd), 0, "%s", out);
    cr_assert(strstr(out, "| scalar | 1 | pp5 | "), "%s", out);
    cr_assert(strstr(out, "| scalar | 1 | tg4 | "), "%s", out);
    /* the section rows: one section, all of each phase's time */
    const char *sec = strstr(out, "  text ");
    cr_assert_not_null(sec, "%s", out);
    double pp, tg;
    cr_assert_eq(sscanf(sec, " text %lf%% %lf%%", &pp, &tg), 2, "%s", sec);
    cr_assert_float_eq(pp, 100.0, 0.051);
    cr_assert_float_eq(tg, 100.0, 0.051);
    snprintf(cmd, sizeof cmd, "%s bench --e2e --plugin scalar --model '%s' --pp 10 --tg 10 2>&1 >/dev/null", ck,
             model_path());
    cr_assert_eq(sh_out(out, sizeof out, cmd), 2, "pp + tg beyond the context: bad input");
    cr_assert(strstr(out, "pp + tg <= seq_len (13)") && strchr(out, '\n') == out + strlen(out) - 1, "one line: %s",
              out);
}

/* Decode with fusions: a fused attention + projection still appends the
 * token's k and v to the cache first, so the output is the unfused one (the
 * scalar plugin's fused kernels are their members composed: the same bits). */
/* The logits of one forward with options o (a copy; free()), and how many
 * attention + projection pairs it fused. */
static float *forward_logits(const fixture *f, const ck_run_opts *o, size_t *n, size_t *attn_proj)
{
    char err[CK_ERR_LEN];
    ck_runner *r = ck_runner_create(f->m, f->p, f->scalar, o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(ck_runner_forward(r, f->ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    const float *y = ck_runner_output(r, n);
    float *copy = malloc(*n * sizeof *copy);
    memcpy(copy, y, *n * sizeof *copy);
    if (attn_proj)
        *attn_proj = ck_runner_fusion(r, CK_FUSE_ATTN_PROJ);
    ck_runner_free(r);
    return copy;
}

static float *decode_logits(const fixture *f, uint32_t fuse, size_t *n, size_t *attn_proj)
{
    return forward_logits(f, &(ck_run_opts){.seed = 7, .decode = 1, .decode_pos = 5, .fuse_mask = fuse}, n, attn_proj);
}

Test(generate, decode_combines_with_fusions)
{
    fixture f = open_all("scalar", 1);
    size_t n1, n2, fused_plain, fused;
    float *plain = decode_logits(&f, 0, &n1, &fused_plain);
    float *all = decode_logits(&f, CK_FUSE_ALL, &n2, &fused);
    cr_assert_eq(fused_plain, 0);
    cr_assert_gt(fused, 0, "attention + projection fused in the decode step");
    cr_assert_eq(n1, n2);
    cr_assert_arr_eq(plain, all, n1 * sizeof *plain, "the cache row is appended before the fused kernel reads it");
    free(plain);
    free(all);
    close_all(&f);
}

/* A prompt's forward as generation runs it (bench --e2e's pp): the decoder
 * footer on the last row only gives the full forward's last row of logits,
 * the same bits (scalar: a row's sums do not depend on T), fused or not; a
 * training plan, which needs every row's logits, refuses it. */
static float *prompt_logits(const fixture *f, int last, uint32_t fuse, size_t *n)
{
    return forward_logits(f, &(ck_run_opts){.seed = 7, .fuse_mask = fuse, .last_logits = last}, n, NULL);
}

Test(generate, a_prompt_run_for_its_last_logits_gives_the_full_forwards_last_row)
{
    fixture f = open_all("scalar", 2);
    size_t vocab = f.m->sections[0].vocab, T = f.m->sections[0].seq_len;
    for (uint32_t fuse = 0; fuse <= CK_FUSE_ALL; fuse += CK_FUSE_ALL) {
        size_t n_all, n_last;
        float *all = prompt_logits(&f, 0, fuse, &n_all), *last = prompt_logits(&f, 1, fuse, &n_last);
        cr_assert_eq(n_all, T * vocab);
        cr_assert_eq(n_last, vocab, "one row of logits");
        cr_assert_arr_eq(last, all + (T - 1) * vocab, vocab * sizeof *last, "fuse mask %u", fuse);
        free(all);
        free(last);
    }
    char err[CK_ERR_LEN];
    ck_run_opts o = {.seed = 7, .training = 1, .last_logits = 1};
    cr_assert_null(ck_runner_create(f.m, f.p, f.scalar, &o, err, sizeof err));
    cr_assert(strstr(err, "training needs every row's logits"), "%s", err);
    ck_graph_opts go = {.last_logits = 1};
    ck_node nodes[CK_MAX_SECTION_NODES];
    size_t k = ck_section_nodes(f.m, 0, &go, nodes);
    size_t footer = 0;
    for (size_t i = 0; i < k; i++) {
        footer += nodes[i].part == CK_PART_FOOTER;
        if (nodes[i].shape.T) /* the row-wise ops (elementwise ones count elements) */
            cr_expect_eq(nodes[i].shape.T, nodes[i].part == CK_PART_FOOTER ? 1 : T, "%s", nodes[i].shape.label);
    }
    cr_expect_eq(footer, 2, "final norm and lm_head");
    close_all(&f);
}

/* The result file a run wrote (its output says why when there is none). */
static cJSON *read_result(const char *file, const char *out)
{
    FILE *f = fopen(file, "rb");
    cr_assert_not_null(f, "%s", out);
    static char text[1 << 20];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    cJSON *doc = cJSON_Parse(text);
    cr_assert_not_null(doc, "%s: not JSON", file);
    return doc;
}

/* The whole-model result file: Google Benchmark's fields for compare.py, an
 * e2e array the report draws as stacked bars (one segment per op share),
 * and a doctored share refused naming the field. */
Test(generate, e2e_result_file_feeds_the_report)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char dir[64], cmd[4096], out[16384], file[128];
    snprintf(dir, sizeof dir, "/tmp/ck-test-e2e-%d", (int)getpid());
    snprintf(file, sizeof file, "%s/e2e.json", dir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && CK_RESULTS_DIR=%s %s bench --e2e --plugin scalar --model '%s' --threads 1 --pp 5 "
             "--tg 3 --out %s 2>&1",
             dir, dir, ck, model_path(), file);
    cr_assert_eq(sh_out(out, sizeof out, cmd), 0, "%s", out);
    cJSON *doc = read_result(file, out);
    const cJSON *b, *e;
    size_t n_bench = 0, segments = 0;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(b, "name")));
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(b, "real_time")));
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(b, "time_unit")->valuestring, "ms");
        n_bench++;
    }
    cr_assert_eq(n_bench, 2, "pp5/threads:1 and tg3/threads:1");
    const cJSON *e2e = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench"), "e2e");
    cJSON_ArrayForEach(e, e2e)
    {
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(e, "profile")) segments += v->valuedouble > 0;
    }
    cJSON_Delete(doc);
    snprintf(cmd, sizeof cmd, "%s report %s -o %s/r.html --md %s/r.md >/dev/null 2>&1 && cat %s/r.md %s/r.html", ck,
             file, dir, dir, dir, dir);
    cr_assert_eq(sh_out(out, sizeof out, cmd), 0);
    cr_assert(strstr(out, "## Whole model") && strstr(out, "| 1 | pp5 | ") && strstr(out, "| 1 | tg3 | "), "%s", out);
    size_t drawn = 0;
    for (const char *p = out; (p = strstr(p, "class=\"e2e-segment\"")); p++)
        drawn++;
    cr_assert_eq(drawn, segments, "one segment per op share");
    /* a share of 7 is no share */
    snprintf(cmd, sizeof cmd,
             "sed -i 's/\"linear\":[^,}]*/\"linear\": 7/' %s && %s report %s --md %s/r2.md 2>&1 >/dev/null; "
             "echo status=$?; rm -rf %s",
             file, ck, file, dir, dir);
    sh_out(out, sizeof out, cmd);
    cr_assert(strstr(out, "context.ckbench.e2e[0]") && strstr(out, "status=2"), "%s", out);
}

/* With roofs that have memory levels, the whole-model run measures the DRAM
 * read before and after itself, prints tg against it, and its result file
 * keeps both reads per entry. The roofs' LLC of 1 MiB keeps the probe
 * short. */
Test(generate, e2e_measures_the_dram_read_around_the_run)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char dir[64], cmd[4096], out[16384], file[128], err[512];
    snprintf(dir, sizeof dir, "/tmp/ck-test-e2e-probe-%d", (int)getpid());
    snprintf(file, sizeof file, "%s/e2e.json", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(st_save_level_roofs(dir, 100.0, err, sizeof err), 0, "%s", err);
    snprintf(cmd, sizeof cmd,
             "CK_RESULTS_DIR=%s %s bench --e2e --plugin scalar --model '%s' --threads 1 --pp 4 --tg 2 --out %s 2>&1",
             dir, ck, model_path(), file);
    cr_assert_eq(sh_out(out, sizeof out, cmd), 0, "%s", out);
    cr_assert(strstr(out, "the DRAM read measured before / after the run: ") && strstr(out, "(roof's read 100.0)"),
              "%s", out);
    cJSON *doc = read_result(file, out);
    const cJSON *e,
        *e2e = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench"), "e2e");
    cr_assert_eq(cJSON_GetArraySize(e2e), 2);
    cJSON_ArrayForEach(e, e2e)
    {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(e, "dram_read_before_gbs"),
                    *a = cJSON_GetObjectItemCaseSensitive(e, "dram_read_after_gbs");
        cr_assert(cJSON_IsNumber(b) && b->valuedouble > 0 && cJSON_IsNumber(a) && a->valuedouble > 0,
                  "both reads in every entry");
        cr_assert_float_eq(cJSON_GetObjectItemCaseSensitive(e, "dram_roof_read_gbs")->valuedouble, 100.0, 1e-9);
    }
    cJSON_Delete(doc);
    /* CK_PROBE=0: no probe, no line */
    snprintf(cmd, sizeof cmd,
             "CK_PROBE=0 CK_RESULTS_DIR=%s %s bench --e2e --plugin scalar --model '%s' --threads 1 --pp 4 --tg 2 "
             "--out %s 2>&1; rm -rf %s",
             dir, ck, model_path(), file, dir);
    sh_out(out, sizeof out, cmd);
    cr_assert(strstr(out, "x the bound") && !strstr(out, "the DRAM read measured"), "CK_PROBE=0: %s", out);
}
