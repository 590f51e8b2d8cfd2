/* swiglu, f32, NEON: y = gate / (1 + exp(-gate)) * up, in the reference's
 * order (divide, then multiply). exp is the vectorised one of neon-common.h;
 * tails go through a padded vector so every element uses the same code.
 * y may alias gate (each vector is read before it is written). */
#include "neon-common.h"

#define GRAIN 1024

static float32x4_t swiglu4(float32x4_t g, float32x4_t u)
{
    float32x4_t e = ck_neon_exp(vnegq_f32(g));
    return vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), e)), u);
}

static void swiglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 4 <= end; i += 4)
        vst1q_f32(a->y + i, swiglu4(vld1q_f32(a->gate + i), vld1q_f32(a->up + i)));
    if (i < end) {
        size_t n = end - i;
        float32x4_t r = swiglu4(ck_neon_load_tail(a->gate + i, n, 0.0f), ck_neon_load_tail(a->up + i, n, 0.0f));
        ck_neon_store_tail(a->y + i, r, n);
    }
}

int ck_neon_f32_swiglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    ctx->parallel_for(ctx, a->n, GRAIN, swiglu_range, (void *)a);
    return CK_OK;
}
