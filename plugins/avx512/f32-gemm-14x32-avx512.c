/* f32-gemm-14x32/avx512: the register-blocked micro-kernel of the packed
 * GEMM (gemm-avx512.h). 14 rows x 32 columns = 28 zmm accumulators; per k
 * step two zmm loads of the W panel and 14 broadcasts of x feed 28 FMAs,
 * which leaves one register spare and keeps both FMA pipes busy. */
#include "avx512-helpers.h"
#include "gemm-avx512.h"

#define ROW_ACC(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps()
#define ROW_FMA(r)                                                                                                     \
    do {                                                                                                               \
        if ((r) < R) { /* rows past R: folded away, R being a constant */                                              \
            __m512 ar = _mm512_set1_ps(a[r]);                                                                          \
            c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                                                                \
            c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);                                                                \
        }                                                                                                              \
    } while (0)
#define ROW_SAVE(r)                                                                                                    \
    do {                                                                                                               \
        acc[r][0] = c##r##0;                                                                                           \
        acc[r][1] = c##r##1;                                                                                           \
    } while (0)

static inline void store_row(float *c, __m512 lo, __m512 hi, __mmask16 k0, __mmask16 k1, int first, __m512 b0,
                             __m512 b1)
{
    if (!first) {
        lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(k0, c));
        hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(k1, c + 16));
    }
    _mm512_mask_storeu_ps(c, k0, _mm512_add_ps(lo, b0));
    _mm512_mask_storeu_ps(c + 16, k1, _mm512_add_ps(hi, b1));
}

/* The tile's first R rows (R = 14, or fewer for a short last group of x:
 * each row's FMA chain is the same, so the bits do not depend on R). */
static inline __attribute__((always_inline)) void ukernel_rows(const size_t R, size_t kc, const float *a,
                                                               const float *b, float *c, size_t ldc, size_t mr,
                                                               size_t nr, int first, const float *bias)
{
    ROW_ACC(0);
    ROW_ACC(1);
    ROW_ACC(2);
    ROW_ACC(3);
    ROW_ACC(4);
    ROW_ACC(5);
    ROW_ACC(6);
    ROW_ACC(7);
    ROW_ACC(8);
    ROW_ACC(9);
    ROW_ACC(10);
    ROW_ACC(11);
    ROW_ACC(12);
    ROW_ACC(13);
    for (size_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        ROW_FMA(0);
        ROW_FMA(1);
        ROW_FMA(2);
        ROW_FMA(3);
        ROW_FMA(4);
        ROW_FMA(5);
        ROW_FMA(6);
        ROW_FMA(7);
        ROW_FMA(8);
        ROW_FMA(9);
        ROW_FMA(10);
        ROW_FMA(11);
        ROW_FMA(12);
        ROW_FMA(13);
        a += CK512_MR;
        b += CK512_NR;
    }
    __m512 acc[CK512_MR][2];
    ROW_SAVE(0);
    ROW_SAVE(1);
    ROW_SAVE(2);
    ROW_SAVE(3);
    ROW_SAVE(4);
    ROW_SAVE(5);
    ROW_SAVE(6);
    ROW_SAVE(7);
    ROW_SAVE(8);
    ROW_SAVE(9);
    ROW_SAVE(10);
    ROW_SAVE(11);
    ROW_SAVE(12);
    ROW_SAVE(13);
    __mmask16 k0 = ck512_mask(nr), k1 = nr > 16 ? ck512_mask(nr - 16) : 0;
    __m512 bias0 = bias ? _mm512_maskz_loadu_ps(k0, bias) : _mm512_setzero_ps();
    __m512 bias1 = bias ? _mm512_maskz_loadu_ps(k1, bias + 16) : _mm512_setzero_ps();
    for (size_t r = 0; r < mr; r++)
        store_row(c + r * ldc, acc[r][0], acc[r][1], k0, k1, first, bias0, bias1);
}

/* A group of x shorter than 14 rows (the last one, or a block of T when
 * the items are N x T blocks) runs only as many FMA rows as it needs,
 * rounded up to 4 or 8: the full tile did 14 rows of FMAs whatever mr was
 * (T = 32's last group of 4 paid 3.5x its flops). */
void ck512_gemm_ukernel_14x32(size_t kc, const float *a, const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                              int first, const float *bias)
{
    if (mr <= 4)
        ukernel_rows(4, kc, a, b, c, ldc, mr, nr, first, bias);
    else if (mr <= 8)
        ukernel_rows(8, kc, a, b, c, ldc, mr, nr, first, bias);
    else
        ukernel_rows(CK512_MR, kc, a, b, c, ldc, mr, nr, first, bias);
}
