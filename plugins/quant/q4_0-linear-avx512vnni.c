/* Q4_0 row kernel, AVX-512 VNNI: vpdpbusd of the unsigned codes (0..15)
 * with x, each row's accumulator starting at -8 * sum(x), so the result is
 * sum((q - 8) * x), the reference's isum exactly. Where the CPU has
 * AVX512-VBMI and GFNI, four blocks per 512-bit register (the high nibbles
 * by one gf2p8affineqb): per row, one vpermt2b
 * gathers the four blocks' codes from two loads of the row (rows on 64-byte
 * lines: from the two lines that hold them) and one masked vpermb (there:
 * a vpermt2b and a blend) its scales into the register of all eight rows',
 * so neither takes scalar loads or inserts (hot 4096 x 4096, one thread:
 * 50 GB/s against 38 with the two-block step). Otherwise, and for the last
 * pair, two blocks per register: codes as [low nibbles b, b+1 | high
 * nibbles b, b+1], x permuted to match. Each decoded weight register serves
 * up to CK_QXROWS activation rows; an odd last block takes the 256-bit
 * step. */
#if defined(__x86_64__)
#include "quant-avx512.h"

_Static_assert(CK_QXROWS == 2, "the kernel below is written for one or two activation rows");

/* Block b alone (256-bit), one activation row. */
CK_QVNNI_TARGET __m256 q4_0_one_block(__m256 acc, const unsigned char *rows[CK_QROWS], const ck_block_q8_0 *xq,
                                      size_t b)
{
    const __m256i x = _mm256_loadu_si256((const __m256i *)xq[b].qs);
    const __m256i start =
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), x));
    __m256i p[CK_QROWS];
    for (int r = 0; r < CK_QROWS; r++)
        p[r] = _mm256_dpbusd_epi32(start, ck_qx86_q4_0_codes((const ck_block_q4_0 *)rows[r] + b), x);
    __m256 dw = ck_qx86_row_scales(rows, b, sizeof(ck_block_q4_0));
    return ck_qx86_acc_step(acc, ck_qx86_reduce8(p), dw, xq[b].d);
}

/* Codes of blocks b and b + 1: 128-bit chunks [lo b, lo b+1, hi b, hi b+1]. */
CK_QVNNI_TARGET __m512i q4_0_two_blocks(const ck_block_q4_0 *blk)
{
    __m256i raw = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)blk[0].qs)),
                                          _mm_loadu_si128((const __m128i *)blk[1].qs), 1);
    __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(raw), _mm256_srli_epi16(raw, 4), 1);
    return _mm512_and_si512(both, _mm512_set1_epi8(0x0f));
}

/* Activations of blocks b and b + 1 in the codes' chunk order. */
CK_QVNNI_TARGET __m512i q4_0_two_x(const ck_block_q8_0 *xq)
{
    __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xq[0].qs)),
                                   _mm256_loadu_si256((const __m256i *)xq[1].qs), 1);
    return _mm512_shuffle_i32x4(x, x, _MM_SHUFFLE(3, 1, 2, 0));
}

/* ---- four blocks per register (AVX512-VBMI, layout in quant-avx512.h) ---- */

/* Byte 16c + j of a row's codes of blocks b..b+3 is byte 18c + 2 + j of
 * the 72 bytes from block b: below 64 from the load at 0, else byte
 * s - 8 of the load at 8 (index 64 + s - 8). */
static const unsigned char q4_codes_idx[64] = {
    2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,  15,  16,  17,  20,  21,  22,  23,  24, 25,
    26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 38, 39, 40,  41,  42,  43,  44,  45,  46,  47,  48, 49,
    50, 51, 52, 53, 56, 57, 58, 59, 60, 61, 62, 63, 120, 121, 122, 123, 124, 125, 126, 127,
};
/* Scale word w (block c = (w % 16) / 4) is bytes 18c, 18c + 1 of the load
 * at 0; each row writes only its own words. */
static const unsigned char q4_scale_idx[64] = {
    0,  1,  0,  1,  0,  1,  0,  1,  18, 19, 18, 19, 18, 19, 18, 19, 36, 37, 36, 37, 36, 37,
    36, 37, 54, 55, 54, 55, 54, 55, 54, 55, 0,  1,  0,  1,  0,  1,  0,  1,  18, 19, 18, 19,
    18, 19, 18, 19, 36, 37, 36, 37, 36, 37, 36, 37, 54, 55, 54, 55, 54, 55, 54, 55,
};

/* Byte 16c + j of the codes is byte 18c + 2 + j of the 72 bytes, counted
 * from the line they start in when the rows start on 64-byte lines: the
 * 72 bytes of blocks b..b+3 then start 8 * ((b / 4) % 8) bytes into a line
 * and end within the next, so two whole-line loads and one vpermt2b with
 * that offset added give the codes (and the scales), where the two loads at
 * 0 and 8 would each span two lines (see q8_0_group for why that counts). */
static const unsigned char q4_codes_off[64] = {
    2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    50, 51, 52, 53, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,
};

/* How a tile's rows sit against 64-byte lines, for the whole-line loads. */
enum { Q4_OFF_LINE = 0, Q4_ON_LINES = 1, Q4_ON_8 = 2 };

/* Blocks [0, nb - nb % 4) of nx (1 or 2, a constant once inlined)
 * activation rows into acc; `aligned` (a constant once inlined): Q4_ON_LINES,
 * every row starts on a 64-byte line; Q4_ON_8, every row starts on 8 bytes
 * (K a multiple of 128, as LLaMA-7B's 11008: rows of 6192 bytes), so the
 * 72 bytes of a step start at most 56 bytes into a line and still lie in
 * two, at an offset of each row's own; Q4_OFF_LINE, neither. */
CK_QGFNI_TARGET void q4_0_steps4_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, const ck_block_q8_0 *xq,
                                    size_t nb, const size_t nx, const int aligned, __m256 acc[CK_QXROWS])
{
    const __m512i eights = _mm512_set1_epi8(8), nib = _mm512_set1_epi8(0x0f);
    const __m512i idx_qs = _mm512_loadu_si512(q4_codes_idx), idx_d = _mm512_loadu_si512(q4_scale_idx);
    const __m512i off_qs = _mm512_loadu_si512(q4_codes_off);
    /* Each step ends with its share of the next tile, in address order
     * (ck_qvnni_prefetch_next_tile; decode of a 4096 x 4096 q4_0 weight
     * from DRAM, one thread: 43 GB/s, against 36 with each row's blocks
     * prefetched two tiles ahead into L2). */
    for (size_t b = 0; b + 4 <= nb; b += 4) {
        __m512i xlo[CK_QXROWS], xhi[CK_QXROWS], start[CK_QXROWS], p[CK_QXROWS][CK_QROWS];
        for (size_t i = 0; i < nx; i++) {
            ck_qvbmi_four_x(&xq[i * nb + b], &xlo[i], &xhi[i]);
            start[i] = ck_qvbmi_start(eights, xlo[i], xhi[i]);
        }
        const __m512i line_off = _mm512_set1_epi8((char)(8 * ((b / 4) % 8)));
        const __m512i al_qs = _mm512_add_epi8(off_qs, line_off), al_d = _mm512_add_epi8(idx_d, line_off);
        __m512i dws = _mm512_setzero_si512();
        for (int r = 0; r < CK_QROWS; r++) {
            const unsigned char *blk = rows[r] + b * sizeof(ck_block_q4_0);
            __m512i v;
            if (aligned == Q4_ON_8) {
                const unsigned char *line = (const unsigned char *)((uintptr_t)blk & ~(uintptr_t)63);
                const __m512i here = _mm512_set1_epi8((char)((uintptr_t)blk & 63));
                __m512i l0 = _mm512_load_si512(line), l1 = _mm512_load_si512(line + 64);
                v = _mm512_permutex2var_epi8(l0, _mm512_add_epi8(off_qs, here), l1);
                dws = _mm512_mask_blend_epi8(ck_qvbmi_scale_mask(r), dws,
                                             _mm512_permutex2var_epi8(l0, _mm512_add_epi8(idx_d, here), l1));
            } else if (aligned == Q4_ON_LINES) {
                const unsigned char *line = (const unsigned char *)((uintptr_t)blk & ~(uintptr_t)63);
                __m512i l0 = _mm512_load_si512(line), l1 = _mm512_load_si512(line + 64);
                v = _mm512_permutex2var_epi8(l0, al_qs, l1);
                dws = _mm512_mask_blend_epi8(ck_qvbmi_scale_mask(r), dws, _mm512_permutex2var_epi8(l0, al_d, l1));
            } else {
                __m512i a = _mm512_loadu_si512(blk), a8 = _mm512_loadu_si512(blk + 8);
                v = _mm512_permutex2var_epi8(a, idx_qs, a8);
                dws = _mm512_mask_permutexvar_epi8(dws, ck_qvbmi_scale_mask(r), idx_d, a);
            }
            __m512i lo = _mm512_and_si512(v, nib), hi = ck_qgfni_high_nibbles(v);
            for (size_t i = 0; i < nx; i++)
                p[i][r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(start[i], lo, xlo[i]), hi, xhi[i]);
        }
        for (size_t i = 0; i < nx; i++)
            acc[i] = ck_qvbmi_finish4(acc[i], p[i], dws, &xq[i * nb + b]);
        ck_qvnni_prefetch_next_tile(rows[0], row_bytes, b / 4, CK_QVNNI_PF_LINES(4 * sizeof(ck_block_q4_0)));
    }
}

/* ---- two blocks per register ---------------------------------------------- */

/* Blocks [b, nb) of nx (1 or 2, a constant once inlined) activation rows
 * into acc. */
CK_QVNNI_TARGET void q4_0_pairs_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, const ck_block_q8_0 *xq,
                                   size_t nb, size_t b, const size_t nx, __m256 acc[CK_QXROWS])
{
    const __m512i eights = _mm512_set1_epi8(8);
    for (; b + 2 <= nb; b += 2) {
        __m512i x[CK_QXROWS], start[CK_QXROWS], p[CK_QXROWS][CK_QROWS];
        for (size_t i = 0; i < nx; i++) {
            x[i] = q4_0_two_x(&xq[i * nb + b]);
            start[i] =
                _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), eights, x[i]));
        }
        /* The same blocks two tiles ahead, into L2: a tile is eight short
         * streams the hardware prefetcher learns too late, and L2 keeps
         * more misses in flight than L1 (decode of a 4096 x 4096 q4_0
         * weight from DRAM, one thread: 0.87 ms without, 0.67 ms one tile
         * ahead into L1, 0.55 ms two tiles ahead into L2). A prefetch never
         * faults, so past the last row it is harmless. */
        for (int r = 0; r < CK_QROWS; r++)
            _mm_prefetch((const char *)rows[r] + 2 * CK_QROWS * row_bytes + b * sizeof(ck_block_q4_0), _MM_HINT_T1);
        for (int r = 0; r < CK_QROWS; r++) {
            __m512i q = q4_0_two_blocks((const ck_block_q4_0 *)rows[r] + b);
            for (size_t i = 0; i < nx; i++)
                p[i][r] = _mm512_dpbusd_epi32(start[i], q, x[i]);
        }
        __m512 dw = ck_qvnni_row_scales(rows, b, sizeof(ck_block_q4_0));
        for (size_t i = 0; i < nx; i++) {
            __m512i lo, hi;
            ck_qvnni_reduce_chunks(p[i], &lo, &hi);
            acc[i] = ck_qvnni_acc_2steps(acc[i], ck_qvnni_block_sums(lo, hi, CK_QVNNI_B_IN_02), dw, xq[i * nb + b].d,
                                         xq[i * nb + b + 1].d);
        }
    }
    for (; b < nb; b++)
        for (size_t i = 0; i < nx; i++)
            acc[i] = q4_0_one_block(acc[i], rows, xq + i * nb, b);
}

CK_QVNNI_TARGET void q4_0_rows_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                                  const ck_block_q8_0 *xq, size_t nb, const size_t nx, float *out)
{
    __m256 acc[CK_QXROWS] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    q4_0_pairs_nx(rows, row_bytes, xq, nb, 0, nx, acc);
    for (size_t i = 0; i < nx; i++)
        ck_qx86_store_rows(acc[i], n_rows, out + i * CK_QROWS);
}

CK_QGFNI_TARGET void q4_0_rows4_nx(const unsigned char *rows[CK_QROWS], size_t row_bytes, size_t n_rows,
                                   const ck_block_q8_0 *xq, size_t nb, const size_t nx, const int aligned, float *out)
{
    __m256 acc[CK_QXROWS] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    q4_0_steps4_nx(rows, row_bytes, xq, nb, nx, aligned, acc);
    q4_0_pairs_nx(rows, row_bytes, xq, nb, nb - nb % 4, nx, acc);
    for (size_t i = 0; i < nx; i++)
        ck_qx86_store_rows(acc[i], n_rows, out + i * CK_QROWS);
}

__attribute__((target(CK_QGFNI_TARGET_STR), noinline)) static void q4_0_rows_vbmi(const unsigned char *rows[CK_QROWS],
                                                                                  size_t row_bytes, size_t n_rows,
                                                                                  const ck_block_q8_0 *xq, size_t nb,
                                                                                  size_t n_x, float *out)
{
    uintptr_t at = (uintptr_t)rows[0] | row_bytes;
    if (n_x == 2)
        q4_0_rows4_nx(rows, row_bytes, n_rows, xq, nb, 2, Q4_OFF_LINE, out);
    else if (at % 64 == 0)
        q4_0_rows4_nx(rows, row_bytes, n_rows, xq, nb, 1, Q4_ON_LINES, out);
    else if (at % 8 == 0)
        q4_0_rows4_nx(rows, row_bytes, n_rows, xq, nb, 1, Q4_ON_8, out);
    else
        q4_0_rows4_nx(rows, row_bytes, n_rows, xq, nb, 1, Q4_OFF_LINE, out);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_quant_q4_0_rows_avx512vnni(const void *w, size_t row_bytes,
                                                                                size_t n_rows, const ck_block_q8_0 *xq,
                                                                                size_t nb, size_t n_x, float *out)
{
    const unsigned char *rows[CK_QROWS];
    ck_qx86_row_ptrs(w, row_bytes, n_rows, rows);
    if (nb >= 4 && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni"))
        q4_0_rows_vbmi(rows, row_bytes, n_rows, xq, nb, n_x, out);
    else if (n_x == 2)
        q4_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 2, out);
    else
        q4_0_rows_nx(rows, row_bytes, n_rows, xq, nb, 1, out);
}
#endif
