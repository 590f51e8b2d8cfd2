/* One op instance made runnable (see ck_case.h): buffers between canaries,
 * filled from a seeded generator, and the op's argument struct. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_case.h"
#include "ck_rng.h"

#define GUARD 64                 /* canary bytes on each side of a buffer */
#define MAX_BUFS 12
#define MAX_CASE_BYTES (6ull << 30) /* refuse shapes that would not fit a test machine */
#define LARGE_ROW_ODDS 16        /* about one activation row in 16 is large */
#define LARGE_ROW_SCALE 32.0
#define WEIGHT_SIGMA 0.02
#define ROPE_THETA 10000.0
#define ADAM_STEP 10u

typedef union case_args {
    ck_norm_args norm;
    ck_linear_args linear;
    ck_qkv_args qkv;
    ck_rope_args rope;
    ck_attention_args attention;
    ck_swiglu_args swiglu;
    ck_unary_args unary;
    ck_add_args add;
    ck_embedding_args embedding;
    ck_adam_args adam;
    ck_quant_args quant;
} case_args;

struct ck_case {
    ck_shape shape;
    uint64_t seed;
    ck_case_buf bufs[MAX_BUFS];
    unsigned char *alloc[MAX_BUFS]; /* front canary | data | back canary */
    size_t n_bufs;
    size_t total_bytes;
    case_args args;
};

/* ---- errors ---------------------------------------------------------------- */

static void fail(char *err, size_t len, const ck_shape *s, const char *fmt, ...)
{
    if (!err || !len)
        return;
    char desc[160];
    ck_shape_describe(s, desc, sizeof desc);
    int k = snprintf(err, len, "%s: ", desc);
    if (k < 0 || (size_t)k >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, len - (size_t)k, fmt, ap);
    va_end(ap);
}

/* a * b (* c), or 0 with *ok cleared on overflow. */
static size_t mul(size_t a, size_t b, int *ok)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        *ok = 0;
        return 0;
    }
    return r;
}

/* ---- guarded buffers ------------------------------------------------------------ */

static unsigned char canary_byte(size_t i)
{
    return (unsigned char)(0xC5u ^ (unsigned)(i * 0x3Bu));
}

static void arm_canaries(unsigned char *alloc, size_t bytes)
{
    for (size_t i = 0; i < GUARD; i++) {
        alloc[i] = canary_byte(i);
        alloc[GUARD + bytes + i] = canary_byte(i + GUARD);
    }
}

static void poison(ck_case_buf *b)
{
    if (b->elem_size == 4) {
        uint32_t p = CK_CASE_POISON_F32;
        unsigned char *d = b->data;
        for (size_t i = 0; i < b->count; i++)
            memcpy(d + 4 * i, &p, 4);
    } else {
        memset(b->data, 0xA7, b->bytes);
    }
}

static size_t elem_size_of(uint32_t dtype)
{
    switch (dtype) {
    case CK_DTYPE_F32:
    case CK_DTYPE_I32: return 4;
    case CK_DTYPE_BF16:
    case CK_DTYPE_F16: return 2;
    default: return 1; /* quantised blocks are handled as bytes */
    }
}

/* Storage elements for `values` values of dtype (bytes for quantised). */
static size_t storage_count(uint32_t dtype, size_t values)
{
    if (dtype == CK_DTYPE_Q8_0 || dtype == CK_DTYPE_Q4_0)
        return ck_dtype_row_bytes(dtype, values);
    return values;
}

/* Add a buffer of `values` values; returns its data pointer, NULL on failure. */
static void *add_buf(ck_case *c, const char *name, ck_buf_role role, uint32_t dtype, size_t values, char *err,
                     size_t err_len)
{
    ck_case_buf *b = &c->bufs[c->n_bufs];
    b->name = name;
    b->role = role;
    b->dtype = dtype;
    b->elem_size = elem_size_of(dtype);
    b->count = storage_count(dtype, values);
    b->bytes = b->count * b->elem_size;
    b->ndim = 1;
    b->dims[0] = b->count;
    size_t padded = (b->bytes + GUARD - 1) / GUARD * GUARD;
    if (c->total_bytes + b->bytes > MAX_CASE_BYTES) {
        fail(err, err_len, &c->shape, "needs more than %llu GiB of buffers (at '%s'); reduce the shape",
             MAX_CASE_BYTES >> 30, name);
        return NULL;
    }
    void *mem = NULL;
    if (posix_memalign(&mem, GUARD, 2 * GUARD + padded) != 0) {
        fail(err, err_len, &c->shape, "out of memory allocating '%s' (%zu bytes)", name, b->bytes);
        return NULL;
    }
    unsigned char *alloc = mem;
    memset(alloc, 0, 2 * GUARD + padded);
    arm_canaries(alloc, b->bytes);
    b->data = alloc + GUARD;
    if (role != CK_BUF_OUT) {
        void *init = malloc(b->bytes ? b->bytes : 1);
        if (!init) {
            free(alloc);
            fail(err, err_len, &c->shape, "out of memory allocating '%s' (%zu bytes)", name, b->bytes);
            return NULL;
        }
        b->init = init;
    } else {
        poison(b);
    }
    c->alloc[c->n_bufs] = alloc;
    c->n_bufs++;
    c->total_bytes += b->bytes;
    return b->data;
}

/* The generated contents are written to init (IN/INOUT); this copies them in. */
static void *init_of(ck_case *c, void *data)
{
    for (size_t i = 0; i < c->n_bufs; i++)
        if (c->bufs[i].data == data)
            return (void *)c->bufs[i].init;
    return NULL;
}

/* Give the buffer at data a logical shape (ignored for quantised blocks,
 * which stay a flat byte array). */
static void dims(ck_case *c, const void *data, int ndim, size_t d0, size_t d1, size_t d2)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        ck_case_buf *b = &c->bufs[i];
        if (b->data != data || !data || b->elem_size == 1)
            continue;
        size_t d[3] = {d0, d1, d2}, prod = 1;
        for (int k = 0; k < ndim; k++)
            prod *= d[k];
        if (prod != b->count)
            return;
        b->ndim = ndim;
        memcpy(b->dims, d, sizeof d);
    }
}

/* ---- generators ----------------------------------------------------------------------- */

static void stream(const ck_case *c, const char *name, ck_rng *r)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the buffer name */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    ck_rng_seed(r, c->seed ^ h ^ ((uint64_t)c->shape.op * 0x9E3779B97F4A7C15ull));
}

/* Activations ~ N(0, 1), with about one row in LARGE_ROW_ODDS scaled up: real
 * hidden states have a few outlier tokens and kernels must survive them. */
static void gen_activations(const ck_case *c, const char *name, float *x, size_t rows, size_t cols)
{
    ck_rng r;
    stream(c, name, &r);
    for (size_t t = 0; t < rows; t++) {
        double scale = ck_rng_below(&r, LARGE_ROW_ODDS) == 0 ? LARGE_ROW_SCALE : 1.0;
        for (size_t i = 0; i < cols; i++)
            x[t * cols + i] = (float)(scale * ck_rng_normal(&r));
    }
}

static void gen_normal(const ck_case *c, const char *name, float *x, size_t n, double mean, double sigma)
{
    ck_rng r;
    stream(c, name, &r);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mean + sigma * ck_rng_normal(&r));
}

/* Weights ~ N(0, sigma) in their storage type; quantised blocks get a scale
 * of the right magnitude and random codes. */
static void gen_weights(const ck_case *c, const char *name, void *w, uint32_t dtype, size_t n, double sigma)
{
    ck_rng r;
    stream(c, name, &r);
    if (dtype == CK_DTYPE_Q8_0 || dtype == CK_DTYPE_Q4_0) {
        for (size_t blk = 0; blk < n / CK_QBLOCK; blk++) {
            uint16_t d = ck_f32_to_f16((float)(sigma / 40.0 * (0.5 + ck_rng_uniform(&r))));
            if (dtype == CK_DTYPE_Q8_0) {
                ck_block_q8_0 *b = (ck_block_q8_0 *)w + blk;
                memcpy(&b->d, &d, sizeof d);
                for (int i = 0; i < CK_QBLOCK; i++) {
                    double q = nearbyint(40.0 * ck_rng_normal(&r));
                    b->qs[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
                }
            } else {
                ck_block_q4_0 *b = (ck_block_q4_0 *)w + blk;
                memcpy(&b->d, &d, sizeof d);
                for (int i = 0; i < CK_QBLOCK / 2; i++)
                    b->qs[i] = (uint8_t)ck_rng_below(&r, 256);
            }
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v = (float)(sigma * ck_rng_normal(&r));
        switch (dtype) {
        case CK_DTYPE_BF16: ((uint16_t *)w)[i] = ck_f32_to_bf16(v); break;
        case CK_DTYPE_F16: ((uint16_t *)w)[i] = ck_f32_to_f16(v); break;
        default: ((float *)w)[i] = v; break;
        }
    }
}

/* ---- per-op construction ------------------------------------------------------------ */

#define ADD(name, role, dtype, n)                                                                   \
    do {                                                                                            \
        size_t n_ = (n);                                                                            \
        if (!ok) {                                                                                  \
            fail(err, err_len, s, "buffer '%s' size overflows", #name);                             \
            return -1;                                                                              \
        }                                                                                           \
        if (!(p_##name = add_buf(c, #name, role, dtype, n_, err, err_len)))                         \
            return -1;                                                                              \
    } while (0)

static int is_weight_dtype(uint32_t d, int allow_quant)
{
    return d == CK_DTYPE_F32 || d == CK_DTYPE_BF16 || d == CK_DTYPE_F16 ||
           (allow_quant && (d == CK_DTYPE_Q8_0 || d == CK_DTYPE_Q4_0));
}

static int need(int cond, char *err, size_t err_len, const ck_shape *s, const char *what)
{
    if (!cond)
        fail(err, err_len, s, "%s", what);
    return cond;
}

static int build_norm(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!need(s->T && s->D, err, err_len, s, "T and D must be >= 1"))
        return -1;
    void *p_x, *p_gamma, *p_beta = NULL, *p_y;
    size_t td = mul(s->T, s->D, &ok);
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, td);
    ADD(gamma, CK_BUF_IN, CK_DTYPE_F32, s->D);
    if (s->op == CK_OP_LAYERNORM && s->has_bias)
        ADD(beta, CK_BUF_IN, CK_DTYPE_F32, s->D);
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, td);
    gen_activations(c, "x", init_of(c, p_x), s->T, s->D);
    gen_normal(c, "gamma", init_of(c, p_gamma), s->D, 1.0, 0.1);
    if (p_beta)
        gen_normal(c, "beta", init_of(c, p_beta), s->D, 0.0, WEIGHT_SIGMA);
    dims(c, p_x, 2, s->T, s->D, 0);
    dims(c, p_y, 2, s->T, s->D, 0);
    c->args.norm = (ck_norm_args){.x = p_x, .y = p_y, .gamma = p_gamma, .beta = p_beta, .T = s->T, .D = s->D,
                                  .eps = s->eps > 0 ? s->eps : 1e-5f};
    return 0;
}

static int build_linear(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1, quant = s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0;
    if (!need(s->T && s->K && s->N, err, err_len, s, "T, K and N must be >= 1") ||
        !need(is_weight_dtype(s->dtype, 1), err, err_len, s, "weight dtype must be f32, bf16, f16, q8_0 or q4_0") ||
        !need(!quant || s->K % CK_QBLOCK == 0, err, err_len, s, "K must be a multiple of 32 for quantised weights"))
        return -1;
    void *p_x, *p_w, *p_bias = NULL, *p_y;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, mul(s->T, s->K, &ok));
    ADD(w, CK_BUF_IN, s->dtype, mul(s->N, s->K, &ok));
    if (s->has_bias)
        ADD(bias, CK_BUF_IN, CK_DTYPE_F32, s->N);
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, mul(s->T, s->N, &ok));
    gen_activations(c, "x", init_of(c, p_x), s->T, s->K);
    gen_weights(c, "w", init_of(c, p_w), s->dtype, s->N * s->K, WEIGHT_SIGMA);
    if (p_bias)
        gen_normal(c, "bias", init_of(c, p_bias), s->N, 0.0, WEIGHT_SIGMA);
    dims(c, p_x, 2, s->T, s->K, 0);
    dims(c, p_w, 2, s->N, s->K, 0);
    dims(c, p_y, 2, s->T, s->N, 0);
    c->args.linear = (ck_linear_args){.x = p_x, .w = p_w, .bias = p_bias, .y = p_y, .T = s->T, .K = s->K,
                                      .N = s->N, .w_dtype = s->dtype};
    return 0;
}

static int build_qkv(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1, quant = s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0;
    if (!need(s->T && s->D && s->n_heads && s->n_kv_heads && s->head_dim, err, err_len, s,
              "T, D, n_heads, n_kv_heads and head_dim must be >= 1") ||
        !need(s->n_heads % s->n_kv_heads == 0, err, err_len, s, "n_heads must be a multiple of n_kv_heads") ||
        !need(is_weight_dtype(s->dtype, 1), err, err_len, s, "weight dtype must be f32, bf16, f16, q8_0 or q4_0") ||
        !need(!quant || s->D % CK_QBLOCK == 0, err, err_len, s, "D must be a multiple of 32 for quantised weights"))
        return -1;
    size_t nq = mul(s->n_heads, s->head_dim, &ok), nkv = mul(s->n_kv_heads, s->head_dim, &ok);
    void *p_x, *p_wq, *p_wk, *p_wv, *p_bq = NULL, *p_bk = NULL, *p_bv = NULL, *p_q, *p_k, *p_v;
    ADD(x, CK_BUF_IN, CK_DTYPE_F32, mul(s->T, s->D, &ok));
    ADD(wq, CK_BUF_IN, s->dtype, mul(nq, s->D, &ok));
    ADD(wk, CK_BUF_IN, s->dtype, mul(nkv, s->D, &ok));
    ADD(wv, CK_BUF_IN, s->dtype, mul(nkv, s->D, &ok));
    if (s->has_bias) {
        ADD(bq, CK_BUF_IN, CK_DTYPE_F32, nq);
        ADD(bk, CK_BUF_IN, CK_DTYPE_F32, nkv);
        ADD(bv, CK_BUF_IN, CK_DTYPE_F32, nkv);
    }
    ADD(q, CK_BUF_OUT, CK_DTYPE_F32, mul(s->T, nq, &ok));
    ADD(k, CK_BUF_OUT, CK_DTYPE_F32, mul(s->T, nkv, &ok));
    ADD(v, CK_BUF_OUT, CK_DTYPE_F32, mul(s->T, nkv, &ok));
    gen_activations(c, "x", init_of(c, p_x), s->T, s->D);
    gen_weights(c, "wq", init_of(c, p_wq), s->dtype, nq * s->D, WEIGHT_SIGMA);
    gen_weights(c, "wk", init_of(c, p_wk), s->dtype, nkv * s->D, WEIGHT_SIGMA);
    gen_weights(c, "wv", init_of(c, p_wv), s->dtype, nkv * s->D, WEIGHT_SIGMA);
    if (s->has_bias) {
        gen_normal(c, "bq", init_of(c, p_bq), nq, 0.0, WEIGHT_SIGMA);
        gen_normal(c, "bk", init_of(c, p_bk), nkv, 0.0, WEIGHT_SIGMA);
        gen_normal(c, "bv", init_of(c, p_bv), nkv, 0.0, WEIGHT_SIGMA);
    }
    dims(c, p_x, 2, s->T, s->D, 0);
    dims(c, p_wq, 2, nq, s->D, 0);
    dims(c, p_wk, 2, nkv, s->D, 0);
    dims(c, p_wv, 2, nkv, s->D, 0);
    dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    dims(c, p_k, 3, s->T, s->n_kv_heads, s->head_dim);
    dims(c, p_v, 3, s->T, s->n_kv_heads, s->head_dim);
    c->args.qkv = (ck_qkv_args){.x = p_x, .wq = p_wq, .wk = p_wk, .wv = p_wv, .bq = p_bq, .bk = p_bk, .bv = p_bv,
                                .q = p_q, .k = p_k, .v = p_v, .T = s->T, .D = s->D, .n_heads = s->n_heads,
                                .n_kv_heads = s->n_kv_heads, .head_dim = s->head_dim, .w_dtype = s->dtype};
    return 0;
}

static int build_rope(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t max_pos = s->max_pos ? s->max_pos : s->pos + s->T;
    if (!need(s->T && s->n_heads && s->head_dim, err, err_len, s, "T, n_heads and head_dim must be >= 1") ||
        !need(s->head_dim % 2 == 0, err, err_len, s, "head_dim must be even") ||
        !need(s->pairing == CK_ROPE_NEOX || s->pairing == CK_ROPE_GPTJ, err, err_len, s,
              "pairing must be neox (0) or gptj (1)") ||
        !need(s->pos + s->T <= max_pos, err, err_len, s, "pos + T must not exceed max_pos (table rows)"))
        return -1;
    void *p_q, *p_k = NULL, *p_cos_tab, *p_sin_tab;
    ADD(q, CK_BUF_INOUT, CK_DTYPE_F32, mul(s->T, mul(s->n_heads, s->head_dim, &ok), &ok));
    if (s->n_kv_heads)
        ADD(k, CK_BUF_INOUT, CK_DTYPE_F32, mul(s->T, mul(s->n_kv_heads, s->head_dim, &ok), &ok));
    size_t tab = mul(max_pos, s->head_dim / 2, &ok);
    ADD(cos_tab, CK_BUF_IN, CK_DTYPE_F32, tab);
    ADD(sin_tab, CK_BUF_IN, CK_DTYPE_F32, tab);
    gen_activations(c, "q", init_of(c, p_q), s->T, s->n_heads * s->head_dim);
    if (p_k)
        gen_activations(c, "k", init_of(c, p_k), s->T, s->n_kv_heads * s->head_dim);
    ck_rope_tables(ROPE_THETA, s->head_dim, max_pos, init_of(c, p_cos_tab), init_of(c, p_sin_tab));
    dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    dims(c, p_k, 3, s->T, s->n_kv_heads, s->head_dim);
    dims(c, p_cos_tab, 2, max_pos, s->head_dim / 2, 0);
    dims(c, p_sin_tab, 2, max_pos, s->head_dim / 2, 0);
    c->args.rope = (ck_rope_args){.q = p_q, .k = p_k, .cos_tab = p_cos_tab, .sin_tab = p_sin_tab, .T = s->T,
                                  .n_heads = s->n_heads, .n_kv_heads = s->n_kv_heads, .head_dim = s->head_dim,
                                  .pos_offset = s->pos, .max_pos = max_pos, .pairing = (uint32_t)s->pairing};
    return 0;
}

static int build_attention(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    if (!need(s->T && s->S && s->n_heads && s->n_kv_heads && s->head_dim, err, err_len, s,
              "T, S, n_heads, n_kv_heads and head_dim must be >= 1") ||
        !need(s->n_heads % s->n_kv_heads == 0, err, err_len, s, "n_heads must be a multiple of n_kv_heads"))
        return -1;
    size_t qn = mul(s->T, mul(s->n_heads, s->head_dim, &ok), &ok);
    size_t kvn = mul(s->S, mul(s->n_kv_heads, s->head_dim, &ok), &ok);
    size_t hts = mul(s->n_heads, mul(s->T, s->S, &ok), &ok);
    void *p_q, *p_k, *p_v, *p_out, *p_scores = NULL, *p_probs = NULL;
    ADD(q, CK_BUF_IN, CK_DTYPE_F32, qn);
    ADD(k, CK_BUF_IN, CK_DTYPE_F32, kvn);
    ADD(v, CK_BUF_IN, CK_DTYPE_F32, kvn);
    ADD(out, CK_BUF_OUT, CK_DTYPE_F32, qn);
    if (s->materialize) {
        ADD(scores, CK_BUF_OUT, CK_DTYPE_F32, hts);
        ADD(probs, CK_BUF_OUT, CK_DTYPE_F32, hts);
    }
    gen_activations(c, "q", init_of(c, p_q), s->T, s->n_heads * s->head_dim);
    gen_activations(c, "k", init_of(c, p_k), s->S, s->n_kv_heads * s->head_dim);
    gen_activations(c, "v", init_of(c, p_v), s->S, s->n_kv_heads * s->head_dim);
    dims(c, p_q, 3, s->T, s->n_heads, s->head_dim);
    dims(c, p_out, 3, s->T, s->n_heads, s->head_dim);
    dims(c, p_k, 3, s->S, s->n_kv_heads, s->head_dim);
    dims(c, p_v, 3, s->S, s->n_kv_heads, s->head_dim);
    dims(c, p_scores, 3, s->n_heads, s->T, s->S);
    dims(c, p_probs, 3, s->n_heads, s->T, s->S);
    c->args.attention = (ck_attention_args){
        .q = p_q, .k = p_k, .v = p_v, .out = p_out, .scores = p_scores, .probs = p_probs, .T = s->T, .S = s->S,
        .n_heads = s->n_heads, .n_kv_heads = s->n_kv_heads, .head_dim = s->head_dim, .q_pos = s->pos,
        .causal = s->causal, .scale = (float)(1.0 / sqrt((double)s->head_dim))};
    return 0;
}

/* Elementwise ops: n values, or T * D when the shape gives rows instead. */
static size_t elementwise_n(const ck_shape *s, int *ok)
{
    return s->n ? s->n : mul(s->T, s->D, ok);
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
    if (!need(n >= 1, err, err_len, s, "n (or T * D) must be >= 1"))
        return -1;
    size_t cols = elementwise_cols(s, n), rows = n / cols;
    if (s->op == CK_OP_SWIGLU) {
        void *p_gate, *p_up, *p_y;
        ADD(gate, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(up, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(y, CK_BUF_OUT, CK_DTYPE_F32, n);
        gen_activations(c, "gate", init_of(c, p_gate), rows, cols);
        gen_activations(c, "up", init_of(c, p_up), rows, cols);
        c->args.swiglu = (ck_swiglu_args){.gate = p_gate, .up = p_up, .y = p_y, .n = n};
    } else if (s->op == CK_OP_GELU) {
        void *p_x, *p_y;
        ADD(x, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(y, CK_BUF_OUT, CK_DTYPE_F32, n);
        gen_activations(c, "x", init_of(c, p_x), rows, cols);
        c->args.unary = (ck_unary_args){.x = p_x, .y = p_y, .n = n};
    } else {
        void *p_a, *p_b, *p_y;
        ADD(a, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(b, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(y, CK_BUF_OUT, CK_DTYPE_F32, n);
        gen_activations(c, "a", init_of(c, p_a), rows, cols);
        gen_activations(c, "b", init_of(c, p_b), rows, cols);
        c->args.add = (ck_add_args){.a = p_a, .b = p_b, .y = p_y, .n = n};
    }
    return 0;
}

static int build_embedding(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    int quant = s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0;
    if (!need(s->T && s->vocab && s->D, err, err_len, s, "T, vocab and D must be >= 1") ||
        !need(is_weight_dtype(s->dtype, 1), err, err_len, s, "table dtype must be f32, bf16, f16, q8_0 or q4_0") ||
        !need(!quant || s->D % CK_QBLOCK == 0, err, err_len, s, "D must be a multiple of 32 for a quantised table") ||
        !need(s->vocab <= INT32_MAX, err, err_len, s, "vocab must fit an int32 id"))
        return -1;
    void *p_ids, *p_table, *p_y;
    ADD(ids, CK_BUF_IN, CK_DTYPE_I32, s->T);
    ADD(table, CK_BUF_IN, s->dtype, mul(s->vocab, s->D, &ok));
    ADD(y, CK_BUF_OUT, CK_DTYPE_F32, mul(s->T, s->D, &ok));
    int32_t *ids = init_of(c, p_ids);
    ck_rng r;
    stream(c, "ids", &r);
    for (size_t t = 0; t < s->T; t++)
        ids[t] = (int32_t)ck_rng_below(&r, s->vocab);
    ids[0] = (int32_t)(s->vocab - 1); /* the last row is where an off-by-one in the table bound shows */
    if (s->T > 1)
        ids[1] = 0;
    gen_weights(c, "table", init_of(c, p_table), s->dtype, s->vocab * s->D, 1.0);
    dims(c, p_table, 2, s->vocab, s->D, 0);
    dims(c, p_y, 2, s->T, s->D, 0);
    c->args.embedding = (ck_embedding_args){
        .ids = p_ids, .table = p_table, .y = p_y, .T = s->T, .vocab = s->vocab, .D = s->D, .dtype = s->dtype};
    return 0;
}

static int build_adam(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = elementwise_n(s, &ok);
    if (!need(n >= 1, err, err_len, s, "n must be >= 1"))
        return -1;
    void *p_w, *p_m, *p_v, *p_g;
    ADD(w, CK_BUF_INOUT, CK_DTYPE_F32, n);
    ADD(m, CK_BUF_INOUT, CK_DTYPE_F32, n);
    ADD(v, CK_BUF_INOUT, CK_DTYPE_F32, n);
    ADD(g, CK_BUF_IN, CK_DTYPE_F32, n);
    gen_normal(c, "w", init_of(c, p_w), n, 0.0, WEIGHT_SIGMA);
    gen_normal(c, "g", init_of(c, p_g), n, 0.0, 1e-3);
    gen_normal(c, "m", init_of(c, p_m), n, 0.0, 1e-3);
    /* second moments are positive, of the order of g^2 */
    float *v = init_of(c, p_v);
    gen_normal(c, "v", v, n, 0.0, 1e-3);
    for (size_t i = 0; i < n; i++)
        v[i] = v[i] * v[i];
    /* bias corrections by repeated multiplication: the same on every machine */
    double b1 = 1.0, b2 = 1.0;
    for (unsigned i = 0; i < ADAM_STEP; i++) {
        b1 *= 0.9;
        b2 *= 0.999;
    }
    c->args.adam = (ck_adam_args){.w = p_w, .m = p_m, .v = p_v, .g = p_g, .n = n, .lr = 1e-3f, .beta1 = 0.9f,
                                  .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f, .step = ADAM_STEP,
                                  .bc1 = (float)(1.0 - b1), .bc2 = (float)(1.0 - b2)};
    return 0;
}

static int build_quant(ck_case *c, char *err, size_t err_len)
{
    const ck_shape *s = &c->shape;
    int ok = 1;
    size_t n = elementwise_n(s, &ok);
    if (!need(s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0, err, err_len, s,
              "dtype must be q8_0 or q4_0") ||
        !need(n >= 1 && n % CK_QBLOCK == 0, err, err_len, s, "n must be a positive multiple of 32"))
        return -1;
    void *p_src, *p_dst;
    if (s->op == CK_OP_QUANTIZE) {
        ADD(src, CK_BUF_IN, CK_DTYPE_F32, n);
        ADD(dst, CK_BUF_OUT, s->dtype, n);
        gen_activations(c, "src", init_of(c, p_src), n / CK_QBLOCK, CK_QBLOCK);
    } else {
        ADD(src, CK_BUF_IN, s->dtype, n);
        ADD(dst, CK_BUF_OUT, CK_DTYPE_F32, n);
        gen_weights(c, "src", init_of(c, p_src), s->dtype, n, WEIGHT_SIGMA);
    }
    c->args.quant = (ck_quant_args){.src = p_src, .dst = p_dst, .n = n, .dtype = s->dtype};
    return 0;
}

static int build(ck_case *c, char *err, size_t err_len)
{
    switch (c->shape.op) {
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM: return build_norm(c, err, err_len);
    case CK_OP_LINEAR: return build_linear(c, err, err_len);
    case CK_OP_QKV: return build_qkv(c, err, err_len);
    case CK_OP_ROPE: return build_rope(c, err, err_len);
    case CK_OP_ATTENTION: return build_attention(c, err, err_len);
    case CK_OP_SWIGLU:
    case CK_OP_GELU:
    case CK_OP_ADD: return build_elementwise(c, err, err_len);
    case CK_OP_EMBEDDING: return build_embedding(c, err, err_len);
    case CK_OP_ADAM: return build_adam(c, err, err_len);
    case CK_OP_QUANTIZE:
    case CK_OP_DEQUANTIZE: return build_quant(c, err, err_len);
    default: fail(err, err_len, &c->shape, "unknown op id %u", c->shape.op); return -1;
    }
}

int ck_case_supports(uint32_t op)
{
    return op >= CK_OP_RMSNORM && op <= CK_OP_DEQUANTIZE;
}

/* ---- public API ------------------------------------------------------------------------ */

ck_case *ck_case_create(const ck_shape *s, uint64_t seed, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    ck_case *c = calloc(1, sizeof *c);
    if (!c) {
        fail(err, err_len, s, "out of memory");
        return NULL;
    }
    c->shape = *s;
    c->seed = seed;
    if (build(c, err, err_len) != 0) {
        ck_case_free(c);
        return NULL;
    }
    ck_case_reset(c);
    return c;
}

void ck_case_free(ck_case *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_bufs; i++) {
        free(c->alloc[i]);
        free((void *)c->bufs[i].init);
    }
    free(c);
}

const ck_shape *ck_case_shape(const ck_case *c) { return &c->shape; }
size_t ck_case_n_bufs(const ck_case *c) { return c->n_bufs; }
size_t ck_case_bytes(const ck_case *c) { return c->total_bytes; }
const void *ck_case_args(const ck_case *c) { return &c->args; }

const ck_case_buf *ck_case_buf_at(const ck_case *c, size_t i)
{
    return i < c->n_bufs ? &c->bufs[i] : NULL;
}

const ck_case_buf *ck_case_find(const ck_case *c, const char *name)
{
    for (size_t i = 0; i < c->n_bufs; i++)
        if (strcmp(c->bufs[i].name, name) == 0)
            return &c->bufs[i];
    return NULL;
}

void ck_case_reset(ck_case *c)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        ck_case_buf *b = &c->bufs[i];
        arm_canaries(c->alloc[i], b->bytes);
        if (b->role == CK_BUF_OUT)
            poison(b);
        else if (b->role == CK_BUF_INOUT || memcmp(b->data, b->init, b->bytes) != 0)
            memcpy(b->data, b->init, b->bytes); /* inputs: write only if a kernel broke them */
    }
}

/* For a CK_KF_INPLACE kernel: load the output with the op's first input and
 * point the input at it. Ops without an in-place form keep their args. */
static void make_inplace(const ck_case *c, case_args *a)
{
    switch (c->shape.op) {
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM:
        memcpy(a->norm.y, a->norm.x, c->shape.T * c->shape.D * sizeof(float));
        a->norm.x = a->norm.y;
        break;
    case CK_OP_SWIGLU:
        memcpy(a->swiglu.y, a->swiglu.gate, a->swiglu.n * sizeof(float));
        a->swiglu.gate = a->swiglu.y;
        break;
    case CK_OP_GELU:
        memcpy(a->unary.y, a->unary.x, a->unary.n * sizeof(float));
        a->unary.x = a->unary.y;
        break;
    case CK_OP_ADD:
        memcpy(a->add.y, a->add.a, a->add.n * sizeof(float));
        a->add.a = a->add.y;
        break;
    default: break;
    }
}

int ck_case_run_noreset(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx)
{
    if (!(k->flags & CK_KF_INPLACE))
        return k->fn(ctx, &c->args);
    case_args a = c->args;
    make_inplace(c, &a);
    return k->fn(ctx, &a);
}

int ck_case_run(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx)
{
    ck_case_reset(c);
    return ck_case_run_noreset(c, k, ctx);
}

int ck_case_check_guards(const ck_case *c, char *msg, size_t len)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        const ck_case_buf *b = &c->bufs[i];
        const unsigned char *front = c->alloc[i], *back = front + GUARD + b->bytes;
        /* report the damaged byte nearest the buffer: that is the bad index */
        for (size_t j = 0; j < GUARD; j++) {
            if (back[j] != canary_byte(j + GUARD)) {
                snprintf(msg, len,
                         "out-of-bounds write past the end of '%s' (byte %zu after its last byte, i.e. element %zu "
                         "of %zu)",
                         b->name, j, (b->bytes + j) / b->elem_size, b->count);
                return 1;
            }
        }
        for (size_t j = GUARD; j-- > 0;) {
            if (front[j] != canary_byte(j)) {
                snprintf(msg, len, "out-of-bounds write before the start of '%s' (%zu bytes before element 0)",
                         b->name, GUARD - j);
                return 1;
            }
        }
    }
    return 0;
}

int ck_case_check_inputs(const ck_case *c, char *msg, size_t len)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        const ck_case_buf *b = &c->bufs[i];
        if (b->role != CK_BUF_IN || memcmp(b->data, b->init, b->bytes) == 0)
            continue;
        const unsigned char *d = b->data, *o = b->init;
        size_t j = 0;
        while (j < b->bytes && d[j] == o[j])
            j++;
        snprintf(msg, len, "modified its read-only input '%s' (first at element %zu of %zu)", b->name,
                 j / b->elem_size, b->count);
        return 1;
    }
    return 0;
}

int ck_case_poisoned(const ck_case_buf *b, size_t i)
{
    if (b->elem_size != 4 || i >= b->count)
        return 0; /* byte outputs: the pattern is a legal value, cannot tell */
    uint32_t u;
    memcpy(&u, (const unsigned char *)b->data + 4 * i, 4);
    return u == CK_CASE_POISON_F32;
}
