/* quant.h — the row kernels of the quant plugin's ISA paths. Each computes
 * exactly what ck_q8_0_rows_ref / ck_q4_0_rows_ref compute (same bits): the
 * integer block sums are exact whatever the instruction order, and the f32
 * accumulation runs in block order with one accumulator per output row, a
 * SIMD lane per row (see docs/quant.md). */
#ifndef CK_QUANT_H
#define CK_QUANT_H

#include "quant-ref.h"

#if defined(__x86_64__)
/* Set once when the plugin is loaded, from ck_prefetch_level_l2()
 * (plugins/shared/ck_prefetch_level.h): the avx512vnni row kernels'
 * next-tile prefetch goes into L2 (T1), not L1 (T0). On a Zen 4 class VM,
 * one thread, cold q8_0 decode: 14.5-16.0 GB/s with T0, 24.2-30.4 with T1
 * (plain read 29-30). */
extern int ck_quant_prefetch_l2;
void ck_quant_q8_0_rows_avx2(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out);
void ck_quant_q4_0_rows_avx2(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out);
void ck_quant_q8_0_rows_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                                   size_t n_x, float *out);
void ck_quant_q4_0_rows_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                                   size_t n_x, float *out);
/* Prefill (x86): the tile of CK_QGEMM_ROWS weight rows repacked once into
 * CK_QGEMM_PACKED_BLOCK bytes of work per block (layout in quant-x86.h),
 * then every activation row against it; used from T >= CK_QGEMM_MIN_T. */
#define CK_QGEMM_PACKED_BLOCK 576
#define CK_QGEMM_MIN_T 16
void ck_quant_q8_0_gemm_avx2(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb,
                             size_t T, void *work, float *out);
void ck_quant_q4_0_gemm_avx2(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb,
                             size_t T, void *work, float *out);
/* AVX-VNNI (VEX vpdpbusd, 256-bit): quant-gemm-avxvnni.c. */
void ck_quant_q8_0_gemm_avxvnni(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb,
                                size_t T, void *work, float *out);
void ck_quant_q4_0_gemm_avxvnni(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb,
                                size_t T, void *work, float *out);
/* AVX-512 VNNI: slices of two packed tiles side by side, several slices
 * per tile, so that each K chunk of the activation records is read into
 * L2 once per tile (quant-gemm-avx512vnni.c): its tiles, and the stride of
 * its out rows, are CK_QVNNI_GEMM_ROWS, and its scratch per weight block
 * two packed blocks. */
#ifndef CK_QVNNI_GEMM_ROWS
#define CK_QVNNI_GEMM_ROWS 64
#endif
#ifndef CK_QVNNI_CHUNK_BYTES
#define CK_QVNNI_CHUNK_BYTES (384 * 1024)
#endif
void ck_quant_q8_0_gemm_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb,
                                   size_t T, void *work, float *out);
void ck_quant_q4_0_gemm_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb,
                                   size_t T, void *work, float *out);
/* The AVX-512 activation quantiser (ck_qacts_fn, quant-ref.h). */
void ck_quant_q8_0_acts_avx512vnni(const float *x, size_t nb, ck_block_q8_0 *xq, unsigned char *rec, size_t i);
#endif

#if defined(__aarch64__)
void ck_quant_q8_0_rows_neon(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out);
void ck_quant_q4_0_rows_neon(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out);
#endif

#endif /* CK_QUANT_H */
