/* The avx2 plugin's entry point, probe and kernel table. Compiled WITHOUT
 * -mavx2/-mfma (see plugin.mk) so that the probe itself runs on any x86-64
 * and can say what is missing instead of dying on an illegal instruction. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#include "avx2-kernels.h"

/* CPUID feature bits (Intel SDM vol. 2A, CPUID). */
#define LEAF1_ECX_FMA (1u << 12)
#define LEAF1_ECX_OSXSAVE (1u << 27)
#define LEAF1_ECX_AVX (1u << 28)
#define LEAF1_ECX_F16C (1u << 29)
#define LEAF7_EBX_AVX2 (1u << 5)
/* XCR0: the OS saves SSE (bit 1) and AVX (bit 2) register state. */
#define XCR0_SSE_AVX 0x6u

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void append(char *why, size_t why_size, const char *what)
{
    size_t used = strlen(why);
    if (used + 1 >= why_size)
        return;
    snprintf(why + used, why_size - used, "%s%s", used ? ", " : "", what);
}

/* Needs AVX2, FMA and F16C (every AVX2 CPU has it; f16 weights use it) in
 * CPUID, and an OS that saves the YMM registers. */
static int avx2_probe(char *why, size_t why_size)
{
    char missing[192] = "";
    unsigned a, b, c, d;
    int os_ymm = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        if (why && why_size)
            snprintf(why, why_size, "needs CPUID leaf 1 (not reported by this CPU)");
        return 0;
    }
    unsigned ecx1 = c;
    if (!(ecx1 & LEAF1_ECX_AVX))
        append(missing, sizeof missing, "avx (CPUID.1:ECX bit 28)");
    if (!(ecx1 & LEAF1_ECX_FMA))
        append(missing, sizeof missing, "fma (CPUID.1:ECX bit 12)");
    if (!(ecx1 & LEAF1_ECX_F16C))
        append(missing, sizeof missing, "f16c (CPUID.1:ECX bit 29)");
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & LEAF7_EBX_AVX2))
        append(missing, sizeof missing, "avx2 (CPUID.7.0:EBX bit 5)");
    if (ecx1 & LEAF1_ECX_OSXSAVE)
        os_ymm = (read_xcr0() & XCR0_SSE_AVX) == XCR0_SSE_AVX;
    if (!os_ymm)
        append(missing, sizeof missing, "OS support for the YMM registers (OSXSAVE and XCR0 bits 1-2)");
    if (!missing[0])
        return 1;
    if (why && why_size)
        snprintf(why, why_size, "needs %s", missing);
    return 0;
}

static const ck_kernel_desc kernels[] = {
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_ROW(avx2, dt, op, DT, OP, flags)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_KERNEL_ROW_FN(avx2, dt, op, DT, OP, flags, fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "avx2",
    .version = "0.1.0",
    .description = "x86-64 AVX2+FMA(+F16C) kernels: packed 6x16 GEMM, flash-style streaming attention, vector exp",
    .probe = avx2_probe,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
