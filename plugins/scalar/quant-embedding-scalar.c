/* q8_0-embedding/scalar and q4_0-embedding/scalar (exact class): token rows
 * of a quantised table (llama.cpp quantises token_embd too) dequantised with
 * the reference dequantisers. Rows must be whole blocks. */
#include "quant-ref.h"
#include "scalar.h"

static void q8_0_row(const void *w, size_t row, size_t K, float *dst)
{
    const ck_block_q8_0 *b = (const ck_block_q8_0 *)w + row * (K / CK_QBLOCK);
    ck_q8_0_dequantize_row_ref(b, dst, K);
}

static void q4_0_row(const void *w, size_t row, size_t K, float *dst)
{
    const ck_block_q4_0 *b = (const ck_block_q4_0 *)w + row * (K / CK_QBLOCK);
    ck_q4_0_dequantize_row_ref(b, dst, K);
}

int ck_scalar_q8_0_embedding(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    return scalar_embedding(ctx, a, CK_DTYPE_Q8_0, q8_0_row);
}

int ck_scalar_q4_0_embedding(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    return scalar_embedding(ctx, a, CK_DTYPE_Q4_0, q4_0_row);
}
