/* f32-add/avx512 (exact class): y = a + b, one correctly rounded add per
 * element, so bit-identical to the reference. y may alias a or b (each
 * element is read before it is written); a large y is streamed
 * (CK512_STREAM_BYTES). */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

#define ADD16(i, m) _mm512_add_ps(_mm512_maskz_loadu_ps(m, a->a + (i)), _mm512_maskz_loadu_ps(m, a->b + (i)))

static void add_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_add_args *a = arg;
    (void)tid;
    CK512_ELEMWISE_RANGE(a->y, begin, end, ck512_stream_out(a->n), ADD16);
}

int ck_avx512_f32_add(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    if (a->n == 0)
        return CK_OK;
    ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, add_range, (void *)a);
    return CK_OK;
}
