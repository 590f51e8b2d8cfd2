/* The parity gate's test subject for attention over a long KV cache: the
 * keys of each query row taken in splits of 256 (as split-K decode
 * kernels do), each split's softmax kept as its max, sum and p . V, and the
 * splits merged; the defect: splits from the third on are added without
 * rescaling to the common max (their exp(m_i - m) taken as 1). Right for up
 * to 512 keys, so every earlier edge case passes (the longest it takes has
 * 17 keys; the longer ones have windows); the "edge blocks" decode rows
 * over 1000 and 5000 keys must name it. No window or
 * softcap flag; declines written scores. Plain C in double, one thread;
 * tests/unit/test_parity.c checks the verdicts. */
#include <math.h>

#include "attention_ref.h"
#include "test_plugin.h"

#define SPLIT 256
static int attention_splits(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD)
        return CK_E_UNSUPPORTED;
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            size_t end = ref_keys_seen(a, t);
            double m = -INFINITY, l = 0, out[REF_MAX_HD] = {0};
            for (size_t s0 = 0, i = 0; s0 < end; s0 += SPLIT, i++) {
                double sum = 0, acc[REF_MAX_HD] = {0};
                double mi = ref_attend_keys(a, h, t, s0, s0 + SPLIT < end ? s0 + SPLIT : end, a->scale, &sum, acc);
                double mn = mi > m ? mi : m, old = exp(m - mn), fresh = i >= 2 ? 1.0 : exp(mi - mn); /* the defect */
                l = l * old + sum * fresh;
                for (size_t d = 0; d < a->head_dim; d++)
                    out[d] = out[d] * old + acc[d] * fresh;
                m = mn;
            }
            ref_write_out(a, h, t, out, l);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/splits-past-two-unscaled", attention_splits},
};

CK_TEST_PLUGIN("broken_splits", "attention in splits of 256 keys, the third on merged unscaled")
