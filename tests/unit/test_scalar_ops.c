/* The scalar reference against independent double-precision recomputations
 * written here: every output must be the double result rounded once (within
 * half an f32 ulp), and exact-class ops must match the f32 formula bit for bit.
 * Run alone: CK_PLUGIN_PATH=build/plugins build/tests/test_scalar_ops */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"
#include "../support/scalar_testlib.h"

#define SLACK 1e-12 /* absolute slack for sums that cancel to near zero */

static void expect_close(const float *got, const double *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(st_close_rounded_once(got[i], want[i], SLACK), "%s[%zu] = %.9g, double reference %.17g", what, i,
                  (double)got[i], want[i]);
}

/* ---- norms ----------------------------------------------------------------- */

static void rmsnorm_double(const float *x, const float *gamma, size_t T, size_t D, float eps, double *y)
{
    for (size_t t = 0; t < T; t++) {
        long double ss = 0; /* a different accumulator than the plugin's */
        for (size_t i = 0; i < D; i++)
            ss += (long double)x[t * D + i] * x[t * D + i];
        double r = 1.0 / sqrt((double)(ss / D) + eps);
        for (size_t i = 0; i < D; i++)
            y[t * D + i] = x[t * D + i] * r * gamma[i];
    }
}

Test(scalar_ops, rmsnorm_matches_double)
{
    enum { T = 5, D = 37 };
    st_rng r;
    st_seed(&r, 1);
    float *x = st_floats(T * D), *g = st_floats(D), *y = st_floats(T * D);
    double want[T * D];
    st_fill(&r, x, T * D, -3, 3);
    st_fill(&r, g, D, 0.5, 1.5);
    rmsnorm_double(x, g, T, D, 1e-5f, want);
    ck_norm_args a = {.x = x, .y = y, .gamma = g, .T = T, .D = D, .eps = 1e-5f};
    cr_assert_eq(st_run(CK_OP_RMSNORM, CK_DTYPE_F32, &a, 1), CK_OK);
    expect_close(y, want, T * D, "rmsnorm");
    /* in place (y aliases x) gives the same bits */
    float *xi = st_copy(x, T * D);
    a.x = xi;
    a.y = xi;
    cr_assert_eq(st_run(CK_OP_RMSNORM, CK_DTYPE_F32, &a, 1), CK_OK);
    cr_assert_eq(st_first_diff(xi, y, T * D), (size_t)T * D, "in-place rmsnorm differs");
    free(x), free(g), free(y), free(xi);
}

static void layernorm_double(const float *x, const float *gamma, const float *beta, size_t T, size_t D, float eps,
                             double *y)
{
    for (size_t t = 0; t < T; t++) {
        const float *xr = x + t * D;
        long double s = 0, sq = 0;
        for (size_t i = 0; i < D; i++)
            s += xr[i];
        double mean = (double)(s / D);
        for (size_t i = 0; i < D; i++)
            sq += ((long double)xr[i] - mean) * ((long double)xr[i] - mean);
        double r = 1.0 / sqrt((double)(sq / D) + eps);
        for (size_t i = 0; i < D; i++)
            y[t * D + i] = (xr[i] - mean) * r * gamma[i] + (beta ? beta[i] : 0.0);
    }
}

Test(scalar_ops, layernorm_matches_double_with_and_without_beta)
{
    enum { T = 4, D = 53 };
    st_rng r;
    st_seed(&r, 2);
    float *x = st_floats(T * D), *g = st_floats(D), *b = st_floats(D), *y = st_floats(T * D);
    double want[T * D];
    st_fill(&r, x, T * D, 2, 6); /* a large mean: the variance must not cancel */
    st_fill(&r, g, D, 0.5, 1.5);
    st_fill(&r, b, D, -1, 1);
    for (int with_beta = 0; with_beta < 2; with_beta++) {
        const float *beta = with_beta ? b : NULL;
        layernorm_double(x, g, beta, T, D, 1e-5f, want);
        ck_norm_args a = {.x = x, .y = y, .gamma = g, .beta = beta, .T = T, .D = D, .eps = 1e-5f};
        cr_assert_eq(st_run(CK_OP_LAYERNORM, CK_DTYPE_F32, &a, 1), CK_OK);
        expect_close(y, want, T * D, with_beta ? "layernorm+beta" : "layernorm");
    }
    free(x), free(g), free(b), free(y);
}

/* ---- linear and qkv ------------------------------------------------------- */

static float weight_value(const void *w, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case CK_DTYPE_BF16: return ck_bf16_to_f32(((const uint16_t *)w)[i]);
    case CK_DTYPE_F16: return ck_f16_to_f32(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

/* Random weights in the storage dtype. */
static void *make_weights(st_rng *r, uint32_t dtype, size_t n)
{
    size_t es = dtype == CK_DTYPE_F32 ? 4 : 2;
    unsigned char *w = malloc(n * es);
    cr_assert_not_null(w);
    for (size_t i = 0; i < n; i++) {
        float v = (float)st_uniform(r, -1, 1);
        if (dtype == CK_DTYPE_F32)
            memcpy(w + 4 * i, &v, 4);
        else {
            uint16_t h = dtype == CK_DTYPE_BF16 ? ck_f32_to_bf16(v) : ck_f32_to_f16(v);
            memcpy(w + 2 * i, &h, 2);
        }
    }
    return w;
}

static void linear_double(const float *x, const void *w, uint32_t dtype, const float *bias, size_t T, size_t K,
                          size_t N, double *y)
{
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            long double acc = bias ? bias[n] : 0.0f;
            for (size_t k = K; k-- > 0;) /* reversed order, on purpose */
                acc += (long double)x[t * K + k] * weight_value(w, dtype, n * K + k);
            y[t * N + n] = (double)acc;
        }
}

static void check_linear(uint32_t dtype, int with_bias)
{
    enum { T = 5, K = 67, N = 13 };
    st_rng r;
    st_seed(&r, 10 + dtype);
    float *x = st_floats(T * K), *b = st_floats(N), *y = st_floats(T * N);
    void *w = make_weights(&r, dtype, N * K);
    double want[T * N];
    st_fill(&r, x, T * K, -1, 1);
    st_fill(&r, b, N, -1, 1);
    linear_double(x, w, dtype, with_bias ? b : NULL, T, K, N, want);
    ck_linear_args a = {.x = x, .w = w, .bias = with_bias ? b : NULL, .y = y, .T = T, .K = K, .N = N, .w_dtype = dtype};
    cr_assert_eq(st_run(CK_OP_LINEAR, dtype, &a, 2), CK_OK);
    expect_close(y, want, T * N, ck_dtype_name(dtype));
    free(x), free(b), free(y), free(w);
}

Test(scalar_ops, linear_f32_matches_double)
{
    check_linear(CK_DTYPE_F32, 1);
    check_linear(CK_DTYPE_F32, 0);
}
Test(scalar_ops, linear_bf16_matches_double)
{
    check_linear(CK_DTYPE_BF16, 1);
    check_linear(CK_DTYPE_BF16, 0);
}
Test(scalar_ops, linear_f16_matches_double)
{
    check_linear(CK_DTYPE_F16, 1);
}

Test(scalar_ops, linear_refuses_a_weight_dtype_other_than_its_own)
{
    float x[4] = {0}, w[4] = {0}, y[1] = {0};
    ck_linear_args a = {.x = x, .w = w, .y = y, .T = 1, .K = 4, .N = 1, .w_dtype = CK_DTYPE_BF16};
    cr_assert_eq(st_run(CK_OP_LINEAR, CK_DTYPE_F32, &a, 1), CK_E_UNSUPPORTED);
}

static void check_qkv(uint32_t dtype, int with_bias)
{
    enum { T = 3, D = 41, H = 4, HKV = 2, HD = 6 };
    st_rng r;
    st_seed(&r, 20 + dtype);
    float *x = st_floats(T * D);
    st_fill(&r, x, T * D, -1, 1);
    void *wq = make_weights(&r, dtype, H * HD * D), *wk = make_weights(&r, dtype, HKV * HD * D),
         *wv = make_weights(&r, dtype, HKV * HD * D);
    float *bq = st_floats(H * HD), *bk = st_floats(HKV * HD), *bv = st_floats(HKV * HD);
    st_fill(&r, bq, H * HD, -1, 1);
    st_fill(&r, bk, HKV * HD, -1, 1);
    st_fill(&r, bv, HKV * HD, -1, 1);
    float *q = st_floats(T * H * HD), *k = st_floats(T * HKV * HD), *v = st_floats(T * HKV * HD);
    ck_qkv_args a = {.x = x,
                     .wq = wq,
                     .wk = wk,
                     .wv = wv,
                     .bq = with_bias ? bq : NULL,
                     .bk = with_bias ? bk : NULL,
                     .bv = with_bias ? bv : NULL,
                     .q = q,
                     .k = k,
                     .v = v,
                     .T = T,
                     .D = D,
                     .n_heads = H,
                     .n_kv_heads = HKV,
                     .head_dim = HD,
                     .w_dtype = dtype};
    cr_assert_eq(st_run(CK_OP_QKV, dtype, &a, 2), CK_OK);
    double want[T * H * HD];
    /* q[t][h][d] comes from weight row h*hd + d: a linear with N = H*hd */
    linear_double(x, wq, dtype, a.bq, T, D, H * HD, want);
    expect_close(q, want, T * H * HD, "q");
    linear_double(x, wk, dtype, a.bk, T, D, HKV * HD, want);
    expect_close(k, want, T * HKV * HD, "k");
    linear_double(x, wv, dtype, a.bv, T, D, HKV * HD, want);
    expect_close(v, want, T * HKV * HD, "v");
    free(x), free(wq), free(wk), free(wv), free(bq), free(bk), free(bv), free(q), free(k), free(v);
}

Test(scalar_ops, qkv_f32_gqa_matches_three_linears)
{
    check_qkv(CK_DTYPE_F32, 1);
    check_qkv(CK_DTYPE_F32, 0);
}
Test(scalar_ops, qkv_bf16_gqa_matches_three_linears)
{
    check_qkv(CK_DTYPE_BF16, 0);
    check_qkv(CK_DTYPE_BF16, 1);
}

Test(scalar_ops, host_refuses_qkv_kv_heads_that_do_not_divide_heads)
{
    float x[4] = {0}, w[64] = {0}, o[64];
    ck_qkv_args a = {.x = x,
                     .wq = w,
                     .wk = w,
                     .wv = w,
                     .q = o,
                     .k = o,
                     .v = o,
                     .T = 1,
                     .D = 4,
                     .n_heads = 3,
                     .n_kv_heads = 2,
                     .head_dim = 2,
                     .w_dtype = CK_DTYPE_F32};
    /* the host's rule (docs/ops.md), checked before any kernel sees them */
    cr_assert_eq(ck_op_check_args(CK_OP_QKV, &a, NULL, 0), -1);
}

/* ---- rope ------------------------------------------------------------------ */

/* The exact f32 formula of docs/ops.md, written out again. */
static void rope_f32(float *x, size_t hd, const float *c, const float *s, int gptj)
{
    for (size_t i = 0; i < hd / 2; i++) {
        size_t a = gptj ? 2 * i : i, b = gptj ? 2 * i + 1 : i + hd / 2;
        float x0 = x[a], x1 = x[b];
        float t0 = x0 * c[i], t1 = x1 * s[i], t2 = x0 * s[i], t3 = x1 * c[i];
        x[a] = t0 - t1;
        x[b] = t2 + t3;
    }
}

/* rd: rotary_dim (0: all of HD). The first rd dims of each head are the
 * f32 formula over pairs within rd, the rest are the input's bits. */
static void check_rope(int gptj, size_t HD, size_t rd)
{
    enum { T = 3, H = 4, HKV = 2, MAXPOS = 16, POS = 5 };
    size_t R = rd ? rd : HD;
    float *cos_tab = st_floats(MAXPOS * R / 2), *sin_tab = st_floats(MAXPOS * R / 2);
    ck_rope_tables(10000.0, R, MAXPOS, cos_tab, sin_tab);
    st_rng r;
    st_seed(&r, 30 + gptj + HD);
    float *q = st_floats(T * H * HD), *k = st_floats(T * HKV * HD), *want = st_floats(HD);
    st_fill(&r, q, T * H * HD, -2, 2);
    st_fill(&r, k, T * HKV * HD, -2, 2);
    float *q0 = st_copy(q, T * H * HD), *k0 = st_copy(k, T * HKV * HD);
    ck_rope_args a = {.q = q,
                      .k = k,
                      .cos_tab = cos_tab,
                      .sin_tab = sin_tab,
                      .T = T,
                      .n_heads = H,
                      .n_kv_heads = HKV,
                      .head_dim = HD,
                      .pos_offset = POS,
                      .max_pos = MAXPOS,
                      .pairing = gptj ? CK_ROPE_GPTJ : CK_ROPE_NEOX,
                      .rotary_dim = rd};
    cr_assert_eq(st_run(CK_OP_ROPE, CK_DTYPE_F32, &a, 2), CK_OK);
    for (size_t t = 0; t < T; t++) {
        const float *c = cos_tab + (POS + t) * R / 2, *s = sin_tab + (POS + t) * R / 2;
        for (size_t h = 0; h < H; h++) {
            memcpy(want, q0 + (t * H + h) * HD, HD * sizeof *want);
            rope_f32(want, R, c, s, gptj);
            cr_assert_eq(st_first_diff(q + (t * H + h) * HD, want, HD), HD, "q t=%zu h=%zu", t, h);
            /* and the rotation is the true one to f32 accuracy */
            for (size_t i = 0; i < R / 2; i++) {
                size_t i0 = gptj ? 2 * i : i, i1 = gptj ? 2 * i + 1 : i + R / 2;
                double ang = (double)(POS + t) * pow(10000.0, -2.0 * (double)i / (double)R);
                double x0 = q0[(t * H + h) * HD + i0], x1 = q0[(t * H + h) * HD + i1];
                cr_assert(fabs(q[(t * H + h) * HD + i0] - (x0 * cos(ang) - x1 * sin(ang))) < 1e-6);
                cr_assert(fabs(q[(t * H + h) * HD + i1] - (x0 * sin(ang) + x1 * cos(ang))) < 1e-6);
            }
            for (size_t i = R; i < HD; i++)
                cr_assert(q[(t * H + h) * HD + i] == q0[(t * H + h) * HD + i], "dim %zu past rotary_dim changed", i);
        }
        for (size_t h = 0; h < HKV; h++) {
            memcpy(want, k0 + (t * HKV + h) * HD, HD * sizeof *want);
            rope_f32(want, R, c, s, gptj);
            cr_assert_eq(st_first_diff(k + (t * HKV + h) * HD, want, HD), HD, "k t=%zu h=%zu", t, h);
        }
    }
    /* rope_bwd with the same rotary_dim undoes it to rounding, the tail untouched */
    cr_assert_eq(st_run(CK_OP_ROPE_BWD, CK_DTYPE_F32, &a, 1), CK_OK);
    for (size_t i = 0; i < T * H * HD; i++)
        cr_assert(fabsf(q[i] - q0[i]) < 1e-5f, "rope_bwd(rope(q))[%zu] = %g, q = %g", i, q[i], q0[i]);
    free(q), free(k), free(q0), free(k0), free(want), free(cos_tab), free(sin_tab);
}

Test(scalar_ops, rope_neox_is_the_exact_f32_formula)
{
    check_rope(0, 8, 0);
}
Test(scalar_ops, rope_gptj_is_the_exact_f32_formula)
{
    check_rope(1, 8, 0);
}
Test(scalar_ops, partial_rope_rotates_only_the_first_rotary_dim_dims)
{
    check_rope(0, 80, 32); /* Phi-2's 32 of 80 */
    check_rope(1, 80, 32);
    check_rope(0, 96, 24);
    check_rope(1, 10, 2);
    check_rope(0, 8, 8); /* rotary_dim == head_dim is full rope */
}

/* The argument rules are the host's (ck_op_check_args); the kernel takes
 * the last table row. */
Test(scalar_ops, rope_takes_the_last_table_row_and_the_host_refuses_the_rest)
{
    float q[12] = {0}, c[8] = {0}, s[8] = {0};
    char err[CK_ERR_LEN];
    ck_rope_args a = {.q = q, .cos_tab = c, .sin_tab = s, .T = 1, .n_heads = 1, .head_dim = 3, .max_pos = 4};
    cr_assert_eq(ck_op_check_args(CK_OP_ROPE, &a, err, sizeof err), -1, "odd head_dim");
    a.head_dim = 4;
    a.pos_offset = 4; /* row 0 would need table row 4 of 4 */
    cr_assert_eq(ck_op_check_args(CK_OP_ROPE, &a, err, sizeof err), -1, "position past the table");
    a.pos_offset = 3;
    cr_assert_eq(st_run(CK_OP_ROPE, CK_DTYPE_F32, &a, 1), CK_OK, "last table row");
    a.pairing = 7;
    cr_assert_eq(ck_op_check_args(CK_OP_ROPE, &a, err, sizeof err), -1, "unknown pairing");
}

/* ---- attention ------------------------------------------------------------- */

typedef struct attn_case {
    size_t T, S, H, HKV, HD, q_pos;
    int causal;
    size_t window;
    float softcap;
} attn_case;

/* Independent recomputation: scores, probs, out in long double. */
static void attention_double(const attn_case *c, const float *q, const float *k, const float *v, float scale,
                             double *out, double *scores, double *probs)
{
    size_t group = c->H / c->HKV;
    for (size_t h = 0; h < c->H; h++)
        for (size_t t = 0; t < c->T; t++) {
            long double sc[64], mx = -INFINITY, sum = 0;
            size_t kvh = h / group, base = (h * c->T + t) * c->S;
            for (size_t s = 0; s < c->S; s++) {
                int masked = c->causal && (s > c->q_pos + t || (c->window && s + c->window <= c->q_pos + t));
                long double d = 0;
                for (size_t i = 0; i < c->HD; i++)
                    d += (long double)q[(t * c->H + h) * c->HD + i] * k[(s * c->HKV + kvh) * c->HD + i];
                d *= scale;
                if (c->softcap > 0)
                    d = c->softcap * tanhl(d / c->softcap);
                sc[s] = masked ? -INFINITY : d;
                if (sc[s] > mx)
                    mx = sc[s];
            }
            for (size_t s = 0; s < c->S; s++)
                sum += expl(sc[s] - mx);
            for (size_t s = 0; s < c->S; s++) {
                scores[base + s] = (double)sc[s];
                probs[base + s] = (double)(expl(sc[s] - mx) / sum);
            }
            for (size_t i = 0; i < c->HD; i++) {
                long double acc = 0;
                for (size_t s = 0; s < c->S; s++)
                    acc += (expl(sc[s] - mx) / sum) * v[(s * c->HKV + kvh) * c->HD + i];
                out[(t * c->H + h) * c->HD + i] = (double)acc;
            }
        }
}

static void check_attention(attn_case c)
{
    st_rng r;
    st_seed(&r, 40 + c.T * 7 + c.S);
    size_t nq = c.T * c.H * c.HD, nkv = c.S * c.HKV * c.HD, nsc = c.H * c.T * c.S;
    float *q = st_floats(nq), *k = st_floats(nkv), *v = st_floats(nkv), *out = st_floats(nq);
    float *scores = st_floats(nsc), *probs = st_floats(nsc);
    double *wout = calloc(nq, sizeof *wout), *wsc = calloc(nsc, sizeof *wsc), *wpr = calloc(nsc, sizeof *wpr);
    st_fill(&r, q, nq, -2, 2);
    st_fill(&r, k, nkv, -2, 2);
    st_fill(&r, v, nkv, -2, 2);
    float scale = (float)(1.0 / sqrt((double)c.HD));
    ck_attention_args a = {.q = q,
                           .k = k,
                           .v = v,
                           .out = out,
                           .scores = scores,
                           .probs = probs,
                           .T = c.T,
                           .S = c.S,
                           .n_heads = c.H,
                           .n_kv_heads = c.HKV,
                           .head_dim = c.HD,
                           .q_pos = c.q_pos,
                           .causal = c.causal,
                           .scale = scale,
                           .window = c.window,
                           .softcap = c.softcap};
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &a, 2), CK_OK);
    attention_double(&c, q, k, v, scale, wout, wsc, wpr);
    expect_close(out, wout, nq, "out");
    expect_close(scores, wsc, nsc, "scores");
    expect_close(probs, wpr, nsc, "probs");
    /* the streaming variant (no scores/probs) gives the same output bits */
    float *out2 = st_floats(nq);
    a.out = out2;
    a.scores = a.probs = NULL;
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &a, 1), CK_OK);
    cr_assert_eq(st_first_diff(out, out2, nq), nq, "streaming output differs from materialising");
    free(q), free(k), free(v), free(out), free(out2), free(scores), free(probs), free(wout), free(wsc), free(wpr);
}

Test(scalar_ops, attention_causal_prefill_matches_double)
{
    check_attention((attn_case){.T = 7, .S = 7, .H = 4, .HKV = 2, .HD = 16, .q_pos = 0, .causal = 1});
}

Test(scalar_ops, attention_decode_one_query_against_a_kv_cache)
{
    /* the token at position 9 against the 10 cached keys 0..9 */
    check_attention((attn_case){.T = 1, .S = 10, .H = 4, .HKV = 1, .HD = 8, .q_pos = 9, .causal = 1});
}

Test(scalar_ops, attention_chunked_prefill_after_a_prefix)
{
    /* 3 new rows at positions 5..7 against 8 keys */
    check_attention((attn_case){.T = 3, .S = 8, .H = 2, .HKV = 2, .HD = 6, .q_pos = 5, .causal = 1});
}

Test(scalar_ops, attention_bidirectional_matches_double)
{
    check_attention((attn_case){.T = 5, .S = 9, .H = 6, .HKV = 3, .HD = 10, .q_pos = 0, .causal = 0});
}

Test(scalar_ops, attention_sliding_window_matches_double)
{
    check_attention((attn_case){.T = 7, .S = 7, .H = 4, .HKV = 2, .HD = 16, .causal = 1, .window = 1});
    check_attention((attn_case){.T = 7, .S = 7, .H = 4, .HKV = 2, .HD = 16, .causal = 1, .window = 3});
    check_attention((attn_case){.T = 7, .S = 7, .H = 4, .HKV = 2, .HD = 16, .causal = 1, .window = 6});
    check_attention((attn_case){.T = 5, .S = 5, .H = 2, .HKV = 1, .HD = 8, .causal = 1, .window = 50});
    /* decode: position 9 against keys 0..9 sees 7..9 */
    check_attention((attn_case){.T = 1, .S = 10, .H = 4, .HKV = 1, .HD = 8, .q_pos = 9, .causal = 1, .window = 3});
}

Test(scalar_ops, attention_softcap_matches_double)
{
    check_attention((attn_case){.T = 6, .S = 6, .H = 2, .HKV = 2, .HD = 16, .causal = 1, .softcap = 50.0f});
    /* a cap so small that tanh saturates: scores pinned near +-cap */
    check_attention((attn_case){.T = 4, .S = 9, .H = 2, .HKV = 1, .HD = 10, .causal = 0, .softcap = 0.05f});
    check_attention(
        (attn_case){.T = 3, .S = 8, .H = 2, .HKV = 2, .HD = 6, .q_pos = 5, .causal = 1, .window = 2, .softcap = 1.0f});
}

/* The heads rule is the host's now (ck_op_check_args): the kernel keeps
 * only its own limits. */
Test(scalar_ops, attention_heads_rule_is_the_hosts)
{
    float buf[64] = {0};
    char err[CK_ERR_LEN];
    ck_attention_args a = {.q = buf,
                           .k = buf + 8,
                           .v = buf + 16,
                           .out = buf + 32,
                           .T = 1,
                           .S = 1,
                           .n_heads = 4,
                           .n_kv_heads = 3,
                           .head_dim = 2,
                           .scale = 1.0f};
    cr_assert_eq(ck_op_check_args(CK_OP_ATTENTION, &a, err, sizeof err), -1);
    a.n_kv_heads = 0;
    cr_assert_eq(ck_op_check_args(CK_OP_ATTENTION, &a, err, sizeof err), -1);
}

/* ---- elementwise ------------------------------------------------------------ */

/* Values from tiny to large, both signs, so exp/tanh saturate somewhere. */
static const float edge_values[] = {0.0f,   -0.0f,   1e-30f, -1e-30f, 1e-3f, -1e-3f, 0.5f,  -0.5f,  1.0f,  -1.0f,
                                    3.0f,   -3.0f,   5.5f,   -5.5f,   10.0f, -10.0f, 20.0f, -20.0f, 88.0f, -88.0f,
                                    100.0f, -100.0f, 1e4f,   -1e4f,   1e20f, -1e20f, 3e38f, -3e38f};
#define N_EDGE (sizeof edge_values / sizeof edge_values[0])

Test(scalar_ops, swiglu_matches_double_including_saturation)
{
    enum { N = 1000 };
    st_rng r;
    st_seed(&r, 50);
    float *gate = st_floats(N + N_EDGE), *up = st_floats(N + N_EDGE), *y = st_floats(N + N_EDGE);
    double want[N + N_EDGE];
    st_fill(&r, gate, N, -12, 12);
    st_fill(&r, up, N + N_EDGE, -3, 3);
    memcpy(gate + N, edge_values, sizeof edge_values);
    for (size_t i = 0; i < N + N_EDGE; i++) {
        long double g = gate[i];
        want[i] = (double)(g / (1 + expl(-g)) * up[i]);
    }
    ck_swiglu_args a = {.gate = gate, .up = up, .y = y, .n = N + N_EDGE};
    cr_assert_eq(st_run(CK_OP_SWIGLU, CK_DTYPE_F32, &a, 1), CK_OK);
    expect_close(y, want, N + N_EDGE, "swiglu");
    free(gate), free(up), free(y);
}

Test(scalar_ops, gelu_matches_double_including_saturation)
{
    enum { N = 1000 };
    st_rng r;
    st_seed(&r, 51);
    float *x = st_floats(N + N_EDGE), *y = st_floats(N + N_EDGE);
    double want[N + N_EDGE];
    st_fill(&r, x, N, -8, 8);
    memcpy(x + N, edge_values, sizeof edge_values);
    for (size_t i = 0; i < N + N_EDGE; i++) {
        long double v = x[i];
        long double u = 0.7978845608028654L * (v + 0.044715L * v * v * v);
        want[i] = (double)(0.5L * v * (1 + tanhl(u)));
    }
    ck_unary_args a = {.x = x, .y = y, .n = N + N_EDGE};
    cr_assert_eq(st_run(CK_OP_GELU, CK_DTYPE_F32, &a, 1), CK_OK);
    /* 1 + tanh(u) cancels for u << 0; the double reference there is still
     * correct to ~1e-16 absolute, hence the absolute slack */
    for (size_t i = 0; i < N + N_EDGE; i++)
        cr_assert(st_close_rounded_once(y[i], want[i], 1e-15 * fabs((double)x[i])), "gelu(%.9g) = %.9g, want %.17g",
                  (double)x[i], (double)y[i], want[i]);
    free(x), free(y);
}

/* geglu = gelu(gate) * up (Gemma): the gelu above times up, rounded once.
 * The edge gates stop at 1e20, where gate * up still fits in f32. */
Test(scalar_ops, geglu_matches_double_including_saturation)
{
    enum { N = 1000, NE = N_EDGE - 2 };
    st_rng r;
    st_seed(&r, 53);
    float *gate = st_floats(N + NE), *up = st_floats(N + NE), *y = st_floats(N + NE);
    double want[N + NE];
    st_fill(&r, gate, N, -8, 8);
    st_fill(&r, up, N + NE, -3, 3);
    memcpy(gate + N, edge_values, NE * sizeof edge_values[0]);
    for (size_t i = 0; i < N + NE; i++) {
        long double v = gate[i];
        long double u = 0.7978845608028654L * (v + 0.044715L * v * v * v);
        want[i] = (double)(0.5L * v * (1 + tanhl(u)) * up[i]);
    }
    ck_swiglu_args a = {.gate = gate, .up = up, .y = y, .n = N + NE};
    cr_assert_eq(st_run(CK_OP_GEGLU, CK_DTYPE_F32, &a, 1), CK_OK);
    for (size_t i = 0; i < N + NE; i++) /* the same absolute slack as gelu's, scaled by up */
        cr_assert(st_close_rounded_once(y[i], want[i], 1e-15 * fabs((double)gate[i] * up[i])),
                  "geglu(%.9g, %.9g) = %.9g, want %.17g", (double)gate[i], (double)up[i], (double)y[i], want[i]);
    free(gate), free(up), free(y);
}

/* gelu_erf = x Phi(x) (torch's nn.GELU()), against long double erfcl: its
 * tail for x << 0 (Phi below 1e-20 at -10) must keep its relative digits,
 * which 1 + erf(x / sqrt 2) would lose. */
Test(scalar_ops, gelu_erf_matches_long_double_including_both_tails)
{
    enum { N = 1000 };
    st_rng r;
    st_seed(&r, 57);
    float *x = st_floats(N + N_EDGE), *y = st_floats(N + N_EDGE);
    double want[N + N_EDGE];
    st_fill(&r, x, N, -8, 8);
    memcpy(x + N, edge_values, sizeof edge_values);
    for (size_t i = 0; i < N + N_EDGE; i++) {
        long double v = x[i];
        want[i] = (double)(0.5L * v * erfcl(-v / sqrtl(2.0L)));
    }
    ck_unary_args a = {.x = x, .y = y, .n = N + N_EDGE};
    cr_assert_eq(st_run(CK_OP_GELU_ERF, CK_DTYPE_F32, &a, 1), CK_OK);
    for (size_t i = 0; i < N + N_EDGE; i++)
        cr_assert(st_close_rounded_once(y[i], want[i], 1e-15 * fabs(want[i])), "gelu_erf(%.9g) = %.9g, want %.17g",
                  (double)x[i], (double)y[i], want[i]);
    cr_assert_lt(y[N + 15], -7e-23f, "gelu_erf(-10) = -7.6e-23, not 0"); /* edge_values[15] = -10 */
    free(x), free(y);
}

/* quick_gelu = x sigmoid(1.702 x) (CLIP), against long double expl. */
Test(scalar_ops, quick_gelu_matches_long_double_including_saturation)
{
    enum { N = 1000 };
    st_rng r;
    st_seed(&r, 59);
    float *x = st_floats(N + N_EDGE), *y = st_floats(N + N_EDGE);
    double want[N + N_EDGE];
    st_fill(&r, x, N, -8, 8);
    memcpy(x + N, edge_values, sizeof edge_values);
    for (size_t i = 0; i < N + N_EDGE; i++) {
        long double v = x[i];
        want[i] = (double)(v / (1.0L + expl(-1.702L * v)));
    }
    ck_unary_args a = {.x = x, .y = y, .n = N + N_EDGE};
    cr_assert_eq(st_run(CK_OP_QUICK_GELU, CK_DTYPE_F32, &a, 1), CK_OK);
    for (size_t i = 0; i < N + N_EDGE; i++)
        cr_assert(st_close_rounded_once(y[i], want[i], 1e-15 * fabs(want[i])), "quick_gelu(%.9g) = %.9g, want %.17g",
                  (double)x[i], (double)y[i], want[i]);
    free(x), free(y);
}

Test(scalar_ops, add_is_one_f32_addition_per_element)
{
    enum { N = 777 };
    st_rng r;
    st_seed(&r, 52);
    float *a = st_floats(N), *b = st_floats(N), *y = st_floats(N);
    st_fill(&r, a, N, -1e3, 1e3);
    st_fill(&r, b, N, -1, 1);
    a[0] = INFINITY, b[0] = -INFINITY; /* inf + -inf = NaN */
    a[1] = 3e38f, b[1] = 3e38f;        /* overflow to inf */
    ck_add_args args = {.a = a, .b = b, .y = y, .n = N};
    cr_assert_eq(st_run(CK_OP_ADD, CK_DTYPE_F32, &args, 1), CK_OK);
    cr_assert(isnan(y[0]));
    cr_assert(isinf(y[1]) && y[1] > 0);
    for (size_t i = 2; i < N; i++) {
        float want = a[i] + b[i];
        cr_assert(memcmp(&y[i], &want, 4) == 0, "add[%zu]", i);
    }
    free(a), free(b), free(y);
}

/* ---- embedding --------------------------------------------------------------- */

static void check_embedding(uint32_t dtype)
{
    enum { VOCAB = 11, D = 9, T = 6 };
    st_rng r;
    st_seed(&r, 60 + dtype);
    void *table = make_weights(&r, dtype, VOCAB * D);
    int32_t ids[T] = {3, 0, 10, 3, 7, 1};
    float *y = st_floats(T * D);
    ck_embedding_args a = {.ids = ids, .table = table, .y = y, .T = T, .vocab = VOCAB, .D = D, .dtype = dtype};
    cr_assert_eq(st_run(CK_OP_EMBEDDING, dtype, &a, 2), CK_OK);
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < D; i++) {
            float want = weight_value(table, dtype, (size_t)ids[t] * D + i);
            cr_assert(memcmp(&y[t * D + i], &want, 4) == 0, "%s embedding t=%zu i=%zu", ck_dtype_name(dtype), t, i);
        }
    /* an id out of range is refused and nothing is written */
    float *before = st_copy(y, T * D);
    memset(y, 0x7f, T * D * sizeof *y);
    memcpy(before, y, T * D * sizeof *y);
    int32_t bad[T] = {1, 2, 3, 4, 5, VOCAB};
    a.ids = bad;
    cr_assert_eq(st_run(CK_OP_EMBEDDING, dtype, &a, 1), CK_E_UNSUPPORTED, "id == vocab");
    bad[5] = -1;
    cr_assert_eq(st_run(CK_OP_EMBEDDING, dtype, &a, 1), CK_E_UNSUPPORTED, "id < 0");
    cr_assert_eq(st_first_diff(y, before, T * D), (size_t)T * D, "refused embedding wrote output");
    free(table), free(y), free(before);
}

Test(scalar_ops, embedding_f32_copies_rows)
{
    check_embedding(CK_DTYPE_F32);
}
Test(scalar_ops, embedding_bf16_widens_rows_exactly)
{
    check_embedding(CK_DTYPE_BF16);
}
Test(scalar_ops, embedding_f16_widens_rows_exactly)
{
    check_embedding(CK_DTYPE_F16);
}

/* ---- adam --------------------------------------------------------------------- */

/* lr, weight decay, step and the initial w; with lr = 1, wd = 0 and w = 0
 * the new w is -mhat/(sqrt(vhat)+eps) itself, so a different rounding
 * anywhere in that chain shows in the bits. */
typedef struct adam_case {
    float lr, wd;
    uint32_t step;
    int w_zero;
} adam_case;

static void check_adam(adam_case c)
{
    enum { N = 513 };
    st_rng r;
    st_seed(&r, 70 + c.step);
    float *w = st_floats(N), *m = st_floats(N), *v = st_floats(N), *g = st_floats(N);
    if (!c.w_zero)
        st_fill(&r, w, N, -1, 1);
    st_fill(&r, m, N, -0.1, 0.1);
    st_fill(&r, v, N, 0, 0.01);
    st_fill(&r, g, N, -2, 2);
    float *w0 = st_copy(w, N), *m0 = st_copy(m, N), *v0 = st_copy(v, N), *g0 = st_copy(g, N);
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    float bc1 = (float)(1.0 - pow(b1, c.step)), bc2 = (float)(1.0 - pow(b2, c.step));
    ck_adam_args a = {.w = w,
                      .m = m,
                      .v = v,
                      .g = g,
                      .n = N,
                      .lr = c.lr,
                      .beta1 = b1,
                      .beta2 = b2,
                      .eps = eps,
                      .weight_decay = c.wd,
                      .step = c.step,
                      .bc1 = bc1,
                      .bc2 = bc2};
    cr_assert_eq(st_run(CK_OP_ADAM, CK_DTYPE_F32, &a, 2), CK_OK);
    for (size_t i = 0; i < N; i++) {
        float gi = g0[i];
        float mi = b1 * m0[i] + (1.0f - b1) * gi;
        float vi = b2 * v0[i] + (1.0f - b2) * (gi * gi);
        float mhat = mi / bc1, vhat = vi / bc2;
        float wi = w0[i] - c.lr * (mhat / (sqrtf(vhat) + eps) + c.wd * w0[i]);
        cr_assert(memcmp(&m[i], &mi, 4) == 0, "m[%zu]", i);
        cr_assert(memcmp(&v[i], &vi, 4) == 0, "v[%zu]", i);
        cr_assert(memcmp(&w[i], &wi, 4) == 0, "w[%zu] = %.9g, want %.9g", i, (double)w[i], (double)wi);
    }
    cr_assert_eq(st_first_diff(g, g0, N), (size_t)N, "adam wrote the gradient");
    free(w), free(m), free(v), free(g), free(w0), free(m0), free(v0), free(g0);
}

Test(scalar_ops, adam_is_the_exact_f32_formula_in_order)
{
    check_adam((adam_case){.lr = 1e-3f, .wd = 0.01f, .step = 7, .w_zero = 0});
    check_adam((adam_case){.lr = 1.0f, .wd = 0.0f, .step = 3, .w_zero = 1});
}

Test(scalar_ops, host_refuses_adam_step_zero)
{
    float w = 1, m = 0, v = 0, g = 1;
    ck_adam_args a = {.w = &w,
                      .m = &m,
                      .v = &v,
                      .g = &g,
                      .n = 1,
                      .lr = 0.1f,
                      .beta1 = 0.9f,
                      .beta2 = 0.999f,
                      .eps = 1e-8f,
                      .step = 0,
                      .bc1 = 0.0f,
                      .bc2 = 0.0f};
    cr_assert_eq(ck_op_check_args(CK_OP_ADAM, &a, NULL, 0), -1);
    cr_assert_eq(w, 1.0f);
}

Test(scalar_ops, empty_sizes_are_no_ops)
{
    ck_norm_args n = {.T = 0, .D = 8};
    cr_assert_eq(st_run(CK_OP_RMSNORM, CK_DTYPE_F32, &n, 1), CK_OK);
    cr_assert_eq(st_run(CK_OP_LAYERNORM, CK_DTYPE_F32, &n, 1), CK_OK);
    ck_linear_args l = {.T = 0, .K = 4, .N = 4, .w_dtype = CK_DTYPE_F32};
    cr_assert_eq(st_run(CK_OP_LINEAR, CK_DTYPE_F32, &l, 1), CK_OK);
    ck_add_args ad = {.n = 0};
    cr_assert_eq(st_run(CK_OP_ADD, CK_DTYPE_F32, &ad, 1), CK_OK);
    ck_attention_args at = {.T = 0, .S = 4, .n_heads = 2, .n_kv_heads = 1, .head_dim = 4};
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &at, 1), CK_OK);
}

Test(scalar_ops, linear_with_k_zero_is_the_bias)
{
    float bias[3] = {1.5f, -2.0f, 0.25f}, y[6];
    ck_linear_args a = {.x = NULL, .w = NULL, .bias = bias, .y = y, .T = 2, .K = 0, .N = 3, .w_dtype = CK_DTYPE_BF16};
    cr_assert_eq(st_run(CK_OP_LINEAR, CK_DTYPE_BF16, &a, 1), CK_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(y[i], bias[i % 3]);
    a.bias = NULL;
    cr_assert_eq(st_run(CK_OP_LINEAR, CK_DTYPE_BF16, &a, 1), CK_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(y[i], 0.0f);
}

Test(scalar_ops, nan_in_an_input_reaches_the_outputs_that_depend_on_it)
{
    /* rmsnorm: a NaN poisons its own row only */
    float x[2 * 4] = {1, 2, NAN, 4, 1, 2, 3, 4}, g[4] = {1, 1, 1, 1}, y[8];
    ck_norm_args n = {.x = x, .y = y, .gamma = g, .T = 2, .D = 4, .eps = 1e-5f};
    cr_assert_eq(st_run(CK_OP_RMSNORM, CK_DTYPE_F32, &n, 1), CK_OK);
    for (int i = 0; i < 4; i++)
        cr_assert(isnan(y[i]) && !isnan(y[4 + i]), "rmsnorm element %d", i);
    /* linear: a NaN weight row poisons its output column */
    float w[2 * 4] = {1, 1, 1, 1, 1, NAN, 1, 1}, out[2 * 2];
    ck_linear_args l = {.x = x + 4, .w = w, .y = out, .T = 1, .K = 4, .N = 2, .w_dtype = CK_DTYPE_F32};
    cr_assert_eq(st_run(CK_OP_LINEAR, CK_DTYPE_F32, &l, 1), CK_OK);
    cr_assert(!isnan(out[0]) && isnan(out[1]));
    /* attention: a NaN key poisons every row that sees it, not the others */
    float q[2 * 2] = {1, 0, 0, 1}, k[2 * 2] = {1, 1, NAN, 1}, v[2 * 2] = {1, 2, 3, 4}, o[2 * 2];
    ck_attention_args at = {.q = q,
                            .k = k,
                            .v = v,
                            .out = o,
                            .T = 2,
                            .S = 2,
                            .n_heads = 1,
                            .n_kv_heads = 1,
                            .head_dim = 2,
                            .q_pos = 0,
                            .causal = 1,
                            .scale = 1.0f};
    cr_assert_eq(st_run(CK_OP_ATTENTION, CK_DTYPE_F32, &at, 1), CK_OK);
    cr_assert(!isnan(o[0]) && !isnan(o[1]), "row 0 does not see key 1");
    cr_assert(isnan(o[2]) && isnan(o[3]), "row 1 sees the NaN key");
    /* swiglu and gelu are elementwise */
    float e[3] = {1, NAN, -1}, u[3] = {1, 1, 1}, r[3];
    ck_swiglu_args sw = {.gate = e, .up = u, .y = r, .n = 3};
    cr_assert_eq(st_run(CK_OP_SWIGLU, CK_DTYPE_F32, &sw, 1), CK_OK);
    cr_assert(!isnan(r[0]) && isnan(r[1]) && !isnan(r[2]));
    ck_unary_args ge = {.x = e, .y = r, .n = 3};
    cr_assert_eq(st_run(CK_OP_GELU, CK_DTYPE_F32, &ge, 1), CK_OK);
    cr_assert(!isnan(r[0]) && isnan(r[1]) && !isnan(r[2]));
}

Test(scalar_ops, rope_without_k_rotates_q_only_at_decode_positions)
{
    enum { HD = 4, MAXPOS = 40 };
    float c[MAXPOS * HD / 2], s[MAXPOS * HD / 2];
    ck_rope_tables(10000.0, HD, MAXPOS, c, s);
    float q[HD] = {1.0f, -2.0f, 0.5f, 3.0f}, want[HD];
    memcpy(want, q, sizeof q);
    rope_f32(want, HD, c + 37 * HD / 2, s + 37 * HD / 2, 0);
    /* the token at position 37 alone (decode), no k */
    ck_rope_args a = {.q = q,
                      .k = NULL,
                      .cos_tab = c,
                      .sin_tab = s,
                      .T = 1,
                      .n_heads = 1,
                      .n_kv_heads = 1,
                      .head_dim = HD,
                      .pos_offset = 37,
                      .max_pos = MAXPOS,
                      .pairing = CK_ROPE_NEOX};
    cr_assert_eq(st_run(CK_OP_ROPE, CK_DTYPE_F32, &a, 1), CK_OK);
    cr_assert_eq(st_first_diff(q, want, HD), (size_t)HD);
}
