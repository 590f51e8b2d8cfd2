/* The parity gate's test subject for arguments a kernel written for
 * LLaMA-2 might not read, right in every other way:
 *   attention  scales the scores by 1 / sqrt(head_dim) whatever the
 *              arguments say; Gemma-2 27B (query_pre_attn_scalar 144 at
 *              head_dim 128) and tiny-window's 10 need the scale passed.
 *              Declines windows, soft-caps and written scores.
 *   rope       computes its own angles, theta 10000, instead of reading the
 *              tables: Llama 3's 500000 (and its scaling), Qwen's 1e6 need
 *              the tables. Neox pairing, whole heads only.
 * Every case at LLaMA-2's defaults passes; those with another scale
 * (`scale=`) or other tables (inputs=theta-500000) must name them. One
 * thread. tests/unit/test_parity.c checks the verdicts. */
#include <math.h>

#include "attention_ref.h"
#include "test_plugin.h"

static int attention_fixed_scale(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD)
        return CK_E_UNSUPPORTED;
    const double scale = 1.0 / sqrt((double)a->head_dim); /* the defect: a->scale unread */
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            double sum = 0, acc[REF_MAX_HD] = {0};
            ref_attend_keys(a, h, t, 0, ref_keys_seen(a, t), scale, &sum, acc);
            ref_write_out(a, h, t, acc, sum);
        }
    return CK_OK;
}

/* The host's table entry for (pos, i) at theta 10000, rounded to f32 as
 * core/rope_table.c does, then the reference's f32 rotation: bit for bit
 * the reference wherever the tables are theta 10000's. */
static void rotate(float *x, size_t hd, size_t pos)
{
    for (size_t i = 0; i < hd / 2; i++) {
        double a = (double)pos * pow(10000.0, -2.0 * (double)i / (double)hd); /* the defect: the tables unread */
        float c = (float)cos(a), sn = (float)sin(a), x0 = x[i], x1 = x[i + hd / 2];
        float p00 = x0 * c, p11 = x1 * sn, p01 = x0 * sn, p10 = x1 * c;
        x[i] = p00 - p11;
        x[i + hd / 2] = p01 + p10;
    }
}

static int rope_own_angles(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    (void)ctx;
    if (a->pairing != CK_ROPE_NEOX || (a->rotary_dim && a->rotary_dim != a->head_dim))
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++) {
        for (size_t h = 0; h < a->n_heads; h++)
            rotate(a->q + (t * a->n_heads + h) * a->head_dim, a->head_dim, a->pos_offset + t);
        for (size_t h = 0; a->k && h < a->n_kv_heads; h++)
            rotate(a->k + (t * a->n_kv_heads + h) * a->head_dim, a->head_dim, a->pos_offset + t);
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/scale-from-head-dim", attention_fixed_scale},
    {CK_OP_ROPE, CK_DTYPE_F32, 0, "f32-rope/own-angles-theta-10000", rope_own_angles},
};

CK_TEST_PLUGIN("broken_defaults", "attention scaled by 1 / sqrt(head_dim), rope by theta 10000, whatever they are told")
