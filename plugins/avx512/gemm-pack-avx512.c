/* Packing for the f32-FMA GEMM (gemm-avx512.h): x into k-major groups of MR
 * rows, W (f32, or bf16 / f16 converted exactly) into k-major panels of NR
 * columns, and the three implementations that pair them with the 14x32
 * micro-kernel. */
#include "avx512-helpers.h"
#include "gemm-avx512.h"

/* Group g of MR rows becomes [K][MR]: 16 k at a time, each row's 16 values
 * are scattered MR floats apart (rows past T are zero). */
static void pack_x_group_f32(const float *x, size_t T, size_t K, size_t g, float *dst)
{
    const __m512i stride = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32(CK512_MR));
    for (size_t r = 0; r < CK512_MR; r++) {
        size_t row = g * CK512_MR + r;
        const float *src = x + row * K;
        for (size_t k = 0; k < K; k += 16) {
            __mmask16 m = ck512_mask(K - k);
            __m512 v = row < T ? _mm512_maskz_loadu_ps(m, src + k) : _mm512_setzero_ps();
            _mm512_mask_i32scatter_ps(dst + k * CK512_MR + r, m, stride, v, 4);
        }
    }
}

/* Row offsets of the 16 W rows a gather reads, scaled by the element size. */
static __m512i row_offsets(size_t K)
{
    return _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                              _mm512_set1_epi32((int)K));
}

/* W panels by gathers: per k, 16 rows at once (rows past N masked to 0). */
static void pack_w_f32(const void *w, size_t K, size_t n0, size_t nc, size_t N, size_t k0, size_t kc, float *dst)
{
    const __m512i idx = row_offsets(K);
    for (size_t p = 0; p < nc; p += CK512_NR, dst += kc * CK512_NR) {
        for (size_t h = 0; h < CK512_NR; h += 16) {
            size_t n = n0 + p + h;
            __mmask16 m = n < N ? ck512_mask(N - n) : 0;
            const float *src = (const float *)w + (m ? n * K : 0) + k0;
            for (size_t k = 0; k < kc; k++)
                _mm512_store_ps(dst + k * CK512_NR + h,
                                _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, src + k, 4));
        }
    }
}

/* bf16 W: a 32-bit gather reads a pair of k (k even: low half); both are
 * widened exactly. A last odd k is read on its own. */
static void pack_w_bf16_widen(const void *w, size_t K, size_t n0, size_t nc, size_t N, size_t k0, size_t kc, float *dst)
{
    const __m512i idx = row_offsets(K), hi_mask = _mm512_set1_epi32((int)0xffff0000u);
    for (size_t p = 0; p < nc; p += CK512_NR, dst += kc * CK512_NR) {
        for (size_t h = 0; h < CK512_NR; h += 16) {
            size_t n = n0 + p + h;
            __mmask16 m = n < N ? ck512_mask(N - n) : 0;
            const uint16_t *src = (const uint16_t *)w + (m ? n * K : 0) + k0;
            size_t k = 0;
            for (; k + 2 <= kc; k += 2) {
                __m512i pr = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, src + k, 2);
                _mm512_store_ps(dst + k * CK512_NR + h, _mm512_castsi512_ps(_mm512_slli_epi32(pr, 16)));
                _mm512_store_ps(dst + (k + 1) * CK512_NR + h, _mm512_castsi512_ps(_mm512_and_si512(pr, hi_mask)));
            }
            for (size_t j = 0; k < kc && j < 16; j++)
                dst[k * CK512_NR + h + j] = (m >> j) & 1 ? ck_bf16_to_f32(src[j * K + k]) : 0.0f;
        }
    }
}

/* f16 W: as bf16, each half of the gathered pair converted by vcvtph2ps. */
static void pack_w_f16_widen(const void *w, size_t K, size_t n0, size_t nc, size_t N, size_t k0, size_t kc, float *dst)
{
    const __m512i idx = row_offsets(K);
    for (size_t p = 0; p < nc; p += CK512_NR, dst += kc * CK512_NR) {
        for (size_t h = 0; h < CK512_NR; h += 16) {
            size_t n = n0 + p + h;
            __mmask16 m = n < N ? ck512_mask(N - n) : 0;
            const uint16_t *src = (const uint16_t *)w + (m ? n * K : 0) + k0;
            size_t k = 0;
            for (; k + 2 <= kc; k += 2) {
                __m512i pr = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, src + k, 2);
                _mm512_store_ps(dst + k * CK512_NR + h, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(pr)));
                _mm512_store_ps(dst + (k + 1) * CK512_NR + h,
                                _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(pr, 16))));
            }
            for (size_t j = 0; k < kc && j < 16; j++)
                dst[k * CK512_NR + h + j] = (m >> j) & 1 ? ck_f16_to_f32(src[j * K + k]) : 0.0f;
        }
    }
}

const ck512_gemm_impl ck512_gemm_f32 = {
    "f32-fma-14x32", 1, CK512_NR, pack_x_group_f32, pack_w_f32, ck512_gemm_ukernel_14x32,
};

const ck512_gemm_impl ck512_gemm_bf16_widen = {
    "bf16-widen-fma-14x32", 1, CK512_NR, pack_x_group_f32, pack_w_bf16_widen, ck512_gemm_ukernel_14x32,
};

const ck512_gemm_impl ck512_gemm_f16_widen = {
    "f16-widen-fma-14x32", 1, CK512_NR, pack_x_group_f32, pack_w_f16_widen, ck512_gemm_ukernel_14x32,
};
