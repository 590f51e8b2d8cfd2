/* The parity gate's test subject for embedding's refusal rule (docs/ops.md:
 * every id in [0, vocab), checked before anything is written, else
 * CK_E_UNSUPPORTED): three gathers, exact on ids in range, each wrong in
 * one way on the ids a tokenizer larger than the table gives:
 *   f32   checks no id: reads the row past the table (or before it)
 *   bf16  checks each id as it copies its row: rows before the bad id are
 *         written, then it declines
 *   f16   checks id >= vocab only, as if ids were unsigned: -1 reads the
 *         row before the table
 *   q8_0  clamps ids into [0, vocab) and returns CK_OK, "tolerant": `run`
 *         would use rows the model never asked for
 * and a fused embed_norm (f32), an embedding_bwd and a cross_entropy that
 * check no id (or target) either.
 * The reference declines these cases; the gate must name each kernel
 * (tests/unit/test_parity.c). One thread. */
#include <math.h>

#include "cross_entropy_ref.h"
#include "norm_ref.h"
#include "test_plugin.h"

/* i signed: a negative id's row is an address before the table (a
 * fault in the guard pages), not a wrapped-around one (undefined pointer
 * overflow, which UBSan stops at before the read) */
static float widen(uint32_t dtype, const void *table, ptrdiff_t i)
{
    if (dtype == CK_DTYPE_F32)
        return ((const float *)table)[i];
    uint16_t h = ((const uint16_t *)table)[i];
    return dtype == CK_DTYPE_BF16 ? ck_bf16_to_f32(h) : ck_f16_to_f32(h);
}

static void copy_row(const ck_embedding_args *a, size_t t)
{
    for (size_t i = 0; i < a->D; i++) /* the id as the signed offset a kernel would form */
        a->y[t * a->D + i] = widen(a->dtype, a->table, (ptrdiff_t)a->ids[t] * (ptrdiff_t)a->D + (ptrdiff_t)i);
}

static int embedding_unchecked(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_F32)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        copy_row(a, t); /* the defect: no id checked */
    return CK_OK;
}

static int embedding_checked_late(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_BF16)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++) {
        if (a->ids[t] < 0 || (size_t)a->ids[t] >= a->vocab)
            return CK_E_UNSUPPORTED; /* the defect: rows 0 .. t - 1 already written */
        copy_row(a, t);
    }
    return CK_OK;
}

static int embedding_unsigned_check(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_F16)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->ids[t] >= (int32_t)a->vocab) /* the defect: -1 passes */
            return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        copy_row(a, t);
    return CK_OK;
}

static int embedding_clamped(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_args *a = args;
    (void)ctx;
    if (a->dtype != CK_DTYPE_Q8_0 || a->D % CK_QBLOCK || a->vocab == 0)
        return CK_E_UNSUPPORTED;
    const ck_block_q8_0 *b = a->table;
    const size_t nb = a->D / CK_QBLOCK;
    for (size_t t = 0; t < a->T; t++) {
        size_t id = a->ids[t] < 0                   ? 0
                    : (size_t)a->ids[t] >= a->vocab ? a->vocab - 1
                                                    : (size_t)a->ids[t]; /* the defect */
        for (size_t i = 0; i < a->D; i++)
            a->y[t * a->D + i] =
                (float)b[id * nb + i / CK_QBLOCK].qs[i % CK_QBLOCK] * ck_f16_to_f32(b[id * nb + i / CK_QBLOCK].d);
    }
    return CK_OK;
}

/* The fused embedding and rmsnorm of a decoder's first op, f32, checking no
 * id (the defect, as embedding_unchecked): each row gathered into the
 * residual, then normed in double, rounded once. */
static int embed_norm_unchecked(const ck_exec_ctx *ctx, const void *args)
{
    const ck_fused_embed_norm_args *f = args;
    const ck_embedding_args *e = &f->embed;
    const ck_norm_args *n = &f->norm;
    (void)ctx;
    if (e->dtype != CK_DTYPE_F32 || f->norm_kind != CK_NORM_RMS || n->x != e->y || n->D != e->D)
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < e->T; t++) {
        copy_row(e, t);
        ref_rmsnorm_row(e->y + t * e->D, n->y + t * e->D, n->gamma, e->D, n->eps, 1.0);
    }
    return CK_OK;
}

/* The training ops that index by id, checking none (the defect): the
 * embedding's scatter-add into its gradient, one f32 add per element in t
 * order (exact), and cross_entropy in double with the max shift, which
 * checks only that there are rows (cross_entropy_ref.h checks the rest). */
static int embedding_bwd_unchecked(const ck_exec_ctx *ctx, const void *args)
{
    const ck_embedding_bwd_args *a = args;
    (void)ctx;
    for (size_t t = 0; t < a->T; t++)
        for (size_t i = 0; i < a->D; i++)
            a->dtable[(ptrdiff_t)a->ids[t] * (ptrdiff_t)a->D + (ptrdiff_t)i] += a->dy[t * a->D + i];
    return CK_OK;
}

static int cross_entropy_unchecked(const ck_exec_ctx *ctx, const void *args)
{
    const ck_cross_entropy_args *a = args;
    (void)ctx;
    if (a->T == 0)
        return CK_E_UNSUPPORTED;
    double total = 0;
    for (size_t t = 0; t < a->T; t++) {
        const float *l = a->logits + t * a->V;
        double m = l[0], sum = 0;
        for (size_t j = 1; j < a->V; j++)
            m = l[j] > m ? l[j] : m;
        for (size_t j = 0; j < a->V; j++)
            sum += exp(l[j] - m);
        double lse = m + log(sum);
        total += lse - l[(ptrdiff_t)a->targets[t]];
        if (a->dlogits)
            for (size_t j = 0; j < a->V; j++)
                a->dlogits[t * a->V + j] =
                    (float)((exp(l[j] - lse) - (j == (size_t)a->targets[t] ? 1.0 : 0.0)) / (double)a->T);
    }
    return ref_ce_store_loss(a, total);
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_EMBEDDING_BWD, CK_DTYPE_F32, 0, "f32-embedding_bwd/ids-unchecked", embedding_bwd_unchecked},
    {CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, 0, "f32-cross_entropy/targets-unchecked", cross_entropy_unchecked},
    {CK_OP_EMBED_NORM, CK_DTYPE_F32, CK_KF_FUSED, "f32-embed_norm/ids-unchecked", embed_norm_unchecked},
    {CK_OP_EMBEDDING, CK_DTYPE_F32, 0, "f32-embedding/ids-unchecked", embedding_unchecked},
    {CK_OP_EMBEDDING, CK_DTYPE_BF16, 0, "bf16-embedding/ids-checked-while-copying", embedding_checked_late},
    {CK_OP_EMBEDDING, CK_DTYPE_F16, 0, "f16-embedding/negative-ids-pass", embedding_unsigned_check},
    {CK_OP_EMBEDDING, CK_DTYPE_Q8_0, 0, "q8_0-embedding/ids-clamped", embedding_clamped},
};

CK_TEST_PLUGIN("broken_ids", "embeddings that check token ids late, partly or not at all")
