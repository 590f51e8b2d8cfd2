/* bf16-norm_qkv/avx512: the norm_qkv body of f32-norm_qkv-avx512.c with bf16
 * weights (widened, or vdpbf16ps, as the unfused GEMM chooses). */
#include "avx512-kernels.h"
#include "fused-avx512.h"

int ck_avx512_bf16_norm_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_norm_qkv(ctx, args, CK_DTYPE_BF16);
}
