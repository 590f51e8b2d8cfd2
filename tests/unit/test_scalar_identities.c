/* Identities the scalar reference must satisfy, independent of any
 * recomputation: softmax rows sum to 1, rope is a rotation and is the
 * identity at position 0, rmsnorm of a constant row, the causal mask, GQA
 * with Hkv = H is plain multi-head attention, one AdamW step by hand, and
 * the same bits for any thread count. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"
#include "../support/scalar_testlib.h"

/* ---- attention ---------------------------------------------------------------- */

typedef struct attn_bufs {
    float *q, *k, *v, *out, *scores, *probs;
    ck_attention_args a;
} attn_bufs;

static attn_bufs attn_make(size_t T, size_t S, size_t H, size_t HKV, size_t HD, size_t q_pos, int causal, uint64_t seed)
{
    attn_bufs b;
    st_rng r;
    st_seed(&r, seed);
    b.q = st_floats(T * H * HD);
    b.k = st_floats(S * HKV * HD);
    b.v = st_floats(S * HKV * HD);
    b.out = st_floats(T * H * HD);
    b.scores = st_floats(H * T * S);
    b.probs = st_floats(H * T * S);
    st_fill(&r, b.q, T * H * HD, -3, 3);
    st_fill(&r, b.k, S * HKV * HD, -3, 3);
    st_fill(&r, b.v, S * HKV * HD, -3, 3);
    b.a = (ck_attention_args){.q = b.q,
                              .k = b.k,
                              .v = b.v,
                              .out = b.out,
                              .scores = b.scores,
                              .probs = b.probs,
                              .T = T,
                              .S = S,
                              .n_heads = H,
                              .n_kv_heads = HKV,
                              .head_dim = HD,
                              .q_pos = q_pos,
                              .causal = causal,
                              .scale = (float)(1.0 / sqrt((double)HD))};
    return b;
}

static void attn_free(attn_bufs *b)
{
    free(b->q), free(b->k), free(b->v), free(b->out), free(b->scores), free(b->probs);
}

Test(scalar_identities, softmax_rows_sum_to_one_and_masked_probs_are_zero)
{
    attn_bufs b = attn_make(6, 9, 4, 2, 8, 3, 1, 100);
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &b.a, 1), CK_OK);
    for (size_t h = 0; h < 4; h++)
        for (size_t t = 0; t < 6; t++) {
            double sum = 0;
            for (size_t s = 0; s < 9; s++) {
                size_t i = (h * 6 + t) * 9 + s;
                if (s > 3 + t) {
                    cr_assert(isinf(b.scores[i]) && b.scores[i] < 0, "masked score h=%zu t=%zu s=%zu", h, t, s);
                    cr_assert_eq(b.probs[i], 0.0f, "masked prob h=%zu t=%zu s=%zu", h, t, s);
                } else {
                    cr_assert(b.probs[i] > 0.0f && b.probs[i] <= 1.0f);
                }
                sum += b.probs[i];
            }
            /* each of up to 9 probs is rounded once: |sum - 1| <= 9 * 2^-24 */
            cr_assert(fabs(sum - 1.0) <= 9 * 0x1p-24, "row h=%zu t=%zu sums to %.17g", h, t, sum);
        }
    attn_free(&b);
}

Test(scalar_identities, softmax_survives_large_scores)
{
    /* scores around +-1e4: exp would overflow without the row max subtracted */
    attn_bufs b = attn_make(2, 5, 1, 1, 4, 0, 0, 101);
    for (size_t i = 0; i < 2 * 4; i++)
        b.q[i] *= 3000.0f;
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &b.a, 1), CK_OK);
    for (size_t i = 0; i < 2 * 4; i++)
        cr_assert(isfinite(b.out[i]), "out[%zu] = %g", i, (double)b.out[i]);
    for (size_t t = 0; t < 2; t++) {
        double sum = 0;
        for (size_t s = 0; s < 5; s++)
            sum += b.probs[t * 5 + s];
        cr_assert(fabs(sum - 1.0) <= 5 * 0x1p-24);
    }
    attn_free(&b);
}

Test(scalar_identities, causal_row_t_ignores_keys_and_values_after_it)
{
    enum { T = 5, S = 5, H = 2, HD = 4 };
    attn_bufs b = attn_make(T, S, H, H, HD, 0, 1, 102);
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &b.a, 1), CK_OK);
    float *first = st_copy(b.out, T * H * HD);
    for (size_t t = 0; t + 1 < T; t++) {
        /* scramble every key and value after position t */
        for (size_t s = t + 1; s < S; s++)
            for (size_t i = 0; i < H * HD; i++) {
                b.k[s * H * HD + i] = 10.0f + (float)(s * 7 + i + t);
                b.v[s * H * HD + i] = -50.0f - (float)(i + t);
            }
        cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &b.a, 1), CK_OK);
        for (size_t u = 0; u <= t; u++)
            cr_assert_eq(st_first_diff(b.out + u * H * HD, first + u * H * HD, H * HD), (size_t)H * HD,
                         "row %zu changed when keys > %zu changed", u, t);
        /* and the change is visible to the row that does see it */
        cr_assert_neq(st_first_diff(b.out + (t + 1) * H * HD, first + (t + 1) * H * HD, H * HD), (size_t)H * HD,
                      "row %zu did not see its own key", t + 1);
        memcpy(first, b.out, T * H * HD * sizeof(float));
    }
    free(first);
    attn_free(&b);
}

/* One head at a time: copy q[:, h], k[:, h], v[:, h] into single-head
 * tensors and run attention with H = Hkv = 1. */
static void attention_one_head(const attn_bufs *b, size_t h, size_t kvh, float *out_h)
{
    const ck_attention_args *a = &b->a;
    size_t T = a->T, S = a->S, HD = a->head_dim;
    float *q = st_floats(T * HD), *k = st_floats(S * HD), *v = st_floats(S * HD);
    for (size_t t = 0; t < T; t++)
        memcpy(q + t * HD, a->q + (t * a->n_heads + h) * HD, HD * sizeof(float));
    for (size_t s = 0; s < S; s++) {
        memcpy(k + s * HD, a->k + (s * a->n_kv_heads + kvh) * HD, HD * sizeof(float));
        memcpy(v + s * HD, a->v + (s * a->n_kv_heads + kvh) * HD, HD * sizeof(float));
    }
    ck_attention_args one = *a;
    one.q = q, one.k = k, one.v = v, one.out = out_h, one.scores = NULL, one.probs = NULL;
    one.n_heads = one.n_kv_heads = 1;
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &one, 1), CK_OK);
    free(q), free(k), free(v);
}

static void check_heads_match_single_head_runs(size_t H, size_t HKV)
{
    enum { T = 4, S = 6, HD = 8 };
    attn_bufs b = attn_make(T, S, H, HKV, HD, 2, 1, 103 + H * 10 + HKV);
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &b.a, 2), CK_OK);
    float out_h[T * HD];
    for (size_t h = 0; h < H; h++) {
        attention_one_head(&b, h, h / (H / HKV), out_h);
        for (size_t t = 0; t < T; t++)
            cr_assert_eq(st_first_diff(b.out + (t * H + h) * HD, out_h + t * HD, HD), (size_t)HD,
                         "H=%zu Hkv=%zu head %zu row %zu differs from its single-head run", H, HKV, h, t);
    }
    attn_free(&b);
}

Test(scalar_identities, gqa_with_hkv_equal_h_is_plain_multi_head_attention)
{
    check_heads_match_single_head_runs(4, 4);
}

Test(scalar_identities, gqa_head_h_reads_kv_head_h_over_group)
{
    check_heads_match_single_head_runs(6, 2);
    check_heads_match_single_head_runs(4, 1);
}

/* ---- rope ---------------------------------------------------------------------- */

static void run_rope(float *q, size_t T, size_t H, size_t HD, size_t pos, uint32_t pairing, const float *c,
                     const float *s, size_t max_pos)
{
    ck_rope_args a = {.q = q,
                      .cos_tab = c,
                      .sin_tab = s,
                      .T = T,
                      .n_heads = H,
                      .head_dim = HD,
                      .pos_offset = pos,
                      .max_pos = max_pos,
                      .pairing = pairing};
    cr_assert_eq(st_run(CK_OP_ROPE, CK_DTYPE_F32, &a, 1), CK_OK);
}

Test(scalar_identities, rope_at_position_zero_is_the_identity)
{
    enum { H = 3, HD = 16, MAXPOS = 4 };
    float c[MAXPOS * HD / 2], s[MAXPOS * HD / 2];
    ck_rope_tables(10000.0, HD, MAXPOS, c, s);
    for (size_t i = 0; i < HD / 2; i++)
        cr_assert(c[i] == 1.0f && s[i] == 0.0f, "table row 0 is not cos=1 sin=0 at %zu", i);
    st_rng r;
    st_seed(&r, 110);
    for (uint32_t pairing = 0; pairing < 2; pairing++) {
        float *q = st_floats(H * HD);
        st_fill(&r, q, H * HD, -5, 5);
        float *q0 = st_copy(q, H * HD);
        run_rope(q, 1, H, HD, 0, pairing, c, s, MAXPOS);
        cr_assert_eq(st_first_diff(q, q0, H * HD), (size_t)H * HD, "pairing %u moved a value at position 0", pairing);
        free(q), free(q0);
    }
}

Test(scalar_identities, rope_preserves_each_pairs_norm)
{
    enum { T = 6, H = 2, HD = 12, MAXPOS = 2048 };
    float *c = st_floats(MAXPOS * HD / 2), *s = st_floats(MAXPOS * HD / 2);
    ck_rope_tables(500000.0, HD, MAXPOS, c, s);
    st_rng r;
    st_seed(&r, 111);
    for (uint32_t pairing = 0; pairing < 2; pairing++) {
        float *q = st_floats(T * H * HD);
        st_fill(&r, q, T * H * HD, -4, 4);
        float *q0 = st_copy(q, T * H * HD);
        run_rope(q, T, H, HD, 2000, pairing, c, s, MAXPOS);
        for (size_t row = 0; row < T * H; row++)
            for (size_t i = 0; i < HD / 2; i++) {
                size_t a = pairing ? 2 * i : i, b = pairing ? 2 * i + 1 : i + HD / 2;
                const float *x = q0 + row * HD, *y = q + row * HD;
                double n0 = hypot(x[a], x[b]), n1 = hypot(y[a], y[b]);
                /* table rounding (2^-24 each) and four f32 roundings */
                cr_assert(fabs(n1 - n0) <= 8 * 0x1p-24 * n0 + 1e-30, "pairing %u row %zu pair %zu: norm %.9g -> %.9g",
                          pairing, row, i, n0, n1);
            }
        free(q), free(q0);
    }
    free(c), free(s);
}

/* ---- norms ----------------------------------------------------------------------- */

Test(scalar_identities, rmsnorm_of_a_constant_row)
{
    enum { D = 64 };
    const float consts[] = {2.5f, -0.125f, 1e-3f, 300.0f};
    float x[D], g[D], y[D];
    for (size_t i = 0; i < D; i++)
        g[i] = 0.5f + (float)i / D;
    for (size_t k = 0; k < sizeof consts / sizeof consts[0]; k++) {
        float cval = consts[k];
        for (size_t i = 0; i < D; i++)
            x[i] = cval;
        ck_norm_args a = {.x = x, .y = y, .gamma = g, .T = 1, .D = D, .eps = 1e-6f};
        cr_assert_eq(st_run(CK_OP_RMSNORM, CK_DTYPE_F32, &a, 1), CK_OK);
        /* mean(x^2) = c^2, so y = c / sqrt(c^2 + eps) * gamma */
        double scale = cval / sqrt((double)cval * cval + (double)1e-6f);
        for (size_t i = 0; i < D; i++)
            cr_assert(st_close_rounded_once(y[i], scale * g[i], 0), "c=%g y[%zu]=%.9g want %.17g", (double)cval, i,
                      (double)y[i], scale * g[i]);
    }
}

Test(scalar_identities, layernorm_of_a_constant_row_is_beta)
{
    enum { D = 31 };
    float x[D], g[D], b[D], y[D];
    for (size_t i = 0; i < D; i++)
        x[i] = 7.25f, g[i] = 1.0f + (float)i, b[i] = (float)i * 0.5f - 3.0f;
    ck_norm_args a = {.x = x, .y = y, .gamma = g, .beta = b, .T = 1, .D = D, .eps = 1e-5f};
    cr_assert_eq(st_run(CK_OP_LAYERNORM, CK_DTYPE_F32, &a, 1), CK_OK);
    for (size_t i = 0; i < D; i++)
        cr_assert_eq(y[i], b[i], "y[%zu] = %.9g, want beta %.9g", i, (double)y[i], (double)b[i]);
}

/* ---- adam --------------------------------------------------------------------------- */

Test(scalar_identities, one_adamw_step_by_hand)
{
    /* step 1, lr 0.1, beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0.01:
     *  element 0: w=1, g=0.5, m=v=0
     *    m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25, sqrt = 0.5
     *    w = 1 - 0.1 * (0.5/0.50000001 + 0.01*1) = 1 - 0.1*1.00999998 = 0.899
     *  element 1: w=-2, g=-4, m=v=0
     *    m = -0.4, v = 0.016, mhat = -4, vhat = 16, sqrt = 4
     *    w = -2 - 0.1 * (-4/4.00000001 + 0.01*-2) = -2 + 0.1*1.02 = -1.898
     *  element 2: g=0: m, v stay 0 and only the decay acts: w = 3 - 0.1*0.03 = 2.997 */
    float w[3] = {1.0f, -2.0f, 3.0f}, m[3] = {0}, v[3] = {0}, g[3] = {0.5f, -4.0f, 0.0f};
    ck_adam_args a = {.w = w,
                      .m = m,
                      .v = v,
                      .g = g,
                      .n = 3,
                      .lr = 0.1f,
                      .beta1 = 0.9f,
                      .beta2 = 0.999f,
                      .eps = 1e-8f,
                      .weight_decay = 0.01f,
                      .step = 1,
                      .bc1 = 1.0f - 0.9f,
                      .bc2 = 1.0f - 0.999f};
    cr_assert_eq(st_run(CK_OP_ADAM, CK_DTYPE_F32, &a, 1), CK_OK);
    const double want_w[3] = {0.899, -1.898, 2.997}, want_m[3] = {0.05, -0.4, 0},
                 want_v[3] = {0.000999987125396728515625 * 0.25, 0.000999987125396728515625 * 16, 0};
    for (int i = 0; i < 3; i++) {
        /* a few f32 roundings of numbers like 0.1 and 0.999: 1e-6 relative */
        cr_assert(fabs(w[i] - want_w[i]) <= 1e-6 * fabs(want_w[i]), "w[%d] = %.9g want %g", i, (double)w[i], want_w[i]);
        cr_assert(fabs(m[i] - want_m[i]) <= 1e-6 * fabs(want_m[i]), "m[%d] = %.9g", i, (double)m[i]);
        cr_assert(fabs(v[i] - want_v[i]) <= 1e-6 * fabs(want_v[i]), "v[%d] = %.9g", i, (double)v[i]);
    }
    cr_assert_eq(g[1], -4.0f, "the gradient is read-only");
}

/* ---- threads ----------------------------------------------------------------------- */

/* Runs op with 1, 2 and 3 threads on fresh copies of `in_out` (everything
 * the kernel writes lives there) and requires identical bits. */
typedef void (*bind_fn)(void *args, float *buf);

static void same_bits_for_any_thread_count(uint32_t op, uint32_t dtype, void *args, bind_fn bind, const float *init,
                                           size_t n)
{
    float *ref = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        float *buf = st_copy(init, n);
        bind(args, buf);
        cr_assert_eq(st_run(op, dtype, args, threads), CK_OK, "%s with %d threads", ck_op_name(op), threads);
        if (!ref)
            ref = buf;
        else {
            size_t d = st_first_diff(buf, ref, n);
            cr_assert_eq(d, n, "%s: %d threads differ from 1 thread at %zu", ck_op_name(op), threads, d);
            free(buf);
        }
    }
    free(ref);
}

/* Each op's writable buffers carved from one block: [y] or [w m v] etc. */
enum { TN = 3 * 5000 };
static size_t tT = 40, tD = 300;

static void bind_norm(void *p, float *buf)
{
    ((ck_norm_args *)p)->y = buf;
}
static void bind_linear(void *p, float *buf)
{
    ((ck_linear_args *)p)->y = buf;
}
static void bind_attn(void *p, float *buf)
{
    ck_attention_args *a = p;
    a->out = buf;
    a->scores = buf + a->T * a->n_heads * a->head_dim;
    a->probs = a->scores + a->n_heads * a->T * a->S;
}
static void bind_rope(void *p, float *buf)
{
    ((ck_rope_args *)p)->q = buf;
}
static void bind_swiglu(void *p, float *buf)
{
    ((ck_swiglu_args *)p)->y = buf;
}
static void bind_gelu(void *p, float *buf)
{
    ((ck_unary_args *)p)->y = buf;
}
static void bind_add(void *p, float *buf)
{
    ((ck_add_args *)p)->y = buf;
}
static void bind_adam(void *p, float *buf)
{
    ck_adam_args *a = p;
    a->w = buf, a->m = buf + a->n, a->v = buf + 2 * a->n;
}

Test(scalar_identities, one_thread_and_many_threads_give_identical_bits)
{
    st_rng r;
    st_seed(&r, 120);
    float *x = st_floats(TN), *x2 = st_floats(TN), *g = st_floats(TN), *zero = st_floats(TN);
    st_fill(&r, x, TN, -3, 3);
    st_fill(&r, x2, TN, -3, 3);
    st_fill(&r, g, TN, 0.5, 1.5);

    ck_norm_args norm = {.x = x, .gamma = g, .beta = x2, .T = tT, .D = tD, .eps = 1e-5f};
    same_bits_for_any_thread_count(CK_OP_RMSNORM, CK_DTYPE_F32, &norm, bind_norm, zero, tT * tD);
    same_bits_for_any_thread_count(CK_OP_LAYERNORM, CK_DTYPE_F32, &norm, bind_norm, zero, tT * tD);

    ck_linear_args lin = {.x = x, .w = x2, .bias = g, .T = 7, .K = 100, .N = 120, .w_dtype = CK_DTYPE_F32};
    same_bits_for_any_thread_count(CK_OP_LINEAR, CK_DTYPE_F32, &lin, bind_linear, zero, 7 * 120);
    uint16_t *wb = malloc(100 * 120 * sizeof *wb);
    for (size_t i = 0; i < 100 * 120; i++)
        wb[i] = ck_f32_to_bf16(x2[i]);
    lin.w = wb, lin.w_dtype = CK_DTYPE_BF16;
    same_bits_for_any_thread_count(CK_OP_LINEAR, CK_DTYPE_BF16, &lin, bind_linear, zero, 7 * 120);
    free(wb);

    ck_attention_args at = {.q = x,
                            .k = x2,
                            .v = g,
                            .T = 9,
                            .S = 20,
                            .n_heads = 4,
                            .n_kv_heads = 2,
                            .head_dim = 16,
                            .q_pos = 11,
                            .causal = 1,
                            .scale = 0.25f};
    same_bits_for_any_thread_count(CK_OP_ATTENTION, CK_DTYPE_F32, &at, bind_attn, zero, 9 * 4 * 16 + 2 * 4 * 9 * 20);

    float c[64 * 8], s[64 * 8];
    ck_rope_tables(10000.0, 16, 64, c, s);
    ck_rope_args rope = {.cos_tab = c,
                         .sin_tab = s,
                         .T = 50,
                         .n_heads = 6,
                         .head_dim = 16,
                         .pos_offset = 10,
                         .max_pos = 64,
                         .pairing = CK_ROPE_GPTJ};
    same_bits_for_any_thread_count(CK_OP_ROPE, CK_DTYPE_F32, &rope, bind_rope, x, 50 * 6 * 16);

    ck_swiglu_args sw = {.gate = x, .up = x2, .n = TN};
    same_bits_for_any_thread_count(CK_OP_SWIGLU, CK_DTYPE_F32, &sw, bind_swiglu, zero, TN);
    ck_unary_args ge = {.x = x, .n = TN};
    same_bits_for_any_thread_count(CK_OP_GELU, CK_DTYPE_F32, &ge, bind_gelu, zero, TN);
    ck_add_args ad = {.a = x, .b = x2, .n = TN};
    same_bits_for_any_thread_count(CK_OP_ADD, CK_DTYPE_F32, &ad, bind_add, zero, TN);

    float *wmv = st_floats(TN);
    st_fill(&r, wmv, TN / 3, -1, 1);                /* w */
    st_fill(&r, wmv + TN / 3, TN / 3, -0.1, 0.1);   /* m */
    st_fill(&r, wmv + 2 * TN / 3, TN / 3, 0, 0.01); /* v */
    ck_adam_args adam = {.g = x,
                         .n = TN / 3,
                         .lr = 1e-3f,
                         .beta1 = 0.9f,
                         .beta2 = 0.95f,
                         .eps = 1e-8f,
                         .weight_decay = 0.1f,
                         .step = 3,
                         .bc1 = 0.271f,
                         .bc2 = 0.142625f};
    same_bits_for_any_thread_count(CK_OP_ADAM, CK_DTYPE_F32, &adam, bind_adam, wmv, TN);
    free(wmv);
    free(x), free(x2), free(g), free(zero);
}
