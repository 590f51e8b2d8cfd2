/* rope, f32, NEON (EXACT class): in place on every head of q and k.
 * pos = pos_offset + t; c, s from the tables at [pos][i];
 *   y0 = x0*c - x1*s;  y1 = x0*s + x1*c
 * with each product rounded on its own (vmulq, then vsubq / vaddq; never
 * vfmaq), in the reference's order, so the result is bit-identical to it.
 * neox pairs (x[i], x[i + hd/2]); gptj pairs (x[2i], x[2i+1]), de-interleaved
 * with vld2q. A partial rotary_dim rd: the same over the first rd dims
 * (half = rd/2, tables of half columns, scalar tails), the rest untouched. */
#include "neon-common.h"

typedef struct rope_job {
    const ck_rope_args *a;
    size_t q_rows; /* T * n_heads: rows [0, q_rows) are q heads, then k heads */
} rope_job;

static void rotate_pair(float *x0, float *x1, float c, float s)
{
    float a = *x0, b = *x1;
    *x0 = a * c - b * s;
    *x1 = a * s + b * c;
}

static void rope_neox(float *x, const float *cs, const float *sn, size_t half)
{
    float *hi = x + half;
    size_t i = 0;
    for (; i + 4 <= half; i += 4) {
        float32x4_t x0 = vld1q_f32(x + i), x1 = vld1q_f32(hi + i);
        float32x4_t c = vld1q_f32(cs + i), s = vld1q_f32(sn + i);
        vst1q_f32(x + i, vsubq_f32(vmulq_f32(x0, c), vmulq_f32(x1, s)));
        vst1q_f32(hi + i, vaddq_f32(vmulq_f32(x0, s), vmulq_f32(x1, c)));
    }
    for (; i < half; i++)
        rotate_pair(x + i, hi + i, cs[i], sn[i]);
}

static void rope_gptj(float *x, const float *cs, const float *sn, size_t half)
{
    size_t i = 0;
    for (; i + 4 <= half; i += 4) {
        float32x4x2_t p = vld2q_f32(x + 2 * i);
        float32x4_t c = vld1q_f32(cs + i), s = vld1q_f32(sn + i);
        float32x4x2_t o;
        o.val[0] = vsubq_f32(vmulq_f32(p.val[0], c), vmulq_f32(p.val[1], s));
        o.val[1] = vaddq_f32(vmulq_f32(p.val[0], s), vmulq_f32(p.val[1], c));
        vst2q_f32(x + 2 * i, o);
    }
    for (; i < half; i++)
        rotate_pair(x + 2 * i, x + 2 * i + 1, cs[i], sn[i]);
}

static void rope_rows(void *arg, size_t begin, size_t end, int tid)
{
    const rope_job *j = arg;
    const ck_rope_args *a = j->a;
    (void)tid;
    size_t hd = a->head_dim, half = (a->rotary_dim ? a->rotary_dim : hd) / 2;
    for (size_t r = begin; r < end; r++) {
        float *x;
        size_t t;
        if (r < j->q_rows) {
            t = r / a->n_heads;
            x = a->q + r * hd;
        } else {
            t = (r - j->q_rows) / a->n_kv_heads;
            x = a->k + (r - j->q_rows) * hd;
        }
        size_t pos = a->pos_offset + t;
        const float *cs = a->cos_tab + pos * half, *sn = a->sin_tab + pos * half;
        if (a->pairing == CK_ROPE_GPTJ)
            rope_gptj(x, cs, sn, half);
        else
            rope_neox(x, cs, sn, half);
    }
}

int ck_neon_f32_rope(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    size_t q_rows = a->T * a->n_heads;
    size_t k_rows = a->k ? a->T * a->n_kv_heads : 0;
    if (a->head_dim < 2 || q_rows + k_rows == 0)
        return CK_OK;
    rope_job job = {a, q_rows};
    ctx->parallel_for(ctx, q_rows + k_rows, 4, rope_rows, &job);
    return CK_OK;
}
