/* quick_gelu (CLIP's activation), f32, NEON:
 *   y = x sigmoid(1.702 x) = x / (1 + exp(-1.702 x))
 * in the quotient form (no cancellation for either sign), with the exp of
 * neon-common.h: its +inf for x << 0 gives y = -0. Tails go through a padded
 * vector so every element uses the same code. y may alias x. */
#include "neon-common.h"

#define GRAIN 1024

static float32x4_t quick_gelu4(float32x4_t x)
{
    float32x4_t e = ck_neon_exp(vmulq_f32(vdupq_n_f32(-1.702f), x));
    return vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0f), e));
}

static void quick_gelu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 4 <= end; i += 4)
        vst1q_f32(a->y + i, quick_gelu4(vld1q_f32(a->x + i)));
    if (i < end)
        ck_neon_store_tail(a->y + i, quick_gelu4(ck_neon_load_tail(a->x + i, end - i, 0.0f)), end - i);
}

int ck_neon_f32_quick_gelu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_args *a = args;
    ctx->parallel_for(ctx, a->n, GRAIN, quick_gelu_range, (void *)a);
    return CK_OK;
}
