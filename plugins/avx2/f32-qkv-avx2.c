/* qkv with f32 weights: three linears into the [T, H, hd] head layout, through
 * the shared GEMM / matvec (see avx2_qkv_kernel in avx2-helpers.h). */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

int ck_avx2_f32_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return avx2_qkv_kernel(ctx, args, CK_DTYPE_F32);
}
