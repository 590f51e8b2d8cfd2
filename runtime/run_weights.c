/* run_weights.c — weights and inputs: seeded per buffer name or copied from
 * GGUF, and windows of resident layers for models larger than memory. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_rng.h"
#include "run_internal.h"

/* ---- seeding weights and inputs -------------------------------------------- */

static uint64_t name_seed(uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ seed; /* FNV-1a over the name, keyed by the seed */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static size_t elements(const ck_buffer *b)
{
    size_t n = 1;
    for (unsigned i = 0; i < b->ndim; i++)
        n *= b->shape[i];
    return n;
}

static const ck_section *section_of(const ck_runner *r, const ck_buffer *b)
{
    return &r->model->sections[b->section];
}

/* llama.cpp's name for one of our decoder tensors, or "" when it has none. */
static void llama_cpp_name(const ck_runner *r, const ck_buffer *b, char *out, size_t len)
{
    static const struct {
        const char *ours, *theirs;
    } layer_map[] = {
        {"attn_norm.gamma", "attn_norm.weight"},
        {"qkv.wq", "attn_q.weight"},
        {"qkv.wk", "attn_k.weight"},
        {"qkv.wv", "attn_v.weight"},
        {"qkv.bq", "attn_q.bias"},
        {"qkv.bk", "attn_k.bias"},
        {"qkv.bv", "attn_v.bias"},
        {"out_proj.w", "attn_output.weight"},
        {"mlp_norm.gamma", "ffn_norm.weight"},
        {"mlp_gate.w", "ffn_gate.weight"},
        {"mlp_up.w", "ffn_up.weight"},
        {"mlp_down.w", "ffn_down.weight"},
        {"q_norm.gamma", "attn_q_norm.weight"},
        {"k_norm.gamma", "attn_k_norm.weight"},
        {"post_attn_norm.gamma", "post_attention_norm.weight"},
        {"post_mlp_norm.gamma", "post_ffw_norm.weight"},
    };
    const ck_section *s = section_of(r, b);
    out[0] = 0;
    if (s->kind != CK_SECTION_DECODER)
        return;
    const char *rest = b->name + strlen(s->name) + 1;
    if (strcmp(rest, "header.embedding.table") == 0)
        snprintf(out, len, "token_embd.weight");
    else if (strcmp(rest, "footer.final_norm.gamma") == 0)
        snprintf(out, len, "output_norm.weight");
    else if (strcmp(rest, "footer.lm_head.w") == 0)
        snprintf(out, len, "output.weight");
    else if (b->part == CK_PART_LAYER) {
        const char *tail = strchr(rest + strlen("layer."), '.');
        for (size_t i = 0; tail && i < sizeof layer_map / sizeof layer_map[0]; i++)
            if (strcmp(tail + 1, layer_map[i].ours) == 0)
                snprintf(out, len, "blk.%u.%s", b->layer, layer_map[i].theirs);
    }
}

/* Phi-3's fused tensors: q, k and v are row ranges of blk.N.attn_qkv, gate
 * and up of blk.N.ffn_up (when there is no ffn_gate). Each part is copied
 * straight from its rows in the file: a row of any dtype, quantised ones
 * included, is whole blocks, so a row range is a byte range. */
static const ck_gguf_tensor *fused_source(const ck_runner *r, const ck_buffer *b, size_t *first_row)
{
    const ck_section *s = section_of(r, b);
    char name[128];
    const char *tail = b->part == CK_PART_LAYER ? strchr(b->name + strlen(s->name) + strlen(".layer."), '.') : NULL;
    if (!tail)
        return NULL;
    size_t q = s->n_heads * s->head_dim, kv = s->n_kv_heads * s->head_dim;
    if (strncmp(tail, ".qkv.w", 6) == 0 && strlen(tail) == 7) {
        snprintf(name, sizeof name, "blk.%u.attn_qkv.weight", b->layer);
        *first_row = tail[6] == 'q' ? 0 : tail[6] == 'k' ? q : q + kv;
        return ck_gguf_find(&r->gguf, name);
    }
    int gate = strcmp(tail, ".mlp_gate.w") == 0;
    if (!gate && strcmp(tail, ".mlp_up.w") != 0)
        return NULL;
    snprintf(name, sizeof name, "blk.%u.ffn_gate.weight", b->layer);
    if (ck_gguf_find(&r->gguf, name))
        return NULL;
    snprintf(name, sizeof name, "blk.%u.ffn_up.weight", b->layer);
    const ck_gguf_tensor *t = ck_gguf_find(&r->gguf, name);
    if (!t || t->n_dims != 2 || t->dims[1] != 2 * s->d_ff) /* an unfused ffn_up is found by its own name */
        return NULL;
    *first_row = gate ? 0 : s->d_ff;
    return t;
}

static int copy_from_gguf(ck_runner *r, const ck_buffer *b, void *dst, char *err, size_t len)
{
    char alias[128];
    size_t first_row = 0;
    const ck_gguf_tensor *t = ck_gguf_find(&r->gguf, b->name);
    llama_cpp_name(r, b, alias, sizeof alias);
    /* before the alias: a fused ffn_up has the unfused up's name */
    if (!t && b->ndim == 2 && (t = fused_source(r, b, &first_row)) != NULL) {
        size_t row_bytes = b->size / b->shape[0];
        if (t->dtype != b->dtype || t->dims[0] != b->shape[1] || t->bytes / t->dims[1] != row_bytes ||
            first_row + b->shape[0] > t->dims[1])
            return run_failf(err, len,
                             "%s: tensor \"%s\": expected %s rows of %zu values holding \"%s\" from row %zu, "
                             "found %s [%llu, %llu]",
                             r->opts.gguf_path, t->name, ck_dtype_name(b->dtype), b->shape[1], b->name, first_row,
                             ck_dtype_name(t->dtype), (unsigned long long)t->dims[1], (unsigned long long)t->dims[0]);
        memcpy(dst, (const char *)t->data + first_row * row_bytes, b->size);
        return 0;
    }
    if (!t && alias[0])
        t = ck_gguf_find(&r->gguf, alias);
    if (!t)
        return run_failf(err, len, "%s: no tensor \"%s\"%s%s%s", r->opts.gguf_path, b->name, alias[0] ? " (nor \"" : "",
                         alias, alias[0] ? "\")" : "");
    int shape_ok = t->n_dims == b->ndim;
    for (unsigned d = 0; shape_ok && d < b->ndim; d++)
        shape_ok = t->dims[d] == b->shape[b->ndim - 1 - d]; /* GGUF lists the contiguous dim first */
    if (t->dtype != b->dtype || !shape_ok || t->bytes != b->size)
        return run_failf(err, len,
                         "%s: tensor \"%s\": expected %s with %u dims [%zu, %zu] (%zu bytes), found %s with %u dims "
                         "[%llu, %llu]; pass --weight-dtype to plan another dtype",
                         r->opts.gguf_path, t->name, ck_dtype_name(b->dtype), b->ndim, b->shape[0],
                         b->ndim > 1 ? b->shape[1] : 0, b->size, ck_dtype_name(t->dtype), t->n_dims,
                         (unsigned long long)t->dims[t->n_dims > 1 ? 1 : 0], (unsigned long long)t->dims[0]);
    memcpy(dst, t->data, b->size);
    return 0;
}

/* Weights ~ N(0, 0.02), gammas 1 + N(0, 0.02), in their dtype; quantised
 * weights through the scalar reference quantiser. Rope tables exact. */
static int seed_buffer(ck_runner *r, const ck_buffer *b, char *err, size_t len)
{
    void *dst = (char *)r->arena.base + b->offset;
    size_t n = elements(b);
    ck_rng rng;
    ck_rng_seed(&rng, name_seed(r->opts.seed, b->name));
    if (b->kind == CK_BUF_TABLE) {
        int local = ends_with(b->name, ".cos_local");
        if (!ends_with(b->name, ".cos") && !local)
            return 0; /* the sin table is written together with cos */
        const ck_section *s = section_of(r, b);
        float *sin_tab = (float *)((char *)dst + b->size);
        const ck_buffer *sb = b + 1;
        if (sb < r->plan->buffers + r->plan->n_buffers && ends_with(sb->name, local ? ".sin_local" : ".sin"))
            sin_tab = (float *)((char *)r->arena.base + sb->offset);
        if (local) {
            ck_rope_tables(s->rope_local_theta, s->rotary_dim, b->shape[0], dst, sin_tab);
            return 0;
        }
        ck_rope_scaling sc = {s->rope_factor, s->rope_low_freq_factor, s->rope_high_freq_factor,
                              s->rope_original_context};
        if (s->rope_freq_factors)
            ck_rope_tables_factors(s->rope_theta, s->rotary_dim, b->shape[0], s->rope_freq_factors, dst, sin_tab);
        else /* partial rotary: the frequencies of a rotary_dim-wide head (Phi-2, NeoX) */
            ck_rope_tables_scaled(s->rope_theta, s->rotary_dim, b->shape[0], &sc, dst, sin_tab);
        return 0;
    }
    if (b->kind == CK_BUF_ACTIVATION) {
        if (ends_with(b->name, ".pixels")) {
            for (size_t i = 0; i < n; i++)
                ((float *)dst)[i] = (float)ck_rng_normal(&rng);
        } else if (ends_with(b->name, ".ids")) {
            size_t vocab = section_of(r, b)->vocab;
            for (size_t i = 0; i < n; i++)
                ((int32_t *)dst)[i] =
                    r->opts.tokens && i < r->opts.n_tokens ? r->opts.tokens[i] : (int32_t)ck_rng_below(&rng, vocab);
        }
        return 0;
    }
    if (b->kind == CK_BUF_KV_CACHE) {
        /* the keys and values of positions before this token: a stand-in for
         * the prefill that would have written them (rows >= pos stay zero) */
        size_t row = b->shape[1] * b->shape[2];
        for (size_t i = 0; i < r->opts.decode_pos * row && i < n; i++)
            ((float *)dst)[i] = (float)ck_rng_normal(&rng);
        return 0;
    }
    if (b->kind != CK_BUF_WEIGHT)
        return 0;
    if (r->have_gguf)
        return copy_from_gguf(r, b, dst, err, len);
    int is_gamma = ends_with(b->name, ".gamma");
    float *tmp = b->dtype == CK_DTYPE_F32 ? dst : malloc(n * sizeof *tmp);
    if (!tmp)
        return run_failf(err, len, "out of memory seeding %s", b->name);
    for (size_t i = 0; i < n; i++)
        tmp[i] = (float)((is_gamma ? 1.0 : 0.0) + 0.02 * ck_rng_normal(&rng));
    int rc = 0;
    if (b->dtype == CK_DTYPE_BF16) {
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = ck_f32_to_bf16(tmp[i]);
    } else if (b->dtype == CK_DTYPE_F16) {
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = ck_f32_to_f16(tmp[i]);
    } else if (b->dtype == CK_DTYPE_Q8_0 || b->dtype == CK_DTYPE_Q4_0) {
        const ck_kernel_desc *q = ck_plugin_kernel(r->scalar, CK_OP_QUANTIZE, b->dtype, 0);
        ck_quant_args qa = {tmp, dst, n, b->dtype};
        char why[CK_ERR_LEN] = "no scalar quantize kernel";
        if (!q || ck_kernel_call_checked(q, r->seed_ctx, &qa, why, sizeof why) != CK_OK)
            rc = run_failf(err, len, "%s: cannot quantise seeded weights to %s (%s)", b->name, ck_dtype_name(b->dtype),
                           why);
    } else if (b->dtype != CK_DTYPE_F32) {
        rc = run_failf(err, len, "%s: cannot seed weights of dtype %s", b->name, ck_dtype_name(b->dtype));
    }
    if (tmp != dst)
        free(tmp);
    return rc;
}

int run_seed_span(ck_runner *r, size_t start, size_t end, char *err, size_t len)
{
    for (size_t i = 0; i < r->plan->n_buffers; i++) {
        const ck_buffer *b = &r->plan->buffers[i];
        if (b->offset >= start && b->offset < end && seed_buffer(r, b, err, len))
            return -1;
    }
    return 0;
}

/* ---- windows of layers --------------------------------------------------------- */

int run_make_resident(ck_runner *r, uint32_t sec, uint32_t layer, char *err, size_t len)
{
    unsigned char *flag = &r->resident[r->layer_index[sec] + layer];
    if (*flag)
        return 0;
    const ck_span *sp = &r->plan->sections[sec].layers[layer];
    if (ck_arena_touch(&r->arena, sp->start, sp->end - sp->start))
        return run_failf(err, len, "%s: cannot fault in layer %u of section %u", r->model->name, layer, sec);
    *flag = 1;
    return run_seed_span(r, sp->start, sp->end, err, len);
}

void run_evict(ck_runner *r, uint32_t sec, uint32_t layer)
{
    unsigned char *flag = &r->resident[r->layer_index[sec] + layer];
    if (!*flag)
        return;
    const ck_span *sp = &r->plan->sections[sec].layers[layer];
    /* only the pages wholly inside the layer: a page it shares with the next
     * layer (still resident) or the one before must keep its bytes, or a
     * layer kept resident across generation steps would lose weights */
    size_t page = r->arena.page, start = (sp->start + page - 1) / page * page, end = sp->end / page * page;
    if (end > start)
        ck_arena_release(&r->arena, start, end - start);
    *flag = 0;
}

/* ---- public API ------------------------------------------------------------------ */

/* The dtype of the GGUF's matrices: that of the first 2-D tensor it holds
 * for this model, so a q8_0 file plans q8_0 weights without being told. */
uint32_t run_gguf_matrix_dtype(ck_runner *r, const ck_model *m)
{
    ck_plan *p = NULL;
    ck_plan_opts po = {0};
    uint32_t dt = 0;
    if (ck_plan_build(m, &po, &p, NULL, 0))
        return 0;
    r->plan = p;
    for (size_t i = 0; i < p->n_buffers && !dt; i++) {
        const ck_buffer *b = &p->buffers[i];
        char alias[128];
        if (b->kind != CK_BUF_WEIGHT || b->ndim != 2)
            continue;
        const ck_gguf_tensor *t = ck_gguf_find(&r->gguf, b->name);
        llama_cpp_name(r, b, alias, sizeof alias);
        if (!t && alias[0])
            t = ck_gguf_find(&r->gguf, alias);
        if (t && t->n_dims == 2)
            dt = t->dtype;
    }
    r->plan = NULL;
    ck_plan_free(p);
    return dt;
}
