/* train_bind.c — binding what follows the forward in a training step, once,
 * to the planned buffers by name: the loss, the backward ops of every decoder
 * layer in reverse (activation gradients written, two readers joined by an
 * add), and one Adam update per weight. Names: docs/layout.md. Each op's
 * kernel comes from the runner's chain through run_pick_kernel, the picker
 * the forward uses: training has no rule of its own for choosing one. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_internal.h"
#include "train_internal.h"

/* ---- buffers by name ------------------------------------------------------- */

const ck_buffer *train_find(const ck_trainer *t, const char *name)
{
    const ck_plan *p = ck_runner_plan(t->runner);
    for (size_t i = 0; i < p->n_buffers; i++)
        if (strcmp(p->buffers[i].name, name) == 0)
            return &p->buffers[i];
    return NULL;
}

void *train_at(const ck_trainer *t, const ck_buffer *b)
{
    return b ? (char *)ck_runner_base(t->runner) + b->offset : NULL;
}

/* The buffer named by the format; a required one that is missing is
 * remembered (the plan and this file disagree: an internal error). */
static void *buf(ck_trainer *t, int required, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void *buf(ck_trainer *t, int required, const char *fmt, ...)
{
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const ck_buffer *b = train_find(t, name);
    if (!b && required && !t->err_name[0])
        snprintf(t->err_name, sizeof t->err_name, "%s", name);
    return train_at(t, b);
}

float *ck_trainer_tensor(ck_trainer *t, const char *name, size_t *count)
{
    const ck_buffer *b = train_find(t, name);
    if (!b || b->dtype != CK_DTYPE_F32)
        return NULL;
    if (count)
        *count = b->size / sizeof(float);
    return train_at(t, b);
}

/* Timing row of a section's header (0), layer l (1 + l) or footer. */
size_t train_slot_of(const ck_trainer *t, uint32_t sec, int part, uint32_t layer)
{
    size_t k = part == CK_PART_HEADER ? 0 : part == CK_PART_LAYER ? 1 + layer : 1 + t->model->sections[sec].n_layers;
    return t->slot_base[sec] + k;
}

/* ---- the op lists ------------------------------------------------------------ */

/* Kernels are picked once the arguments are bound (pick_kernels): which
 * plugin may run an op depends on what its arguments need. */
static op_step *push(op_list *l, uint32_t op, size_t slot, const char *label)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        op_step *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        l->v = nv;
        l->cap = cap;
    }
    op_step *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    s->op = op;
    s->slot = slot;
    snprintf(s->label, sizeof s->label, "%s", label);
    return s;
}

/* Binding state of one decoder section walked backwards. */
typedef struct walk {
    ck_trainer *t;
    op_list *l;
    const ck_section *sec;
    uint32_t si;
    int fail; /* out of memory */
} walk;

static op_step *add_op(walk *w, uint32_t op, size_t slot, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static op_step *add_op(walk *w, uint32_t op, size_t slot, const char *fmt, ...)
{
    static op_step sink; /* keeps callers simple; w->fail says it is not real */
    char label[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(label, sizeof label, fmt, ap);
    va_end(ap);
    op_step *s = w->fail ? NULL : push(w->l, op, slot, label);
    if (!s) {
        w->fail = 1;
        memset(&sink, 0, sizeof sink);
        return &sink;
    }
    return s;
}

static void add_join(walk *w, size_t slot, const char *label, const float *a, const float *b, float *y, size_t n)
{
    add_op(w, CK_OP_ADD, slot, "%s", label)->args.add = (ck_add_args){a, b, y, n};
}

#define L_(what) "%s.layer.%u." what
#define H_(what) "%s.header." what
#define F_(what) "%s.footer." what

/* dy: the output's gradient, "<prefix>.out.grad" when NULL (a post norm's
 * is the residual's, which the add passes through) */
static void norm_bwd_dy(walk *w, size_t slot, const char *prefix, const float *x, const float *dy, float *dx, size_t T)
{
    ck_trainer *t = w->t;
    const ck_section *s = w->sec;
    op_step *st = add_op(w, s->norm == CK_NORM_LAYERNORM ? CK_OP_LAYERNORM_BWD : CK_OP_RMSNORM_BWD, slot, "%s", prefix);
    st->args.norm = (ck_norm_bwd_args){x,
                                       buf(t, 1, "%s.gamma", prefix),
                                       dy ? dy : buf(t, 1, "%s.out.grad", prefix),
                                       dx,
                                       buf(t, 1, "%s.gamma.grad", prefix),
                                       buf(t, 0, "%s.beta.grad", prefix),
                                       T,
                                       s->d_model,
                                       s->norm_eps};
}

static void norm_bwd(walk *w, size_t slot, const char *prefix, const float *x, float *dx, size_t T)
{
    norm_bwd_dy(w, slot, prefix, x, NULL, dx, T);
}

static void linear_bwd(walk *w, size_t slot, const char *prefix, const float *x, const float *dy, float *dx, size_t T,
                       size_t K, size_t N)
{
    ck_trainer *t = w->t;
    op_step *st = add_op(w, CK_OP_LINEAR_BWD, slot, "%s", prefix);
    st->args.linear = (ck_linear_bwd_args){
        x, buf(t, 1, "%s.w", prefix), dy, dx, buf(t, 1, "%s.w.grad", prefix), buf(t, 0, "%s.b.grad", prefix), T, K, N};
}

/* A tied lm_head: its weight is the embedding table, its dW the table's
 * gradient, written here before the embedding's scatter-add joins it. */
static void tied_head_bwd(walk *w, size_t slot, const char *prefix, const float *x, const float *dy, float *dx,
                          size_t T)
{
    ck_trainer *t = w->t;
    const ck_section *s = w->sec;
    const char *n = s->name;
    op_step *st = add_op(w, CK_OP_LINEAR_BWD, slot, "%s", prefix);
    st->args.linear = (ck_linear_bwd_args){x,
                                           buf(t, 1, H_("embedding.table"), n),
                                           dy,
                                           dx,
                                           buf(t, 1, H_("embedding.table.grad"), n),
                                           NULL,
                                           T,
                                           s->d_model,
                                           s->vocab};
}

/* The MLP of layer l, backwards: dR2 is its output gradient (the residual's);
 * writes the MLP norm's output gradient. */
static void mlp_bwd(walk *w, size_t slot, uint32_t l, const float *dR2, size_t T)
{
    ck_trainer *t = w->t;
    const ck_section *s = w->sec;
    const char *n = s->name;
    size_t D = s->d_model, F = s->d_ff;
    char p[96];
    float *h2 = buf(t, 1, L_("mlp_norm.out"), n, l), *dh2 = buf(t, 1, L_("mlp_norm.out.grad"), n, l);
    float *act = buf(t, 1, L_("mlp_act.out"), n, l), *dact = buf(t, 1, L_("mlp_act.out.grad"), n, l);
    float *up = buf(t, 1, L_("mlp_up.out"), n, l), *dup = buf(t, 1, L_("mlp_up.out.grad"), n, l);
    snprintf(p, sizeof p, L_("mlp_down"), n, l);
    linear_bwd(w, slot, p, act, dR2, dact, T, F, D);
    if (s->activation == CK_ACT_SWIGLU || s->activation == CK_ACT_GEGLU) {
        float *gate = buf(t, 1, L_("mlp_gate.out"), n, l), *dgate = buf(t, 1, L_("mlp_gate.out.grad"), n, l);
        float *gate_dx = buf(t, 1, L_("mlp_gate.x.grad"), n, l);
        uint32_t op = s->activation == CK_ACT_GEGLU ? CK_OP_GEGLU_BWD : CK_OP_SWIGLU_BWD;
        add_op(w, op, slot, L_("mlp_act"), n, l)->args.swiglu = (ck_swiglu_bwd_args){gate, up, dact, dgate, dup, T * F};
        snprintf(p, sizeof p, L_("mlp_up"), n, l);
        linear_bwd(w, slot, p, h2, dup, dh2, T, D, F);
        snprintf(p, sizeof p, L_("mlp_gate"), n, l);
        linear_bwd(w, slot, p, h2, dgate, gate_dx, T, D, F);
        snprintf(p, sizeof p, L_("mlp_norm (gate + up)"), n, l);
        add_join(w, slot, p, dh2, gate_dx, dh2, T * D);
    } else {
        add_op(w, ck_unary_act_op(s->activation, 1), slot, L_("mlp_act"), n, l)->args.unary =
            (ck_unary_bwd_args){up, dact, dup, T * F};
        snprintf(p, sizeof p, L_("mlp_up"), n, l);
        linear_bwd(w, slot, p, h2, dup, dh2, T, D, F);
    }
}

/* qk_norm of layer l backwards (role "q_norm" or "k_norm"): from the
 * normalised heads' gradient to qkv's q or k gradient, rows of hd. */
static void head_norm_bwd(walk *w, size_t slot, uint32_t l, const char *role, const char *qkv_out, size_t heads,
                          size_t T)
{
    ck_trainer *t = w->t;
    const ck_section *s = w->sec;
    const char *n = s->name;
    char p[96], x[96];
    snprintf(p, sizeof p, "%s.layer.%u.%s", n, l, role);
    snprintf(x, sizeof x, "%s.layer.%u.qkv.%s", n, l, qkv_out);
    op_step *st = add_op(w, CK_OP_RMSNORM_BWD, slot, "%s", p);
    st->args.norm = (ck_norm_bwd_args){buf(t, 1, "%s", x),
                                       buf(t, 1, "%s.gamma", p),
                                       buf(t, 1, "%s.out.grad", p),
                                       buf(t, 1, "%s.grad", x),
                                       buf(t, 1, "%s.gamma.grad", p),
                                       NULL,
                                       T * heads,
                                       s->head_dim,
                                       s->norm_eps};
}

/* Attention of layer l, backwards from dR1 (its residual's gradient) to the
 * attention norm's output gradient. */
static void attention_bwd(walk *w, size_t slot, uint32_t l, const float *dR1, size_t T)
{
    ck_trainer *t = w->t;
    const ck_section *s = w->sec;
    const char *n = s->name;
    size_t H = s->n_heads, Hkv = s->n_kv_heads, hd = s->head_dim;
    char p[96];
    /* with qk_norm, attention and rope see the normalised heads */
    const char *qn = s->qk_norm ? "q_norm.out" : "qkv.q", *kn = s->qk_norm ? "k_norm.out" : "qkv.k";
    float *q = buf(t, 1, "%s.layer.%u.%s", n, l, qn), *k = buf(t, 1, "%s.layer.%u.%s", n, l, kn);
    float *v = buf(t, 1, L_("qkv.v"), n, l);
    float *dq = buf(t, 1, "%s.layer.%u.%s.grad", n, l, qn), *dk = buf(t, 1, "%s.layer.%u.%s.grad", n, l, kn);
    float *dv = buf(t, 1, L_("qkv.v.grad"), n, l), *dattn = buf(t, 1, L_("attention.out.grad"), n, l);
    snprintf(p, sizeof p, L_("out_proj"), n, l);
    linear_bwd(w, slot, p, buf(t, 1, L_("attention.out"), n, l), dR1, dattn, T, H * hd, s->d_model);
    /* probs are recomputed from q and k (the forward is the streaming form) */
    add_op(w, CK_OP_ATTENTION_BWD, slot, L_("attention"), n, l)->args.attn =
        (ck_attention_bwd_args){q,
                                k,
                                v,
                                dattn,
                                NULL,
                                dq,
                                dk,
                                dv,
                                T,
                                T,
                                H,
                                Hkv,
                                hd,
                                0,
                                s->causal,
                                1.0f / sqrtf((float)s->attn_scalar),
                                ck_section_layer_window(s, l),
                                (float)s->attn_softcap};
    /* Gemma 3: a local layer rotated with its own theta's tables */
    const char *tab = s->rope_local_theta > 0.0 && ck_section_layer_local(s, l) ? "_local" : "";
    if (s->position == CK_POS_ROPE)
        add_op(w, CK_OP_ROPE_BWD, slot, L_("rope"), n, l)->args.rope = (ck_rope_args){
            dq, dk,         buf(t, 1, H_("rope.cos%s"), n, tab), buf(t, 1, H_("rope.sin%s"), n, tab),    T, H, Hkv, hd,
            0,  s->seq_len, (uint32_t)s->rope_pairing,           s->rotary_dim == hd ? 0 : s->rotary_dim};
    if (s->qk_norm) {
        head_norm_bwd(w, slot, l, "q_norm", "q", H, T);
        head_norm_bwd(w, slot, l, "k_norm", "k", Hkv, T);
        dq = buf(t, 1, L_("qkv.q.grad"), n, l), dk = buf(t, 1, L_("qkv.k.grad"), n, l);
    }
    op_step *st = add_op(w, CK_OP_QKV_BWD, slot, L_("qkv"), n, l);
    st->args.qkv = (ck_qkv_bwd_args){buf(t, 1, L_("attn_norm.out"), n, l),
                                     buf(t, 1, L_("qkv.wq"), n, l),
                                     buf(t, 1, L_("qkv.wk"), n, l),
                                     buf(t, 1, L_("qkv.wv"), n, l),
                                     dq,
                                     dk,
                                     dv,
                                     buf(t, 1, L_("attn_norm.out.grad"), n, l),
                                     buf(t, 1, L_("qkv.wq.grad"), n, l),
                                     buf(t, 1, L_("qkv.wk.grad"), n, l),
                                     buf(t, 1, L_("qkv.wv.grad"), n, l),
                                     buf(t, 0, L_("qkv.bq.grad"), n, l),
                                     buf(t, 0, L_("qkv.bk.grad"), n, l),
                                     buf(t, 0, L_("qkv.bv.grad"), n, l),
                                     T,
                                     s->d_model,
                                     H,
                                     Hkv,
                                     hd};
}

/* Gemma's norm after a branch (role `post`) on the output of its last
 * linear (`proj`): from dres, the residual's gradient that the add passes
 * to the norm's output, to the linear's output gradient, which it returns.
 * Without post norms the linear's output gradient is dres itself. */
static const float *post_norm_bwd(walk *w, size_t slot, uint32_t l, const char *post, const char *proj,
                                  const float *dres, size_t T)
{
    ck_trainer *t = w->t;
    const char *n = w->sec->name;
    if (!w->sec->post_norms)
        return dres;
    char p[96];
    float *dx = buf(t, 1, "%s.layer.%u.%s.out.grad", n, l, proj);
    snprintf(p, sizeof p, "%s.layer.%u.%s", n, l, post);
    norm_bwd_dy(w, slot, p, buf(t, 1, "%s.layer.%u.%s.out", n, l, proj), dres, dx, T);
    return dx;
}

/* One decoder layer, backwards. res_in / dres_in: the residual stream the
 * layer reads and where its gradient goes (the previous layer's output or
 * the header's). */
static void layer_bwd(walk *w, uint32_t l, const float *res_in, float *dres_in, size_t T)
{
    ck_trainer *t = w->t;
    const ck_section *s = w->sec;
    const char *n = s->name;
    size_t D = s->d_model, slot = t->slot_base[w->si] + 1 + l;
    char p[96];
    float *dR2 = buf(t, 1, L_("mlp_residual.out.grad"), n, l);
    float *r1 = buf(t, 1, L_("attn_residual.out"), n, l), *dR1 = buf(t, 1, L_("attn_residual.out.grad"), n, l);
    float *mlp_dx = buf(t, 1, L_("mlp_norm.x.grad"), n, l), *attn_dx = buf(t, 1, L_("attn_norm.x.grad"), n, l);
    mlp_bwd(w, slot, l, post_norm_bwd(w, slot, l, "post_mlp_norm", "mlp_down", dR2, T), T);
    snprintf(p, sizeof p, L_("mlp_norm"), n, l);
    norm_bwd(w, slot, p, r1, mlp_dx, T);
    /* r2 = r1 + mlp(norm(r1)): both branches carry gradient back to r1 */
    snprintf(p, sizeof p, L_("attn_residual (residual + mlp_norm)"), n, l);
    add_join(w, slot, p, dR2, mlp_dx, dR1, T * D);
    attention_bwd(w, slot, l, post_norm_bwd(w, slot, l, "post_attn_norm", "out_proj", dR1, T), T);
    snprintf(p, sizeof p, L_("attn_norm"), n, l);
    norm_bwd(w, slot, p, res_in, attn_dx, T);
    snprintf(p, sizeof p, L_("residual in (residual + attn_norm)"), n, l);
    add_join(w, slot, p, dR1, attn_dx, dres_in, T * D);
}

/* Rows of section si's embedding output that a bridge overwrote (image
 * tokens): they did not come from the table. */
static size_t spliced_rows(const ck_trainer *t, uint32_t si, size_t T)
{
    const ck_model *m = t->model;
    for (size_t i = 0; i < m->n_sections; i++) {
        const ck_section *v = &m->sections[i];
        char name[96];
        if (!v->has_bridge || v->bridge_to != si)
            continue;
        snprintf(name, sizeof name, "%s.footer.bridge.out", v->name);
        const ck_buffer *b = train_find(t, name);
        if (b)
            return b->shape[0] < T ? b->shape[0] : T;
    }
    return 0;
}

/* The header backwards from the gradient of its output (dres): pre_norm,
 * learned positions, the embedding's scatter-add. */
static void header_bwd(walk *w, float *dres, size_t T, size_t splice)
{
    ck_trainer *t = w->t;
    const ck_section *s = w->sec;
    const char *n = s->name;
    size_t D = s->d_model, slot = t->slot_base[w->si];
    float *emb_out = buf(t, 1, H_("embedding.out"), n), *demb = buf(t, 1, H_("embedding.out.grad"), n);
    float *d = dres;
    if (s->pre_norm) {
        int learned = s->position == CK_POS_LEARNED;
        float *x = learned ? buf(t, 1, H_("pos_add.out"), n) : emb_out;
        float *dx = learned ? buf(t, 1, H_("pos_add.out.grad"), n) : demb;
        char p[96];
        snprintf(p, sizeof p, H_("pre_norm"), n);
        norm_bwd(w, slot, p, x, dx, T);
        d = dx;
    }
    if (s->position == CK_POS_LEARNED) {
        /* out = embedded + pos_embed (T = seq_len rows in training): the
         * table's gradient is the output's, written as 0 + out.grad so that
         * it too is an op of the plugin; the embedding's is the same tensor */
        float *dpos = buf(t, 1, H_("pos_add.pos_embed.grad"), n);
        op_step *st = add_op(w, CK_OP_ADD, slot, H_("pos_add (pos_embed.grad = out.grad)"), n);
        st->zero = dpos;
        st->zero_bytes = T * D * sizeof(float);
        st->args.add = (ck_add_args){d, dpos, dpos, T * D};
    }
    op_step *st = add_op(w, CK_OP_EMBEDDING_BWD, slot, H_("embedding"), n);
    float *dtable = buf(t, 1, H_("embedding.table.grad"), n);
    const int32_t *ids = buf(t, 1, H_("embedding.ids"), n);
    /* tied: the lm_head's share is already there, the scatter-add sums into it */
    st->zero = s->tie_embeddings ? NULL : dtable;
    st->zero_bytes = s->vocab * D * sizeof(float);
    if (s->embedding_scale != 0.0) { /* out = scale * table[id]: d(table[id]) = scale * d(out) */
        st->scale = d + splice * D;
        st->scale_n = (T - splice) * D;
        st->scale_by = (float)s->embedding_scale;
    }
    st->args.emb = (ck_embedding_bwd_args){ids ? ids + splice : NULL, d + splice * D, dtable, T - splice, s->vocab, D};
}

/* Loss, footer, layers in reverse and header of decoder section si. */
static void section_bwd(ck_trainer *t, uint32_t si, walk *w, size_t first, size_t rows)
{
    const ck_section *s = &t->model->sections[si];
    const char *n = s->name;
    size_t T = s->seq_len, D = s->d_model, V = s->vocab, L = s->n_layers;
    size_t foot = t->slot_base[si] + 1 + L, splice = spliced_rows(t, si, T);
    const char *last_out = s->position == CK_POS_LEARNED ? "pos_add" : "embedding";
    if (s->pre_norm)
        last_out = "pre_norm";
    float *head_out = buf(t, 1, "%s.header.%s.out", n, last_out);
    float *dhead_out = buf(t, 1, "%s.header.%s.out.grad", n, last_out);
    float *res = L ? buf(t, 1, L_("mlp_residual.out"), n, (uint32_t)(L - 1)) : head_out;
    float *dres = L ? buf(t, 1, L_("mlp_residual.out.grad"), n, (uint32_t)(L - 1)) : dhead_out;
    float *logits = buf(t, 1, F_("lm_head.logits"), n), *dlogits = buf(t, 1, F_("lm_head.logits.grad"), n);
    int32_t *targets = buf(t, 1, F_("lm_head.targets"), n);
    op_step *ce = add_op(w, CK_OP_CROSS_ENTROPY, foot, F_("loss (cross_entropy)"), n);
    ce->args.ce = (ck_cross_entropy_args){logits ? logits + first * V : NULL,
                                          targets ? targets + first : NULL,
                                          buf(t, 1, F_("lm_head.loss"), n),
                                          dlogits ? dlogits + first * V : NULL,
                                          rows,
                                          V};
    if (s->final_softcap != 0.0 && logits && dlogits) {
        ce->cap_y = logits + first * V;
        ce->cap_dy = dlogits + first * V;
        ce->cap_n = rows * V;
        ce->cap = s->final_softcap;
    }
    char p[96];
    snprintf(p, sizeof p, F_("lm_head"), n);
    float *h = s->final_norm ? buf(t, 1, F_("final_norm.out"), n) : res;
    float *dh = s->final_norm ? buf(t, 1, F_("final_norm.out.grad"), n) : dres;
    if (s->tie_embeddings) /* the head's dW goes to the table's gradient first; the embedding adds to it */
        tied_head_bwd(w, foot, p, h, dlogits, dh, T);
    else
        linear_bwd(w, foot, p, h, dlogits, dh, T, D, V);
    if (s->final_norm) {
        snprintf(p, sizeof p, F_("final_norm"), n);
        norm_bwd(w, foot, p, res, dres, T);
    }
    for (uint32_t l = (uint32_t)L; l-- > 0;) {
        const float *rin = l ? buf(t, 1, L_("mlp_residual.out"), n, l - 1) : head_out;
        float *drin = l ? buf(t, 1, L_("mlp_residual.out.grad"), n, l - 1) : dhead_out;
        layer_bwd(w, l, rin, drin, T);
    }
    header_bwd(w, dhead_out, T, splice);
}

/* Targets: the next token of the batch. Rows whose next token is an image
 * row (spliced by a bridge) predict nothing. Returns the rows [first,
 * first + rows) that carry the loss. */
static int bind_targets(ck_trainer *t, uint32_t si, size_t *first, size_t *rows, char *err, size_t len)
{
    const ck_section *s = &t->model->sections[si];
    size_t T = s->seq_len, splice = spliced_rows(t, si, T);
    const int32_t *ids = buf(t, 1, H_("embedding.ids"), s->name);
    int32_t *targets = buf(t, 1, F_("lm_head.targets"), s->name);
    if (!ids || !targets)
        return train_failf(err, len, "%s: internal: the training plan has no %s", t->model->name, t->err_name);
    *first = splice ? splice - 1 : 0;
    if (T < 2 || *first + 1 >= T)
        return train_failf(err, len, "%s: section \"%s\": no next token to predict (seq_len %zu, %zu image rows)",
                           t->model->name, s->name, T, splice);
    *rows = T - 1 - *first;
    for (size_t i = 0; i < T; i++)
        targets[i] = i + 1 < T ? ids[i + 1] : 0; /* the last row has no next token: unused */
    return 0;
}

/* One Adam step per trained weight; the planner puts grad, adam_m, adam_v
 * right after each weight. */
static int bind_adam(ck_trainer *t, char *err, size_t len)
{
    const ck_plan *p = ck_runner_plan(t->runner);
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *b = &p->buffers[i];
        if (b->kind != CK_BUF_WEIGHT || t->model->sections[b->section].kind != CK_SECTION_DECODER)
            continue;
        if (i + 3 >= p->n_buffers || b[1].kind != CK_BUF_GRADIENT || b[2].kind != CK_BUF_OPTIMIZER_M ||
            b[3].kind != CK_BUF_OPTIMIZER_V || b->dtype != CK_DTYPE_F32)
            return train_failf(err, len, "%s: internal: weight %s has no f32 grad, adam_m, adam_v after it", p->model,
                               b->name);
        size_t slot = train_slot_of(t, b->section, b->part, b->layer);
        op_step *s = push(&t->adam, CK_OP_ADAM, slot, b->name);
        if (!s)
            return train_failf(err, len, "%s: out of memory", b->name);
        s->args.adam = (ck_adam_args){train_at(t, b),
                                      train_at(t, b + 2),
                                      train_at(t, b + 3),
                                      train_at(t, b + 1),
                                      b->size / sizeof(float),
                                      t->opts.lr,
                                      t->opts.beta1,
                                      t->opts.beta2,
                                      t->opts.eps,
                                      b->ndim == 2 ? t->opts.weight_decay : 0.0f,
                                      0,
                                      0,
                                      0};
    }
    return 0;
}

/* Every op's kernel through the runner's chain, as the forward's were
 * (run_pick_kernel): the first plugin that has it (f32, no variant) and
 * honours what its bound arguments need, else scalar. */
static int pick_kernels(ck_trainer *t, op_list *l, char *err, size_t len)
{
    const ck_runner *r = t->runner;
    for (size_t i = 0; i < l->n; i++) {
        op_step *s = &l->v[i];
        s->kernel = run_pick_kernel(r, s->op, CK_DTYPE_F32, 0, &s->args, &s->plugin, &s->fallback);
        if (!s->kernel)
            return train_failf(err, len, "%s: %s: no f32 %s kernel in plugin '%s'%s nor in scalar", t->model->name,
                               s->label, ck_op_name(s->op), r->plugin->desc->name,
                               r->n_chain > 1 ? " (nor the rest of the chain)" : "");
    }
    return 0;
}

int train_bind(ck_trainer *t, char *err, size_t len)
{
    const ck_model *m = t->model;
    size_t slots = 0, decoders = 0;
    for (uint32_t si = 0; si < m->n_sections; si++) {
        t->slot_base[si] = slots;
        slots += m->sections[si].n_layers + 2;
    }
    t->n_times = slots;
    if (!(t->times = calloc(slots, sizeof *t->times)))
        return train_failf(err, len, "out of memory");
    for (uint32_t si = 0; si < m->n_sections; si++)
        for (size_t k = 0; k < m->sections[si].n_layers + 2; k++) {
            ck_train_time *tt = &t->times[t->slot_base[si] + k];
            tt->section = si;
            tt->part = k == 0 ? CK_PART_HEADER : k <= m->sections[si].n_layers ? CK_PART_LAYER : CK_PART_FOOTER;
            tt->layer = tt->part == CK_PART_LAYER ? (uint32_t)(k - 1) : 0;
        }
    /* decoders last to first: a later section's gradient never flows into an
     * earlier decoder (only bridges connect sections, and encoders are frozen) */
    for (uint32_t si = (uint32_t)m->n_sections; si-- > 0;) {
        if (m->sections[si].kind != CK_SECTION_DECODER) {
            t->frozen_sections++;
            continue;
        }
        size_t first = 0, rows = 0;
        if (bind_targets(t, si, &first, &rows, err, len))
            return -1;
        walk w = {t, &t->backward, &m->sections[si], si, 0};
        section_bwd(t, si, &w, first, rows);
        if (t->err_name[0])
            return train_failf(err, len, "%s: internal: the training plan has no buffer %s", m->name, t->err_name);
        if (w.fail)
            return train_failf(err, len, "%s: out of memory binding the backward pass", m->name);
        decoders++;
    }
    if (!decoders)
        return train_failf(err, len, "model \"%s\": nothing to train: expected a decoder section", m->name);
    if (bind_adam(t, err, len))
        return -1;
    return pick_kernels(t, &t->backward, err, len) || pick_kernels(t, &t->adam, err, len) ? -1 : 0;
}
