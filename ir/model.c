/* model.c — read a model description (the files in ir/models/), check every field,
 * and refuse anything doubtful with one line that names the file, the
 * section, the field, what was expected and what was found. The schema is
 * docs/layout.md; unknown fields are refused so that a typo never falls back
 * to a default silently. About 690 lines: one validator whose helpers
 * (fail, get_*) every field shares; splitting it would export them. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_checked.h"
#include "ck_ir.h"

#define MODEL_FILE_MAX (1u << 20) /* a model description is a few hundred bytes */
#define DIM_MAX ((size_t)1 << 32)
#define HEADS_MAX ((size_t)1 << 16)
#define LAYERS_MAX 4096
#define BYTES_F32 4
#define ALIGN_BOUND ((size_t)2 << 20) /* largest per-buffer padding the planner adds */

/* Where an error is: file, and the section being read (-1 at the top). */
typedef struct vctx {
    const char *path;
    int sec;
    const char *sec_name;
    char *err;
    size_t err_len;
} vctx;

static int fail(const vctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(const vctx *c, const char *field, const char *fmt, ...)
{
    char where[160] = "";
    char what[320];
    va_list ap;
    if (c->sec >= 0)
        snprintf(where, sizeof where, "section %d \"%s\": ", c->sec, c->sec_name ? c->sec_name : "?");
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (c->err && c->err_len) {
        if (field)
            snprintf(c->err, c->err_len, "%s: %sfield \"%s\": %s", c->path, where, field, what);
        else
            snprintf(c->err, c->err_len, "%s: %s%s", c->path, where, what);
    }
    return -1;
}

/* A short rendering of a JSON value for "found ..." */
static void describe(const cJSON *v, char *buf, size_t len)
{
    if (!v)
        snprintf(buf, len, "nothing");
    else if (cJSON_IsNumber(v))
        snprintf(buf, len, "%.17g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(buf, len, "\"%.40s%s\"", v->valuestring, strlen(v->valuestring) > 40 ? "..." : "");
    else if (cJSON_IsBool(v))
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(buf, len, "null");
    else if (cJSON_IsArray(v))
        snprintf(buf, len, "an array");
    else if (cJSON_IsObject(v))
        snprintf(buf, len, "an object");
    else
        snprintf(buf, len, "an unknown value");
}

/* Refuse keys outside `known` and keys given twice. */
static int check_keys(const vctx *c, const cJSON *obj, const char *const *known, const char *what)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        int found = 0;
        for (size_t i = 0; known[i]; i++)
            found |= strcmp(known[i], it->string) == 0;
        if (!found)
            return fail(c, it->string, "expected a known %s field (docs/layout.md), found an unknown field", what);
        for (const cJSON *later = it->next; later; later = later->next)
            if (strcmp(later->string, it->string) == 0)
                return fail(c, it->string, "expected the field once, found it twice");
    }
    return 0;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* An integer field in [lo, hi]; `required` or else *out = dflt. */
static int get_uint(const vctx *c, const cJSON *obj, const char *key, size_t lo, size_t hi, int required, size_t dflt,
                    size_t *out)
{
    const cJSON *v = get(obj, key);
    char found[96];
    if (!v) {
        if (required)
            return fail(c, key, "expected an integer in [%zu, %zu], found nothing (the field is required)", lo, hi);
        *out = dflt;
        return 0;
    }
    describe(v, found, sizeof found);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return fail(c, key, "expected an integer in [%zu, %zu], found %s", lo, hi, found);
    *out = (size_t)v->valuedouble;
    return 0;
}

static int get_bool(const vctx *c, const cJSON *obj, const char *key, int dflt, int *out)
{
    const cJSON *v = get(obj, key);
    char found[96];
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsBool(v)) {
        describe(v, found, sizeof found);
        return fail(c, key, "expected true or false, found %s", found);
    }
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

/* A number in the open interval (lo, hi). */
static int get_number(const vctx *c, const cJSON *obj, const char *key, double lo, double hi, int required, double dflt,
                      double *out)
{
    const cJSON *v = get(obj, key);
    char found[96];
    if (!v) {
        if (required)
            return fail(c, key, "expected a number in (%g, %g), found nothing (the field is required)", lo, hi);
        *out = dflt;
        return 0;
    }
    describe(v, found, sizeof found);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > lo && v->valuedouble < hi))
        return fail(c, key, "expected a number in (%g, %g), found %s", lo, hi, found);
    *out = v->valuedouble;
    return 0;
}

/* One of `choices` (NULL-terminated); *out is its index. */
static int get_enum(const vctx *c, const cJSON *obj, const char *key, const char *const *choices, int required,
                    int dflt, int *out)
{
    const cJSON *v = get(obj, key);
    char expected[160] = "", found[96];
    for (size_t i = 0; choices[i]; i++) {
        strncat(expected, i ? ", " : "one of ", sizeof expected - strlen(expected) - 1);
        strncat(expected, choices[i], sizeof expected - strlen(expected) - 1);
    }
    if (!v) {
        if (required)
            return fail(c, key, "expected %s, found nothing (the field is required)", expected);
        *out = dflt;
        return 0;
    }
    if (cJSON_IsString(v))
        for (int i = 0; choices[i]; i++)
            if (strcmp(v->valuestring, choices[i]) == 0) {
                *out = i;
                return 0;
            }
    describe(v, found, sizeof found);
    return fail(c, key, "expected %s, found %s", expected, found);
}

/* A field that only some kinds of section may have. */
static int refuse(const vctx *c, const cJSON *obj, const char *key, const char *why)
{
    const cJSON *v = get(obj, key);
    char found[96];
    if (!v)
        return 0;
    describe(v, found, sizeof found);
    return fail(c, key, "expected no such field %s, found %s", why, found);
}

/* `dot`: a model name may carry a version ("llama-3.1-8b"); a section name
 * may not, '.' separates the parts of buffer names. */
static int valid_name(const char *s, size_t max, int dot)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || (dot && ch == '.')))
            return 0;
    }
    return 1;
}

/* the known fields as one table, not one a line */
/* clang-format off */
static const char *const section_fields[] = {
    "name", "kind", "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "seq_len", "vocab",
    "image_size", "patch_size", "channels", "class_token", "patch_bias", "pre_norm", "final_norm", "norm",
    "norm_eps", "norm_bias", "activation", "qkv_bias", "out_bias", "mlp_bias", "position", "rope_theta",
    "rope_pairing", "causal", "bridge", "tie_word_embeddings", "embedding_scale", "sliding_window",
    "rope_scaling", "qk_norm", "post_norms", "rope_local_theta", "global_every", "attn_logit_softcap",
    "final_logit_softcap", "query_pre_attn_scalar", "rotary_dim", NULL,
};
/* clang-format on */
static const char *const kind_names[] = {"vision_encoder", "decoder", NULL};
static const char *const norm_names[] = {"rmsnorm", "layernorm", NULL};
/* in ck_act_kind order */
static const char *const act_names[] = {"swiglu", "gelu", "geglu", "gelu_erf", "quick_gelu", NULL};
static const char *const pos_names[] = {"rope", "learned", NULL};
static const char *const pairing_names[] = {"neox", "gptj", NULL};

/* Dimensions shared by every kind: layers, widths, heads, sequence. */
static int parse_dims(const vctx *c, const cJSON *j, ck_section *s)
{
    if (get_uint(c, j, "n_layers", 1, LAYERS_MAX, 1, 0, &s->n_layers) ||
        get_uint(c, j, "d_model", 1, DIM_MAX, 1, 0, &s->d_model) ||
        get_uint(c, j, "n_heads", 1, HEADS_MAX, 1, 0, &s->n_heads) ||
        get_uint(c, j, "n_kv_heads", 1, HEADS_MAX, 0, s->n_heads, &s->n_kv_heads) ||
        get_uint(c, j, "head_dim", 1, HEADS_MAX, 1, 0, &s->head_dim) ||
        get_uint(c, j, "d_ff", 1, DIM_MAX, 1, 0, &s->d_ff) || get_uint(c, j, "seq_len", 1, DIM_MAX, 1, 0, &s->seq_len))
        return -1;
    if (s->n_heads % s->n_kv_heads != 0)
        return fail(c, "n_kv_heads", "expected a divisor of n_heads (%zu), found %zu", s->n_heads, s->n_kv_heads);
    /* head_dim is free of d_model (Gemma, Qwen3): q is [H x hd] wide (at most
     * 2^16 x 2^16), out_proj maps it back to D; check_section_bytes sizes it */
    return 0;
}

/* A sliding window of W keys (the query at i sees keys i-W+1 .. i) on every
 * layer, or with global_every on the local layers only (Gemma 2: every
 * other layer, Gemma 3: five of six). A window is a mask on causal
 * attention: an encoder's bidirectional attention has none. */
static int parse_window(const vctx *c, const cJSON *j, ck_section *s)
{
    if (!get(j, "sliding_window")) {
        s->sliding_window = 0;
        return 0;
    }
    if (get_uint(c, j, "sliding_window", 1, DIM_MAX, 1, 0, &s->sliding_window))
        return -1;
    if (!s->causal)
        return fail(c, "sliding_window",
                    "expected it only with causal attention (a window masks earlier keys), "
                    "found it with \"causal\": false");
    return 0;
}

/* Which layers are global: every global_every-th (l + 1 a multiple); the
 * others are local, with the window and the local rope theta where given. */
static int parse_global_every(const vctx *c, const cJSON *j, ck_section *s)
{
    s->global_every = 0;
    if (!get(j, "global_every"))
        return get(j, "rope_local_theta") ? fail(c, "global_every",
                                                 "expected an integer in [1, %d] with \"rope_local_theta\" (which "
                                                 "layers are local?), found nothing",
                                                 LAYERS_MAX)
                                          : 0;
    if (!get(j, "sliding_window") && !get(j, "rope_local_theta"))
        return fail(c, "global_every",
                    "expected it only with \"sliding_window\" or \"rope_local_theta\" (what makes a layer local), "
                    "found neither");
    return get_uint(c, j, "global_every", 1, LAYERS_MAX, 1, 0, &s->global_every);
}

/* Gemma 2's soft-capping (cap * tanh(x / cap)) and attention scale. */
static int parse_attention_extras(const vctx *c, const cJSON *j, ck_section *s)
{
    if (get_number(c, j, "attn_logit_softcap", 0.0, 1e6, 0, 0.0, &s->attn_softcap) ||
        get_number(c, j, "query_pre_attn_scalar", 0.0, 1e12, 0, (double)s->head_dim, &s->attn_scalar))
        return -1;
    if (s->kind != CK_SECTION_DECODER)
        return refuse(c, j, "final_logit_softcap", "in a vision_encoder section (it has no logits)");
    return get_number(c, j, "final_logit_softcap", 0.0, 1e6, 0, 0.0, &s->final_softcap);
}

/* Partial rotary (Phi-2: 32 of 80): rope on the first rotary_dim values of
 * each head, the rest passed through. Only with rope. */
static int parse_rotary_dim(const vctx *c, const cJSON *j, ck_section *s)
{
    if (get_uint(c, j, "rotary_dim", 2, HEADS_MAX, 0, s->head_dim, &s->rotary_dim))
        return -1;
    if (s->rotary_dim % 2 != 0 || s->rotary_dim > s->head_dim)
        return fail(c, "rotary_dim", "expected an even number of at most head_dim (%zu), found %zu", s->head_dim,
                    s->rotary_dim);
    return 0;
}

static const char *const rope_scaling_fields[] = {
    "type", "factor", "low_freq_factor", "high_freq_factor", "original_context", NULL};
static const char *const rope_scaling_types[] = {"llama3", NULL};

/* Llama 3.1's frequency scaling: the rope tables change, the op does not. */
static int parse_rope_scaling(const vctx *c, const cJSON *j, ck_section *s)
{
    const cJSON *r = get(j, "rope_scaling");
    char found[96];
    int type;
    s->rope_factor = 0.0;
    if (!r)
        return 0;
    if (!cJSON_IsObject(r)) {
        describe(r, found, sizeof found);
        return fail(c, "rope_scaling", "expected an object {\"type\": \"llama3\", ...}, found %s", found);
    }
    if (check_keys(c, r, rope_scaling_fields, "rope_scaling") ||
        get_enum(c, r, "type", rope_scaling_types, 1, 0, &type) ||
        get_number(c, r, "factor", 0.0, 1e6, 1, 0.0, &s->rope_factor) ||
        get_number(c, r, "low_freq_factor", 0.0, 1e6, 1, 0.0, &s->rope_low_freq_factor) ||
        get_number(c, r, "high_freq_factor", 0.0, 1e6, 1, 0.0, &s->rope_high_freq_factor) ||
        get_uint(c, r, "original_context", 1, DIM_MAX, 1, 0, &s->rope_original_context))
        return -1;
    if (s->rope_high_freq_factor <= s->rope_low_freq_factor)
        return fail(c, "rope_scaling.high_freq_factor", "expected more than low_freq_factor (%g), found %g",
                    s->rope_low_freq_factor, s->rope_high_freq_factor);
    return 0;
}

/* Gemma 3's local layers (see parse_global_every) have their own rope theta. */
static int parse_local_rope(const vctx *c, const cJSON *j, ck_section *s)
{
    if (!get(j, "rope_local_theta"))
        return 0;
    if (get(j, "rope_scaling"))
        return fail(c, "rope_local_theta",
                    "expected no rope_scaling with it (which tables would it scale?), found both");
    return get_number(c, j, "rope_local_theta", 0.0, 1e12, 1, 0.0, &s->rope_local_theta);
}

/* Norm, activation, biases, position encoding, masking. */
static int parse_blocks(const vctx *c, const cJSON *j, ck_section *s)
{
    int e;
    double eps;
    if (get_enum(c, j, "norm", norm_names, 1, 0, &e))
        return -1;
    s->norm = (ck_norm_kind)e;
    if (get_number(c, j, "norm_eps", 0.0, 1.0, 0, 1e-5, &eps))
        return -1;
    s->norm_eps = (float)eps;
    if (s->norm == CK_NORM_RMSNORM) {
        if (refuse(c, j, "norm_bias", "with \"norm\": \"rmsnorm\" (rmsnorm has no beta)"))
            return -1;
        s->norm_bias = 0;
    } else if (get_bool(c, j, "norm_bias", 1, &s->norm_bias)) {
        return -1;
    }
    if (get_bool(c, j, "qk_norm", 0, &s->qk_norm) || get_bool(c, j, "post_norms", 0, &s->post_norms))
        return -1;
    if (s->qk_norm && s->norm != CK_NORM_RMSNORM)
        return fail(c, "qk_norm",
                    "expected it only with \"norm\": \"rmsnorm\" (an rmsnorm of each head), found "
                    "true with layernorm");
    if (get_enum(c, j, "activation", act_names, 1, 0, &e))
        return -1;
    s->activation = (ck_act_kind)e;
    if (get_bool(c, j, "qkv_bias", 0, &s->qkv_bias) || get_bool(c, j, "out_bias", 0, &s->out_bias) ||
        get_bool(c, j, "mlp_bias", 0, &s->mlp_bias) || get_bool(c, j, "pre_norm", 0, &s->pre_norm) ||
        get_bool(c, j, "final_norm", 1, &s->final_norm) ||
        get_bool(c, j, "causal", s->kind == CK_SECTION_DECODER, &s->causal))
        return -1;
    if (get_enum(c, j, "position", pos_names, 1, 0, &e))
        return -1;
    s->position = (ck_pos_kind)e;
    if (parse_window(c, j, s) || parse_attention_extras(c, j, s))
        return -1;
    if (s->position == CK_POS_LEARNED) {
        s->rotary_dim = 0;
        return refuse(c, j, "rope_theta", "with \"position\": \"learned\"") ||
                       refuse(c, j, "rope_pairing", "with \"position\": \"learned\"") ||
                       refuse(c, j, "rope_scaling", "with \"position\": \"learned\"") ||
                       refuse(c, j, "rope_local_theta", "with \"position\": \"learned\"") ||
                       refuse(c, j, "rotary_dim", "with \"position\": \"learned\"") || parse_global_every(c, j, s)
                   ? -1
                   : 0;
    }
    if (get_number(c, j, "rope_theta", 0.0, 1e12, 1, 0.0, &s->rope_theta) ||
        get_enum(c, j, "rope_pairing", pairing_names, 0, CK_ROPE_NEOX, &s->rope_pairing) ||
        parse_rope_scaling(c, j, s) || parse_local_rope(c, j, s) || parse_global_every(c, j, s))
        return -1;
    if (s->head_dim % 2 != 0)
        return fail(c, "head_dim", "expected an even head_dim with \"position\": \"rope\", found %zu", s->head_dim);
    return parse_rotary_dim(c, j, s);
}

/* What only a vision encoder or only a decoder has. */
static int parse_kind_fields(const vctx *c, const cJSON *j, ck_section *s)
{
    if (s->kind == CK_SECTION_DECODER) {
        static const char *const vision_only[] = {"image_size", "patch_size", "channels", "class_token",
                                                  "patch_bias", "bridge",     NULL};
        for (size_t i = 0; vision_only[i]; i++)
            if (refuse(c, j, vision_only[i], "in a decoder section"))
                return -1;
        return get_uint(c, j, "vocab", 1, DIM_MAX, 1, 0, &s->vocab) ||
                       get_bool(c, j, "tie_word_embeddings", 0, &s->tie_embeddings) ||
                       get_number(c, j, "embedding_scale", 0.0, 1e6, 0, 0.0, &s->embedding_scale)
                   ? -1
                   : 0;
    }
    if (refuse(c, j, "vocab", "in a vision_encoder section") ||
        refuse(c, j, "tie_word_embeddings", "in a vision_encoder section (it has no embedding table)") ||
        refuse(c, j, "embedding_scale", "in a vision_encoder section (it has no embedding table)") ||
        get_uint(c, j, "image_size", 1, DIM_MAX, 1, 0, &s->image_size) ||
        get_uint(c, j, "patch_size", 1, DIM_MAX, 1, 0, &s->patch_size) ||
        get_uint(c, j, "channels", 1, 64, 1, 0, &s->channels) || get_bool(c, j, "class_token", 1, &s->class_token) ||
        get_bool(c, j, "patch_bias", 0, &s->patch_bias))
        return -1;
    /* a strided patch convolution drops the last image_size % patch_size pixels
     * of each side (SigLIP at 384 px, patch 14: 27 x 27 patches) */
    if (s->patch_size > s->image_size)
        return fail(c, "patch_size", "expected at most image_size (%zu), found %zu", s->image_size, s->patch_size);
    size_t side = s->image_size / s->patch_size, tokens;
    if (!ck_mul_ok(side, side, &tokens) || !ck_add_ok(tokens, (size_t)s->class_token, &tokens) || tokens != s->seq_len)
        return fail(c, "seq_len", "expected floor(image_size / patch_size)^2%s = %zu, found %zu",
                    s->class_token ? " + 1 class token" : "", tokens, s->seq_len);
    return 0;
}

static const char *const bridge_fields[] = {"to", "bias", "type", NULL};
static const char *const bridge_types[] = {"linear", "mlp2x_gelu", NULL};

/* The bridge's target is resolved once every section is read. */
static int parse_bridge(const vctx *c, const cJSON *j, ck_section *s, const char **target)
{
    const cJSON *b = get(j, "bridge");
    char found[96];
    *target = NULL;
    if (!b)
        return 0;
    if (!cJSON_IsObject(b)) {
        describe(b, found, sizeof found);
        return fail(c, "bridge", "expected an object {\"to\": section, \"bias\": bool, \"type\": kind}, found %s",
                    found);
    }
    if (check_keys(c, b, bridge_fields, "bridge"))
        return -1;
    const cJSON *to = get(b, "to");
    if (!cJSON_IsString(to)) {
        describe(to, found, sizeof found);
        return fail(c, "bridge.to", "expected the name of a later section, found %s", found);
    }
    s->has_bridge = 1;
    *target = to->valuestring;
    /* mlp2x_gelu: LLaVA-1.5's and LLaVA-OneVision's projector, linear, gelu,
     * linear; their gelu is torch's nn.GELU(), the erf form (gelu_erf) */
    return get_bool(c, b, "bias", 0, &s->bridge_bias) ||
                   get_enum(c, b, "type", bridge_types, 0, CK_BRIDGE_LINEAR, &s->bridge_type)
               ? -1
               : 0;
}

/* Byte sizes of the largest tensors, and an upper bound of the whole section
 * in training mode (weights, gradient, two moments, activations, padding),
 * must fit in size_t: the planner's exact sums then cannot overflow either. */
static int check_section_bytes(const vctx *c, const ck_section *s, size_t *bound)
{
    size_t D = s->d_model, F = s->d_ff, T = s->seq_len, A = s->n_heads * s->head_dim, x, y, layer = 0, head = 0;
    size_t wide = F > D ? F : D, attn = A > D ? A : D;
    wide = attn > wide ? attn : wide;
    if (!ck_mul3_ok(F, D, BYTES_F32, &x) || !ck_mul_ok(x, 16, &x) || !ck_add_ok(layer, x, &layer))
        return fail(c, "d_ff", "expected d_ff x d_model weights whose byte size fits in size_t, found %zu", F);
    if (!ck_mul3_ok(attn, D, BYTES_F32, &x) || !ck_mul_ok(x, 16, &x) || !ck_add_ok(layer, x, &layer))
        return fail(c, "d_model",
                    "expected d_model x max(d_model, n_heads x head_dim) weights whose byte size fits in size_t, "
                    "found %zu",
                    D);
    if (!ck_mul3_ok(T, wide, BYTES_F32, &x) || !ck_mul_ok(x, 16, &x) || !ck_add_ok(layer, x, &layer) ||
        !ck_mul_ok(ALIGN_BOUND, 64, &y) || !ck_add_ok(layer, y, &layer))
        return fail(c, "seq_len", "expected seq_len x width activations whose byte size fits in size_t, found %zu", T);
    if (s->kind == CK_SECTION_DECODER) {
        size_t rows = T > s->vocab ? T : s->vocab;
        if (!ck_mul3_ok(rows, s->vocab > D ? s->vocab : D, BYTES_F32, &head) || !ck_mul_ok(head, 8, &head))
            return fail(c, "vocab", "expected a vocab whose tables and logits fit in size_t, found %zu", s->vocab);
    } else {
        size_t k;
        if (!ck_mul3_ok(s->channels, s->patch_size, s->patch_size, &k) || !ck_mul3_ok(k, wide, BYTES_F32, &head) ||
            !ck_mul3_ok(k, T, BYTES_F32, &x) || !ck_add_ok(head, x, &head) || !ck_mul_ok(head, 8, &head))
            return fail(c, "patch_size", "expected patches whose byte size fits in size_t, found %zu", s->patch_size);
    }
    if (!ck_mul_ok(layer, s->n_layers, bound) || !ck_add_ok(*bound, head, bound) ||
        !ck_add_ok(*bound, ALIGN_BOUND * 8, bound))
        return fail(c, "n_layers", "expected a section whose byte size fits in size_t, found %zu layers", s->n_layers);
    return 0;
}

static int parse_section(vctx *c, const cJSON *j, ck_section *s, const char **bridge_target)
{
    const cJSON *name = get(j, "name");
    char found[96];
    int kind;
    if (!cJSON_IsObject(j)) {
        describe(j, found, sizeof found);
        return fail(c, NULL, "expected an object, found %s", found);
    }
    if (!cJSON_IsString(name) || !valid_name(name->valuestring, CK_SECTION_NAME_MAX, 0)) {
        describe(name, found, sizeof found);
        return fail(c, "name", "expected 1 to %d characters of [A-Za-z0-9_-], found %s", CK_SECTION_NAME_MAX, found);
    }
    snprintf(s->name, sizeof s->name, "%s", name->valuestring);
    c->sec_name = s->name;
    if (check_keys(c, j, section_fields, "section") || get_enum(c, j, "kind", kind_names, 1, 0, &kind))
        return -1;
    s->kind = (ck_section_kind)kind;
    if (parse_dims(c, j, s) || parse_blocks(c, j, s) || parse_kind_fields(c, j, s))
        return -1;
    return parse_bridge(c, j, s, bridge_target);
}

static const char *const top_fields[] = {"name", "description", "dtype", "sections", NULL};
static const char *const model_dtypes[] = {"f32", "bf16", "f16", NULL};

static int parse_top(vctx *c, const cJSON *root, ck_model *m)
{
    char found[96];
    int dt;
    if (!cJSON_IsObject(root)) {
        describe(root, found, sizeof found);
        return fail(c, NULL, "expected a JSON object at the top, found %s", found);
    }
    if (check_keys(c, root, top_fields, "model"))
        return -1;
    const cJSON *name = get(root, "name"), *desc = get(root, "description");
    if (!cJSON_IsString(name) || !valid_name(name->valuestring, sizeof m->name - 1, 1)) {
        describe(name, found, sizeof found);
        return fail(c, "name", "expected 1 to %zu characters of [A-Za-z0-9_.-], found %s", sizeof m->name - 1, found);
    }
    snprintf(m->name, sizeof m->name, "%s", name->valuestring);
    if (desc && !cJSON_IsString(desc)) {
        describe(desc, found, sizeof found);
        return fail(c, "description", "expected a string, found %s", found);
    }
    if (get_enum(c, root, "dtype", model_dtypes, 1, 0, &dt))
        return -1;
    m->dtype = ck_dtype_from_name(model_dtypes[dt]);
    return 0;
}

static int resolve_bridges(vctx *c, ck_model *m, const char *const *targets)
{
    for (size_t i = 0; i < m->n_sections; i++) {
        ck_section *s = &m->sections[i];
        if (!targets[i])
            continue;
        c->sec = (int)i;
        c->sec_name = s->name;
        size_t t = 0;
        while (t < m->n_sections && strcmp(m->sections[t].name, targets[i]) != 0)
            t++;
        if (t >= m->n_sections || t <= i)
            return fail(c, "bridge.to", "expected the name of a later section, found \"%.40s\"", targets[i]);
        s->bridge_to = t;
    }
    return 0;
}

static int parse_sections(vctx *c, const cJSON *root, ck_model *m)
{
    const cJSON *secs = get(root, "sections");
    const char *targets[CK_MAX_SECTIONS] = {0};
    char found[96];
    size_t total = 0, bound = 0;
    int n = cJSON_IsArray(secs) ? cJSON_GetArraySize(secs) : 0;
    if (n < 1 || n > CK_MAX_SECTIONS) {
        describe(secs, found, sizeof found);
        if (cJSON_IsArray(secs))
            snprintf(found, sizeof found, "%d sections", n);
        return fail(c, "sections", "expected an array of 1 to %d sections, found %s", CK_MAX_SECTIONS, found);
    }
    m->n_sections = (size_t)n;
    int i = 0;
    for (const cJSON *j = secs->child; j; j = j->next, i++) {
        c->sec = i;
        c->sec_name = NULL;
        if (parse_section(c, j, &m->sections[i], &targets[i]) || check_section_bytes(c, &m->sections[i], &bound))
            return -1;
        for (int k = 0; k < i; k++)
            if (strcmp(m->sections[k].name, m->sections[i].name) == 0)
                return fail(c, "name", "expected a name no other section has, found \"%s\" again", m->sections[i].name);
        if (!ck_add_ok(total, bound, &total))
            return fail(c, "n_layers", "expected a model whose byte size fits in size_t, found %zu layers more",
                        m->sections[i].n_layers);
    }
    return resolve_bridges(c, m, targets);
}

/* Line number of a byte offset, for JSON syntax errors. */
static size_t line_of(const char *text, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        line += text[i] == '\n';
    return line;
}

/* The first byte in [p, end) that is not JSON whitespace (trailing garbage
 * after the value), or NULL when there is none. */
static const char *trailing_garbage(const char *p, const char *end)
{
    for (; p && p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return p;
    return NULL;
}

ck_model *ck_model_parse(const char *text, size_t len, const char *path, char *err, size_t err_len)
{
    vctx c = {path ? path : "(model)", -1, NULL, err, err_len};
    const char *end = NULL;
    if (err && err_len)
        err[0] = '\0';
    if (len > MODEL_FILE_MAX) {
        fail(&c, NULL, "expected a model description of at most %u bytes, found %zu bytes", MODEL_FILE_MAX, len);
        return NULL;
    }
    if (memchr(text, '\0', len)) {
        fail(&c, NULL, "expected JSON text, found a NUL byte at offset %zu",
             (size_t)((const char *)memchr(text, '\0', len) - text));
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root && trailing_garbage(end, text + len)) {
        end = trailing_garbage(end, text + len);
        cJSON_Delete(root);
        root = NULL;
    }
    if (!root) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        fail(&c, NULL, "expected valid JSON, found a syntax error at line %zu (byte %zu)", line_of(text, off), off);
        return NULL;
    }
    ck_model *m = calloc(1, sizeof *m);
    if (!m || parse_top(&c, root, m) || parse_sections(&c, root, m)) {
        if (!m)
            fail(&c, NULL, "out of memory");
        free(m);
        m = NULL;
    }
    cJSON_Delete(root);
    return m;
}

ck_model *ck_model_load(const char *path, char *err, size_t err_len)
{
    vctx c = {path ? path : "(null)", -1, NULL, err, err_len};
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        fail(&c, NULL, "cannot open the model file: %s", path ? strerror(errno) : "no path given");
        return NULL;
    }
    char *buf = malloc(MODEL_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, MODEL_FILE_MAX + 1, f) : 0;
    int read_error = ferror(f);
    fclose(f);
    if (!buf || read_error) {
        fail(&c, NULL, "cannot read the model file%s", buf ? "" : ": out of memory");
        free(buf);
        return NULL;
    }
    ck_model *m = ck_model_parse(buf, len, path, err, err_len);
    free(buf);
    return m;
}

void ck_model_free(ck_model *m)
{
    for (size_t i = 0; m && i < m->n_sections; i++)
        free(m->sections[i].rope_freq_factors);
    free(m);
}

const char *ck_model_name(const ck_model *m)
{
    return m ? m->name : NULL;
}
