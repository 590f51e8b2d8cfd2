/* bf16-norm_mlp/avx512: the norm_mlp body of f32-norm_mlp-avx512.c with bf16
 * weights. */
#include "avx512-kernels.h"
#include "fused-avx512.h"

int ck_avx512_bf16_norm_mlp(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_norm_mlp(ctx, args, CK_DTYPE_BF16);
}
