/* Q8_0 row kernel, AVX-512 VNNI. vpdpbusd wants unsigned x signed bytes, so
 * w is biased to w + 128 (w ^ 0x80) and the bias is taken back out by
 * starting each row's accumulator at -128 * sum(x), computed once per block.
 * Where the CPU has AVX512-VBMI, four blocks per step in the layout of
 * quant-avx512.h (two vpermt2b per row, one reduction per 32 sums);
 * otherwise, and for the last blocks, two blocks per 512-bit register. Each
 * biased weight register serves up to CK_QXROWS activation rows; an odd
 * last block goes through the 256-bit step. All integer, so every isum is
 * the reference's exactly, and the f32 accumulation is the reference's,
 * lane by lane. */
#if defined(__x86_64__)
#include "quant-avx512.h"

_Static_assert(CK_QXROWS == 2, "the kernel below is written for one or two activation rows");

/* Block b alone (256-bit), one activation row. */
CK_QVNNI_TARGET __m256 q8_0_one_block(__m256 acc, const unsigned char *rows[CK_QROWS], const ck_block_q8_0 *xq,
                                      size_t b)
{
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
    const __m256i start =
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, x));
    __m256i p[CK_QROWS];
    for (int r = 0; r < CK_QROWS; r++) {
        const ck_block_q8_0 *blk = (const ck_block_q8_0 *)rows[r] + b;
        __m256i wv = _mm256_loadu_si256((const __m256i *)blk->qs);
        p[r] = _mm256_dpbusd_epi32(start, _mm256_xor_si256(wv, bias), x);
    }
    __m256 dw = ck_qx86_row_scales(rows, b, sizeof(ck_block_q8_0));
    return ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
}

/* The 32 codes of blocks b (low half) and b + 1 (high half). */
CK_QVNNI_TARGET __m512i q8_0_two_blocks(const ck_block_q8_0 *blk)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)blk[0].qs);
    __m256i hi = _mm256_loadu_si256((const __m256i *)blk[1].qs);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* Blocks [b, nb) of nx (1 or 2, a constant once inlined) activation rows
 * into acc. */
CK_QVNNI_TARGET void q8_0_pairs_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, const ck_block_q8_0 *xq,
                                   size_t nb, size_t b, const size_t nx, __m256 acc[CK_QXROWS])
{
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    const size_t per = ck_qvnni_prefetch_per_step(row_bytes, nb, 2);
    for (; b + 2 <= nb; b += 2) {
        __m512i x[CK_QXROWS], start[CK_QXROWS], p[CK_QXROWS][CK_QROWS];
        for (size_t i = 0; i < nx; i++) {
            x[i] = q8_0_two_blocks(&xq[i * nb + b]);
            start[i] =
                _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, x[i]));
        }
        /* The next tile, in address order, spread over this tile's steps
         * (its rows are contiguous): the hardware prefetcher serves the
         * tile's eight rows side by side poorly, and a prefetch of each
         * row's own next bytes keeps the same order. Decode of a 4096 x
         * 4096 q8_0 weight from DRAM, one thread: 0.58 ms against 0.65
         * with each row's blocks prefetched two tiles ahead into L2. A
         * prefetch never faults, so past the last row it is harmless. */
        const char *ahead = (const char *)rows[0] + CK_QROWS * row_bytes + (b / 2) * per;
        for (size_t o = 0; o < per; o += 64)
            CK_QVNNI_PREFETCH(ahead + o);
        for (int r = 0; r < CK_QROWS; r++) {
            __m512i wv = _mm512_xor_si512(q8_0_two_blocks((const ck_block_q8_0 *)rows[r] + b), bias);
            for (size_t i = 0; i < nx; i++)
                p[i][r] = _mm512_dpbusd_epi32(start[i], wv, x[i]);
        }
        __m512 dw = ck_qvnni_row_scales(rows, b, sizeof(ck_block_q8_0));
        for (size_t i = 0; i < nx; i++) {
            __m512i lo, hi;
            ck_qvnni_reduce_chunks(p[i], &lo, &hi);
            acc[i] = ck_qvnni_acc_2steps(acc[i], ck_qvnni_block_sums(lo, hi, CK_QVNNI_B_IN_01), dw, xq[i * nb + b].d,
                                         xq[i * nb + b + 1].d);
        }
    }
    for (; b < nb; b++)
        for (size_t i = 0; i < nx; i++)
            acc[i] = q8_0_one_block(acc[i], rows, xq + i * nb, b);
}

CK_QVNNI_TARGET void q8_0_rows_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                                  const ck_block_q8_0 *xq, size_t nb, const size_t nx, float *out)
{
    __m256 acc[CK_QXROWS] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    q8_0_pairs_nx(rows, row_bytes, xq, nb, 0, nx, acc);
    for (size_t i = 0; i < nx; i++)
        ck_qx86_store_rows(acc[i], n_rows, out + i * CK_QROWS);
}

/* ---- four blocks per step (AVX512-VBMI, layout in quant-avx512.h) -------- */

/* Of the 136 bytes from block b, elements 0-15 of block c are bytes
 * 34c + 2 .. 34c + 17 (loads at 0 and 64), elements 16-31 bytes 34c + 18 ..
 * 34c + 33 (loads at 8 and 72: index = byte - 8), and the scale bytes 34c,
 * 34c + 1 (loads at 0 and 64). */
static const unsigned char q8_lo_idx[64] = {
    2,  3,  4,  5,  6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  17,  36,  37,  38,  39,  40, 41,
    42, 43, 44, 45, 46,  47,  48,  49,  50,  51,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80, 81,
    82, 83, 84, 85, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119,
};
static const unsigned char q8_hi_idx[64] = {
    10, 11, 12, 13, 14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  44,  45,  46,  47,  48, 49,
    50, 51, 52, 53, 54,  55,  56,  57,  58,  59,  78,  79,  80,  81,  82,  83,  84,  85,  86,  87,  88, 89,
    90, 91, 92, 93, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
};
/* Scale word w (block c = (w % 16) / 4); each row writes only its own. */
static const unsigned char q8_scale_idx[64] = {
    0,  1,  0,   1,   0,   1,   0,   1,   34,  35,  34, 35, 34,  35,  34,  35,  68,  69,  68,  69,  68, 69,
    68, 69, 102, 103, 102, 103, 102, 103, 102, 103, 0,  1,  0,   1,   0,   1,   0,   1,   34,  35,  34, 35,
    34, 35, 34,  35,  68,  69,  68,  69,  68,  69,  68, 69, 102, 103, 102, 103, 102, 103, 102, 103,
};

/* Row r's codes of blocks b..b+3 (blk), biased to u = w + 128, as the two
 * registers of the layout, and its scales in the words of every row (the
 * caller keeps its own). With `aligned` (blk 8 bytes past a 64-byte line
 * times sh, the tile's rows on line boundaries), the 136 bytes come as the
 * three whole lines that hold them, put back in place by one vpermt2q per
 * 64 bytes: a load that spans two lines costs the load unit twice, and
 * from DRAM the three loads ran the q8_0 decode at 29 GB/s against 26 with
 * the four spanning ones (4096 x 4096, one thread, 32 GB/s plain read). */
CK_QVBMI_TARGET void q8_0_group(const unsigned char *blk, int aligned, __m512i sh, __m512i *lo, __m512i *hi,
                                __m512i *scales)
{
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    const __m512i idx_lo = _mm512_loadu_si512(q8_lo_idx), idx_hi = _mm512_loadu_si512(q8_hi_idx);
    const __m512i idx_d = _mm512_loadu_si512(q8_scale_idx);
    if (aligned) {
        const unsigned char *line = (const unsigned char *)((uintptr_t)blk & ~(uintptr_t)63);
        __m512i l0 = _mm512_load_si512(line), l1 = _mm512_load_si512(line + 64);
        __m512i l2 = _mm512_load_si512(line + 128);
        __m512i q = _mm512_add_epi64(sh, _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
        __m512i w0 = _mm512_permutex2var_epi64(l0, q, l1), w64 = _mm512_permutex2var_epi64(l1, q, l2);
        /* bytes 18..127 from w0 | w64 (index = byte), 128..135 are the
         * last quadword: quadword sh of l2 */
        __m512i h = _mm512_permutex2var_epi8(w0, _mm512_add_epi8(idx_hi, _mm512_set1_epi8(8)), w64);
        h = _mm512_mask_permutexvar_epi64(h, 0x80, sh, l2);
        *lo = _mm512_xor_si512(_mm512_permutex2var_epi8(w0, idx_lo, w64), bias);
        *hi = _mm512_xor_si512(h, bias);
        *scales = _mm512_permutex2var_epi8(w0, idx_d, w64);
        return;
    }
    __m512i a0 = _mm512_loadu_si512(blk), a64 = _mm512_loadu_si512(blk + 64);
    __m512i a8 = _mm512_loadu_si512(blk + 8), a72 = _mm512_loadu_si512(blk + 72);
    *lo = _mm512_xor_si512(_mm512_permutex2var_epi8(a0, idx_lo, a64), bias);
    *hi = _mm512_xor_si512(_mm512_permutex2var_epi8(a8, idx_hi, a72), bias);
    *scales = _mm512_permutex2var_epi8(a0, idx_d, a64);
}

/* Blocks [0, nb - nb % 4) of nx (1 or 2, a constant once inlined)
 * activation rows into acc; `aligned` (a constant once inlined): every row
 * starts on a 64-byte line. */
CK_QVBMI_TARGET void q8_0_steps4_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, const ck_block_q8_0 *xq,
                                    size_t nb, const size_t nx, const int aligned, __m256 acc[CK_QXROWS])
{
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    const size_t per = ck_qvnni_prefetch_per_step(row_bytes, nb, 4);
    for (size_t b = 0; b + 4 <= nb; b += 4) {
        __m512i xlo[CK_QXROWS], xhi[CK_QXROWS], start[CK_QXROWS], p[CK_QXROWS][CK_QROWS];
        for (size_t i = 0; i < nx; i++) {
            ck_qvbmi_four_x(&xq[i * nb + b], &xlo[i], &xhi[i]);
            start[i] = ck_qvbmi_start(bias, xlo[i], xhi[i]);
        }
        /* The next tile in address order, as in the two-block step. */
        const char *ahead = (const char *)rows[0] + CK_QROWS * row_bytes + (b / 4) * per;
        for (size_t o = 0; o < per; o += 64)
            CK_QVNNI_PREFETCH(ahead + o);
        /* 4 blocks are 136 bytes: 8 past the previous group's line offset */
        const __m512i sh = _mm512_set1_epi64((long long)((b / 4) % 8));
        __m512i dws = _mm512_setzero_si512();
        for (int r = 0; r < CK_QROWS; r++) {
            __m512i lo, hi, sc;
            q8_0_group(rows[r] + b * sizeof(ck_block_q8_0), aligned, sh, &lo, &hi, &sc);
            dws = _mm512_mask_blend_epi8(ck_qvbmi_scale_mask(r), dws, sc);
            for (size_t i = 0; i < nx; i++)
                p[i][r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(start[i], lo, xlo[i]), hi, xhi[i]);
        }
        for (size_t i = 0; i < nx; i++)
            acc[i] = ck_qvbmi_finish4(acc[i], p[i], dws, &xq[i * nb + b]);
    }
}

CK_QVBMI_TARGET void q8_0_rows4_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                                   const ck_block_q8_0 *xq, size_t nb, const size_t nx, const int aligned, float *out)
{
    __m256 acc[CK_QXROWS] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    q8_0_steps4_nx(rows, row_bytes, xq, nb, nx, aligned, acc);
    q8_0_pairs_nx(rows, row_bytes, xq, nb, nb - nb % 4, nx, acc);
    for (size_t i = 0; i < nx; i++)
        ck_qx86_store_rows(acc[i], n_rows, out + i * CK_QROWS);
}

__attribute__((target(CK_QVBMI_TARGET_STR), noinline)) static void q8_0_rows_vbmi(const unsigned char *rows[CK_QROWS],
                                                                                  size_t row_bytes, size_t n_rows,
                                                                                  const ck_block_q8_0 *xq, size_t nb,
                                                                                  size_t n_x, float *out)
{
    int aligned = ((uintptr_t)rows[0] | row_bytes) % 64 == 0;
    if (n_x == 2)
        q8_0_rows4_nx(rows, row_bytes, n_rows, xq, nb, 2, 0, out);
    else if (aligned)
        q8_0_rows4_nx(rows, row_bytes, n_rows, xq, nb, 1, 1, out);
    else
        q8_0_rows4_nx(rows, row_bytes, n_rows, xq, nb, 1, 0, out);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q8_0_rows_avx512vnni(const void *w, size_t row_bytes,
                                                                                size_t n_rows, const ck_block_q8_0 *xq,
                                                                                size_t nb, size_t n_x, float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    if (nb >= 4 && __builtin_cpu_supports("avx512vbmi"))
        q8_0_rows_vbmi(rows, row_bytes, n_rows, xq, nb, n_x, out);
    else if (n_x == 2)
        q8_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 2, out);
    else
        q8_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 1, out);
}
#endif
