/* The quant plugin: Q8_0 / Q4_0 weights in the GGUF block layout.
 *
 * One kernel per (op, dtype) in the table; each linear / qkv kernel runs the
 * shared driver (plugins/shared/quant/quant-linear-driver.c) with the kernels
 * (row kernel for decode, optional gemm kernel for prefill) of the path
 * chosen at load time: the best this CPU runs (avx512vnni > avxvnni > avx2 >
 * scalar on x86-64; neon on AArch64), or the one named by the environment
 * variable CK_QUANT_ISA. Every path gives the scalar path's bits, so the
 * choice changes speed only. The chosen path is in the description and in the
 * kernel names, which `ckbench list` prints. Quantise / dequantise are the
 * reference code on every path (they are not on the hot path: weights are
 * quantised once, activations inside the linear kernel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_kernel_table.h"
#include "ck_prefetch_level.h"
#include "quant.h"

#if defined(__x86_64__)
int ck_quant_prefetch_l2; /* quant.h */
#endif

typedef struct quant_path {
    const char *name;
    const char *needs; /* what the CPU must have, for the refusal sentence */
    int (*supported)(void);
    ck_qkernels q8_0, q4_0;
} quant_path;

static int always(void)
{
    return 1;
}

#if defined(__x86_64__)
#include <cpuid.h>

/* CPUID feature bits plus the OS's consent (XCR0) to save the AVX / AVX-512
 * register state; by hand because not every compiler's
 * __builtin_cpu_supports knows "f16c". */
static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int has_avx2(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const unsigned osxsave = 1u << 27, avx = 1u << 28, f16c = 1u << 29;
    if ((c & (osxsave | avx | f16c)) != (osxsave | avx | f16c) || (xcr0() & 0x6) != 0x6)
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b >> 5) & 1u; /* AVX2 */
}

/* AVX-VNNI: CPUID.(7,1):EAX[4], VEX-encoded vpdpbusd on AVX registers. */
static int has_avxvnni(void)
{
    unsigned a, b, c, d;
    return has_avx2() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 4) & 1u);
}

static int has_avx512vnni(void)
{
    unsigned a, b, c, d;
    if (!has_avx2() || (xcr0() & 0xe6) != 0xe6) /* + opmask, ZMM_Hi256, Hi16_ZMM */
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    const unsigned f = 1u << 16, bw = 1u << 30, vl = 1u << 31, vnni = 1u << 11;
    return (b & (f | bw | vl)) == (f | bw | vl) && (c & vnni);
}
#endif

/* Best first. */
static const quant_path paths[] = {
#if defined(__x86_64__)
    {"avx512vnni",
     "avx512f, avx512bw, avx512vl and avx512vnni",
     has_avx512vnni,
     {ck_quant_q8_0_rows_avx512vnni, ck_quant_q8_0_gemm_avx512vnni, CK_QGEMM_MIN_T, 2 * CK_QGEMM_PACKED_BLOCK,
      ck_quant_q8_0_acts_avx512vnni, CK_QVNNI_GEMM_ROWS},
     {ck_quant_q4_0_rows_avx512vnni, ck_quant_q4_0_gemm_avx512vnni, CK_QGEMM_MIN_T, 2 * CK_QGEMM_PACKED_BLOCK,
      ck_quant_q8_0_acts_avx512vnni, CK_QVNNI_GEMM_ROWS}},
    {"avxvnni",
     "avx2, f16c and avxvnni",
     has_avxvnni,
     {ck_quant_q8_0_rows_avx2, ck_quant_q8_0_gemm_avxvnni, CK_QGEMM_MIN_T, CK_QGEMM_PACKED_BLOCK, NULL, CK_QGEMM_ROWS},
     {ck_quant_q4_0_rows_avx2, ck_quant_q4_0_gemm_avxvnni, CK_QGEMM_MIN_T, CK_QGEMM_PACKED_BLOCK, NULL, CK_QGEMM_ROWS}},
    {"avx2",
     "avx2 and f16c",
     has_avx2,
     {ck_quant_q8_0_rows_avx2, ck_quant_q8_0_gemm_avx2, CK_QGEMM_MIN_T, CK_QGEMM_PACKED_BLOCK, NULL, CK_QGEMM_ROWS},
     {ck_quant_q4_0_rows_avx2, ck_quant_q4_0_gemm_avx2, CK_QGEMM_MIN_T, CK_QGEMM_PACKED_BLOCK, NULL, CK_QGEMM_ROWS}},
#endif
#if defined(__aarch64__)
    {"neon",
     "AArch64 (NEON is baseline)",
     always,
     {ck_quant_q8_0_rows_neon, NULL, 0, 0, NULL},
     {ck_quant_q4_0_rows_neon, NULL, 0, 0, NULL}},
#endif
    {"scalar", "nothing", always, {ck_q8_0_rows_ref, NULL, 0, 0, NULL, 0}, {ck_q4_0_rows_ref, NULL, 0, 0, NULL, 0}},
};
#define N_PATHS (sizeof paths / sizeof paths[0])

static const quant_path *chosen;
static char refusal[200]; /* non-empty: CK_QUANT_ISA asked for a path that cannot run */

static void choose_path(void)
{
    const char *want = getenv("CK_QUANT_ISA");
    chosen = NULL;
    refusal[0] = '\0';
    for (size_t i = 0; i < N_PATHS; i++) {
        if (want && *want && strcmp(want, paths[i].name) != 0)
            continue;
        if (paths[i].supported()) {
            chosen = &paths[i];
            return;
        }
        snprintf(refusal, sizeof refusal, "CK_QUANT_ISA=%s needs %s, which this CPU lacks", want, paths[i].needs);
        return;
    }
    int len = snprintf(refusal, sizeof refusal, "CK_QUANT_ISA=%s is not a path of this build; choose one of:", want);
    for (size_t i = 0; i < N_PATHS && len > 0 && (size_t)len < sizeof refusal; i++)
        len += snprintf(refusal + len, sizeof refusal - (size_t)len, " %s", paths[i].name);
}

static int quant_probe(char *why, size_t why_size)
{
    if (chosen)
        return 1;
    snprintf(why, why_size, "%s", refusal);
    return 0;
}

/* The path's kernels behind each weight kernel, and its name, which carries
 * the chosen path: "q8_0-linear/avx2". */
#define CK_QKERNEL(dt, op, DT, OP, exec)                                                                               \
    static int dt##_##op(const ck_exec_ctx *ctx, const void *args)                                                     \
    {                                                                                                                  \
        return exec(ctx, args, CK_DTYPE_##DT, &chosen->dt);                                                            \
    }                                                                                                                  \
    static char name_##dt##_##op[48];
#include "kernels.def"
#undef CK_QKERNEL
static char description[200];

static ck_kernel_desc quant_kernels[] = {
#define CK_QKERNEL(dt, op, DT, OP, exec) {CK_OP_##OP, CK_DTYPE_##DT, 0, name_##dt##_##op, dt##_##op},
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_ROW(scalar, dt, op, DT, OP, flags)
#include "kernels.def"
#undef CK_QKERNEL
#undef CK_KERNEL
};

static const ck_plugin_desc quant_plugin = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "quant",
    .version = "0.1.0",
    .description = description,
    .probe = quant_probe,
    .kernels = quant_kernels,
    .n_kernels = sizeof quant_kernels / sizeof quant_kernels[0],
    .init = NULL,
    .fini = NULL,
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    choose_path();
    int l2 = ck_prefetch_level_l2(refusal, sizeof refusal);
    if (l2 < 0)
        chosen = NULL;
#if defined(__x86_64__)
    ck_quant_prefetch_l2 = l2 == 1;
#endif
    const char *path = chosen ? chosen->name : "none";
    const char *forced = getenv("CK_QUANT_ISA");
    snprintf(description, sizeof description,
             "Q8_0/Q4_0 weights (GGUF blocks), activations quantised to Q8_0; path: %s%s", path,
             forced && *forced ? " (set by CK_QUANT_ISA)" : " (best on this CPU; CK_QUANT_ISA overrides)");
#define CK_QKERNEL(dt, op, DT, OP, exec) snprintf(name_##dt##_##op, sizeof name_##dt##_##op, #dt "-" #op "/%s", path);
#include "kernels.def"
#undef CK_QKERNEL
    return &quant_plugin;
}
