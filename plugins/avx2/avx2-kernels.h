/* avx2-kernels.h — the kernel entry points of the avx2 plugin, for the
 * kernel table in plugin.c. Free of intrinsics on purpose: plugin.c is
 * compiled without ISA flags so that its probe runs on any x86-64. */
#ifndef CK_AVX2_KERNELS_H
#define CK_AVX2_KERNELS_H

#include "ck_plugin.h"

int ck_avx2_f32_rmsnorm(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_layernorm(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_linear(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_bf16_linear(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f16_linear(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_qkv(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_bf16_qkv(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f16_qkv(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_rope(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_attention(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_swiglu(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_gelu(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_add(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_embedding(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_bf16_embedding(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f16_embedding(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_adam(const ck_exec_ctx *ctx, const void *args);
/* backward (training) kernels */
int ck_avx2_f32_rmsnorm_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_layernorm_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_linear_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_qkv_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_rope_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_attention_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_swiglu_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_gelu_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_embedding_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_cross_entropy(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_embed_norm(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_bf16_embed_norm(const ck_exec_ctx *ctx, const void *args);
int ck_avx2_f32_add_norm(const ck_exec_ctx *ctx, const void *args);

#endif /* CK_AVX2_KERNELS_H */
