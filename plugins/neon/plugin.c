/* The NEON plugin's entry point, probe and kernel table.
 *
 * Compiled without ISA flags (it is the base file of plugin.mk). The probe
 * reads the kernel's hardware capability bits with getauxval: ASIMD is
 * required; the dot-product and BF16 extensions are recorded in ck_neon_cpu
 * for kernels that choose a path at run time, and shown in the description
 * so that `ckbench list` tells what this CPU offers. */
#if !defined(__aarch64__)
#error "plugins/neon is AArch64 only; build it with make CROSS=aarch64-linux-gnu- (neon_ARCH := aarch64)"
#endif

#include <stdio.h>
#include <sys/auxv.h>

#include "neon-common.h"

/* The bit numbers are the Linux arm64 ABI (arch/arm64/include/uapi/asm/hwcap.h);
 * older libc headers may not name them. */
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1UL << 14)
#endif

ck_neon_features ck_neon_cpu;

static char description[160] = "AArch64 NEON (ASIMD) kernels";

static int neon_probe(char *why, size_t why_size)
{
    unsigned long hw = getauxval(AT_HWCAP);
    unsigned long hw2 = getauxval(AT_HWCAP2);
    ck_neon_cpu.asimd = (hw & HWCAP_ASIMD) != 0;
    ck_neon_cpu.dotprod = (hw & HWCAP_ASIMDDP) != 0;
    ck_neon_cpu.bf16 = (hw2 & HWCAP2_BF16) != 0;
    snprintf(description, sizeof description,
             "AArch64 NEON (ASIMD) kernels; this CPU: dotprod %s, bf16 %s (f32 paths used for both)",
             ck_neon_cpu.dotprod ? "yes" : "no", ck_neon_cpu.bf16 ? "yes" : "no");
    if (!ck_neon_cpu.asimd) {
        snprintf(why, why_size, "needs AArch64 ASIMD (NEON); AT_HWCAP does not list asimd");
        return 0;
    }
    return 1;
}

static const ck_kernel_desc kernels[] = {
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_ROW(neon, dt, op, DT, OP, flags)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_KERNEL_ROW_FN(neon, dt, op, DT, OP, flags, fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "neon",
    .version = "0.1.0",
    .description = description,
    .probe = neon_probe,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
