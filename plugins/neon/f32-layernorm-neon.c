/* layernorm, f32, NEON: y = (x - mean) / sqrt(var + eps) * gamma + beta per
 * row, population variance, beta NULL meaning 0. Two passes over the row (mean,
 * then squared deviations) for accuracy; y may alias x. */
#include <math.h>

#include "neon-common.h"

typedef struct layernorm_job {
    const ck_norm_args *a;
} layernorm_job;

static float row_sum(const float *x, size_t D)
{
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= D; i += 8) {
        acc0 = vaddq_f32(acc0, vld1q_f32(x + i));
        acc1 = vaddq_f32(acc1, vld1q_f32(x + i + 4));
    }
    for (; i + 4 <= D; i += 4)
        acc0 = vaddq_f32(acc0, vld1q_f32(x + i));
    if (i < D)
        acc1 = vaddq_f32(acc1, ck_neon_load_tail(x + i, D - i, 0.0f));
    return ck_neon_hsum(vaddq_f32(acc0, acc1));
}

static float row_squared_deviation(const float *x, size_t D, float mean)
{
    float32x4_t vm = vdupq_n_f32(mean);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= D; i += 8) {
        float32x4_t d0 = vsubq_f32(vld1q_f32(x + i), vm), d1 = vsubq_f32(vld1q_f32(x + i + 4), vm);
        acc0 = vfmaq_f32(acc0, d0, d0);
        acc1 = vfmaq_f32(acc1, d1, d1);
    }
    for (; i + 4 <= D; i += 4) {
        float32x4_t d = vsubq_f32(vld1q_f32(x + i), vm);
        acc0 = vfmaq_f32(acc0, d, d);
    }
    if (i < D) {
        /* pad with the mean so that the padding lanes add nothing */
        float32x4_t d = vsubq_f32(ck_neon_load_tail(x + i, D - i, mean), vm);
        acc1 = vfmaq_f32(acc1, d, d);
    }
    return ck_neon_hsum(vaddq_f32(acc0, acc1));
}

static void layernorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_norm_args *a = ((const layernorm_job *)arg)->a;
    (void)tid;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        float *y = a->y + t * D;
        float mean = row_sum(x, D) / (float)D;
        float rstd = 1.0f / sqrtf(row_squared_deviation(x, D, mean) / (float)D + a->eps);
        float32x4_t vm = vdupq_n_f32(mean), vr = vdupq_n_f32(rstd);
        size_t i = 0;
        for (; i < D; i += 4) {
            size_t n = D - i < 4 ? D - i : 4;
            float32x4_t v = n == 4 ? vld1q_f32(x + i) : ck_neon_load_tail(x + i, n, 0.0f);
            float32x4_t g = n == 4 ? vld1q_f32(a->gamma + i) : ck_neon_load_tail(a->gamma + i, n, 0.0f);
            float32x4_t o = vmulq_f32(vmulq_f32(vsubq_f32(v, vm), vr), g);
            if (a->beta)
                o = vaddq_f32(o, n == 4 ? vld1q_f32(a->beta + i) : ck_neon_load_tail(a->beta + i, n, 0.0f));
            if (n == 4)
                vst1q_f32(y + i, o);
            else
                ck_neon_store_tail(y + i, o, n);
        }
    }
}

int ck_neon_f32_layernorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->D == 0 || a->T == 0)
        return CK_OK;
    layernorm_job job = {a};
    ctx->parallel_for(ctx, a->T, 1, layernorm_rows, &job);
    return CK_OK;
}
