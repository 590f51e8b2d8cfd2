/* f16-qkv/avx512: q, k, v = three linears of one x with f16 weights, x
 * packed once for the three GEMMs. */
#include "avx512-kernels.h"
#include "linear-avx512.h"

int ck_avx512_f16_qkv(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_qkv_kernel(ctx, args, CK_DTYPE_F16);
}
