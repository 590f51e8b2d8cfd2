/* The model zoo (ir/models): `ckbench plan` of each published configuration
 * in forward, decode and training mode, its layout.json totals against
 * totals derived here from the published dimensions (written out below from
 * the source configs, not read from the model files), so a model file that
 * drifts from its source fails too. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct zoo {
    const char *file;
    size_t L, D, H, Hkv, hd, F, T, V;
    int tied, qkv_bias, qk_norm, post_norms, local_tables;
} zoo;

/* From each model's config.json (named in the file's description); T is the
 * context the file plans for. All bf16, rmsnorm, gated MLPs (swiglu or
 * geglu: three matrices), rope, decoders. */
static const zoo models[] = {
    {"llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, 8192, 128256, 0, 0, 0, 0, 0},
    {"llama-3.2-1b", 16, 2048, 32, 8, 64, 8192, 8192, 128256, 1, 0, 0, 0, 0},
    {"qwen2.5-0.5b", 24, 896, 14, 2, 64, 4864, 4096, 151936, 1, 1, 0, 0, 0},
    {"qwen2.5-7b", 28, 3584, 28, 4, 128, 18944, 4096, 152064, 0, 1, 0, 0, 0},
    {"mistral-7b-v0.1", 32, 4096, 32, 8, 128, 14336, 32768, 32000, 0, 0, 0, 0, 0},
    {"phi-3-mini", 32, 3072, 32, 32, 96, 8192, 4096, 32064, 0, 0, 0, 0, 0},
    {"qwen3-0.6b", 28, 1024, 16, 8, 128, 3072, 4096, 151936, 1, 0, 1, 0, 0},
    {"gemma-3-1b", 26, 1152, 4, 1, 256, 6912, 32768, 262144, 1, 0, 1, 1, 1},
    /* at their published contexts, where the windows mask (training takes
     * them, and the soft-caps, since attention_bwd has both):
     * google/gemma-2-2b 8192 with 4096-key windows on even layers and soft-caps
     * 50 / 30; mistral 32768 with 4096 on every layer; phi-3-mini-4k 4096 with
     * 2047; gemma-3-1b 32768 with 512 on five of six layers */
    {"gemma-2-2b", 26, 2304, 8, 4, 256, 9216, 8192, 256000, 1, 0, 0, 1, 0},
};

typedef struct totals {
    size_t weight, activation, gradient, optimizer_m, optimizer_v, kv_cache, table;
} totals;

/* Parameters: matrices (bf16) and vectors (f32) counted apart. */
static void params(const zoo *z, size_t *matrix, size_t *vector)
{
    size_t qd = z->H * z->hd, kvd = z->Hkv * z->hd;
    size_t layer_m = qd * z->D + 2 * kvd * z->D + z->D * qd + 3 * z->F * z->D;
    size_t layer_v =
        2 * z->D + (z->qkv_bias ? qd + 2 * kvd : 0) + (z->qk_norm ? 2 * z->hd : 0) + (z->post_norms ? 2 * z->D : 0);
    *matrix = z->V * z->D * (z->tied ? 1 : 2) + z->L * layer_m;
    *vector = z->L * layer_v + z->D; /* + the final norm */
}

/* f32 activations of a forward at T rows (i32 ids count 4 bytes too). */
static size_t activations(const zoo *z, size_t T)
{
    size_t qd = z->H * z->hd, kvd = z->Hkv * z->hd;
    size_t layer = T * (z->D /* attn_norm */ + qd + 2 * kvd + (z->qk_norm ? qd + kvd : 0) + qd /* attention */ +
                        2 * z->D /* out_proj, residual */ + (z->post_norms ? 2 * z->D : 0) /* post norms */ +
                        z->D /* mlp_norm */ + 3 * z->F /* gate, up, act */ + 2 * z->D /* down, residual */);
    return 4 * (T /* ids */ + T * z->D /* embedding */ + z->L * layer + T * z->D /* final norm */ + T * z->V);
}

static totals derive(const zoo *z, int mode)
{
    totals t = {0};
    size_t matrix, vector;
    params(z, &matrix, &vector);
    t.weight = 2 * matrix + 4 * vector;
    t.table = 2 * z->T * (z->hd / 2) * 4 * (z->local_tables ? 2 : 1); /* + the local layers' tables */
    t.activation = activations(z, mode == 2 ? 1 : z->T);
    if (mode == 1) { /* training: f32 grad, m, v of every weight; lm_head's targets and loss */
        t.gradient = t.optimizer_m = t.optimizer_v = 4 * (matrix + vector);
        t.activation += 4 * z->T + 4;
    }
    if (mode == 2)
        t.kv_cache = z->L * 2 * z->T * z->Hkv * z->hd * 4;
    return t;
}

static size_t total_of(const cJSON *tot, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(tot, key);
    cr_assert(cJSON_IsNumber(v), "totals has no %s", key);
    return (size_t)v->valuedouble;
}

/* `ckbench plan` of a zoo model; a refusal's line goes to *refusal (which
 * then must not be NULL) and NULL is returned. */
static cJSON *plan_json_or_refusal(const char *model, const char *mode_flag, char *refusal, size_t refusal_len)
{
    const char *ckbench = getenv("CK_CKBENCH"), *src = getenv("CK_SOURCE_DIR");
    char dir[] = "/tmp/ck-zoo-XXXXXX", cmd[2048], path[128], errpath[128];
    cr_assert_not_null(ckbench, "CK_CKBENCH is not set");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/layout.json", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "'%s' plan --model '%s/ir/models/%s.json' %s --layout '%s' >/dev/null 2>'%s'", ckbench,
             src ? src : ".", model, mode_flag, path, errpath);
    int rc = system(cmd);
    if (refusal && WIFEXITED(rc) && WEXITSTATUS(rc) == 2) {
        FILE *e = fopen(errpath, "rb");
        cr_assert_not_null(e);
        size_t n = fread(refusal, 1, refusal_len - 1, e);
        refusal[n] = '\0';
        fclose(e);
        unlink(errpath);
        rmdir(dir);
        return NULL;
    }
    unlink(errpath);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s: exit %d", cmd, rc);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    rmdir(dir);
    cJSON *root = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(root, "%s: layout.json does not parse", model);
    return root;
}

static cJSON *plan_json(const char *model, const char *mode_flag)
{
    return plan_json_or_refusal(model, mode_flag, NULL, 0);
}

Test(zoo, plan_totals_match_the_published_dimensions)
{
    static const char *const flags[] = {"", "--training", "--decode --decode-pos 0"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        for (int mode = 0; mode < 3; mode++) {
            const zoo *z = &models[i];
            cJSON *root = plan_json(z->file, flags[mode]);
            const cJSON *tot = cJSON_GetObjectItem(root, "totals");
            totals want = derive(z, mode);
            const struct {
                const char *key;
                size_t want;
            } rows[] = {{"weight", want.weight},           {"gradient", want.gradient},
                        {"optimizer_m", want.optimizer_m}, {"optimizer_v", want.optimizer_v},
                        {"kv_cache", want.kv_cache},       {"table", want.table}};
            for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
                cr_assert_eq(total_of(tot, rows[k].key), rows[k].want, "%s %s: %s %zu, derived %zu", z->file,
                             flags[mode], rows[k].key, total_of(tot, rows[k].key), rows[k].want);
            cr_assert_eq(total_of(tot, "activation"), want.activation, "%s %s: activation %zu, derived %zu", z->file,
                         flags[mode], total_of(tot, "activation"), want.activation);
            cJSON_Delete(root);
        }
}

/* LLaVA-OneVision 0.5B: SigLIP-so400m (26 of its 27 layers) at 384 px, patch
 * 14, the mlp2x_gelu projector, a Qwen2-0.5B decoder at 4096 tokens. Every
 * number below is from the published configs, not the model file. */
Test(zoo, llava_onevision_totals_match_the_published_dimensions)
{
    const size_t D = 1152, F = 4304, L = 26, side = 384 / 14, P = side * side, K = 3 * 14 * 14;
    const zoo qwen2 = {"", 24, 896, 14, 2, 64, 4864, 4096, 151936, 1, 1, 0, 0, 0};
    const size_t Dt = qwen2.D;
    cr_assert_eq(P, 729);
    /* vision: patch projection with bias, learned positions [729, D]; per
     * layer two layernorms (gamma, beta), q / k / v / out and up / down with
     * biases; no final norm. Then the projector's two linears with biases. */
    size_t v_matrix = D * K + L * (4 * D * D + 2 * F * D) + Dt * D + Dt * Dt;
    size_t v_vector = D + P * D + L * (4 * D + 4 * D + F + D) + 2 * Dt;
    /* per layer: attn_norm, q, k, v, attention, out_proj, residual, mlp_norm,
     * down, residual (D each), up and gelu (F each); the header's pixels,
     * patches and positions; the projector's three outputs */
    size_t v_act = 4 * (P * K + 2 * P * D + L * P * (10 * D + 2 * F) + 3 * P * Dt);
    size_t t_matrix, t_vector;
    params(&qwen2, &t_matrix, &t_vector);
    static const char *const flags[] = {"", "--training", "--decode --decode-pos 0"};
    for (int mode = 0; mode < 3; mode++) {
        cJSON *root = plan_json("llava-onevision-qwen2-0.5b", flags[mode]);
        const cJSON *tot = cJSON_GetObjectItem(root, "totals");
        totals t = derive(&qwen2, mode);
        size_t weight = t.weight + 2 * v_matrix + 4 * v_vector;
        size_t grads = mode == 1 ? 4 * (v_matrix + v_vector) : 0; /* frozen, yet planned like every weight */
        cr_assert_eq(total_of(tot, "weight"), weight, "%s: weight %zu, derived %zu", flags[mode],
                     total_of(tot, "weight"), weight);
        cr_assert_eq(total_of(tot, "gradient"), t.gradient + grads, "%s: gradient", flags[mode]);
        cr_assert_eq(total_of(tot, "optimizer_m"), t.optimizer_m + grads, "%s: optimizer_m", flags[mode]);
        /* the encoder runs whole at prefill: decode plans it at full size */
        cr_assert_eq(total_of(tot, "activation"), t.activation + v_act, "%s: activation %zu, derived %zu", flags[mode],
                     total_of(tot, "activation"), t.activation + v_act);
        cr_assert_eq(total_of(tot, "kv_cache"), t.kv_cache, "%s: kv_cache", flags[mode]);
        cr_assert_eq(total_of(tot, "table"), t.table, "%s: table", flags[mode]);
        cJSON_Delete(root);
    }
}
