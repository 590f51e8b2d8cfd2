/* The backward (training) ops' cases: the forward inputs, an upstream
 * gradient ~ N(0, 1), and every gradient output the op can write (weight
 * gradients of biases only when the shape has a bias, so both the NULL and
 * the non-NULL paths get checked). See ck_case.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_internal.h"

int case_build_norm_bwd(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1, layer = s->op == CK_OP_LAYERNORM_BWD;
    void *p_x, *p_gamma, *p_dy, *p_dx, *p_dgamma, *p_dbeta = NULL;
    if (case_norm_inputs(c, &p_x, &p_gamma, err, err_len) != 0)
        return -1;
    size_t td = s->T * s->D; /* case_norm_inputs checked it */
    ADD(dy, CK_BUF_IN, CK_DTYPE_F32, td);
    ADD(dx, CK_BUF_OUT, CK_DTYPE_F32, td);
    ADD(dgamma, CK_BUF_OUT, CK_DTYPE_F32, s->D);
    if (layer && s->has_bias)
        ADD(dbeta, CK_BUF_OUT, CK_DTYPE_F32, s->D);
    case_gen_normal(c, "dy", case_init_of(c, p_dy), td, 0.0, 1.0);
    case_dims(c, p_dy, 2, s->T, s->D, 0);
    case_dims(c, p_dx, 2, s->T, s->D, 0);
    c->args.norm_bwd = (ck_norm_bwd_args){.x = p_x,
                                          .gamma = p_gamma,
                                          .dy = p_dy,
                                          .dx = p_dx,
                                          .dgamma = p_dgamma,
                                          .dbeta = p_dbeta,
                                          .T = s->T,
                                          .D = s->D,
                                          .eps = s->eps > 0 ? s->eps : 1e-5f};
    return 0;
}

int case_build_linear_bwd(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!case_need(case_rows_ok(s) && s->K && s->N, err, err_len, s, "T, K and N must be >= 1") ||
        !case_need(s->dtype == CK_DTYPE_F32, err, err_len, s, "training weights are f32"))
        return -1;
    void *p_x, *p_w, *p_dy, *p_dx, *p_dw, *p_db = NULL;
    if (case_linear_inputs(c, &p_x, &p_w, err, err_len) != 0)
        return -1;
    ADD(dy, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, s->N, &ok));
    ADD(dx, CK_BUF_OUT, CK_DTYPE_F32, s->T * s->K);
    ADD(dw, CK_BUF_OUT, CK_DTYPE_F32, s->N * s->K);
    if (s->has_bias)
        ADD(db, CK_BUF_OUT, CK_DTYPE_F32, s->N);
    case_gen_normal(c, "dy", case_init_of(c, p_dy), s->T * s->N, 0.0, 1.0);
    case_dims(c, p_dx, 2, s->T, s->K, 0);
    case_dims(c, p_dw, 2, s->N, s->K, 0);
    case_dims(c, p_dy, 2, s->T, s->N, 0);
    c->args.linear_bwd = (ck_linear_bwd_args){
        .x = p_x, .w = p_w, .dy = p_dy, .dx = p_dx, .dw = p_dw, .db = p_db, .T = s->T, .K = s->K, .N = s->N};
    return 0;
}

int case_build_qkv_bwd(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    void *in[4];
    if (!case_qkv_shape_ok(c, err, err_len) ||
        !case_need(s->dtype == CK_DTYPE_F32, err, err_len, s, "training weights are f32") ||
        case_qkv_inputs(c, in, err, err_len) != 0)
        return -1;
    size_t nq = s->n_heads * s->head_dim, nkv = s->n_kv_heads * s->head_dim; /* case_qkv_inputs checked them */
    void *p_dq, *p_dk, *p_dv, *p_dx, *p_dwq, *p_dwk, *p_dwv;
    void *p_dbq = NULL, *p_dbk = NULL, *p_dbv = NULL;
    ADD(dq, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, nq, &ok));
    ADD(dk, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, nkv, &ok));
    ADD(dv, CK_BUF_IN, CK_DTYPE_F32, s->T * nkv);
    ADD(dx, CK_BUF_OUT, CK_DTYPE_F32, s->T * s->D);
    ADD(dwq, CK_BUF_OUT, CK_DTYPE_F32, nq * s->D);
    ADD(dwk, CK_BUF_OUT, CK_DTYPE_F32, nkv * s->D);
    ADD(dwv, CK_BUF_OUT, CK_DTYPE_F32, nkv * s->D);
    if (s->has_bias) {
        ADD(dbq, CK_BUF_OUT, CK_DTYPE_F32, nq);
        ADD(dbk, CK_BUF_OUT, CK_DTYPE_F32, nkv);
        ADD(dbv, CK_BUF_OUT, CK_DTYPE_F32, nkv);
    }
    case_gen_normal(c, "dq", case_init_of(c, p_dq), s->T * nq, 0.0, 1.0);
    case_gen_normal(c, "dk", case_init_of(c, p_dk), s->T * nkv, 0.0, 1.0);
    case_gen_normal(c, "dv", case_init_of(c, p_dv), s->T * nkv, 0.0, 1.0);
    c->args.qkv_bwd = (ck_qkv_bwd_args){.x = in[0],
                                        .wq = in[1],
                                        .wk = in[2],
                                        .wv = in[3],
                                        .dq = p_dq,
                                        .dk = p_dk,
                                        .dv = p_dv,
                                        .dx = p_dx,
                                        .dwq = p_dwq,
                                        .dwk = p_dwk,
                                        .dwv = p_dwv,
                                        .dbq = p_dbq,
                                        .dbk = p_dbk,
                                        .dbv = p_dbv,
                                        .T = s->T,
                                        .D = s->D,
                                        .n_heads = s->n_heads,
                                        .n_kv_heads = s->n_kv_heads,
                                        .head_dim = s->head_dim};
    return 0;
}

/* Probabilities of the forward pass, so a backward kernel that takes them
 * instead of recomputing sees a consistent set (rows sum to one, masked
 * keys 0, a window's and a cap's as the forward's). Double precision,
 * rounded once. */
static void forward_probs(const ck_attention_bwd_args *a, float *probs)
{
    size_t group = a->n_heads / a->n_kv_heads, hd = a->head_dim;
    double *row = malloc(a->S * sizeof *row);
    if (!row)
        return;
    for (size_t h = 0; h < a->n_heads; h++) {
        for (size_t t = 0; t < a->T; t++) {
            const float *q = a->q + (t * a->n_heads + h) * hd;
            double mx = -INFINITY, sum = 0;
            for (size_t j = 0; j < a->S; j++) {
                const float *k = a->k + (j * a->n_kv_heads + h / group) * hd;
                double d = 0;
                for (size_t i = 0; i < hd; i++)
                    d += (double)q[i] * (double)k[i];
                size_t p = a->q_pos + t;
                int out = a->causal && (j > p || (a->window && p >= a->window && j <= p - a->window));
                double sc = (double)a->scale * d;
                if (a->softcap > 0.0f)
                    sc = (double)a->softcap * tanh(sc / (double)a->softcap);
                row[j] = out ? -INFINITY : sc;
                mx = row[j] > mx ? row[j] : mx;
            }
            for (size_t j = 0; j < a->S; j++)
                sum += row[j] = row[j] == -INFINITY ? 0.0 : exp(row[j] - mx);
            for (size_t j = 0; j < a->S; j++)
                probs[(h * a->T + t) * a->S + j] = (float)(row[j] / sum);
        }
    }
    free(row);
}

int case_build_attention_bwd(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    void *in[3], *p_dout, *p_probs = NULL, *p_dq, *p_dk, *p_dv;
    if (case_attention_inputs(c, in, err, err_len) != 0)
        return -1;
    if (!case_need(!s->window || s->causal, err, err_len, s, "a window needs causal attention") ||
        !case_need(s->softcap >= 0.0f, err, err_len, s, "softcap must be >= 0"))
        return -1;
    void *p_q = in[0], *p_k = in[1], *p_v = in[2];
    size_t qn = s->T * s->n_heads * s->head_dim, kvn = s->S * s->n_kv_heads * s->head_dim; /* checked */
    size_t hts = case_mul(s->n_heads, case_mul(s->T, s->S, &ok), &ok);
    ADD(dout, CK_BUF_IN, CK_DTYPE_F32, qn);
    if (s->materialize)
        ADD(probs, CK_BUF_IN, CK_DTYPE_F32, hts);
    ADD(dq, CK_BUF_OUT, CK_DTYPE_F32, qn);
    ADD(dk, CK_BUF_OUT, CK_DTYPE_F32, kvn);
    ADD(dv, CK_BUF_OUT, CK_DTYPE_F32, kvn);
    case_gen_normal(c, "dout", case_init_of(c, p_dout), qn, 0.0, 1.0);
    c->args.attention_bwd = (ck_attention_bwd_args){.q = p_q,
                                                    .k = p_k,
                                                    .v = p_v,
                                                    .dout = p_dout,
                                                    .probs = p_probs,
                                                    .dq = p_dq,
                                                    .dk = p_dk,
                                                    .dv = p_dv,
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
    if (p_probs) {
        ck_attention_bwd_args from_init = c->args.attention_bwd; /* generate from the initial contents */
        from_init.q = case_init_of(c, p_q);
        from_init.k = case_init_of(c, p_k);
        forward_probs(&from_init, case_init_of(c, p_probs));
    }
    case_dims(c, p_dq, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_dout, 3, s->T, s->n_heads, s->head_dim);
    case_dims(c, p_dk, 3, s->S, s->n_kv_heads, s->head_dim);
    case_dims(c, p_dv, 3, s->S, s->n_kv_heads, s->head_dim);
    case_dims(c, p_probs, 3, s->n_heads, s->T, s->S);
    return 0;
}

/* The activations' length: n, or T * D; 0 with err if there is none. */
static size_t activation_n(const ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = s->n ? s->n : case_mul(s->T, s->D, &ok);
    return case_need(n >= 1, err, err_len, s, "n (or T * D) must be >= 1") ? n : 0;
}

int case_build_swiglu_bwd(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = activation_n(c, err, err_len);
    if (!n)
        return -1;
    void *p_gate, *p_up, *p_dy, *p_dgate, *p_dup;
    ADD(gate, CK_BUF_IN, CK_DTYPE_F32, n);
    ADD(up, CK_BUF_IN, CK_DTYPE_F32, n);
    ADD(dy, CK_BUF_IN, CK_DTYPE_F32, n);
    ADD(dgate, CK_BUF_OUT, CK_DTYPE_F32, n);
    ADD(dup, CK_BUF_OUT, CK_DTYPE_F32, n);
    case_gen_activations(c, "gate", case_init_of(c, p_gate), 1, n);
    case_gen_activations(c, "up", case_init_of(c, p_up), 1, n);
    case_gen_normal(c, "dy", case_init_of(c, p_dy), n, 0.0, 1.0);
    c->args.swiglu_bwd =
        (ck_swiglu_bwd_args){.gate = p_gate, .up = p_up, .dy = p_dy, .dgate = p_dgate, .dup = p_dup, .n = n};
    return 0;
}

int case_build_gelu_bwd(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = activation_n(c, err, err_len);
    if (!n)
        return -1;
    void *p_x, *p_dy, *p_dx;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, n);
    ADD(dy, CK_BUF_IN, CK_DTYPE_F32, n);
    ADD(dx, CK_BUF_OUT, CK_DTYPE_F32, n);
    case_gen_activations(c, "x", case_init_of(c, p_x), 1, n);
    case_gen_normal(c, "dy", case_init_of(c, p_dy), n, 0.0, 1.0);
    c->args.unary_bwd = (ck_unary_bwd_args){.x = p_x, .dy = p_dy, .dx = p_dx, .n = n};
    return 0;
}

int case_build_embedding_bwd(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!case_need(s->T && s->vocab && s->D, err, err_len, s, "T, vocab and D must be >= 1") ||
        !case_need(s->vocab <= INT32_MAX, err, err_len, s, "vocab must fit an int32 id"))
        return -1;
    void *p_ids, *p_dy, *p_dtable;
    ADD(ids, CK_BUF_IN, CK_DTYPE_I32, s->T);
    ADD(dy, CK_BUF_IN, CK_DTYPE_F32, case_mul(s->T, s->D, &ok));
    ADD(dtable, CK_BUF_INOUT, CK_DTYPE_F32, case_mul(s->vocab, s->D, &ok)); /* accumulated into */
    case_gen_ids(c, "ids", case_init_of(c, p_ids), s->T, s->vocab);
    case_gen_normal(c, "dy", case_init_of(c, p_dy), s->T * s->D, 0.0, 1.0);
    case_gen_normal(c, "dtable", case_init_of(c, p_dtable), s->vocab * s->D, 0.0, 1.0);
    case_dims(c, p_dy, 2, s->T, s->D, 0);
    case_dims(c, p_dtable, 2, s->vocab, s->D, 0);
    c->args.embedding_bwd =
        (ck_embedding_bwd_args){.ids = p_ids, .dy = p_dy, .dtable = p_dtable, .T = s->T, .vocab = s->vocab, .D = s->D};
    return 0;
}

int case_build_cross_entropy(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!case_need(s->T && s->vocab, err, err_len, s, "T and vocab (the number of classes) must be >= 1") ||
        !case_need(s->vocab <= INT32_MAX, err, err_len, s, "vocab must fit an int32 id"))
        return -1;
    void *p_logits, *p_targets, *p_loss, *p_dlogits = NULL;
    size_t tv = case_mul(s->T, s->vocab, &ok);
    ADD(logits, CK_BUF_IN, CK_DTYPE_F32, tv);
    ADD(targets, CK_BUF_IN, CK_DTYPE_I32, s->T);
    ADD(loss, CK_BUF_OUT, CK_DTYPE_F32, 1);
    if (!s->loss_only) /* the trainer's loss alone passes dlogits NULL */
        ADD(dlogits, CK_BUF_OUT, CK_DTYPE_F32, tv);
    case_gen_activations(c, "logits", case_init_of(c, p_logits), s->T, s->vocab);
    case_gen_ids(c, "targets", case_init_of(c, p_targets), s->T, s->vocab);
    case_dims(c, p_logits, 2, s->T, s->vocab, 0);
    if (p_dlogits)
        case_dims(c, p_dlogits, 2, s->T, s->vocab, 0);
    c->args.cross_entropy = (ck_cross_entropy_args){
        .logits = p_logits, .targets = p_targets, .loss = p_loss, .dlogits = p_dlogits, .T = s->T, .V = s->vocab};
    return 0;
}
