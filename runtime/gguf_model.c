/* gguf_model.c — a GGUF file as the model: its metadata (the GGUF spec's
 * general.architecture and <arch>.* keys) becomes a model description,
 * validated by the same parser as the JSON files (ir/model.c), and its
 * tensors' dtypes become the plan's, role by role. What the schema cannot
 * say is refused in one line naming the key or the tensor, never
 * approximated. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_gguf.h"
#include "ck_ir.h"

#define GM_ERR(...) (snprintf(err, err_len, __VA_ARGS__), -1)

/* What each architecture is, as llama.cpp builds it (src/llama-model.cpp):
 * its rope pairing, MLP, Gemma's embedding scale and norms after attention
 * and MLP, which layers are global (0: no windows; 1: every layer windowed
 * when the file names a window), soft-cap defaults (Gemma 2's 50 / 30 when
 * the keys are absent), and fused qkv / gate+up tensors (Phi-3). */
typedef struct arch_traits {
    const char *name;
    const char *pairing, *activation;
    int embed_scale, post_norms;
    unsigned global_every;      /* Gemma 2: 2, Gemma 3: 6; 1 (with a window): every layer local */
    int window_required;        /* <arch>.attention.sliding_window must be there */
    size_t default_window;      /* when the key is absent (Gemma 2: 4096) */
    double attn_cap, final_cap; /* defaults of the soft-cap keys (0: none) */
    double local_theta;         /* Gemma 3's local layers' rope base (rope.freq_base_swa, default 10000) */
    unsigned big_layers;        /* the 27B's block_count, whose attention scale is 1/sqrt(D/H) */
    int fused;                  /* attn_qkv and ffn_up = gate | up */
} arch_traits;

/* llama.cpp permutes llama's q / k rows so that adjacent pairs rotate (its
 * "normal" rope); the others keep the halves (neox) */
static const arch_traits archs[] = {
    {"llama", "gptj", "swiglu", 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0},
    {"qwen2", "neox", "swiglu", 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0},
    {"qwen3", "neox", "swiglu", 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0},
    {"gemma", "neox", "geglu", 1, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0},
    {"gemma2", "neox", "geglu", 1, 1, 2, 0, 4096, 50.0, 30.0, 0.0, 46, 0},
    {"gemma3", "neox", "geglu", 1, 1, 6, 1, 0, 0.0, 0.0, 10000.0, 62, 0},
    {"phi3", "neox", "swiglu", 0, 0, 1, 0, 0, 0.0, 0.0, 0.0, 0, 1},
};

typedef struct dims {
    uint64_t D, L, F, H, Hkv, hd, ctx, vocab, rot, window, global_every;
    double theta, eps, attn_cap, final_cap, local_theta, scalar;
    int tied, bias, qk_norm;
    int fused_qkv, fused_up; /* phi3: attn_qkv instead of attn_q / k / v; ffn_up = gate | up, no ffn_gate */
    const arch_traits *a;
} dims;

static int arch_of(const ck_gguf *g, const char *path, char *arch, size_t cap, dims *d, char *err, size_t err_len)
{
    if (ck_gguf_kv_string(g, "general.architecture", arch, cap))
        return GM_ERR("%s: general.architecture: expected a string naming the architecture, found %s", path,
                      ck_gguf_kv_find(g, "general.architecture") ? "another type" : "nothing");
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strcmp(arch, archs[i].name) == 0) {
            d->a = &archs[i];
            return 0;
        }
    return GM_ERR("%s: general.architecture: expected llama, qwen2, qwen3, gemma, gemma2, gemma3 or phi3, found "
                  "\"%.60s\"",
                  path, arch);
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

/* A rope scaling other than none: the schema has llama3's (rope_freqs), not
 * linear or yarn scaling (Gemma 3 4B and larger, Phi-3 128k). */
static int refuse_rope_scaling(const ck_gguf *g, const char *arch, const char *path, char *err, size_t err_len)
{
    char key[128], type[32];
    double factor;
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (!ck_gguf_kv_string(g, key, type, sizeof type) && strcmp(type, "none") != 0)
        return GM_ERR("%s: %s: \"%s\" rope scaling is not implemented (expected none)", path, key, type);
    snprintf(key, sizeof key, "%s.rope.scaling.factor", arch);
    if (!ck_gguf_kv_number(g, key, &factor) && factor != 1.0)
        return GM_ERR("%s: %s: rope scaling by %g is not implemented (expected 1)", path, key, factor);
    if (ck_gguf_find(g, "rope_factors_long.weight"))
        return GM_ERR("%s: rope_factors_long.weight: LongRoPE factors are not implemented", path);
    return 0;
}

/* Windows, soft-caps and the attention scale: the GGUF spec's keys where
 * the file has them, else llama.cpp's defaults for the architecture. */
static int read_attention_keys(const ck_gguf *g, const char *arch, dims *d, const char *path, char *err, size_t err_len)
{
    const arch_traits *a = d->a;
    if (key_uint(g, arch, "attention.sliding_window", a->window_required ? -1 : (long long)a->default_window,
                 &d->window, path, err, err_len) ||
        key_number(g, arch, "attn_logit_softcapping", a->attn_cap, &d->attn_cap, path, err, err_len) ||
        key_number(g, arch, "final_logit_softcapping", a->final_cap, &d->final_cap, path, err, err_len) ||
        key_number(g, arch, "rope.freq_base_swa", a->local_theta, &d->local_theta, path, err, err_len) ||
        refuse_rope_scaling(g, arch, path, err, err_len))
        return -1;
    /* a pattern the file states (layers per global layer) wins over the
     * architecture's; llama.cpp's per-layer bool arrays are not read */
    if (key_uint(g, arch, "attention.sliding_window_pattern", a->global_every, &d->global_every, path, err, err_len))
        return -1;
    if (a->global_every && (d->global_every == 0 || d->global_every > 4096))
        return GM_ERR("%s: %s.attention.sliding_window_pattern: expected 1 to 4096 layers per global layer, found %llu",
                      path, arch, (unsigned long long)d->global_every);
    if (!a->global_every && d->window) /* llama, qwen: the schema would window every layer */
        return GM_ERR("%s: %s.attention.sliding_window: a window on %s is not implemented (which layers?)", path, arch,
                      arch);
    if (!a->global_every && (d->attn_cap != 0.0 || d->final_cap != 0.0))
        return GM_ERR("%s: %s.%s: soft-capping on %s is not implemented", path, arch,
                      d->attn_cap != 0.0 ? "attn_logit_softcapping" : "final_logit_softcapping", arch);
    /* Gemma's 27B scales queries by 1/sqrt(D/H), the others by 1/sqrt(head_dim) */
    d->scalar = a->big_layers && d->L == a->big_layers && d->H ? (double)d->D / (double)d->H : (double)d->hd;
    return 0;
}

static int read_dims(const ck_gguf *g, const char *arch, dims *d, const char *path, char *err, size_t err_len)
{
    uint64_t vlen;
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
        key_uint(g, arch, "rope.dimension_count", (long long)d->hd, &d->rot, path, err, err_len))
        return -1;
    if (vlen != d->hd)
        return GM_ERR("%s: %s.attention.value_length: expected the key_length (%llu), found %llu", path, arch,
                      (unsigned long long)d->hd, (unsigned long long)vlen);
    if (d->rot == 0 || d->rot % 2 || d->rot > d->hd) /* partial rotary: the first rot dims of each head */
        return GM_ERR("%s: %s.rope.dimension_count: expected an even number from 2 to the head dimension (%llu), "
                      "found %llu",
                      path, arch, (unsigned long long)d->hd, (unsigned long long)d->rot);
    return read_attention_keys(g, arch, d, path, err, err_len);
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
    d->fused_qkv = d->a->fused && ck_gguf_find(g, "blk.0.attn_qkv.weight") != NULL;
    d->fused_up = d->a->fused && ck_gguf_find(g, "blk.0.ffn_gate.weight") == NULL;
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

/* A JSON number field `, "key": value` appended when `on`. */
static void add_field(char *text, size_t cap, int on, const char *key, double value)
{
    size_t n = strlen(text);
    if (on && n < cap)
        snprintf(text + n, cap - n, ", \"%s\": %.17g", key, value);
}

static ck_model *parse_dims(const dims *d, const char *arch, const char *path, char *err, size_t err_len)
{
    char name[64], text[2048];
    const arch_traits *a = d->a;
    stem_name(path, name, sizeof name);
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", \"kind\": \"decoder\", "
             "\"n_layers\": %llu, \"d_model\": %llu, \"n_heads\": %llu, \"n_kv_heads\": %llu, \"head_dim\": %llu, "
             "\"d_ff\": %llu, \"seq_len\": %llu, \"vocab\": %llu, \"tie_word_embeddings\": %s, \"norm\": "
             "\"rmsnorm\", \"norm_eps\": %.17g, \"activation\": \"%s\", \"qkv_bias\": %s, \"position\": "
             "\"rope\", \"rope_theta\": %.17g, \"rope_pairing\": \"%s\", \"qk_norm\": %s, \"post_norms\": %s, "
             "\"rotary_dim\": %llu, \"query_pre_attn_scalar\": %.17g",
             name, (unsigned long long)d->L, (unsigned long long)d->D, (unsigned long long)d->H,
             (unsigned long long)d->Hkv, (unsigned long long)d->hd, (unsigned long long)d->F,
             (unsigned long long)d->ctx, (unsigned long long)d->vocab, d->tied ? "true" : "false", d->eps,
             a->activation, d->bias ? "true" : "false", d->theta, a->pairing, d->qk_norm ? "true" : "false",
             a->post_norms ? "true" : "false", (unsigned long long)d->rot, d->scalar);
    /* Gemma scales the embedding by sqrt(d_model) in f32, as llama.cpp does */
    add_field(text, sizeof text, a->embed_scale, "embedding_scale", sqrt((double)d->D));
    add_field(text, sizeof text, d->window != 0, "sliding_window", (double)d->window);
    add_field(text, sizeof text, d->window != 0 && d->global_every > 1, "global_every", (double)d->global_every);
    add_field(text, sizeof text, d->local_theta != 0.0, "rope_local_theta", d->local_theta);
    add_field(text, sizeof text, d->local_theta != 0.0 && d->window == 0, "global_every", (double)d->global_every);
    add_field(text, sizeof text, d->attn_cap != 0.0, "attn_logit_softcap", d->attn_cap);
    add_field(text, sizeof text, d->final_cap != 0.0, "final_logit_softcap", d->final_cap);
    size_t n = strlen(text);
    snprintf(text + n, sizeof text - n, "}]}");
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

/* Phi-3's fused tensors must hold exactly the rows the split gives each
 * part: attn_qkv [q; k; v], ffn_up [gate; up] (run_weights.c copies each
 * part's rows straight from the file). */
static int check_fused(const ck_gguf *g, const dims *d, const char *path, char *err, size_t err_len)
{
    char name[128];
    for (uint64_t l = 0; l < d->L; l++)
        for (int k = 0; k < 2; k++) {
            uint64_t rows = k == 0 ? (d->H + 2 * d->Hkv) * d->hd : 2 * d->F;
            if ((k == 0 && !d->fused_qkv) || (k == 1 && !d->fused_up))
                continue;
            snprintf(name, sizeof name, "blk.%llu.%s", (unsigned long long)l,
                     k == 0 ? "attn_qkv.weight" : "ffn_up.weight");
            const ck_gguf_tensor *t = ck_gguf_find(g, name);
            if (t && (t->n_dims != 2 || t->dims[1] != rows || t->dims[0] != d->D))
                return GM_ERR("%s: %s: expected [%llu, %llu] (%s), found another shape", path, name,
                              (unsigned long long)rows, (unsigned long long)d->D,
                              k == 0 ? "q, k and v rows" : "gate and up rows");
        }
    return 0;
}

/* Each matrix role's dtype from the file; norms and biases must be f32 (the
 * planner's), and q, k, v share one dtype (one qkv op). */
static int take_dtypes(const ck_gguf *g, const dims *d, ck_model *m, const char *path, char *err, size_t err_len)
{
    ck_section *s = &m->sections[0];
    enum { NORM = -1, QK_NORM = -2, POST_NORM = -3 };
    static const struct {
        const char *what;
        int role, fused; /* role < 0: a norm, must be f32; fused: 1 without attn_qkv, 2 with it, 3 with ffn_gate */
        int role2;       /* fused ffn_up: gate and up */
    } roles[] = {{"attn_q.weight", CK_ROLE_QKV, 1, 0},
                 {"attn_k.weight", CK_ROLE_QKV, 1, 0},
                 {"attn_v.weight", CK_ROLE_QKV, 1, 0},
                 {"attn_qkv.weight", CK_ROLE_QKV, 2, 0},
                 {"attn_output.weight", CK_ROLE_OUT_PROJ, 0, 0},
                 {"ffn_gate.weight", CK_ROLE_MLP_GATE, 3, 0},
                 {"ffn_up.weight", CK_ROLE_MLP_UP, 0, CK_ROLE_MLP_GATE},
                 {"ffn_down.weight", CK_ROLE_MLP_DOWN, 0, 0},
                 {"attn_norm.weight", NORM, 0, 0},
                 {"ffn_norm.weight", NORM, 0, 0},
                 {"attn_q_norm.weight", QK_NORM, 0, 0},
                 {"attn_k_norm.weight", QK_NORM, 0, 0},
                 {"post_attention_norm.weight", POST_NORM, 0, 0},
                 {"post_ffw_norm.weight", POST_NORM, 0, 0}};
    if ((d->fused_qkv || d->fused_up) && check_fused(g, d, path, err, err_len))
        return -1;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        uint32_t dt = 0;
        if ((roles[i].role == QK_NORM && !d->qk_norm) || (roles[i].role == POST_NORM && !d->a->post_norms) ||
            (roles[i].fused == 1 && d->fused_qkv) || (roles[i].fused == 2 && !d->fused_qkv) ||
            (roles[i].fused == 3 && d->fused_up))
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
        if (d->fused_up && roles[i].role2) /* ffn_up holds gate and up */
            s->role_dtype[roles[i].role2] = dt;
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
    size_t half = s->rotary_dim / 2;
    if (t->dtype != CK_DTYPE_F32 || t->n_dims != 1 || t->dims[0] != half)
        return GM_ERR("%s: rope_freqs.weight: expected f32 [%zu] (rope dimensions / 2), found %s with %llu values",
                      path, half, ck_dtype_name(t->dtype), (unsigned long long)t->dims[0]);
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
    if (arch_of(g, path, arch, sizeof arch, &d, err, err_len) || read_dims(g, arch, &d, path, err, err_len) ||
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
