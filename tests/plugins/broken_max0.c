/* The parity gate's test subject for the softmax's shift: an f32 attention
 * whose online softmax starts its running max at 0 instead of -inf (and
 * takes exp in f32, as a kernel does), so a row whose scores all lie below
 * exp's range (under -103.9) sums to 0 and gives 0 / 0. Right whenever one
 * score of a row is above about -87, which random scores are; softmax is
 * shift-invariant, so the row's probabilities are still defined there.
 * Declines windows, soft-caps, written scores
 * and (to keep its test short) caches over 1000 keys and more than 9 rows. One thread.
 * tests/unit/test_parity.c checks the verdicts. */
#include <math.h>

#include "attention_ref.h"
#include "test_plugin.h"

static int attention_max_from_zero(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD || a->S > 1000 || a->T > 9)
        return CK_E_UNSUPPORTED;
    const size_t hd = a->head_dim;
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            const size_t kvh = h / (a->n_heads / a->n_kv_heads), end = ref_keys_seen(a, t);
            const float *q = a->q + (t * a->n_heads + h) * hd;
            double m = 0.0, sum = 0.0, acc[REF_MAX_HD] = {0}; /* the defect: m from 0, not -inf */
            for (size_t s = 0; s < end; s++) {
                const float *k = a->k + (s * a->n_kv_heads + kvh) * hd, *v = a->v + (s * a->n_kv_heads + kvh) * hd;
                double d = 0;
                for (size_t i = 0; i < hd; i++)
                    d += (double)q[i] * k[i];
                d *= a->scale;
                if (d > m) { /* rescale what was summed to the new max */
                    double r = expf((float)(m - d));
                    sum *= r;
                    for (size_t i = 0; i < hd; i++)
                        acc[i] *= r;
                    m = d;
                }
                double p = expf((float)(d - m));
                sum += p;
                for (size_t i = 0; i < hd; i++)
                    acc[i] += p * v[i];
            }
            ref_write_out(a, h, t, acc, sum);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/running-max-from-0", attention_max_from_zero},
};

CK_TEST_PLUGIN("broken_max0", "attention whose online softmax starts its max at 0")
