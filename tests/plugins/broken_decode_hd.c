/* The parity gate's test subject for decode at a wide head: an f32
 * attention whose one-row (decode) path keeps the output row in a register
 * tile of 128 floats (8 zmm), as a kernel written for Llama's head_dim
 * does, so dims past 128 come out 0; its prefill path (T > 1) is right.
 * Gemma's head_dim 256 (Gemma 7B, Gemma-2, Gemma-3) decodes through that
 * path. Declines windows, soft-caps, written scores
 * and (to keep its test short) caches over 128 keys and more than 17 rows. One thread.
 * tests/unit/test_parity.c checks the verdicts. */
#include "attention_ref.h"
#include "test_plugin.h"

#define TILE 128

static int attention_decode_tile(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD || a->S > 128 || a->T > 17)
        return CK_E_UNSUPPORTED;
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            double sum = 0, acc[REF_MAX_HD] = {0};
            ref_attend_keys(a, h, t, 0, ref_keys_seen(a, t), a->scale, &sum, acc);
            if (a->T == 1) /* the defect: the decode tile holds 128 dims */
                for (size_t d = TILE; d < a->head_dim; d++)
                    acc[d] = 0;
            ref_write_out(a, h, t, acc, sum);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/decode-tile-of-128", attention_decode_tile},
};

CK_TEST_PLUGIN("broken_decode_hd", "attention whose decode path holds 128 dims of a head")
