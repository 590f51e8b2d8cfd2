/* The parity gate's test subject for many heads: an f32 attention whose
 * per-head state is indexed by the head's low five bits, as with arrays
 * sized for 32 heads, so heads from 32 on come out as the head 32 (or 64,
 * 96) before them. Right for up to 32 heads, which every edge case
 * but the many-head ones has (Llama-2 70B's 64, Falcon-40B's 128 must name
 * it). Declines windows, soft-caps and written scores. One thread.
 * tests/unit/test_parity.c checks the verdicts. */
#include "attention_ref.h"
#include "test_plugin.h"

static int attention_32_heads(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD)
        return CK_E_UNSUPPORTED;
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            double sum = 0, acc[REF_MAX_HD] = {0}; /* the defect: head h computed as head h & 31 */
            ref_attend_keys(a, h & 31, t, 0, ref_keys_seen(a, t), a->scale, &sum, acc);
            ref_write_out(a, h, t, acc, sum);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/32-heads-of-state", attention_32_heads},
};

CK_TEST_PLUGIN("broken_heads", "attention whose per-head state is sized for 32 heads")
