/* The avx512 plugin: entry point, CPU probe and kernel table.
 *
 * Compiled WITHOUT AVX-512 flags (plugin.mk): on a CPU that lacks them the
 * host still gets the probe's sentence ("needs avx512bw") instead of SIGILL.
 * Nothing here executes an AVX-512 instruction. */
#include <stdio.h>
#include <string.h>

#include "avx512-kernels.h"

int ck_avx512_has_bf16; /* set by init() */

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

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
    return 1;
}

/* Runs after a successful probe: records the optional AVX512_BF16 for the
 * kernels that choose a variant at run time. */
static int init(void)
{
    unsigned a = 0, b, c, d;
    if (__get_cpuid_max(0, NULL) >= 7)
        __cpuid_count(7, 1, a, b, c, d);
    ck_avx512_has_bf16 = (a >> 5) & 1;
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
    {CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/avx512", ck_avx512_f32_rmsnorm},
    {CK_OP_LAYERNORM, CK_DTYPE_F32, 0, "f32-layernorm/avx512", ck_avx512_f32_layernorm},
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/avx512", ck_avx512_f32_linear},
    {CK_OP_LINEAR, CK_DTYPE_BF16, 0, "bf16-linear/avx512", ck_avx512_bf16_linear},
    {CK_OP_LINEAR, CK_DTYPE_F16, 0, "f16-linear/avx512", ck_avx512_f16_linear},
    {CK_OP_QKV, CK_DTYPE_F32, 0, "f32-qkv/avx512", ck_avx512_f32_qkv},
    {CK_OP_QKV, CK_DTYPE_BF16, 0, "bf16-qkv/avx512", ck_avx512_bf16_qkv},
    {CK_OP_QKV, CK_DTYPE_F16, 0, "f16-qkv/avx512", ck_avx512_f16_qkv},
    {CK_OP_ROPE, CK_DTYPE_F32, 0, "f32-rope/avx512", ck_avx512_f32_rope},
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/avx512", ck_avx512_f32_attention},
    {CK_OP_SWIGLU, CK_DTYPE_F32, 0, "f32-swiglu/avx512", ck_avx512_f32_swiglu},
    {CK_OP_GELU, CK_DTYPE_F32, 0, "f32-gelu/avx512", ck_avx512_f32_gelu},
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/avx512", ck_avx512_f32_add},
    {CK_OP_EMBEDDING, CK_DTYPE_F32, 0, "f32-embedding/avx512", ck_avx512_f32_embedding},
    {CK_OP_EMBEDDING, CK_DTYPE_BF16, 0, "bf16-embedding/avx512", ck_avx512_bf16_embedding},
    {CK_OP_EMBEDDING, CK_DTYPE_F16, 0, "f16-embedding/avx512", ck_avx512_f16_embedding},
    {CK_OP_ADAM, CK_DTYPE_F32, 0, "f32-adam/avx512", ck_avx512_f32_adam},
    /* backward (training) kernels */
    {CK_OP_RMSNORM_BWD, CK_DTYPE_F32, 0, "f32-rmsnorm_bwd/avx512", ck_avx512_f32_rmsnorm_bwd},
    {CK_OP_LAYERNORM_BWD, CK_DTYPE_F32, 0, "f32-layernorm_bwd/avx512", ck_avx512_f32_layernorm_bwd},
    {CK_OP_LINEAR_BWD, CK_DTYPE_F32, 0, "f32-linear_bwd/avx512", ck_avx512_f32_linear_bwd},
    {CK_OP_QKV_BWD, CK_DTYPE_F32, 0, "f32-qkv_bwd/avx512", ck_avx512_f32_qkv_bwd},
    {CK_OP_ROPE_BWD, CK_DTYPE_F32, 0, "f32-rope_bwd/avx512", ck_avx512_f32_rope_bwd},
    {CK_OP_ATTENTION_BWD, CK_DTYPE_F32, 0, "f32-attention_bwd/avx512", ck_avx512_f32_attention_bwd},
    {CK_OP_SWIGLU_BWD, CK_DTYPE_F32, 0, "f32-swiglu_bwd/avx512", ck_avx512_f32_swiglu_bwd},
    {CK_OP_GELU_BWD, CK_DTYPE_F32, 0, "f32-gelu_bwd/avx512", ck_avx512_f32_gelu_bwd},
    {CK_OP_EMBEDDING_BWD, CK_DTYPE_F32, 0, "f32-embedding_bwd/avx512", ck_avx512_f32_embedding_bwd},
    {CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, 0, "f32-cross_entropy/avx512", ck_avx512_f32_cross_entropy},
    /* fused kernels (the fusion pass, docs/ops.md) */
    {CK_OP_EMBED_NORM, CK_DTYPE_F32, CK_KF_FUSED, "f32-embed_norm/avx512", ck_avx512_f32_embed_norm},
    {CK_OP_EMBED_NORM, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-embed_norm/avx512", ck_avx512_bf16_embed_norm},
    {CK_OP_NORM_QKV, CK_DTYPE_F32, CK_KF_FUSED, "f32-norm_qkv/avx512", ck_avx512_f32_norm_qkv},
    {CK_OP_NORM_QKV, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-norm_qkv/avx512", ck_avx512_bf16_norm_qkv},
    {CK_OP_NORM_MLP, CK_DTYPE_F32, CK_KF_FUSED, "f32-norm_mlp/avx512", ck_avx512_f32_norm_mlp},
    {CK_OP_NORM_MLP, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-norm_mlp/avx512", ck_avx512_bf16_norm_mlp},
    {CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED, "f32-act_down/avx512", ck_avx512_f32_act_down},
    {CK_OP_ACT_DOWN, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-act_down/avx512", ck_avx512_bf16_act_down},
    {CK_OP_ADD_NORM, CK_DTYPE_F32, CK_KF_FUSED, "f32-add_norm/avx512", ck_avx512_f32_add_norm},
};

static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
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
