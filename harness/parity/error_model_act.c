/* error_model_act.c — the per-element bounds of gelu_erf and quick_gelu
 * (docs/ops.md), in the terms of error_model.c's top comment. Each is what
 * the op's f32 arithmetic can do at x, derived from the forms the contract
 * allows, never fitted to a kernel: a kernel that computes another function
 * (erf gelu in the tanh form, quick_gelu with 1.7 for 1.702) is off by
 * 1e-4 and more, which no bound here comes near. x is always a case input,
 * exact: unfused, or as act_down's first member (error_model.c's
 * em_act_down, whose down projection then carries these bounds as its
 * input's errors). */
#include <math.h>

#include "error_model.h"

/* Phi(-|x|) to within this relative error: exp's EPS_F, 8 u for the
 * Mills-ratio polynomial of plugins/shared/gelu_erf-poly.h (5.8 u measured
 * in f32 over the whole range, s's own rounding included) and 4 u for the
 * products that put exp, s and Q together and the x^2 split's correction. */
#define EPS_PHI (EPS_F + 12 * U)
#define LN_FLT_MIN 87.33654475 /* exp(-t) < FLT_MIN beyond: it may flush to 0 */

/* y = x Phi(x). With P = Phi(-|x|): x P for x < 0, x (1 - P) for x >= 0,
 * so P's relative error reaches y as |x| P EPS_PHI whatever the sign (for
 * x >= 0 it is absolute, below |y| u once P < u), plus the last roundings
 * (1 - P, the product, the reference's own) relative to y. Where
 * exp(-x^2 / 2) is below FLT_MIN (|x| > 13.2), P may flush: the whole |x| P
 * (below 14 FLT_MIN). A form through 1 + erf(x / sqrt 2) cancels for x < 0
 * and is outside this bound from x ~ -3 on: that is meant (docs/ops.md). */
int em_gelu_erf(model *m, uint32_t op, const void *args)
{
    const ck_unary_args *a = args;
    const float *r;
    double *b = em_bounds_at(m, a->y, &r);
    (void)op;
    if (!b)
        return -1;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i], ax = fabs(x), p = 0.5 * erfc(ax * 0.70710678118654752440);
        double flush = 0.5 * x * x > LN_FLT_MIN ? ax * p : 0.0;
        b[i] = ax * p * EPS_PHI + 3 * U * fabs((double)r[i]) + flush + TINY;
    }
    return 0;
}

/* y = x / (1 + e), e = exp(-z), z = 1.702 x: z carries two roundings (the
 * constant's, 1.702f = 1.702 (1 + 1.3e-8), and the product), |dz| <= 2u |z|,
 * which exp turns into a relative error of e; with exp's own EPS_F that
 * reaches y damped by e / (1 + e), as in swiglu. Add, divide (or reciprocal
 * and multiply) and the reference's rounding: 4u |y|. Where e overflows f32
 * (z < -88.72) the kernel's -0 is right: the whole |r|. */
int em_quick_gelu(model *m, uint32_t op, const void *args)
{
    const ck_unary_args *a = args;
    const float *r;
    double *b = em_bounds_at(m, a->y, &r);
    (void)op;
    if (!b)
        return -1;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i], z = 1.702 * x, e = exp(-z), ar = fabs((double)r[i]);
        double damp = isinf(e) ? 1.0 : e / (1.0 + e);
        b[i] = (damp * (EPS_F + 2 * U * fabs(z)) + 4 * U) * ar + (-z > EXP_MAX ? ar : 0.0) + TINY;
    }
    return 0;
}
