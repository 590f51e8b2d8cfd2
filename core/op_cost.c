/* The analytic bytes and flops of every op (the model is described, op by op,
 * in ck_cost.h). One function per op so that each formula reads on its own. */
#include "ck_cost.h"

#define F32 ((uint64_t)sizeof(float))

static uint64_t weight_bytes(uint32_t dtype, size_t rows, size_t cols)
{
    return (uint64_t)rows * ck_dtype_row_bytes(dtype, cols);
}

static ck_cost norm_cost(const ck_shape *s, int layernorm)
{
    uint64_t td = (uint64_t)s->T * s->D;
    uint64_t params = (uint64_t)s->D * F32 * (layernorm && s->has_bias ? 2 : 1);
    return (ck_cost){2 * td * F32 + params, (layernorm ? 8 : 4) * td, td * F32, 0};
}

static ck_cost linear_cost(const ck_shape *s)
{
    uint64_t bytes = (uint64_t)s->T * s->K * F32 + weight_bytes(s->dtype, s->N, s->K) + (uint64_t)s->T * s->N * F32 +
                     (s->has_bias ? (uint64_t)s->N * F32 : 0);
    uint64_t flops = 2 * (uint64_t)s->T * s->K * s->N + (s->has_bias ? (uint64_t)s->T * s->N : 0);
    return (ck_cost){bytes, flops, (uint64_t)s->T * s->N * F32, 0};
}

static ck_cost qkv_cost(const ck_shape *s)
{
    uint64_t rows = (uint64_t)(s->n_heads + 2 * s->n_kv_heads) * s->head_dim; /* q, k, v outputs */
    uint64_t bytes = (uint64_t)s->T * s->D * F32 + rows * ck_dtype_row_bytes(s->dtype, s->D) +
                     (uint64_t)s->T * rows * F32 + (s->has_bias ? rows * F32 : 0);
    uint64_t flops = 2 * (uint64_t)s->T * s->D * rows + (s->has_bias ? (uint64_t)s->T * rows : 0);
    return (ck_cost){bytes, flops, (uint64_t)s->T * rows * F32, 0};
}

static ck_cost rope_cost(const ck_shape *s)
{
    uint64_t elems = (uint64_t)s->T * (s->n_heads + s->n_kv_heads) * s->head_dim;
    uint64_t tables = 2 * (uint64_t)s->T * (s->head_dim / 2) * F32;        /* cos and sin rows in use */
    return (ck_cost){2 * elems * F32 + tables, 3 * elems, 0, elems * F32}; /* q, k in place */
}

/* Keys query row t may see. */
static uint64_t visible_keys(const ck_shape *s, size_t t)
{
    if (!s->causal)
        return s->S;
    uint64_t last = (uint64_t)s->pos + t + 1;
    return last < s->S ? last : s->S;
}

/* Keys row t attends to: visible_keys less those a sliding window drops. */
static uint64_t seen_keys(const ck_shape *s, size_t t)
{
    uint64_t end = visible_keys(s, t), p = (uint64_t)s->pos + t;
    if (!s->causal || !s->window || p < s->window)
        return end;
    uint64_t lo = p - s->window + 1;
    return lo < end ? end - lo : 0;
}

static ck_cost attention_cost(const ck_shape *s)
{
    uint64_t hd = s->head_dim, H = s->n_heads, Hkv = s->n_kv_heads;
    uint64_t pairs = 0; /* visible (query row, key) pairs of one head */
    for (size_t t = 0; t < s->T; t++)
        pairs += seen_keys(s, t);
    uint64_t keys_read = s->T ? visible_keys(s, s->T - 1) : 0; /* the last row sees the most */
    uint64_t out = (uint64_t)s->T * H * hd * F32;
    uint64_t bytes = 2 * out                           /* q in, out */
                     + 2 * keys_read * Hkv * hd * F32; /* k, v */
    if (s->materialize) {
        bytes += 2 * H * (uint64_t)s->T * s->S * F32; /* scores, probs */
        out += 2 * H * (uint64_t)s->T * s->S * F32;
    }
    uint64_t flops = H * (pairs * (4 * hd + 5) + (uint64_t)s->T * hd);
    return (ck_cost){bytes, flops, out, 0};
}

/* Elementwise ops, adam and quantisation take n values, or T * D when the
 * shape gives rows instead (as harness/cases/case_buf.c does). */
static uint64_t element_count(const ck_shape *s)
{
    return s->n ? (uint64_t)s->n : (uint64_t)s->T * s->D;
}

/* in, out and inout: the streams of n f32 read, written and updated in place. */
static ck_cost elementwise_cost(const ck_shape *s, uint64_t in, uint64_t out, uint64_t inout, uint64_t flops_per_elem)
{
    uint64_t b = element_count(s) * F32;
    return (ck_cost){(in + out + 2 * inout) * b, flops_per_elem * element_count(s), out * b, inout * b};
}

static ck_cost embedding_cost(const ck_shape *s)
{
    uint64_t out = (uint64_t)s->T * s->D * F32;
    return (ck_cost){(uint64_t)s->T * sizeof(int32_t) + weight_bytes(s->dtype, s->T, s->D) + out, 0, out, 0};
}

static ck_cost quant_cost(const ck_shape *s, int quantize)
{
    uint64_t n = element_count(s), packed = ck_dtype_row_bytes(s->dtype, (size_t)n);
    return (ck_cost){n * F32 + packed, (quantize ? 3 : 1) * n, quantize ? packed : n * F32, 0};
}

/* ---- backward ops (training weights are f32) ---------------------------------- */

static ck_cost norm_bwd_cost(const ck_shape *s, int layernorm)
{
    uint64_t td = (uint64_t)s->T * s->D;
    uint64_t params = (uint64_t)s->D * F32 * (layernorm && s->has_bias ? 3 : 2);         /* gamma; dgamma (dbeta) */
    uint64_t out = td * F32 + (uint64_t)s->D * F32 * (layernorm && s->has_bias ? 2 : 1); /* dx, dgamma (dbeta) */
    return (ck_cost){4 * td * F32 + params, (layernorm ? 14 : 10) * td, out, 0};         /* x, dy in; dx out */
}

/* dx = dy.W (2TKN), dw = dy^T.x (2TKN), db = sum_t dy (TN). */
static ck_cost linear_bwd_cost(const ck_shape *s, size_t K, size_t N)
{
    uint64_t tk = (uint64_t)s->T * K, nk = (uint64_t)N * K, tn = (uint64_t)s->T * N;
    uint64_t out = (tk + nk) * F32 + (s->has_bias ? (uint64_t)N * F32 : 0); /* dx, dw, db */
    return (ck_cost){(2 * tk + 2 * nk + tn) * F32 + (s->has_bias ? (uint64_t)N * F32 : 0),
                     4 * (uint64_t)s->T * K * N + (s->has_bias ? tn : 0), out, 0};
}

/* Per visible pair: scores recomputed (2 hd) unless the forward's probs are
 * given, dP = dout.v (2 hd), dS (5), dq, dk, dv (2 hd each). */
static ck_cost attention_bwd_cost(const ck_shape *s)
{
    uint64_t hd = s->head_dim, H = s->n_heads, Hkv = s->n_kv_heads;
    uint64_t pairs = 0;
    for (size_t t = 0; t < s->T; t++)
        pairs += seen_keys(s, t);
    uint64_t keys = s->T ? visible_keys(s, s->T - 1) : 0;
    uint64_t out = ((uint64_t)s->T * H + 2 * keys * Hkv) * hd * F32; /* dq, dk, dv */
    uint64_t bytes = 3 * (uint64_t)s->T * H * hd * F32               /* q, dout in; dq out */
                     + 4 * keys * Hkv * hd * F32;                    /* k, v in; dk, dv out */
    if (s->materialize)
        bytes += H * (uint64_t)s->T * s->S * F32; /* probs in */
    uint64_t flops = H * pairs * ((s->materialize ? 8 : 10) * hd + 5);
    return (ck_cost){bytes, flops, out, 0};
}

static ck_cost embedding_bwd_cost(const ck_shape *s)
{
    uint64_t td = (uint64_t)s->T * s->D;
    return (ck_cost){(uint64_t)s->T * sizeof(int32_t) + 3 * td * F32, td, 0,
                     td * F32}; /* dy in; dtable rows in place */
}

/* Softmax over V per row (max, subtract, exp, sum, divide), the loss and
 * dlogits = (p - onehot) / T: 7 per logit. V is the shape's vocab. */
static ck_cost cross_entropy_cost(const ck_shape *s)
{
    uint64_t tv = (uint64_t)s->T * (s->vocab ? s->vocab : s->N);
    return (ck_cost){2 * tv * F32 + (uint64_t)s->T * sizeof(int32_t) + F32, 7 * tv, tv * F32 + F32,
                     0}; /* dlogits, loss */
}

static ck_cost qkv_bwd_cost(const ck_shape *s)
{
    return linear_bwd_cost(s, s->D, (s->n_heads + 2 * s->n_kv_heads) * s->head_dim);
}

/* Fused ops: no single shape describes them; callers sum their members. */
static ck_cost fused_cost(const ck_shape *s)
{
    (void)s;
    return (ck_cost){0, 0, 0, 0};
}

ck_cost ck_op_cost(const ck_shape *s)
{
    switch (s->op) {
#define CK_OP_ENTRY(ID, num, name, args, kind, FWD, cost, ...)                                                         \
    case CK_OP_##ID:                                                                                                   \
        return cost;
#include "ck_ops.def"
#undef CK_OP_ENTRY
    default: return (ck_cost){0, 0, 0, 0};
    }
}

double ck_cost_intensity(ck_cost c)
{
    return c.bytes ? (double)c.flops / (double)c.bytes : 0.0;
}
