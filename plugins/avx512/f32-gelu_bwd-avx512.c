/* f32-gelu_bwd/avx512: for the tanh form with z = c (x + k x^3), th = tanh z,
 *   dx = dy * (0.5 (1 + th) + 0.5 x (1 - th^2) c (1 + 3 k x^2)).
 * With s = 1/(1 + e^-2z) and s' = 1/(1 + e^2z): 1 + th = 2s and
 * 1 - th^2 = 4 s s', so neither factor cancels for large |z| (1 - tanh^2
 * computed directly would lose everything there); e^±2z = +inf gives 0. */
#include "bwd-avx512.h"

#define BLOCK 4096

static void gelu_bwd_blocks(void *arg, size_t begin, size_t end, int tid)
{
    const ck_unary_bwd_args *a = arg;
    const bv_f32 one = bv_set1(1.0f), c = bv_set1(0.7978845608028654f), k = bv_set1(0.044715f);
    const bv_f32 k3 = bv_set1(3.0f * 0.044715f), two = bv_set1(2.0f);
    (void)tid;
    size_t stop = end * BLOCK < a->n ? end * BLOCK : a->n;
    for (size_t i = begin * BLOCK; i < stop; i += BV_W) {
        size_t n = stop - i;
        bv_f32 x = bv_load_n(a->x + i, n), x2 = bv_mul(x, x);
        bv_f32 z2 = bv_mul(two, bv_mul(c, bv_add(x, bv_mul(k, bv_mul(x2, x)))));
        bv_f32 s = bv_div(one, bv_add(one, bv_exp(bv_sub(bv_zero(), z2))));
        bv_f32 sm = bv_div(one, bv_add(one, bv_exp(z2)));
        bv_f32 slope = bv_mul(bv_mul(c, bv_add(one, bv_mul(k3, x2))), bv_mul(bv_mul(two, x), bv_mul(s, sm)));
        bv_store_n(a->dx + i, bv_mul(bv_load_n(a->dy + i, n), bv_add(s, slope)), n);
    }
}

int BV_KERNEL(gelu_bwd)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_unary_bwd_args *a = args;
    if (!a || !a->x || !a->dy || !a->dx)
        return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 30.0 * (double)a->n);
    bv_parallel(ctx, (a->n + BLOCK - 1) / BLOCK, 4, gelu_bwd_blocks, (void *)a);
    return CK_OK;
}
