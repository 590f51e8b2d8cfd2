/* f32-adam/scalar (exact class): one AdamW step in place on w, m, v, with
 * f32 operations in exactly this order (g is read only; bc1 = 1 - beta1^step
 * and bc2 = 1 - beta2^step come from the host):
 *   m = beta1*m + (1-beta1)*g;   v = beta2*v + (1-beta2)*(g*g);
 *   mhat = m/bc1;  vhat = v/bc2;
 *   w = w - lr*(mhat/(sqrtf(vhat)+eps) + weight_decay*w)   (old w in the decay) */
#include <math.h>

#include "scalar.h"

static void adam_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_adam_args *a = arg;
    const float b1 = a->beta1, b2 = a->beta2;
    const float one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        float g = a->g[i];
        float m = b1 * a->m[i] + one_minus_b1 * g;
        float v = b2 * a->v[i] + one_minus_b2 * (g * g);
        float mhat = m / a->bc1;
        float vhat = v / a->bc2;
        float w = a->w[i];
        a->w[i] = w - a->lr * (mhat / (sqrtf(vhat) + a->eps) + a->weight_decay * w);
        a->m[i] = m;
        a->v[i] = v;
    }
}

int ck_scalar_f32_adam(const ck_exec_ctx *ctx, const void *args)
{
    const ck_adam_args *a = args;
    if (a->n == 0)
        return CK_OK;
    scalar_parallel(ctx, a->n, SCALAR_ELEM_GRAIN, adam_range, (void *)a);
    return CK_OK;
}
