/* adam (exact class): one AdamW step in place, eight elements at a time, with
 * exactly the reference's f32 operations in the reference's order (separate
 * mul and add, correctly rounded sqrt and div, no FMA):
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*(g*g)
 *   mhat = m/bc1;  vhat = v/bc2
 *   w = w - lr*(mhat/(sqrt(vhat)+eps) + weight_decay*w)
 * so every lane gives the reference's bits whatever the split. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

typedef struct adam_consts {
    __m256 beta1, beta2, one_m_beta1, one_m_beta2, bc1, bc2, lr, eps, wd;
} adam_consts;

static inline void adam8(const adam_consts *c, __m256 *w, __m256 *m, __m256 *v, __m256 g)
{
    *m = _mm256_add_ps(_mm256_mul_ps(c->beta1, *m), _mm256_mul_ps(c->one_m_beta1, g));
    *v = _mm256_add_ps(_mm256_mul_ps(c->beta2, *v), _mm256_mul_ps(c->one_m_beta2, _mm256_mul_ps(g, g)));
    __m256 mhat = _mm256_div_ps(*m, c->bc1);
    __m256 vhat = _mm256_div_ps(*v, c->bc2);
    __m256 step = _mm256_div_ps(mhat, _mm256_add_ps(_mm256_sqrt_ps(vhat), c->eps));
    __m256 upd = _mm256_mul_ps(c->lr, _mm256_add_ps(step, _mm256_mul_ps(c->wd, *w)));
    *w = _mm256_sub_ps(*w, upd);
}

static void adam_range(void *arg, size_t begin, size_t end, int tid)
{
    const ck_adam_args *a = arg;
    (void)tid;
    const adam_consts c = {
        _mm256_set1_ps(a->beta1),        _mm256_set1_ps(a->beta2), _mm256_set1_ps(1.0f - a->beta1),
        _mm256_set1_ps(1.0f - a->beta2), _mm256_set1_ps(a->bc1),   _mm256_set1_ps(a->bc2),
        _mm256_set1_ps(a->lr),           _mm256_set1_ps(a->eps),   _mm256_set1_ps(a->weight_decay),
    };
    size_t i = begin;
    for (; i + 8 <= end; i += 8) {
        __m256 w = _mm256_loadu_ps(a->w + i), m = _mm256_loadu_ps(a->m + i), v = _mm256_loadu_ps(a->v + i);
        adam8(&c, &w, &m, &v, _mm256_loadu_ps(a->g + i));
        _mm256_storeu_ps(a->w + i, w);
        _mm256_storeu_ps(a->m + i, m);
        _mm256_storeu_ps(a->v + i, v);
    }
    if (i < end) {
        __m256i k = avx2_tail_mask(end - i);
        __m256 w = _mm256_maskload_ps(a->w + i, k), m = _mm256_maskload_ps(a->m + i, k);
        __m256 v = _mm256_maskload_ps(a->v + i, k);
        adam8(&c, &w, &m, &v, _mm256_maskload_ps(a->g + i, k));
        _mm256_maskstore_ps(a->w + i, k, w);
        _mm256_maskstore_ps(a->m + i, k, m);
        _mm256_maskstore_ps(a->v + i, k, v);
    }
}

int ck_avx2_f32_adam(const ck_exec_ctx *ctx, const void *args)
{
    const ck_adam_args *a = args;
    ck_adam_args job = *a; /* a mutable copy for the void * of parallel_for */
    avx2_parallel(ctx, a->n, AVX2_ELEM_GRAIN, adam_range, &job);
    return CK_OK;
}
