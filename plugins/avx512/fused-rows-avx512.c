/* Row helpers of the avx512 fused kernels (fused-avx512.h): the norms of one
 * row, with the sums and operation order of f32-rmsnorm-avx512.c and
 * f32-layernorm-avx512.c (whose helpers are private to those files), and the
 * x packing fed row by row. */
#include <math.h>

#include "avx512-kernels.h"
#include "fused-avx512.h"

float ck512_row_sum_squares(const float *x, size_t D)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= D; i += 64) {
        __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        __m512 c = _mm512_loadu_ps(x + i + 32), d = _mm512_loadu_ps(x + i + 48);
        s0 = _mm512_fmadd_ps(a, a, s0);
        s1 = _mm512_fmadd_ps(b, b, s1);
        s2 = _mm512_fmadd_ps(c, c, s2);
        s3 = _mm512_fmadd_ps(d, d, s3);
    }
    for (; i < D; i += 16) {
        __m512 a = ck512_load_tail(x + i, D - i);
        s0 = _mm512_fmadd_ps(a, a, s0);
    }
    return ck512_hsum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

float ck512_row_sum(const float *x, size_t D)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 32 <= D; i += 32) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
    }
    for (; i < D; i += 16)
        s0 = _mm512_add_ps(s0, ck512_load_tail(x + i, D - i));
    return ck512_hsum(_mm512_add_ps(s0, s1));
}

void ck512_rms_apply(const float *x, float *y, const float *gamma, float ssq, size_t D, float eps)
{
    __m512 r = _mm512_set1_ps(1.0f / sqrtf(ssq / (float)D + eps));
    size_t i = 0;
    for (; i + 16 <= D; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), r), _mm512_loadu_ps(gamma + i)));
    if (i < D) {
        size_t n = D - i;
        ck512_store_tail(y + i, _mm512_mul_ps(_mm512_mul_ps(ck512_load_tail(x + i, n), r), ck512_load_tail(gamma + i, n)),
                         n);
    }
}

/* Sums of c = x - m and c^2 (masked-off lanes must not contribute -m). */
static void centered_sums(const float *x, size_t D, float m, float *sc, float *sq)
{
    __m512 mv = _mm512_set1_ps(m), c0 = _mm512_setzero_ps(), c1 = c0, q0 = c0, q1 = c0;
    size_t i = 0;
    for (; i + 32 <= D; i += 32) {
        __m512 a = _mm512_sub_ps(_mm512_loadu_ps(x + i), mv);
        __m512 b = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mv);
        c0 = _mm512_add_ps(c0, a);
        c1 = _mm512_add_ps(c1, b);
        q0 = _mm512_fmadd_ps(a, a, q0);
        q1 = _mm512_fmadd_ps(b, b, q1);
    }
    for (; i < D; i += 16) {
        __mmask16 k = ck512_mask(D - i);
        __m512 a = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + i), mv);
        c0 = _mm512_add_ps(c0, a);
        q0 = _mm512_fmadd_ps(a, a, q0);
    }
    *sc = ck512_hsum(_mm512_add_ps(c0, c1));
    *sq = ck512_hsum(_mm512_add_ps(q0, q1));
}

static inline __m512 layer16(__m512 x, __m512 m, __m512 delta, __m512 r, __m512 g, __m512 b)
{
    return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(x, m), delta), r), g, b);
}

void ck512_layer_apply(const float *x, float *y, const float *gamma, const float *beta, float sum, size_t D,
                       float eps)
{
    const float inv_d = 1.0f / (float)D;
    float m = sum * inv_d, sc, sq;
    centered_sums(x, D, m, &sc, &sq);
    float delta = sc * inv_d;
    float var = sq * inv_d - delta * delta;
    if (var < 0.0f)
        var = 0.0f;
    __m512 mv = _mm512_set1_ps(m), dv = _mm512_set1_ps(delta), r = _mm512_set1_ps(1.0f / sqrtf(var + eps));
    size_t i = 0;
    for (; i + 16 <= D; i += 16) {
        __m512 b = beta ? _mm512_loadu_ps(beta + i) : _mm512_setzero_ps();
        _mm512_storeu_ps(y + i, layer16(_mm512_loadu_ps(x + i), mv, dv, r, _mm512_loadu_ps(gamma + i), b));
    }
    if (i < D) {
        size_t n = D - i;
        __m512 b = beta ? ck512_load_tail(beta + i, n) : _mm512_setzero_ps();
        ck512_store_tail(y + i, layer16(ck512_load_tail(x + i, n), mv, dv, r, ck512_load_tail(gamma + i, n), b), n);
    }
}

void ck512_norm_row(uint32_t kind, const ck_norm_args *a, const float *x, float *y)
{
    if (kind == CK_NORM_RMS)
        ck512_rms_apply(x, y, a->gamma, ck512_row_sum_squares(x, a->D), a->D, a->eps);
    else
        ck512_layer_apply(x, y, a->gamma, a->beta, ck512_row_sum(x, a->D), a->D, a->eps);
}

void ck512_norm_src_row(const void *src, size_t t, size_t K, float *dst)
{
    const ck512_norm_src *s = src;
    ck512_norm_row(s->kind, s->norm, s->norm->x + t * K, dst);
}

int ck512_norm_kernel(const ck_exec_ctx *ctx, uint32_t kind, const ck_norm_args *a)
{
    if (kind == CK_NORM_RMS)
        return ck_avx512_f32_rmsnorm(ctx, a);
    if (kind == CK_NORM_LAYER)
        return ck_avx512_f32_layernorm(ctx, a);
    return CK_E_UNSUPPORTED;
}

typedef struct pack_rows_job {
    const ck_exec_ctx *ctx;
    const ck512_gemm_impl *impl;
    size_t T, K, group_floats;
    ck512_row_fn row;
    const void *src;
    float *px;
} pack_rows_job;

/* Group g: its (up to) MR rows are produced into the thread's buffer, which
 * the implementation's own packer then reads as a small [mr, K] x. */
static void pack_row_groups(void *arg, size_t begin, size_t end, int tid)
{
    const pack_rows_job *j = arg;
    float *buf = j->ctx->scratch(j->ctx, tid, CK512_MR * j->K * sizeof(float)); /* reserved by the caller */
    for (size_t g = begin; g < end; g++) {
        size_t t0 = g * CK512_MR, mr = j->T - t0 < CK512_MR ? j->T - t0 : CK512_MR;
        for (size_t r = 0; r < mr; r++)
            j->row(j->src, t0 + r, j->K, buf + r * j->K);
        j->impl->pack_x_group(buf, mr, j->K, 0, j->px + g * j->group_floats);
    }
}

int ck512_pack_x_rows(const ck_exec_ctx *ctx, const ck512_gemm_impl *impl, size_t T, size_t K, ck512_row_fn row,
                      const void *src, float *px)
{
    /* Reserve every thread's buffer here, so that no worker allocates. */
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, CK512_MR * K * sizeof(float)))
            return CK_E_NOMEM;
    size_t k_padded = (K + impl->k_pad - 1) / impl->k_pad * impl->k_pad;
    pack_rows_job j = {ctx, impl, T, K, k_padded * CK512_MR, row, src, px};
    ck512_parallel(ctx, (T + CK512_MR - 1) / CK512_MR, 1, pack_row_groups, &j);
    return CK_OK;
}
