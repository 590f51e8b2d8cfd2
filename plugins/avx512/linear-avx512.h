/* linear-avx512.h — the linear and qkv kernel bodies shared by the f32 and
 * bf16 weight dtypes (the GEMM widens bf16 while packing, so only the
 * dtype differs). */
#ifndef CK_LINEAR_AVX512_H
#define CK_LINEAR_AVX512_H

#include "gemm-avx512.h"

static inline int ck512_linear_kernel(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->N == 0)
        return CK_OK;
    return ck512_linear(ctx, a->x, NULL, a->w, dtype, a->bias, a->y, a->T, a->K, a->N);
}

/* Three projections of one x: x is packed once for all three GEMMs. */
static inline int ck512_qkv_kernel(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype)
{
    if (a->w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    size_t T = a->T, D = a->D, nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    if (T == 0 || nq == 0)
        return CK_OK;
    const float *px = NULL;
    if (T >= CK512_MATVEC_MAX_T && D > 0 && D <= (size_t)INT32_MAX / CK512_NR) {
        float *buf = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(T, D));
        if (!buf)
            return CK_E_NOMEM;
        ck512_pack_x(ctx, ck512_gemm_for(dtype, D), a->x, T, D, buf);
        px = buf;
    }
    int rc = ck512_linear(ctx, a->x, px, a->wq, dtype, a->bq, a->q, T, D, nq);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, a->x, px, a->wk, dtype, a->bk, a->k, T, D, nkv);
    if (rc == CK_OK)
        rc = ck512_linear(ctx, a->x, px, a->wv, dtype, a->bv, a->v, T, D, nkv);
    return rc;
}

/* ---- compute bf16 (CK_KF_COMPUTE_BF16, docs/ops.md) ------------------------
 * x rounded to bf16 (nearest even), exact bf16 x bf16 products, f32 sums:
 * vdpbf16ps on x rounded once while packing (ck512_gemm_bf16_dp_rounded),
 * whose KC = 256 slices keep each product within 256 + K / 256 + 1
 * roundings of y, the depth the contract allows. Decode (T < 4) with
 * K <= CK512_CBF16_MATVEC_MAX_K takes the matvec on a rounded copy of x
 * instead (W streamed once; products exact, lane chains at most K / 16 <=
 * 256 FMAs deep (matvec-avx512.h keeps 2-4 chains per row, shallower
 * still), then their sums and the bias: within the depth); beyond that K
 * its chains would not be, so it takes the GEMM (several times slower at
 * T = 1). Declined without AVX512_BF16 (no faster than compute f32 there)
 * and for K beyond the packing's 32-bit gather offsets. */
#define CK512_CBF16_MATVEC_MAX_K 4096

/* The rounded copy of x [T, K] for the matvec path, in shared scratch. */
static inline const float *ck512_cbf16_round_x(const ck_exec_ctx *ctx, const float *x, size_t T, size_t K)
{
    float *r = ctx->scratch(ctx, CK_SCRATCH_SHARED, T * K * sizeof(float));
    if (r)
        for (size_t i = 0; i < T * K; i++)
            r[i] = ck_bf16_to_f32(ck_f32_to_bf16(x[i]));
    return r;
}

/* compute-bf16's own small-T bound: the rounded GEMM runs vdpbf16ps at
 * twice the f32 rate, so its crossover with the matvec was not moved with
 * CK512_MATVEC_MAX_T's (not measured for it) */
#define CK512_CBF16_MATVEC_MAX_T 4

static inline int ck512_cbf16_matvec(size_t T, size_t K)
{
    return T < CK512_CBF16_MATVEC_MAX_T && K <= CK512_CBF16_MATVEC_MAX_K;
}
static inline int ck512_cbf16_ok(size_t K, int has_bf16)
{
    return has_bf16 && K <= (size_t)INT32_MAX / CK512_NR;
}

static inline int ck512_linear_cbf16_kernel(const ck_exec_ctx *ctx, const ck_linear_args *a, int has_bf16)
{
    if (a->w_dtype != CK_DTYPE_BF16 || !ck512_cbf16_ok(a->K, has_bf16))
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->N == 0)
        return CK_OK;
    if (a->K == 0) /* y = bias: ck512_linear's empty sum */
        return ck512_linear(ctx, a->x, NULL, a->w, CK_DTYPE_BF16, a->bias, a->y, a->T, 0, a->N);
    if (ck512_cbf16_matvec(a->T, a->K)) {
        const float *xr = ck512_cbf16_round_x(ctx, a->x, a->T, a->K);
        if (!xr)
            return CK_E_NOMEM;
        ck512_matvec_bf16(ctx, xr, a->w, a->bias, a->y, a->T, a->K, a->N);
        return CK_OK;
    }
    return ck512_gemm(ctx, &ck512_gemm_bf16_dp_rounded, a->x, NULL, a->w, a->bias, a->y, a->T, a->K, a->N);
}

/* x rounded and packed once for the three GEMMs. */
static inline int ck512_qkv_cbf16_kernel(const ck_exec_ctx *ctx, const ck_qkv_args *a, int has_bf16)
{
    if (a->w_dtype != CK_DTYPE_BF16 || !ck512_cbf16_ok(a->D, has_bf16))
        return CK_E_UNSUPPORTED;
    size_t T = a->T, D = a->D, nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    if (T == 0 || nq == 0)
        return CK_OK;
    if (D == 0)
        return ck512_qkv_kernel(ctx, a, CK_DTYPE_BF16); /* the biases alone */
    if (ck512_cbf16_matvec(T, D)) {
        const float *xr = ck512_cbf16_round_x(ctx, a->x, T, D);
        if (!xr)
            return CK_E_NOMEM;
        ck512_matvec_bf16(ctx, xr, a->wq, a->bq, a->q, T, D, nq);
        ck512_matvec_bf16(ctx, xr, a->wk, a->bk, a->k, T, D, nkv);
        ck512_matvec_bf16(ctx, xr, a->wv, a->bv, a->v, T, D, nkv);
        return CK_OK;
    }
    const ck512_gemm_impl *impl = &ck512_gemm_bf16_dp_rounded;
    float *px = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(T, D));
    if (!px)
        return CK_E_NOMEM;
    ck512_pack_x(ctx, impl, a->x, T, D, px);
    int rc = ck512_gemm(ctx, impl, a->x, px, a->wq, a->bq, a->q, T, D, nq);
    if (rc == CK_OK)
        rc = ck512_gemm(ctx, impl, a->x, px, a->wk, a->bk, a->k, T, D, nkv);
    if (rc == CK_OK)
        rc = ck512_gemm(ctx, impl, a->x, px, a->wv, a->bv, a->v, T, D, nkv);
    return rc;
}

#endif /* CK_LINEAR_AVX512_H */
