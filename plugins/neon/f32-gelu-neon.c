/* gelu (tanh form), f32, NEON:
 *   y = 0.5*x*(1 + tanh(0.7978845608028654*(x + 0.044715*x^3)))
 * with the vectorised tanh of neon-common.h; tails through a padded vector so
 * every element uses the same code. y may alias x. */
#include "neon-common.h"

#define GRAIN 1024

static float32x4_t gelu4(float32x4_t x)
{
    float32x4_t x3 = vmulq_f32(vmulq_f32(x, x), x);
    float32x4_t u = vmulq_f32(vdupq_n_f32(0.7978845608028654f), vfmaq_f32(x, vdupq_n_f32(0.044715f), x3));
    float32x4_t t = ck_neon_tanh(u);
    return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), x), vaddq_f32(vdupq_n_f32(1.0f), t));
}

static void gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 4 <= end; i += 4)
        vst1q_f32(a->y + i, gelu4(vld1q_f32(a->x + i)));
    if (i < end)
        ck_neon_store_tail(a->y + i, gelu4(ck_neon_load_tail(a->x + i, end - i, 0.0f)), end - i);
}

int ck_neon_f32_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    ctx->parallel_for(ctx, a->n, GRAIN, gelu_range, (void *)a);
    return CK_OK;
}
