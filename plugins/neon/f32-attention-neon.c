/* attention, f32, NEON: GQA (query head h reads kv head h / (H / Hkv)),
 * causal (row t sees keys s <= q_pos + t, and with a window W only those
 * s > q_pos + t - W) or bidirectional, prefill or decode; a soft-cap makes
 * each score cap * tanh(s * (1 / cap)) (ck_neon_tanh, gelu's), before the
 * mask and the softmax.
 *
 * With scores or probs non-NULL the kernel materialises [H, T, S] rows:
 * scores = scale * q.k (-INFINITY where masked), probs = softmax (0 where
 * masked), out = probs . V. With both NULL it streams: keys in blocks of
 * BLOCK, an online softmax (running max and sum, the accumulator rescaled when
 * the max grows), nothing of size S written. Work is split over (head, row)
 * pairs; each pair is computed by one thread start to end, so the result does
 * not depend on the split. */
#include <math.h>

#include "neon-common.h"

#define BLOCK 64 /* keys per streaming block: scores of a block stay in L1 */

typedef struct attn_job {
    const ck_attention_args *a;
    const ck_exec_ctx *ctx;
    size_t group;         /* query heads per kv head */
    size_t scratch_bytes; /* per thread */
} attn_job;

static float dot(const float *x, const float *y, size_t n)
{
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(x + i), vld1q_f32(y + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
    }
    for (; i + 4 <= n; i += 4)
        acc0 = vfmaq_f32(acc0, vld1q_f32(x + i), vld1q_f32(y + i));
    if (i < n)
        acc1 = vfmaq_f32(acc1, ck_neon_load_tail(x + i, n - i, 0.0f), ck_neon_load_tail(y + i, n - i, 0.0f));
    return ck_neon_hsum(vaddq_f32(acc0, acc1));
}

static float exp_scalar(float x)
{
    return vgetq_lane_f32(ck_neon_exp(vdupq_n_f32(x)), 0);
}

/* acc[0..n) = acc * c + p * v (c = 1 skips nothing: the multiply is cheap) */
static void scale_add_row(float *acc, float c, float p, const float *v, size_t n)
{
    float32x4_t vc = vdupq_n_f32(c), vp = vdupq_n_f32(p);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(acc + i, vfmaq_f32(vmulq_f32(vld1q_f32(acc + i), vc), vp, vld1q_f32(v + i)));
    if (i < n) {
        float32x4_t r = vfmaq_f32(vmulq_f32(ck_neon_load_tail(acc + i, n - i, 0.0f), vc), vp,
                                  ck_neon_load_tail(v + i, n - i, 0.0f));
        ck_neon_store_tail(acc + i, r, n - i);
    }
}

static float row_max(const float *x, size_t n)
{
    float32x4_t m = vdupq_n_f32(-INFINITY);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        m = vmaxq_f32(m, vld1q_f32(x + i));
    if (i < n)
        m = vmaxq_f32(m, ck_neon_load_tail(x + i, n - i, -INFINITY));
    return ck_neon_hmax(m);
}

/* dst[i] = exp(src[i] - m) for i < n; returns the sum. dst may be src. */
static float exp_shifted(const float *src, float *dst, size_t n, float m)
{
    float32x4_t vm = vdupq_n_f32(m), sum = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t e = ck_neon_exp(vsubq_f32(vld1q_f32(src + i), vm));
        vst1q_f32(dst + i, e);
        sum = vaddq_f32(sum, e);
    }
    if (i < n) {
        float32x4_t e = ck_neon_exp(vsubq_f32(ck_neon_load_tail(src + i, n - i, -INFINITY), vm));
        ck_neon_store_tail(dst + i, e, n - i);
        sum = vaddq_f32(sum, e);
    }
    return ck_neon_hsum(sum);
}

static float32x4_t softcap4(float32x4_t s, float32x4_t cap, float32x4_t inv_cap)
{
    return vmulq_f32(cap, ck_neon_tanh(vmulq_f32(s, inv_cap)));
}

/* x[0..n) soft-capped in place when the arguments ask for it. */
static void softcap_row(const ck_attention_args *a, float *x, size_t n)
{
    if (!(a->softcap > 0.0f))
        return;
    float32x4_t cap = vdupq_n_f32(a->softcap), inv = vdupq_n_f32(1.0f / a->softcap);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, softcap4(vld1q_f32(x + i), cap, inv));
    if (i < n)
        ck_neon_store_tail(x + i, softcap4(ck_neon_load_tail(x + i, n - i, 0.0f), cap, inv), n - i);
}

static void fill(float *x, size_t n, float value)
{
    for (size_t i = 0; i < n; i++)
        x[i] = value;
}

/* Keys [lo, end) of the row: its window and its causal limit. */
static void attend_materialised(const ck_attention_args *a, size_t h, size_t t, size_t kvh, size_t lo, size_t end,
                                float *buf)
{
    size_t S = a->S, hd = a->head_dim, Hkv = a->n_kv_heads, n = end - lo;
    size_t row = (h * a->T + t) * S;
    float *srow = a->scores ? a->scores + row : buf;
    float *prow = a->probs ? a->probs + row : buf + S;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    float *out = a->out + (t * a->n_heads + h) * hd;
    for (size_t s = lo; s < end; s++)
        srow[s] = a->scale * dot(q, a->k + (s * Hkv + kvh) * hd, hd);
    softcap_row(a, srow + lo, n);
    fill(srow, lo, -INFINITY);
    fill(prow, lo, 0.0f);
    fill(srow + end, S - end, -INFINITY);
    fill(prow + end, S - end, 0.0f);
    fill(out, hd, 0.0f);
    if (n == 0)
        return;
    float sum = exp_shifted(srow + lo, prow + lo, n, row_max(srow + lo, n));
    float32x4_t vsum = vdupq_n_f32(sum);
    size_t s = lo;
    for (; s + 4 <= end; s += 4)
        vst1q_f32(prow + s, vdivq_f32(vld1q_f32(prow + s), vsum));
    for (; s < end; s++)
        prow[s] = prow[s] / sum;
    for (s = lo; s < end; s++)
        scale_add_row(out, 1.0f, prow[s], a->v + (s * Hkv + kvh) * hd, hd);
}

static void attend_streaming(const ck_attention_args *a, size_t h, size_t t, size_t kvh, size_t lo, size_t end,
                             float *buf)
{
    size_t hd = a->head_dim, Hkv = a->n_kv_heads;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    float *out = a->out + (t * a->n_heads + h) * hd;
    float *acc = buf, *blk = buf + hd;
    float m = -INFINITY, l = 0.0f;
    fill(acc, hd, 0.0f);
    for (size_t s0 = lo; s0 < end; s0 += BLOCK) {
        size_t nb = end - s0 < BLOCK ? end - s0 : BLOCK;
        for (size_t j = 0; j < nb; j++)
            blk[j] = a->scale * dot(q, a->k + ((s0 + j) * Hkv + kvh) * hd, hd);
        softcap_row(a, blk, nb);
        float bm = row_max(blk, nb);
        float corr = 1.0f;
        if (bm > m) {
            corr = exp_scalar(m - bm); /* 0 on the first block (m = -inf) */
            l *= corr;
            m = bm;
        }
        l += exp_shifted(blk, blk, nb, m);
        for (size_t j = 0; j < nb; j++) {
            scale_add_row(acc, corr, blk[j], a->v + ((s0 + j) * Hkv + kvh) * hd, hd);
            corr = 1.0f;
        }
    }
    float inv = end > lo ? 1.0f / l : 0.0f;
    for (size_t i = 0; i < hd; i++)
        out[i] = acc[i] * inv;
}

static void attn_items(void *arg, size_t begin, size_t end, int tid)
{
    const attn_job *j = arg;
    const ck_attention_args *a = j->a;
    float *buf = j->ctx->scratch(j->ctx, tid, j->scratch_bytes); /* reserved in the kernel: cannot fail */
    for (size_t i = begin; i < end; i++) {
        size_t h = i / a->T, t = i % a->T, p = a->q_pos + t;
        size_t kvh = h / j->group;
        size_t visible = a->S, lo = 0;
        if (a->causal && p + 1 < visible)
            visible = p + 1;
        if (a->causal && a->window && p >= a->window)
            lo = p - a->window + 1 < visible ? p - a->window + 1 : visible;
        if (a->scores || a->probs)
            attend_materialised(a, h, t, kvh, lo, visible, buf);
        else
            attend_streaming(a, h, t, kvh, lo, visible, buf);
    }
}

int ck_neon_f32_attention(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    if (a->T == 0 || a->n_heads == 0 || a->head_dim == 0)
        return CK_OK;
    size_t floats = (a->scores || a->probs) ? 2 * a->S : a->head_dim + BLOCK;
    attn_job job = {a, ctx, a->n_heads / a->n_kv_heads, floats * sizeof(float)};
    /* Reserve every thread's scratch here, where a failure can be reported. */
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, job.scratch_bytes))
            return CK_E_NOMEM;
    ctx->parallel_for(ctx, a->n_heads * a->T, 1, attn_items, &job);
    return CK_OK;
}
