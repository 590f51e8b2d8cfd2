/* scalar-bwd.h — backward (training) reference kernels of the scalar plugin.
 * Same rules as the forward reference: reductions in double, rounded once;
 * exact-class ops (rope_bwd, embedding_bwd) in the documented f32 order. */
#ifndef CK_SCALAR_BWD_H
#define CK_SCALAR_BWD_H

#include "ck_plugin.h"

int ck_scalar_f32_rmsnorm_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_layernorm_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_linear_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_qkv_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_rope_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_attention_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_swiglu_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_geglu_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_gelu_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_gelu_erf_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_quick_gelu_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_embedding_bwd(const ck_exec_ctx *ctx, const void *args);
int ck_scalar_f32_cross_entropy(const ck_exec_ctx *ctx, const void *args);

/* Weight gradient and input gradient of one projection y = x . W^T + b:
 * dx (+)= dy . W when accumulate_dx, else =; dw = dy^T . x; db = sum_t dy. */
void scalar_linear_bwd_into(const float *x, const float *w, const float *dy, double *dx_acc, float *dw, float *db,
                            size_t T, size_t K, size_t N);

#endif
