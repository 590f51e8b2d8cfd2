/* The parity gate's test subject for the attention scale: an f32
 * attention right in every way but that it scales the scores by
 * 1 / sqrt(head_dim) whatever the arguments say, as a kernel written for
 * LLaMA would; Gemma-2 27B (query_pre_attn_scalar 144 at head_dim 128) and
 * tiny-window's 10 need the scale passed. Every case at the default scale
 * passes; those with another (`scale=` in the instance) must name it.
 * Declines windows, soft-caps and written scores. One thread.
 * tests/unit/test_parity.c checks the verdicts. */
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
            for (size_t d = 0; d < a->head_dim; d++)
                a->out[(t * a->n_heads + h) * a->head_dim + d] = (float)(acc[d] / sum);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/scale-from-head-dim", attention_fixed_scale},
};

CK_TEST_PLUGIN("broken_scale", "attention that scales by 1 / sqrt(head_dim) whatever it is told")
