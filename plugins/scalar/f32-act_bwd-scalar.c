/* f32-swiglu_bwd/scalar, f32-geglu_bwd/scalar, f32-gelu_bwd/scalar,
 * f32-gelu_erf_bwd/scalar and f32-quick_gelu_bwd/scalar, in double, rounded
 * once.
 *   swiglu y = g*sig(g)*u:  dgate = dy*u*sig*(1 + g*(1-sig)),  dup = dy*g*sig
 *   gelu (tanh form) with z = c*(x + 0.044715 x^3), th = tanh(z):
 *     dx = dy * (0.5*(1+th) + 0.5*x*(1-th^2)*c*(1 + 3*0.044715 x^2))
 *   geglu y = gelu(g)*u:  dgate = dy*u*gelu'(g) (gelu' as above),
 *     dup = dy*gelu(g)
 *   gelu_erf y = x Phi(x):  dx = dy * (Phi(x) + x phi(x)),
 *     phi(x) = exp(-x^2/2) / sqrt(2 pi)
 *   quick_gelu y = x s, s = sig(k x), k = 1.702:
 *     dx = dy * s * (1 + k x (1 - s)), 1 - s = sig(-k x) (no cancellation) */
#include <math.h>

#include "scalar-bwd.h"

int ck_scalar_f32_swiglu_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], u = a->up[i], dy = a->dy[i];
        double sig = 1.0 / (1.0 + exp(-g));
        if (a->dgate)
            a->dgate[i] = (float)(dy * u * sig * (1.0 + g * (1.0 - sig)));
        if (a->dup)
            a->dup[i] = (float)(dy * g * sig);
    }
    return CK_OK;
}

int ck_scalar_f32_gelu_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_bwd_args *a = args;
    (void)ctx;
    const double c = 0.7978845608028654, k = 0.044715;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i];
        double th = tanh(c * (x + k * x * x * x));
        double d = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * c * (1.0 + 3.0 * k * x * x);
        a->dx[i] = (float)(a->dy[i] * d);
    }
    return CK_OK;
}

int ck_scalar_f32_geglu_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    (void)ctx;
    const double c = 0.7978845608028654, k = 0.044715;
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i], dy = a->dy[i];
        double th = tanh(c * (g + k * g * g * g));
        if (a->dgate) {
            double d = 0.5 * (1.0 + th) + 0.5 * g * (1.0 - th * th) * c * (1.0 + 3.0 * k * g * g);
            a->dgate[i] = (float)(dy * (double)a->up[i] * d);
        }
        if (a->dup)
            a->dup[i] = (float)(dy * 0.5 * g * (1.0 + th));
    }
    return CK_OK;
}

int ck_scalar_f32_gelu_erf_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_bwd_args *a = args;
    (void)ctx;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i];
        double d = 0.5 * erfc(-x * 0.70710678118654752440) + x * exp(-0.5 * x * x) * 0.39894228040143267794;
        a->dx[i] = (float)(a->dy[i] * d);
    }
    return CK_OK;
}

int ck_scalar_f32_quick_gelu_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_bwd_args *a = args;
    (void)ctx;
    const double k = 1.702;
    for (size_t i = 0; i < a->n; i++) {
        double x = a->x[i], s = 1.0 / (1.0 + exp(-k * x)), s1 = 1.0 / (1.0 + exp(k * x));
        /* s1 is 0 once exp(k x) overflows: no inf * 0 at x = +inf */
        double d = s * (1.0 + (s1 == 0.0 ? 0.0 : k * x * s1));
        a->dx[i] = (float)(a->dy[i] * d);
    }
    return CK_OK;
}
