/* f32-rope/scalar (exact class): rotates each pair of every head of q and k
 * in place by the table angle of its position pos = pos_offset + t:
 *   y0 = x0*c - x1*s;  y1 = x0*s + x1*c
 * in f32, each product rounded on its own (no FMA: -ffp-contract=off), the
 * subtraction and addition in that order. neox pairs (x[i], x[i + hd/2]),
 * gptj pairs (x[2i], x[2i + 1]), for i in [0, half), half = rd/2 with
 * rd = rotary_dim (0: head_dim); the tables have half columns and dims
 * rd..hd-1 are not touched. */
#include "scalar.h"

typedef struct rope_job {
    const ck_rope_args *a;
    size_t half;
} rope_job;

static void rotate_head(float *x, const float *c, const float *s, size_t half, uint32_t pairing)
{
    for (size_t i = 0; i < half; i++) {
        size_t i0 = pairing == CK_ROPE_NEOX ? i : 2 * i;
        size_t i1 = pairing == CK_ROPE_NEOX ? i + half : 2 * i + 1;
        float x0 = x[i0], x1 = x[i1];
        float p00 = x0 * c[i], p11 = x1 * s[i];
        float p01 = x0 * s[i], p10 = x1 * c[i];
        x[i0] = p00 - p11;
        x[i1] = p01 + p10;
    }
}

static void rope_rows(void *arg, size_t begin, size_t end, int tid)
{
    const rope_job *j = arg;
    const ck_rope_args *a = j->a;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        size_t pos = a->pos_offset + t;
        const float *c = a->cos_tab + pos * j->half;
        const float *s = a->sin_tab + pos * j->half;
        for (size_t h = 0; h < a->n_heads; h++)
            rotate_head(a->q + (t * a->n_heads + h) * a->head_dim, c, s, j->half, a->pairing);
        if (a->k)
            for (size_t h = 0; h < a->n_kv_heads; h++)
                rotate_head(a->k + (t * a->n_kv_heads + h) * a->head_dim, c, s, j->half, a->pairing);
    }
}

int ck_scalar_f32_rope(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    if (a->T == 0 || a->head_dim == 0)
        return CK_OK;
    rope_job j = {a, (a->rotary_dim ? a->rotary_dim : a->head_dim) / 2};
    scalar_parallel(ctx, a->T, 1, rope_rows, &j);
    return CK_OK;
}
