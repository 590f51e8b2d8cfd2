/* The parity gate's test subject for subnormals in exact ops: an f32 rope
 * and an adam that compute as kernels run under MXCSR's DAZ and FTZ do
 * ("for speed", set on entry and put back on return, so the host's state
 * check sees nothing): subnormal inputs read as 0 and subnormal results
 * flushed to 0. Exact on normal values, which the generated inputs are;
 * inputs of signed zeros and subnormals must name them. Emulated in C (no
 * MXCSR write) so that it builds on every target. One thread.
 * tests/unit/test_parity.c checks the verdicts. */
#include <float.h>
#include <math.h>

#include "test_plugin.h"

static float ftz(float v) /* the defect: DAZ on the way in, FTZ on the way out */
{
    return fabsf(v) < FLT_MIN ? copysignf(0.0f, v) : v;
}

static void rotate(float *x, const float *c, const float *s, size_t rd, uint32_t pairing)
{
    for (size_t i = 0; i < rd / 2; i++) {
        size_t i0 = pairing == CK_ROPE_NEOX ? i : 2 * i, i1 = pairing == CK_ROPE_NEOX ? i + rd / 2 : 2 * i + 1;
        float x0 = ftz(x[i0]), x1 = ftz(x[i1]);
        float a = ftz(x0 * c[i]), b = ftz(x1 * s[i]), d = ftz(x0 * s[i]), e = ftz(x1 * c[i]);
        x[i0] = ftz(a - b);
        x[i1] = ftz(d + e);
    }
}

static int rope_daz(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    (void)ctx;
    const size_t hd = a->head_dim, rd = a->rotary_dim ? a->rotary_dim : hd;
    for (size_t t = 0; t < a->T; t++) {
        const float *c = a->cos_tab + (a->pos_offset + t) * (rd / 2), *s = a->sin_tab + (a->pos_offset + t) * (rd / 2);
        for (size_t h = 0; h < a->n_heads; h++)
            rotate(a->q + (t * a->n_heads + h) * hd, c, s, rd, a->pairing);
        for (size_t h = 0; a->k && h < a->n_kv_heads; h++)
            rotate(a->k + (t * a->n_kv_heads + h) * hd, c, s, rd, a->pairing);
    }
    return CK_OK;
}

/* docs/ops.md's order, each result flushed */
static int adam_daz(const ck_exec_ctx *ctx, const void *args)
{
    const ck_adam_args *a = args;
    (void)ctx;
    const float c1 = 1.0f - a->beta1, c2 = 1.0f - a->beta2;
    for (size_t i = 0; i < a->n; i++) {
        const float g = ftz(a->g[i]), w = ftz(a->w[i]);
        const float m = ftz(ftz(a->beta1 * ftz(a->m[i])) + ftz(c1 * g));
        const float v = ftz(ftz(a->beta2 * ftz(a->v[i])) + ftz(c2 * ftz(g * g)));
        const float mhat = ftz(m / a->bc1), vhat = ftz(v / a->bc2);
        const float step = ftz(ftz(mhat / ftz(sqrtf(vhat) + a->eps)) + ftz(a->weight_decay * w));
        a->m[i] = m, a->v[i] = v;
        a->w[i] = ftz(w - ftz(a->lr * step));
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ROPE, CK_DTYPE_F32, CK_KF_ROPE_PARTIAL, "f32-rope/daz-ftz", rope_daz},
    {CK_OP_ADAM, CK_DTYPE_F32, 0, "f32-adam/daz-ftz", adam_daz},
};

CK_TEST_PLUGIN("broken_daz", "rope and adam computed as under DAZ and FTZ")
