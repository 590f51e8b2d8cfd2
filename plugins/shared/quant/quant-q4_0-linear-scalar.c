/* Q4_0-weight linear and qkv (reference): like q8_0-linear-scalar.c, with
 * the weight code of element j being (nibble - 8). */
#include "quant-ref.h"

int32_t ck_q4_0_block_isum_ref(const ck_block_q4_0 *w, const ck_block_q8_0 *x)
{
    int32_t isum = 0;
    for (int j = 0; j < CK_QBLOCK / 2; j++) {
        isum += ((int32_t)(w->qs[j] & 0x0f) - 8) * (int32_t)x->qs[j];
        isum += ((int32_t)(w->qs[j] >> 4) - 8) * (int32_t)x->qs[j + CK_QBLOCK / 2];
    }
    return isum;
}

void ck_q4_0_rows_ref(const void *w, size_t row_bytes, size_t n_rows, const ck_block_q8_0 *xq, size_t nb, size_t n_x,
                      float *out)
{
    for (size_t i = 0; i < n_x; i++) {
        const ck_block_q8_0 *xi = xq + i * nb;
        for (size_t r = 0; r < n_rows; r++) {
            const ck_block_q4_0 *wr = (const ck_block_q4_0 *)((const unsigned char *)w + r * row_bytes);
            float acc = 0.0f;
            for (size_t b = 0; b < nb; b++)
                acc = ck_qacc_step(acc, ck_q4_0_block_isum_ref(&wr[b], &xi[b]), wr[b].d, xi[b].d);
            out[i * CK_QROWS + r] = acc;
        }
    }
}

static const ck_qkernels reference = {ck_q4_0_rows_ref, NULL, 0, 0, NULL, 0};

int ck_scalar_q4_0_linear(const ck_exec_ctx *ctx, const void *args)
{
    return ck_qlinear_exec(ctx, args, CK_DTYPE_Q4_0, &reference);
}

int ck_scalar_q4_0_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return ck_qqkv_exec(ctx, args, CK_DTYPE_Q4_0, &reference);
}
