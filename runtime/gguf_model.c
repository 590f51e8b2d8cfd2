/* gguf_model.c — a GGUF file as the model: its metadata (the GGUF spec's
 * general.architecture and <arch>.* keys) becomes a model description,
 * validated by the same parser as the JSON files (ir/model.c), and its
 * tensors' dtypes become the plan's, role by role. What the schema cannot
 * say is refused in one line naming the key or the tensor, never
 * approximated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_gguf.h"
#include "ck_ir.h"

#define GM_ERR(...) (snprintf(err, err_len, __VA_ARGS__), -1)

/* What an architecture needs that the schema does not have yet. */
static const struct {
    const char *arch, *why;
} unimplemented[] = {
    {"gemma", "geglu, the embedding scale and tied embeddings read from its metadata (the schema has them)"},
    {"gemma2", "GeGLU, soft-capping and norms after attention and MLP"},
    {"gemma3", "its post norms and local rope layers read from its metadata (the schema has them: "
               "ir/models/gemma-3-1b.json)"},
    {"phi3", "splitting the fused attn_qkv and ffn_up (gate | up) tensors"},
};

typedef struct dims {
    uint64_t D, L, F, H, Hkv, hd, ctx, vocab;
    double theta, eps;
    int tied, bias, qk_norm;
} dims;

static int arch_of(const ck_gguf *g, const char *path, char *arch, size_t cap, char *err, size_t err_len)
{
    if (ck_gguf_kv_string(g, "general.architecture", arch, cap))
        return GM_ERR("%s: general.architecture: expected a string naming the architecture, found %s", path,
                      ck_gguf_kv_find(g, "general.architecture") ? "another type" : "nothing");
    if (strcmp(arch, "llama") == 0 || strcmp(arch, "qwen2") == 0 || strcmp(arch, "qwen3") == 0)
        return 0;
    for (size_t i = 0; i < sizeof unimplemented / sizeof unimplemented[0]; i++)
        if (strcmp(arch, unimplemented[i].arch) == 0)
            return GM_ERR("%s: general.architecture: \"%s\" needs %s, which is not implemented", path, arch,
                          unimplemented[i].why);
    return GM_ERR("%s: general.architecture: expected llama, qwen2 or qwen3, found \"%.60s\"", path, arch);
}

/* "<arch>.<what>" as an unsigned integer; `dflt` < 0: required. */
static int key_uint(const ck_gguf *g, const char *arch, const char *what, long long dflt, uint64_t *out,
                    const char *path, char *err, size_t err_len)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, what);
    if (!ck_gguf_kv_find(g, key) && dflt >= 0) {
        *out = (uint64_t)dflt;
        return 0;
    }
    if (ck_gguf_kv_uint(g, key, out))
        return GM_ERR("%s: %s: expected an unsigned integer, found %s", path, key,
                      ck_gguf_kv_find(g, key) ? "another type (a per-layer array?)" : "nothing (the key is required)");
    return 0;
}

static int key_number(const ck_gguf *g, const char *arch, const char *what, double dflt, double *out, const char *path,
                      char *err, size_t err_len)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, what);
    if (!ck_gguf_kv_find(g, key) && dflt >= 0) {
        *out = dflt;
        return 0;
    }
    if (ck_gguf_kv_number(g, key, out))
        return GM_ERR("%s: %s: expected a number, found %s", path, key,
                      ck_gguf_kv_find(g, key) ? "another type" : "nothing (the key is required)");
    return 0;
}

static int read_dims(const ck_gguf *g, const char *arch, dims *d, const char *path, char *err, size_t err_len)
{
    uint64_t rot, vlen;
    if (key_uint(g, arch, "embedding_length", -1, &d->D, path, err, err_len) ||
        key_uint(g, arch, "block_count", -1, &d->L, path, err, err_len) ||
        key_uint(g, arch, "feed_forward_length", -1, &d->F, path, err, err_len) ||
        key_uint(g, arch, "attention.head_count", -1, &d->H, path, err, err_len) ||
        key_uint(g, arch, "attention.head_count_kv", (long long)d->H, &d->Hkv, path, err, err_len) ||
        key_uint(g, arch, "context_length", -1, &d->ctx, path, err, err_len) ||
        key_number(g, arch, "rope.freq_base", 10000.0, &d->theta, path, err, err_len) ||
        key_number(g, arch, "attention.layer_norm_rms_epsilon", -1, &d->eps, path, err, err_len))
        return -1;
    if (key_uint(g, arch, "attention.key_length", d->H && d->D % d->H == 0 ? (long long)(d->D / d->H) : -1, &d->hd,
                 path, err, err_len) ||
        key_uint(g, arch, "attention.value_length", (long long)d->hd, &vlen, path, err, err_len) ||
        key_uint(g, arch, "rope.dimension_count", (long long)d->hd, &rot, path, err, err_len))
        return -1;
    if (vlen != d->hd)
        return GM_ERR("%s: %s.attention.value_length: expected the key_length (%llu), found %llu", path, arch,
                      (unsigned long long)d->hd, (unsigned long long)vlen);
    if (rot != d->hd)
        return GM_ERR("%s: %s.rope.dimension_count: expected the head dimension (%llu): partial rotary is not "
                      "implemented, found %llu",
                      path, arch, (unsigned long long)d->hd, (unsigned long long)rot);
    return 0;
}

/* The vocabulary: the token list's length, else the embedding's rows. */
static int read_vocab(const ck_gguf *g, dims *d, const char *path, char *err, size_t err_len)
{
    const ck_gguf_kv *tok = ck_gguf_kv_find(g, "tokenizer.ggml.tokens");
    const ck_gguf_tensor *emb = ck_gguf_find(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2)
        return GM_ERR("%s: token_embd.weight: expected a 2-D tensor, found %s", path, emb ? "another shape" : "none");
    if (tok && tok->type != 9)
        return GM_ERR("%s: tokenizer.ggml.tokens: expected an array, found another type", path);
    d->vocab = tok ? tok->array_len : emb->dims[1];
    if (emb->dims[1] != d->vocab || emb->dims[0] != d->D)
        return GM_ERR("%s: token_embd.weight: expected [%llu, %llu] (vocab, embedding_length), found [%llu, %llu]",
                      path, (unsigned long long)d->vocab, (unsigned long long)d->D, (unsigned long long)emb->dims[1],
                      (unsigned long long)emb->dims[0]);
    d->tied = ck_gguf_find(g, "output.weight") == NULL;
    d->bias = ck_gguf_find(g, "blk.0.attn_q.bias") != NULL;
    d->qk_norm = ck_gguf_find(g, "blk.0.attn_q_norm.weight") != NULL;
    return 0;
}

/* The model's name: the file's stem, in the schema's characters. */
static void stem_name(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < cap && strcmp(p, ".gguf") != 0; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                 ch == '-' || ch == '.';
        out[n++] = ok ? ch : '_';
    }
    if (n == 0)
        out[n++] = 'm';
    out[n] = 0;
}

static ck_model *parse_dims(const dims *d, const char *arch, const char *path, char *err, size_t err_len)
{
    char name[64], text[1536];
    stem_name(path, name, sizeof name);
    /* llama.cpp permutes llama's q / k rows so that adjacent pairs rotate
     * (its "normal" rope); qwen2 and qwen3 keep the halves (neox) */
    const char *pairing = strcmp(arch, "llama") == 0 ? "gptj" : "neox";
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", \"kind\": \"decoder\", "
             "\"n_layers\": %llu, \"d_model\": %llu, \"n_heads\": %llu, \"n_kv_heads\": %llu, \"head_dim\": %llu, "
             "\"d_ff\": %llu, \"seq_len\": %llu, \"vocab\": %llu, \"tie_word_embeddings\": %s, \"norm\": "
             "\"rmsnorm\", \"norm_eps\": %.17g, \"activation\": \"swiglu\", \"qkv_bias\": %s, \"position\": "
             "\"rope\", \"rope_theta\": %.17g, \"rope_pairing\": \"%s\", \"qk_norm\": %s}]}",
             name, (unsigned long long)d->L, (unsigned long long)d->D, (unsigned long long)d->H,
             (unsigned long long)d->Hkv, (unsigned long long)d->hd, (unsigned long long)d->F,
             (unsigned long long)d->ctx, (unsigned long long)d->vocab, d->tied ? "true" : "false", d->eps,
             d->bias ? "true" : "false", d->theta, pairing, d->qk_norm ? "true" : "false");
    char inner[CK_ERR_LEN];
    ck_model *m = ck_model_parse(text, strlen(text), path, inner, sizeof inner);
    if (!m)
        snprintf(err, err_len, "%s (from its %s.* metadata)", inner, arch);
    return m;
}

/* The file's tensor of a role in layer 0, and that every layer agrees. */
static int role_tensor_dtype(const ck_gguf *g, const dims *d, const char *what, uint32_t *dt, const char *path,
                             char *err, size_t err_len)
{
    char name[128];
    for (uint64_t l = 0; l < d->L; l++) {
        snprintf(name, sizeof name, "blk.%llu.%s", (unsigned long long)l, what);
        const ck_gguf_tensor *t = ck_gguf_find(g, name);
        if (!t)
            return GM_ERR("%s: %s: expected the tensor, found none", path, name);
        if (l == 0)
            *dt = t->dtype;
        else if (t->dtype != *dt)
            return GM_ERR("%s: %s: %s where blk.0 has %s; dtypes varying across layers are not implemented", path, name,
                          ck_dtype_name(t->dtype), ck_dtype_name(*dt));
    }
    return 0;
}

/* Each matrix role's dtype from the file; norms and biases must be f32 (the
 * planner's), and q, k, v share one dtype (one qkv op). */
static int take_dtypes(const ck_gguf *g, const dims *d, ck_model *m, const char *path, char *err, size_t err_len)
{
    ck_section *s = &m->sections[0];
    static const struct {
        const char *what;
        int role; /* < 0: a norm, must be f32 */
    } roles[] = {{"attn_q.weight", CK_ROLE_QKV},
                 {"attn_k.weight", CK_ROLE_QKV},
                 {"attn_v.weight", CK_ROLE_QKV},
                 {"attn_output.weight", CK_ROLE_OUT_PROJ},
                 {"ffn_gate.weight", CK_ROLE_MLP_GATE},
                 {"ffn_up.weight", CK_ROLE_MLP_UP},
                 {"ffn_down.weight", CK_ROLE_MLP_DOWN},
                 {"attn_norm.weight", -1},
                 {"ffn_norm.weight", -1},
                 {"attn_q_norm.weight", -2},
                 {"attn_k_norm.weight", -2}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        uint32_t dt = 0;
        if (roles[i].role == -2 && !d->qk_norm) /* -2: q / k norms, where the file has them */
            continue;
        if (role_tensor_dtype(g, d, roles[i].what, &dt, path, err, err_len))
            return -1;
        if (roles[i].role < 0) {
            if (dt != CK_DTYPE_F32)
                return GM_ERR("%s: blk.0.%s: expected f32 (norm gammas are f32), found %s", path, roles[i].what,
                              ck_dtype_name(dt));
            continue;
        }
        uint32_t *slot = &s->role_dtype[roles[i].role];
        if (*slot && *slot != dt) /* only q, k, v share a slot */
            return GM_ERR("%s: blk.0.%s: expected %s like attn_q (one qkv op), found %s", path, roles[i].what,
                          ck_dtype_name(*slot), ck_dtype_name(dt));
        *slot = dt;
    }
    const ck_gguf_tensor *emb = ck_gguf_find(g, "token_embd.weight"), *out = ck_gguf_find(g, "output.weight");
    s->role_dtype[CK_ROLE_TOKEN_EMBED] = emb->dtype;
    s->role_dtype[CK_ROLE_LM_HEAD] = out ? out->dtype : emb->dtype;
    m->dtype = s->role_dtype[CK_ROLE_QKV];
    m->dtypes_from_file = 1;
    return 0;
}

/* Llama 3.1's rope scaling as llama.cpp stores it: rope_freqs.weight, f32
 * [head_dim/2] divisors of the inverse frequencies, positive and finite. */
static int take_rope_freqs(const ck_gguf *g, ck_model *m, const char *path, char *err, size_t err_len)
{
    const ck_gguf_tensor *t = ck_gguf_find(g, "rope_freqs.weight");
    ck_section *s = &m->sections[0];
    if (!t)
        return 0;
    size_t half = s->head_dim / 2;
    if (t->dtype != CK_DTYPE_F32 || t->n_dims != 1 || t->dims[0] != half)
        return GM_ERR("%s: rope_freqs.weight: expected f32 [%zu] (head_dim / 2), found %s with %llu values", path, half,
                      ck_dtype_name(t->dtype), (unsigned long long)t->dims[0]);
    if (!(s->rope_freq_factors = malloc(half * sizeof(float))))
        return GM_ERR("%s: out of memory", path);
    memcpy(s->rope_freq_factors, t->data, half * sizeof(float));
    for (size_t i = 0; i < half; i++)
        if (!(s->rope_freq_factors[i] > 0.0f && s->rope_freq_factors[i] < 1e30f))
            return GM_ERR("%s: rope_freqs.weight: value %zu is %g, expected a positive finite factor", path, i,
                          (double)s->rope_freq_factors[i]);
    return 0;
}

ck_model *ck_gguf_model(const ck_gguf *g, const char *path, char *err, size_t err_len)
{
    char arch[64];
    dims d = {0};
    if (arch_of(g, path, arch, sizeof arch, err, err_len) || read_dims(g, arch, &d, path, err, err_len) ||
        read_vocab(g, &d, path, err, err_len))
        return NULL;
    ck_model *m = parse_dims(&d, arch, path, err, err_len);
    if (m && (take_dtypes(g, &d, m, path, err, err_len) || take_rope_freqs(g, m, path, err, err_len))) {
        ck_model_free(m);
        m = NULL;
    }
    return m;
}

static int is_gguf_path(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n > 5 && strcmp(path + n - 5, ".gguf") == 0;
}

ck_model *ck_model_open(const char *path, char *err, size_t err_len)
{
    if (!is_gguf_path(path))
        return ck_model_load(path, err, err_len);
    ck_gguf g;
    if (ck_gguf_open(&g, path, err, err_len))
        return NULL;
    ck_model *m = ck_gguf_model(&g, path, err, err_len);
    ck_gguf_close(&g);
    return m;
}
