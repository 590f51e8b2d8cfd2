/* f32-adam/avx512 (exact class): one AdamW step in place, the reference's
 * f32 operations in the reference's order, 16 lanes at a time:
 *   m = beta1*m + (1-beta1)*g;   v = beta2*v + (1-beta2)*(g*g);
 *   mhat = m/bc1;  vhat = v/bc2;
 *   w = w - lr*(mhat/(sqrt(vhat)+eps) + weight_decay*w)
 * Separate mul/add (no FMA); vsqrtps and vdivps are correctly rounded, so
 * every lane is bit-identical to the scalar code. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

typedef struct adam_consts {
    __m512 b1, b2, omb1, omb2, bc1, bc2, lr, eps, wd;
} adam_consts;

static inline void adam16(const adam_consts *c, float *w, float *m, float *v, const float *g, __mmask16 k)
{
    __m512 gv = _mm512_maskz_loadu_ps(k, g);
    __m512 mv = _mm512_add_ps(_mm512_mul_ps(c->b1, _mm512_maskz_loadu_ps(k, m)), _mm512_mul_ps(c->omb1, gv));
    __m512 vv =
        _mm512_add_ps(_mm512_mul_ps(c->b2, _mm512_maskz_loadu_ps(k, v)), _mm512_mul_ps(c->omb2, _mm512_mul_ps(gv, gv)));
    __m512 mhat = _mm512_div_ps(mv, c->bc1);
    __m512 vhat = _mm512_div_ps(vv, c->bc2);
    __m512 wv = _mm512_maskz_loadu_ps(k, w);
    __m512 upd =
        _mm512_add_ps(_mm512_div_ps(mhat, _mm512_add_ps(_mm512_sqrt_ps(vhat), c->eps)), _mm512_mul_ps(c->wd, wv));
    _mm512_mask_storeu_ps(w, k, _mm512_sub_ps(wv, _mm512_mul_ps(c->lr, upd)));
    _mm512_mask_storeu_ps(m, k, mv);
    _mm512_mask_storeu_ps(v, k, vv);
}

static void adam_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_adam_args *a = arg;
    (void)tid;
    const adam_consts c = {
        _mm512_set1_ps(a->beta1),        _mm512_set1_ps(a->beta2), _mm512_set1_ps(1.0f - a->beta1),
        _mm512_set1_ps(1.0f - a->beta2), _mm512_set1_ps(a->bc1),   _mm512_set1_ps(a->bc2),
        _mm512_set1_ps(a->lr),           _mm512_set1_ps(a->eps),   _mm512_set1_ps(a->weight_decay),
    };
    for (size_t i = begin; i < end; i += 16)
        adam16(&c, a->w + i, a->m + i, a->v + i, a->g + i, ck512_mask(end - i));
}

int ck_avx512_f32_adam(const ck_exec_ctx *ctx, const void *args)
{
    const ck_adam_args *a = args;
    if (a->n == 0)
        return CK_OK;
    ck512_parallel(ctx, a->n, CK512_ELEM_GRAIN, adam_range, (void *)a);
    return CK_OK;
}
