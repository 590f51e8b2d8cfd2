/* The parity gate's test subject for calls with nothing to do (docs/ops.md,
 * "Empty sizes": a zero count that leaves every output empty is a
 * successful no-op touching no pointer). Each kernel is right on every
 * case with work and wrong only at a zero count: a linear that reads the
 * first row of x ahead of its row loop, an add that does its last element
 * first (n - 1 wraps at n = 0), a swiglu that declines n = 0 as an error,
 * a bf16 linear whose path for weights past 64 KiB (a blocked one, say)
 * reads x's first row ahead, where the small cases' path does not;
 * and two backward ops at T = 0, where the weight gradients are the sum
 * over no rows, zeros: a linear_bwd that returns at once (dW, db left as
 * they were), an attention_bwd that writes dk, dv right but reads q's
 * first row, rows or not. Plain C in double,
 * rounded once, one thread. tests/unit/test_parity.c checks the verdicts. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "act_down_ref.h"
#include "attention_bwd_ref.h"
#include "test_plugin.h"

static int linear_reads_ahead(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    (void)ctx;
    (void)*(volatile const float *)a->x; /* the defect: "warm" the first row, rows or not */
    ref_down(a, a->x);
    return CK_OK;
}

static int bf16_linear_big_path_reads_ahead(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_args *a = args;
    const uint16_t *w = a->w;
    (void)ctx;
    if (a->K * a->N * sizeof *w > 65536)
        (void)*(volatile const float *)a->x; /* the defect, on the big path only */
    for (size_t t = 0; t < a->T; t++)
        for (size_t n = 0; n < a->N; n++) {
            double s = a->bias ? a->bias[n] : 0.0;
            for (size_t k = 0; k < a->K; k++) {
                uint32_t bits = (uint32_t)w[n * a->K + k] << 16;
                float wf;
                memcpy(&wf, &bits, sizeof wf);
                s += (double)a->x[t * a->K + k] * wf;
            }
            a->y[t * a->N + n] = (float)s;
        }
    return CK_OK;
}

static int add_last_first(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    (void)ctx;
    size_t last = a->n - 1; /* the defect: wraps to SIZE_MAX at n = 0 */
    float y_last = a->a[last] + a->b[last];
    for (size_t i = 0; i < last; i++)
        a->y[i] = a->a[i] + a->b[i];
    a->y[last] = y_last;
    return CK_OK;
}

static int swiglu_declines_nothing(const ck_exec_ctx *ctx, const void *args)
{
    const ck_swiglu_args *a = args;
    (void)ctx;
    if (a->n == 0)
        return CK_E_UNSUPPORTED; /* the defect: no work taken for bad arguments */
    for (size_t i = 0; i < a->n; i++) {
        double g = a->gate[i];
        a->y[i] = (float)(g / (1.0 + exp(-g)) * a->up[i]);
    }
    return CK_OK;
}

static int linear_bwd_skips_no_rows(const ck_exec_ctx *ctx, const void *args)
{
    const ck_linear_bwd_args *a = args;
    (void)ctx;
    if (a->T == 0)
        return CK_OK; /* the defect: dW and db left as they were */
    for (size_t t = 0; t < a->T; t++)
        for (size_t k = 0; k < a->K && a->dx; k++) {
            double s = 0;
            for (size_t n = 0; n < a->N; n++)
                s += (double)a->dy[t * a->N + n] * a->w[n * a->K + k];
            a->dx[t * a->K + k] = (float)s;
        }
    for (size_t n = 0; n < a->N; n++) {
        double sb = 0;
        for (size_t k = 0; k < a->K; k++) {
            double s = 0;
            for (size_t t = 0; t < a->T; t++)
                s += (double)a->dy[t * a->N + n] * a->x[t * a->K + k];
            if (a->dw)
                a->dw[n * a->K + k] = (float)s;
        }
        for (size_t t = 0; t < a->T; t++)
            sb += a->dy[t * a->N + n];
        if (a->db)
            a->db[n] = (float)sb;
    }
    return CK_OK;
}

static int attention_bwd_reads_q_ahead(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_bwd_args *a = args;
    (void)ctx;
    (void)*(volatile const float *)a->q; /* the defect: "warm" the first query row, rows or not */
    return ref_attention_bwd(a, ref_kv_head);
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_LINEAR, CK_DTYPE_F32, 0, "f32-linear/reads-x-ahead", linear_reads_ahead},
    {CK_OP_LINEAR, CK_DTYPE_BF16, 0, "bf16-linear/big-path-reads-x-ahead", bf16_linear_big_path_reads_ahead},
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/last-element-first", add_last_first},
    {CK_OP_SWIGLU, CK_DTYPE_F32, 0, "f32-swiglu/declines-n-0", swiglu_declines_nothing},
    {CK_OP_LINEAR_BWD, CK_DTYPE_F32, 0, "f32-linear_bwd/skips-no-rows", linear_bwd_skips_no_rows},
    {CK_OP_ATTENTION_BWD, CK_DTYPE_F32, 0, "f32-attention_bwd/reads-q-ahead", attention_bwd_reads_q_ahead},
};

CK_TEST_PLUGIN("broken_empty", "kernels that touch memory or decline when there is nothing to do")
