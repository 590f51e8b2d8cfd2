/* model_run.c — the whole-model executor (ck_run.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_fusion.h"
#include "ck_gguf.h"
#include "ck_rng.h"
#include "ck_run.h"

typedef union any_args {
    ck_norm_args norm;
    ck_linear_args linear;
    ck_qkv_args qkv;
    ck_rope_args rope;
    ck_attention_args attn;
    ck_swiglu_args swiglu;
    ck_unary_args unary;
    ck_add_args add;
    ck_embedding_args emb;
} any_args;

typedef enum pre_action { PRE_NONE = 0, PRE_CLASS_ROWS, POST_SPLICE, PRE_APPEND_KV } pre_action;

typedef struct step {
    ck_run_step pub;
    any_args args;
    const ck_kernel_desc *kernel;
    pre_action action;
    const float *class_token; /* PRE_CLASS_ROWS: out = [class_token; patches] */
    const float *patches;
    size_t rows, width;
    const float *splice_src;  /* POST_SPLICE: copy src rows into the embedding output */
    const float *new_k, *new_v; /* PRE_APPEND_KV: this token's k, v (rotated) ... */
    float *cache_k, *cache_v;   /* ... copied to row `pos` of the layer's cache */
    size_t kv_row;              /* floats per cache row: Hkv * hd */
    size_t splice_rows;
} step;

typedef union fused_args {
    ck_fused_embed_norm_args embed_norm;
    ck_fused_norm_qkv_args norm_qkv;
    ck_fused_qkv_rope_args qkv_rope;
    ck_fused_attn_proj_args attn_proj;
    ck_fused_norm_mlp_args norm_mlp;
    ck_fused_gate_up_args gate_up;
    ck_fused_act_down_args act_down;
    ck_fused_add_norm_args add_norm;
} fused_args;

/* What runs: one bound step, or a fused group of consecutive steps. */
typedef struct unit {
    ck_run_step pub;
    size_t first, count;
    int fusion;                  /* ck_fusion, or -1 */
    const ck_kernel_desc *kernel;/* fused groups */
    fused_args args;
} unit;

struct ck_runner {
    const ck_model *model;   /* &own_model */
    ck_model own_model;      /* the caller's, with layers capped by opts.max_layers */
    ck_plan *plan;
    ck_arena arena;
    const ck_plugin *plugin, *scalar;
    ck_run_opts opts;
    step *steps;
    size_t n_steps;
    unit *units;
    size_t n_units;
    uint32_t fused_applied[CK_FUSE_COUNT];
    size_t bytes_saved;
    const float *output;
    size_t output_count;
    ck_exec_ctx *seed_ctx;   /* one thread, for the reference quantiser while seeding */
    ck_gguf gguf;            /* when weights come from a file */
    int have_gguf;
    unsigned char *resident; /* per section and layer, when windowing */
    size_t layer_index[CK_MAX_SECTIONS];
};

static int failf(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- buffers by name ---------------------------------------------------- */

static const ck_buffer *find_buffer(const ck_runner *r, const char *name)
{
    for (size_t i = 0; i < r->plan->n_buffers; i++)
        if (strcmp(r->plan->buffers[i].name, name) == 0)
            return &r->plan->buffers[i];
    return NULL;
}

typedef struct binder {
    ck_runner *r;
    char prefix[96];
    int missing;
    char missing_name[128];
} binder;

/* The buffer "<prefix>.<tensor>", or NULL; `required` records a miss. */
static void *tensor(binder *b, const char *tensor_name, int required)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", b->prefix, tensor_name);
    const ck_buffer *buf = find_buffer(b->r, name);
    if (!buf) {
        if (required && !b->missing) {
            b->missing = 1;
            snprintf(b->missing_name, sizeof b->missing_name, "%s", name);
        }
        return NULL;
    }
    return (char *)b->r->arena.base + buf->offset;
}

static void add_out(binder *b, step *s, const char *tensor_name)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", b->prefix, tensor_name);
    const ck_buffer *buf = find_buffer(b->r, name);
    if (!buf || s->pub.n_out >= 3)
        return;
    s->pub.out[s->pub.n_out].name = buf->name;
    s->pub.out[s->pub.n_out].offset = buf->offset;
    s->pub.out[s->pub.n_out].bytes = buf->size;
    s->pub.n_out++;
}

/* ---- binding one node ------------------------------------------------------ */

typedef struct flow {
    float *res;  /* residual stream */
    float *h;    /* the last norm's output */
    float *q, *k, *v, *attn, *proj, *gate, *up, *act, *down;
    float *k_cache, *v_cache; /* decode */
    int after_final_norm;
} flow;

static void bind_norm(binder *b, step *s, const ck_shape *sh, flow *f)
{
    s->args.norm = (ck_norm_args){f->res, tensor(b, "out", 1), tensor(b, "gamma", 1), tensor(b, "beta", 0),
                                  sh->T, sh->D, sh->eps};
    add_out(b, s, "out");
}

static void bind_linear(binder *b, step *s, const ck_shape *sh, const float *x, const char *out)
{
    s->args.linear = (ck_linear_args){x, tensor(b, "w", 1), tensor(b, "b", 0), tensor(b, out, 1),
                                      sh->T, sh->K, sh->N, sh->dtype};
    add_out(b, s, out);
}

static float *layer_out(step *s)
{
    return (float *)s->args.linear.y;
}

static void bind_node(binder *b, step *s, const ck_node *nd, const ck_section *sec, flow *f)
{
    const ck_shape *sh = &nd->shape;
    switch (nd->role) {
    case CK_ROLE_PATCH_EMBED:
        bind_linear(b, s, sh, tensor(b, "pixels", 1), "out");
        f->res = layer_out(s);
        break;
    case CK_ROLE_TOKEN_EMBED:
        s->args.emb = (ck_embedding_args){tensor(b, "ids", 1), tensor(b, "table", 1), tensor(b, "out", 1),
                                          sh->T, sh->vocab, sh->D, sh->dtype};
        add_out(b, s, "out");
        f->res = s->args.emb.y;
        break;
    case CK_ROLE_POS_ADD: {
        float *out = tensor(b, "out", 1);
        const float *cls = sec->class_token ? tensor(b, "class_token", 1) : NULL;
        s->action = PRE_CLASS_ROWS;
        s->class_token = cls;
        s->patches = f->res;
        s->rows = sh->n / sec->d_model - (cls ? 1 : 0);
        s->width = sec->d_model;
        s->args.add = (ck_add_args){out, tensor(b, "pos_embed", 1), out, sh->n};
        add_out(b, s, "out");
        f->res = out;
        break;
    }
    case CK_ROLE_PRE_NORM:
        bind_norm(b, s, sh, f);
        f->res = s->args.norm.y;
        break;
    case CK_ROLE_ATTN_NORM:
    case CK_ROLE_MLP_NORM:
    case CK_ROLE_FINAL_NORM:
        bind_norm(b, s, sh, f);
        f->h = s->args.norm.y;
        break;
    case CK_ROLE_QKV:
        f->q = tensor(b, "q", 1), f->k = tensor(b, "k", 1), f->v = tensor(b, "v", 1);
        f->k_cache = tensor(b, "k_cache", 0), f->v_cache = tensor(b, "v_cache", 0);
        s->args.qkv = (ck_qkv_args){f->h, tensor(b, "wq", 1), tensor(b, "wk", 1), tensor(b, "wv", 1),
                                    tensor(b, "bq", 0), tensor(b, "bk", 0), tensor(b, "bv", 0), f->q, f->k, f->v,
                                    sh->T, sh->D, sh->n_heads, sh->n_kv_heads, sh->head_dim, sh->dtype};
        add_out(b, s, "q"), add_out(b, s, "k"), add_out(b, s, "v");
        break;
    case CK_ROLE_ROPE: {
        char tabs[96];
        snprintf(tabs, sizeof tabs, "%s", b->prefix);
        snprintf(b->prefix, sizeof b->prefix, "%s.header.rope", sec->name);
        const float *c = tensor(b, "cos", 1), *sn = tensor(b, "sin", 1);
        snprintf(b->prefix, sizeof b->prefix, "%s", tabs);
        s->args.rope = (ck_rope_args){f->q, f->k, c, sn, sh->T, sh->n_heads, sh->n_kv_heads, sh->head_dim,
                                      sh->pos, sh->max_pos ? sh->max_pos : sec->seq_len, (uint32_t)sh->pairing};
        break;
    }
    case CK_ROLE_ATTENTION:
        f->attn = tensor(b, "out", 1);
        if (f->k_cache && f->v_cache) { /* decode: this token joins the cache, attention reads the cache */
            s->action = PRE_APPEND_KV;
            s->new_k = f->k, s->new_v = f->v;
            s->cache_k = f->k_cache, s->cache_v = f->v_cache;
            s->kv_row = sh->n_kv_heads * sh->head_dim;
            f->k = f->k_cache, f->v = f->v_cache;
        }
        s->args.attn = (ck_attention_args){f->q, f->k, f->v, f->attn, NULL, NULL, sh->T, sh->S, sh->n_heads,
                                           sh->n_kv_heads, sh->head_dim, sh->pos, sh->causal,
                                           1.0f / sqrtf((float)sh->head_dim)};
        add_out(b, s, "out");
        break;
    case CK_ROLE_OUT_PROJ:
        bind_linear(b, s, sh, f->attn, "out");
        f->proj = layer_out(s);
        break;
    case CK_ROLE_ATTN_RESIDUAL:
    case CK_ROLE_MLP_RESIDUAL: {
        float *out = tensor(b, "out", 1);
        s->args.add = (ck_add_args){f->res, nd->role == CK_ROLE_ATTN_RESIDUAL ? f->proj : f->down, out, sh->n};
        add_out(b, s, "out");
        f->res = out;
        break;
    }
    case CK_ROLE_MLP_GATE:
        bind_linear(b, s, sh, f->h, "out");
        f->gate = layer_out(s);
        break;
    case CK_ROLE_MLP_UP:
        bind_linear(b, s, sh, f->h, "out");
        f->up = layer_out(s);
        break;
    case CK_ROLE_MLP_ACT:
        f->act = tensor(b, "out", 1);
        if (sh->op == CK_OP_SWIGLU)
            s->args.swiglu = (ck_swiglu_args){f->gate, f->up, f->act, sh->n};
        else
            s->args.unary = (ck_unary_args){f->up, f->act, sh->n};
        add_out(b, s, "out");
        break;
    case CK_ROLE_MLP_DOWN:
        bind_linear(b, s, sh, f->act, "out");
        f->down = layer_out(s);
        break;
    case CK_ROLE_BRIDGE:
        bind_linear(b, s, sh, f->after_final_norm ? f->h : f->res, "out");
        break;
    case CK_ROLE_LM_HEAD:
        bind_linear(b, s, sh, f->after_final_norm ? f->h : f->res, "logits");
        break;
    default:
        break;
    }
    f->after_final_norm = nd->role == CK_ROLE_FINAL_NORM;
}

static int choose_kernel(ck_runner *r, step *s, char *err, size_t len)
{
    uint32_t op = s->pub.op, dt = s->pub.dtype;
    s->kernel = ck_plugin_kernel(r->plugin, op, dt, 0);
    if (!s->kernel && r->plugin != r->scalar) {
        s->kernel = ck_plugin_kernel(r->scalar, op, dt, 0);
        s->pub.fallback = 1;
    }
    if (!s->kernel)
        return failf(err, len, "%s: no %s kernel for %s weights in plugin '%s' nor in scalar", s->pub.label,
                     ck_op_name(op), ck_dtype_name(dt), r->plugin->desc->name);
    return 0;
}

static int grow_steps(ck_runner *r, size_t need)
{
    step *ns = realloc(r->steps, need * sizeof *ns);
    if (!ns)
        return -1;
    r->steps = ns;
    return 0;
}

/* A decode step runs the decoder sections only: the encoders ran at prefill. */
static int skipped_section(const ck_runner *r, size_t si)
{
    return r->plan->opts.decode && r->model->sections[si].kind != CK_SECTION_DECODER;
}

/* Bind every node of every section, layers expanded, in execution order. */
static int bind_all(ck_runner *r, char *err, size_t len)
{
    const ck_model *m = r->model;
    float *bridge_out[CK_MAX_SECTIONS] = {0};
    size_t bridge_rows[CK_MAX_SECTIONS] = {0};
    for (size_t si = 0; si < m->n_sections; si++) {
        const ck_section *sec = &m->sections[si];
        ck_node nodes[CK_MAX_SECTION_NODES];
        ck_graph_opts g = {r->plan->opts.decode, r->plan->opts.decode_pos, r->plan->opts.weight_dtype};
        r->layer_index[si] = si == 0 ? 0 : r->layer_index[si - 1] + m->sections[si - 1].n_layers;
        if (skipped_section(r, si))
            continue;
        size_t k = ck_section_nodes(m, si, &g, nodes);
        flow f = {0};
        binder b = {r, "", 0, ""};
        for (int part = CK_PART_HEADER; part <= CK_PART_FOOTER; part++) {
            size_t reps = part == CK_PART_LAYER ? sec->n_layers : 1;
            for (size_t l = 0; l < reps; l++)
                for (size_t j = 0; j < k; j++) {
                    if ((int)nodes[j].part != part)
                        continue;
                    if (grow_steps(r, r->n_steps + 1))
                        return failf(err, len, "out of memory binding %s", m->name);
                    step *s = &r->steps[r->n_steps++];
                    memset(s, 0, sizeof *s);
                    if (part == CK_PART_LAYER)
                        snprintf(b.prefix, sizeof b.prefix, "%s.layer.%zu.%s", sec->name, l,
                                 ck_role_name(nodes[j].role));
                    else
                        snprintf(b.prefix, sizeof b.prefix, "%s.%s.%s", sec->name, ck_part_name(nodes[j].part),
                                 ck_role_name(nodes[j].role));
                    snprintf(s->pub.label, sizeof s->pub.label, "%s", b.prefix);
                    s->pub.op = nodes[j].shape.op;
                    s->pub.dtype = nodes[j].shape.dtype ? nodes[j].shape.dtype : CK_DTYPE_F32;
                    s->pub.section = (uint32_t)si;
                    s->pub.layer = (uint32_t)l;
                    s->pub.part = part;
                    bind_node(&b, s, &nodes[j], sec, &f);
                    if (b.missing)
                        return failf(err, len, "%s: internal: the plan has no buffer %s", m->name, b.missing_name);
                    if (nodes[j].role == CK_ROLE_BRIDGE) {
                        bridge_out[sec->bridge_to] = s->args.linear.y;
                        bridge_rows[sec->bridge_to] = s->args.linear.T;
                    }
                    if (nodes[j].role == CK_ROLE_TOKEN_EMBED && bridge_out[si]) {
                        s->action = POST_SPLICE;
                        s->splice_src = bridge_out[si];
                        s->splice_rows = bridge_rows[si] < nodes[j].shape.T ? bridge_rows[si] : nodes[j].shape.T;
                    }
                    if (choose_kernel(r, s, err, len))
                        return -1;
                    if (nodes[j].role == CK_ROLE_LM_HEAD || nodes[j].role == CK_ROLE_BRIDGE) {
                        r->output = s->args.linear.y;
                        r->output_count = s->args.linear.T * s->args.linear.N;
                    }
                }
        }
    }
    return 0;
}


/* ---- fusion: group bound steps into units ---------------------------------- */

static uint32_t norm_kind(uint32_t op)
{
    return op == CK_OP_LAYERNORM ? CK_NORM_LAYER : CK_NORM_RMS;
}

/* The fused args from the members' own (already bound) args. */
static void build_fused(unit *u, const step *m)
{
    switch (u->fusion) {
    case CK_FUSE_EMBED_NORM:
        u->args.embed_norm = (ck_fused_embed_norm_args){m[0].args.emb, m[1].args.norm, norm_kind(m[1].pub.op)};
        break;
    case CK_FUSE_NORM_QKV:
        u->args.norm_qkv = (ck_fused_norm_qkv_args){m[0].args.norm, m[1].args.qkv, norm_kind(m[0].pub.op)};
        break;
    case CK_FUSE_QKV_ROPE:
        u->args.qkv_rope = (ck_fused_qkv_rope_args){m[0].args.qkv, m[1].args.rope};
        break;
    case CK_FUSE_ATTN_PROJ:
        u->args.attn_proj = (ck_fused_attn_proj_args){m[0].args.attn, m[1].args.linear};
        break;
    case CK_FUSE_NORM_MLP: {
        ck_linear_args none = {0};
        u->args.norm_mlp = (ck_fused_norm_mlp_args){m[0].args.norm, u->count == 3 ? m[1].args.linear : none,
                                                    u->count == 3 ? m[2].args.linear : m[1].args.linear,
                                                    norm_kind(m[0].pub.op)};
        break;
    }
    case CK_FUSE_GATE_UP:
        u->args.gate_up = (ck_fused_gate_up_args){m[0].args.linear, m[1].args.linear, m[2].args.swiglu};
        break;
    case CK_FUSE_ACT_DOWN: {
        ck_fused_act_down_args a = {0};
        a.act_kind = m[0].pub.op == CK_OP_SWIGLU ? CK_ACTIVATION_SWIGLU : CK_ACTIVATION_GELU;
        if (m[0].pub.op == CK_OP_SWIGLU)
            a.swiglu = m[0].args.swiglu;
        else
            a.gelu = m[0].args.unary;
        a.down = m[1].args.linear;
        u->args.act_down = a;
        break;
    }
    case CK_FUSE_ADD_NORM:
        u->args.add_norm = (ck_fused_add_norm_args){m[0].args.add, m[1].args.norm, norm_kind(m[1].pub.op)};
        break;
    }
}

/* The outputs a fused group defines (the ones a fused kernel must write). */
static void fused_outputs(unit *u, const step *m)
{
    size_t keep[3] = {u->count - 1, SIZE_MAX, SIZE_MAX};
    if (u->fusion == CK_FUSE_EMBED_NORM || u->fusion == CK_FUSE_ADD_NORM)
        keep[1] = 0;
    if (u->fusion == CK_FUSE_QKV_ROPE)
        keep[0] = 0; /* q, k rotated in place, v as written */
    if (u->fusion == CK_FUSE_NORM_MLP && u->count == 3)
        keep[1] = 1;
    u->pub.n_out = 0;
    for (int k = 0; k < 3; k++)
        for (size_t o = 0; keep[k] != SIZE_MAX && o < m[keep[k]].pub.n_out && u->pub.n_out < 3; o++)
            u->pub.out[u->pub.n_out++] = m[keep[k]].pub.out[o];
}

static uint32_t weight_dtype_of(const ck_runner *r)
{
    return r->plan->opts.weight_dtype ? r->plan->opts.weight_dtype : r->model->dtype;
}

static uint32_t fusion_dtype(const ck_runner *r, unsigned f)
{
    return ck_fusion_kernel_dtype(f, weight_dtype_of(r));
}

/* What the plugin offers of the requested fusions, for section `sec`. */
static uint32_t allowed_fusions(const ck_runner *r, size_t sec)
{
    uint32_t allowed = r->opts.fuse_mask & ck_fusion_offered(r->plugin, weight_dtype_of(r));
    return ck_fusion_section_allowed(r->model, sec, allowed);
}

static int add_unit(ck_runner *r, size_t first, size_t count, int fusion)
{
    unit *nu = realloc(r->units, (r->n_units + 1) * sizeof *nu);
    if (!nu)
        return -1;
    r->units = nu;
    unit *u = &r->units[r->n_units++];
    memset(u, 0, sizeof *u);
    u->first = first, u->count = count, u->fusion = fusion;
    u->pub = r->steps[first].pub;
    u->pub.first = first;
    u->pub.count = count;
    if (fusion < 0)
        return 0;
    const step *m = &r->steps[first];
    /* labels are at most 95 characters: keep room for "+<fusion>" */
    int k = snprintf(u->pub.label, sizeof u->pub.label, "%.80s+%s", m[0].pub.label, ck_fusion_name((unsigned)fusion));
    (void)k;
    u->pub.op = ck_fusion_op((unsigned)fusion);
    u->pub.dtype = fusion_dtype(r, (unsigned)fusion);
    u->pub.fallback = 0;
    u->kernel = ck_plugin_kernel(r->plugin, u->pub.op, u->pub.dtype, CK_KF_FUSED);
    build_fused(u, m);
    fused_outputs(u, m);
    return 0;
}

/* Run the fusion pass per section and lay out the units. */
static int group_units(ck_runner *r, char *err, size_t len)
{
    size_t at = 0;
    for (size_t si = 0; si < r->model->n_sections; si++) {
        ck_graph_opts g = {r->plan->opts.decode, r->plan->opts.decode_pos, r->plan->opts.weight_dtype};
        if (skipped_section(r, si))
            continue;
        ck_fnode *v = NULL;
        size_t n = ck_section_fnodes(r->model, si, &g, &v);
        ck_fusion_result res;
        if (!n || ck_fuse(v, n, allowed_fusions(r, si), &res)) {
            free(v);
            return failf(err, len, "%s: the fusion pass failed on section %zu", r->model->name, si);
        }
        for (size_t i = 0; i < res.n_steps; i++)
            if (add_unit(r, at + res.steps[i].first, res.steps[i].count, res.steps[i].fusion)) {
                ck_fusion_result_free(&res);
                free(v);
                return failf(err, len, "out of memory");
            }
        for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
            r->fused_applied[f] += (uint32_t)res.applied[f];
        r->bytes_saved += res.bytes_saved;
        at += n;
        ck_fusion_result_free(&res);
        free(v);
    }
    if (at != r->n_steps)
        return failf(err, len, "internal: the fusion graph has %zu nodes, the runner %zu steps", at, r->n_steps);
    return 0;
}

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
        {"attn_norm.gamma", "attn_norm.weight"}, {"qkv.wq", "attn_q.weight"},   {"qkv.wk", "attn_k.weight"},
        {"qkv.wv", "attn_v.weight"},             {"qkv.bq", "attn_q.bias"},     {"qkv.bk", "attn_k.bias"},
        {"qkv.bv", "attn_v.bias"},               {"out_proj.w", "attn_output.weight"},
        {"mlp_norm.gamma", "ffn_norm.weight"},   {"mlp_gate.w", "ffn_gate.weight"},
        {"mlp_up.w", "ffn_up.weight"},           {"mlp_down.w", "ffn_down.weight"},
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

static int copy_from_gguf(ck_runner *r, const ck_buffer *b, void *dst, char *err, size_t len)
{
    char alias[128];
    const ck_gguf_tensor *t = ck_gguf_find(&r->gguf, b->name);
    llama_cpp_name(r, b, alias, sizeof alias);
    if (!t && alias[0])
        t = ck_gguf_find(&r->gguf, alias);
    if (!t)
        return failf(err, len, "%s: no tensor \"%s\"%s%s%s", r->opts.gguf_path, b->name, alias[0] ? " (nor \"" : "",
                     alias, alias[0] ? "\")" : "");
    int shape_ok = t->n_dims == b->ndim;
    for (unsigned d = 0; shape_ok && d < b->ndim; d++)
        shape_ok = t->dims[d] == b->shape[b->ndim - 1 - d]; /* GGUF lists the contiguous dim first */
    if (t->dtype != b->dtype || !shape_ok || t->bytes != b->size)
        return failf(err, len, "%s: tensor \"%s\": expected %s with %u dims [%zu, %zu] (%zu bytes), found %s with %u dims "
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
        if (!ends_with(b->name, ".cos"))
            return 0; /* the sin table is written together with cos */
        const ck_section *s = section_of(r, b);
        float *sin_tab = (float *)((char *)dst + b->size);
        const ck_buffer *sb = b + 1;
        if (sb < r->plan->buffers + r->plan->n_buffers && ends_with(sb->name, ".sin"))
            sin_tab = (float *)((char *)r->arena.base + sb->offset);
        ck_rope_tables(s->rope_theta, s->head_dim, b->shape[0], dst, sin_tab);
        return 0;
    }
    if (b->kind == CK_BUF_ACTIVATION) {
        if (ends_with(b->name, ".pixels")) {
            for (size_t i = 0; i < n; i++)
                ((float *)dst)[i] = (float)ck_rng_normal(&rng);
        } else if (ends_with(b->name, ".ids")) {
            size_t vocab = section_of(r, b)->vocab;
            for (size_t i = 0; i < n; i++)
                ((int32_t *)dst)[i] = r->opts.tokens && i < r->opts.n_tokens
                                          ? r->opts.tokens[i]
                                          : (int32_t)ck_rng_below(&rng, vocab);
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
        return failf(err, len, "out of memory seeding %s", b->name);
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
        if (!q || q->fn(r->seed_ctx, &qa) != CK_OK)
            rc = failf(err, len, "%s: cannot quantise seeded weights to %s (no scalar quantize kernel)", b->name,
                       ck_dtype_name(b->dtype));
    } else if (b->dtype != CK_DTYPE_F32) {
        rc = failf(err, len, "%s: cannot seed weights of dtype %s", b->name, ck_dtype_name(b->dtype));
    }
    if (tmp != dst)
        free(tmp);
    return rc;
}

static int seed_span(ck_runner *r, size_t start, size_t end, char *err, size_t len)
{
    for (size_t i = 0; i < r->plan->n_buffers; i++) {
        const ck_buffer *b = &r->plan->buffers[i];
        if (b->offset >= start && b->offset < end && seed_buffer(r, b, err, len))
            return -1;
    }
    return 0;
}

/* ---- windows of layers --------------------------------------------------------- */

static int make_resident(ck_runner *r, uint32_t sec, uint32_t layer, char *err, size_t len)
{
    unsigned char *flag = &r->resident[r->layer_index[sec] + layer];
    if (*flag)
        return 0;
    const ck_span *sp = &r->plan->sections[sec].layers[layer];
    if (ck_arena_touch(&r->arena, sp->start, sp->end - sp->start))
        return failf(err, len, "%s: cannot fault in layer %u of section %u", r->model->name, layer, sec);
    *flag = 1;
    return seed_span(r, sp->start, sp->end, err, len);
}

static void evict(ck_runner *r, uint32_t sec, uint32_t layer)
{
    unsigned char *flag = &r->resident[r->layer_index[sec] + layer];
    if (!*flag)
        return;
    const ck_span *sp = &r->plan->sections[sec].layers[layer];
    ck_arena_release(&r->arena, sp->start, sp->end - sp->start);
    *flag = 0;
}

/* ---- public API ------------------------------------------------------------------ */

/* The dtype of the GGUF's matrices: that of the first 2-D tensor it holds
 * for this model, so a q8_0 file plans q8_0 weights without being told. */
static uint32_t gguf_matrix_dtype(ck_runner *r, const ck_model *m)
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

ck_runner *ck_runner_create(const ck_model *m, const ck_plugin *plugin, const ck_plugin *scalar,
                            const ck_run_opts *opts, char *err, size_t err_len)
{
    ck_runner *r = calloc(1, sizeof *r);
    if (!r) {
        failf(err, err_len, "out of memory");
        return NULL;
    }
    r->own_model = *m;
    r->model = &r->own_model;
    r->plugin = plugin;
    r->scalar = scalar;
    if (opts)
        r->opts = *opts;
    for (size_t i = 0; r->opts.max_layers && i < r->own_model.n_sections; i++)
        if (r->own_model.sections[i].n_layers > r->opts.max_layers)
            r->own_model.sections[i].n_layers = r->opts.max_layers;
    m = r->model;
    for (size_t i = 0; i < m->n_sections; i++)
        for (size_t t = 0; m->sections[i].kind == CK_SECTION_DECODER && t < r->opts.n_tokens; t++)
            if (r->opts.tokens[t] < 0 || (size_t)r->opts.tokens[t] >= m->sections[i].vocab) {
                failf(err, err_len, "--tokens: token %zu is %d, outside the vocabulary [0, %zu) of section \"%s\"",
                      t, r->opts.tokens[t], m->sections[i].vocab, m->sections[i].name);
                free(r);
                return NULL;
            }
    ck_plan_opts po = {0};
    po.weight_dtype = r->opts.weight_dtype;
    po.decode = r->opts.decode;
    po.decode_pos = r->opts.decode_pos;
    if (r->opts.decode && (r->opts.fuse_mask || r->opts.training || r->opts.window_layers)) {
        failf(err, err_len, "--decode runs one token through every layer: it does not combine with --fuse, "
                            "--window or training yet");
        free(r);
        return NULL;
    }
    po.training = r->opts.training; /* gradients, Adam moments, activation gradients: harness/train.c */
    size_t total_layers = 0;
    for (size_t i = 0; i < m->n_sections; i++)
        total_layers += m->sections[i].n_layers;
    if (r->opts.gguf_path) {
        if (ck_gguf_open(&r->gguf, r->opts.gguf_path, err, err_len)) {
            free(r);
            return NULL;
        }
        r->have_gguf = 1;
        if (!po.weight_dtype)
            po.weight_dtype = gguf_matrix_dtype(r, m);
    }
    if (ck_plan_build(m, &po, &r->plan, err, err_len) ||
        ck_arena_map(&r->arena, r->plan->total, NULL, err, err_len) ||
        !(r->resident = calloc(total_layers + 1, 1)) || !(r->seed_ctx = ck_exec_create(1)) ||
        bind_all(r, err, err_len) || group_units(r, err, err_len)) {
        ck_runner_free(r);
        return NULL;
    }
    return r;
}

void ck_runner_free(ck_runner *r)
{
    if (!r)
        return;
    if (r->arena.base)
        ck_arena_unmap(&r->arena);
    ck_plan_free(r->plan);
    if (r->have_gguf)
        ck_gguf_close(&r->gguf);
    free(r->steps);
    free(r->units);
    free(r->resident);
    ck_exec_destroy(r->seed_ctx);
    free(r);
}

size_t ck_runner_n_steps(const ck_runner *r) { return r->n_units; }
const ck_run_step *ck_runner_step(const ck_runner *r, size_t i) { return i < r->n_units ? &r->units[i].pub : NULL; }

size_t ck_runner_fusion(const ck_runner *r, unsigned f)
{
    return f < CK_FUSE_COUNT ? r->fused_applied[f] : 0;
}

size_t ck_runner_bytes_saved(const ck_runner *r) { return r->bytes_saved; }
const ck_plan *ck_runner_plan(const ck_runner *r) { return r->plan; }
void *ck_runner_base(const ck_runner *r) { return r->arena.base; }
const char *ck_runner_arena_note(const ck_runner *r) { return r->arena.note; }

const float *ck_runner_output(const ck_runner *r, size_t *count)
{
    if (count)
        *count = r->output_count;
    return r->output;
}

size_t ck_runner_resident_layers(const ck_runner *r, uint32_t sec)
{
    size_t n = 0;
    for (size_t l = 0; sec < r->model->n_sections && l < r->model->sections[sec].n_layers; l++)
        n += r->resident[r->layer_index[sec] + l];
    return n;
}

int ck_runner_prepare(ck_runner *r, char *err, size_t len)
{
    /* headers and footers always; layers now, or window by window in forward */
    for (uint32_t s = 0; s < r->model->n_sections; s++) {
        const ck_section_plan *sp = &r->plan->sections[s];
        if (seed_span(r, sp->header.start, sp->header.end, err, len) ||
            seed_span(r, sp->footer.start, sp->footer.end, err, len))
            return -1;
        if (r->opts.window_layers == 0)
            for (uint32_t l = 0; l < sp->n_layers; l++)
                if (make_resident(r, s, l, err, len))
                    return -1;
    }
    return 0;
}

/* pos_add's input: the class token row, then the patch rows. */
static void assemble_class_rows(const step *s)
{
    float *out = s->args.add.y;
    size_t off = 0;
    if (s->class_token) {
        memcpy(out, s->class_token, s->width * sizeof *out);
        off = s->width;
    }
    memmove(out + off, s->patches, s->rows * s->width * sizeof *out);
}

/* One bound step with its host-side actions around the kernel. */
static int run_bound(step *s, const ck_exec_ctx *ctx, char *err, size_t len)
{
    if (s->action == PRE_CLASS_ROWS)
        assemble_class_rows(s);
    if (s->action == PRE_APPEND_KV) {
        memcpy(s->cache_k + s->args.attn.q_pos * s->kv_row, s->new_k, s->kv_row * sizeof(float));
        memcpy(s->cache_v + s->args.attn.q_pos * s->kv_row, s->new_v, s->kv_row * sizeof(float));
    }
    int rc = s->kernel->fn(ctx, &s->args);
    if (rc != CK_OK)
        return failf(err, len, "%s: kernel %s returned %s", s->pub.label, s->kernel->name,
                     rc == CK_E_UNSUPPORTED ? "unsupported arguments" : "an error");
    if (s->action == POST_SPLICE)
        memcpy(s->args.emb.y, s->splice_src, s->splice_rows * s->args.emb.D * sizeof(float));
    return 0;
}

int ck_runner_run_step(ck_runner *r, size_t i, const ck_exec_ctx *ctx, char *err, size_t len)
{
    unit *u = &r->units[i];
    if (u->fusion < 0)
        return run_bound(&r->steps[u->first], ctx, err, len);
    if (r->steps[u->first].action == PRE_CLASS_ROWS) /* pos_add + pre_norm */
        assemble_class_rows(&r->steps[u->first]);
    int rc = u->kernel->fn(ctx, &u->args);
    if (rc != CK_OK)
        return failf(err, len, "%s: fused kernel %s returned %s", u->pub.label, u->kernel->name,
                     rc == CK_E_UNSUPPORTED ? "unsupported arguments" : "an error");
    return 0;
}

int ck_runner_forward(ck_runner *r, const ck_exec_ctx *ctx, ck_step_hook hook, void *user, char *err, size_t len)
{
    if (ck_runner_prepare(r, err, len))
        return -1;
    size_t w = r->opts.window_layers;
    for (size_t i = 0; i < r->n_units; i++) {
        const ck_run_step *p = &r->units[i].pub;
        if (w && p->part == CK_PART_LAYER) {
            if (make_resident(r, p->section, p->layer, err, len))
                return -1;
            /* the previous layer's output feeds this one: evict behind the window */
            if (p->layer >= w + 1)
                evict(r, p->section, p->layer - (uint32_t)w - 1);
            /* prefetch: the next layer's weights are faulted in and seeded now */
            if (p->layer + 1 < r->plan->sections[p->section].n_layers && w > 1 &&
                make_resident(r, p->section, p->layer + 1, err, len))
                return -1;
        }
        if (ck_runner_run_step(r, i, ctx, err, len))
            return -1;
        if (hook && hook(user, r, i))
            break;
    }
    return 0;
}
