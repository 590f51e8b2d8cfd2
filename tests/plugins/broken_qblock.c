/* The parity gate's test subject for a flash kernel's query blocks: an f32
 * attention taking query rows in blocks of 8 whose causal limit is set
 * once per block, at the block's last row, when a block is full, and at
 * its first row otherwise; a tail of 3..7 rows after a full block (T = 11
 * .. 15, 19 .. 23, ...) should take each row's own but takes the first's,
 * so its later rows miss their last keys. Right for T = 1..10, 16..18 and
 * whole blocks; the cover's query rows 1..32 name it. Declines windows,
 * soft-caps, written scores and (to keep its test short) caches over 80
 * keys. One thread. tests/unit/test_parity.c checks the verdicts. */
#include "attention_ref.h"
#include "test_plugin.h"

static int attention_query_blocks(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD || a->S > 80)
        return CK_E_UNSUPPORTED;
    for (size_t t0 = 0; t0 < a->T; t0 += 8) {
        const size_t rows = a->T - t0 < 8 ? a->T - t0 : 8;
        const int tail = t0 > 0 && rows >= 3 && rows < 8; /* the defect: one limit for the tail */
        for (size_t h = 0; h < a->n_heads; h++)
            for (size_t t = t0; t < t0 + rows; t++) {
                double sum = 0, acc[REF_MAX_HD] = {0};
                ref_attend_keys(a, h, t, 0, ref_keys_seen(a, tail ? t0 : t), a->scale, &sum, acc);
                ref_write_out(a, h, t, acc, sum);
            }
    }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/query-tail-one-limit", attention_query_blocks},
};

CK_TEST_PLUGIN("broken_qblock", "attention whose tail of query rows shares one causal limit")
