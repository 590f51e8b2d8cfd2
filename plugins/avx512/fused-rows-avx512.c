/* Row helpers of the avx512 fused kernels (fused-avx512.h): the norms of one
 * row, with the sums and operation order of f32-rmsnorm-avx512.c and
 * f32-layernorm-avx512.c (whose helpers are private to those files), and the
 * x packing fed row by row. */
#include <math.h>

#include "avx512-kernels.h"
#include "fused-avx512.h"

/* The three kinds of source; every pass is compiled once per kind (and per
 * norm kind) so that no lane load tests the source at run time. */
enum { SRC_F32, SRC_SUM, SRC_BF16 };
#define SPECIALISED static inline __attribute__((always_inline))

static int src_kind(const ck512_row_src *s)
{
    return s->h ? SRC_BF16 : s->b ? SRC_SUM : SRC_F32;
}

/* 16 lanes (mask m) of the row, from offset i. */
SPECIALISED __m512 src_load(int st, const ck512_row_src *s, size_t i, __mmask16 m)
{
    if (st == SRC_BF16)
        return ck512_bf16_widen(_mm256_maskz_loadu_epi16(m, s->h + i));
    __m512 v = _mm512_maskz_loadu_ps(m, s->a + i);
    return st == SRC_SUM ? _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, s->b + i)) : v;
}

SPECIALISED void store16(float *p, __m512 v, __mmask16 m, int stream)
{
    if (stream && m == 0xffff)
        _mm512_stream_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, m, v);
}

/* First pass: the row stored to out (when given) and its sum of squares
 * (rms: four accumulators over 64 lanes, as f32-rmsnorm-avx512.c) or plain
 * sum (layer: two over 32, as f32-layernorm-avx512.c). */
SPECIALISED float first_pass_of(uint32_t kind, int st, const ck512_row_src *s, size_t D, float *out, int stream)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const size_t block = kind == CK_NORM_RMS ? 64 : 32;
    size_t i = 0;
    for (; i + block <= D; i += block)
        for (size_t j = 0; j < block / 16; j++) {
            __m512 v = src_load(st, s, i + 16 * j, 0xffff);
            if (out)
                store16(out + i + 16 * j, v, 0xffff, stream);
            acc[j] = kind == CK_NORM_RMS ? _mm512_fmadd_ps(v, v, acc[j]) : _mm512_add_ps(acc[j], v);
        }
    for (; i < D; i += 16) {
        __mmask16 m = ck512_mask(D - i);
        __m512 v = src_load(st, s, i, m);
        if (out)
            store16(out + i, v, m, stream);
        acc[0] = kind == CK_NORM_RMS ? _mm512_fmadd_ps(v, v, acc[0]) : _mm512_add_ps(acc[0], v);
    }
    if (kind == CK_NORM_RMS)
        return ck512_hsum(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
    return ck512_hsum(_mm512_add_ps(acc[0], acc[1]));
}

/* Sums of c = x - m and c^2 (masked-off lanes must not contribute -m). */
SPECIALISED void centered_sums_of(int st, const ck512_row_src *s, size_t D, float m, float *sc, float *sq)
{
    __m512 mv = _mm512_set1_ps(m), c0 = _mm512_setzero_ps(), c1 = c0, q0 = c0, q1 = c0;
    size_t i = 0;
    for (; i + 32 <= D; i += 32) {
        __m512 a = _mm512_sub_ps(src_load(st, s, i, 0xffff), mv);
        __m512 b = _mm512_sub_ps(src_load(st, s, i + 16, 0xffff), mv);
        c0 = _mm512_add_ps(c0, a);
        c1 = _mm512_add_ps(c1, b);
        q0 = _mm512_fmadd_ps(a, a, q0);
        q1 = _mm512_fmadd_ps(b, b, q1);
    }
    for (; i < D; i += 16) {
        __mmask16 k = ck512_mask(D - i);
        __m512 a = _mm512_maskz_sub_ps(k, src_load(st, s, i, k), mv);
        c0 = _mm512_add_ps(c0, a);
        q0 = _mm512_fmadd_ps(a, a, q0);
    }
    *sc = ck512_hsum(_mm512_add_ps(c0, c1));
    *sq = ck512_hsum(_mm512_add_ps(q0, q1));
}

/* y = (x * r) * gamma (rms) or ((x - m) - delta) * r * gamma + beta (layer). */
SPECIALISED void apply_of(uint32_t kind, int st, const ck_norm_args *a, const ck512_row_src *s, __m512 mv, __m512 dv,
                          __m512 r, float *y, int stream)
{
    const size_t D = a->D;
    size_t i = 0;
    for (; i < D; i += 16) {
        __mmask16 m = ck512_mask(D - i);
        __m512 x = src_load(st, s, i, m), g = _mm512_maskz_loadu_ps(m, a->gamma + i), v;
        if (kind == CK_NORM_RMS) {
            v = _mm512_mul_ps(_mm512_mul_ps(x, r), g);
        } else {
            __m512 b = a->beta ? _mm512_maskz_loadu_ps(m, a->beta + i) : _mm512_setzero_ps();
            v = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(x, mv), dv), r), g, b);
        }
        store16(y + i, v, m, stream);
    }
}

/* One source kind and norm kind: the whole row. */
SPECIALISED void norm_of(uint32_t kind, int st, int at, const ck_norm_args *a, const ck512_row_src *src,
                         const ck512_row_src *again, float *out, float *y, int stream)
{
    const size_t D = a->D;
    const float inv_d = 1.0f / (float)D;
    float first = first_pass_of(kind, st, src, D, out, stream);
    __m512 mv = _mm512_setzero_ps(), dv = mv, r;
    if (kind == CK_NORM_RMS) {
        r = _mm512_set1_ps(1.0f / sqrtf(first / (float)D + a->eps));
    } else {
        float m = first * inv_d, sc, sq;
        centered_sums_of(at, again, D, m, &sc, &sq);
        float delta = sc * inv_d, var = sq * inv_d - delta * delta;
        mv = _mm512_set1_ps(m);
        dv = _mm512_set1_ps(delta);
        r = _mm512_set1_ps(1.0f / sqrtf((var < 0.0f ? 0.0f : var) + a->eps));
    }
    apply_of(kind, at, a, again, mv, dv, r, y, stream);
}

/* The later passes read either the source again or a plain f32 row. */
#define NORM_OF(kind, st)                                                                                              \
    (at == (st) ? norm_of(kind, st, st, a, src, again, out, y, stream)                                                 \
                : norm_of(kind, st, SRC_F32, a, src, again, out, y, stream))

void ck512_norm_from(uint32_t kind, const ck_norm_args *a, const ck512_row_src *src, const ck512_row_src *again,
                     float *out, float *y, int stream)
{
    int st = src_kind(src), at = src_kind(again);
    if (at != st && at != SRC_F32)
        at = SRC_F32; /* not a combination the callers use: read `again` as f32 */
    if (kind == CK_NORM_RMS) {
        if (st == SRC_BF16)
            NORM_OF(CK_NORM_RMS, SRC_BF16);
        else if (st == SRC_SUM)
            NORM_OF(CK_NORM_RMS, SRC_SUM);
        else
            NORM_OF(CK_NORM_RMS, SRC_F32);
    } else {
        if (st == SRC_BF16)
            NORM_OF(CK_NORM_LAYER, SRC_BF16);
        else if (st == SRC_SUM)
            NORM_OF(CK_NORM_LAYER, SRC_SUM);
        else
            NORM_OF(CK_NORM_LAYER, SRC_F32);
    }
}

void ck512_norm_row(uint32_t kind, const ck_norm_args *a, const float *x, float *y)
{
    ck512_row_src s = {x, NULL, NULL};
    ck512_norm_from(kind, a, &s, &s, NULL, y, 0);
}

int ck512_stream_rows(size_t T, size_t D, const float *p, const float *q)
{
    return T * D * sizeof(float) >= CK512_FUSED_STREAM_BYTES && D % 16 == 0 && ((uintptr_t)p & 63) == 0 &&
           ((uintptr_t)q & 63) == 0;
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
