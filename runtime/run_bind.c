/* run_bind.c — binding: each planned node to its buffers (by the names the
 * planner gave them) and to a kernel: the first plugin of the chain that
 * has one, or scalar (run_pick_kernel, the only place a kernel is chosen;
 * a training step's loss, backward and Adam ops are chosen by it too). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

/* ---- buffers by name ---------------------------------------------------- */

const ck_buffer *run_find_buffer(const ck_runner *r, const char *name)
{
    for (size_t i = 0; i < r->plan->n_buffers; i++)
        if (strcmp(r->plan->buffers[i].name, name) == 0)
            return &r->plan->buffers[i];
    return NULL;
}

typedef struct binder {
    ck_runner *r;
    size_t layer; /* of a layer node */
    char prefix[96];
    int missing;
    char missing_name[128];
} binder;

/* The buffer "<prefix>.<tensor>", or NULL; `required` records a miss. */
static void *tensor(binder *b, const char *tensor_name, int required)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", b->prefix, tensor_name);
    const ck_buffer *buf = run_find_buffer(b->r, name);
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
    const ck_buffer *buf = run_find_buffer(b->r, name);
    if (!buf || s->pub.n_out >= 3)
        return;
    s->pub.out[s->pub.n_out].name = buf->name;
    s->pub.out[s->pub.n_out].offset = buf->offset;
    s->pub.out[s->pub.n_out].bytes = buf->size;
    s->pub.n_out++;
}

/* ---- binding one node ------------------------------------------------------ */

typedef struct flow {
    float *res; /* residual stream */
    float *h;   /* the last norm's output */
    float *q, *k, *v, *attn, *proj, *gate, *up, *act, *down;
    float *k_cache, *v_cache; /* decode */
    int after_final_norm;
    size_t rows; /* of the residual stream */
} flow;

static void bind_norm(binder *b, step *s, const ck_shape *sh, flow *f)
{
    s->args.norm =
        (ck_norm_args){f->res, tensor(b, "out", 1), tensor(b, "gamma", 1), tensor(b, "beta", 0), sh->T, sh->D, sh->eps};
    add_out(b, s, "out");
}

static void bind_linear(binder *b, step *s, const ck_shape *sh, const float *x, const char *out)
{
    s->args.linear =
        (ck_linear_args){x, tensor(b, "w", 1), tensor(b, "b", 0), tensor(b, out, 1), sh->T, sh->K, sh->N, sh->dtype};
    add_out(b, s, out);
}

/* A tied head's weight: the section's embedding table (also a weight read by
 * the embedding). Records a miss like tensor(). */
static void *tied_table(binder *b, const ck_section *sec)
{
    char saved[96];
    snprintf(saved, sizeof saved, "%s", b->prefix);
    snprintf(b->prefix, sizeof b->prefix, "%s.header.embedding", sec->name);
    void *w = tensor(b, "table", 1);
    snprintf(b->prefix, sizeof b->prefix, "%s", saved);
    return w;
}

static float *layer_out(step *s)
{
    return (float *)s->args.linear.y;
}

static void bind_node(binder *b, step *s, const ck_node *nd, const ck_section *sec, flow *f)
{
    const ck_shape *sh = &nd->shape;
    if (nd->part == CK_PART_FOOTER && f->rows > sh->T) { /* last_logits: the footer reads the last row */
        f->res += (f->rows - sh->T) * sec->d_model;
        f->rows = sh->T;
    }
    switch (nd->role) {
    case CK_ROLE_PATCH_EMBED:
        bind_linear(b, s, sh, tensor(b, "pixels", 1), "out");
        f->res = layer_out(s);
        f->rows = sh->T;
        break;
    case CK_ROLE_TOKEN_EMBED:
        s->args.emb = (ck_embedding_args){
            tensor(b, "ids", 1), tensor(b, "table", 1), tensor(b, "out", 1), sh->T, sh->vocab, sh->D, sh->dtype};
        add_out(b, s, "out");
        f->rows = sh->T;
        s->emb_scale = (float)sec->embedding_scale;
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
    case CK_ROLE_POST_ATTN_NORM:
    case CK_ROLE_POST_MLP_NORM: { /* the branch's output, normalised before its residual add */
        float **x = nd->role == CK_ROLE_POST_ATTN_NORM ? &f->proj : &f->down;
        s->args.norm =
            (ck_norm_args){*x, tensor(b, "out", 1), tensor(b, "gamma", 1), tensor(b, "beta", 0), sh->T, sh->D, sh->eps};
        add_out(b, s, "out");
        *x = s->args.norm.y;
        break;
    }
    case CK_ROLE_ATTN_NORM:
    case CK_ROLE_MLP_NORM:
    case CK_ROLE_FINAL_NORM:
        bind_norm(b, s, sh, f);
        f->h = s->args.norm.y;
        break;
    case CK_ROLE_QKV:
        f->q = tensor(b, "q", 1), f->k = tensor(b, "k", 1), f->v = tensor(b, "v", 1);
        f->k_cache = tensor(b, "k_cache", 0), f->v_cache = tensor(b, "v_cache", 0);
        s->args.qkv = (ck_qkv_args){f->h,
                                    tensor(b, "wq", 1),
                                    tensor(b, "wk", 1),
                                    tensor(b, "wv", 1),
                                    tensor(b, "bq", 0),
                                    tensor(b, "bk", 0),
                                    tensor(b, "bv", 0),
                                    f->q,
                                    f->k,
                                    f->v,
                                    sh->T,
                                    sh->D,
                                    sh->n_heads,
                                    sh->n_kv_heads,
                                    sh->head_dim,
                                    sh->dtype};
        add_out(b, s, "q"), add_out(b, s, "k"), add_out(b, s, "v");
        break;
    case CK_ROLE_Q_NORM:
    case CK_ROLE_K_NORM: { /* each head's hd normalised: rows of [T*H, hd] */
        float **x = nd->role == CK_ROLE_Q_NORM ? &f->q : &f->k;
        s->args.norm = (ck_norm_args){*x, tensor(b, "out", 1), tensor(b, "gamma", 1), NULL, sh->T, sh->D, sh->eps};
        add_out(b, s, "out");
        *x = s->args.norm.y;
        break;
    }
    case CK_ROLE_ROPE: {
        char tabs[96];
        snprintf(tabs, sizeof tabs, "%s", b->prefix);
        snprintf(b->prefix, sizeof b->prefix, "%s.header.rope", sec->name);
        /* Gemma 3: a local layer (not every global_every-th) has its own theta */
        int local = sec->rope_local_theta > 0.0 && ck_section_layer_local(sec, b->layer);
        const float *c = tensor(b, local ? "cos_local" : "cos", 1), *sn = tensor(b, local ? "sin_local" : "sin", 1);
        snprintf(b->prefix, sizeof b->prefix, "%s", tabs);
        s->args.rope = (ck_rope_args){f->q,
                                      f->k,
                                      c,
                                      sn,
                                      sh->T,
                                      sh->n_heads,
                                      sh->n_kv_heads,
                                      sh->head_dim,
                                      sh->pos,
                                      sh->max_pos ? sh->max_pos : sec->seq_len,
                                      (uint32_t)sh->pairing,
                                      sh->rotary_dim};
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
        s->args.attn = (ck_attention_args){f->q,
                                           f->k,
                                           f->v,
                                           f->attn,
                                           NULL,
                                           NULL,
                                           sh->T,
                                           sh->S,
                                           sh->n_heads,
                                           sh->n_kv_heads,
                                           sh->head_dim,
                                           sh->pos,
                                           sh->causal,
                                           1.0f / sqrtf((float)sec->attn_scalar),
                                           ck_section_layer_window(sec, b->layer),
                                           sh->softcap};
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
        if (sh->op == CK_OP_SWIGLU || sh->op == CK_OP_GEGLU)
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
        f->proj = layer_out(s);
        break;
    case CK_ROLE_BRIDGE_ACT: /* mlp2x_gelu: gelu between the bridge's two linears */
        f->act = tensor(b, "out", 1);
        s->args.unary = (ck_unary_args){f->proj, f->act, sh->n};
        add_out(b, s, "out");
        break;
    case CK_ROLE_BRIDGE_OUT: bind_linear(b, s, sh, f->act, "out"); break;
    case CK_ROLE_LM_HEAD:
        s->final_softcap = sec->final_softcap;
        if (!sec->tie_embeddings) {
            bind_linear(b, s, sh, f->after_final_norm ? f->h : f->res, "logits");
            break;
        }
        /* tied: the table [vocab, D] is the head's [N, K] weight, no bias */
        s->args.linear = (ck_linear_args){f->after_final_norm ? f->h : f->res,
                                          tied_table(b, sec),
                                          NULL,
                                          tensor(b, "logits", 1),
                                          sh->T,
                                          sh->K,
                                          sh->N,
                                          sh->dtype};
        add_out(b, s, "logits");
        break;
    default: break;
    }
    f->after_final_norm = nd->role == CK_ROLE_FINAL_NORM;
}

const ck_kernel_desc *run_pick_kernel(const ck_runner *r, uint32_t op, uint32_t dtype, uint32_t flags, const void *args,
                                      const char **by, int *fallback)
{
    *fallback = 0;
    for (size_t i = 0; i < r->n_chain; i++) {
        const ck_kernel_desc *k = ck_plugin_kernel(r->chain[i], op, dtype, flags);
        if (k && ck_kernel_honours(k, args)) { /* one without a capability its arguments need: the next */
            *by = r->chain[i]->desc->name;
            return k;
        }
    }
    const ck_kernel_desc *k = ck_plugin_kernel(r->scalar, op, dtype, flags);
    if (k && !ck_kernel_honours(k, args))
        k = NULL;
    *by = k ? r->scalar->desc->name : NULL;
    for (size_t i = 0; k && i < r->n_chain; i++)
        if (r->chain[i] == r->scalar)
            return k; /* scalar is a member: its kernel is a choice, not a stand-in */
    *fallback = k != NULL;
    return k;
}

/* Through run_pick_kernel; with compute bf16, the compute-bf16 kernel where
 * that compute type applies (scalar always has one). A kernel without the
 * capability its arguments need (a window, a cap, a partial rope) is passed
 * over for the next plugin's, then scalar's. */
static int choose_kernel(ck_runner *r, step *s, char *err, size_t len)
{
    uint32_t op = s->pub.op, dt = s->pub.dtype;
    uint32_t flags = ck_compute_flags((ck_compute)r->opts.compute, op, dt);
    s->kernel = run_pick_kernel(r, op, dt, flags, &s->args, &s->pub.plugin, &s->pub.fallback);
    if (!s->kernel)
        return run_failf(err, len, "%s: no %s kernel for %s weights%s in plugin '%s'%s nor in scalar", s->pub.label,
                         ck_op_name(op), ck_dtype_name(dt), flags ? " with compute bf16" : "", r->plugin->desc->name,
                         r->n_chain > 1 ? " (nor the rest of the chain)" : "");
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
int run_skipped_section(const ck_runner *r, size_t si)
{
    return r->plan->opts.decode && r->model->sections[si].kind != CK_SECTION_DECODER;
}

/* Bind every node of every section, layers expanded, in execution order. */
int run_bind_all(ck_runner *r, char *err, size_t len)
{
    const ck_model *m = r->model;
    float *bridge_out[CK_MAX_SECTIONS] = {0};
    size_t bridge_rows[CK_MAX_SECTIONS] = {0};
    for (size_t si = 0; si < m->n_sections; si++) {
        const ck_section *sec = &m->sections[si];
        ck_node nodes[CK_MAX_SECTION_NODES];
        ck_graph_opts g = {r->plan->opts.decode, r->plan->opts.decode_pos, r->plan->opts.weight_dtype,
                           r->plan->opts.last_logits};
        r->layer_index[si] = si == 0 ? 0 : r->layer_index[si - 1] + m->sections[si - 1].n_layers;
        if (run_skipped_section(r, si))
            continue;
        size_t k = ck_section_nodes(m, si, &g, nodes);
        flow f = {0};
        binder b = {r, 0, "", 0, ""};
        for (int part = CK_PART_HEADER; part <= CK_PART_FOOTER; part++) {
            size_t reps = part == CK_PART_LAYER ? sec->n_layers : 1;
            for (size_t l = 0; l < reps; l++)
                for (size_t j = 0; j < k; j++) {
                    if ((int)nodes[j].part != part)
                        continue;
                    if (grow_steps(r, r->n_steps + 1))
                        return run_failf(err, len, "out of memory binding %s", m->name);
                    step *s = &r->steps[r->n_steps++];
                    memset(s, 0, sizeof *s);
                    b.layer = l;
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
                        return run_failf(err, len, "%s: internal: the plan has no buffer %s", m->name, b.missing_name);
                    if (nodes[j].role == CK_ROLE_BRIDGE || nodes[j].role == CK_ROLE_BRIDGE_OUT) {
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
                    if (nodes[j].role == CK_ROLE_LM_HEAD || nodes[j].role == CK_ROLE_BRIDGE ||
                        nodes[j].role == CK_ROLE_BRIDGE_OUT) {
                        r->output = s->args.linear.y;
                        r->output_count = s->args.linear.T * s->args.linear.N;
                    }
                }
        }
    }
    return 0;
}
