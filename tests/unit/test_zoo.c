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
    int tied, qkv_bias, qk_norm, gemma3; /* gemma3: post norms, local rope tables */
} zoo;

/* From each model's config.json (named in the file's description); T is the
 * context the file plans for. All bf16, rmsnorm, swiglu, rope, decoders. */
static const zoo models[] = {
    {"llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, 8192, 128256, 0, 0, 0, 0},
    {"llama-3.2-1b", 16, 2048, 32, 8, 64, 8192, 8192, 128256, 1, 0, 0, 0},
    {"qwen2.5-0.5b", 24, 896, 14, 2, 64, 4864, 4096, 151936, 1, 1, 0, 0},
    {"qwen2.5-7b", 28, 3584, 28, 4, 128, 18944, 4096, 152064, 0, 1, 0, 0},
    {"mistral-7b-v0.1", 32, 4096, 32, 8, 128, 14336, 4096, 32000, 0, 0, 0, 0},
    {"phi-3-mini", 32, 3072, 32, 32, 96, 8192, 2047, 32064, 0, 0, 0, 0},
    {"qwen3-0.6b", 28, 1024, 16, 8, 128, 3072, 4096, 151936, 1, 0, 1, 0},
    {"gemma-3-1b", 26, 1152, 4, 1, 256, 6912, 512, 262144, 1, 0, 1, 1},
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
        2 * z->D + (z->qkv_bias ? qd + 2 * kvd : 0) + (z->qk_norm ? 2 * z->hd : 0) + (z->gemma3 ? 2 * z->D : 0);
    *matrix = z->V * z->D * (z->tied ? 1 : 2) + z->L * layer_m;
    *vector = z->L * layer_v + z->D; /* + the final norm */
}

/* f32 activations of a forward at T rows (i32 ids count 4 bytes too). */
static size_t activations(const zoo *z, size_t T)
{
    size_t qd = z->H * z->hd, kvd = z->Hkv * z->hd;
    size_t layer = T * (z->D /* attn_norm */ + qd + 2 * kvd + (z->qk_norm ? qd + kvd : 0) + qd /* attention */ +
                        2 * z->D /* out_proj, residual */ + (z->gemma3 ? 2 * z->D : 0) /* post norms */ +
                        z->D /* mlp_norm */ + 3 * z->F /* gate, up, act */ + 2 * z->D /* down, residual */);
    return 4 * (T /* ids */ + T * z->D /* embedding */ + z->L * layer + T * z->D /* final norm */ + T * z->V);
}

static totals derive(const zoo *z, int mode)
{
    totals t = {0};
    size_t matrix, vector;
    params(z, &matrix, &vector);
    t.weight = 2 * matrix + 4 * vector;
    t.table = 2 * z->T * (z->hd / 2) * 4 * (z->gemma3 ? 2 : 1); /* + the local layers' tables */
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

static cJSON *plan_json(const char *model, const char *mode_flag)
{
    const char *ckbench = getenv("CK_CKBENCH"), *src = getenv("CK_SOURCE_DIR");
    char dir[] = "/tmp/ck-zoo-XXXXXX", cmd[2048], path[128];
    cr_assert_not_null(ckbench, "CK_CKBENCH is not set");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/layout.json", dir);
    snprintf(cmd, sizeof cmd, "'%s' plan --model '%s/ir/models/%s.json' %s --layout '%s' >/dev/null", ckbench,
             src ? src : ".", model, mode_flag, path);
    int rc = system(cmd);
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
