/* f32-attention/scalar: scaled dot-product attention, causal or
 * bidirectional, grouped-query (query head h reads kv head h / (H / Hkv)).
 * For each head h and query row t, at position p = q_pos + t:
 *   score[s] = scale * dot(q[t][h], k[s][kvh])       (double)
 *   softcap > 0: score[s] = softcap * tanh(score[s] / softcap)   (double)
 *   causal: keys s > p are masked (score -inf, prob 0); with a window W
 *   also keys s <= p - W
 *   p[s]     = exp(score[s] - max) / sum_s' exp(score[s'] - max)
 *   out[t][h] = sum_s p[s] * v[s][kvh]
 * all in double, each output rounded to f32 once. scores and probs [H, T, S]
 * are written when non-NULL (the rounded double values, capped). A row that
 * sees no key (S == 0) is 0. */
#include <math.h>

#include "scalar.h"

typedef struct attn_job {
    const ck_attention_args *a;
    size_t group; /* query heads per kv head */
    unsigned char *scratch;
    size_t stride;
} attn_job;

static double dot_f32(const float *a, const float *b, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)a[i] * (double)b[i];
    return acc;
}

/* Keys row t may see: [first, end). All S, or causally those s <= p, and
 * with a window those s > p - window too. */
static size_t visible_keys(const ck_attention_args *a, size_t t, size_t *first)
{
    *first = 0;
    if (!a->causal)
        return a->S;
    size_t p = a->q_pos + t; /* row t sees keys ..p */
    if (a->window && p >= a->window)
        *first = p - a->window + 1;
    size_t end = p >= a->S ? a->S : p + 1;
    if (*first > end)
        *first = end;
    return end;
}

static double score_of(const ck_attention_args *a, const float *q, const float *k)
{
    double s = (double)a->scale * dot_f32(q, k, a->head_dim);
    if (a->softcap > 0.0f)
        s = (double)a->softcap * tanh(s / (double)a->softcap);
    return s;
}

static void attend_row(const attn_job *j, size_t h, size_t t, double *p, double *acc)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, kvh = h / j->group, lo, n = visible_keys(a, t, &lo);
    const float *q = a->q + (t * a->n_heads + h) * hd;
    float *sc = a->scores ? a->scores + (h * a->T + t) * a->S : NULL;
    float *pr = a->probs ? a->probs + (h * a->T + t) * a->S : NULL;
    double mx = -INFINITY;
    for (size_t s = lo; s < n; s++) {
        p[s] = score_of(a, q, a->k + (s * a->n_kv_heads + kvh) * hd);
        if (p[s] > mx)
            mx = p[s];
    }
    double sum = 0.0;
    for (size_t s = lo; s < n; s++) {
        if (sc)
            sc[s] = (float)p[s];
        p[s] = exp(p[s] - mx);
        sum += p[s];
    }
    for (size_t d = 0; d < hd; d++)
        acc[d] = 0.0;
    for (size_t s = lo; s < n; s++) {
        p[s] /= sum;
        if (pr)
            pr[s] = (float)p[s];
        const float *v = a->v + (s * a->n_kv_heads + kvh) * hd;
        for (size_t d = 0; d < hd; d++)
            acc[d] += p[s] * (double)v[d];
    }
    for (size_t s = 0; s < a->S; s++) {
        if (s >= lo && s < n)
            continue;
        if (sc)
            sc[s] = -INFINITY;
        if (pr)
            pr[s] = 0.0f;
    }
    float *out = a->out + (t * a->n_heads + h) * hd;
    for (size_t d = 0; d < hd; d++)
        out[d] = (float)acc[d];
}

/* Items are (h, t) pairs, h-major. */
static void attention_items(void *arg, size_t begin, size_t end, int tid)
{
    const attn_job *j = arg;
    double *p = (double *)(void *)(j->scratch + (size_t)tid * j->stride);
    double *acc = p + j->a->S;
    for (size_t i = begin; i < end; i++)
        attend_row(j, i / j->a->T, i % j->a->T, p, acc);
}

int ck_scalar_f32_attention(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    if (a->T == 0 || a->n_heads == 0)
        return CK_OK;
    if (a->S > (SIZE_MAX / sizeof(double)) - a->head_dim)
        return CK_E_UNSUPPORTED;
    attn_job j = {a, a->n_heads / a->n_kv_heads, NULL, 0};
    j.scratch = scalar_thread_scratch(ctx, (a->S + a->head_dim) * sizeof(double), &j.stride);
    if (!j.scratch)
        return CK_E_NOMEM;
    scalar_parallel(ctx, a->n_heads * a->T, 1, attention_items, &j);
    return CK_OK;
}
