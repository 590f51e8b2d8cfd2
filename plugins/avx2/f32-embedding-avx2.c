/* embedding (exact class) with a f32 table: y[t] = table[ids[t]], copied; see
 * embedding-avx2.c. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

int ck_avx2_f32_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return avx2_embedding(ctx, args, CK_DTYPE_F32);
}
