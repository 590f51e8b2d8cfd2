/* quant-ref.h — the reference for the quantised ops (Q8_0 / Q4_0, GGUF
 * block layout): row quantisers and dequantisers, the integer block dot
 * products, the specified accumulation order of a quantised row dot, and the
 * linear / qkv driver that every ISA path of plugins/quant shares.
 *
 * These files (plugins/shared/quant/) are compiled into libck_scalar.so (the parity reference) and,
 * unchanged, into libck_quant.so (its scalar path and its activation
 * quantiser), so the semantics live once. docs/quant.md is the prose. */
#ifndef CK_QUANT_REF_H
#define CK_QUANT_REF_H

#include <stddef.h>
#include <stdint.h>

#include "ck_plugin.h"

/* ---- formats (n a multiple of CK_QBLOCK; inputs finite) ------------------- */
void ck_q8_0_quantize_row_ref(const float *x, ck_block_q8_0 *y, size_t n);
void ck_q4_0_quantize_row_ref(const float *x, ck_block_q4_0 *y, size_t n);
void ck_q8_0_dequantize_row_ref(const ck_block_q8_0 *x, float *y, size_t n);
void ck_q4_0_dequantize_row_ref(const ck_block_q4_0 *x, float *y, size_t n);

/* ---- integer block dot products (exact) ----------------------------------- */
/* sum over the block of w_q * x_q, with w_q the signed weight code (q4_0:
 * nibble - 8). |result| <= 32 * 127 * 127 < 2^24, so it converts to f32
 * exactly. */
int32_t ck_q8_0_block_isum_ref(const ck_block_q8_0 *w, const ck_block_q8_0 *x);
int32_t ck_q4_0_block_isum_ref(const ck_block_q4_0 *w, const ck_block_q8_0 *x);

/* The one accumulation step every path performs, per output, in block order:
 *     acc = acc + (float)isum * (d_w * d_x)
 * d_w * d_x is a product of two f16 values and therefore exact in f32; the
 * multiply by isum and the add each round once. acc starts at +0.0f. */
static inline float ck_qacc_step(float acc, int32_t isum, uint16_t dw, uint16_t dx)
{
    float scale = ck_f16_to_f32(dw) * ck_f16_to_f32(dx);
    float term = (float)isum * scale;
    return acc + term;
}

/* ---- the shared linear / qkv driver --------------------------------------- */

/* Weight rows and activation rows handled by one call of a row kernel: the
 * unit of parallel work is a tile of CK_QROWS weight rows, and the kernel
 * sees up to CK_QXROWS activation rows at a time so that SIMD paths can
 * decode each weight block once for several of them. */
#define CK_QROWS 8
#define CK_QXROWS 2

/* A row kernel: for n_rows (1..CK_QROWS) weight rows starting at w (rows
 * row_bytes apart) and n_x (1..CK_QXROWS) activation rows of nb Q8_0 blocks
 * each, contiguous from xq, write out[i * CK_QROWS + r] = the block-order sum
 * above for activation row i and weight row r. Every ISA path must produce
 * the same bits as the reference row kernel of its dtype. */
typedef void (*ck_qrows_fn)(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb,
                            size_t n_x, float *out);

void ck_q8_0_rows_ref(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb, size_t n_x,
                      float *out);
void ck_q4_0_rows_ref(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb, size_t n_x,
                      float *out);

/* Activation rows as the gemm kernels read them, regrouped once per call by
 * the driver: groups of CK_QXG_ROWS rows, and per group and block b one
 * record of CK_QXG_BYTES (64-byte aligned):
 *   bytes   0..255  row i's 32 codes at 32 i;
 *   bytes 256..287  int32 at 256 + 4 i: the sum of those codes;
 *   bytes 288..319  f32 at 288 + 4 i: the block's scale, f32(d).
 * Record (g, b) is at (g * nb + b) * CK_QXG_BYTES, so a kernel walks one
 * sequential stream with constant offsets. Rows past T (the last group's
 * padding) are all zero: codes, sum and scale. */
#define CK_QXG_ROWS 8
#define CK_QXG_BYTES 320

/* An optional kernel for many activation rows (prefill): the
 * round_up(T, CK_QXG_ROWS) rows of xg against n_rows (1..R) weight rows,
 * writing out[t * R + r] (padding rows included), R the path's gemm_rows
 * (CK_QGEMM_ROWS where it leaves it 0),
 * with the same bits as the row kernel. `work` is per-thread scratch of
 * work_per_block * nb bytes, 64-byte aligned, for the rows in whatever
 * layout the kernel likes (reused for all T rows). */
#define CK_QGEMM_ROWS 16
typedef void (*ck_qgemm_fn)(const void *w, size_t row_bytes, size_t n_rows, const unsigned char *xg, size_t nb,
                            size_t T, void *work, float *out);

/* An optional activation quantiser with ck_q8_0_quantize_row_ref's bits:
 * one row x of nb blocks into xq[0..nb) and, when rec is not NULL, into row
 * i of the records rec + b * CK_QXG_BYTES (codes, their sum, f32 scale). */
typedef void (*ck_qacts_fn)(const float *x, size_t nb, ck_block_q8_0 *xq, unsigned char *rec, size_t i);

/* The kernels of one ISA path for one weight dtype. */
typedef struct ck_qkernels {
    ck_qrows_fn rows; /* required */
    ck_qgemm_fn gemm; /* optional: NULL, or used when T >= gemm_min_t */
    size_t gemm_min_t;
    size_t work_per_block; /* scratch bytes per weight block of the tile */
    ck_qacts_fn acts;      /* optional: NULL, the reference quantiser */
    size_t gemm_rows;      /* weight rows per gemm tile; 0: CK_QGEMM_ROWS */
} ck_qkernels;

/* Quantise x [T, K] to Q8_0 per row (into ctx->scratch), then
 * y[t][n] = (the block-order sum for w row n, xq row t) (+ bias[n], one add).
 * Returns CK_E_UNSUPPORTED if K is not a multiple of CK_QBLOCK (or is 0 with
 * T, N > 0) or dtype is not the weights' dtype, CK_E_NOMEM if the host has
 * no scratch for the quantised activations. */
int ck_qlinear_exec(const ck_exec_ctx *ctx, const ck_linear_args *a, uint32_t dtype, const ck_qkernels *k);
int ck_qqkv_exec(const ck_exec_ctx *ctx, const ck_qkv_args *a, uint32_t dtype, const ck_qkernels *k);

/* ---- reference kernels (the scalar plugin's table entries) ---------------- */
int ck_scalar_q8_0_quantize(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q4_0_quantize(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q8_0_dequantize(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q4_0_dequantize(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q8_0_linear(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q4_0_linear(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q8_0_qkv(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q4_0_qkv(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q8_0_embedding(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_q4_0_embedding(const ck_exec_ctx *ctx, const void *args);

#endif /* CK_QUANT_REF_H */
