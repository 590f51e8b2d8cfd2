/* The fused ops' cases. A fused op is its members run in order
 * (ck_plugin.h), so its case is built from the members' own cases: each
 * member is built as if unfused, its buffers renamed "<member>.<field>",
 * then every input that is a previous member's output is dropped and
 * pointed at that output. Intermediates the fused kernel may leave unwritten
 * become CK_BUF_SCRATCH; the ones it must write stay outputs. */
#include <stdio.h>
#include <string.h>

#include "case_internal.h"

/* Build member m into c (its own shape and generator streams), rename its
 * buffers and hand back its argument struct. */
static int build_member(ck_case *c, size_t m, const char *prefix, case_args *out, char *err, size_t err_len)
{
    size_t first = c->n_bufs;
    ck_shape fused = c->shape;
    c->shape = c->members[m];
    int rc = case_build_op(c, err, err_len);
    c->shape = fused;
    if (rc != 0)
        return -1;
    *out = c->args;
    for (size_t i = first; i < c->n_bufs; i++) {
        snprintf(c->names[i], sizeof c->names[i], "%s.%s", prefix, c->bufs[i].name);
        c->bufs[i].name = c->names[i];
    }
    return 0;
}

/* The input `dropped` of a later member is the output `kept` of an earlier
 * one: they must have the same size and type. */
static int link(ck_case *c, const void *dropped, const void *kept, char *err, size_t err_len)
{
    ck_case_buf *d = case_buf_of(c, dropped), *k = case_buf_of(c, kept);
    if (!d || !k) {
        case_fail(err, err_len, &c->shape, "members do not fit: a linked buffer is missing");
        return -1;
    }
    if (d->count != k->count || d->dtype != k->dtype) {
        case_fail(err, err_len, &c->shape, "members do not fit: '%s' has %zu values, '%s' %zu", d->name, d->count,
                  k->name, k->count);
        return -1;
    }
    case_drop_buf(c, dropped);
    return 0;
}

static void set_role(ck_case *c, const void *data, ck_buf_role role)
{
    ck_case_buf *b = case_buf_of(c, data);
    if (b)
        b->role = role;
}

static int is_norm(uint32_t op)
{
    return op == CK_OP_RMSNORM || op == CK_OP_LAYERNORM;
}

static uint32_t norm_kind(uint32_t op)
{
    return op == CK_OP_LAYERNORM ? CK_NORM_LAYER : CK_NORM_RMS;
}

/* 0 if the members are the ops this fused op is made of, in order (`fits`,
 * over the members); else -1 with err. */
static int misfit(const ck_case *c, int fits, char *err, size_t err_len)
{
    if (fits)
        return 0;
    case_fail(err, err_len, &c->shape, "the members (%zu, first %s) are not those of this fused op", c->n_members,
              ck_op_name(c->members[0].op));
    return -1;
}

/* In a fused builder: its members' count, the op of member i, and the check. */
#define NM (c->n_members)
#define OP(i) (c->members[i].op)
#define MEMBERS_FIT(cond) (misfit(c, (cond), err, err_len) == 0)

/* Two-member fusions: build both, then link. */
static int build_pair(ck_case *c, const char *p0, const char *p1, case_args *a0, case_args *a1, char *err,
                      size_t err_len)
{
    return build_member(c, 0, p0, a0, err, err_len) || build_member(c, 1, p1, a1, err, err_len) ? -1 : 0;
}

int case_fuse_embed_norm(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT(NM == 2 && OP(0) == CK_OP_EMBEDDING && is_norm(OP(1))))
        return -1;
    case_args e, n;
    if (build_pair(c, "embed", "norm", &e, &n, err, err_len) || link(c, n.norm.x, e.embedding.y, err, err_len))
        return -1;
    n.norm.x = e.embedding.y; /* the residual stream: written, compared */
    c->args.embed_norm = (ck_fused_embed_norm_args){e.embedding, n.norm, norm_kind(c->members[1].op)};
    return 0;
}

int case_fuse_norm_qkv(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT(NM == 2 && is_norm(OP(0)) && OP(1) == CK_OP_QKV))
        return -1;
    case_args n, q;
    if (build_pair(c, "norm", "qkv", &n, &q, err, err_len) || link(c, q.qkv.x, n.norm.y, err, err_len))
        return -1;
    set_role(c, n.norm.y, CK_BUF_SCRATCH);
    q.qkv.x = n.norm.y;
    c->args.norm_qkv = (ck_fused_norm_qkv_args){n.norm, q.qkv, norm_kind(c->members[0].op)};
    return 0;
}

int case_fuse_qkv_rope(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT(NM == 2 && OP(0) == CK_OP_QKV && OP(1) == CK_OP_ROPE))
        return -1;
    case_args q, r;
    if (build_pair(c, "qkv", "rope", &q, &r, err, err_len) || link(c, r.rope.q, q.qkv.q, err, err_len) ||
        (r.rope.k && link(c, r.rope.k, q.qkv.k, err, err_len)))
        return -1;
    r.rope.q = q.qkv.q; /* written rotated: the outputs */
    if (r.rope.k)
        r.rope.k = q.qkv.k;
    c->args.qkv_rope = (ck_fused_qkv_rope_args){q.qkv, r.rope};
    return 0;
}

int case_fuse_attn_proj(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT(NM == 2 && OP(0) == CK_OP_ATTENTION && !c->members[0].materialize && OP(1) == CK_OP_LINEAR))
        return -1;
    case_args a, p;
    if (build_pair(c, "attn", "proj", &a, &p, err, err_len) || link(c, p.linear.x, a.attention.out, err, err_len))
        return -1;
    set_role(c, a.attention.out, CK_BUF_SCRATCH);
    p.linear.x = a.attention.out;
    c->args.attn_proj = (ck_fused_attn_proj_args){a.attention, p.linear};
    return 0;
}

int case_fuse_norm_mlp(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT((NM == 2 || NM == 3) && is_norm(OP(0)) && OP(1) == CK_OP_LINEAR &&
                     (NM == 2 || OP(2) == CK_OP_LINEAR)))
        return -1;
    int gelu = c->n_members == 2; /* norm, up: no gate */
    case_args n, g = {0}, u;
    if (build_member(c, 0, "norm", &n, err, err_len) || (!gelu && build_member(c, 1, "gate", &g, err, err_len)) ||
        build_member(c, gelu ? 1 : 2, "up", &u, err, err_len) ||
        (!gelu && link(c, g.linear.x, n.norm.y, err, err_len)) || link(c, u.linear.x, n.norm.y, err, err_len))
        return -1;
    set_role(c, n.norm.y, CK_BUF_SCRATCH);
    if (!gelu)
        g.linear.x = n.norm.y;
    u.linear.x = n.norm.y;
    c->args.norm_mlp = (ck_fused_norm_mlp_args){n.norm, g.linear, u.linear, norm_kind(c->members[0].op)};
    return 0;
}

int case_fuse_gate_up(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT(NM == 3 && OP(0) == CK_OP_LINEAR && OP(1) == CK_OP_LINEAR && OP(2) == CK_OP_SWIGLU))
        return -1;
    case_args g, u, s;
    if (build_member(c, 0, "gate", &g, err, err_len) || build_member(c, 1, "up", &u, err, err_len) ||
        build_member(c, 2, "act", &s, err, err_len) || link(c, u.linear.x, g.linear.x, err, err_len) ||
        link(c, s.swiglu.gate, g.linear.y, err, err_len) || link(c, s.swiglu.up, u.linear.y, err, err_len))
        return -1;
    set_role(c, g.linear.y, CK_BUF_SCRATCH);
    set_role(c, u.linear.y, CK_BUF_SCRATCH);
    u.linear.x = g.linear.x;
    s.swiglu.gate = g.linear.y;
    s.swiglu.up = u.linear.y;
    c->args.gate_up = (ck_fused_gate_up_args){g.linear, u.linear, s.swiglu};
    return 0;
}

int case_fuse_act_down(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT(NM == 2 && ck_activation_of(OP(0)) != UINT32_MAX && OP(1) == CK_OP_LINEAR))
        return -1;
    int swiglu = c->members[0].op == CK_OP_SWIGLU;
    case_args a, d;
    if (build_pair(c, "act", "down", &a, &d, err, err_len))
        return -1;
    float *act_y = swiglu ? a.swiglu.y : a.unary.y;
    if (link(c, d.linear.x, act_y, err, err_len))
        return -1;
    set_role(c, act_y, CK_BUF_SCRATCH);
    d.linear.x = act_y;
    ck_fused_act_down_args f = {.act_kind = ck_activation_of(OP(0)), .down = d.linear};
    if (swiglu)
        f.swiglu = a.swiglu;
    else
        f.gelu = a.unary;
    c->args.act_down = f;
    return 0;
}

int case_fuse_add_norm(ck_case *c, char *err, size_t err_len)
{
    if (!MEMBERS_FIT(NM == 2 && OP(0) == CK_OP_ADD && is_norm(OP(1))))
        return -1;
    case_args a, n;
    if (build_pair(c, "add", "norm", &a, &n, err, err_len) || link(c, n.norm.x, a.add.y, err, err_len))
        return -1;
    n.norm.x = a.add.y; /* the new residual: written, compared */
    c->args.add_norm = (ck_fused_add_norm_args){a.add, n.norm, norm_kind(c->members[1].op)};
    return 0;
}
