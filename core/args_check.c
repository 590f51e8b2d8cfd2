/* args_check.c — the argument rules of docs/ops.md checked once, in the
 * host, before a kernel sees them (ck_op_check_args, ck_host.h): null
 * pointers where there is work to do, shape rules, and aliasing (an output
 * may alias an input exactly where the contract says "may alias", never
 * overlap it partly, and never overlap an input it must not alias). The
 * runtime checks every bound node and the harness every case it builds, so a
 * kernel keeps only its own limits (CK_E_UNSUPPORTED). Data-dependent rules
 * (token ids in range) stay with the kernels: checking them here would read
 * the data. */
#include <float.h>
#include <stdarg.h>
#include <stdio.h>

#include "ck_host.h"

typedef struct checker {
    char *err;
    size_t len;
    const char *op;
    int bad;
} checker;

static void fail(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(checker *c, const char *fmt, ...)
{
    if (c->bad++)
        return; /* the first problem is the one reported */
    int n = snprintf(c->err, c->len, "%s: ", c->op);
    if (n >= 0 && (size_t)n < c->len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->len - (size_t)n, fmt, ap);
        va_end(ap);
    }
}

static void need(checker *c, const void *p, int work, const char *name)
{
    if (work && !p)
        fail(c, "%s is NULL with work to do", name);
}

/* Bytes [p, p + n) and [q, q + m) share a byte. */
static int overlap(const void *p, size_t n, const void *q, size_t m)
{
    const char *a = p, *b = q;
    return a && b && n && m && a < b + m && b < a + n;
}

/* An output that may alias an input: the same start, or no overlap at all. */
static void alias_ok(checker *c, const void *out, const void *in, size_t bytes, const char *o, const char *i)
{
    if (out != in && overlap(out, bytes, in, bytes))
        fail(c, "%s partly overlaps %s (it may be the same buffer, not a shifted one)", o, i);
}

static void disjoint(checker *c, const void *out, size_t n, const void *in, size_t m, const char *o, const char *i)
{
    if (overlap(out, n, in, m))
        fail(c, "%s overlaps %s, which it may not alias", o, i);
}

static int weight_dtype(uint32_t d)
{
    return d == CK_DTYPE_F32 || d == CK_DTYPE_BF16 || d == CK_DTYPE_F16 || d == CK_DTYPE_Q8_0 || d == CK_DTYPE_Q4_0;
}

static void dtype_rule(checker *c, uint32_t d, size_t K, const char *field)
{
    if (!weight_dtype(d))
        fail(c, "%s %u is not a weight dtype (f32, bf16, f16, q8_0, q4_0)", field, d);
    else if ((d == CK_DTYPE_Q8_0 || d == CK_DTYPE_Q4_0) && K % CK_QBLOCK)
        fail(c, "%s %s needs the reduction length (%zu) to be a multiple of %d", field, ck_dtype_name(d), K, CK_QBLOCK);
}

static void heads_rule(checker *c, size_t H, size_t Hkv, size_t hd)
{
    if (!Hkv || H % Hkv)
        fail(c, "n_kv_heads (%zu) must be >= 1 and divide n_heads (%zu)", Hkv, H);
    if (!hd)
        fail(c, "head_dim is 0");
}

static void check_norm(checker *c, const ck_norm_args *a)
{
    int work = a->T && a->D;
    need(c, a->x, work, "x");
    need(c, a->y, work, "y");
    need(c, a->gamma, work, "gamma");
    alias_ok(c, a->y, a->x, a->T * a->D * 4, "y", "x");
    if (!(a->eps >= 0))
        fail(c, "eps must be >= 0");
}

static void check_linear(checker *c, const ck_linear_args *a)
{
    int work = a->T && a->N;
    need(c, a->x, work && a->K, "x");
    need(c, a->w, work && a->K, "w");
    need(c, a->y, work, "y");
    dtype_rule(c, a->w_dtype, a->K, "w_dtype");
    disjoint(c, a->y, a->T * a->N * 4, a->x, a->T * a->K * 4, "y", "x");
}

static void check_qkv(checker *c, const ck_qkv_args *a)
{
    heads_rule(c, a->n_heads, a->n_kv_heads, a->head_dim);
    size_t nq = a->T * a->n_heads * a->head_dim * 4, nkv = a->T * a->n_kv_heads * a->head_dim * 4;
    int work = a->T && a->D;
    need(c, a->x, work, "x");
    need(c, a->wq, work, "wq");
    need(c, a->wk, work, "wk");
    need(c, a->wv, work, "wv");
    need(c, a->q, a->T, "q");
    need(c, a->k, a->T, "k");
    need(c, a->v, a->T, "v");
    dtype_rule(c, a->w_dtype, a->D, "w_dtype");
    size_t nx = a->T * a->D * 4;
    disjoint(c, a->q, nq, a->x, nx, "q", "x");
    disjoint(c, a->k, nkv, a->x, nx, "k", "x");
    disjoint(c, a->v, nkv, a->x, nx, "v", "x");
    disjoint(c, a->q, nq, a->k, nkv, "q", "k");
    disjoint(c, a->q, nq, a->v, nkv, "q", "v");
    disjoint(c, a->k, nkv, a->v, nkv, "k", "v");
}

static void check_rope(checker *c, const ck_rope_args *a)
{
    if (a->head_dim % 2)
        fail(c, "head_dim %zu is odd: rope rotates pairs", a->head_dim);
    if (a->pairing != CK_ROPE_NEOX && a->pairing != CK_ROPE_GPTJ)
        fail(c, "pairing %u is neither neox nor gptj", a->pairing);
    if (a->rotary_dim && (a->rotary_dim % 2 || a->rotary_dim > a->head_dim))
        fail(c, "rotary_dim %zu: expected 0 (all of head_dim) or an even number in [2, head_dim %zu]", a->rotary_dim,
             a->head_dim);
    if (a->T && a->pos_offset + a->T > a->max_pos)
        fail(c, "positions %zu..%zu need table rows beyond max_pos %zu", a->pos_offset, a->pos_offset + a->T - 1,
             a->max_pos);
    need(c, a->q, a->T, "q");
    need(c, a->cos_tab, a->T, "cos_tab");
    need(c, a->sin_tab, a->T, "sin_tab");
    if (a->k)
        disjoint(c, a->q, a->T * a->n_heads * a->head_dim * 4, a->k, a->T * a->n_kv_heads * a->head_dim * 4, "q", "k");
}

static void check_attention(checker *c, const ck_attention_args *a)
{
    heads_rule(c, a->n_heads, a->n_kv_heads, a->head_dim);
    size_t nq = a->T * a->n_heads * a->head_dim * 4, nkv = a->S * a->n_kv_heads * a->head_dim * 4;
    need(c, a->q, a->T, "q");
    need(c, a->out, a->T, "out");
    need(c, a->k, a->T && a->S, "k");
    need(c, a->v, a->T && a->S, "v");
    if (a->window && !a->causal)
        fail(c, "window %zu on a bidirectional attention: a sliding window is causal only", a->window);
    if (!(a->softcap >= 0.0f) || a->softcap > FLT_MAX)
        fail(c, "softcap %g: expected 0 (none) or a finite positive cap", (double)a->softcap);
    if ((a->scores == NULL) != (a->probs == NULL))
        fail(c, "scores and probs must both be given (materialising) or both be NULL (streaming)");
    disjoint(c, a->out, nq, a->q, nq, "out", "q");
    disjoint(c, a->out, nq, a->k, nkv, "out", "k");
    disjoint(c, a->out, nq, a->v, nkv, "out", "v");
}

static void check_elementwise(checker *c, const void *y, const void *a, const void *b, size_t n, const char *an,
                              const char *bn)
{
    need(c, y, n, "y");
    need(c, a, n, an);
    if (bn)
        need(c, b, n, bn);
    alias_ok(c, y, a, n * 4, "y", an);
    if (bn)
        alias_ok(c, y, b, n * 4, "y", bn);
}

static void check_embedding(checker *c, const ck_embedding_args *a)
{
    need(c, a->ids, a->T, "ids");
    need(c, a->table, a->T && a->D, "table");
    need(c, a->y, a->T && a->D, "y");
    if (a->T && !a->vocab)
        fail(c, "vocab is 0: no id can be in range");
    dtype_rule(c, a->dtype, a->D, "dtype");
}

static void check_adam(checker *c, const ck_adam_args *a)
{
    need(c, a->w, a->n, "w");
    need(c, a->m, a->n, "m");
    need(c, a->v, a->n, "v");
    need(c, a->g, a->n, "g");
    if (a->step == 0)
        fail(c, "step is 0 (1-based)");
    if (!(a->bc1 > 0 && a->bc1 <= 1) || !(a->bc2 > 0 && a->bc2 <= 1))
        fail(c, "bc1 (%g) and bc2 (%g) must be in (0, 1]", (double)a->bc1, (double)a->bc2);
}

static void check_quant(checker *c, const ck_quant_args *a)
{
    need(c, a->src, a->n, "src");
    need(c, a->dst, a->n, "dst");
    if (a->dtype != CK_DTYPE_Q8_0 && a->dtype != CK_DTYPE_Q4_0)
        fail(c, "dtype %s is not q8_0 or q4_0", ck_dtype_name(a->dtype));
    if (a->n % CK_QBLOCK)
        fail(c, "n (%zu) is not a multiple of %d", a->n, CK_QBLOCK);
}

static void check_gated(checker *c, const ck_swiglu_args *a)
{
    check_elementwise(c, a->y, a->gate, a->up, a->n, "gate", "up");
}

static void check_gelu(checker *c, const ck_unary_args *a)
{
    check_elementwise(c, a->y, a->x, NULL, a->n, "x", NULL);
}

static void check_add(checker *c, const ck_add_args *a)
{
    check_elementwise(c, a->y, a->a, a->b, a->n, "a", "b");
}

/* ---- backward ops ---- */

static void check_norm_bwd(checker *c, const ck_norm_bwd_args *a)
{
    int work = a->T && a->D;
    need(c, a->x, work, "x");
    need(c, a->gamma, work, "gamma");
    need(c, a->dy, work, "dy");
    need(c, a->dx, work, "dx");
    need(c, a->dgamma, work, "dgamma");
}

static void check_linear_bwd(checker *c, const ck_linear_bwd_args *a)
{
    int work = a->T && a->K && a->N;
    need(c, a->x, work, "x");
    need(c, a->w, work, "w");
    need(c, a->dy, a->T && a->N, "dy"); /* read for db too, whatever K */
    disjoint(c, a->dx, a->T * a->K * 4, a->dy, a->T * a->N * 4, "dx", "dy");
}

static void check_qkv_bwd(checker *c, const ck_qkv_bwd_args *a)
{
    heads_rule(c, a->n_heads, a->n_kv_heads, a->head_dim);
    need(c, a->x, a->T && a->D, "x");
    need(c, a->wq, a->T && a->D, "wq");
    need(c, a->wk, a->T && a->D, "wk");
    need(c, a->wv, a->T && a->D, "wv");
    need(c, a->dq, a->T, "dq");
    need(c, a->dk, a->T, "dk");
    need(c, a->dv, a->T, "dv");
}

static void check_attention_bwd(checker *c, const ck_attention_bwd_args *a)
{
    heads_rule(c, a->n_heads, a->n_kv_heads, a->head_dim);
    need(c, a->q, a->T, "q");
    need(c, a->dout, a->T, "dout");
    need(c, a->dq, a->T, "dq");
    need(c, a->k, a->T && a->S, "k");
    need(c, a->v, a->T && a->S, "v");
    if (a->window && !a->causal)
        fail(c, "window %zu on a bidirectional attention: a sliding window is causal only", a->window);
    if (!(a->softcap >= 0.0f) || a->softcap > FLT_MAX)
        fail(c, "softcap %g: expected 0 (none) or a finite positive cap", (double)a->softcap);
}

static void check_swiglu_bwd(checker *c, const ck_swiglu_bwd_args *a)
{
    need(c, a->gate, a->n, "gate");
    need(c, a->up, a->n, "up");
    need(c, a->dy, a->n, "dy");
}

static void check_gelu_bwd(checker *c, const ck_unary_bwd_args *a)
{
    need(c, a->x, a->n, "x");
    need(c, a->dy, a->n, "dy");
    need(c, a->dx, a->n, "dx");
}

static void check_embedding_bwd(checker *c, const ck_embedding_bwd_args *a)
{
    need(c, a->ids, a->T, "ids");
    need(c, a->dy, a->T && a->D, "dy");
    need(c, a->dtable, a->T && a->D, "dtable");
}

static void check_cross_entropy(checker *c, const ck_cross_entropy_args *a)
{
    need(c, a->logits, a->T && a->V, "logits");
    need(c, a->targets, a->T, "targets");
    need(c, a->loss, 1, "loss");
    if (a->T && !a->V)
        fail(c, "V is 0: no target can be in range");
}

/* ---- fused ops: each member against its own rules, and the kinds ---- */

static void kind_rule(checker *c, uint32_t kind, uint32_t a, uint32_t b, const char *field)
{
    if (kind != a && kind != b)
        fail(c, "%s %u is not one of the kinds ck_plugin.h names (%u, %u)", field, kind, a, b);
}

static void norm_kind_rule(checker *c, uint32_t kind)
{
    kind_rule(c, kind, CK_NORM_RMS, CK_NORM_LAYER, "norm_kind");
}

static void check_embed_norm(checker *c, const ck_fused_embed_norm_args *a)
{
    norm_kind_rule(c, a->norm_kind);
    check_embedding(c, &a->embed);
    check_norm(c, &a->norm);
}

static void check_norm_qkv(checker *c, const ck_fused_norm_qkv_args *a)
{
    norm_kind_rule(c, a->norm_kind);
    check_norm(c, &a->norm);
    check_qkv(c, &a->qkv);
}

static void check_qkv_rope(checker *c, const ck_fused_qkv_rope_args *a)
{
    check_qkv(c, &a->qkv);
    check_rope(c, &a->rope);
}

static void check_attn_proj(checker *c, const ck_fused_attn_proj_args *a)
{
    check_attention(c, &a->attn);
    check_linear(c, &a->proj);
}

static void check_norm_mlp(checker *c, const ck_fused_norm_mlp_args *a)
{
    norm_kind_rule(c, a->norm_kind);
    check_norm(c, &a->norm);
    if (a->gate.w) /* a GELU MLP has no gate */
        check_linear(c, &a->gate);
    check_linear(c, &a->up);
}

static void check_gate_up(checker *c, const ck_fused_gate_up_args *a)
{
    check_linear(c, &a->gate);
    check_linear(c, &a->up);
    check_gated(c, &a->act);
}

static void check_act_down(checker *c, const ck_fused_act_down_args *a)
{
    if (a->act_kind > CK_ACTIVATION_QUICK_GELU)
        fail(c, "act_kind %u is not one of the kinds ck_plugin.h names (0 to %u)", a->act_kind,
             (unsigned)CK_ACTIVATION_QUICK_GELU);
    else if (a->act_kind == CK_ACTIVATION_SWIGLU)
        check_gated(c, &a->swiglu);
    else /* gelu, gelu_erf and quick_gelu: one input x */
        check_gelu(c, &a->gelu);
    check_linear(c, &a->down);
}

static void check_add_norm(checker *c, const ck_fused_add_norm_args *a)
{
    norm_kind_rule(c, a->norm_kind);
    check_add(c, &a->add);
    check_norm(c, &a->norm);
}

int ck_op_check_args(uint32_t op, const void *args, char *err, size_t err_len)
{
    checker c = {err, err_len, ck_op_name(op), 0};
    if (err && err_len)
        err[0] = 0;
    if (!args) {
        fail(&c, "no argument struct");
        return -1;
    }
    switch (op) { /* the check column of ck_ops.def */
#define CK_OP_ENTRY(ID, num, name, args_type, kind, FWD, cost, tol, shape, check)                                      \
    case CK_OP_##ID:                                                                                                   \
        check(&c, args);                                                                                               \
        break;
#include "ck_ops.def"
#undef CK_OP_ENTRY
    default: fail(&c, "unknown op id %u", op); return -1;
    }
    return c.bad ? -1 : 0;
}

int ck_kernel_call_checked(const ck_kernel_desc *k, const ck_exec_ctx *ctx, const void *args, char *err, size_t err_len)
{
    if (ck_op_check_args(k->op, args, err, err_len) != 0)
        return -1;
    return k->fn(ctx, args);
}
