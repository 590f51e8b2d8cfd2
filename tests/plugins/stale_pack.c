/* The parity gate's test subject for state kept between calls: an f32
 * linear that packs W (transposed, in double) on first sight and finds the
 * packed copy again by W's address, shape and nothing else, the way a
 * weight cache is keyed. Right on every case taken alone; wrong wherever
 * the same buffer held other weights at an earlier call (a window's slots,
 * an optimiser's in-place update). The gate runs each case once first on
 * other values in the same buffers (CK_RUN_CHECK_STALE) and must name it.
 * Plain C in double, one thread. tests/unit/test_parity.c checks it. */
#include <stdlib.h>

#include "test_plugin.h"

static struct {
    const void *w;
    size_t K, N;
    double *wt; /* [K][N] */
} cache;

static int linear_cached(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    if (a->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    if (cache.w != a->w || cache.K != a->K || cache.N != a->N) { /* the defect: the values are not the key */
        double *wt = realloc(cache.wt, (a->K * a->N + 1) * sizeof *wt);
        if (!wt)
            return CK_E_NOMEM;
        const float *w = a->w;
        for (size_t n = 0; n < a->N; n++)
            for (size_t k = 0; k < a->K; k++)
                wt[k * a->N + n] = w[n * a->K + k];
        cache.w = a->w, cache.K = a->K, cache.N = a->N, cache.wt = wt;
    }
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double acc = a->bias ? a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++)
                acc += (double)a->x[t * a->K + k] * cache.wt[k * a->N + n];
            a->y[t * a->N + n] = (float)acc;
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/packed-by-address", linear_cached},
};

CK_TEST_PLUGIN("stale_pack", "f32 linear whose packed W is found again by its address alone")
