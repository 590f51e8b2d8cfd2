/* The avx512 plugin: entry point, CPU probe and kernel table.
 *
 * Compiled WITHOUT AVX-512 flags (plugin.mk): on a CPU that lacks them the
 * host still gets the probe's sentence ("needs avx512bw") instead of SIGILL.
 * Nothing here executes an AVX-512 instruction. */
#include <stdio.h>
#include <string.h>

#include "avx512-kernels.h"
#include "ck_prefetch_level.h"

int ck_avx512_has_bf16;    /* set by init() */
int ck_avx512_prefetch_l2; /* set by init() */

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static int probed_l2; /* the probe's answer of ck_prefetch_level_l2, for init() */

/* XCR0 via xgetbv(0), written as bytes so no -mxsave flag is needed. */
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* XCR0 state the OS must save for zmm code: SSE (1), AVX (2), opmask (5),
 * ZMM_Hi256 (6), Hi16_ZMM (7). */
#define XCR0_AVX512_STATE ((1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7))

static int probe(char *why, size_t why_size)
{
    unsigned a, b, c, d;
    char missing[128] = "";
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        snprintf(why, why_size, "needs CPUID leaf 1 (not reported by this CPU)");
        return 0;
    }
    int has_fma = (c >> 12) & 1, has_osxsave = (c >> 27) & 1;
    unsigned b7 = 0, c7 = 0, d7 = 0;
    if (__get_cpuid_max(0, NULL) >= 7)
        __cpuid_count(7, 0, a, b7, c7, d7);
    struct {
        int ok;
        const char *name;
    } need[] = {
        {has_fma, "fma"},
        {(b7 >> 16) & 1, "avx512f"},
        {(b7 >> 30) & 1, "avx512bw"},
        {(b7 >> 31) & 1, "avx512vl"},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (need[i].ok)
            continue;
        size_t len = strlen(missing);
        snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "", need[i].name);
    }
    if (missing[0]) {
        snprintf(why, why_size, "needs %s (not reported by CPUID on this CPU)", missing);
        return 0;
    }
    if (!has_osxsave) {
        snprintf(why, why_size, "needs OS support for AVX-512 state (OSXSAVE is off, so XGETBV is unavailable)");
        return 0;
    }
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & XCR0_AVX512_STATE) != XCR0_AVX512_STATE) {
        snprintf(why, why_size,
                 "needs OS support for AVX-512 state: XCR0 is 0x%llx, bits 1,2,5,6,7 (0x%x) must all be set",
                 (unsigned long long)xcr0, XCR0_AVX512_STATE);
        return 0;
    }
    probed_l2 = ck_prefetch_level_l2(why, why_size);
    return probed_l2 >= 0;
}

/* Runs after a successful probe: records the optional AVX512_BF16 and the
 * prefetch level for the kernels that choose a variant at run time. */
static int init(void)
{
    unsigned a = 0, b, c, d;
    if (__get_cpuid_max(0, NULL) >= 7)
        __cpuid_count(7, 1, a, b, c, d);
    ck_avx512_has_bf16 = (a >> 5) & 1;
    ck_avx512_prefetch_l2 = probed_l2 == 1;
    return 0;
}
#else
static int probe(char *why, size_t why_size)
{
    snprintf(why, why_size, "needs an x86-64 CPU with avx512f, avx512bw and avx512vl");
    return 0;
}

static int init(void)
{
    return 0;
}
#endif

static const ck_kernel_desc kernels[] = {
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_ROW(avx512, dt, op, DT, OP, flags)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_KERNEL_ROW_FN(avx512, dt, op, DT, OP, flags, fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "avx512",
    .version = "0.1.0",
    .description = "x86-64 AVX-512 F/BW/VL kernels (packed FMA GEMM, streaming attention)",
    .probe = probe,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
    .init = init,
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
