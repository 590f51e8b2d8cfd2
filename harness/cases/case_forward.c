/* The forward ops' cases: which buffers each op has, how they are filled
 * and the argument struct that points at them (see ck_case.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "case_internal.h"


static int build_norm(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!case_need(s->T && s->D, err, err_len, s, "T and D must be >= 1"))
        return -1;
    void *p_x, *p_gamma, *p_beta = NULL, *p_y;
    size_t td = case_mul(s->T, s->D, &ok);
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, td);
    ADD(gamma, CK_BUF_IN, CK_DTYPE_F32, s->D);
    if (s->op == CK_OP_LAYERNORM && s->has_bias)
        ADD(beta, CK_BUF_IN, CK_DTYPE_F32, s->D);
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, td);
    case_gen_activations(c, "x", case_init_of(c, p_x), s->T, s->D);
    case_gen_normal(c, "gamma", case_init_of(c, p_gamma), s->D, 1.0, 0.1);
    if (p_beta)
        case_gen_normal(c, "beta", case_init_of(c, p_beta), s->D, 0.0, WEIGHT_SIGMA);
    case_dims(c, p_x, 2, s->T, s->D, 0);
    case_dims(c, p_y, 2, s->T, s->D, 0);
    c->args.norm = (ck_norm_args){
        .x = p_x, .y = p_y, .gamma = p_gamma, .beta = p_beta, .T = s->T, .D = s->D, .eps = s->eps > 0 ? s->eps : 1e-5f};
    return 0;
}

static int build_linear(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1, quant = s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0;
    if (!case_need(s->T && s->K && s->N, err, err_len, s, "T, K and N must be >= 1") ||
        !case_need(case_is_weight_dtype(s->dtype, 1), err, err_len, s,
                   "weight dtype must be f32, bf16, f16, q8_0 or q4_0") ||
        !case_need(!quant || s->K % CK_QBLOCK == 0, err, err_len, s,
                   "K must be a multiple of 32 for quantised weights"))
        return -1;
    void *p_x, *p_w, *p_bias = NULL, *p_y;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, s->K, &ok));
    ADD(w, CK_BUF_IN, s->dtype, case_mul(s->N, s->K, &ok));
    if (s->has_bias)
        ADD(bias, CK_BUF_IN, CK_DTYPE_F32, s->N);
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, s->N, &ok));
    case_gen_activations(c, "x", case_init_of(c, p_x), s->T, s->K);
    case_gen_weights(c, "w", case_init_of(c, p_w), s->dtype, s->N * s->K, WEIGHT_SIGMA);
    if (p_bias)
        case_gen_normal(c, "bias", case_init_of(c, p_bias), s->N, 0.0, WEIGHT_SIGMA);
    case_dims(c, p_x, 2, s->T, s->K, 0);
    case_dims(c, p_w, 2, s->N, s->K, 0);
    case_dims(c, p_y, 2, s->T, s->N, 0);
    c->args.linear = (ck_linear_args){
        .x = p_x, .w = p_w, .bias = p_bias, .y = p_y, .T = s->T, .K = s->K, .N = s->N, .w_dtype = s->dtype};
    return 0;
}

static int build_qkv(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1, quant = s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0;
    if (!case_need(s->T && s->D && s->n_heads && s->n_kv_heads && s->head_dim, err, err_len, s,
                   "T, D, n_heads, n_kv_heads and head_dim must be >= 1") ||
        !case_need(s->n_heads % s->n_kv_heads == 0, err, err_len, s, "n_heads must be a multiple of n_kv_heads") ||
        !case_need(case_is_weight_dtype(s->dtype, 1), err, err_len, s,
                   "weight dtype must be f32, bf16, f16, q8_0 or q4_0") ||
        !case_need(!quant || s->D % CK_QBLOCK == 0, err, err_len, s,
                   "D must be a multiple of 32 for quantised weights"))
        return -1;
    size_t nq = case_mul(s->n_heads, s->head_dim, &ok), nkv = case_mul(s->n_kv_heads, s->head_dim, &ok);
    void *p_x, *p_wq, *p_wk, *p_wv, *p_bq = NULL, *p_bk = NULL, *p_bv = NULL, *p_q, *p_k, *p_v;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, s->D, &ok));
    ADD(wq, CK_BUF_IN, s->dtype, case_mul(nq, s->D, &ok));
    ADD(wk, CK_BUF_IN, s->dtype, case_mul(nkv, s->D, &ok));
    ADD(wv, CK_BUF_IN, s->dtype, case_mul(nkv, s->D, &ok));
    if (s->has_bias) {
        ADD(bq, CK_BUF_IN, CK_DTYPE_F32, nq);
        ADD(bk, CK_BUF_IN, CK_DTYPE_F32, nkv);
        ADD(bv, CK_BUF_IN, CK_DTYPE_F32, nkv);
    }
    ADD(q, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, nq, &ok));
    ADD(k, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, nkv, &ok));
    ADD(v, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, nkv, &ok));
    case_gen_activations(c, "x", case_init_of(c, p_x), s->T, s->D);
    case_gen_weights(c, "wq", case_init_of(c, p_wq), s->dtype, nq * s->D, WEIGHT_SIGMA);
    case_gen_weights(c, "wk", case_init_of(c, p_wk), s->dtype, nkv * s->D, WEIGHT_SIGMA);
    case_gen_weights(c, "wv", case_init_of(c, p_wv), s->dtype, nkv * s->D, WEIGHT_SIGMA);
    if (s->has_bias) {
        case_gen_normal(c, "bq", case_init_of(c, p_bq), nq, 0.0, WEIGHT_SIGMA);
        case_gen_normal(c, "bk", case_init_of(c, p_bk), nkv, 0.0, WEIGHT_SIGMA);
        case_gen_normal(c, "bv", case_init_of(c, p_bv), nkv, 0.0, WEIGHT_SIGMA);
    }
    case_dims(c, p_x, 2, s->T, s->D, 0);
    case_dims(c, p_wq, 2, nq, s->D, 0);
    case_dims(c, p_wk, 2, nkv, s->D, 0);
    case_dims(c, p_wv, 2, nkv, s->D, 0);
    case_dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_k, 3, s->T, s->n_kv_heads, s->head_dim);
    case_dims(c, p_v, 3, s->T, s->n_kv_heads, s->head_dim);
    c->args.qkv = (ck_qkv_args){.x = p_x,
                                .wq = p_wq,
                                .wk = p_wk,
                                .wv = p_wv,
                                .bq = p_bq,
                                .bk = p_bk,
                                .bv = p_bv,
                                .q = p_q,
                                .k = p_k,
                                .v = p_v,
                                .T = s->T,
                                .D = s->D,
                                .n_heads = s->n_heads,
                                .n_kv_heads = s->n_kv_heads,
                                .head_dim = s->head_dim,
                                .w_dtype = s->dtype};
    return 0;
}

int case_build_rope(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t max_pos = s->max_pos ? s->max_pos : s->pos + s->T;
    if (!case_need(s->T && s->n_heads && s->head_dim, err, err_len, s, "T, n_heads and head_dim must be >= 1") ||
        !case_need(s->head_dim % 2 == 0, err, err_len, s, "head_dim must be even") ||
        !case_need(s->pairing == CK_ROPE_NEOX || s->pairing == CK_ROPE_GPTJ, err, err_len, s,
                   "pairing must be neox (0) or gptj (1)") ||
        !case_need(s->pos + s->T <= max_pos, err, err_len, s, "pos + T must not exceed max_pos (table rows)") ||
        !case_need(s->rotary_dim % 2 == 0 && s->rotary_dim <= s->head_dim, err, err_len, s,
                   "rotary_dim must be 0 or even and at most head_dim"))
        return -1;
    size_t rd = s->rotary_dim ? s->rotary_dim : s->head_dim;
    void *p_q, *p_k = NULL, *p_cos_tab, *p_sin_tab;
    ADD(q, CK_BUF_INOUT, CK_DTYPE_F32, case_mul(s->T, case_mul(s->n_heads, s->head_dim, &ok), &ok));
    if (s->n_kv_heads)
        ADD(k, CK_BUF_INOUT, CK_DTYPE_F32, case_mul(s->T, case_mul(s->n_kv_heads, s->head_dim, &ok), &ok));
    size_t tab = case_mul(max_pos, rd / 2, &ok);
    ADD(cos_tab, CK_BUF_IN, CK_DTYPE_F32, tab);
    ADD(sin_tab, CK_BUF_IN, CK_DTYPE_F32, tab);
    case_gen_activations(c, "q", case_init_of(c, p_q), s->T, s->n_heads * s->head_dim);
    if (p_k)
        case_gen_activations(c, "k", case_init_of(c, p_k), s->T, s->n_kv_heads * s->head_dim);
    ck_rope_tables(ROPE_THETA, rd, max_pos, case_init_of(c, p_cos_tab), case_init_of(c, p_sin_tab));
    case_dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_k, 3, s->T, s->n_kv_heads, s->head_dim);
    case_dims(c, p_cos_tab, 2, max_pos, rd / 2, 0);
    case_dims(c, p_sin_tab, 2, max_pos, rd / 2, 0);
    c->args.rope = (ck_rope_args){.q = p_q,
                                  .k = p_k,
                                  .cos_tab = p_cos_tab,
                                  .sin_tab = p_sin_tab,
                                  .T = s->T,
                                  .n_heads = s->n_heads,
                                  .n_kv_heads = s->n_kv_heads,
                                  .head_dim = s->head_dim,
                                  .pos_offset = s->pos,
                                  .max_pos = max_pos,
                                  .pairing = (uint32_t)s->pairing,
                                  .rotary_dim = s->rotary_dim};
    return 0;
}

static int build_attention(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!case_need(s->T && s->S && s->n_heads && s->n_kv_heads && s->head_dim, err, err_len, s,
                   "T, S, n_heads, n_kv_heads and head_dim must be >= 1") ||
        !case_need(s->n_heads % s->n_kv_heads == 0, err, err_len, s, "n_heads must be a multiple of n_kv_heads") ||
        !case_need(!s->window || s->causal, err, err_len, s, "a window needs causal attention") ||
        !case_need(s->softcap >= 0.0f, err, err_len, s, "softcap must be >= 0"))
        return -1;
    size_t qn = case_mul(s->T, case_mul(s->n_heads, s->head_dim, &ok), &ok);
    size_t kvn = case_mul(s->S, case_mul(s->n_kv_heads, s->head_dim, &ok), &ok);
    size_t hts = case_mul(s->n_heads, case_mul(s->T, s->S, &ok), &ok);
    void *p_q, *p_k, *p_v, *p_out, *p_scores = NULL, *p_probs = NULL;
    ADD(q, CK_BUF_IN, CK_DTYPE_F32, qn);
    ADD(k, CK_BUF_IN, CK_DTYPE_F32, kvn);
    ADD(v, CK_BUF_IN, CK_DTYPE_F32, kvn);
    ADD(out, CK_BUF_OUT, CK_DTYPE_F32, qn);
    if (s->materialize) {
        ADD(scores, CK_BUF_OUT, CK_DTYPE_F32, hts);
        ADD(probs, CK_BUF_OUT, CK_DTYPE_F32, hts);
    }
    case_gen_activations(c, "q", case_init_of(c, p_q), s->T, s->n_heads * s->head_dim);
    case_gen_activations(c, "k", case_init_of(c, p_k), s->S, s->n_kv_heads * s->head_dim);
    case_gen_activations(c, "v", case_init_of(c, p_v), s->S, s->n_kv_heads * s->head_dim);
    case_dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_out, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_k, 3, s->S, s->n_kv_heads, s->head_dim);
    case_dims(c, p_v, 3, s->S, s->n_kv_heads, s->head_dim);
    case_dims(c, p_scores, 3, s->n_heads, s->T, s->S);
    case_dims(c, p_probs, 3, s->n_heads, s->T, s->S);
    c->args.attention = (ck_attention_args){.q = p_q,
                                            .k = p_k,
                                            .v = p_v,
                                            .out = p_out,
                                            .scores = p_scores,
                                            .probs = p_probs,
                                            .T = s->T,
                                            .S = s->S,
                                            .n_heads = s->n_heads,
                                            .n_kv_heads = s->n_kv_heads,
                                            .head_dim = s->head_dim,
                                            .q_pos = s->pos,
                                            .causal = s->causal,
                                            .scale = (float)(1.0 / sqrt((double)s->head_dim)),
                                            .window = s->window,
                                            .softcap = s->softcap};
    return 0;
}

/* Elementwise ops: n values, or T * D when the shape gives rows instead. */
static size_t elementwise_n(const ck_shape *s, int *ok)
{
    return s->n ? s->n : case_mul(s->T, s->D, ok);
}

static size_t elementwise_cols(const ck_shape *s, size_t n)
{
    return s->D && n % s->D == 0 ? s->D : n;
}

static int build_elementwise(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = elementwise_n(s, &ok);
    if (!case_need(n >= 1, err, err_len, s, "n (or T * D) must be >= 1"))
        return -1;
    size_t cols = elementwise_cols(s, n), rows = n / cols;
    if (s->op == CK_OP_SWIGLU || s->op == CK_OP_GEGLU) { /* both gate * up shaped */
        void *p_gate, *p_up, *p_y;
        ADD(gate, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(up, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(y, CK_BUF_OUT, CK_DTYPE_F32, n);
        case_gen_activations(c, "gate", case_init_of(c, p_gate), rows, cols);
        case_gen_activations(c, "up", case_init_of(c, p_up), rows, cols);
        c->args.swiglu = (ck_swiglu_args){.gate = p_gate, .up = p_up, .y = p_y, .n = n};
    } else if (s->op == CK_OP_GELU) {
        void *p_x, *p_y;
        ADD(x, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(y, CK_BUF_OUT, CK_DTYPE_F32, n);
        case_gen_activations(c, "x", case_init_of(c, p_x), rows, cols);
        c->args.unary = (ck_unary_args){.x = p_x, .y = p_y, .n = n};
    } else {
        void *p_a, *p_b, *p_y;
        ADD(a, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(b, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(y, CK_BUF_OUT, CK_DTYPE_F32, n);
        case_gen_activations(c, "a", case_init_of(c, p_a), rows, cols);
        case_gen_activations(c, "b", case_init_of(c, p_b), rows, cols);
        c->args.add = (ck_add_args){.a = p_a, .b = p_b, .y = p_y, .n = n};
    }
    return 0;
}

static int build_embedding(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    int quant = s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0;
    if (!case_need(s->T && s->vocab && s->D, err, err_len, s, "T, vocab and D must be >= 1") ||
        !case_need(case_is_weight_dtype(s->dtype, 1), err, err_len, s,
                   "table dtype must be f32, bf16, f16, q8_0 or q4_0") ||
        !case_need(!quant || s->D % CK_QBLOCK == 0, err, err_len, s,
                   "D must be a multiple of 32 for a quantised table") ||
        !case_need(s->vocab <= INT32_MAX, err, err_len, s, "vocab must fit an int32 id"))
        return -1;
    void *p_ids, *p_table, *p_y;
    ADD(ids, CK_BUF_IN, CK_DTYPE_I32, s->T);
    ADD(table, CK_BUF_IN, s->dtype, case_mul(s->vocab, s->D, &ok));
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, s->D, &ok));
    case_gen_ids(c, "ids", case_init_of(c, p_ids), s->T, s->vocab);
    case_gen_weights(c, "table", case_init_of(c, p_table), s->dtype, s->vocab * s->D, 1.0);
    case_dims(c, p_table, 2, s->vocab, s->D, 0);
    case_dims(c, p_y, 2, s->T, s->D, 0);
    c->args.embedding = (ck_embedding_args){
        .ids = p_ids, .table = p_table, .y = p_y, .T = s->T, .vocab = s->vocab, .D = s->D, .dtype = s->dtype};
    return 0;
}

static int build_adam(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = elementwise_n(s, &ok);
    if (!case_need(n >= 1, err, err_len, s, "n must be >= 1"))
        return -1;
    void *p_w, *p_m, *p_v, *p_g;
    ADD(w, CK_BUF_INOUT, CK_DTYPE_F32, n);
    ADD(m, CK_BUF_INOUT, CK_DTYPE_F32, n);
    ADD(v, CK_BUF_INOUT, CK_DTYPE_F32, n);
    ADD(g, CK_BUF_IN, CK_DTYPE_F32, n);
    case_gen_normal(c, "w", case_init_of(c, p_w), n, 0.0, WEIGHT_SIGMA);
    case_gen_normal(c, "g", case_init_of(c, p_g), n, 0.0, 1e-3);
    case_gen_normal(c, "m", case_init_of(c, p_m), n, 0.0, 1e-3);
    /* second moments are positive, of the order of g^2 */
    float *v = case_init_of(c, p_v);
    case_gen_normal(c, "v", v, n, 0.0, 1e-3);
    for (size_t i = 0; i < n && !c->unbacked; i++)
        v[i] = v[i] * v[i];
    /* bias corrections by repeated multiplication: the same on every machine */
    double b1 = 1.0, b2 = 1.0;
    for (unsigned i = 0; i < ADAM_STEP; i++) {
        b1 *= 0.9;
        b2 *= 0.999;
    }
    c->args.adam = (ck_adam_args){.w = p_w,
                                  .m = p_m,
                                  .v = p_v,
                                  .g = p_g,
                                  .n = n,
                                  .lr = 1e-3f,
                                  .beta1 = 0.9f,
                                  .beta2 = 0.999f,
                                  .eps = 1e-8f,
                                  .weight_decay = 0.01f,
                                  .step = ADAM_STEP,
                                  .bc1 = (float)(1.0 - b1),
                                  .bc2 = (float)(1.0 - b2)};
    return 0;
}

static int build_quant(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = elementwise_n(s, &ok);
    if (!case_need(s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0, err, err_len, s,
                   "dtype must be q8_0 or q4_0") ||
        !case_need(n >= 1 && n % CK_QBLOCK == 0, err, err_len, s, "n must be a positive multiple of 32"))
        return -1;
    void *p_src, *p_dst;
    if (s->op == CK_OP_QUANTIZE) {
        ADD(src, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(dst, CK_BUF_OUT, s->dtype, n);
        case_gen_activations(c, "src", case_init_of(c, p_src), n / CK_QBLOCK, CK_QBLOCK);
    } else {
        ADD(src, CK_BUF_IN, s->dtype, n);
        ADD(dst, CK_BUF_OUT, CK_DTYPE_F32, n);
        case_gen_weights(c, "src", case_init_of(c, p_src), s->dtype, n, WEIGHT_SIGMA);
    }
    c->args.quant = (ck_quant_args){.src = p_src, .dst = p_dst, .n = n, .dtype = s->dtype};
    return 0;
}

int case_build_forward(ck_case *c, char *err, size_t err_len)
{
    switch (c->shape.op) {
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM: return build_norm(c, err, err_len);
    case CK_OP_LINEAR: return build_linear(c, err, err_len);
    case CK_OP_QKV: return build_qkv(c, err, err_len);
    case CK_OP_ROPE: return case_build_rope(c, err, err_len);
    case CK_OP_ATTENTION: return build_attention(c, err, err_len);
    case CK_OP_SWIGLU:
    case CK_OP_GEGLU:
    case CK_OP_GELU:
    case CK_OP_ADD: return build_elementwise(c, err, err_len);
    case CK_OP_EMBEDDING: return build_embedding(c, err, err_len);
    case CK_OP_ADAM: return build_adam(c, err, err_len);
    case CK_OP_QUANTIZE:
    case CK_OP_DEQUANTIZE: return build_quant(c, err, err_len);
    default: case_fail(err, err_len, &c->shape, "not a forward op"); return -1;
    }
}
