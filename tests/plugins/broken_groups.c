/* The parity gate's test subject for grouped-query attention with a group
 * that is no power of two: an f32 attention, attention_bwd and attn_proj that find a
 * query head's kv head by a shift, h >> ctz(H / Hkv), as kernels written
 * for groups of 1, 2, 4 and 8 do. Right for every such group; wrong for Llama-3.2-3B's 3
 * (24 / 8), Qwen2.5-14B's 5 (40 / 8) and Qwen2.5-7B's 7 (28 / 4), where
 * head h reads kv head h (or past the last). Declines windows, soft-caps,
 * written scores and (to keep its test short) caches over 40 keys and more than 9 rows. One thread. tests/unit/test_parity.c checks the verdicts. */
#include <stdlib.h>

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

/* one query row: P over the keys it sees, dq, and its shares of dk, dv */
static void attention_bwd_row(const ck_attention_bwd_args *a, size_t h, size_t t, double *p, double *dk, double *dv)
{
    const size_t hd = a->head_dim, kvh = kv_head_by_shift(h, a->n_heads, a->n_kv_heads), pos = a->q_pos + t;
    const size_t n = a->causal && pos + 1 < a->S ? pos + 1 : a->S;
    const float *q = a->q + (t * a->n_heads + h) * hd, *dout = a->dout + (t * a->n_heads + h) * hd;
    double mx = -INFINITY, sum = 0, pdp = 0, *dp = p + a->S;
    for (size_t s = 0; s < n; s++) {
        double d = 0;
        for (size_t i = 0; i < hd; i++)
            d += (double)q[i] * a->k[(s * a->n_kv_heads + kvh) * hd + i];
        p[s] = d * a->scale;
        mx = p[s] > mx ? p[s] : mx;
    }
    for (size_t s = 0; s < n; s++)
        sum += (p[s] = exp(p[s] - mx));
    for (size_t s = 0; s < n; s++) {
        p[s] /= sum;
        dp[s] = 0;
        for (size_t i = 0; i < hd; i++) {
            dp[s] += (double)dout[i] * a->v[(s * a->n_kv_heads + kvh) * hd + i];
            dv[(s * a->n_kv_heads + kvh) * hd + i] += p[s] * dout[i];
        }
        pdp += p[s] * dp[s];
    }
    for (size_t i = 0; i < hd; i++) {
        double g = 0;
        for (size_t s = 0; s < n; s++)
            g += p[s] * (dp[s] - pdp) * a->k[(s * a->n_kv_heads + kvh) * hd + i];
        if (a->dq)
            a->dq[(t * a->n_heads + h) * hd + i] = (float)(g * a->scale);
    }
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < hd; i++)
            dk[(s * a->n_kv_heads + kvh) * hd + i] += p[s] * (dp[s] - pdp) * a->scale * q[i];
}

static int attention_bwd_shifted_groups(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_bwd_args *a = args;
    (void)ctx;
    if (a->window || a->softcap > 0.0f || a->S > 40 || a->T > 9) /* its group cases are 9 rows */
        return CK_E_UNSUPPORTED;
    const size_t kvn = a->S * a->n_kv_heads * a->head_dim;
    double *p = calloc(2 * a->S + 1, sizeof *p), *dk = calloc(kvn + 1, sizeof *dk), *dv = calloc(kvn + 1, sizeof *dv);
    int rc = p && dk && dv ? CK_OK : CK_E_NOMEM;
    for (size_t h = 0; rc == CK_OK && h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++)
            attention_bwd_row(a, h, t, p, dk, dv);
    for (size_t i = 0; rc == CK_OK && i < kvn; i++) {
        if (a->dk)
            a->dk[i] = (float)dk[i];
        if (a->dv)
            a->dv[i] = (float)dv[i];
    }
    free(p);
    free(dk);
    free(dv);
    return rc;
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
