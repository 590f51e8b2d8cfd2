/* Plugin chains (runtime/run_bind.c's run_pick_kernel, core/plugin_chain.c):
 * each op's kernel comes from the first plugin of the chain that has one,
 * then scalar, in a run and in a training step (backward and adam too); a
 * chain of exact kernels generates the tokens, and trains to the bits, each
 * of its plugins alone does; a bad list is refused in one line naming the
 * item. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ck_model.h"
#include "ck_run.h"
#include "ck_train.h"

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
    snprintf(args, sizeof args, "train-step --plugin scalar++scalar --model %s", model);
    refused(ck, args, "--plugin 'scalar++scalar': item 2 is empty");
    snprintf(args, sizeof args, "train-step --plugin scalar+scalar --model %s", model);
    refused(ck, args, "--plugin 'scalar+scalar': a chain names each plugin once; twice: 'scalar'");
    snprintf(args, sizeof args, "train-step --plugin scalar+no_such_plugin --model %s", model);
    refused(ck, args, "--plugin 'scalar+no_such_plugin': no_such_plugin: no plugin of that name");
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

/* ---- training through a chain ----------------------------------------------- */

static ck_trainer *trainer(ck_model *m, const ck_chain *c, uint64_t seed)
{
    char err[CK_ERR_LEN];
    ck_train_opts o = ck_train_defaults();
    o.seed = seed;
    ck_trainer *t =
        ck_trainer_create_chain(m, (const ck_plugin *const *)c->plugins, c->n, c->scalar, &o, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    return t;
}

/* Every loss / backward / adam op `op` runs on plugin `by` (fallback as
 * given); 1 if any did. */
static int all_ops_by(const ck_trainer *t, uint32_t op, const char *by, int fallback)
{
    int seen = 0;
    for (size_t i = 0; i < ck_trainer_n_ops(t); i++) {
        ck_train_op o = ck_trainer_op(t, i);
        if (o.op != op)
            continue;
        seen = 1;
        cr_expect_str_eq(o.plugin, by, "%s", o.label);
        cr_expect_eq(o.fallback, fallback, "%s: fallback", o.label);
    }
    return seen;
}

Test(chain, training_picks_each_op_forward_and_backward_from_the_first_plugin_that_has_it)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_load(model_path(), err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_chain c;
    load_chain(&c, test_plugin("chain_add"), test_plugin("chain_mix"));
    ck_trainer *t = trainer(m, &c, 7);
    const ck_runner *r = ck_trainer_runner(t);
    cr_assert(all_by(r, CK_OP_ADD, "chain_add", 0), "forward residual adds");
    cr_assert(all_by(r, CK_OP_EMBEDDING, "chain_mix", 0), "the forward embedding");
    cr_assert(all_ops_by(t, CK_OP_ADD, "chain_add", 0), "the backward's joining adds");
    cr_assert(all_ops_by(t, CK_OP_EMBEDDING_BWD, "chain_mix", 0), "embedding_bwd: only the second plugin has it");
    cr_assert(all_ops_by(t, CK_OP_RMSNORM_BWD, "scalar", 1), "neither has rmsnorm_bwd: scalar stands in");
    cr_assert(all_ops_by(t, CK_OP_ADAM, "scalar", 1), "nor adam");
    ck_train_counts n = ck_trainer_counts(t);
    cr_assert_eq(n.backward + n.adam, ck_trainer_n_ops(t));
    ck_trainer_free(t);
    ck_chain_unload(&c);

    load_chain(&c, test_plugin("chain_mix"), test_plugin("chain_add"));
    t = trainer(m, &c, 7);
    cr_assert(all_ops_by(t, CK_OP_ADD, "chain_mix", 0), "the other order: the first has add too");
    ck_trainer_free(t);
    ck_chain_unload(&c);

    load_chain(&c, test_plugin("chain_add"), "scalar");
    t = trainer(m, &c, 7);
    cr_assert(all_ops_by(t, CK_OP_EMBEDDING_BWD, "scalar", 0), "scalar as a member is a choice, not a fallback");
    cr_assert(all_ops_by(t, CK_OP_ADAM, "scalar", 0));
    ck_trainer_free(t);
    ck_chain_unload(&c);
    ck_model_free(m);
}

/* The whole allocation (weights, gradients, moments, activations) after one
 * step, and the step's loss. */
static unsigned char *one_step(ck_model *m, const char *a, const char *b, uint64_t seed, float *loss, size_t *bytes)
{
    char err[CK_ERR_LEN];
    ck_chain c;
    load_chain(&c, a, b);
    ck_trainer *t = trainer(m, &c, seed);
    ck_exec_ctx *ctx = ck_exec_create(2);
    cr_assert_eq(ck_trainer_step(t, ctx, loss, err, sizeof err), 0, "%s", err);
    const ck_runner *r = ck_trainer_runner(t);
    *bytes = ck_runner_plan(r)->total;
    unsigned char *copy = malloc(*bytes);
    cr_assert_not_null(copy);
    memcpy(copy, ck_runner_base(r), *bytes);
    ck_exec_destroy(ctx);
    ck_trainer_free(t);
    ck_chain_unload(&c);
    return copy;
}

Test(chain, a_chained_training_step_gives_the_bits_each_plugin_alone_gives)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_load(model_path(), err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    float l_chain, l_add, l_mix, l_ref, l_other;
    size_t n_chain, n_add, n_mix, n_ref, n_other;
    unsigned char *chain = one_step(m, test_plugin("chain_add"), test_plugin("chain_mix"), 5, &l_chain, &n_chain);
    unsigned char *add = one_step(m, test_plugin("chain_add"), NULL, 5, &l_add, &n_add);
    unsigned char *mix = one_step(m, test_plugin("chain_mix"), NULL, 5, &l_mix, &n_mix);
    unsigned char *ref = one_step(m, "scalar", NULL, 5, &l_ref, &n_ref);
    unsigned char *other = one_step(m, test_plugin("chain_add"), test_plugin("chain_mix"), 6, &l_other, &n_other);
    cr_assert(n_chain == n_add && n_chain == n_mix && n_chain == n_ref && n_chain == n_other);
    cr_assert(l_chain == l_add && l_chain == l_mix && l_chain == l_ref,
              "loss: chain %.9g, add %.9g, mix %.9g, ref %.9g", (double)l_chain, (double)l_add, (double)l_mix,
              (double)l_ref);
    cr_assert_eq(memcmp(chain, add, n_chain), 0, "chain vs chain_add alone: the arenas differ after a step");
    cr_assert_eq(memcmp(chain, mix, n_chain), 0, "chain vs chain_mix alone");
    cr_assert_eq(memcmp(chain, ref, n_chain), 0, "chain vs scalar");
    cr_assert_neq(memcmp(chain, other, n_chain), 0, "another seed trains another model (the comparison can fail)");
    free(chain);
    free(add);
    free(mix);
    free(ref);
    free(other);
    ck_model_free(m);
}

Test(chain, train_step_reports_the_ops_each_plugin_runs)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set");
    char cmd[4096], out[16384];
    snprintf(cmd, sizeof cmd, "CK_PROGRESS=0 %s train-step --plugin '%s+%s' --model %s --steps 2 --threads 1 2>&1", ck,
             test_plugin("chain_add"), test_plugin("chain_mix"), model_path());
    cr_assert_eq(sh_out(out, sizeof out, cmd), 0, "%s", out);
    cr_assert(strstr(out, " through ") && strstr(out, "chain_add.so+"), "the chain as spelt: %s", out);
    unsigned f, ff, b, bf, a, af;
    const char *kernels = strstr(out, "kernels: forward ");
    cr_assert_not_null(kernels, "%s", out);
    cr_assert_eq(sscanf(kernels,
                        "kernels: forward %u ops (%u by scalar fallback), loss + backward %u ops (%u by scalar "
                        "fallback), adam %u weights (%u by scalar fallback)",
                        &f, &ff, &b, &bf, &a, &af),
                 6, "%s", kernels);
    const char *line = strstr(out, "kernels by plugin: chain_add ");
    cr_assert_not_null(line, "%s", out);
    unsigned add, mix, sc;
    cr_assert_eq(sscanf(line, "kernels by plugin: chain_add %u, chain_mix %u, scalar %u (fallback)", &add, &mix, &sc),
                 3, "%s", line);
    cr_assert_eq(mix, 2, "the embedding and its backward: %s", line);
    cr_assert(add > 0, "%s", line);
    cr_assert_eq(sc, ff + bf + af, "%s", line);
    cr_assert_eq(add + mix + sc, f + b + a, "every op counted once: %s", line);
}
