/* The parity gate's test subject for grouped-query attention with a group
 * that is no power of two: an f32 attention that finds a query head's kv
 * head by a shift, h >> ctz(H / Hkv), as a kernel written for groups of 1,
 * 2, 4 and 8 does. Right for every such group; wrong for Llama-3.2-3B's 3
 * (24 / 8), Qwen2.5-14B's 5 (40 / 8) and Qwen2.5-7B's 7 (28 / 4), where
 * head h reads kv head h (or past the last). Declines windows, soft-caps,
 * written scores and (to keep its test short) caches over 300 keys and more
 * than 17 rows. One thread. tests/unit/test_parity.c checks the verdicts. */
#include "attention_ref.h"
#include "test_plugin.h"

static int attention_shifted_groups(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    (void)ctx;
    if (a->scores || a->probs || a->window || a->softcap > 0.0f || a->head_dim > REF_MAX_HD || a->S > 300 || a->T > 17)
        return CK_E_UNSUPPORTED;
    const unsigned shift = (unsigned)__builtin_ctzll((unsigned long long)(a->n_heads / a->n_kv_heads));
    for (size_t h = 0; h < a->n_heads; h++)
        for (size_t t = 0; t < a->T; t++) {
            double sum = 0, acc[REF_MAX_HD] = {0};
            size_t kvh = h >> shift; /* the defect: h / G only where G is a power of two */
            if (kvh >= a->n_kv_heads)
                kvh = a->n_kv_heads - 1; /* stays inside k and v: wrong values, not a fault */
            ref_attend_keys_of(a, h, kvh, t, 0, ref_keys_seen(a, t), a->scale, &sum, acc);
            ref_write_out(a, h, t, acc, sum);
        }
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ATTENTION, CK_DTYPE_F32, 0, "f32-attention/group-by-shift", attention_shifted_groups},
};

CK_TEST_PLUGIN("broken_groups", "attention that maps query heads to kv heads by a shift")
