/* The prefill kernel of the AVX-512 VNNI path, shared by Q8_0 and Q4_0:
 * a tile of up to CK_QVNNI_GEMM_ROWS weight rows against the driver's
 * groups of CK_QXG_ROWS activation rows (quant-ref.h), in slices of 32 rows
 * (two tiles of CK_QGEMM_ROWS packed by ck_qx86_pack_tile_*, quant-x86.h).
 * Lane r of a register is weight row r; a block takes eight vpdpbusd steps
 * per activation row, on two chains (even and odd steps), started at the
 * code offset -c * sum(x) so that they end at the exact isum; then one
 * reference accumulation step runs per lane, in block order, so the bits
 * are the reference's.
 *
 * vpdpbusd can only broadcast its signed operand, the activations, so each
 * activation step is broadcast once and meets both 16-row halves of a
 * slice: 6 loads per 8 vpdpbusd, where the 16-row kernel with embedded
 * broadcasts needed 18 per 16 (a register-only loop of the two shapes on
 * Zen 5: 1030 against 810-900 GOP/s). On Zen 5 vpdpbusd and vmulps share
 * two ports: the accumulation step's two multiplies cost 2 of every 10
 * slots there (measured: 80% of the vpdpbusd-only rate), so the kernel
 * cannot pass 80% of the int8 peak; conversion, offset and add run on the
 * other two.
 *
 * K runs in chunks whose activation records for all T rows fit in L2, and
 * each chunk meets every slice of the tile before the next: the records are
 * read from L3 once per tile of 64 rows instead of once per 16, and a
 * slice's packed chunk stays in L1 while the groups pass over it. The
 * accumulators wait in out between chunks (exact: a store and a load). */
#if defined(__x86_64__)
#include "quant-avx512.h"

CK_QVNNI_TARGET __m512i bcast32(const unsigned char *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

/* acc + vpdpbusd(w, the four bytes at p broadcast), the broadcast embedded
 * in the instruction: from the intrinsics gcc emits a separate vpbroadcastd,
 * one more instruction per step for the front end (about 2% here). */
CK_QVNNI_TARGET __m512i dpbusd_bcast(__m512i acc, __m512i w, const unsigned char *p)
{
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t(*)[1])(const void *)p));
    return acc;
}

/* One group of CK_QXG_ROWS activation rows (its records from rec). */
CK_QVNNI_TARGET void gemm_group(const unsigned char *packed, size_t nb, const unsigned char *rec, int shift, float *out,
                                size_t stride)
{
    enum { G = CK_QXG_ROWS };
    __m512 acc[G];
    for (int i = 0; i < G; i++)
        acc[i] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++, rec += CK_QXG_BYTES) {
        const unsigned char *blk = packed + b * CK_QGEMM_PACKED_BLOCK;
        __m512i dot[G], dot2[G];
        for (int i = 0; i < G; i++)
            dot[i] = dot2[i] = _mm512_setzero_si512();
        for (int j = 0; j < CK_QBLOCK / 4; j += 2) {
            const __m512i w = _mm512_load_si512(blk + 64 * j), w2 = _mm512_load_si512(blk + 64 * j + 64);
            for (int i = 0; i < G; i++) {
                dot[i] = dpbusd_bcast(dot[i], w, rec + CK_QBLOCK * i + 4 * j);
                dot2[i] = dpbusd_bcast(dot2[i], w2, rec + CK_QBLOCK * i + 4 * j + 4);
            }
        }
        const __m512 dw = _mm512_load_ps(blk + 512);
        for (int i = 0; i < G; i++) {
            __m512i isum = _mm512_sub_epi32(_mm512_add_epi32(dot[i], dot2[i]),
                                            _mm512_slli_epi32(bcast32(rec + 256 + 4 * i), (unsigned)shift));
            __m512 scale = _mm512_mul_ps(dw, _mm512_castsi512_ps(bcast32(rec + 288 + 4 * i)));
            acc[i] = _mm512_add_ps(acc[i], _mm512_mul_ps(_mm512_cvtepi32_ps(isum), scale));
        }
    }
    for (int i = 0; i < G; i++)
        _mm512_storeu_ps(out + (size_t)i * stride, acc[i]);
}

/* Two packed tiles side by side (weight rows 0-15 in pa's lanes, 16-31 in
 * pb's) against rows 4h..4h+3 of a group: each broadcast activation step
 * meets two weight registers, so the loads per vpdpbusd are 6 / 8 against
 * 18 / 16 for the one-tile kernel, and the broadcasts, code sums and
 * scales of a row serve 32 weight rows. Even and odd steps on two chains
 * (sixteen) cover vpdpbusd's latency; eight chains measured 10% short. */
CK_QVNNI_TARGET void gemm_quad(const unsigned char *pa, const unsigned char *pb, size_t nb, const unsigned char *rec,
                               int h, int shift, int first, float *out)
{
    enum { Q = CK_QXG_ROWS / 2, S = CK_QVNNI_GEMM_ROWS };
    __m512 acc[Q][2];
    for (int i = 0; i < Q; i++) {
        const float *o = out + (size_t)(Q * h + i) * S;
        acc[i][0] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(o);
        acc[i][1] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(o + CK_QGEMM_ROWS);
    }
    for (size_t b = 0; b < nb; b++, rec += CK_QXG_BYTES) {
        const unsigned char *ba = pa + b * CK_QGEMM_PACKED_BLOCK, *bb = pb + b * CK_QGEMM_PACKED_BLOCK;
        const unsigned char *codes = rec + CK_QBLOCK * Q * h, *sums = rec + 256 + 4 * Q * h;
        __m512i even[Q][2], odd[Q][2];
        for (int i = 0; i < Q; i++) {
            /* -c * sum(x): the start that makes sum(u * x) the isum */
            __m512i start =
                _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(bcast32(sums + 4 * i), (unsigned)shift));
            even[i][0] = even[i][1] = start;
            odd[i][0] = odd[i][1] = _mm512_setzero_si512();
        }
        for (int j = 0; j < CK_QBLOCK / 4; j += 2) {
            const __m512i wa = _mm512_load_si512(ba + 64 * j), wb = _mm512_load_si512(bb + 64 * j);
            for (int i = 0; i < Q; i++) {
                const __m512i x = bcast32(codes + CK_QBLOCK * i + 4 * j);
                even[i][0] = _mm512_dpbusd_epi32(even[i][0], wa, x);
                even[i][1] = _mm512_dpbusd_epi32(even[i][1], wb, x);
            }
            const __m512i wa2 = _mm512_load_si512(ba + 64 * j + 64), wb2 = _mm512_load_si512(bb + 64 * j + 64);
            for (int i = 0; i < Q; i++) {
                const __m512i x = bcast32(codes + CK_QBLOCK * i + 4 * j + 4);
                odd[i][0] = _mm512_dpbusd_epi32(odd[i][0], wa2, x);
                odd[i][1] = _mm512_dpbusd_epi32(odd[i][1], wb2, x);
            }
        }
        const __m512 dwa = _mm512_load_ps(ba + 512), dwb = _mm512_load_ps(bb + 512);
        for (int i = 0; i < Q; i++) {
            const __m512 dx = _mm512_castsi512_ps(bcast32(rec + 288 + 4 * (Q * h + i)));
            __m512 ta =
                _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(even[i][0], odd[i][0])), _mm512_mul_ps(dwa, dx));
            __m512 tb =
                _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(even[i][1], odd[i][1])), _mm512_mul_ps(dwb, dx));
            acc[i][0] = _mm512_add_ps(acc[i][0], ta);
            acc[i][1] = _mm512_add_ps(acc[i][1], tb);
        }
    }
    for (int i = 0; i < Q; i++) {
        _mm512_storeu_ps(out + (size_t)(Q * h + i) * CK_QVNNI_GEMM_ROWS, acc[i][0]);
        _mm512_storeu_ps(out + (size_t)(Q * h + i) * CK_QVNNI_GEMM_ROWS + CK_QGEMM_ROWS, acc[i][1]);
    }
}

/* Blocks [b0, b0 + kc) of rows r0.. (n of them, at most 32) of the weights
 * packed into pa (rows 0-15) and pb (16-31). */
CK_QVNNI_TARGET void pack_chunk(const unsigned char *w, size_t row_bytes, size_t n, size_t b0, size_t kc,
                                uint32_t dtype, unsigned char *pa, unsigned char *pb)
{
    size_t na = n < CK_QGEMM_ROWS ? n : CK_QGEMM_ROWS;
    if (dtype == CK_DTYPE_Q8_0) {
        const unsigned char *c = w + b0 * sizeof(ck_block_q8_0);
        ck_qx86_pack_tile_q8_0(c, row_bytes, na, kc, 0x80, pa);
        if (n > na)
            ck_qx86_pack_tile_q8_0(c + CK_QGEMM_ROWS * row_bytes, row_bytes, n - na, kc, 0x80, pb);
    } else {
        const unsigned char *c = w + b0 * sizeof(ck_block_q4_0);
        ck_qx86_pack_tile_q4_0(c, row_bytes, na, kc, pa);
        if (n > na)
            ck_qx86_pack_tile_q4_0(c + CK_QGEMM_ROWS * row_bytes, row_bytes, n - na, kc, pb);
    }
}

/* Blocks per K chunk: the chunk's records for all T rows stay in L2 while
 * the tile's 32-row slices pass over them, each slice's packed chunk in L1. */
static size_t chunk_blocks(size_t nb, size_t T)
{
    size_t groups = (T + CK_QXG_ROWS - 1) / CK_QXG_ROWS, kc = CK_QVNNI_CHUNK_BYTES / (groups * CK_QXG_BYTES);
    kc = kc < 4 ? 4 : kc;
    return kc < nb ? kc : nb;
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void ck_qvnni_gemm(const void *w, size_t row_bytes, size_t n_rows,
                                                                const unsigned char *xg, size_t nb, size_t T,
                                                                void *work, float *out, uint32_t dtype)
{
    enum { S = CK_QVNNI_GEMM_ROWS, SLICE = 2 * CK_QGEMM_ROWS };
    const int shift = dtype == CK_DTYPE_Q8_0 ? 7 : 3;
    size_t full = n_rows - n_rows % SLICE, rest = n_rows - full;
    /* a last slice of at most 16 rows: the one-tile kernel, all blocks at once */
    if (rest && rest <= CK_QGEMM_ROWS) {
        pack_chunk((const unsigned char *)w + full * row_bytes, row_bytes, rest, 0, nb, dtype, work, NULL);
        for (size_t g = 0; g * CK_QXG_ROWS < T; g++)
            gemm_group(work, nb, xg + g * nb * CK_QXG_BYTES, shift, out + g * CK_QXG_ROWS * S + full, S);
        rest = 0;
    }
    size_t slices = full / SLICE + (rest ? 1 : 0), kc = chunk_blocks(nb, T);
    unsigned char *pa = work, *pb = pa + kc * CK_QGEMM_PACKED_BLOCK;
    for (size_t b0 = 0; b0 < nb; b0 += kc) {
        size_t k = nb - b0 < kc ? nb - b0 : kc;
        for (size_t sl = 0; sl < slices; sl++) {
            size_t r0 = sl * SLICE;
            pack_chunk((const unsigned char *)w + r0 * row_bytes, row_bytes, n_rows - r0 < SLICE ? n_rows - r0 : SLICE,
                       b0, k, dtype, pa, pb);
            for (size_t g = 0; g * CK_QXG_ROWS < T; g++) {
                const unsigned char *rec = xg + (g * nb + b0) * CK_QXG_BYTES;
                float *o = out + g * CK_QXG_ROWS * S + r0;
                gemm_quad(pa, pb, k, rec, 0, shift, b0 == 0, o);
                gemm_quad(pa, pb, k, rec, 1, shift, b0 == 0, o);
            }
        }
    }
}
#endif
