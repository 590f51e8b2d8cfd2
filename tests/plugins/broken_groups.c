/* The parity gate's test subject for grouped-query attention with a group
 * that is no power of two: an f32 attention, attention_bwd and attn_proj that find a
 * query head's kv head by a shift, h >> ctz(H / Hkv), as kernels written
 * for groups of 1, 2, 4 and 8 do. Right for every such group; wrong for Llama-3.2-3B's 3
 * (24 / 8), Qwen2.5-14B's 5 (40 / 8) and Qwen2.5-7B's 7 (28 / 4), where
 * head h reads kv head h (or past the last). Declines windows, soft-caps,
 * written scores and (to keep its test short) caches over 40 keys and more than 9 rows. One thread. tests/unit/test_parity.c checks the verdicts. */
#include <stdlib.h>

#include "attention_bwd_ref.h"
#include "attention_ref.h"
#include "test_plugin.h"

/* the defect, both kernels: h / G only where G is a power of two; kept
 * inside k and v (wrong values, not a fault) */
static size_t kv_head_by_shift(size_t h, size_t H, size_t Hkv)
{
    size_t kvh = h >> __builtin_ctzll((unsigned long long)(H / Hkv));
    return kvh < Hkv ? kvh : Hkv - 1;
}

static int attention_shifted_groups(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD || a->S > 40 || a->T > 9)
        return CK_E_UNSUPPORTED;
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            double sum = 0, acc[REF_MAX_HD] = {0};
            size_t kvh = kv_head_by_shift(h, a->n_heads, a->n_kv_heads);
            ref_attend_keys_of(a, h, kvh, t, 0, ref_keys_seen(a, t), a->scale, &sum, acc);
            ref_write_out(a, h, t, acc, sum);
        }
    return CK_OK;
}

static int attention_bwd_shifted_groups(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_bwd_args *a = args;
    (void)ctx;
    if (a->window || a->softcap > 0.0f || a->S > 40 || a->T > 9) /* its group cases are 9 rows */
        return CK_E_UNSUPPORTED;
    return ref_attention_bwd(a, kv_head_by_shift);
}

/* the fused attention and output projection: the attention above, then
 * the projection of its out in double */
static int attn_proj_shifted_groups(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_attn_proj_args *f = args;
    const ck_linear_args *l = &f->proj;
    if (l->w_dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    int rc = attention_shifted_groups(ctx, &f->attn);
    const float *w = l->w;
    for (size_t t = 0; rc == CK_OK && t < l->T; t++)
        for (size_t n = 0; n < l->N; n++) {
            double acc = l->bias ? l->bias[n] : 0.0;
            for (size_t k = 0; k < l->K; k++)
                acc += (double)l->x[t * l->K + k] * w[n * l->K + k];
            l->y[t * l->N + n] = (float)acc;
        }
    return rc;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/group-by-shift", attention_shifted_groups},
    {CK_OP_ATTENTION_BWD, CK_DTYPE_F32, 0, "f32-attention_bwd/group-by-shift", attention_bwd_shifted_groups},
    {CK_OP_ATTN_PROJ, CK_DTYPE_F32, CK_KF_FUSED, "f32-attn_proj/group-by-shift", attn_proj_shifted_groups},
};

CK_TEST_PLUGIN("broken_groups", "attention, attention_bwd and attn_proj that map query heads to kv heads by a shift")
