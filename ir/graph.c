/* graph.c — the op sequence of each section (header, one layer, footer) at
 * the model's real shapes, and the distinct op instances that parity and
 * bench run. The planner walks the same nodes, so the buffers it lays out
 * and the ops the harness measures cannot drift apart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_ir.h"

static const char *const role_names[CK_ROLE_COUNT] = {
    [CK_ROLE_PATCH_EMBED] = "patch_embed",
    [CK_ROLE_TOKEN_EMBED] = "embedding",
    [CK_ROLE_POS_ADD] = "pos_add",
    [CK_ROLE_PRE_NORM] = "pre_norm",
    [CK_ROLE_ATTN_NORM] = "attn_norm",
    [CK_ROLE_QKV] = "qkv",
    [CK_ROLE_ROPE] = "rope",
    [CK_ROLE_ATTENTION] = "attention",
    [CK_ROLE_OUT_PROJ] = "out_proj",
    [CK_ROLE_ATTN_RESIDUAL] = "attn_residual",
    [CK_ROLE_MLP_NORM] = "mlp_norm",
    [CK_ROLE_MLP_GATE] = "mlp_gate",
    [CK_ROLE_MLP_UP] = "mlp_up",
    [CK_ROLE_MLP_ACT] = "mlp_act",
    [CK_ROLE_MLP_DOWN] = "mlp_down",
    [CK_ROLE_MLP_RESIDUAL] = "mlp_residual",
    [CK_ROLE_FINAL_NORM] = "final_norm",
    [CK_ROLE_BRIDGE] = "bridge",
    [CK_ROLE_LM_HEAD] = "lm_head",
    [CK_ROLE_Q_NORM] = "q_norm",
    [CK_ROLE_K_NORM] = "k_norm",
    [CK_ROLE_POST_ATTN_NORM] = "post_attn_norm",
    [CK_ROLE_POST_MLP_NORM] = "post_mlp_norm",
    [CK_ROLE_BRIDGE_ACT] = "bridge_act",
    [CK_ROLE_BRIDGE_OUT] = "bridge_out",
};

const char *ck_role_name(ck_role r)
{
    return (unsigned)r < CK_ROLE_COUNT ? role_names[r] : "?";
}

const char *ck_part_name(ck_part p)
{
    switch (p) {
    case CK_PART_HEADER: return "header";
    case CK_PART_LAYER: return "layer";
    case CK_PART_FOOTER: return "footer";
    case CK_PART_KV_CACHE: return "kv_cache";
    }
    return "?";
}

const char *ck_section_kind_name(ck_section_kind k)
{
    return k == CK_SECTION_DECODER ? "decoder" : "vision_encoder";
}

uint32_t ck_graph_weight_dtype(const ck_model *m, const ck_graph_opts *opts)
{
    return opts && opts->weight_dtype ? opts->weight_dtype : m->dtype;
}

_Static_assert(CK_ROLE_DTYPE_SLOTS >= CK_ROLE_COUNT, "a dtype slot per role");

/* A role's matrix dtype: an override of the options wins, then the role's
 * own (a GGUF file's mixed dtypes), then the model's. Plans record the
 * resolved dtype as their option, so an "override" equal to the model's
 * own dtype is none. */
static uint32_t role_dtype(const ck_section *s, ck_role role, uint32_t model_dtype, const ck_graph_opts *opts)
{
    if (opts && opts->weight_dtype && opts->weight_dtype != model_dtype)
        return opts->weight_dtype;
    return s->role_dtype[role] ? s->role_dtype[role] : model_dtype;
}

size_t ck_section_rows(const ck_section *s, const ck_graph_opts *opts)
{
    return opts && opts->decode && s->kind == CK_SECTION_DECODER ? 1 : s->seq_len;
}

static int is_quantised(uint32_t dt)
{
    return dt == CK_DTYPE_Q8_0 || dt == CK_DTYPE_Q4_0;
}

static size_t patch_k(const ck_section *s)
{
    return s->channels * s->patch_size * s->patch_size;
}

/* Quantised rows hold whole blocks: every matrix's reduction length (and an
 * embedding table's row) must be a multiple of CK_QBLOCK. */
static int check_block_rows(const ck_model *m, uint32_t dt, char *err, size_t err_len)
{
    for (size_t i = 0; i < m->n_sections; i++) {
        const ck_section *s = &m->sections[i];
        const char *what = NULL;
        size_t k = 0;
        if (s->kind == CK_SECTION_VISION_ENCODER && patch_k(s) % CK_QBLOCK) {
            what = "patch_embed (channels x patch_size^2)";
            k = patch_k(s);
        } else if (s->d_model % CK_QBLOCK) {
            what = "d_model";
            k = s->d_model;
        } else if (s->d_ff % CK_QBLOCK) {
            what = "d_ff (mlp_down)";
            k = s->d_ff;
        }
        if (what) {
            snprintf(err, err_len,
                     "model \"%s\": section %zu \"%s\": weight dtype %s needs every row a multiple of %d values, "
                     "found %s K=%zu",
                     m->name, i, s->name, ck_dtype_name(dt), CK_QBLOCK, what, k);
            return -1;
        }
    }
    return 0;
}

int ck_graph_opts_check(const ck_model *m, const ck_graph_opts *opts, char *err, size_t err_len)
{
    char dummy[8];
    if (!err || !err_len) {
        err = dummy;
        err_len = sizeof dummy;
    }
    err[0] = '\0';
    if (!m) {
        snprintf(err, err_len, "no model");
        return -1;
    }
    if (!opts)
        return 0;
    uint32_t dt = ck_graph_weight_dtype(m, opts);
    if (dt != CK_DTYPE_F32 && dt != CK_DTYPE_BF16 && dt != CK_DTYPE_F16 && !is_quantised(dt)) {
        snprintf(err, err_len, "model \"%s\": weight dtype: expected f32, bf16, f16, q8_0 or q4_0, found %s (%u)",
                 m->name, ck_dtype_name(dt), dt);
        return -1;
    }
    if (is_quantised(dt) && check_block_rows(m, dt, err, err_len))
        return -1;
    if (opts->decode)
        for (size_t i = 0; i < m->n_sections; i++) {
            const ck_section *s = &m->sections[i];
            if (s->kind == CK_SECTION_DECODER && opts->decode_pos >= s->seq_len) {
                snprintf(err, err_len,
                         "model \"%s\": section %zu \"%s\": decode position: expected less than seq_len (%zu), "
                         "found %zu",
                         m->name, i, s->name, s->seq_len, opts->decode_pos);
                return -1;
            }
        }
    return 0;
}

/* Appends nodes of one section; keeps the label and the part together. */
typedef struct builder {
    const ck_section *s;
    ck_node *out;
    size_t n;
    ck_part part;
    const ck_graph_opts *opts;
    uint32_t model_dtype;
} builder;

static ck_shape *add(builder *b, ck_role role, uint32_t op, uint32_t dtype)
{
    ck_node *nd = &b->out[b->n++];
    memset(nd, 0, sizeof *nd);
    nd->part = b->part;
    nd->role = role;
    nd->shape.op = op;
    /* activation-only ops stay f32; matrix ops take their role's dtype */
    nd->shape.dtype = op == CK_OP_LINEAR || op == CK_OP_QKV || op == CK_OP_EMBEDDING
                          ? role_dtype(b->s, role, b->model_dtype, b->opts)
                          : dtype;
    snprintf(nd->shape.label, sizeof nd->shape.label, "%s.%s.%s", b->s->name, ck_part_name(b->part),
             ck_role_name(role));
    return &nd->shape;
}

static void add_norm(builder *b, ck_role role, size_t T)
{
    const ck_section *s = b->s;
    ck_shape *sh = add(b, role, s->norm == CK_NORM_LAYERNORM ? CK_OP_LAYERNORM : CK_OP_RMSNORM, CK_DTYPE_F32);
    sh->T = T;
    sh->D = s->d_model;
    sh->eps = s->norm_eps;
    sh->has_bias = s->norm == CK_NORM_LAYERNORM && s->norm_bias;
}

static void add_linear(builder *b, ck_role role, size_t T, size_t K, size_t N, int bias, uint32_t wdt)
{
    ck_shape *sh = add(b, role, CK_OP_LINEAR, wdt);
    sh->T = T;
    sh->K = K;
    sh->N = N;
    sh->has_bias = bias;
}

static void add_elementwise(builder *b, ck_role role, uint32_t op, size_t n)
{
    add(b, role, op, CK_DTYPE_F32)->n = n;
}

static void build_header(builder *b, size_t T, uint32_t wdt)
{
    const ck_section *s = b->s;
    b->part = CK_PART_HEADER;
    if (s->kind == CK_SECTION_VISION_ENCODER) {
        add_linear(b, CK_ROLE_PATCH_EMBED, s->seq_len - (size_t)s->class_token, patch_k(s), s->d_model, s->patch_bias,
                   wdt);
        add_elementwise(b, CK_ROLE_POS_ADD, CK_OP_ADD, T * s->d_model);
    } else {
        ck_shape *sh = add(b, CK_ROLE_TOKEN_EMBED, CK_OP_EMBEDDING, wdt);
        sh->T = T;
        sh->vocab = s->vocab;
        sh->D = s->d_model;
        if (s->position == CK_POS_LEARNED)
            add_elementwise(b, CK_ROLE_POS_ADD, CK_OP_ADD, T * s->d_model);
    }
    if (s->pre_norm)
        add_norm(b, CK_ROLE_PRE_NORM, T);
}

static void build_attention(builder *b, size_t T, size_t pos, uint32_t wdt)
{
    const ck_section *s = b->s;
    ck_shape *sh = add(b, CK_ROLE_QKV, CK_OP_QKV, wdt);
    sh->T = T;
    sh->D = s->d_model;
    sh->n_heads = s->n_heads;
    sh->n_kv_heads = s->n_kv_heads;
    sh->head_dim = s->head_dim;
    sh->has_bias = s->qkv_bias;
    if (s->qk_norm) { /* the rmsnorm op on [T*H, hd] rows: one gamma [hd] shared by the heads */
        sh = add(b, CK_ROLE_Q_NORM, CK_OP_RMSNORM, CK_DTYPE_F32);
        sh->T = T * s->n_heads, sh->D = s->head_dim, sh->eps = s->norm_eps;
        sh = add(b, CK_ROLE_K_NORM, CK_OP_RMSNORM, CK_DTYPE_F32);
        sh->T = T * s->n_kv_heads, sh->D = s->head_dim, sh->eps = s->norm_eps;
    }
    if (s->position == CK_POS_ROPE) {
        sh = add(b, CK_ROLE_ROPE, CK_OP_ROPE, CK_DTYPE_F32);
        sh->T = T;
        sh->n_heads = s->n_heads;
        sh->n_kv_heads = s->n_kv_heads;
        sh->head_dim = s->head_dim;
        sh->pos = pos;
        sh->max_pos = s->seq_len;
        sh->pairing = s->rope_pairing;
        sh->rotary_dim = s->rotary_dim == s->head_dim ? 0 : s->rotary_dim; /* 0: the whole head */
    }
    sh = add(b, CK_ROLE_ATTENTION, CK_OP_ATTENTION, CK_DTYPE_F32);
    sh->T = T;
    sh->S = pos + T;
    sh->n_heads = s->n_heads;
    sh->n_kv_heads = s->n_kv_heads;
    sh->head_dim = s->head_dim;
    sh->pos = pos;
    sh->causal = s->causal;
    sh->materialize = 0;
    /* layer 0's window (local in every pattern); the runtime binds each
     * layer's own, and op instances add the global layers' variant */
    sh->window = ck_section_layer_window(s, 0);
    sh->softcap = (float)s->attn_softcap;
    /* the runtime binds 1 / sqrt(attn_scalar); a case says so where it is
     * not the default (ck_shape.scale 0) */
    if (s->attn_scalar != (double)s->head_dim)
        sh->scale = 1.0f / sqrtf((float)s->attn_scalar);
    add_linear(b, CK_ROLE_OUT_PROJ, T, s->n_heads * s->head_dim, s->d_model, s->out_bias, wdt);
    if (s->post_norms)
        add_norm(b, CK_ROLE_POST_ATTN_NORM, T);
    add_elementwise(b, CK_ROLE_ATTN_RESIDUAL, CK_OP_ADD, T * s->d_model);
}

static void build_layer(builder *b, size_t T, size_t pos, uint32_t wdt)
{
    const ck_section *s = b->s;
    b->part = CK_PART_LAYER;
    add_norm(b, CK_ROLE_ATTN_NORM, T);
    build_attention(b, T, pos, wdt);
    add_norm(b, CK_ROLE_MLP_NORM, T);
    if (s->activation == CK_ACT_SWIGLU || s->activation == CK_ACT_GEGLU) {
        add_linear(b, CK_ROLE_MLP_GATE, T, s->d_model, s->d_ff, s->mlp_bias, wdt);
        add_linear(b, CK_ROLE_MLP_UP, T, s->d_model, s->d_ff, s->mlp_bias, wdt);
        add_elementwise(b, CK_ROLE_MLP_ACT, s->activation == CK_ACT_GEGLU ? CK_OP_GEGLU : CK_OP_SWIGLU, T * s->d_ff);
    } else {
        add_linear(b, CK_ROLE_MLP_UP, T, s->d_model, s->d_ff, s->mlp_bias, wdt);
        add_elementwise(b, CK_ROLE_MLP_ACT, ck_unary_act_op(s->activation, 0), T * s->d_ff);
    }
    add_linear(b, CK_ROLE_MLP_DOWN, T, s->d_ff, s->d_model, s->mlp_bias, wdt);
    if (s->post_norms)
        add_norm(b, CK_ROLE_POST_MLP_NORM, T);
    add_elementwise(b, CK_ROLE_MLP_RESIDUAL, CK_OP_ADD, T * s->d_model);
}

static void build_footer(const ck_model *m, builder *b, size_t T, uint32_t wdt)
{
    const ck_section *s = b->s;
    b->part = CK_PART_FOOTER;
    if (s->final_norm)
        add_norm(b, CK_ROLE_FINAL_NORM, T);
    if (s->has_bridge) {
        size_t to = m->sections[s->bridge_to].d_model;
        add_linear(b, CK_ROLE_BRIDGE, T, s->d_model, to, s->bridge_bias, wdt);
        if (s->bridge_type == CK_BRIDGE_MLP2X_GELU) {
            add_elementwise(b, CK_ROLE_BRIDGE_ACT, CK_OP_GELU_ERF, T * to);
            add_linear(b, CK_ROLE_BRIDGE_OUT, T, to, to, s->bridge_bias, wdt);
        }
    }
    if (s->kind == CK_SECTION_DECODER)
        add_linear(b, CK_ROLE_LM_HEAD, T, s->d_model, s->vocab, 0, wdt);
}

size_t ck_section_nodes(const ck_model *m, size_t sec, const ck_graph_opts *opts, ck_node *out)
{
    const ck_section *s = &m->sections[sec];
    builder b = {s, out, 0, CK_PART_HEADER, opts, m->dtype};
    uint32_t wdt = ck_graph_weight_dtype(m, opts);
    size_t T = ck_section_rows(s, opts);
    size_t pos = opts && opts->decode && s->kind == CK_SECTION_DECODER ? opts->decode_pos : 0;
    build_header(&b, T, wdt);
    build_layer(&b, T, pos, wdt);
    build_footer(m, &b, opts && opts->last_logits && s->kind == CK_SECTION_DECODER ? 1 : T, wdt);
    return b.n;
}

uint32_t ck_unary_act_op(ck_act_kind act, int backward)
{
    switch (act) {
    case CK_ACT_GELU_ERF: return backward ? CK_OP_GELU_ERF_BWD : CK_OP_GELU_ERF;
    case CK_ACT_QUICK_GELU: return backward ? CK_OP_QUICK_GELU_BWD : CK_OP_QUICK_GELU;
    default: return backward ? CK_OP_GELU_BWD : CK_OP_GELU;
    }
}

int ck_section_layer_local(const ck_section *s, size_t layer)
{
    return s->global_every == 0 || (layer + 1) % s->global_every != 0;
}

size_t ck_section_layer_window(const ck_section *s, size_t layer)
{
    if (!s->sliding_window || s->sliding_window >= s->seq_len || !ck_section_layer_local(s, layer))
        return 0;
    return s->sliding_window;
}

/* Same instance: every field but the label equal. */
static int same_instance(const ck_shape *a, const ck_shape *b)
{
    return a->op == b->op && a->dtype == b->dtype && a->T == b->T && a->D == b->D && a->K == b->K && a->N == b->N &&
           a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads && a->head_dim == b->head_dim && a->S == b->S &&
           a->pos == b->pos && a->max_pos == b->max_pos && a->vocab == b->vocab && a->n == b->n && a->eps == b->eps &&
           a->causal == b->causal && a->materialize == b->materialize && a->pairing == b->pairing &&
           a->has_bias == b->has_bias && a->window == b->window && a->softcap == b->softcap &&
           a->rotary_dim == b->rotary_dim;
}

size_t ck_model_op_instances(const ck_model *m, const ck_graph_opts *opts, ck_shape **out)
{
    if (!out)
        return 0;
    *out = NULL;
    if (!m || ck_graph_opts_check(m, opts, NULL, 0))
        return 0;
    ck_shape *list = malloc(m->n_sections * CK_MAX_SECTION_NODES * sizeof *list);
    size_t n = 0;
    if (!list)
        return 0;
    for (size_t i = 0; i < m->n_sections; i++) {
        ck_node nodes[CK_MAX_SECTION_NODES];
        /* decode is the decoder's token loop: encoders ran once at prefill */
        if (opts && opts->decode && m->sections[i].kind != CK_SECTION_DECODER)
            continue;
        size_t k = ck_section_nodes(m, i, opts, nodes);
        for (size_t j = 0; j < k && k < CK_MAX_SECTION_NODES; j++)
            if (nodes[j].role == CK_ROLE_ATTENTION && nodes[j].shape.window && m->sections[i].global_every &&
                m->sections[i].global_every <= m->sections[i].n_layers) { /* the global layers' attention */
                nodes[k] = nodes[j];
                nodes[k++].shape.window = 0;
                break;
            }
        for (size_t j = 0; j < k; j++) {
            size_t q = 0;
            while (q < n && !same_instance(&list[q], &nodes[j].shape))
                q++;
            if (q == n)
                list[n++] = nodes[j].shape;
        }
    }
    if (n == 0) {
        free(list);
        return 0;
    }
    *out = list;
    return n;
}
