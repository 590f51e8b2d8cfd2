/* The parity gate's test subject for the causal mask of one query row: an
 * f32 attention whose decode path (T = 1) reads all S keys unmasked, since
 * a decode row at position S - 1 sees every key. Row 0 sits at q_pos
 * (docs/ops.md), not at S - 1: over a cache that holds keys past q_pos
 * (S > q_pos + T) those keys must be masked. Its prefill path is right.
 * Declines windows, soft-caps, written scores
 * and (to keep its test short) caches over 40 keys and more than 3 rows. One thread.
 * tests/unit/test_parity.c checks the verdicts. */
#include "attention_ref.h"
#include "test_plugin.h"

static int attention_decode_unmasked(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD || a->S > 40 || a->T > 3)
        return CK_E_UNSUPPORTED;
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            double sum = 0, acc[REF_MAX_HD] = {0};
            size_t end = a->T == 1 ? a->S : ref_keys_seen(a, t); /* the defect: q_pos unread at T = 1 */
            ref_attend_keys(a, h, t, 0, end, a->scale, &sum, acc);
            ref_write_out(a, h, t, acc, sum);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/decode-sees-all-keys", attention_decode_unmasked},
};

CK_TEST_PLUGIN("broken_decode_mask", "attention whose decode row ignores q_pos")
