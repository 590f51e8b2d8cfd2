/* f32-rope_bwd/scalar (exact class): the transpose of the rotation, applied
 * in place to dq and dk: dx0 = dy0*c + dy1*s; dx1 = dy1*c - dy0*s, each
 * product rounded on its own (no FMA), in this order. Only the first
 * rotary_dim dims of a head (0: all) were rotated; the rest pass through. */
#include "scalar-bwd.h"

static void unrotate(float *v, size_t rows, size_t heads, size_t hd, const ck_rope_args *a)
{
    size_t half = (a->rotary_dim ? a->rotary_dim : hd) / 2;
    for (size_t t = 0; t < rows; t++) {
        size_t pos = a->pos_offset + t;
        const float *c = a->cos_tab + pos * half, *s = a->sin_tab + pos * half;
        for (size_t h = 0; h < heads; h++) {
            float *x = v + (t * heads + h) * hd;
            for (size_t i = 0; i < half; i++) {
                size_t i0 = a->pairing == CK_ROPE_GPTJ ? 2 * i : i;
                size_t i1 = a->pairing == CK_ROPE_GPTJ ? 2 * i + 1 : i + half;
                float d0 = x[i0], d1 = x[i1];
                float p0 = d0 * c[i], p1 = d1 * s[i], p2 = d1 * c[i], p3 = d0 * s[i];
                x[i0] = p0 + p1;
                x[i1] = p2 - p3;
            }
        }
    }
}

int ck_scalar_f32_rope_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    (void)ctx;
    unrotate(a->q, a->T, a->n_heads, a->head_dim, a);
    if (a->k)
        unrotate(a->k, a->T, a->n_kv_heads, a->head_dim, a);
    return CK_OK;
}
