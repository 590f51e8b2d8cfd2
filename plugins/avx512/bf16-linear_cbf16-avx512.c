/* bf16-linear_cbf16/avx512: compute bf16 (CK_KF_COMPUTE_BF16): x rounded to
 * bf16, vdpbf16ps on bf16 weights (linear-avx512.h); declined without
 * AVX512_BF16. */
#include "avx512-kernels.h"
#include "linear-avx512.h"

int ck_avx512_bf16_linear_cbf16(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_linear_cbf16_kernel(ctx, args, ck_avx512_has_bf16);
}
