/* The forward ops' cases: which buffers each op has, how they are filled
 * and the argument struct that points at them (see ck_case.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "case_internal.h"


/* x [T, D] and gamma [D]: the inputs norm and norm_bwd share. */
int case_norm_inputs(ck_case *c, void **x, void **gamma, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!case_need(case_rows_ok(s) && s->D, err, err_len, s, "T and D must be >= 1"))
        return -1;
    void *p_x, *p_gamma;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, s->D, &ok));
    ADD(gamma, CK_BUF_IN, CK_DTYPE_F32, s->D);
    case_gen_activations(c, "x", case_init_of(c, p_x), s->T, s->D);
    case_gen_normal(c, "gamma", case_init_of(c, p_gamma), s->D, 1.0, 0.1);
    case_dims(c, p_x, 2, s->T, s->D, 0);
    *x = p_x;
    *gamma = p_gamma;
    return 0;
}

int case_build_norm(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    void *p_x, *p_gamma, *p_beta = NULL, *p_y;
    if (case_norm_inputs(c, &p_x, &p_gamma, err, err_len) != 0)
        return -1;
    size_t td = s->T * s->D; /* case_norm_inputs checked it */
    if (s->op == CK_OP_LAYERNORM && s->has_bias)
        ADD(beta, CK_BUF_IN, CK_DTYPE_F32, s->D);
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, td);
    if (p_beta)
        case_gen_normal(c, "beta", case_init_of(c, p_beta), s->D, 0.0, WEIGHT_SIGMA);
    case_dims(c, p_y, 2, s->T, s->D, 0);
    c->args.norm = (ck_norm_args){
        .x = p_x, .y = p_y, .gamma = p_gamma, .beta = p_beta, .T = s->T, .D = s->D, .eps = s->eps > 0 ? s->eps : 1e-5f};
    return 0;
}

/* x [T, K] and w [N, K] of the shape's weight dtype: the inputs linear and
 * linear_bwd share. */
int case_linear_inputs(ck_case *c, void **x, void **w, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    void *p_x, *p_w;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, s->K, &ok));
    ADD(w, CK_BUF_IN, s->dtype, case_mul(s->N, s->K, &ok));
    case_gen_activations(c, "x", case_init_of(c, p_x), s->T, s->K);
    case_gen_weights(c, "w", case_init_of(c, p_w), s->dtype, s->N * s->K, WEIGHT_SIGMA);
    case_dims(c, p_x, 2, s->T, s->K, 0);
    case_dims(c, p_w, 2, s->N, s->K, 0);
    *x = p_x;
    *w = p_w;
    return 0;
}

int case_build_linear(ck_case *c, char *err, size_t err_len)
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
    if (case_linear_inputs(c, &p_x, &p_w, err, err_len) != 0)
        return -1;
    if (s->has_bias)
        ADD(bias, CK_BUF_IN, CK_DTYPE_F32, s->N);
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, s->N, &ok));
    if (p_bias)
        case_gen_normal(c, "bias", case_init_of(c, p_bias), s->N, 0.0, WEIGHT_SIGMA);
    case_dims(c, p_y, 2, s->T, s->N, 0);
    c->args.linear = (ck_linear_args){
        .x = p_x, .w = p_w, .bias = p_bias, .y = p_y, .T = s->T, .K = s->K, .N = s->N, .w_dtype = s->dtype};
    return 0;
}

int case_qkv_shape_ok(const ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    return case_need(case_rows_ok(s) && s->D && s->n_heads && s->n_kv_heads && s->head_dim, err, err_len, s,
                     "T, D, n_heads, n_kv_heads and head_dim must be >= 1") &&
           case_need(s->n_heads % s->n_kv_heads == 0, err, err_len, s, "n_heads must be a multiple of n_kv_heads");
}

/* x [T, D] and wq, wk, wv [heads * head_dim, D] of the shape's weight
 * dtype: the inputs qkv and qkv_bwd share (w[0..3] = x, wq, wk, wv). */
int case_qkv_inputs(ck_case *c, void *w[4], char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t nq = case_mul(s->n_heads, s->head_dim, &ok), nkv = case_mul(s->n_kv_heads, s->head_dim, &ok);
    void *p_x, *p_wq, *p_wk, *p_wv;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, s->D, &ok));
    ADD(wq, CK_BUF_IN, s->dtype, case_mul(nq, s->D, &ok));
    ADD(wk, CK_BUF_IN, s->dtype, case_mul(nkv, s->D, &ok));
    ADD(wv, CK_BUF_IN, s->dtype, case_mul(nkv, s->D, &ok));
    case_gen_activations(c, "x", case_init_of(c, p_x), s->T, s->D);
    case_gen_weights(c, "wq", case_init_of(c, p_wq), s->dtype, nq * s->D, WEIGHT_SIGMA);
    case_gen_weights(c, "wk", case_init_of(c, p_wk), s->dtype, nkv * s->D, WEIGHT_SIGMA);
    case_gen_weights(c, "wv", case_init_of(c, p_wv), s->dtype, nkv * s->D, WEIGHT_SIGMA);
    case_dims(c, p_x, 2, s->T, s->D, 0);
    case_dims(c, p_wq, 2, nq, s->D, 0);
    case_dims(c, p_wk, 2, nkv, s->D, 0);
    case_dims(c, p_wv, 2, nkv, s->D, 0);
    w[0] = p_x, w[1] = p_wq, w[2] = p_wk, w[3] = p_wv;
    return 0;
}

int case_build_qkv(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1, quant = s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0;
    void *in[4];
    if (!case_qkv_shape_ok(c, err, err_len) ||
        !case_need(case_is_weight_dtype(s->dtype, 1), err, err_len, s,
                   "weight dtype must be f32, bf16, f16, q8_0 or q4_0") ||
        !case_need(!quant || s->D % CK_QBLOCK == 0, err, err_len, s,
                   "D must be a multiple of 32 for quantised weights") ||
        case_qkv_inputs(c, in, err, err_len) != 0)
        return -1;
    size_t nq = s->n_heads * s->head_dim, nkv = s->n_kv_heads * s->head_dim; /* case_qkv_inputs checked them */
    void *p_bq = NULL, *p_bk = NULL, *p_bv = NULL, *p_q, *p_k, *p_v;
    if (s->has_bias) {
        ADD(bq, CK_BUF_IN, CK_DTYPE_F32, nq);
        ADD(bk, CK_BUF_IN, CK_DTYPE_F32, nkv);
        ADD(bv, CK_BUF_IN, CK_DTYPE_F32, nkv);
    }
    ADD(q, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, nq, &ok));
    ADD(k, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, nkv, &ok));
    ADD(v, CK_BUF_OUT, CK_DTYPE_F32, case_mul(s->T, nkv, &ok));
    if (s->has_bias) {
        case_gen_normal(c, "bq", case_init_of(c, p_bq), nq, 0.0, WEIGHT_SIGMA);
        case_gen_normal(c, "bk", case_init_of(c, p_bk), nkv, 0.0, WEIGHT_SIGMA);
        case_gen_normal(c, "bv", case_init_of(c, p_bv), nkv, 0.0, WEIGHT_SIGMA);
    }
    case_dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_k, 3, s->T, s->n_kv_heads, s->head_dim);
    case_dims(c, p_v, 3, s->T, s->n_kv_heads, s->head_dim);
    c->args.qkv = (ck_qkv_args){.x = in[0],
                                .wq = in[1],
                                .wk = in[2],
                                .wv = in[3],
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

/* q [T, H, hd], k and v [S, Hkv, hd], after the shape's check: the inputs
 * attention and attention_bwd share (in[0..2] = q, k, v). */
int case_attention_inputs(ck_case *c, void *in[3], char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!case_need(case_rows_ok(s) && s->S && s->n_heads && s->n_kv_heads && s->head_dim, err, err_len, s,
                   "T, S, n_heads, n_kv_heads and head_dim must be >= 1") ||
        !case_need(s->n_heads % s->n_kv_heads == 0, err, err_len, s, "n_heads must be a multiple of n_kv_heads") ||
        !case_need(!s->window || s->causal, err, err_len, s, "a window needs causal attention") ||
        !case_need(s->softcap >= 0.0f, err, err_len, s, "softcap must be >= 0"))
        return -1;
    size_t kvn = case_mul(s->S, case_mul(s->n_kv_heads, s->head_dim, &ok), &ok);
    void *p_q, *p_k, *p_v;
    ADD(q, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, case_mul(s->n_heads, s->head_dim, &ok), &ok));
    ADD(k, CK_BUF_IN, CK_DTYPE_F32, kvn);
    ADD(v, CK_BUF_IN, CK_DTYPE_F32, kvn);
    case_gen_activations(c, "q", case_init_of(c, p_q), s->T, s->n_heads * s->head_dim);
    case_gen_activations(c, "k", case_init_of(c, p_k), s->S, s->n_kv_heads * s->head_dim);
    case_gen_activations(c, "v", case_init_of(c, p_v), s->S, s->n_kv_heads * s->head_dim);
    case_dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_k, 3, s->S, s->n_kv_heads, s->head_dim);
    case_dims(c, p_v, 3, s->S, s->n_kv_heads, s->head_dim);
    in[0] = p_q, in[1] = p_k, in[2] = p_v;
    return 0;
}

int case_build_attention(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    void *in[3], *p_out, *p_scores = NULL, *p_probs = NULL;
    if (case_attention_inputs(c, in, err, err_len) != 0)
        return -1;
    size_t hts = case_mul(s->n_heads, case_mul(s->T, s->S, &ok), &ok);
    ADD(out, CK_BUF_OUT, CK_DTYPE_F32, s->T * s->n_heads * s->head_dim); /* the size of q */
    if (s->materialize) {
        ADD(scores, CK_BUF_OUT, CK_DTYPE_F32, hts);
        ADD(probs, CK_BUF_OUT, CK_DTYPE_F32, hts);
    }
    case_dims(c, p_out, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_scores, 3, s->n_heads, s->T, s->S);
    case_dims(c, p_probs, 3, s->n_heads, s->T, s->S);
    c->args.attention = (ck_attention_args){.q = in[0],
                                            .k = in[1],
                                            .v = in[2],
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
                                            .scale = case_attention_scale(s),
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

/* An elementwise op's buffers: inputs a and b (b NULL: one input), then y,
 * n values each, the inputs generated as rows of the shape's width
 * (p[0..2] = a, b, y). */
static int elementwise_bufs(ck_case *c, const char *a, const char *b, void *p[3], size_t *n, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    *n = elementwise_n(s, &ok);
    if (!case_need(*n >= 1, err, err_len, s, "n (or T * D) must be >= 1"))
        return -1;
    const char *names[3] = {a, b, "y"};
    for (int i = 0; i < 3; i++) {
        p[i] = NULL;
        if (names[i] &&
            !(p[i] = case_add_buf(c, names[i], i < 2 ? CK_BUF_IN : CK_BUF_OUT, CK_DTYPE_F32, *n, err, err_len)))
            return -1;
    }
    size_t cols = elementwise_cols(s, *n), rows = *n / cols;
    for (int i = 0; i < 2; i++)
        if (names[i])
            case_gen_activations(c, names[i], case_init_of(c, p[i]), rows, cols);
    return 0;
}

/* swiglu and geglu: both gate * up shaped */
int case_build_gated(ck_case *c, char *err, size_t err_len)
{
    void *p[3];
    size_t n;
    if (elementwise_bufs(c, "gate", "up", p, &n, err, err_len) != 0)
        return -1;
    c->args.swiglu = (ck_swiglu_args){.gate = p[0], .up = p[1], .y = p[2], .n = n};
    return 0;
}

int case_build_gelu(ck_case *c, char *err, size_t err_len)
{
    void *p[3];
    size_t n;
    if (elementwise_bufs(c, "x", NULL, p, &n, err, err_len) != 0)
        return -1;
    c->args.unary = (ck_unary_args){.x = p[0], .y = p[2], .n = n};
    return 0;
}

int case_build_add(ck_case *c, char *err, size_t err_len)
{
    void *p[3];
    size_t n;
    if (elementwise_bufs(c, "a", "b", p, &n, err, err_len) != 0)
        return -1;
    c->args.add = (ck_add_args){.a = p[0], .b = p[1], .y = p[2], .n = n};
    return 0;
}

int case_build_embedding(ck_case *c, char *err, size_t err_len)
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

int case_build_adam(ck_case *c, char *err, size_t err_len)
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

int case_build_quant(ck_case *c, char *err, size_t err_len)
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
