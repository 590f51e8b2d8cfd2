/* The prefill kernel of the AVX-512 VNNI path, shared by Q8_0 and Q4_0:
 * a tile of CK_QGEMM_ROWS rows repacked by ck_qx86_pack_tile_*
 * (quant-x86.h) against the driver's groups of CK_QXG_ROWS activation rows
 * (quant-ref.h). Lane r of a register is weight row r; a block takes eight
 * vpdpbusd steps on two chains per activation row (even and odd steps),
 * then the code offset c * sum(x) comes off as an integer and one
 * reference accumulation step runs per lane, in block order, so the bits
 * are the reference's.
 *
 * Eight activation rows share each loaded weight step, so sixteen
 * independent chains cover vpdpbusd's latency. On Zen 5 vpdpbusd and
 * vmulps share two ports: the accumulation step's two multiplies cost
 * 2 of every 10 slots there, while the offset (a shift of the broadcast
 * sum), the conversion and the add run on the others. The group's record
 * gives every operand at a constant offset from one pointer. */
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
CK_QVNNI_TARGET void gemm_group(const unsigned char *packed, size_t nb, const unsigned char *rec, int shift, float *out)
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
        _mm512_storeu_ps(out + (size_t)i * CK_QGEMM_ROWS, acc[i]);
}

__attribute__((target(CK_QVNNI_TARGET_STR))) void
ck_qvnni_gemm_packed(const unsigned char *packed, size_t nb, const unsigned char *xg, size_t T, int shift, float *out)
{
    for (size_t g = 0; g * CK_QXG_ROWS < T; g++)
        gemm_group(packed, nb, xg + g * nb * CK_QXG_BYTES, shift, out + g * CK_QXG_ROWS * CK_QGEMM_ROWS);
}
#endif
