/* quant-avx512.h — helpers of the AVX-512 VNNI row kernels: two blocks per
 * 512-bit register (block b in the low half, b + 1 in the high half), the
 * sixteen (row, block) integer sums reduced with 512-bit shuffles. The f32
 * accumulation stays one lane per row, block b added before block b + 1,
 * exactly as the reference. */
#ifndef CK_QUANT_AVX512_H
#define CK_QUANT_AVX512_H

#include "quant-x86.h"

#define CK_QVNNI_TARGET_STR "avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define CK_QVNNI_TARGET __attribute__((target(CK_QVNNI_TARGET_STR), always_inline)) static inline

/* Per 128-bit chunk c, the sums of p[r] over the chunk's four lanes, for
 * rows 0-3 (*lo) and 4-7 (*hi): lane 4c + r%4 of the result. */
CK_QVNNI_TARGET void ck_qvnni_reduce_chunks(const __m512i p[CK_QROWS], __m512i *lo, __m512i *hi)
{
    __m512i u[4];
    for (int i = 0; i < 4; i++) {
        __m512i a = p[2 * i], b = p[2 * i + 1];
        u[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    }
    *lo = _mm512_add_epi32(_mm512_unpacklo_epi64(u[0], u[1]), _mm512_unpackhi_epi64(u[0], u[1]));
    *hi = _mm512_add_epi32(_mm512_unpacklo_epi64(u[2], u[3]), _mm512_unpackhi_epi64(u[2], u[3]));
}

/* Chunk sums -> [isum(block b, rows 0-7) | isum(block b + 1, rows 0-7)],
 * given which two chunks make block b: chunks {0, 1} (CK_QVNNI_B_IN_01) or
 * chunks {0, 2} (CK_QVNNI_B_IN_02). */
#define CK_QVNNI_B_IN_01 0
#define CK_QVNNI_B_IN_02 1
CK_QVNNI_TARGET __m512i ck_qvnni_block_sums(__m512i lo, __m512i hi, int layout)
{
    __m512i s;
    if (layout == CK_QVNNI_B_IN_01) /* [c0 c2 e0 e2] + [c1 c3 e1 e3] */
        s = _mm512_add_epi32(_mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
    else /* [c0 c1 e0 e1] + [c2 c3 e2 e3] */
        s = _mm512_add_epi32(_mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_i32x4(lo, hi, _MM_SHUFFLE(3, 2, 3, 2)));
    /* s = [b rows 0-3, b+1 rows 0-3, b rows 4-7, b+1 rows 4-7] */
    return _mm512_shuffle_i32x4(s, s, _MM_SHUFFLE(3, 1, 2, 0));
}

/* The sixteen f16 scales of blocks b and b + 1 of the eight rows, as f32,
 * in the lane order of ck_qvnni_block_sums. */
CK_QVNNI_TARGET __m512 ck_qvnni_row_scales(const unsigned char *rows[CK_QROWS], size_t b, size_t block_bytes)
{
    size_t off = b * block_bytes;
    __m256i d = _mm256_set_epi64x((long long)ck_qx86_scales4(rows + 4, off + block_bytes),
                                  (long long)ck_qx86_scales4(rows, off + block_bytes),
                                  (long long)ck_qx86_scales4(rows + 4, off), (long long)ck_qx86_scales4(rows, off));
    return _mm512_cvtph_ps(d);
}

/* Two ck_qacc_step rounds per lane: block b, then block b + 1. */
CK_QVNNI_TARGET __m256 ck_qvnni_acc_2steps(__m256 acc, __m512i isums, __m512 dw, uint16_t dx_b, uint16_t dx_b1)
{
    __m256i dx16 = _mm256_set_m128i(_mm_set1_epi16((short)dx_b1), _mm_set1_epi16((short)dx_b));
    __m512 scale = _mm512_mul_ps(dw, _mm512_cvtph_ps(dx16));
    __m512 term = _mm512_mul_ps(_mm512_cvtepi32_ps(isums), scale);
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(term));
    return _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(term), 1)));
}

/* ---- four blocks per step (AVX512-VBMI) -----------------------------------
 * Each row's codes of blocks b..b+3 come as two registers made by one
 * vpermt2b each: elements 0-15 of block c in 128-bit chunk c of the first,
 * elements 16-31 in chunk c of the second. Two vpdpbusd into one
 * accumulator then leave each block's partial sums in its own chunk, and
 * ck_qvnni_reduce_chunks alone finishes the 32 (row, block) sums, with no
 * block_sums step. The 32 f16 scales are dropped, row by row, into one
 * register in the lane order of the reduced sums: word 4c + r % 4 (+ 16 for
 * rows 4-7) is block c of row r. */
#define CK_QVBMI_TARGET_STR CK_QVNNI_TARGET_STR ",avx512vbmi"
#define CK_QVBMI_TARGET __attribute__((target(CK_QVBMI_TARGET_STR), always_inline)) static inline

/* With GFNI as well: one gf2p8affineqb takes each byte's high nibble
 * down, where a shift and a mask take two. */
#define CK_QGFNI_TARGET_STR CK_QVBMI_TARGET_STR ",gfni"
#define CK_QGFNI_TARGET __attribute__((target(CK_QGFNI_TARGET_STR), always_inline)) static inline

/* Bits 4-7 of each byte moved to bits 0-3, bits 4-7 cleared: row i of the
 * matrix (byte 7 - i) picks source bit i + 4 for result bit i. */
CK_QGFNI_TARGET __m512i ck_qgfni_high_nibbles(__m512i v)
{
    return _mm512_gf2p8affine_epi64_epi8(v, _mm512_set1_epi64(0x1020408000000000ll), 0);
}

/* The bytes of row r's scale words in that layout. */
CK_QVBMI_TARGET __mmask64 ck_qvbmi_scale_mask(int r)
{
    return (__mmask64)((0x03030303ull << (2 * (r % 4))) << (32 * (r / 4)));
}

/* Activations of blocks b..b+3: elements 0-15 of each block in *lo, 16-31
 * in *hi, block c in 128-bit chunk c. */
CK_QVBMI_TARGET void ck_qvbmi_four_x(const ck_block_q8_0 *xq, __m512i *lo, __m512i *hi)
{
    __m512i x01 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xq[0].qs)),
                                     _mm256_loadu_si256((const __m256i *)xq[1].qs), 1);
    __m512i x23 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xq[2].qs)),
                                     _mm256_loadu_si256((const __m256i *)xq[3].qs), 1);
    *lo = _mm512_shuffle_i32x4(x01, x23, _MM_SHUFFLE(2, 0, 2, 0));
    *hi = _mm512_shuffle_i32x4(x01, x23, _MM_SHUFFLE(3, 1, 3, 1));
}

/* -c * sum(x) per chunk, spread over the chunk's four lanes, for the four
 * blocks of lo / hi: the start that makes sum(u * x), u = w + c, the isum. */
CK_QVBMI_TARGET __m512i ck_qvbmi_start(__m512i c, __m512i lo, __m512i hi)
{
    return _mm512_sub_epi32(_mm512_setzero_si512(),
                            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), c, lo), c, hi));
}

/* dx of blocks b..b+3 as f32, block c's in the four lanes of chunk c. */
CK_QVBMI_TARGET __m512 ck_qvbmi_four_dx(const ck_block_q8_0 *xq)
{
    uint64_t d = (uint64_t)xq[0].d | (uint64_t)xq[1].d << 16 | (uint64_t)xq[2].d << 32 | (uint64_t)xq[3].d << 48;
    __m128 f = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)d));
    return _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(f));
}

/* Four ck_qacc_step rounds per row, blocks in order; tlo / thi hold the
 * terms of rows 0-3 / 4-7, block c in chunk c. */
CK_QVBMI_TARGET __m256 ck_qvbmi_acc_4steps(__m256 acc, __m512 tlo, __m512 thi)
{
    const __m512i i01 = _mm512_set_epi32(23, 22, 21, 20, 7, 6, 5, 4, 19, 18, 17, 16, 3, 2, 1, 0);
    const __m512i i23 = _mm512_set_epi32(31, 30, 29, 28, 15, 14, 13, 12, 27, 26, 25, 24, 11, 10, 9, 8);
    __m512 t01 = _mm512_permutex2var_ps(tlo, i01, thi), t23 = _mm512_permutex2var_ps(tlo, i23, thi);
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(t01));
    acc = _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t01), 1)));
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(t23));
    return _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t23), 1)));
}

/* The f32 steps of blocks b..b+3 for one activation row: p the eight rows'
 * sums (block c in chunk c), dws the scales in the layout above, xq the
 * activation row. */
CK_QVBMI_TARGET __m256 ck_qvbmi_finish4(__m256 acc, const __m512i p[CK_QROWS], __m512i dws, const ck_block_q8_0 *xq)
{
    __m512i lo, hi;
    ck_qvnni_reduce_chunks(p, &lo, &hi);
    __m512 dx = ck_qvbmi_four_dx(xq);
    __m512 dw_lo = _mm512_cvtph_ps(_mm512_castsi512_si256(dws));
    __m512 dw_hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(dws, 1));
    __m512 tlo = _mm512_mul_ps(_mm512_cvtepi32_ps(lo), _mm512_mul_ps(dw_lo, dx));
    __m512 thi = _mm512_mul_ps(_mm512_cvtepi32_ps(hi), _mm512_mul_ps(dw_hi, dx));
    return ck_qvbmi_acc_4steps(acc, tlo, thi);
}

/* After each four-block step, its share of the next tile into L1, in
 * address order (the rows are contiguous; the hardware prefetchers serve a
 * tile's eight short rows side by side poorly): as many bytes as the step
 * read, 8 rows x 72 for q4_0, as whole lines in an unrolled run, so a row
 * of nb % 4 != 0 blocks leaves the last few lines of the next tile to the
 * hardware. A loop over a run-time byte count cost a fifth of the hot q4_0
 * kernel's instructions (256 x 4096 from L2, one thread: 58 against 53
 * GB/s). At the end of the step rather than its start, where the run went
 * ahead of the step's own loads and read DRAM 2-4% slower. A prefetch never
 * faults, so past the last row it is harmless. It carries the kernels'
 * target: as a plain static inline, gcc 12 left none of its prefetches in
 * the kernel. */
/* One line of the next tile into L1, or into L2 where
 * ck_quant_prefetch_l2 says so (Zen 4, quant.h). */
#define CK_QVNNI_PREFETCH(p)                                                                                           \
    do {                                                                                                               \
        if (ck_quant_prefetch_l2)                                                                                      \
            _mm_prefetch((p), _MM_HINT_T1);                                                                            \
        else                                                                                                           \
            _mm_prefetch((p), _MM_HINT_T0);                                                                            \
    } while (0)
#define CK_QVNNI_PF_LINES(bytes) ((CK_QROWS * (bytes) + 63) / 64)
CK_QVNNI_TARGET void ck_qvnni_prefetch_next_tile(const unsigned char *row0, size_t row_bytes, size_t step,
                                                 const size_t lines)
{
    const char *ahead = (const char *)row0 + CK_QROWS * row_bytes + step * lines * 64;
    for (size_t l = 0; l < lines; l++)
        CK_QVNNI_PREFETCH(ahead + 64 * l);
}

/* Bytes of the next tile to prefetch per step of `blocks` blocks, so that
 * the nb / blocks steps of this tile cover it, whole lines (0 where the row
 * has no whole step). */
static inline size_t ck_qvnni_prefetch_per_step(size_t row_bytes, size_t nb, size_t blocks)
{
    size_t steps = nb / blocks;
    if (steps == 0)
        return 0;
    return ((CK_QROWS * row_bytes + steps - 1) / steps + 63) & ~(size_t)63;
}

/* ---- prefill (gemm) -------------------------------------------------------
 * The tile is packed by ck_qx86_pack_tile_* (quant-x86.h) with the codes made
 * unsigned, u = w + c (q8_0: w ^ 0x80, c = 128; q4_0: the nibble itself,
 * c = 8). For activation row t, eight vpdpbusd steps with x's four bytes of
 * step j broadcast to every lane leave sum(u * x) for row r in lane r;
 * starting the sum at -c * sum(x) makes it the exact isum. No horizontal
 * reduction, one register per activation row, and the activation bytes come
 * as embedded broadcasts. */

/* The prefill kernel of both dtypes (quant-gemm-avx512vnni.c): n_rows
 * (1..CK_QVNNI_GEMM_ROWS) weight rows against the activation groups xg
 * (quant-ref.h) of T rows, out[t * CK_QVNNI_GEMM_ROWS + r], padding rows
 * included; work holds 2 * CK_QGEMM_PACKED_BLOCK bytes per block. */
void ck_qvnni_gemm(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb, size_t T,
                   void *work, float *out, uint32_t dtype);

#endif /* CK_QUANT_AVX512_H */
