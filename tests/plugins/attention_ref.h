/* attention_ref.h — one query row's attention over a range of keys in
 * plain C and double, for the test plugins whose attention is wrong in one
 * chosen way (broken_splits.c: how splits are merged; broken_defaults.c:
 * the scale it uses; broken_heads.c: heads past 32): the scores and the
 * softmax come from here once. No window, no soft-cap. */
#ifndef CK_TEST_ATTENTION_REF_H
#define CK_TEST_ATTENTION_REF_H

#include <math.h>

#include "ck_plugin.h"

#define REF_MAX_HD 256

/* Keys [s0, s1) of row t, head h (reading kv head kvh), scores times
 * `scale`: returns their max m, adds sum_s exp(score_s - m) to *sum and exp(score_s - m) v_s to acc. */
static inline double ref_attend_keys_of(const ck_attention_args *a, size_t h, size_t kvh, size_t t, size_t s0,
                                        size_t s1, double scale, double *sum, double *acc)
{
    size_t hd = a->head_dim;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    double m = -INFINITY;
    for (int pass = 0; pass < 2; pass++) { /* the max, then the sums */
        for (size_t s = s0; s < s1; s++) {
            const float *k = a->k + (s * a->n_kv_heads + kvh) * hd, *v = a->v + (s * a->n_kv_heads + kvh) * hd;
            double d = 0;
            for (size_t i = 0; i < hd; i++)
                d += (double)q[i] * k[i];
            d *= scale;
            if (pass == 0) {
                m = d > m ? d : m;
                continue;
            }
            double p = exp(d - m);
            *sum += p;
            for (size_t i = 0; i < hd; i++)
                acc[i] += p * v[i];
        }
    }
    return m;
}

/* The same with kv head h / (H / Hkv), the contract's. */
static inline double ref_attend_keys(const ck_attention_args *a, size_t h, size_t t, size_t s0, size_t s1, double scale,
                                     double *sum, double *acc)
{
    return ref_attend_keys_of(a, h, h / (a->n_heads / a->n_kv_heads), t, s0, s1, scale, sum, acc);
}

/* The keys row t of a causal or bidirectional attention sees: [0, end). */
static inline size_t ref_keys_seen(const ck_attention_args *a, size_t t)
{
    size_t pos = a->q_pos + t;
    return a->causal && pos + 1 < a->S ? pos + 1 : a->S;
}

/* Row t, head h of out: acc / sum, rounded once. */
static inline void ref_write_out(const ck_attention_args *a, size_t h, size_t t, const double *acc, double sum)
{
    for (size_t d = 0; d < a->head_dim; d++)
        a->out[(t * a->n_heads + h) * a->head_dim + d] = (float)(acc[d] / sum);
}

#endif
