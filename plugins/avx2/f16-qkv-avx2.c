/* qkv with f16 weights: three linears into the [T, H, hd] head layout, through
 * the shared GEMM / matvec (see avx2_qkv_kernel in avx2-helpers.h). */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

int ck_avx2_f16_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return avx2_qkv_kernel(ctx, args, CK_DTYPE_F16);
}
