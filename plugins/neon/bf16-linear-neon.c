/* linear, bf16 weights, NEON: y[t][n] = sum_k x[t][k] * f32(w[n][k]) (+ bias).
 * Weights are widened to f32 exactly (a shift) and accumulated in f32 with
 * FMA, as in the f32 micro-kernel. The BF16 extension's BFDOT is not used:
 * it would round the f32 activations to bf16, far outside linear's tolerance. */
#include "neon-common.h"

void ck_neon_bf16_linear_cols(const float *x, const void *wv, size_t n0, size_t cols, size_t K, float *y)
{
    const uint16_t *w = (const uint16_t *)wv + n0 * K;
    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
    size_t k = 0;
    if (cols == 4) {
        const uint16_t *w0 = w, *w1 = w + K, *w2 = w + 2 * K, *w3 = w + 3 * K;
        for (; k + 4 <= K; k += 4) {
            float32x4_t xv = vld1q_f32(x + k);
            acc[0] = vfmaq_f32(acc[0], xv, ck_neon_bf16x4_to_f32(w0 + k));
            acc[1] = vfmaq_f32(acc[1], xv, ck_neon_bf16x4_to_f32(w1 + k));
            acc[2] = vfmaq_f32(acc[2], xv, ck_neon_bf16x4_to_f32(w2 + k));
            acc[3] = vfmaq_f32(acc[3], xv, ck_neon_bf16x4_to_f32(w3 + k));
        }
    } else {
        for (; k + 4 <= K; k += 4) {
            float32x4_t xv = vld1q_f32(x + k);
            for (size_t c = 0; c < cols; c++)
                acc[c] = vfmaq_f32(acc[c], xv, ck_neon_bf16x4_to_f32(w + c * K + k));
        }
    }
    for (size_t c = 0; c < cols; c++) {
        float s = ck_neon_hsum(acc[c]);
        for (size_t kk = k; kk < K; kk++)
            s += x[kk] * ck_bf16_to_f32(w[c * K + kk]);
        y[c] = s;
    }
}

int ck_neon_bf16_linear(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    if (a->w_dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    ck_neon_linear_drive(ctx, a->x, a->w, a->bias, a->y, a->T, a->K, a->N, ck_neon_bf16_linear_cols);
    return CK_OK;
}
