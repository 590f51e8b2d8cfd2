/* add, f32, NEON (EXACT class): y = a + b, one correctly rounded vaddq per
 * element, so bit-identical to the reference. y may alias a. */
#include "neon-common.h"

#define GRAIN 4096

static void add_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_add_args *a = arg;
    (void)tid;
    size_t i = begin;
    for (; i + 8 <= end; i += 8) {
        float32x4_t s0 = vaddq_f32(vld1q_f32(a->a + i), vld1q_f32(a->b + i));
        float32x4_t s1 = vaddq_f32(vld1q_f32(a->a + i + 4), vld1q_f32(a->b + i + 4));
        vst1q_f32(a->y + i, s0);
        vst1q_f32(a->y + i + 4, s1);
    }
    for (; i < end; i++)
        a->y[i] = a->a[i] + a->b[i];
}

int ck_neon_f32_add(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    ctx->parallel_for(ctx, a->n, GRAIN, add_range, (void *)a);
    return CK_OK;
}
