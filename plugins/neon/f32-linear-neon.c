/* linear, f32 weights, NEON: y[t][n] = sum_k x[t][k] * w[n][k] (+ bias[n]).
 * The micro-kernel takes up to 4 weight rows at once against one activation
 * row: one FMA accumulator per column over blocks of 4, a horizontal sum, then
 * the K % 4 tail in order. A column alone runs the same sequence. */
#include "neon-common.h"

void ck_neon_f32_linear_cols(const float *x, const void *wv, size_t n0, size_t cols, size_t K, float *y)
{
    const float *w = (const float *)wv + n0 * K;
    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
    size_t k = 0;
    if (cols == 4) {
        const float *w0 = w, *w1 = w + K, *w2 = w + 2 * K, *w3 = w + 3 * K;
        for (; k + 4 <= K; k += 4) {
            float32x4_t xv = vld1q_f32(x + k);
            acc[0] = vfmaq_f32(acc[0], xv, vld1q_f32(w0 + k));
            acc[1] = vfmaq_f32(acc[1], xv, vld1q_f32(w1 + k));
            acc[2] = vfmaq_f32(acc[2], xv, vld1q_f32(w2 + k));
            acc[3] = vfmaq_f32(acc[3], xv, vld1q_f32(w3 + k));
        }
    } else {
        for (; k + 4 <= K; k += 4) {
            float32x4_t xv = vld1q_f32(x + k);
            for (size_t c = 0; c < cols; c++)
                acc[c] = vfmaq_f32(acc[c], xv, vld1q_f32(w + c * K + k));
        }
    }
    for (size_t c = 0; c < cols; c++) {
        float s = ck_neon_hsum(acc[c]);
        for (size_t kk = k; kk < K; kk++)
            s += x[kk] * w[c * K + kk];
        y[c] = s;
    }
}

int ck_neon_f32_linear(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    if (a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    ck_neon_linear_drive(ctx, a->x, a->w, a->bias, a->y, a->T, a->K, a->N, ck_neon_f32_linear_cols);
    return CK_OK;
}
