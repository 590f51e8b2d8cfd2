/* bf16-gemm/avx512bf16: the packed GEMM for bf16 weights with vdpbf16ps,
 * which multiplies pairs of bf16 and accumulates in f32 (64 flops per
 * instruction, twice an f32 FMA). Compiled with -mavx512bf16; reached only
 * through ck512_gemm_for when CPUID reported avx512_bf16.
 *
 * vdpbf16ps needs x in bf16 too. Rounding x to one bf16 (the "rounded"
 * implementation) errs by ~2^-9 per product, 37-83x the linear tolerance
 * at K = 1024..11008 with x ~ N(0,1), w ~ N(0,0.02): it serves only the
 * compute-bf16 kernels, whose contract is that rounding (docs/ops.md). It
 * packs the hi halves only (MR units per pair). The "split" implementation writes x = hi + lo, both bf16 (lo = the
 * rounding error of hi), and issues two vdpbf16ps per pair: the error is
 * then ~2^-17 per product, well within tolerance, at the f32-FMA rate.
 *
 * Layouts (4-byte units): packed x per group, per k pair: hi[MR] then lo[MR]
 * (each a bf16 pair, k even in the low half; rounded: hi[MR] only, in the
 * first half of each KC slice's area); a W panel per k pair: NR
 * pairs, two zmm. An odd K is padded with a zero k. */
#include "avx512-helpers.h"
#include "gemm-avx512.h"

/* bf16 bits of 16 floats, round to nearest even (as ck_f32_to_bf16 for
 * every non-NaN), in the top halves: the f32 value of the bf16. */
static inline __m512 round_to_bf16(__m512 v)
{
    __m512i u = _mm512_castps_si512(v);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd);
    return _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32((int)0xffff0000u)));
}

/* x - hi, and 0 where x is already a bf16 value: an infinite x then gives
 * hi = inf, lo = 0 (not inf - inf = NaN), as the widening path would. */
static inline __m512 residual(__m512 x, __m512 hi)
{
    return _mm512_maskz_sub_ps(_mm512_cmp_ps_mask(x, hi, _CMP_NEQ_UQ), x, hi);
}

/* Two vectors of f32 already equal to bf16 values -> 16 pairs (a0 low). */
static inline __m512i pairs_of(__m512 a, __m512 b)
{
    __m512i lo = _mm512_srli_epi32(_mm512_castps_si512(a), 16), hi = _mm512_castps_si512(b);
    return _mm512_or_si512(lo, hi);
}

/* 16 pairs (32 k) of one row at a time: even and odd k deinterleaved, hi and
 * lo = x - hi rounded, then scattered 2*MR units apart (split), or hi
 * alone MR units apart (rounded: the x slice the micro-kernel streams is
 * half the size, so more of the T groups stay in L2). */
static inline __attribute__((always_inline)) void pack_x_group(const float *x, size_t T, size_t K, size_t g, float *dst,
                                                               int split)
{
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    const size_t unit = (split ? 2 : 1) * CK512_MR;
    const __m512i stride = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32((int)unit));
    int32_t *d = (int32_t *)(void *)dst;
    for (size_t r = 0; r < CK512_MR; r++) {
        size_t row = g * CK512_MR + r;
        for (size_t k = 0; k < K; k += 32) {
            __m512 v0 = _mm512_setzero_ps(), v1 = v0;
            if (row < T) {
                v0 = _mm512_maskz_loadu_ps(ck512_mask(K - k), x + row * K + k);
                if (k + 16 < K)
                    v1 = _mm512_maskz_loadu_ps(ck512_mask(K - k - 16), x + row * K + k + 16);
            }
            __m512 xe = _mm512_permutex2var_ps(v0, ev, v1), xo = _mm512_permutex2var_ps(v0, od, v1);
            __m512 he = round_to_bf16(xe), ho = round_to_bf16(xo);
            __mmask16 m = ck512_mask((K - k + 1) / 2);
            /* rounded: each KC slice's pairs at the start of the slice's
             * area (the driver offsets slices by k0 * MR units) */
            size_t at = split ? (k / 2) * unit : (k / CK512_KC) * CK512_KC * CK512_MR + (k % CK512_KC) / 2 * unit;
            int32_t *q = d + at + r;
            _mm512_mask_i32scatter_epi32(q, m, stride, pairs_of(he, ho), 4);
            if (split) {
                __m512 le = round_to_bf16(residual(xe, he)), lo = round_to_bf16(residual(xo, ho));
                _mm512_mask_i32scatter_epi32(q + CK512_MR, m, stride, pairs_of(le, lo), 4);
            }
        }
    }
}

static void pack_x_group_split(const float *x, size_t T, size_t K, size_t g, float *dst)
{
    pack_x_group(x, T, K, g, dst, 1);
}

static void pack_x_group_rounded(const float *x, size_t T, size_t K, size_t g, float *dst)
{
    pack_x_group(x, T, K, g, dst, 0);
}

/* A 32-bit gather at an even k reads the pair (k, k+1) of 16 rows, which is
 * exactly the packed unit; a last odd k is read on its own. */
static void pack_w_pairs(const void *w, size_t K, size_t n0, size_t nc, size_t N, size_t k0, size_t kc, float *dst)
{
    const size_t pairs = (kc + 1) / 2;
    const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                           _mm512_set1_epi32((int)K));
    uint32_t *d = (uint32_t *)(void *)dst;
    for (size_t p = 0; p < nc; p += CK512_NR, d += pairs * CK512_NR) {
        for (size_t h = 0; h < CK512_NR; h += 16) {
            size_t n = n0 + p + h;
            __mmask16 m = n < N ? ck512_mask(N - n) : 0;
            const uint16_t *src = (const uint16_t *)w + (m ? n * K : 0) + k0;
            size_t q = 0;
            for (; 2 * q + 2 <= kc; q++)
                _mm512_store_si512(d + q * CK512_NR + h,
                                   _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, src + 2 * q, 2));
            for (size_t j = 0; q < pairs && j < 16; j++)
                d[q * CK512_NR + h + j] = (m >> j) & 1 ? src[j * K + 2 * q] : 0;
        }
    }
}

#define ROW_ACC(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps()
#define ROW_DP(r, off)                                                                                                 \
    do {                                                                                                               \
        if ((r) < R) { /* rows past R: folded away, R being a constant */                                              \
            __m512bh ar = (__m512bh)_mm512_set1_epi32((int)a[(off) + (r)]);                                            \
            c##r##0 = _mm512_dpbf16_ps(c##r##0, ar, b0);                                                               \
            c##r##1 = _mm512_dpbf16_ps(c##r##1, ar, b1);                                                               \
        }                                                                                                              \
    } while (0)
#define ALL_ROWS(M, off)                                                                                               \
    M(0, off);                                                                                                         \
    M(1, off);                                                                                                         \
    M(2, off);                                                                                                         \
    M(3, off);                                                                                                         \
    M(4, off);                                                                                                         \
    M(5, off);                                                                                                         \
    M(6, off);                                                                                                         \
    M(7, off);                                                                                                         \
    M(8, off);                                                                                                         \
    M(9, off);                                                                                                         \
    M(10, off);                                                                                                        \
    M(11, off);                                                                                                        \
    M(12, off);                                                                                                        \
    M(13, off)
#define ROW_SAVE(r)                                                                                                    \
    do {                                                                                                               \
        acc[r][0] = c##r##0;                                                                                           \
        acc[r][1] = c##r##1;                                                                                           \
    } while (0)

static void store_tile(__m512 acc[CK512_MR][2], float *c, size_t ldc, size_t mr, size_t nr, int first,
                       const float *bias)
{
    __mmask16 k0 = ck512_mask(nr), k1 = nr > 16 ? ck512_mask(nr - 16) : 0;
    __m512 bias0 = bias ? _mm512_maskz_loadu_ps(k0, bias) : _mm512_setzero_ps();
    __m512 bias1 = bias ? _mm512_maskz_loadu_ps(k1, bias + 16) : _mm512_setzero_ps();
    for (size_t r = 0; r < mr; r++, c += ldc) {
        __m512 lo = acc[r][0], hi = acc[r][1];
        if (!first) {
            lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(k0, c));
            hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(k1, c + 16));
        }
        _mm512_mask_storeu_ps(c, k0, _mm512_add_ps(lo, bias0));
        _mm512_mask_storeu_ps(c + 16, k1, _mm512_add_ps(hi, bias1));
    }
}

/* The tile's first R rows (14, or 4 / 8 for a short group of x, as in
 * f32-gemm-14x32-avx512.c) over kc (pairs rounded up); `split` adds the lo
 * terms. */
static inline __attribute__((always_inline)) void ukernel_dp(const size_t R, size_t kc, const float *ap,
                                                             const float *bp, float *c, size_t ldc, size_t mr,
                                                             size_t nr, int first, const float *bias, int split)
{
    const uint32_t *a = (const uint32_t *)(const void *)ap;
    const float *b = bp;
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
    for (size_t q = 0; q < (kc + 1) / 2; q++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
        ALL_ROWS(ROW_DP, 0);
        if (split) {
            ALL_ROWS(ROW_DP, CK512_MR);
        }
        a += (split ? 2 : 1) * CK512_MR;
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
    store_tile(acc, c, ldc, mr, nr, first, bias);
}

static void ukernel_split(size_t kc, const float *a, const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                          int first, const float *bias)
{
    if (mr <= 4)
        ukernel_dp(4, kc, a, b, c, ldc, mr, nr, first, bias, 1);
    else if (mr <= 8)
        ukernel_dp(8, kc, a, b, c, ldc, mr, nr, first, bias, 1);
    else
        ukernel_dp(CK512_MR, kc, a, b, c, ldc, mr, nr, first, bias, 1);
}

static void ukernel_rounded(size_t kc, const float *a, const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                            int first, const float *bias)
{
    if (mr <= 4)
        ukernel_dp(4, kc, a, b, c, ldc, mr, nr, first, bias, 0);
    else if (mr <= 8)
        ukernel_dp(8, kc, a, b, c, ldc, mr, nr, first, bias, 0);
    else
        ukernel_dp(CK512_MR, kc, a, b, c, ldc, mr, nr, first, bias, 0);
}

const ck512_gemm_impl ck512_gemm_bf16_dp_split = {
    "bf16-dpbf16-split-14x32", 2, CK512_NR / 2, pack_x_group_split, pack_w_pairs, ukernel_split,
};

const ck512_gemm_impl ck512_gemm_bf16_dp_rounded = {
    "bf16-dpbf16-rounded-14x32", 2, CK512_NR / 2, pack_x_group_rounded, pack_w_pairs, ukernel_rounded,
};
