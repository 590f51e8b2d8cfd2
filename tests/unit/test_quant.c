/* Q8_0 / Q4_0: hand-computed blocks (bytes and values), round-trip bounds,
 * refusal of K not a multiple of 32, every ISA path of the quant plugin
 * bit-identical to its scalar path, and the quantised linear within the
 * bound of docs/quant.md of an f32 linear on the dequantised weights.
 * Everything goes through the plugin ABI, as the host would call it. */
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"

/* ---- plugin access -------------------------------------------------------- */

/* Load the quant plugin on one path (NULL: the plugin's own choice). */
static ck_plugin *load_quant(const char *isa)
{
    char err[CK_ERR_LEN];
    if (isa)
        setenv("CK_QUANT_ISA", isa, 1);
    else
        unsetenv("CK_QUANT_ISA");
    ck_plugin *p = ck_plugin_load("quant", err, sizeof err);
    cr_assert_not_null(p, "loading the quant plugin: %s", err);
    return p;
}

static ck_kernel_fn kernel(const ck_plugin *p, uint32_t op, uint32_t dtype)
{
    const ck_kernel_desc *k = ck_plugin_kernel(p, op, dtype, 0);
    cr_assert_not_null(k, "%s has no %s %s kernel", p->desc->name, ck_op_name(op), ck_dtype_name(dtype));
    return k->fn;
}

/* The paths this CPU must run, worst first (the last is the plugin's own
 * choice); the plugin must agree. */
static size_t runnable_paths(const char *out[5])
{
    size_t n = 0;
    out[n++] = "scalar";
#if defined(__x86_64__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2"); /* F16C comes with every AVX2 CPU */
    if (avx2)
        out[n++] = "avx2";
    unsigned a, b, c, d; /* AVX-VNNI: CPUID.(7,1):EAX[4] (not every compiler's cpu_supports knows it) */
    if (avx2 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 4) & 1u))
        out[n++] = "avxvnni";
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        out[n++] = "avx512vnni";
#elif defined(__aarch64__)
    out[n++] = "neon";
#endif
    return n;
}

static int run_quant_op(const ck_plugin *p, uint32_t op, uint32_t dtype, const void *src, void *dst, size_t n)
{
    ck_exec_ctx *ctx = ck_exec_create(1);
    ck_quant_args a = {src, dst, n, dtype};
    int rc = kernel(p, op, dtype)(ctx, &a);
    ck_exec_destroy(ctx);
    return rc;
}

/* ---- seeded data ---------------------------------------------------------- */

static uint64_t rng_state;
static double uniform01(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

/* Normal-ish values with a few outliers per block, like real weights. */
static float *random_floats(size_t n, uint64_t seed, float scale)
{
    float *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    rng_state = seed;
    for (size_t i = 0; i < n; i++) {
        double s = uniform01() + uniform01() + uniform01() - 1.5;
        x[i] = (float)(s * scale * (uniform01() < 0.02 ? 8.0 : 1.0));
    }
    return x;
}

/* ---- hand-computed blocks ------------------------------------------------- */

Test(quant_known, q8_0_block_bytes_and_values)
{
    /* amax = 127 gives d = 1 (f16 0x3c00) and 1/d = 1: q = roundf(x), which
     * rounds halves away from zero (0.5 -> 1, -2.5 -> -3) as ggml does. */
    float x[32] = {127, -127, 0.5f, -0.5f, 1.49f, -2.5f, 2.5f, 0, 100.2f, -99.7f};
    for (int j = 10; j < 32; j++)
        x[j] = (float)(j - 20);
    const int8_t want_q[32] = {127, -127, 1,  -1, 1, -3, 3, 0, 100, -100, -10, -9, -8, -7, -6, -5,
                               -4,  -3,   -2, -1, 0, 1,  2, 3, 4,   5,    6,   7,  8,  9,  10, 11};
    ck_plugin *p = load_quant(NULL);
    ck_block_q8_0 blk[1];
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q8_0, x, blk, 32), CK_OK);
    cr_assert_eq(sizeof blk[0], 34);
    cr_assert_eq(blk[0].d, 0x3c00, "scale bits %#06x, expected 0x3c00 (1.0)", blk[0].d);
    for (int j = 0; j < 32; j++)
        cr_assert_eq(blk[0].qs[j], want_q[j], "element %d: code %d, expected %d", j, blk[0].qs[j], want_q[j]);
    float y[32];
    cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, CK_DTYPE_Q8_0, blk, y, 32), CK_OK);
    for (int j = 0; j < 32; j++)
        cr_assert_eq(y[j], (float)want_q[j], "element %d", j);
    ck_plugin_unload(p);
}

Test(quant_known, q8_0_scale_rounded_to_f16)
{
    /* amax = 1: d = 1/127 = 0.007874015..., f16 0x2008 (0.0078735...);
     * codes use the unrounded 1/d = 127, so x = 1 -> 127, x = 0.25 -> 32
     * (31.75 rounds up), x = -0.1 -> -13 (-12.7). Dequantised values use
     * the f16 scale. An all-zero block has d = 0 and codes 0. */
    float x[64] = {1.0f, 0.25f, -0.1f};
    ck_plugin *p = load_quant(NULL);
    ck_block_q8_0 blk[2];
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q8_0, x, blk, 64), CK_OK);
    cr_assert_eq(blk[0].d, 0x2008, "scale bits %#06x", blk[0].d);
    cr_assert_eq(blk[0].qs[0], 127);
    cr_assert_eq(blk[0].qs[1], 32);
    cr_assert_eq(blk[0].qs[2], -13);
    cr_assert_eq(blk[1].d, 0);
    for (int j = 0; j < 32; j++)
        cr_assert_eq(blk[1].qs[j], 0);
    float y[64];
    cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, CK_DTYPE_Q8_0, blk, y, 64), CK_OK);
    cr_assert_eq(y[0], 127.0f * 0x1.02p-7f, "%a", (double)y[0]);
    cr_assert_eq(y[2], -13.0f * 0x1.02p-7f, "%a", (double)y[2]);
    ck_plugin_unload(p);
}

Test(quant_known, q4_0_block_bytes_and_values)
{
    /* Largest magnitude -8 (negative): d = -8 / -8 = 1 (0x3c00), 1/d = 1,
     * code = min(15, (int)(x + 8.5)). Element j sits in the low nibble of
     * byte j, element j + 16 in its high nibble. */
    float x[32] = {0};
    const float lo[16] = {-8, 7, 7.4f, -0.5f, 0.49f, 0.5f, 3, -3, 1, 2, -1, -2, 6, -6, 4.5f, -4.5f};
    const uint8_t lo_code[16] = {0, 15, 15, 8, 8, 9, 11, 5, 9, 10, 7, 6, 14, 2, 13, 4};
    for (int j = 0; j < 16; j++) {
        x[j] = lo[j];
        x[j + 16] = (float)(j - 8); /* codes 0..15 */
    }
    ck_plugin *p = load_quant(NULL);
    ck_block_q4_0 blk[1];
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q4_0, x, blk, 32), CK_OK);
    cr_assert_eq(sizeof blk[0], 18);
    cr_assert_eq(blk[0].d, 0x3c00, "scale bits %#06x", blk[0].d);
    for (int j = 0; j < 16; j++) {
        uint8_t want = (uint8_t)(lo_code[j] | (j << 4));
        cr_assert_eq(blk[0].qs[j], want, "byte %d: %#04x, expected %#04x", j, blk[0].qs[j], want);
    }
    float y[32];
    cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, CK_DTYPE_Q4_0, blk, y, 32), CK_OK);
    for (int j = 0; j < 16; j++) {
        cr_assert_eq(y[j], (float)(lo_code[j] - 8), "element %d", j);
        cr_assert_eq(y[j + 16], (float)(j - 8), "element %d", j + 16);
    }
    ck_plugin_unload(p);
}

Test(quant_known, q4_0_positive_max_flips_the_scale_and_clips)
{
    /* Largest magnitude +8 (first of equal magnitudes wins): d = -1 (0xbc00),
     * so 8 -> code 0 (value 8), -7 -> code 15 (value -7), and -8 would need
     * code 16: clipped to 15, value -7. */
    float x[32] = {8, -8, -7, 0, 1};
    ck_plugin *p = load_quant(NULL);
    ck_block_q4_0 blk[1];
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q4_0, x, blk, 32), CK_OK);
    cr_assert_eq(blk[0].d, 0xbc00, "scale bits %#06x", blk[0].d);
    cr_assert_eq(blk[0].qs[0], 0x80, "byte 0: %#04x", blk[0].qs[0]); /* x0 -> 0, x16 = 0 -> 8 */
    cr_assert_eq(blk[0].qs[1] & 0x0f, 15);
    cr_assert_eq(blk[0].qs[2] & 0x0f, 15);
    cr_assert_eq(blk[0].qs[4] & 0x0f, 7);
    float y[32];
    cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, CK_DTYPE_Q4_0, blk, y, 32), CK_OK);
    cr_assert_eq(y[0], 8.0f);
    cr_assert_eq(y[1], -7.0f);
    cr_assert_eq(y[2], -7.0f);
    cr_assert_eq(y[3], 0.0f);
    cr_assert_eq(y[4], 1.0f);
    ck_plugin_unload(p);
}

Test(quant_known, q8_0_linear_of_exact_blocks)
{
    /* Weights and activations that quantise exactly (amax 127 -> d = 1):
     * y = sum_k w_k * x_k in integers, plus the bias. */
    float w[2 * 32], x[32];
    double want[2] = {0, 0};
    for (int k = 0; k < 32; k++) {
        x[k] = (float)(k == 1 ? 127 : k % 2 ? 120 - 3 * k : -(k + 5));
        w[k] = (float)(k == 0 ? -127 : k - 16);
        w[32 + k] = (float)(k == 31 ? 127 : 3 - k);
        want[0] += (double)w[k] * x[k];
        want[1] += (double)w[32 + k] * x[k];
    }
    const char *paths[5];
    size_t np = runnable_paths(paths);
    for (size_t i = 0; i < np; i++) {
        ck_plugin *p = load_quant(paths[i]);
        ck_block_q8_0 wq[2];
        cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q8_0, w, wq, 64), CK_OK);
        float bias[2] = {0.5f, -1.0f}, y[2];
        ck_linear_args a = {x, wq, bias, y, 1, 32, 2, CK_DTYPE_Q8_0};
        ck_exec_ctx *ctx = ck_exec_create(1);
        cr_assert_eq(kernel(p, CK_OP_LINEAR, CK_DTYPE_Q8_0)(ctx, &a), CK_OK);
        ck_exec_destroy(ctx);
        cr_assert_eq(y[0], (float)want[0] + 0.5f, "%s: y0 = %g, expected %g", paths[i], y[0], want[0] + 0.5);
        cr_assert_eq(y[1], (float)want[1] - 1.0f, "%s: y1 = %g, expected %g", paths[i], y[1], want[1] - 1);
        ck_plugin_unload(p);
    }
}

/* ---- round trips ---------------------------------------------------------- */

/* docs/quant.md: with d = amax/127, |x - x^| <= 0.5625 d + 2^-18. */
Test(quant_roundtrip, q8_0_error_per_block_within_bound)
{
    const size_t n = 32 * 64;
    float *x = random_floats(n, 11, 1.0f);
    for (size_t j = 32; j < 64; j++)
        x[j] *= 1e-4f; /* a block whose f16 scale is subnormal */
    ck_block_q8_0 *q = malloc(n / 32 * sizeof *q);
    float *y = malloc(n * sizeof *y);
    ck_plugin *p = load_quant(NULL);
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q8_0, x, q, n), CK_OK);
    cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, CK_DTYPE_Q8_0, q, y, n), CK_OK);
    for (size_t b = 0; b < n / 32; b++) {
        double amax = 0;
        for (size_t j = 0; j < 32; j++)
            amax = fmax(amax, fabs(x[b * 32 + j]));
        double bound = 0.5625 * (amax / 127) + 0x1p-18;
        for (size_t j = 0; j < 32; j++) {
            double err = fabs((double)x[b * 32 + j] - y[b * 32 + j]);
            cr_assert(err <= bound, "block %zu element %zu: |%a - %a| = %g > bound %g", b, j, (double)x[b * 32 + j],
                      (double)y[b * 32 + j], err, bound);
        }
    }
    ck_plugin_unload(p);
    free(x), free(q), free(y);
}

/* docs/quant.md: with |d| = amax/8, |x - x^| <= |d| (1/2 + 2^-7) + 2^-22,
 * and |d| (1 + 2^-7) + 2^-22 for the elements clipped to code 15. */
Test(quant_roundtrip, q4_0_error_per_block_within_bound)
{
    const size_t n = 32 * 64;
    float *x = random_floats(n, 12, 1.0f);
    for (size_t j = 32; j < 64; j++)
        x[j] *= 1e-4f;
    ck_block_q4_0 *q = malloc(n / 32 * sizeof *q);
    float *y = malloc(n * sizeof *y);
    ck_plugin *p = load_quant(NULL);
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q4_0, x, q, n), CK_OK);
    cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, CK_DTYPE_Q4_0, q, y, n), CK_OK);
    size_t clipped = 0;
    for (size_t b = 0; b < n / 32; b++) {
        double amax = 0, m = 0;
        for (size_t j = 0; j < 32; j++)
            if (fabs(x[b * 32 + j]) > amax)
                amax = fabs(x[b * 32 + j]), m = x[b * 32 + j];
        double d = m / -8;
        for (size_t j = 0; j < 32; j++) {
            int at_clip = x[b * 32 + j] / d > 7.49;
            clipped += (size_t)at_clip;
            double bound = fabs(d) * ((at_clip ? 1.0 : 0.5) + 0x1p-7) + 0x1p-22;
            double err = fabs((double)x[b * 32 + j] - y[b * 32 + j]);
            cr_assert(err <= bound, "block %zu element %zu: |%a - %a| = %g > bound %g", b, j, (double)x[b * 32 + j],
                      (double)y[b * 32 + j], err, bound);
        }
    }
    cr_assert(clipped > 0, "the data should exercise the clipped end");
    ck_plugin_unload(p);
    free(x), free(q), free(y);
}

/* ---- refusals ------------------------------------------------------------- */

Test(quant_refuse, k_not_multiple_of_32_on_every_path)
{
    const char *paths[5];
    size_t np = runnable_paths(paths);
    float x[2 * 48] = {1}, y[2 * 5], src[40] = {1};
    unsigned char w[5 * 2 * 34] = {0}, dst[64];
    const uint32_t dtypes[2] = {CK_DTYPE_Q8_0, CK_DTYPE_Q4_0};
    ck_exec_ctx *ctx = ck_exec_create(2);
    for (size_t i = 0; i < np; i++) {
        ck_plugin *p = load_quant(paths[i]);
        for (int t = 0; t < 2; t++) {
            memset(y, 0x7f, sizeof y);
            ck_linear_args la = {x, w, NULL, y, 2, 48, 5, dtypes[t]};
            cr_assert_eq(kernel(p, CK_OP_LINEAR, dtypes[t])(ctx, &la), CK_E_UNSUPPORTED, "%s linear K=48", paths[i]);
            unsigned char poison[sizeof y];
            memset(poison, 0x7f, sizeof poison);
            cr_assert(memcmp(y, poison, sizeof y) == 0, "%s: y written although refused", paths[i]);
            ck_qkv_args qa = {x, w, w, w, NULL, NULL, NULL, y, y, y, 2, 48, 1, 1, 5, dtypes[t]};
            cr_assert_eq(kernel(p, CK_OP_QKV, dtypes[t])(ctx, &qa), CK_E_UNSUPPORTED, "%s qkv D=48", paths[i]);
            /* n % 32 for quantise / dequantise is the host's rule, checked before a kernel sees it */
            ck_quant_args qn = {src, dst, 40, dtypes[t]};
            cr_assert_eq(ck_op_check_args(CK_OP_QUANTIZE, &qn, NULL, 0), -1);
            cr_assert_eq(ck_op_check_args(CK_OP_DEQUANTIZE, &qn, NULL, 0), -1);
            /* a weight dtype the kernel was not registered for */
            ck_linear_args wrong = {x, w, NULL, y, 1, 32, 1, dtypes[1 - t]};
            cr_assert_eq(kernel(p, CK_OP_LINEAR, dtypes[t])(ctx, &wrong), CK_E_UNSUPPORTED);
        }
        ck_plugin_unload(p);
    }
    ck_exec_destroy(ctx);
}

Test(quant_refuse, unknown_or_unrunnable_path_is_a_probe_sentence)
{
    char err[CK_ERR_LEN];
    setenv("CK_QUANT_ISA", "sse9", 1);
    ck_plugin *p = ck_plugin_load("quant", err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    cr_assert(!p->runnable);
    cr_assert(strstr(p->why, "CK_QUANT_ISA=sse9 is not a path of this build") != NULL, "%s", p->why);
    cr_assert(strstr(p->why, "scalar") != NULL, "the sentence lists the choices: %s", p->why);
    ck_plugin_unload(p);
}

Test(quant_refuse, description_names_the_chosen_path)
{
    const char *paths[5];
    size_t np = runnable_paths(paths);
    ck_plugin *p = load_quant(NULL);
    char want[64];
    snprintf(want, sizeof want, "path: %s", paths[np - 1]);
    cr_assert(strstr(p->desc->description, want) != NULL, "'%s' lacks '%s'", p->desc->description, want);
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_LINEAR, CK_DTYPE_Q8_0, 0);
    snprintf(want, sizeof want, "q8_0-linear/%s", paths[np - 1]);
    cr_assert_str_eq(k->name, want);
    ck_plugin_unload(p);
}

/* ---- every path gives the scalar path's bits -------------------------------- */

typedef struct qcase {
    size_t T, K, N;
    int bias;
    size_t offset; /* bytes the weights start past a 64-byte boundary */
} qcase;

/* Odd N (tile tails), T = 1 (decode), small T (row kernels, odd T), and
 * T >= 16 (the prefill kernels where a path has them: whole groups of
 * activation rows and a remainder, sixteen-row tiles and a short last
 * one), one and many blocks. Block counts with every remainder mod 4
 * (the four-block steps) and above 4. Rows on 64-byte lines (K a multiple
 * of 1024, weights 64-byte aligned: the decode kernels' whole-line loads),
 * rows on 8 bytes at every offset into a line (q4_0's whole-line loads at
 * each row's own offset: K a multiple of 128, as LLaMA-7B's 11008) and the
 * same K off the line. The avx512vnni prefill kernel's tiles of 64 rows
 * in slices of 32: a last slice of more and of at most 16 rows, a second
 * tile of each, and K in chunks (T = 1024 and 2048 make chunks of 9 and 4
 * blocks: an odd block count splits into a short last chunk). */
static const qcase cases[] = {
    {1, 32, 1, 0, 0},    {1, 512, 37, 1, 0},  {3, 96, 8, 0, 0},      {5, 1024, 67, 1, 0},    {2, 4096, 17, 0, 0},
    {16, 64, 9, 1, 0},   {17, 256, 37, 0, 0}, {43, 96, 8, 1, 0},     {21, 32, 37, 1, 0},     {18, 2048, 3, 0, 0},
    {1, 160, 13, 1, 0},  {3, 224, 11, 0, 0},  {1, 192, 9, 1, 0},     {1, 1024, 19, 0, 0},    {1, 3072, 16, 1, 0},
    {1, 2048, 11, 1, 2}, {1, 1024, 9, 0, 8},  {24, 128, 33, 1, 0},   {32, 96, 48, 0, 0},     {31, 64, 16, 1, 0},
    {1, 1408, 13, 1, 0}, {1, 384, 21, 0, 24}, {1, 1536, 10, 0, 56},  {19, 160, 57, 1, 0},    {40, 96, 120, 0, 0},
    {17, 64, 133, 1, 0}, {16, 96, 150, 0, 0}, {1024, 320, 57, 1, 0}, {2048, 224, 150, 0, 0},
};

typedef struct qdata {
    float *x, *bias;
    void *w;      /* N rows of quantised blocks */
    float *wd;    /* the same, dequantised */
    void *w_base; /* what w was allocated as (w is offset bytes in) */
} qdata;

static qdata make_data(const ck_plugin *p, const qcase *c, uint32_t dtype, uint64_t seed)
{
    qdata d;
    d.x = random_floats(c->T * c->K, seed, 2.0f);
    d.bias = c->bias ? random_floats(c->N, seed + 1, 1.0f) : NULL;
    float *wf = random_floats(c->N * c->K, seed + 2, 0.05f);
    size_t w_bytes = ck_dtype_row_bytes(dtype, c->K) * c->N;
    d.w_base = aligned_alloc(64, (w_bytes + c->offset + 63) / 64 * 64);
    d.w = (unsigned char *)d.w_base + c->offset;
    d.wd = malloc(c->N * c->K * sizeof *d.wd);
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, dtype, wf, d.w, c->N * c->K), CK_OK);
    if (dtype == CK_DTYPE_Q8_0) /* -128 never comes out of the quantiser, but is a valid int8 in a file */
        for (size_t b = 0; b < c->N * c->K / 32; b += 7)
            ((ck_block_q8_0 *)d.w)[b].qs[b % 32] = -128;
    cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, dtype, d.w, d.wd, c->N * c->K), CK_OK);
    free(wf);
    return d;
}

static void free_data(qdata *d)
{
    free(d->x), free(d->bias), free(d->w_base), free(d->wd);
}

static float *run_linear(const ck_plugin *p, const qcase *c, uint32_t dtype, const qdata *d, int threads)
{
    float *y = malloc(c->T * c->N * sizeof *y);
    ck_linear_args a = {d->x, d->w, d->bias, y, c->T, c->K, c->N, dtype};
    ck_exec_ctx *ctx = ck_exec_create(threads);
    cr_assert_eq(kernel(p, CK_OP_LINEAR, dtype)(ctx, &a), CK_OK);
    ck_exec_destroy(ctx);
    return y;
}

static void expect_same_bits(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(&a[i], &b[i], sizeof a[i]) == 0, "%s: element %zu is %a, scalar path gives %a", what, i,
                  (double)a[i], (double)b[i]);
}

/* The path is a process-wide choice of the loaded library, so each path is
 * loaded alone: the scalar path's results first, then every path's. */
static void linear_paths_bit_identical(uint32_t dtype)
{
    const char *paths[5];
    size_t np = runnable_paths(paths);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ck_plugin *scalar = load_quant("scalar");
        qdata d = make_data(scalar, &cases[c], dtype, 100 + c);
        float *ref = run_linear(scalar, &cases[c], dtype, &d, 1);
        ck_plugin_unload(scalar);
        for (size_t i = 0; i < np; i++) {
            ck_plugin *p = load_quant(paths[i]);
            for (int threads = 1; threads <= 2; threads++) {
                char what[128];
                snprintf(what, sizeof what, "%s linear %s T=%zu K=%zu N=%zu, %d thread(s)", ck_dtype_name(dtype),
                         paths[i], cases[c].T, cases[c].K, cases[c].N, threads);
                float *y = run_linear(p, &cases[c], dtype, &d, threads);
                expect_same_bits(y, ref, cases[c].T * cases[c].N, what);
                free(y);
            }
            ck_plugin_unload(p);
        }
        free(ref);
        free_data(&d);
    }
}

Test(quant_paths, q8_0_linear_bit_identical)
{
    linear_paths_bit_identical(CK_DTYPE_Q8_0);
}
Test(quant_paths, q4_0_linear_bit_identical)
{
    linear_paths_bit_identical(CK_DTYPE_Q4_0);
}

/* Activations whose every other value quantises to a tie (each block's
 * amax is 127, so d = 1 and x * id = x), and some all-zero blocks (d = 0):
 * the paths' own activation quantisers must round halves away from zero as
 * the reference does. T is a whole number of the gemm kernels' row groups
 * and N leaves a short tile; 21 blocks: a batch of sixteen (the avx512vnni
 * quantiser's) and five more. */
static void activation_ties_paths_bit_identical(uint32_t dtype)
{
    const qcase c = {24, 672, 33, 1, 0};
    const char *paths[5];
    size_t np = runnable_paths(paths);
    ck_plugin *scalar = load_quant("scalar");
    qdata d = make_data(scalar, &c, dtype, 7);
    for (size_t i = 0; i < c.T * c.K; i++)
        d.x[i] = i / CK_QBLOCK % 7 == 3 ? 0.0f
                 : i % CK_QBLOCK == 0   ? 127.0f
                                        : (float)((int)(i % 61) - 30) + (i % 2 ? 0.5f : 0.25f);
    float *ref = run_linear(scalar, &c, dtype, &d, 1);
    ck_plugin_unload(scalar);
    for (size_t i = 0; i < np; i++) {
        ck_plugin *p = load_quant(paths[i]);
        char what[96];
        snprintf(what, sizeof what, "%s linear %s, ties", ck_dtype_name(dtype), paths[i]);
        float *y = run_linear(p, &c, dtype, &d, 2);
        expect_same_bits(y, ref, c.T * c.N, what);
        free(y);
        ck_plugin_unload(p);
    }
    free(ref);
    free_data(&d);
}

Test(quant_paths, q8_0_activation_ties_bit_identical)
{
    activation_ties_paths_bit_identical(CK_DTYPE_Q8_0);
}
Test(quant_paths, q4_0_activation_ties_bit_identical)
{
    activation_ties_paths_bit_identical(CK_DTYPE_Q4_0);
}

/* qkv = three linears on the same quantised activations, on every path. */
static void qkv_matches_linears(uint32_t dtype)
{
    const char *paths[5];
    size_t np = runnable_paths(paths);
    const size_t T = 19, D = 128, H = 4, Hkv = 2, hd = 24; /* T >= 16: prefill kernels too */
    const qcase cq = {T, D, H * hd, 1, 0}, ckv = {T, D, Hkv * hd, 1, 0};
    ck_plugin *scalar = load_quant("scalar");
    qdata dq = make_data(scalar, &cq, dtype, 7), dk = make_data(scalar, &ckv, dtype, 8);
    qdata dv = make_data(scalar, &ckv, dtype, 9);
    memcpy(dk.x, dq.x, T * D * sizeof *dq.x);
    memcpy(dv.x, dq.x, T * D * sizeof *dq.x);
    float *want_q = run_linear(scalar, &cq, dtype, &dq, 1), *want_k = run_linear(scalar, &ckv, dtype, &dk, 1);
    float *want_v = run_linear(scalar, &ckv, dtype, &dv, 1);
    ck_plugin_unload(scalar); /* one path loaded at a time */
    float *q = malloc(T * H * hd * sizeof *q), *k = malloc(T * Hkv * hd * sizeof *k);
    float *v = malloc(T * Hkv * hd * sizeof *v);
    for (size_t i = 0; i < np; i++) {
        ck_plugin *p = load_quant(paths[i]);
        ck_qkv_args a = {dq.x, dq.w, dk.w, dv.w, dq.bias, dk.bias, dv.bias, q, k, v, T, D, H, Hkv, hd, dtype};
        ck_exec_ctx *ctx = ck_exec_create(2);
        cr_assert_eq(kernel(p, CK_OP_QKV, dtype)(ctx, &a), CK_OK);
        ck_exec_destroy(ctx);
        expect_same_bits(q, want_q, T * H * hd, paths[i]);
        expect_same_bits(k, want_k, T * Hkv * hd, paths[i]);
        expect_same_bits(v, want_v, T * Hkv * hd, paths[i]);
        ck_plugin_unload(p);
    }
    free(q), free(k), free(v), free(want_q), free(want_k), free(want_v);
    free_data(&dq), free_data(&dk), free_data(&dv);
}

Test(quant_paths, q8_0_qkv_is_three_linears)
{
    qkv_matches_linears(CK_DTYPE_Q8_0);
}
Test(quant_paths, q4_0_qkv_is_three_linears)
{
    qkv_matches_linears(CK_DTYPE_Q4_0);
}

/* The largest integer terms the SIMD tricks must carry without saturating:
 * Q8_0 codes -128 against activation codes -127 (vpmaddubsw pairs of
 * 2 * 128 * 127 = 32512), Q4_0 nibbles 15 against +127 (eight steps of
 * pairs summed in int16: 8 * 2 * 15 * 127 = 30480). Every path must give the
 * scalar path's bits, and the scalar path the exact block sum. */
static void extreme_codes(uint32_t dtype)
{
    const char *paths[5];
    size_t np = runnable_paths(paths);
    const qcase c = {19, 64, 21, 0, 0}; /* prefill and row kernels both */
    size_t nblk = c.N * c.K / 32;
    float *x = malloc(c.T * c.K * sizeof *x);
    for (size_t i = 0; i < c.T * c.K; i++)
        x[i] = dtype == CK_DTYPE_Q8_0 ? -1.0f : 1.0f; /* codes -127 / +127, d_x = f16(1/127) */
    void *w = malloc(ck_dtype_row_bytes(dtype, c.K) * c.N);
    for (size_t b = 0; b < nblk; b++) {
        if (dtype == CK_DTYPE_Q8_0) {
            ck_block_q8_0 *blk = (ck_block_q8_0 *)w + b;
            blk->d = 0x3c00; /* 1.0 */
            memset(blk->qs, 0x80, sizeof blk->qs);
        } else {
            ck_block_q4_0 *blk = (ck_block_q4_0 *)w + b;
            blk->d = 0x3c00;
            memset(blk->qs, 0xff, sizeof blk->qs); /* code 15: value 7 */
        }
    }
    /* isum per block: 32 * (-128) * (-127) or 32 * 7 * 127 */
    double isum = dtype == CK_DTYPE_Q8_0 ? 32.0 * 128 * 127 : 32.0 * 7 * 127;
    double want = 2 * isum * (double)(1.0f / 127.0f);
    qdata d = {x, NULL, w, NULL, w};
    float *ref = NULL;
    for (size_t i = 0; i < np; i++) {
        ck_plugin *p = load_quant(paths[i]);
        float *y = run_linear(p, &c, dtype, &d, 2);
        if (i == 0) {
            cr_assert_str_eq(paths[0], "scalar");
            ref = y;
            cr_assert_float_eq(ref[0], want, want * 1e-3, "scalar gives %g, expected about %g", (double)ref[0], want);
        } else {
            char what[64];
            snprintf(what, sizeof what, "%s %s extreme codes", ck_dtype_name(dtype), paths[i]);
            expect_same_bits(y, ref, c.T * c.N, what);
            free(y);
        }
        ck_plugin_unload(p);
    }
    free(ref), free(x), free(w);
}

Test(quant_paths, q8_0_extreme_codes_do_not_saturate)
{
    extreme_codes(CK_DTYPE_Q8_0);
}
Test(quant_paths, q4_0_extreme_codes_do_not_saturate)
{
    extreme_codes(CK_DTYPE_Q4_0);
}

/* Quantise / dequantise run the reference on every path today; this keeps
 * any future SIMD quantiser honest. */
Test(quant_paths, quantize_dequantize_bit_identical)
{
    const char *paths[5];
    size_t np = runnable_paths(paths);
    const size_t n = 32 * 40;
    float *x = random_floats(n, 5, 3.0f);
    const uint32_t dtypes[2] = {CK_DTYPE_Q8_0, CK_DTYPE_Q4_0};
    for (int t = 0; t < 2; t++) {
        size_t bytes = ck_dtype_row_bytes(dtypes[t], n);
        unsigned char *ref = malloc(bytes), *q = malloc(bytes);
        float *yref = malloc(n * sizeof *yref), *y = malloc(n * sizeof *y);
        for (size_t i = 0; i < np; i++) {
            ck_plugin *p = load_quant(paths[i]);
            cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, dtypes[t], x, i ? q : ref, n), CK_OK);
            cr_assert_eq(run_quant_op(p, CK_OP_DEQUANTIZE, dtypes[t], ref, i ? y : yref, n), CK_OK);
            if (i) {
                cr_assert(memcmp(q, ref, bytes) == 0, "%s quantize differs from scalar", paths[i]);
                expect_same_bits(y, yref, n, paths[i]);
            }
            ck_plugin_unload(p);
        }
        free(ref), free(q), free(yref), free(y);
    }
    free(x);
}

/* ---- against f32 on the dequantised weights -------------------------------- */

/* docs/quant.md: |y - y_deq| <= sum_b e_b * sum_{k in b} |w^_k|
 *                              + (nb + 2) 2^-24 (sum_k |w^_k| (|x_k| + e_b) + |bias|),
 * e_b = 0.5625 amax_b(x) / 127 + 2^-18: the activation quantisation error,
 * then the f32 rounding of the block-order sum. y_deq in double. */
static void linear_within_bound(uint32_t dtype)
{
    ck_plugin *p = load_quant(NULL);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const qcase *s = &cases[c];
        qdata d = make_data(p, s, dtype, 300 + c);
        float *y = run_linear(p, s, dtype, &d, 2);
        size_t nb = s->K / 32;
        double worst = 0;
        for (size_t t = 0; t < s->T; t++) {
            const float *x = d.x + t * s->K;
            for (size_t n = 0; n < s->N; n++) {
                const float *w = d.wd + n * s->K;
                double exact = d.bias ? d.bias[n] : 0, quant_err = 0, mass = d.bias ? fabs(d.bias[n]) : 0;
                for (size_t b = 0; b < nb; b++) {
                    double amax = 0;
                    for (size_t k = b * 32; k < b * 32 + 32; k++)
                        amax = fmax(amax, fabs(x[k]));
                    double e = 0.5625 * amax / 127 + 0x1p-18;
                    for (size_t k = b * 32; k < b * 32 + 32; k++) {
                        exact += (double)w[k] * x[k];
                        quant_err += fabs(w[k]) * e;
                        mass += fabs(w[k]) * (fabs(x[k]) + e);
                    }
                }
                double bound = quant_err + (double)(nb + 2) * 0x1p-24 * mass;
                double err = fabs(y[t * s->N + n] - exact);
                cr_assert(err <= bound,
                          "%s T=%zu K=%zu N=%zu: y[%zu][%zu] = %g, f32 on dequantised weights %g, "
                          "error %g > bound %g",
                          ck_dtype_name(dtype), s->T, s->K, s->N, t, n, (double)y[t * s->N + n], exact, err, bound);
                worst = fmax(worst, err / bound);
            }
        }
        cr_assert(worst > 0, "activations are quantised, so some error is expected");
        free(y);
        free_data(&d);
    }
    ck_plugin_unload(p);
}

Test(quant_bound, q8_0_linear_vs_dequantised_f32)
{
    linear_within_bound(CK_DTYPE_Q8_0);
}
Test(quant_bound, q4_0_linear_vs_dequantised_f32)
{
    linear_within_bound(CK_DTYPE_Q4_0);
}

/* ---- the quantisers against ggml's formulas, restated here ------------------ */

static float *tie_heavy_floats(size_t n, uint64_t seed)
{
    float *x = random_floats(n, seed, 4.0f);
    for (size_t i = 0; i < n; i += 3) /* many exact halves and integers */
        x[i] = (float)((int)(x[i] * 8.0f)) * 0.5f;
    return x;
}

Test(quant_formula, q8_0_matches_roundf_of_x_times_inverse_d)
{
    const size_t n = 32 * 256;
    float *x = tie_heavy_floats(n, 21);
    ck_block_q8_0 *q = malloc(n / 32 * sizeof *q);
    ck_plugin *p = load_quant(NULL);
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q8_0, x, q, n), CK_OK);
    for (size_t b = 0; b < n / 32; b++) {
        float amax = 0.0f;
        for (size_t j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[b * 32 + j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        cr_assert_eq(q[b].d, ck_f32_to_f16(d), "block %zu scale", b);
        for (size_t j = 0; j < 32; j++) {
            int want = (int)roundf(x[b * 32 + j] * id);
            cr_assert_eq(q[b].qs[j], want, "block %zu element %zu (%a): code %d, roundf gives %d", b, j,
                         (double)x[b * 32 + j], q[b].qs[j], want);
        }
    }
    ck_plugin_unload(p);
    free(x), free(q);
}

Test(quant_formula, q4_0_matches_ggml_formula)
{
    const size_t n = 32 * 256;
    float *x = tie_heavy_floats(n, 22);
    ck_block_q4_0 *q = malloc(n / 32 * sizeof *q);
    ck_plugin *p = load_quant(NULL);
    cr_assert_eq(run_quant_op(p, CK_OP_QUANTIZE, CK_DTYPE_Q4_0, x, q, n), CK_OK);
    for (size_t b = 0; b < n / 32; b++) {
        float amax = 0.0f, max = 0.0f;
        for (size_t j = 0; j < 32; j++)
            if (amax < fabsf(x[b * 32 + j]))
                amax = fabsf(x[b * 32 + j]), max = x[b * 32 + j];
        float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        cr_assert_eq(q[b].d, ck_f32_to_f16(d), "block %zu scale", b);
        for (size_t j = 0; j < 32; j++) {
            int code = (int)(x[b * 32 + j] * id + 8.5f);
            code = code < 15 ? code : 15;
            int got = j < 16 ? q[b].qs[j] & 0x0f : q[b].qs[j - 16] >> 4;
            cr_assert_eq(got, code, "block %zu element %zu: code %d, expected %d", b, j, got, code);
        }
    }
    ck_plugin_unload(p);
    free(x), free(q);
}
