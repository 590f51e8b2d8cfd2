/* bf16-qkv/avx512: q, k, v = three linears of one x with bf16 weights, x
 * packed once for the three GEMMs; [T, H, hd] is the [T, H*hd] output of a
 * linear, so no reshuffle is needed. */
#include "avx512-kernels.h"
#include "linear-avx512.h"

int ck_avx512_bf16_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_qkv_kernel(ctx, args, CK_DTYPE_BF16);
}
