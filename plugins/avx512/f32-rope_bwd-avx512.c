/* f32-rope_bwd/avx512 (exact class): the transpose of the rotation, in place
 * on dq and dk: dx0 = dy0*c + dy1*s; dx1 = dy1*c - dy0*s, each product
 * rounded on its own (separate mul and add/sub, no FMA), as the scalar
 * reference. neox pairs are (i, i + hd/2): two contiguous halves; gptj
 * pairs (2i, 2i+1) are adjacent lanes, with c and s duplicated per pair and
 * the partner lane swapped in. Rows split over the threads. */
#include "bwd-avx512.h"

static void unrotate_neox(float *x, const float *c, const float *s, size_t half)
{
    for (size_t i = 0; i < half; i += BV_W) {
        size_t n = half - i;
        bv_f32 d0 = bv_load_n(x + i, n), d1 = bv_load_n(x + half + i, n);
        bv_f32 cv = bv_load_n(c + i, n), sv = bv_load_n(s + i, n);
        bv_store_n(x + i, bv_add(bv_mul(d0, cv), bv_mul(d1, sv)), n);
        bv_store_n(x + half + i, bv_sub(bv_mul(d1, cv), bv_mul(d0, sv)), n);
    }
}

/* even lane: d0*c + d1*s; odd lane: d1*c - d0*s */
static void unrotate_gptj(float *x, const float *c, const float *s, size_t half)
{
    for (size_t i = 0; i < half; i += BV_W / 2) {
        size_t pairs = half - i;
        bv_f32 d = bv_load_n(x + 2 * i, 2 * pairs);
        bv_f32 cv = bv_load_dup_n(c + i, pairs), sv = bv_load_dup_n(s + i, pairs);
        bv_f32 out = bv_add_even_sub_odd(bv_mul(d, cv), bv_mul(bv_swap_pairs(d), sv));
        bv_store_n(x + 2 * i, out, 2 * pairs);
    }
}

static void unrotate_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_rope_args *a = arg;
    size_t hd = a->head_dim, half = hd / 2;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        size_t pos = a->pos_offset + t;
        const float *c = a->cos_tab + pos * half, *s = a->sin_tab + pos * half;
        for (int which = 0; which < 2; which++) {
            float *base = which ? a->k : a->q;
            size_t heads = which ? a->n_kv_heads : a->n_heads;
            if (!base)
                continue;
            for (size_t h = 0; h < heads; h++) {
                float *x = base + (t * heads + h) * hd;
                if (a->pairing == CK_ROPE_GPTJ)
                    unrotate_gptj(x, c, s, half);
                else
                    unrotate_neox(x, c, s, half);
            }
        }
    }
}

int BV_KERNEL(rope_bwd)(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    if (!a || !a->q || !a->cos_tab || !a->sin_tab || a->head_dim % 2 || a->pairing > CK_ROPE_GPTJ ||
        a->pos_offset + a->T > a->max_pos)
        return CK_E_UNSUPPORTED;
    ck_exec_ctx one;
    ctx = bv_ctx_for(ctx, &one, 3.0 * (double)a->T * (double)(a->n_heads + a->n_kv_heads) * (double)a->head_dim);
    bv_parallel(ctx, a->T, 4, unrotate_rows, (void *)a);
    return CK_OK;
}
