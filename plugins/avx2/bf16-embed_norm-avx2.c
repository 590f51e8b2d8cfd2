/* bf16-embed_norm/avx2: the embed_norm body of f32-embed_norm-avx2.c with a
 * bf16 table. */
#include "avx2-kernels.h"
#include "fused-avx2.h"

int ck_avx2_bf16_embed_norm(const ck_exec_ctx *ctx, const void *args)
{
    return avx2_embed_norm(ctx, args, CK_DTYPE_BF16);
}
