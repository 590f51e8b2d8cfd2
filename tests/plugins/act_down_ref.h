/* act_down_ref.h — the members of an act_down in plain C and double, for the
 * test plugins whose act_down is wrong in one chosen way (old_act_down.c,
 * broken_act.c): everything else they compute comes from here once; ref_down
 * is also the plain f32 linear of broken_empty.c. */
#ifndef CK_TEST_ACT_DOWN_REF_H
#define CK_TEST_ACT_DOWN_REF_H

#include <math.h>

#include "ck_plugin.h"

static inline void ref_swiglu(const ck_swiglu_args *s, float *h)
{
    for (size_t i = 0; i < s->n; i++) {
        double g = s->gate[i];
        h[i] = (float)(g / (1.0 + exp(-g)) * s->up[i]);
    }
}

static inline void ref_gelu_tanh(const ck_unary_args *u, float *h)
{
    for (size_t i = 0; i < u->n; i++) {
        double x = u->x[i];
        h[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }
}

/* y = h W^T + bias, f32 weights */
static inline void ref_down(const ck_linear_args *d, const float *h)
{
    const float *w = d->w;
    for (size_t t = 0; t < d->T; t++)
        for (size_t n = 0; n < d->N; n++) {
            double acc = d->bias ? d->bias[n] : 0.0;
            for (size_t k = 0; k < d->K; k++)
                acc += (double)h[t * d->K + k] * w[n * d->K + k];
            d->y[t * d->N + n] = (float)acc;
        }
}

#endif
