/* f32-embedding/scalar (exact class): y[t] = table[ids[t]], rows copied. */
#include <string.h>

#include "scalar.h"

static void copy_f32_row(const void *table, size_t id, size_t D, float *dst)
{
    memcpy(dst, (const float *)table + id * D, D * sizeof(float));
}

int ck_scalar_f32_embedding(const ck_exec_ctx *ctx, const void *args)
{
    return scalar_embedding(ctx, args, CK_DTYPE_F32, copy_f32_row);
}
