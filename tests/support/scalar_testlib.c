/* Helpers of the scalar reference tests (see scalar_testlib.h). */
#include "scalar_testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ck_plugin *loaded;

ck_plugin *st_scalar_plugin(void)
{
    if (!loaded) {
        char err[CK_ERR_LEN];
        loaded = ck_plugin_load("scalar", err, sizeof err);
        if (!loaded)
            fprintf(stderr, "scalar_testlib: %s\n", err);
    }
    return loaded;
}

int st_run(uint32_t op, uint32_t dtype, const void *args, int threads)
{
    ck_plugin *p = st_scalar_plugin();
    const ck_kernel_desc *k = p ? ck_plugin_kernel(p, op, dtype, 0) : NULL;
    if (!k) {
        fprintf(stderr, "scalar_testlib: no scalar kernel for %s/%s\n", ck_op_name(op), ck_dtype_name(dtype));
        return -1;
    }
    ck_exec_ctx *ctx = ck_exec_create(threads);
    if (!ctx)
        return -1;
    int rc = k->fn(ctx, args);
    ck_exec_destroy(ctx);
    return rc;
}

void st_seed(st_rng *r, uint64_t seed)
{
    r->state = seed;
}

static uint64_t next_u64(st_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double st_uniform(st_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(next_u64(r) >> 11) * 0x1.0p-53);
}

void st_fill(st_rng *r, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)st_uniform(r, lo, hi);
}

float *st_floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        abort();
    return p;
}

float *st_copy(const float *x, size_t n)
{
    float *p = st_floats(n);
    memcpy(p, x, n * sizeof *p);
    return p;
}

int st_close_rounded_once(float got, double want, double abs_slack)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    /* the f32 nearest to want is within half an ulp of it (also when it
     * rounds up into the next binade); the factor 1 + 1e-6 absorbs the error
     * of a double-precision reference (~1e-16 relative), not a second f32
     * rounding (up to another half ulp) */
    int e;
    frexp(fabs(want), &e);
    double ulp = ldexp(1.0, (e - 24) < -149 ? -149 : e - 24);
    return fabs((double)got - want) <= 0.5 * ulp * (1.0 + 1e-6) + abs_slack;
}

size_t st_first_diff(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return i;
    return n;
}
