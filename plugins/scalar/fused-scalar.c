/* Fused reference kernels: each is its members run in order through the
 * scalar kernels, writing the intermediate buffers. That IS the definition of
 * a fused op (ck_plugin.h): a SIMD fused kernel must equal this sequence
 * within the tolerance of its slowest member, and may skip the intermediate
 * writes. */
#include "scalar.h"
#include "scalar-fused.h"

static int norm(const ck_exec_ctx *ctx, uint32_t kind, const ck_norm_args *a)
{
    if (kind == CK_NORM_RMS)
        return ck_scalar_f32_rmsnorm(ctx, a);
    if (kind == CK_NORM_LAYER)
        return ck_scalar_f32_layernorm(ctx, a);
    return CK_E_UNSUPPORTED;
}

static int linear(const ck_exec_ctx *ctx, const ck_linear_args *a)
{
    if (a->w_dtype == CK_DTYPE_F32)
        return ck_scalar_f32_linear(ctx, a);
    if (a->w_dtype == CK_DTYPE_BF16)
        return ck_scalar_bf16_linear(ctx, a);
    return CK_E_UNSUPPORTED;
}

static int qkv(const ck_exec_ctx *ctx, const ck_qkv_args *a)
{
    if (a->w_dtype == CK_DTYPE_F32)
        return ck_scalar_f32_qkv(ctx, a);
    if (a->w_dtype == CK_DTYPE_BF16)
        return ck_scalar_bf16_qkv(ctx, a);
    return CK_E_UNSUPPORTED;
}

static int embedding(const ck_exec_ctx *ctx, const ck_embedding_args *a)
{
    if (a->dtype == CK_DTYPE_F32)
        return ck_scalar_f32_embedding(ctx, a);
    if (a->dtype == CK_DTYPE_BF16)
        return ck_scalar_bf16_embedding(ctx, a);
    return CK_E_UNSUPPORTED;
}

/* Runs two members in order, stopping at the first that refuses. */
#define THEN(first, second)                                                                                            \
    do {                                                                                                               \
        int rc_ = (first);                                                                                             \
        return rc_ != CK_OK ? rc_ : (second);                                                                          \
    } while (0)

int ck_scalar_embed_norm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_embed_norm_args *a = args;
    THEN(embedding(ctx, &a->embed), norm(ctx, a->norm_kind, &a->norm));
}

int ck_scalar_norm_qkv(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_norm_qkv_args *a = args;
    THEN(norm(ctx, a->norm_kind, &a->norm), qkv(ctx, &a->qkv));
}

int ck_scalar_qkv_rope(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_qkv_rope_args *a = args;
    THEN(qkv(ctx, &a->qkv), ck_scalar_f32_rope(ctx, &a->rope));
}

int ck_scalar_attn_proj(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_attn_proj_args *a = args;
    THEN(ck_scalar_f32_attention(ctx, &a->attn), linear(ctx, &a->proj));
}

int ck_scalar_norm_mlp(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_norm_mlp_args *a = args;
    int rc = norm(ctx, a->norm_kind, &a->norm);
    if (rc == CK_OK && a->gate.w)
        rc = linear(ctx, &a->gate);
    return rc != CK_OK ? rc : linear(ctx, &a->up);
}

int ck_scalar_gate_up(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_gate_up_args *a = args;
    int rc = linear(ctx, &a->gate);
    if (rc == CK_OK)
        rc = linear(ctx, &a->up);
    return rc != CK_OK ? rc : ck_scalar_f32_swiglu(ctx, &a->act);
}

int ck_scalar_act_down(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_act_down_args *a = args;
    if (a->act_kind == CK_ACTIVATION_SWIGLU)
        THEN(ck_scalar_f32_swiglu(ctx, &a->swiglu), linear(ctx, &a->down));
    if (a->act_kind == CK_ACTIVATION_GELU)
        THEN(ck_scalar_f32_gelu(ctx, &a->gelu), linear(ctx, &a->down));
    if (a->act_kind == CK_ACTIVATION_GELU_ERF)
        THEN(ck_scalar_f32_gelu_erf(ctx, &a->gelu), linear(ctx, &a->down));
    if (a->act_kind == CK_ACTIVATION_QUICK_GELU)
        THEN(ck_scalar_f32_quick_gelu(ctx, &a->gelu), linear(ctx, &a->down));
    return CK_E_UNSUPPORTED;
}

int ck_scalar_add_norm(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_add_norm_args *a = args;
    THEN(ck_scalar_f32_add(ctx, &a->add), norm(ctx, a->norm_kind, &a->norm));
}
