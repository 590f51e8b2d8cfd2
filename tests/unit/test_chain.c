/* Plugin chains (runtime/run_bind.c's run_pick_kernel, core/plugin_chain.c):
 * each op's kernel comes from the first plugin of the chain that has one,
 * then scalar; a chain of exact kernels generates the tokens each of its
 * plugins alone does; a bad list is refused in one line naming the item. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ck_model.h"
#include "ck_run.h"

static const char *path_of(const char *dir_env, const char *fallback, const char *file)
{
    static char buf[4][1024];
    static int k;
    const char *d = getenv(dir_env);
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", d ? d : fallback, file);
    return buf[k];
}

static const char *model_path(void)
{
    return path_of("CK_SOURCE_DIR", ".", "ir/models/tiny-gqa.json");
}

/* A test plugin of tests/plugins/ by its file. Runs plan f32 weights:
 * the test plugins' embedding is f32 only. */
static const char *test_plugin(const char *name)
{
    char file[64];
    snprintf(file, sizeof file, "libck_%s.so", name);
    return path_of("CK_TEST_PLUGIN_DIR", "build/tests/plugins", file);
}

static void load_chain(ck_chain *c, const char *a, const char *b)
{
    char spec[2200], err[CK_ERR_LEN];
    snprintf(spec, sizeof spec, "%s%s%s", a, b ? "+" : "", b ? b : "");
    cr_assert_eq(ck_chain_load(c, spec, err, sizeof err), 0, "%s", err);
}

static ck_runner *runner(ck_model *m, const ck_chain *c, int decode)
{
    char err[CK_ERR_LEN];
    ck_run_opts o = {.seed = 7, .weight_dtype = CK_DTYPE_F32, .decode = decode, .decode_pos = 2};
    ck_runner *r =
        ck_runner_create_chain(m, (const ck_plugin *const *)c->plugins, c->n, c->scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

/* Every unit of op `op` runs on plugin `by` (fallback as given); 1 if any did. */
static int all_by(const ck_runner *r, uint32_t op, const char *by, int fallback)
{
    int seen = 0;
    for (size_t i = 0; i < ck_runner_n_steps(r); i++) {
        const ck_run_step *s = ck_runner_step(r, i);
        if (s->op != op)
            continue;
        seen = 1;
        cr_expect_str_eq(s->plugin, by, "%s", s->label);
        cr_expect_eq(s->fallback, fallback, "%s: fallback", s->label);
    }
    return seen;
}

Test(chain, picks_each_kernel_from_the_first_plugin_that_has_it)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_load(model_path(), err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_chain c;
    load_chain(&c, test_plugin("chain_add"), test_plugin("chain_mix"));
    ck_runner *r = runner(m, &c, 0);
    cr_assert(all_by(r, CK_OP_ADD, "chain_add", 0), "tiny-gqa has residual adds");
    cr_assert(all_by(r, CK_OP_EMBEDDING, "chain_mix", 0), "and an embedding");
    cr_assert(all_by(r, CK_OP_RMSNORM, "scalar", 1), "neither has a norm: scalar stands in");
    ck_runner_free(r);
    ck_chain_unload(&c);

    load_chain(&c, test_plugin("chain_mix"), test_plugin("chain_add"));
    r = runner(m, &c, 0);
    cr_assert(all_by(r, CK_OP_ADD, "chain_mix", 0), "the other order: the first has add too");
    ck_runner_free(r);
    ck_chain_unload(&c);

    load_chain(&c, test_plugin("chain_add"), "scalar");
    r = runner(m, &c, 0);
    cr_assert(all_by(r, CK_OP_EMBEDDING, "scalar", 0), "scalar as a member is a choice, not a fallback");
    ck_runner_free(r);
    ck_chain_unload(&c);
    ck_model_free(m);
}

static void generate(ck_model *m, const char *a, const char *b, int32_t *ids, size_t n)
{
    char err[CK_ERR_LEN];
    ck_chain c;
    load_chain(&c, a, b);
    ck_runner *r = runner(m, &c, 1);
    ck_exec_ctx *ctx = ck_exec_create(2);
    cr_assert_eq(ck_runner_prepare(r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_runner_generate(r, ctx, 2, n, ids, NULL, err, sizeof err), 0, "%s", err);
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_chain_unload(&c);
}

Test(chain, exact_kernels_generate_the_same_tokens_through_a_chain_as_alone)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_load(model_path(), err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    int32_t chain[8], add[8], mix[8], ref[8];
    generate(m, test_plugin("chain_add"), test_plugin("chain_mix"), chain, 8);
    generate(m, test_plugin("chain_add"), NULL, add, 8);
    generate(m, test_plugin("chain_mix"), NULL, mix, 8);
    generate(m, "scalar", NULL, ref, 8);
    cr_assert_arr_eq(chain, add, sizeof chain, "chain vs chain_add alone");
    cr_assert_arr_eq(chain, mix, sizeof chain, "chain vs chain_mix alone");
    cr_assert_arr_eq(chain, ref, sizeof chain, "chain vs scalar");
    ck_model_free(m);
}

static int sh_out(char *out, size_t len, const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Each bad list: exit 2, one line, naming what is wrong. */
static void refused(const char *ck, const char *args, const char *says)
{
    char cmd[4096], out[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1 >/dev/null", ck, args);
    int rc = sh_out(out, sizeof out, cmd);
    cr_expect(rc == 2 || rc == 1, "%s: exit %d", args, rc);
    cr_expect(strstr(out, says) != NULL, "%s: expected '%s' in: %s", args, says, out);
    cr_expect(strchr(out, '\n') == out + strlen(out) - 1, "%s: one line: %s", args, out);
}

Test(chain, bad_lists_are_refused_in_one_line_each)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char args[2048];
    const char *model = model_path();
    snprintf(args, sizeof args, "run --plugin scalar++scalar --model %s", model);
    refused(ck, args, "item 2 is empty");
    snprintf(args, sizeof args, "run --plugin +scalar --model %s", model);
    refused(ck, args, "item 1 is empty");
    snprintf(args, sizeof args, "run --plugin scalar+scalar --model %s", model);
    refused(ck, args, "twice: 'scalar'");
    snprintf(args, sizeof args, "run --plugin scalar+no_such_plugin --model %s", model);
    refused(ck, args, "--plugin 'scalar+no_such_plugin': no_such_plugin: no plugin of that name");
    snprintf(args, sizeof args, "bench --e2e --plugin scalar+ --model %s --pp 2 --tg 2", model);
    refused(ck, args, "item 2 is empty");
    refused(ck, "parity --plugin scalar+avx2", "not a chain");
    snprintf(args, sizeof args, "bench --plugin scalar+avx2 --model %s", model);
    refused(ck, args, "runs with --e2e only");
}

Test(chain, run_reports_the_kernels_each_plugin_runs)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[4096], out[16384];
    snprintf(cmd, sizeof cmd, "%s run --plugin '%s+%s' --model %s --weight-dtype f32 --threads 1 2>&1", ck,
             test_plugin("chain_add"), test_plugin("chain_mix"), model_path());
    cr_assert_eq(sh_out(out, sizeof out, cmd), 0, "%s", out);
    const char *line = strstr(out, "kernels by plugin: chain_add ");
    cr_assert_not_null(line, "%s", out);
    unsigned add, mix, sc;
    cr_assert_eq(sscanf(line, "kernels by plugin: chain_add %u, chain_mix %u, scalar %u (fallback)", &add, &mix, &sc),
                 3, "%s", line);
    cr_assert(add > 0 && mix == 1 && sc > 0, "%s", line);
    snprintf(cmd, sizeof cmd,
             "%s bench --e2e --plugin '%s+%s' --model %s --weight-dtype f32 --threads 1 --pp 3 --tg 2 2>&1", ck,
             test_plugin("chain_add"), test_plugin("chain_mix"), model_path());
    cr_assert_eq(sh_out(out, sizeof out, cmd), 0, "%s", out);
    cr_assert(strstr(out, "  embedding ") && strstr(strstr(out, "  embedding "), "chain_mix"), "e2e profile: %s", out);
}
