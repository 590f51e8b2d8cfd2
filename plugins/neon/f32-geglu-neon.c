/* geglu, f32, NEON: y = gelu(gate) * up, gelu's tanh form computed as
 * gate / (1 + exp(-2u)), u = 0.7978845608028654*(gate + 0.044715*gate^3):
 * the same function without the cancellation of 1 + tanh(u) for gate << 0,
 * whose absolute error up would multiply. exp is the vectorised one of
 * neon-common.h; tails go through a padded vector so every element uses the
 * same code. y may alias gate or up (each vector is read before it is written). */
#include "neon-common.h"

#define GRAIN 1024

static float32x4_t geglu4(float32x4_t g, float32x4_t up)
{
    float32x4_t g3 = vmulq_f32(vmulq_f32(g, g), g);
    float32x4_t u = vmulq_f32(vdupq_n_f32(0.7978845608028654f), vfmaq_f32(g, vdupq_n_f32(0.044715f), g3));
    float32x4_t e = ck_neon_exp(vnegq_f32(vaddq_f32(u, u)));
    return vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), e)), up);
}

static void geglu_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 4 <= end; i += 4)
        vst1q_f32(a->y + i, geglu4(vld1q_f32(a->gate + i), vld1q_f32(a->up + i)));
    if (i < end) {
        size_t n = end - i;
        float32x4_t r = geglu4(ck_neon_load_tail(a->gate + i, n, 0.0f), ck_neon_load_tail(a->up + i, n, 0.0f));
        ck_neon_store_tail(a->y + i, r, n);
    }
}

int ck_neon_f32_geglu(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    ctx->parallel_for(ctx, a->n, GRAIN, geglu_range, (void *)a);
    return CK_OK;
}
