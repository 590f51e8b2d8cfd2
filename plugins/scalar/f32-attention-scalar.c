/* f32-attention/scalar: scaled dot-product attention, causal or
 * bidirectional, grouped-query (query head h reads kv head h / (H / Hkv)).
 * For each head h and query row t:
 *   score[s] = scale * dot(q[t][h], k[s][kvh])       (double)
 *   causal: keys s > q_pos + t are masked (score -inf, prob 0)
 *   p[s]     = exp(score[s] - max) / sum_s' exp(score[s'] - max)
 *   out[t][h] = sum_s p[s] * v[s][kvh]
 * all in double, each output rounded to f32 once. scores and probs [H, T, S]
 * are written when non-NULL (the rounded double values). S == 0: out = 0. */
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

/* Keys row t may see: all S, or causally those s <= q_pos + t. */
static size_t visible_keys(const ck_attention_args *a, size_t t)
{
    if (!a->causal)
        return a->S;
    size_t last = a->q_pos + t; /* row t sees keys 0..last */
    return last >= a->S ? a->S : last + 1;
}

static void attend_row(const attn_job *j, size_t h, size_t t, double *p, double *acc)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, kvh = h / j->group, n = visible_keys(a, t);
    const float *q = a->q + (t * a->n_heads + h) * hd;
    double mx = -INFINITY;
    for (size_t s = 0; s < n; s++) {
        p[s] = (double)a->scale * dot_f32(q, a->k + (s * a->n_kv_heads + kvh) * hd, hd);
        if (p[s] > mx)
            mx = p[s];
    }
    double sum = 0.0;
    for (size_t s = 0; s < n; s++) {
        if (a->scores)
            a->scores[(h * a->T + t) * a->S + s] = (float)p[s];
        p[s] = exp(p[s] - mx);
        sum += p[s];
    }
    for (size_t d = 0; d < hd; d++)
        acc[d] = 0.0;
    for (size_t s = 0; s < n; s++) {
        p[s] /= sum;
        if (a->probs)
            a->probs[(h * a->T + t) * a->S + s] = (float)p[s];
        const float *v = a->v + (s * a->n_kv_heads + kvh) * hd;
        for (size_t d = 0; d < hd; d++)
            acc[d] += p[s] * (double)v[d];
    }
    for (size_t s = n; s < a->S; s++) {
        if (a->scores)
            a->scores[(h * a->T + t) * a->S + s] = -INFINITY;
        if (a->probs)
            a->probs[(h * a->T + t) * a->S + s] = 0.0f;
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
    if (!a)
        return CK_E_UNSUPPORTED;
    if (a->n_kv_heads == 0 || a->n_heads % a->n_kv_heads != 0)
        return CK_E_UNSUPPORTED;
    if (a->T == 0 || a->n_heads == 0)
        return CK_OK;
    if (!a->q || !a->out || (a->S > 0 && (!a->k || !a->v)))
        return CK_E_UNSUPPORTED;
    if (a->S > (SIZE_MAX / sizeof(double)) - a->head_dim)
        return CK_E_UNSUPPORTED;
    attn_job j = {a, a->n_heads / a->n_kv_heads, NULL, 0};
    j.scratch = scalar_thread_scratch(ctx, (a->S + a->head_dim) * sizeof(double), &j.stride);
    if (!j.scratch)
        return CK_E_NOMEM;
    scalar_parallel(ctx, a->n_heads * a->T, 1, attention_items, &j);
    return CK_OK;
}
