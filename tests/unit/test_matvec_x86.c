/* The small-T linear paths of the x86 plugins on every weight dtype: avx512's
 * (T < CK512_MATVEC_MAX_T, 24, matvec-avx512.h) for the shapes that pick each
 * of its loops: T = 1 with K up to and beyond the one-row limit (x in L1,
 * then the long-K path), T = 2, 3, 4, 16 and 23 (and 24, the packed GEMM's
 * first), K around multiples of 16, 32 and 64 (the vector tail
 * and the unrolled loops' tails) and N around multiples of 4 (a short last
 * block of rows); avx2's (T < AVX2_MATVEC_MAX_T, f32-matvec-avx2.c) on the
 * same shapes. x and W hold small integers, so every product and every
 * partial sum is an exact f32 whatever the summation order: y must equal
 * the integer dot product exactly, on 1 and on 2 threads, and nothing past
 * y[T][N] may be written. (Parity within tolerance on random values is the
 * parity gate's job.) Each plugin is skipped where the CPU cannot run it. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"

/* Small integers in [-3, 3] without 0 (so that a lost or doubled product
 * changes the sum), seeded. */
static int small_int(uint32_t i, uint32_t seed)
{
    uint32_t h = (i + 1u) * 2654435761u ^ (seed * 40503u);
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    int v = (int)(h % 6u) - 3;
    return v >= 0 ? v + 1 : v;
}

static uint16_t f32_to_16(float f, uint32_t dtype)
{
    if (dtype == CK_DTYPE_BF16) {
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        return (uint16_t)(u >> 16); /* exact: small integers */
    }
    int v = (int)f; /* IEEE half of a small integer: sign, exponent 15 + e, 10-bit mantissa */
    uint16_t s = v < 0 ? 0x8000u : 0u;
    unsigned a = (unsigned)(v < 0 ? -v : v), e = 0;
    while ((a >> e) > 1u)
        e++;
    return (uint16_t)(s | (uint16_t)((15u + e) << 10) | (uint16_t)(((a << 10) >> e) & 0x3ffu));
}

/* Runs p's linear kernel for (dtype, T, K, N) on ctx and checks y. */
static void check_shape(const ck_plugin *p, ck_exec_ctx *ctx, uint32_t dtype, size_t T, size_t K, size_t N, int bias)
{
    const ck_kernel_desc *kd = ck_plugin_kernel(p, CK_OP_LINEAR, dtype, 0);
    cr_assert_not_null(kd, "%s offers no linear kernel for dtype %u", p->desc->name, dtype);
    size_t es = dtype == CK_DTYPE_F32 ? 4 : 2, pad = 16;
    float *x = malloc(T * K * sizeof *x), *b = malloc(N * sizeof *b), *y = malloc((T * N + pad) * sizeof *y);
    void *w = malloc(N * K * es);
    cr_assert(x && b && y && w);
    for (size_t i = 0; i < T * K; i++)
        x[i] = (float)small_int((uint32_t)i, 1);
    for (size_t i = 0; i < N * K; i++) {
        float v = (float)small_int((uint32_t)i, 2);
        if (es == 4)
            ((float *)w)[i] = v;
        else
            ((uint16_t *)w)[i] = f32_to_16(v, dtype);
    }
    for (size_t n = 0; n < N; n++)
        b[n] = (float)small_int((uint32_t)n, 3);
    for (size_t i = 0; i < T * N + pad; i++)
        y[i] = -12345.0f;
    ck_linear_args a = {x, w, bias ? b : NULL, y, T, K, N, dtype};
    cr_assert_eq(kd->fn(ctx, &a), CK_OK);
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            long want = bias ? (long)b[n] : 0;
            for (size_t k = 0; k < K; k++)
                want += (long)small_int((uint32_t)(t * K + k), 1) * small_int((uint32_t)(n * K + k), 2);
            cr_assert_eq(y[t * N + n], (float)want,
                         "%s dtype %u T=%zu K=%zu N=%zu bias=%d, %d threads: y[%zu][%zu] = %g, want %ld", p->desc->name,
                         dtype, T, K, N, bias, ctx->n_threads, t, n, (double)y[t * N + n], want);
        }
    for (size_t i = T * N; i < T * N + pad; i++)
        cr_assert_eq(y[i], -12345.0f, "%s dtype %u T=%zu K=%zu N=%zu: y[%zu] past the end was written", p->desc->name,
                     dtype, T, K, N, i);
    free(x), free(b), free(y), free(w);
}

/* The plugin `name` loaded, or NULL (skipped) where this CPU cannot run it. */
static ck_plugin *load_runnable(const char *name)
{
    char err[512];
    ck_plugin *p = ck_plugin_load(name, err, sizeof err);
    cr_assert_not_null(p, "loading %s: %s", name, err);
    if (!p->runnable) {
        ck_plugin_unload(p);
        return NULL;
    }
    return p;
}

static void every_loop_and_tail(const char *name, const size_t *Ts, size_t n_Ts)
{
    ck_plugin *p = load_runnable(name);
    if (!p)
        return;
    static const uint32_t dtypes[] = {CK_DTYPE_F32, CK_DTYPE_BF16, CK_DTYPE_F16};
    /* 6144 / 6145: the last K of avx512's one-row path and the first of its long-K path */
    static const size_t Ks[] = {1, 15, 16, 17, 31, 33, 63, 64, 65, 100, 4095, 4096, 6144, 6145, 8207, 14336, 14353};
    static const size_t Ns[] = {1, 3, 4, 9, 70};
    for (int threads = 1; threads <= 2; threads++) {
        ck_exec_ctx *ctx = ck_exec_create(threads);
        cr_assert_not_null(ctx);
        for (size_t d = 0; d < 3; d++)
            for (size_t ti = 0; ti < n_Ts; ti++)
                for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
                    for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++) {
                        if (Ks[ki] * Ns[ni] * Ts[ti] > 2000000)
                            continue; /* the reference is a scalar triple loop */
                        check_shape(p, ctx, dtypes[d], Ts[ti], Ks[ki], Ns[ni], (int)((ki + ni) & 1));
                    }
        ck_exec_destroy(ctx);
    }
    ck_plugin_unload(p);
}

/* Under both prefetch levels (plugins/shared/ck_prefetch_level.h): at L2
 * (Zen 4's) 16-bit decode takes the four-row loop at every K, so on any
 * CPU both choices of loop are checked. */
Test(matvec_x86, every_loop_and_tail_is_exact_on_integers)
{
    static const size_t Ts[] = {1, 2, 3, 4, 16, 23, 24};
    static const char *levels[] = {"l1", "l2"};
    for (size_t l = 0; l < 2; l++) {
        cr_assert_eq(setenv("CK_PREFETCH_LEVEL", levels[l], 1), 0);
        every_loop_and_tail("avx512", Ts, sizeof Ts / sizeof Ts[0]);
    }
    unsetenv("CK_PREFETCH_LEVEL");
}

/* A level that is neither l1 nor l2 leaves both plugins that read it
 * unable to run, with a sentence naming the variable and the values. */
Test(matvec_x86, a_bad_prefetch_level_is_refused)
{
    static const char *names[] = {"avx512", "quant"};
    for (size_t i = 0; i < 2; i++) {
        ck_plugin *p = load_runnable(names[i]); /* NULL: refused here whatever the level */
        if (!p)
            continue;
        ck_plugin_unload(p);
        char err[512];
        cr_assert_eq(setenv("CK_PREFETCH_LEVEL", "l3", 1), 0);
        p = ck_plugin_load(names[i], err, sizeof err);
        unsetenv("CK_PREFETCH_LEVEL");
        cr_assert_not_null(p, "loading %s: %s", names[i], err);
        cr_expect(!p->runnable, "%s runs with CK_PREFETCH_LEVEL=l3", names[i]);
        cr_expect(strstr(p->why, "CK_PREFETCH_LEVEL=l3: expected l1 or l2") != NULL, "%s: why not: %s", names[i],
                  p->why);
        ck_plugin_unload(p);
    }
}

/* avx2: the matvec below AVX2_MATVEC_MAX_T (20), the GEMM from it */
Test(matvec_x86, avx2_every_loop_and_tail_is_exact_on_integers)
{
    static const size_t Ts[] = {1, 2, 3, 5, 19, 20, 21};
    every_loop_and_tail("avx2", Ts, sizeof Ts / sizeof Ts[0]);
}

/* avx2's matvec runs each row of x through the same loop as a call with that
 * row alone: a short prompt's rows are bit for bit what decode gives. */
Test(matvec_x86, avx2_rows_of_a_short_prompt_are_its_one_row_calls)
{
    ck_plugin *p = load_runnable("avx2");
    if (!p)
        return;
    ck_exec_ctx *ctx = ck_exec_create(2);
    static const uint32_t dtypes[] = {CK_DTYPE_F32, CK_DTYPE_BF16, CK_DTYPE_F16};
    static const size_t Ks[] = {37, 4103};
    const size_t N = 70, T = 19;
    for (size_t d = 0; d < 3; d++)
        for (size_t ki = 0; ki < 2; ki++) {
            const size_t K = Ks[ki], es = dtypes[d] == CK_DTYPE_F32 ? 4 : 2;
            const ck_kernel_desc *kd = ck_plugin_kernel(p, CK_OP_LINEAR, dtypes[d], 0);
            float *x = malloc(T * K * sizeof *x), *y = malloc(T * N * sizeof *y), *y1 = malloc(N * sizeof *y1);
            unsigned char *w = malloc(N * K * es);
            cr_assert(kd && x && y && y1 && w);
            for (size_t i = 0; i < T * K; i++)
                x[i] = (float)small_int((uint32_t)i, 4) * 0.37f + (float)small_int((uint32_t)i, 5) * 0.0113f;
            for (size_t i = 0; i < N * K; i++) { /* any bit pattern: a 16-bit weight is widened exactly */
                uint32_t h = (uint32_t)small_int((uint32_t)i, 6) * 2654435761u + (uint32_t)i;
                if (es == 4) {
                    float v = (float)small_int((uint32_t)i, 6) * 0.25f + (float)(h % 97u) * 0.0013f;
                    memcpy(w + 4 * i, &v, 4);
                } else {
                    uint16_t v = (uint16_t)((h & 0x3fffu) | 0x3800u); /* finite, of either sign */
                    v ^= (uint16_t)((h >> 20) & 1u) << 15;
                    memcpy(w + 2 * i, &v, 2);
                }
            }
            ck_linear_args a = {x, w, NULL, y, T, K, N, dtypes[d]};
            cr_assert_eq(kd->fn(ctx, &a), CK_OK);
            for (size_t t = 0; t < T; t++) {
                ck_linear_args one = {x + t * K, w, NULL, y1, 1, K, N, dtypes[d]};
                cr_assert_eq(kd->fn(ctx, &one), CK_OK);
                cr_expect_arr_eq(y + t * N, y1, N * sizeof *y1,
                                 "dtype %u K=%zu: row %zu of T=%zu differs from its one-row call", dtypes[d], K, t, T);
            }
            free(x), free(y), free(y1), free(w);
        }
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}

/* The packed GEMM (T >= CK512_MATVEC_MAX_T) runs a short last group of x
 * on a 4- or 8-row micro-kernel instead of the 14-row one: each row's FMA
 * chain is the same, so a row's bits must not depend on how many rows
 * shared its group. The last 4, 5, 8 and 10 rows of T = 32, 33, 36 and 38
 * (groups of 14, 14 and the rest) against the same rows in a full group of
 * a T = 28 call over x shifted so, on non-integer values, for f32 and for
 * bf16 on both of its paths (widened below K = 2621, vdpbf16ps on split x
 * above). */
static float *linear_rows(const ck_kernel_desc *kd, ck_exec_ctx *ctx, const float *x, const void *w, uint32_t dtype,
                          size_t T, size_t K, size_t N)
{
    float *y = malloc(T * N * sizeof *y);
    cr_assert_not_null(y);
    ck_linear_args a = {x, w, NULL, y, T, K, N, dtype};
    cr_assert_eq(kd->fn(ctx, &a), CK_OK);
    return y;
}

Test(matvec_x86, gemm_rows_do_not_depend_on_their_group)
{
    char err[512];
    ck_plugin *p = ck_plugin_load("avx512", err, sizeof err);
    cr_assert_not_null(p, "loading avx512: %s", err);
    if (!p->runnable) {
        ck_plugin_unload(p);
        return;
    }
    ck_exec_ctx *ctx = ck_exec_create(2);
    static const struct {
        uint32_t dtype;
        size_t K;
    } cases[] = {{CK_DTYPE_F32, 300}, {CK_DTYPE_BF16, 300}, {CK_DTYPE_BF16, 3000}};
    static const size_t Ts[] = {32, 33, 36, 38};
    const size_t N = 70, full_T = 28, max_T = 38;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const uint32_t dtype = cases[ci].dtype;
        const size_t K = cases[ci].K, es = dtype == CK_DTYPE_F32 ? 4 : 2;
        const ck_kernel_desc *kd = ck_plugin_kernel(p, CK_OP_LINEAR, dtype, 0);
        float *x = malloc(max_T * K * sizeof *x);
        unsigned char *w = malloc(N * K * es);
        cr_assert(kd && x && w);
        for (size_t i = 0; i < max_T * K; i++)
            x[i] = (float)small_int((uint32_t)i, 4) * 0.37f + (float)small_int((uint32_t)i, 5) * 0.0113f;
        for (size_t i = 0; i < N * K; i++) {
            float v = (float)small_int((uint32_t)i, 6) * 0.25f + (float)small_int((uint32_t)i, 7) * 0.015625f;
            if (es == 4)
                memcpy(w + 4 * i, &v, 4);
            else {
                uint16_t h = f32_to_16(v, CK_DTYPE_BF16); /* exact: 8 significant bits at most */
                memcpy(w + 2 * i, &h, 2);
            }
        }
        for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
            const size_t T = Ts[ti], tail = T - full_T;
            float *y = linear_rows(kd, ctx, x, w, dtype, T, K, N);
            float *in_full = linear_rows(kd, ctx, x + tail * K, w, dtype, full_T, K, N);
            cr_expect_arr_eq(y + full_T * N, in_full + (full_T - tail) * N, tail * N * sizeof *y,
                             "dtype %u K=%zu: T=%zu's last group of %zu differs from the same rows in a group of 14",
                             dtype, K, T, tail);
            free(y), free(in_full);
        }
        free(x), free(w);
    }
    ck_exec_destroy(ctx);
    ck_plugin_unload(p);
}
