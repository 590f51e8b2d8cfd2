/* bf16-embed_norm/avx512: the embed_norm body of f32-embed_norm-avx512.c
 * with a bf16 table. */
#include "avx512-kernels.h"
#include "fused-avx512.h"

int ck_avx512_bf16_embed_norm(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_embed_norm(ctx, args, CK_DTYPE_BF16);
}
