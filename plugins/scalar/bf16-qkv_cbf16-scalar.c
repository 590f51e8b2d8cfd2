/* bf16-qkv_cbf16/scalar: the compute-bf16 reference for qkv: three
 * compute-bf16 linears of the same x (bf16-linear_cbf16-scalar.c). */
#include "scalar.h"

int ck_scalar_bf16_qkv_cbf16(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_qkv_compute_bf16(ctx, args);
}
