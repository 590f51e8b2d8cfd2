/* The scalar reference plugin: plain C that defines the semantics of every
 * op (docs/ops.md). Runs everywhere, so it has no probe. Every other plugin
 * is checked against these kernels by `ckbench parity`.
 *
 * The kernel table is the one list below; quantised-weight reference kernels
 * (quant-*.c) are added to it as further rows. */
#include "scalar.h"
#include "scalar-bwd.h"
#include "scalar-fused.h"
#include "quant-scalar.h"

static const ck_kernel_desc scalar_kernels[] = {
    {CK_OP_RMSNORM, CK_DTYPE_F32, 0, "f32-rmsnorm/scalar", ck_scalar_f32_rmsnorm},
    {CK_OP_LAYERNORM, CK_DTYPE_F32, 0, "f32-layernorm/scalar", ck_scalar_f32_layernorm},
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/scalar", ck_scalar_f32_linear},
    {CK_OP_LINEAR, CK_DTYPE_BF16, 0, "bf16-linear/scalar", ck_scalar_bf16_linear},
    {CK_OP_LINEAR, CK_DTYPE_F16, 0, "f16-linear/scalar", ck_scalar_f16_linear},
    {CK_OP_QKV, CK_DTYPE_F32, 0, "f32-qkv/scalar", ck_scalar_f32_qkv},
    {CK_OP_QKV, CK_DTYPE_BF16, 0, "bf16-qkv/scalar", ck_scalar_bf16_qkv},
    {CK_OP_QKV, CK_DTYPE_F16, 0, "f16-qkv/scalar", ck_scalar_f16_qkv},
    {CK_OP_ROPE, CK_DTYPE_F32, 0, "f32-rope/scalar", ck_scalar_f32_rope},
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/scalar", ck_scalar_f32_attention},
    {CK_OP_SWIGLU, CK_DTYPE_F32, 0, "f32-swiglu/scalar", ck_scalar_f32_swiglu},
    {CK_OP_GELU, CK_DTYPE_F32, 0, "f32-gelu/scalar", ck_scalar_f32_gelu},
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/scalar", ck_scalar_f32_add},
    {CK_OP_EMBEDDING, CK_DTYPE_F32, 0, "f32-embedding/scalar", ck_scalar_f32_embedding},
    {CK_OP_EMBEDDING, CK_DTYPE_BF16, 0, "bf16-embedding/scalar", ck_scalar_bf16_embedding},
    {CK_OP_EMBEDDING, CK_DTYPE_F16, 0, "f16-embedding/scalar", ck_scalar_f16_embedding},
    {CK_OP_ADAM, CK_DTYPE_F32, 0, "f32-adam/scalar", ck_scalar_f32_adam},
    /* Q8_0 / Q4_0 weights (GGUF blocks): quant-*.c, docs/quant.md */
    {CK_OP_LINEAR, CK_DTYPE_Q8_0, 0, "q8_0-linear/scalar", ck_scalar_q8_0_linear},
    {CK_OP_LINEAR, CK_DTYPE_Q4_0, 0, "q4_0-linear/scalar", ck_scalar_q4_0_linear},
    {CK_OP_QKV, CK_DTYPE_Q8_0, 0, "q8_0-qkv/scalar", ck_scalar_q8_0_qkv},
    {CK_OP_QKV, CK_DTYPE_Q4_0, 0, "q4_0-qkv/scalar", ck_scalar_q4_0_qkv},
    {CK_OP_QUANTIZE, CK_DTYPE_Q8_0, 0, "q8_0-quantize/scalar", ck_scalar_q8_0_quantize},
    {CK_OP_QUANTIZE, CK_DTYPE_Q4_0, 0, "q4_0-quantize/scalar", ck_scalar_q4_0_quantize},
    {CK_OP_DEQUANTIZE, CK_DTYPE_Q8_0, 0, "q8_0-dequantize/scalar", ck_scalar_q8_0_dequantize},
    {CK_OP_DEQUANTIZE, CK_DTYPE_Q4_0, 0, "q4_0-dequantize/scalar", ck_scalar_q4_0_dequantize},
    {CK_OP_EMBEDDING, CK_DTYPE_Q8_0, 0, "q8_0-embedding/scalar", ck_scalar_q8_0_embedding},
    {CK_OP_EMBEDDING, CK_DTYPE_Q4_0, 0, "q4_0-embedding/scalar", ck_scalar_q4_0_embedding},
    /* backward (training) reference kernels: scalar-bwd.h */
    {CK_OP_RMSNORM_BWD, CK_DTYPE_F32, 0, "f32-rmsnorm_bwd/scalar", ck_scalar_f32_rmsnorm_bwd},
    {CK_OP_LAYERNORM_BWD, CK_DTYPE_F32, 0, "f32-layernorm_bwd/scalar", ck_scalar_f32_layernorm_bwd},
    {CK_OP_LINEAR_BWD, CK_DTYPE_F32, 0, "f32-linear_bwd/scalar", ck_scalar_f32_linear_bwd},
    {CK_OP_QKV_BWD, CK_DTYPE_F32, 0, "f32-qkv_bwd/scalar", ck_scalar_f32_qkv_bwd},
    {CK_OP_ROPE_BWD, CK_DTYPE_F32, 0, "f32-rope_bwd/scalar", ck_scalar_f32_rope_bwd},
    {CK_OP_ATTENTION_BWD, CK_DTYPE_F32, 0, "f32-attention_bwd/scalar", ck_scalar_f32_attention_bwd},
    {CK_OP_SWIGLU_BWD, CK_DTYPE_F32, 0, "f32-swiglu_bwd/scalar", ck_scalar_f32_swiglu_bwd},
    {CK_OP_GELU_BWD, CK_DTYPE_F32, 0, "f32-gelu_bwd/scalar", ck_scalar_f32_gelu_bwd},
    {CK_OP_EMBEDDING_BWD, CK_DTYPE_F32, 0, "f32-embedding_bwd/scalar", ck_scalar_f32_embedding_bwd},
    {CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, 0, "f32-cross_entropy/scalar", ck_scalar_f32_cross_entropy},
    /* fused ops: their members in order (fused-scalar.c) */
    {CK_OP_EMBED_NORM, CK_DTYPE_F32, CK_KF_FUSED, "f32-embed_norm/scalar", ck_scalar_embed_norm},
    {CK_OP_EMBED_NORM, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-embed_norm/scalar", ck_scalar_embed_norm},
    {CK_OP_NORM_QKV, CK_DTYPE_F32, CK_KF_FUSED, "f32-norm_qkv/scalar", ck_scalar_norm_qkv},
    {CK_OP_NORM_QKV, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-norm_qkv/scalar", ck_scalar_norm_qkv},
    {CK_OP_QKV_ROPE, CK_DTYPE_F32, CK_KF_FUSED, "f32-qkv_rope/scalar", ck_scalar_qkv_rope},
    {CK_OP_QKV_ROPE, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-qkv_rope/scalar", ck_scalar_qkv_rope},
    {CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED, "f32-attn_proj/scalar", ck_scalar_attn_proj},
    {CK_OP_ATTN_PROJ, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-attn_proj/scalar", ck_scalar_attn_proj},
    {CK_OP_NORM_MLP, CK_DTYPE_F32, CK_KF_FUSED, "f32-norm_mlp/scalar", ck_scalar_norm_mlp},
    {CK_OP_NORM_MLP, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-norm_mlp/scalar", ck_scalar_norm_mlp},
    {CK_OP_GATE_UP, CK_DTYPE_F32, CK_KF_FUSED, "f32-gate_up/scalar", ck_scalar_gate_up},
    {CK_OP_GATE_UP, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-gate_up/scalar", ck_scalar_gate_up},
    {CK_OP_ACT_DOWN, CK_DTYPE_F32, CK_KF_FUSED, "f32-act_down/scalar", ck_scalar_act_down},
    {CK_OP_ACT_DOWN, CK_DTYPE_BF16, CK_KF_FUSED, "bf16-act_down/scalar", ck_scalar_act_down},
    {CK_OP_ADD_NORM, CK_DTYPE_F32, CK_KF_FUSED, "f32-add_norm/scalar", ck_scalar_add_norm},
};

static const ck_plugin_desc scalar_plugin = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .name = "scalar",
    .version = "0.1.0",
    .description = "reference kernels in plain C: the semantics every plugin is checked against",
    .probe = NULL,
    .kernels = scalar_kernels,
    .n_kernels = sizeof scalar_kernels / sizeof scalar_kernels[0],
    .init = NULL,
    .fini = NULL,
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &scalar_plugin;
}
