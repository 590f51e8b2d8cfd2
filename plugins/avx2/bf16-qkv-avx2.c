/* qkv with bf16 weights: three linears whose [T, H*hd] outputs are the
 * [T, H, hd] head layout (output column h*hd + d is weight row h*hd + d). */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

int ck_avx2_bf16_qkv(const ck_exec_ctx *ctx, const void *args)
{
    const ck_qkv_args *a = args;
    if (!a || a->w_dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    if (a->n_kv_heads == 0 || a->n_heads % a->n_kv_heads != 0)
        return CK_E_UNSUPPORTED;
    size_t nq = a->n_heads * a->head_dim, nkv = a->n_kv_heads * a->head_dim;
    const avx2_linear_problem parts[3] = {
        {a->x, a->wq, CK_DTYPE_BF16, a->bq, a->q, nq, a->T, a->D, nq},
        {a->x, a->wk, CK_DTYPE_BF16, a->bk, a->k, nkv, a->T, a->D, nkv},
        {a->x, a->wv, CK_DTYPE_BF16, a->bv, a->v, nkv, a->T, a->D, nkv},
    };
    for (int i = 0; i < 3; i++) {
        int rc = avx2_linear(ctx, &parts[i]);
        if (rc != CK_OK)
            return rc;
    }
    return CK_OK;
}
