/* quant.h — the row kernels of the quant plugin's ISA paths. Each computes
 * exactly what ck_q8_0_rows_ref / ck_q4_0_rows_ref compute (same bits): the
 * integer block sums are exact whatever the instruction order, and the f32
 * accumulation runs in block order with one accumulator per output row, a
 * SIMD lane per row (see docs/quant.md). */
#ifndef CK_QUANT_H
#define CK_QUANT_H

#include "quant-ref.h"

#if defined(__x86_64__)
/* ck_q8_0_quantize_row_ref's bits (q8_0-quantize-avx512.c). */
void ck_quant_q8_0_quantize_row_avx512(const float *x, ck_block_q8_0 *y, size_t n);
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
void ck_quant_q8_0_gemm_avx2(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                             const int32_t *xsum, size_t nb, size_t T, void *work, float *out);
void ck_quant_q4_0_gemm_avx2(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                             const int32_t *xsum, size_t nb, size_t T, void *work, float *out);
/* AVX-VNNI (VEX vpdpbusd, 256-bit): quant-gemm-avxvnni.c. */
void ck_quant_q8_0_gemm_avxvnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                                const int32_t *xsum, size_t nb, size_t T, void *work, float *out);
void ck_quant_q4_0_gemm_avxvnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                                const int32_t *xsum, size_t nb, size_t T, void *work, float *out);
void ck_quant_q8_0_gemm_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                                   const int32_t *xsum, size_t nb, size_t T, void *work, float *out);
void ck_quant_q4_0_gemm_avx512vnni(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq,
                                   const int32_t *xsum, size_t nb, size_t T, void *work, float *out);
#endif

#if defined(__aarch64__)
void ck_quant_q8_0_rows_neon(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out);
void ck_quant_q4_0_rows_neon(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                             size_t n_x, float *out);
#endif

#endif /* CK_QUANT_H */
