/* f32-swiglu_bwd/avx2: for y = g * sig(g) * u,
 *   dgate = dy * u * sig * (1 + g * (1 - sig)),  dup = dy * g * sig,
 * sig = 1 / (1 + e^-g) in f32 (e^-g = +inf gives sig = 0, no NaN).
 * Element-wise; blocks of elements split over the threads. */
#include "bwd-avx2.h"

#define BLOCK 4096

static void swiglu_bwd_blocks(void *arg, size_t begin, size_t end, int tid)
{
    const ck_swiglu_bwd_args *a = arg;
    const bv_f32 one = bv_set1(1.0f);
    (void)tid;
    size_t stop = end * BLOCK < a->n ? end * BLOCK : a->n;
    for (size_t i = begin * BLOCK; i < stop; i += BV_W) {
        size_t n = stop - i;
        bv_f32 g = bv_load_n(a->gate + i, n), u = bv_load_n(a->up + i, n), dy = bv_load_n(a->dy + i, n);
        bv_f32 sig = bv_div(one, bv_add(one, bv_exp(bv_sub(bv_zero(), g))));
        if (a->dgate) {
            bv_f32 d = bv_add(one, bv_mul(g, bv_sub(one, sig)));
            bv_store_n(a->dgate + i, bv_mul(bv_mul(bv_mul(dy, u), sig), d), n);
        }
        if (a->dup)
            bv_store_n(a->dup + i, bv_mul(bv_mul(dy, g), sig), n);
    }
}

int BV_KERNEL(swiglu_bwd)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_bwd_args *a = args;
    if (!a || !a->gate || !a->up || !a->dy)
        return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 20.0 * (double)a->n);
    bv_parallel(ctx, (a->n + BLOCK - 1) / BLOCK, 4, swiglu_bwd_blocks, (void *)a);
    return CK_OK;
}
