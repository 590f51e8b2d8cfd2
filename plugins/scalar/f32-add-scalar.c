/* f32-add/scalar (exact class): y = a + b, one correctly rounded f32
 * addition per element. y may alias a or b. */
#include "scalar.h"

static void add_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_add_args *a = arg;
    (void)tid;
    for (size_t i = begin; i < end; i++)
        a->y[i] = a->a[i] + a->b[i];
}

int ck_scalar_f32_add(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    if (a->n == 0)
        return CK_OK;
    scalar_parallel(ctx, a->n, SCALAR_ELEM_GRAIN, add_range, (void *)a);
    return CK_OK;
}
