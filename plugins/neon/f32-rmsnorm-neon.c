/* rmsnorm, f32, NEON: y = x * (1/sqrt(mean(x^2) + eps)) * gamma per row.
 * Rows are split between threads; y may alias x (a row's sum of squares is
 * taken before the row is written). */
#include <math.h>

#include "neon-common.h"

typedef struct rmsnorm_job {
    const ck_norm_args *a;
} rmsnorm_job;

static float sum_of_squares(const float *x, size_t D)
{
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= D; i += 8) {
        float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + 4);
        acc0 = vfmaq_f32(acc0, v0, v0);
        acc1 = vfmaq_f32(acc1, v1, v1);
    }
    for (; i + 4 <= D; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        acc0 = vfmaq_f32(acc0, v, v);
    }
    if (i < D) {
        float32x4_t v = ck_neon_load_tail(x + i, D - i, 0.0f);
        acc1 = vfmaq_f32(acc1, v, v);
    }
    return ck_neon_hsum(vaddq_f32(acc0, acc1));
}

static void rmsnorm_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_norm_args *a = ((const rmsnorm_job *)arg)->a;
    (void)tid;
    size_t D = a->D;
    for (size_t t = begin; t < end; t++) {
        const float *x = a->x + t * D;
        float *y = a->y + t * D;
        float r = 1.0f / sqrtf(sum_of_squares(x, D) / (float)D + a->eps);
        float32x4_t vr = vdupq_n_f32(r);
        size_t i = 0;
        for (; i + 4 <= D; i += 4)
            vst1q_f32(y + i, vmulq_f32(vmulq_f32(vld1q_f32(x + i), vr), vld1q_f32(a->gamma + i)));
        if (i < D) {
            float32x4_t v = ck_neon_load_tail(x + i, D - i, 0.0f);
            float32x4_t g = ck_neon_load_tail(a->gamma + i, D - i, 0.0f);
            ck_neon_store_tail(y + i, vmulq_f32(vmulq_f32(v, vr), g), D - i);
        }
    }
}

int ck_neon_f32_rmsnorm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_norm_args *a = args;
    if (a->D == 0 || a->T == 0)
        return CK_OK;
    rmsnorm_job job = {a};
    ctx->parallel_for(ctx, a->T, 1, rmsnorm_rows, &job);
    return CK_OK;
}
