/* f32-act_down/avx512 (and the body bf16-act_down shares): swiglu, gelu,
 * gelu_erf or quick_gelu (CK_KF_ACT_DOWN_UNARY), then the down projection.
 * The activation is applied row by row while the GEMM's x panel is packed
 * (fused-avx512.h), so its output (T x F floats) is neither written nor
 * read back: gate and up (or x) are read once. The activations are
 * act-avx512.h's, as in their own kernels (f32-swiglu, f32-gelu,
 * f32-gelu_erf, f32-quick_gelu). Few rows (matvec) run the members
 * unfused. */
#include "act-avx512.h"
#include "avx512-kernels.h"
#include "fused-avx512.h"
#include "linear-avx512.h"

static void swiglu_row(const void *src, size_t t, size_t K, float *dst)
{
    const ck_swiglu_args *s = src;
    const float *g = s->gate + t * K, *u = s->up + t * K;
    size_t i = 0;
    for (; i + 16 <= K; i += 16)
        _mm512_storeu_ps(dst + i, ck512_swiglu16(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i)));
    if (i < K)
        ck512_store_tail(dst + i, ck512_swiglu16(ck512_load_tail(g + i, K - i), ck512_load_tail(u + i, K - i)), K - i);
}

/* One row of a one-input activation: the lanes of its own kernel, body and
 * masked tail, so that the fused result has the unfused bits. */
#define UNARY_ROW(name, lanes)                                                                                         \
    static void name(const void *src, size_t t, size_t K, float *dst)                                                  \
    {                                                                                                                  \
        const float *x = ((const ck_unary_args *)src)->x + t * K;                                                      \
        size_t i = 0;                                                                                                  \
        for (; i + 16 <= K; i += 16)                                                                                   \
            _mm512_storeu_ps(dst + i, lanes(_mm512_loadu_ps(x + i)));                                                  \
        if (i < K)                                                                                                     \
            ck512_store_tail(dst + i, lanes(ck512_load_tail(x + i, K - i)), K - i);                                    \
    }

UNARY_ROW(gelu_row, ck512_gelu16)
UNARY_ROW(gelu_erf_row, ck512_gelu_erf16)
UNARY_ROW(quick_gelu_row, ck512_quick_gelu16)

/* Per act_kind: the row function of the packed path and the unfused kernel
 * of the few-row path. */
static const struct {
    ck512_row_fn row;
    ck_kernel_fn unfused;
} acts[] = {
    [CK_ACTIVATION_SWIGLU] = {swiglu_row, ck_avx512_f32_swiglu},
    [CK_ACTIVATION_GELU] = {gelu_row, ck_avx512_f32_gelu},
    [CK_ACTIVATION_GELU_ERF] = {gelu_erf_row, ck_avx512_f32_gelu_erf},
    [CK_ACTIVATION_QUICK_GELU] = {quick_gelu_row, ck_avx512_f32_quick_gelu},
};

/* The activation's inputs, if they are exactly down's x and fully given. */
static int fits(const ck_fused_act_down_args *f)
{
    const ck_linear_args *d = &f->down;
    size_t n = d->T * d->K;
    if (!d->w || !d->y || !ck512_fused_packs(d->T, d->K))
        return 0;
    if (f->act_kind == CK_ACTIVATION_SWIGLU)
        return f->swiglu.gate && f->swiglu.up && f->swiglu.y == d->x && f->swiglu.n == n;
    return f->gelu.x && f->gelu.y == d->x && f->gelu.n == n;
}

int ck512_act_down(const ck_exec_ctx *ctx, const void *args, uint32_t dtype)
{
    const ck_fused_act_down_args *f = args;
    if (f->down.w_dtype != dtype || f->act_kind >= sizeof acts / sizeof acts[0])
        return CK_E_UNSUPPORTED;
    const void *act = f->act_kind == CK_ACTIVATION_SWIGLU ? (const void *)&f->swiglu : (const void *)&f->gelu;
    if (!fits(f)) {
        int rc = acts[f->act_kind].unfused(ctx, act);
        return rc != CK_OK ? rc : ck512_linear_kernel(ctx, &f->down, dtype);
    }
    const ck_linear_args *d = &f->down;
    float *px = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(d->T, d->K));
    if (!px)
        return CK_E_NOMEM;
    int rc = ck512_pack_x_rows(ctx, ck512_gemm_for(dtype, d->K), d->T, d->K, acts[f->act_kind].row, act, px);
    return rc != CK_OK ? rc : ck512_linear(ctx, NULL, px, d->w, dtype, d->bias, d->y, d->T, d->K, d->N);
}

int ck_avx512_f32_act_down(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_act_down(ctx, args, CK_DTYPE_F32);
}
