/* adam (AdamW), f32, NEON (EXACT class), in place on w, m, v; g read-only:
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*(g*g)
 *   mhat = m/bc1;  vhat = v/bc2
 *   w = w - lr*(mhat/(sqrt(vhat)+eps) + weight_decay*w)   (old w in the decay)
 * Every step is one correctly rounded NEON operation (vmulq, vaddq, vsubq,
 * vdivq, vsqrtq; no vfmaq) in the reference's order, so the result is
 * bit-identical to it; the scalar tail does the same operations. */
#include <math.h>

#include "neon-common.h"

#define GRAIN 4096

static void adam_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_adam_args *a = arg;
    (void)tid;
    const float omb1 = 1.0f - a->beta1, omb2 = 1.0f - a->beta2;
    const float32x4_t b1 = vdupq_n_f32(a->beta1), b2 = vdupq_n_f32(a->beta2);
    const float32x4_t c1 = vdupq_n_f32(omb1), c2 = vdupq_n_f32(omb2);
    const float32x4_t bc1 = vdupq_n_f32(a->bc1), bc2 = vdupq_n_f32(a->bc2);
    const float32x4_t lr = vdupq_n_f32(a->lr), eps = vdupq_n_f32(a->eps), wd = vdupq_n_f32(a->weight_decay);
    size_t i = begin;
    for (; i + 4 <= end; i += 4) {
        float32x4_t g = vld1q_f32(a->g + i), w = vld1q_f32(a->w + i);
        float32x4_t m = vaddq_f32(vmulq_f32(b1, vld1q_f32(a->m + i)), vmulq_f32(c1, g));
        float32x4_t v = vaddq_f32(vmulq_f32(b2, vld1q_f32(a->v + i)), vmulq_f32(c2, vmulq_f32(g, g)));
        float32x4_t mhat = vdivq_f32(m, bc1), vhat = vdivq_f32(v, bc2);
        float32x4_t upd = vaddq_f32(vdivq_f32(mhat, vaddq_f32(vsqrtq_f32(vhat), eps)), vmulq_f32(wd, w));
        vst1q_f32(a->m + i, m);
        vst1q_f32(a->v + i, v);
        vst1q_f32(a->w + i, vsubq_f32(w, vmulq_f32(lr, upd)));
    }
    for (; i < end; i++) {
        float g = a->g[i], w = a->w[i];
        float m = a->beta1 * a->m[i] + omb1 * g;
        float v = a->beta2 * a->v[i] + omb2 * (g * g);
        float mhat = m / a->bc1, vhat = v / a->bc2;
        a->m[i] = m;
        a->v[i] = v;
        a->w[i] = w - a->lr * (mhat / (sqrtf(vhat) + a->eps) + a->weight_decay * w);
    }
}

int ck_neon_f32_adam(const ck_exec_ctx *ctx, const void *args)
{
    const ck_adam_args *a = args;
    ctx->parallel_for(ctx, a->n, GRAIN, adam_range, (void *)a);
    return CK_OK;
}
