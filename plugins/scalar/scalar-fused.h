/* scalar-fused.h — fused reference kernels (fused-scalar.c). One function
 * per fused op serves every weight dtype the scalar linears know (f32, bf16):
 * it dispatches on the members' own dtype fields. */
#ifndef CK_SCALAR_FUSED_H
#define CK_SCALAR_FUSED_H

#include "ck_plugin.h"

int ck_scalar_embed_norm(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_norm_qkv(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_qkv_rope(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_attn_proj(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_norm_mlp(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_gate_up(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_act_down(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_add_norm(const ck_exec_ctx *ctx, const void *args);

#endif
