/* bf16-act_down/avx512: the act_down body of f32-act_down-avx512.c with bf16
 * weights. */
#include "avx512-kernels.h"
#include "fused-avx512.h"

int ck_avx512_bf16_act_down(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_act_down(ctx, args, CK_DTYPE_BF16);
}
