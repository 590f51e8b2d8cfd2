/* f32-act_down/avx512 (and the body bf16-act_down shares): swiglu or gelu,
 * then the down projection. The activation is applied row by row while the
 * GEMM's x panel is packed (fused-avx512.h), so its output (T x F floats)
 * is neither written nor read back: gate and up (or x) are read once. The
 * activations are act-avx512.h's, as in f32-swiglu-avx512.c and
 * f32-gelu-avx512.c. Few rows (matvec) run the members unfused. */
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

static void gelu_row(const void *src, size_t t, size_t K, float *dst)
{
    const float *x = ((const ck_unary_args *)src)->x + t * K;
    size_t i = 0;
    for (; i + 16 <= K; i += 16)
        _mm512_storeu_ps(dst + i, ck512_gelu16(_mm512_loadu_ps(x + i)));
    if (i < K)
        ck512_store_tail(dst + i, ck512_gelu16(ck512_load_tail(x + i, K - i)), K - i);
}

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
    if (f->down.w_dtype != dtype)
        return CK_E_UNSUPPORTED;
    int swiglu = f->act_kind == CK_ACTIVATION_SWIGLU;
    if (!fits(f)) {
        int rc = swiglu ? ck_avx512_f32_swiglu(ctx, &f->swiglu) : ck_avx512_f32_gelu(ctx, &f->gelu);
        return rc != CK_OK ? rc : ck512_linear_kernel(ctx, &f->down, dtype);
    }
    const ck_linear_args *d = &f->down;
    float *px = ctx->scratch(ctx, CK_SCRATCH_SHARED, ck512_packed_x_bytes(d->T, d->K));
    if (!px)
        return CK_E_NOMEM;
    int rc = ck512_pack_x_rows(ctx, ck512_gemm_for(dtype, d->K), d->T, d->K, swiglu ? swiglu_row : gelu_row,
                               swiglu ? (const void *)&f->swiglu : (const void *)&f->gelu, px);
    return rc != CK_OK ? rc : ck512_linear(ctx, NULL, px, d->w, dtype, d->bias, d->y, d->T, d->K, d->N);
}

int ck_avx512_f32_act_down(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_act_down(ctx, args, CK_DTYPE_F32);
}
