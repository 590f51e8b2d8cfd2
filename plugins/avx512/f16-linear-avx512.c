/* f16-linear/avx512: y = x . W^T (+ bias) with IEEE f16 weights [N, K],
 * converted exactly to f32 (vcvtph2ps) and accumulated in f32; packed FMA
 * GEMM for T >= CK512_MATVEC_MAX_T, streaming matvec below. */
#include "avx512-kernels.h"
#include "linear-avx512.h"

int ck_avx512_f16_linear(const ck_exec_ctx *ctx, const void *args)
{
    return ck512_linear_kernel(ctx, args, CK_DTYPE_F16);
}
