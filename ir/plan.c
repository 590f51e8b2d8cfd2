/* plan.c — lay out every tensor of a model in one allocation. The walk
 * follows the op graph of ir/graph.c node by node, so a layer's memory reads
 * in the order the layer runs: a node's weights (with their gradient and
 * Adam moments in training), then what it writes (with, when training a
 * decoder, the activation gradients its backward pass needs). Every size and offset is
 * computed with the checked helpers of ck_checked.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_checked.h"
#include "ck_plan.h"

typedef struct planner {
    const ck_model *m;
    ck_plan *p;
    size_t cap;    /* buffers allocated */
    size_t cursor; /* first free byte */
    uint32_t sec;
    ck_part part;
    uint32_t layer;
    ck_span *span; /* the part being filled */
    int span_empty;
    uint32_t wdt;   /* matrix-weight dtype */
    int backward;   /* training a decoder section: plan activation gradients */
    int post_norms; /* that section's post norms: out_proj and mlp_down get out.grad */
    char *err;
    size_t err_len;
} planner;

static int plan_fail(planner *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int plan_fail(planner *pl, const char *fmt, ...)
{
    va_list ap;
    if (!pl->err || !pl->err_len)
        return -1;
    int n = snprintf(pl->err, pl->err_len, "plan of model \"%s\": ", pl->m->name);
    if (n < 0 || (size_t)n >= pl->err_len)
        return -1;
    va_start(ap, fmt);
    vsnprintf(pl->err + n, pl->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

const char *ck_buf_kind_name(ck_buf_kind k)
{
    static const char *const names[] = {
        [CK_BUF_WEIGHT] = "weight",
        [CK_BUF_ACTIVATION] = "activation",
        [CK_BUF_GRADIENT] = "gradient",
        [CK_BUF_OPTIMIZER_M] = "optimizer_m",
        [CK_BUF_OPTIMIZER_V] = "optimizer_v",
        [CK_BUF_KV_CACHE] = "kv_cache",
        [CK_BUF_TABLE] = "table",
        [CK_BUF_ACTIVATION_GRADIENT] = "activation_gradient",
    };
    /* the last kind once lacked a name and layout.json said "(null)": a kind
     * appended without a name now fails the build */
    _Static_assert(sizeof names / sizeof names[0] == CK_BUF_KIND_COUNT, "every ck_buf_kind has a name");
    return (unsigned)k < CK_BUF_KIND_COUNT ? names[k] : "?";
}

static size_t element_bytes(uint32_t dt)
{
    switch (dt) {
    case CK_DTYPE_F32:
    case CK_DTYPE_I32: return 4;
    case CK_DTYPE_BF16:
    case CK_DTYPE_F16: return 2;
    default: return 0;
    }
}

static size_t block_bytes(uint32_t dt)
{
    return dt == CK_DTYPE_Q8_0 ? sizeof(ck_block_q8_0) : dt == CK_DTYPE_Q4_0 ? sizeof(ck_block_q4_0) : 0;
}

/* Bytes of a row-major tensor; quantised types store each row (the last
 * dimension) as whole blocks. */
static int tensor_bytes(planner *pl, const ck_buffer *b, size_t *out)
{
    size_t rows = 1, row;
    for (unsigned i = 0; i + 1 < b->ndim; i++)
        if (!ck_mul_ok(rows, b->shape[i], &rows))
            return plan_fail(pl, "tensor %s: size overflows size_t", b->name);
    size_t last = b->shape[b->ndim - 1];
    if (block_bytes(b->dtype)) {
        if (last % CK_QBLOCK)
            return plan_fail(pl, "tensor %s: %s rows need a multiple of %d values, found %zu", b->name,
                             ck_dtype_name(b->dtype), CK_QBLOCK, last);
        row = last / CK_QBLOCK * block_bytes(b->dtype);
    } else if (!ck_mul_ok(last, element_bytes(b->dtype), &row)) {
        return plan_fail(pl, "tensor %s: size overflows size_t", b->name);
    }
    if (!ck_mul_ok(rows, row, out))
        return plan_fail(pl, "tensor %s: size overflows size_t", b->name);
    return 0;
}

static void begin_part(planner *pl, ck_part part, uint32_t layer, ck_span *span)
{
    pl->part = part;
    pl->layer = layer;
    pl->span = span;
    pl->span_empty = 1;
    span->start = span->end = pl->cursor;
}

/* Place one buffer at the next aligned offset. `prefix` is
 * "<section>.<part>[.<layer>].<role>". */
static int place(planner *pl, const char *prefix, const char *tensor, ck_buf_kind kind, uint32_t dtype,
                 const size_t *shape, unsigned ndim)
{
    ck_plan *p = pl->p;
    if (p->n_buffers == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 256;
        ck_buffer *nb = realloc(p->buffers, cap * sizeof *nb);
        if (!nb)
            return plan_fail(pl, "out of memory for %zu buffers", cap);
        p->buffers = nb;
        pl->cap = cap;
    }
    ck_buffer *b = &p->buffers[p->n_buffers];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s.%s", prefix, tensor);
    b->dtype = dtype;
    b->ndim = ndim;
    memcpy(b->shape, shape, ndim * sizeof *shape);
    b->kind = kind;
    b->section = pl->sec;
    b->part = pl->part;
    b->layer = pl->part == CK_PART_LAYER || pl->part == CK_PART_KV_CACHE ? pl->layer : 0;
    size_t end;
    if (tensor_bytes(pl, b, &b->size))
        return -1;
    if (!ck_align_up_ok(pl->cursor, p->opts.align, &b->offset) || !ck_add_ok(b->offset, b->size, &end) ||
        !ck_add_ok(p->by_kind[kind], b->size, &p->by_kind[kind]))
        return plan_fail(pl, "tensor %s: offset overflows size_t", b->name);
    pl->cursor = end;
    if (pl->span_empty)
        pl->span->start = b->offset;
    pl->span_empty = 0;
    pl->span->end = end;
    p->n_buffers++;
    return 0;
}

#define SHAPE(...) ((const size_t[]){__VA_ARGS__}), (unsigned)(sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t))

static int activation(planner *pl, const char *prefix, const char *tensor, uint32_t dtype, const size_t *shape,
                      unsigned ndim)
{
    return place(pl, prefix, tensor, CK_BUF_ACTIVATION, dtype, shape, ndim);
}

/* Training a decoder: the f32 gradient "<tensor>.grad" of an activation (or
 * of one consumer's share of it), placed where the backward pass of this
 * node reads and writes it. Nothing outside training or for frozen
 * (encoder) sections. */
static int activation_grad(planner *pl, const char *prefix, const char *tensor, const size_t *shape, unsigned ndim)
{
    char name[64];
    if (!pl->backward)
        return 0;
    snprintf(name, sizeof name, "%s.grad", tensor);
    return place(pl, prefix, name, CK_BUF_ACTIVATION_GRADIENT, CK_DTYPE_F32, shape, ndim);
}

/* An activation followed, when training, by its gradient. */
static int activation_with_grad(planner *pl, const char *prefix, const char *tensor, const size_t *shape, unsigned ndim)
{
    return activation(pl, prefix, tensor, CK_DTYPE_F32, shape, ndim) || activation_grad(pl, prefix, tensor, shape, ndim)
               ? -1
               : 0;
}

/* A weight and, in training, its f32 gradient and Adam moments right after
 * it: the optimizer step of a layer then streams through one region. */
static int weight(planner *pl, const char *prefix, const char *tensor, uint32_t dtype, const size_t *shape,
                  unsigned ndim)
{
    char name[64];
    if (place(pl, prefix, tensor, CK_BUF_WEIGHT, dtype, shape, ndim))
        return -1;
    if (!pl->p->opts.training)
        return 0;
    static const struct {
        const char *suffix;
        ck_buf_kind kind;
    } extra[] = {{"grad", CK_BUF_GRADIENT}, {"adam_m", CK_BUF_OPTIMIZER_M}, {"adam_v", CK_BUF_OPTIMIZER_V}};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        snprintf(name, sizeof name, "%s.%s", tensor, extra[i].suffix);
        if (place(pl, prefix, name, extra[i].kind, CK_DTYPE_F32, shape, ndim))
            return -1;
    }
    return 0;
}

/* A layer's norms read the residual stream, which the residual add reads
 * too: their share of its gradient goes to "x.grad" until the add joins
 * the two. Header and footer norms are their input's only reader. */
static int norm_buffers(planner *pl, const char *prefix, const ck_section *s, size_t T, int in_layer)
{
    if (in_layer == 2) /* a post norm: its output's gradient is the residual add's */
        return weight(pl, prefix, "gamma", CK_DTYPE_F32, SHAPE(s->d_model)) ||
                       (s->norm == CK_NORM_LAYERNORM && s->norm_bias &&
                        weight(pl, prefix, "beta", CK_DTYPE_F32, SHAPE(s->d_model))) ||
                       activation(pl, prefix, "out", CK_DTYPE_F32, SHAPE(T, s->d_model))
                   ? -1
                   : 0;
    if (weight(pl, prefix, "gamma", CK_DTYPE_F32, SHAPE(s->d_model)))
        return -1;
    if (s->norm == CK_NORM_LAYERNORM && s->norm_bias && weight(pl, prefix, "beta", CK_DTYPE_F32, SHAPE(s->d_model)))
        return -1;
    if (activation_with_grad(pl, prefix, "out", SHAPE(T, s->d_model)))
        return -1;
    return in_layer ? activation_grad(pl, prefix, "x", SHAPE(T, s->d_model)) : 0;
}

/* A linear layer: weight [N, K], optional bias [N], output [T, N]. */
static int linear_buffers(planner *pl, const char *prefix, const ck_shape *sh, const char *out_name)
{
    if (weight(pl, prefix, "w", sh->dtype, SHAPE(sh->N, sh->K)))
        return -1;
    if (sh->has_bias && weight(pl, prefix, "b", CK_DTYPE_F32, SHAPE(sh->N)))
        return -1;
    return activation(pl, prefix, out_name, CK_DTYPE_F32, SHAPE(sh->T, sh->N));
}

/* Gradients around a decoder's linears. out_proj and mlp_down feed a
 * residual add, whose output gradient they reuse (the add's gradient is the
 * identity): nothing of their own, unless a post norm stands between (its
 * dx is their out.grad). The gate's dx is its share of the MLP norm's
 * output gradient (the up projection writes the other share there
 * directly). lm_head: the logits' gradient, next-token targets and the loss. */
static int linear_grads(planner *pl, const char *prefix, ck_role role, const ck_shape *sh)
{
    if (!pl->backward)
        return 0;
    switch (role) {
    case CK_ROLE_OUT_PROJ:
    case CK_ROLE_MLP_DOWN: /* behind a post norm, whose dx it is */
        return pl->post_norms ? activation_grad(pl, prefix, "out", SHAPE(sh->T, sh->N)) : 0;
    case CK_ROLE_MLP_GATE:
        return activation_grad(pl, prefix, "out", SHAPE(sh->T, sh->N)) ||
                       activation_grad(pl, prefix, "x", SHAPE(sh->T, sh->K))
                   ? -1
                   : 0;
    case CK_ROLE_MLP_UP: return activation_grad(pl, prefix, "out", SHAPE(sh->T, sh->N));
    case CK_ROLE_LM_HEAD:
        return activation_grad(pl, prefix, "logits", SHAPE(sh->T, sh->N)) ||
                       activation(pl, prefix, "targets", CK_DTYPE_I32, SHAPE(sh->T)) ||
                       activation(pl, prefix, "loss", CK_DTYPE_F32, SHAPE(1))
                   ? -1
                   : 0;
    default: return 0;
    }
}

static int qkv_buffers(planner *pl, const char *prefix, const ck_section *s, const ck_shape *sh)
{
    size_t qd = s->n_heads * s->head_dim, kvd = s->n_kv_heads * s->head_dim, T = sh->T;
    if (weight(pl, prefix, "wq", sh->dtype, SHAPE(qd, s->d_model)) ||
        (sh->has_bias && weight(pl, prefix, "bq", CK_DTYPE_F32, SHAPE(qd))) ||
        weight(pl, prefix, "wk", sh->dtype, SHAPE(kvd, s->d_model)) ||
        (sh->has_bias && weight(pl, prefix, "bk", CK_DTYPE_F32, SHAPE(kvd))) ||
        weight(pl, prefix, "wv", sh->dtype, SHAPE(kvd, s->d_model)) ||
        (sh->has_bias && weight(pl, prefix, "bv", CK_DTYPE_F32, SHAPE(kvd))) ||
        activation_with_grad(pl, prefix, "q", SHAPE(T, s->n_heads, s->head_dim)) ||
        activation_with_grad(pl, prefix, "k", SHAPE(T, s->n_kv_heads, s->head_dim)) ||
        activation_with_grad(pl, prefix, "v", SHAPE(T, s->n_kv_heads, s->head_dim)))
        return -1;
    return 0;
}

/* Decode: each layer's cache holds the whole context (this token's k, v are
 * appended). They keep their layer's names but live together after the
 * footer, outside the layer spans a window faults in and releases, so that
 * generation with --window pages weights and keeps the cache. */
static int kv_cache_part(planner *pl, const ck_section *s, ck_section_plan *sp)
{
    begin_part(pl, CK_PART_KV_CACHE, 0, &sp->kv_cache);
    if (!pl->p->opts.decode || s->kind != CK_SECTION_DECODER)
        return 0;
    for (uint32_t l = 0; l < s->n_layers; l++) {
        char prefix[80];
        pl->layer = l;
        snprintf(prefix, sizeof prefix, "%s.layer.%u.%s", s->name, l, ck_role_name(CK_ROLE_QKV));
        if (place(pl, prefix, "k_cache", CK_BUF_KV_CACHE, CK_DTYPE_F32,
                  SHAPE(s->seq_len, s->n_kv_heads, s->head_dim)) ||
            place(pl, prefix, "v_cache", CK_BUF_KV_CACHE, CK_DTYPE_F32, SHAPE(s->seq_len, s->n_kv_heads, s->head_dim)))
            return -1;
    }
    return 0;
}

/* Header inputs and embeddings: patches or token ids, position embeddings. */
static int header_buffers(planner *pl, const char *prefix, const ck_section *s, const ck_node *nd)
{
    const ck_shape *sh = &nd->shape;
    size_t T = ck_section_rows(s, &(ck_graph_opts){pl->p->opts.decode, pl->p->opts.decode_pos, pl->wdt, 0});
    switch (nd->role) {
    case CK_ROLE_PATCH_EMBED:
        if (activation(pl, prefix, "pixels", CK_DTYPE_F32, SHAPE(sh->T, sh->K)))
            return -1;
        return linear_buffers(pl, prefix, sh, "out");
    case CK_ROLE_TOKEN_EMBED:
        return activation(pl, prefix, "ids", CK_DTYPE_I32, SHAPE(T)) ||
                       weight(pl, prefix, "table", sh->dtype, SHAPE(s->vocab, s->d_model)) ||
                       activation_with_grad(pl, prefix, "out", SHAPE(T, s->d_model))
                   ? -1
                   : 0;
    case CK_ROLE_POS_ADD:
        if (s->kind == CK_SECTION_VISION_ENCODER && s->class_token &&
            weight(pl, prefix, "class_token", CK_DTYPE_F32, SHAPE(s->d_model)))
            return -1;
        return weight(pl, prefix, "pos_embed", CK_DTYPE_F32, SHAPE(s->seq_len, s->d_model)) ||
                       activation_with_grad(pl, prefix, "out", SHAPE(T, s->d_model))
                   ? -1
                   : 0;
    default: return 0;
    }
}

static int node_buffers(planner *pl, const ck_section *s, const ck_node *nd)
{
    char prefix[80];
    const ck_shape *sh = &nd->shape;
    if (nd->part == CK_PART_LAYER)
        snprintf(prefix, sizeof prefix, "%s.layer.%u.%s", s->name, pl->layer, ck_role_name(nd->role));
    else
        snprintf(prefix, sizeof prefix, "%s.%s.%s", s->name, ck_part_name(nd->part), ck_role_name(nd->role));
    switch (nd->role) {
    case CK_ROLE_PATCH_EMBED:
    case CK_ROLE_TOKEN_EMBED:
    case CK_ROLE_POS_ADD: return header_buffers(pl, prefix, s, nd);
    case CK_ROLE_PRE_NORM:
    case CK_ROLE_FINAL_NORM: return norm_buffers(pl, prefix, s, sh->T, 0);
    case CK_ROLE_ATTN_NORM:
    case CK_ROLE_MLP_NORM: return norm_buffers(pl, prefix, s, sh->T, 1);
    case CK_ROLE_POST_ATTN_NORM: /* their input has one reader: no x.grad */
    case CK_ROLE_POST_MLP_NORM: return norm_buffers(pl, prefix, s, sh->T, 2);
    case CK_ROLE_QKV: return qkv_buffers(pl, prefix, s, sh);
    case CK_ROLE_ROPE: return 0; /* in place on q and k; its tables head the section */
    case CK_ROLE_Q_NORM:
    case CK_ROLE_K_NORM: {
        size_t heads = nd->role == CK_ROLE_Q_NORM ? s->n_heads : s->n_kv_heads;
        return weight(pl, prefix, "gamma", CK_DTYPE_F32, SHAPE(s->head_dim)) ||
                       activation_with_grad(pl, prefix, "out", SHAPE(sh->T / heads, heads, s->head_dim))
                   ? -1
                   : 0;
    }
    case CK_ROLE_ATTENTION: return activation_with_grad(pl, prefix, "out", SHAPE(sh->T, s->n_heads, s->head_dim));
    case CK_ROLE_OUT_PROJ:
    case CK_ROLE_MLP_GATE:
    case CK_ROLE_MLP_UP:
    case CK_ROLE_MLP_DOWN:
    case CK_ROLE_BRIDGE:
    case CK_ROLE_BRIDGE_OUT:
        return linear_buffers(pl, prefix, sh, "out") || linear_grads(pl, prefix, nd->role, sh) ? -1 : 0;
    case CK_ROLE_LM_HEAD:
        /* tied: the head reads the embedding table, planned once in the header */
        if (s->tie_embeddings)
            return activation(pl, prefix, "logits", CK_DTYPE_F32, SHAPE(sh->T, sh->N)) ||
                           linear_grads(pl, prefix, nd->role, sh)
                       ? -1
                       : 0;
        return linear_buffers(pl, prefix, sh, "logits") || linear_grads(pl, prefix, nd->role, sh) ? -1 : 0;
    case CK_ROLE_ATTN_RESIDUAL:
    case CK_ROLE_MLP_RESIDUAL: return activation_with_grad(pl, prefix, "out", SHAPE(sh->n / s->d_model, s->d_model));
    case CK_ROLE_MLP_ACT: return activation_with_grad(pl, prefix, "out", SHAPE(sh->n / s->d_ff, s->d_ff));
    case CK_ROLE_BRIDGE_ACT: /* in an encoder's footer: frozen, no gradient */
        return activation(pl, prefix, "out", CK_DTYPE_F32,
                          SHAPE(sh->n / pl->m->sections[s->bridge_to].d_model, pl->m->sections[s->bridge_to].d_model));
    case CK_ROLE_COUNT: break;
    }
    return plan_fail(pl, "internal: node %s has no buffers", sh->label);
}

static int plan_part(planner *pl, const ck_section *s, const ck_node *nodes, size_t n, ck_part part)
{
    for (size_t i = 0; i < n; i++)
        if (nodes[i].part == part && node_buffers(pl, s, &nodes[i]))
            return -1;
    return 0;
}

static int plan_section(planner *pl, uint32_t sec)
{
    const ck_section *s = &pl->m->sections[sec];
    ck_section_plan *sp = &pl->p->sections[sec];
    ck_graph_opts g = {pl->p->opts.decode, pl->p->opts.decode_pos, pl->wdt, pl->p->opts.last_logits};
    ck_node nodes[CK_MAX_SECTION_NODES];
    size_t n = ck_section_nodes(pl->m, sec, &g, nodes);
    char prefix[64];
    pl->sec = sec;
    pl->backward = pl->p->opts.training && s->kind == CK_SECTION_DECODER;
    pl->post_norms = s->post_norms;
    if (!ck_align_up_ok(pl->cursor, pl->p->section_align, &pl->cursor))
        return plan_fail(pl, "section \"%s\": offset overflows size_t", s->name);
    sp->all.start = pl->cursor;
    begin_part(pl, CK_PART_HEADER, 0, &sp->header);
    if (s->position == CK_POS_ROPE) {
        snprintf(prefix, sizeof prefix, "%s.header.rope", s->name);
        /* partial rotary: only the rotated dims have frequencies */
        size_t half = s->rotary_dim / 2;
        if (place(pl, prefix, "cos", CK_BUF_TABLE, CK_DTYPE_F32, SHAPE(s->seq_len, half)) ||
            place(pl, prefix, "sin", CK_BUF_TABLE, CK_DTYPE_F32, SHAPE(s->seq_len, half)))
            return -1;
        if (s->rope_local_theta > 0.0 && /* the local layers' tables */
            (place(pl, prefix, "cos_local", CK_BUF_TABLE, CK_DTYPE_F32, SHAPE(s->seq_len, half)) ||
             place(pl, prefix, "sin_local", CK_BUF_TABLE, CK_DTYPE_F32, SHAPE(s->seq_len, half))))
            return -1;
    }
    if (plan_part(pl, s, nodes, n, CK_PART_HEADER))
        return -1;
    sp->n_layers = s->n_layers;
    sp->layers = calloc(s->n_layers, sizeof *sp->layers);
    if (!sp->layers)
        return plan_fail(pl, "out of memory");
    for (uint32_t l = 0; l < s->n_layers; l++) {
        begin_part(pl, CK_PART_LAYER, l, &sp->layers[l]);
        if (plan_part(pl, s, nodes, n, CK_PART_LAYER))
            return -1;
    }
    begin_part(pl, CK_PART_FOOTER, 0, &sp->footer);
    if (plan_part(pl, s, nodes, n, CK_PART_FOOTER) || kv_cache_part(pl, s, sp))
        return -1;
    sp->all.end = pl->cursor;
    return 0;
}

/* Options that make sense together, resolved to the values the plan uses. */
static int resolve_opts(planner *pl, const ck_plan_opts *in)
{
    ck_plan_opts *o = &pl->p->opts;
    char gerr[CK_ERR_LEN];
    *o = in ? *in : (ck_plan_opts){0};
    if (o->align == 0)
        o->align = CK_PLAN_DEFAULT_ALIGN;
    if (!ck_is_pow2(o->align) || o->align < 8 || o->align > CK_PLAN_MAX_ALIGN)
        return plan_fail(pl, "alignment: expected a power of two from 8 to %zu, found %zu", CK_PLAN_MAX_ALIGN,
                         o->align);
    if (o->training && o->decode)
        return plan_fail(pl, "training and decode: expected one mode, found both");
    if (o->training && o->last_logits)
        return plan_fail(pl, "training and last-row logits: training needs every row's logits");
    ck_graph_opts g = {o->decode, o->decode_pos, o->weight_dtype, o->last_logits};
    if (ck_graph_opts_check(pl->m, &g, gerr, sizeof gerr)) {
        if (pl->err && pl->err_len) /* already names the model */
            snprintf(pl->err, pl->err_len, "%s", gerr);
        return -1;
    }
    pl->wdt = o->weight_dtype = ck_graph_weight_dtype(pl->m, &g);
    if (o->training && block_bytes(pl->wdt))
        return plan_fail(pl, "training: expected f32, bf16 or f16 weights (Adam updates them in place), found %s",
                         ck_dtype_name(pl->wdt));
    pl->p->section_align = CK_PLAN_SECTION_ALIGN > o->align ? CK_PLAN_SECTION_ALIGN : o->align;
    return 0;
}

int ck_plan_build(const ck_model *m, const ck_plan_opts *opts, ck_plan **out, char *err, size_t err_len)
{
    ck_plan *p = calloc(1, sizeof *p);
    planner pl = {.m = m, .p = p, .err = err, .err_len = err_len};
    *out = NULL;
    if (err && err_len)
        err[0] = '\0';
    if (!p || !m) {
        free(p);
        if (err && err_len)
            snprintf(err, err_len, "plan: %s", m ? "out of memory" : "no model");
        return -1;
    }
    snprintf(p->model, sizeof p->model, "%s", m->name);
    p->n_sections = m->n_sections;
    for (size_t i = 0; i < m->n_sections; i++) {
        snprintf(p->section_names[i], sizeof p->section_names[i], "%s", m->sections[i].name);
        p->section_kinds[i] = m->sections[i].kind;
    }
    int rc = resolve_opts(&pl, opts);
    for (uint32_t s = 0; rc == 0 && s < m->n_sections; s++)
        rc = plan_section(&pl, s);
    if (rc == 0 && !ck_align_up_ok(pl.cursor, p->opts.align, &p->total))
        rc = plan_fail(&pl, "total size overflows size_t");
    if (rc) {
        ck_plan_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

void ck_plan_free(ck_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_sections; i++)
        free(p->sections[i].layers);
    free(p->buffers);
    free(p);
}
