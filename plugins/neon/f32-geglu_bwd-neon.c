/* geglu_bwd, f32, NEON: for y = gelu(g) * up with gelu's tanh form,
 * z = 0.7978845608028654 (g + 0.044715 g^3), s = 1 / (1 + e^-2z),
 * s' = 1 / (1 + e^2z):
 *   dup   = dy * g * s                                  (gelu(g) = g s)
 *   dgate = dy * up * (s + 2 g s s' c (1 + 3 * 0.044715 g^2))   (gelu'(g))
 * as the x86 kernels (plugins/x86-bwd/f32-geglu_bwd.inc): 1 + tanh z = 2s
 * and 1 - tanh^2 z = 4 s s' never cancel, and an exp that overflows gives 0,
 * no NaN. Tails go through a padded vector so every element uses the same
 * code. The only backward kernel of this plugin: the others run scalar's. */
#include "neon-common.h"

#define GRAIN 1024

typedef struct geglu_grads {
    float32x4_t dgate, dup;
} geglu_grads;

static geglu_grads geglu_bwd4(float32x4_t g, float32x4_t up, float32x4_t dy)
{
    const float32x4_t one = vdupq_n_f32(1.0f), c = vdupq_n_f32(0.7978845608028654f);
    float32x4_t g2 = vmulq_f32(g, g);
    float32x4_t z = vmulq_f32(c, vfmaq_f32(g, vdupq_n_f32(0.044715f), vmulq_f32(g2, g)));
    float32x4_t z2 = vaddq_f32(z, z);
    float32x4_t s = vdivq_f32(one, vaddq_f32(one, ck_neon_exp(vnegq_f32(z2))));
    float32x4_t sm = vdivq_f32(one, vaddq_f32(one, ck_neon_exp(z2)));
    /* g^2 capped (s s' is 0 long before): 0 * w, never 0 * inf */
    float32x4_t w = vmulq_f32(c, vfmaq_f32(one, vdupq_n_f32(3.0f * 0.044715f), vminq_f32(g2, vdupq_n_f32(1e30f))));
    float32x4_t slope =
        vmulq_f32(w, vmulq_f32(vdupq_n_f32(2.0f), vmulq_f32(g, vmulq_f32(s, sm)))); /* g s s' first: no inf * 0 */
    return (geglu_grads){vmulq_f32(vmulq_f32(dy, up), vaddq_f32(s, slope)), vmulq_f32(dy, vmulq_f32(g, s))};
}

static void geglu_bwd_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_bwd_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 4 <= end; i += 4) {
        geglu_grads r = geglu_bwd4(vld1q_f32(a->gate + i), vld1q_f32(a->up + i), vld1q_f32(a->dy + i));
        if (a->dgate)
            vst1q_f32(a->dgate + i, r.dgate);
        if (a->dup)
            vst1q_f32(a->dup + i, r.dup);
    }
    if (i < end) {
        size_t n = end - i;
        geglu_grads r = geglu_bwd4(ck_neon_load_tail(a->gate + i, n, 0.0f), ck_neon_load_tail(a->up + i, n, 0.0f),
                                   ck_neon_load_tail(a->dy + i, n, 0.0f));
        if (a->dgate)
            ck_neon_store_tail(a->dgate + i, r.dgate, n);
        if (a->dup)
            ck_neon_store_tail(a->dup + i, r.dup, n);
    }
}

int ck_neon_f32_geglu_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    ctx->parallel_for(ctx, a->n, GRAIN, geglu_bwd_range, (void *)a);
    return CK_OK;
}
