/* quant-x86.h — helpers shared by the x86 row kernels of the quant plugin.
 * Everything here runs on AVX2 + F16C; the AVX-512 VNNI kernels call these
 * from functions whose target is a superset. */
#ifndef CK_QUANT_X86_H
#define CK_QUANT_X86_H

#include <immintrin.h>
#include <string.h>

#include "quant.h"

#define CK_QX86_TARGET __attribute__((target("avx2,f16c"), always_inline)) static inline

/* Pointers to the CK_QROWS rows of a tile; rows past n_rows repeat the last
 * valid row, so the kernel reads only memory it was given and the extra
 * lanes are simply not stored. */
static inline void ck_qx86_row_ptrs(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *rows[CK_QROWS])
{
    for (size_t r = 0; r < CK_QROWS; r++)
        rows[r] = (const unsigned char *)w + (r < n_rows ? r : n_rows - 1) * row_bytes;
}

/* Eight vectors of 8 int32 partial sums -> one vector of their 8 totals
 * (lane r = total of p[r]). Integer adds: exact in any order. */
CK_QX86_TARGET __m256i ck_qx86_reduce8(const __m256i p[CK_QROWS])
{
    __m256i s01 = _mm256_hadd_epi32(p[0], p[1]);
    __m256i s23 = _mm256_hadd_epi32(p[2], p[3]);
    __m256i s45 = _mm256_hadd_epi32(p[4], p[5]);
    __m256i s67 = _mm256_hadd_epi32(p[6], p[7]);
    __m256i t0 = _mm256_hadd_epi32(s01, s23); /* rows 0-3: lanes 0-3 | 4-7 halves */
    __m256i t1 = _mm256_hadd_epi32(s45, s67); /* rows 4-7 */
    __m256i lo = _mm256_permute2x128_si256(t0, t1, 0x20);
    __m256i hi = _mm256_permute2x128_si256(t0, t1, 0x31);
    return _mm256_add_epi32(lo, hi);
}

/* A block's f16 scale, unaligned. */
static inline uint64_t ck_qx86_scale_bits(const unsigned char *block)
{
    uint16_t d;
    memcpy(&d, block, sizeof d);
    return d;
}

/* Four rows' scales of block b packed into 64 bits (row r in bits 16r..),
 * built with scalar loads and shifts: cheaper than eight vector inserts,
 * and a gather measured slower still. */
static inline uint64_t ck_qx86_scales4(const unsigned char *const rows[4], size_t offset)
{
    return ck_qx86_scale_bits(rows[0] + offset) | ck_qx86_scale_bits(rows[1] + offset) << 16 |
           ck_qx86_scale_bits(rows[2] + offset) << 32 | ck_qx86_scale_bits(rows[3] + offset) << 48;
}

/* The f16 scales of block b of each row (blocks of block_bytes), as f32. */
CK_QX86_TARGET __m256 ck_qx86_row_scales(const unsigned char *rows[CK_QROWS], size_t b, size_t block_bytes)
{
    size_t off = b * block_bytes;
    __m128i d = _mm_set_epi64x((long long)ck_qx86_scales4(rows + 4, off), (long long)ck_qx86_scales4(rows, off));
    return _mm256_cvtph_ps(d);
}

/* ck_qacc_step on eight lanes: acc + (float)isum * (d_w * d_x), each
 * operation rounded separately, as the reference does. */
CK_QX86_TARGET __m256 ck_qx86_acc_step(__m256 acc, __m256i isum, __m256 dw, uint16_t dx)
{
    __m256 scale = _mm256_mul_ps(dw, _mm256_cvtph_ps(_mm_set1_epi16((short)dx)));
    __m256 term = _mm256_mul_ps(_mm256_cvtepi32_ps(isum), scale);
    return _mm256_add_ps(acc, term);
}

/* The same step with the activation's scale already in f32 (exactly the
 * f16's value, as in the driver's records). */
CK_QX86_TARGET __m256 ck_qx86_acc_step_f32(__m256 acc, __m256i isum, __m256 dw, float dx)
{
    __m256 term = _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, _mm256_set1_ps(dx)));
    return _mm256_add_ps(acc, term);
}

/* Row i's code sum and f32 scale in an activation record (quant-ref.h). */
static inline int32_t ck_qx86_rec_sum(const unsigned char *rec, int i)
{
    int32_t v;
    memcpy(&v, rec + 256 + 4 * i, sizeof v);
    return v;
}

static inline float ck_qx86_rec_scale(const unsigned char *rec, int i)
{
    float v;
    memcpy(&v, rec + 288 + 4 * i, sizeof v);
    return v;
}

CK_QX86_TARGET void ck_qx86_store_rows(__m256 acc, size_t n_rows, float *out)
{
    float tmp[CK_QROWS];
    _mm256_storeu_ps(tmp, acc);
    memcpy(out, tmp, n_rows * sizeof tmp[0]);
}

/* 32 Q4_0 codes (0..15) of a block in element order: low nibbles (elements
 * 0-15) in the low 128 bits, high nibbles (16-31) in the high 128 bits. */
CK_QX86_TARGET __m256i ck_qx86_q4_0_codes(const ck_block_q4_0 *blk)
{
    __m128i raw = _mm_loadu_si128((const __m128i *)blk->qs);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* ---- prefill (gemm) layout --------------------------------------------------
 * CK_QGEMM_ROWS (16) weight rows are repacked once, block by block, into
 * CK_QGEMM_PACKED_BLOCK (576) bytes per block:
 *   bytes   0..511  step j = 0..7 at 64 j: row r's codes 4j..4j+3 at 4 r
 *                   (rows 0-7 in the first 32 bytes, 8-15 in the next 32);
 *   bytes 512..575  f32 per row: the block's scale.
 * So one 32-byte load is four codes of eight rows, one row per int32 lane,
 * and one 64-byte load the same for all sixteen rows; a broadcast of the
 * activation's four codes of step j meets every row at once, and each lane
 * ends the block holding its own row's isum, with no horizontal reduction.
 * How the codes are stored (signed, or made unsigned) is the kernel's
 * choice: `flip` is XORed into every Q8_0 code (0x80 makes w + 128). */

/* Row pointers of a gemm tile; rows past n_rows repeat the last one. The
 * packing runs once per tile and call, so it is vector code: scalar byte
 * shuffling took about a tenth of the AVX-512 VNNI kernel's time. */
static inline void ck_qx86_gemm_rows(const void *w, size_t row_bytes, size_t n_rows,
                                     const unsigned char *rows[CK_QGEMM_ROWS])
{
    for (size_t r = 0; r < CK_QGEMM_ROWS; r++)
        rows[r] = (const unsigned char *)w + (r < n_rows ? r : n_rows - 1) * row_bytes;
}

/* Rows r0..r0+7's 32 codes each (c[r], element order) into the tile's
 * steps: dword j of row r to dst + 64 j + 4 (r - r0) + 32 h, an 8 x 8
 * transpose of dwords in registers. */
CK_QX86_TARGET void ck_qx86_pack_half(const __m256i c[8], int h, unsigned char *dst)
{
    __m256i t[8], u[8];
    for (int p = 0; p < 4; p++) {
        t[2 * p] = _mm256_unpacklo_epi32(c[2 * p], c[2 * p + 1]);     /* dwords 0 1 | 4 5 of the pair */
        t[2 * p + 1] = _mm256_unpackhi_epi32(c[2 * p], c[2 * p + 1]); /* 2 3 | 6 7 */
    }
    for (int q = 0; q < 2; q++) { /* rows 4q..4q+3: u[4q + k] holds dword k | k + 4 */
        u[4 * q] = _mm256_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
        u[4 * q + 1] = _mm256_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
        u[4 * q + 2] = _mm256_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
        u[4 * q + 3] = _mm256_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
    }
    for (int k = 0; k < 4; k++) {
        _mm256_store_si256((__m256i *)(void *)(dst + 64 * k + 32 * h), _mm256_permute2x128_si256(u[k], u[4 + k], 0x20));
        _mm256_store_si256((__m256i *)(void *)(dst + 64 * (k + 4) + 32 * h),
                           _mm256_permute2x128_si256(u[k], u[4 + k], 0x31));
    }
}

/* Block b of a tile (rows of block_bytes blocks) into dst: the codes of
 * each half (codes[r], made by the caller) and the sixteen f16 scales as
 * f32. */
CK_QX86_TARGET void ck_qx86_pack_block(const __m256i codes[CK_QGEMM_ROWS], const unsigned char *rows[], size_t b,
                                       size_t block_bytes, unsigned char *dst)
{
    ck_qx86_pack_half(codes, 0, dst);
    ck_qx86_pack_half(codes + 8, 1, dst);
    _mm256_store_ps((float *)(void *)(dst + 512), ck_qx86_row_scales(rows, b, block_bytes));
    _mm256_store_ps((float *)(void *)(dst + 544), ck_qx86_row_scales(rows + 8, b, block_bytes));
}

/* The nb blocks of a Q8_0 tile, each code XORed with flip. */
CK_QX86_TARGET void ck_qx86_pack_tile_q8_0(const void *w, size_t row_bytes, size_t n_rows, size_t nb, uint8_t flip,
                                           unsigned char *packed)
{
    const unsigned char *rows[CK_QGEMM_ROWS];
    ck_qx86_gemm_rows(w, row_bytes, n_rows, rows);
    const __m256i f = _mm256_set1_epi8((char)flip);
    for (size_t b = 0; b < nb; b++) {
        __m256i codes[CK_QGEMM_ROWS];
        for (int r = 0; r < CK_QGEMM_ROWS; r++) {
            const ck_block_q8_0 *blk = (const ck_block_q8_0 *)(const void *)rows[r] + b;
            codes[r] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)blk->qs), f);
        }
        ck_qx86_pack_block(codes, rows, b, sizeof(ck_block_q8_0), packed + b * CK_QGEMM_PACKED_BLOCK);
    }
}

/* The nb blocks of a Q4_0 tile as unsigned codes 0..15 (nibbles, element
 * order). */
CK_QX86_TARGET void ck_qx86_pack_tile_q4_0(const void *w, size_t row_bytes, size_t n_rows, size_t nb,
                                           unsigned char *packed)
{
    const unsigned char *rows[CK_QGEMM_ROWS];
    ck_qx86_gemm_rows(w, row_bytes, n_rows, rows);
    for (size_t b = 0; b < nb; b++) {
        __m256i codes[CK_QGEMM_ROWS];
        for (int r = 0; r < CK_QGEMM_ROWS; r++)
            codes[r] = ck_qx86_q4_0_codes((const ck_block_q4_0 *)(const void *)rows[r] + b);
        ck_qx86_pack_block(codes, rows, b, sizeof(ck_block_q4_0), packed + b * CK_QGEMM_PACKED_BLOCK);
    }
}

#endif /* CK_QUANT_X86_H */
