/* embedding (exact class) with a f16 table: y[t] = table[ids[t]], widened exactly to f32; see
 * embedding-avx2.c. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

int ck_avx2_f16_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return avx2_embedding(ctx, args, CK_DTYPE_F16);
}
