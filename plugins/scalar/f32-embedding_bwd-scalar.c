/* f32-embedding_bwd/scalar (exact class): dtable[ids[t]] += dy[t] for t in
 * order, one f32 add per element, so repeated ids accumulate in a fixed
 * order. Every id is checked before anything is written. */
#include "scalar-bwd.h"

int ck_scalar_f32_embedding_bwd(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_bwd_args *a = args;
    (void)ctx;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++) {
        float *row = a->dtable + (size_t)a->ids[t] * a->D;
        const float *g = a->dy + t * a->D;
        for (size_t i = 0; i < a->D; i++)
            row[i] = row[i] + g[i];
    }
    return CK_OK;
}
