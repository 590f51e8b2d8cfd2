/* attention, materialising variant (scores and/or probs non-NULL): each
 * (head, query row) in full — scores s = scale * dot(q, k) vectorised over
 * the head dim over the keys the row sees (causal limit, window), soft-capped
 * when asked, the row max, p = exp(s - max) / sum, scores and probs
 * written ([H, T, S]; -inf and 0 for keys the row does not see), then
 * out = sum_s p[s] * v[s] with 32 dims in registers. (head, row) pairs split
 * over the threads; each row's arithmetic is its own. */
#include "avx2-helpers.h"

typedef struct mat_job {
    const ck_attention_args *a;
    size_t group;
} mat_job;

static float dot_hd(const float *x, const float *y, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
    }
    for (; i < n; i += 8) {
        __m256i m = avx2_tail_mask(n - i < 8 ? n - i : 8);
        s0 = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m), s0);
    }
    return avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

/* p[0..n) = exp(p - mx) in place; returns their sum. */
static float exp_shift_sum(float *p, size_t n, float mx)
{
    __m256 vm = _mm256_set1_ps(mx), sum = _mm256_setzero_ps();
    size_t s = 0;
    for (; s + 8 <= n; s += 8) {
        __m256 e = avx2_exp_ps(_mm256_sub_ps(_mm256_loadu_ps(p + s), vm));
        _mm256_storeu_ps(p + s, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (s < n) { /* masked stores are slow: the tail only */
        __m256i m = avx2_tail_mask(n - s);
        __m256 e = avx2_exp_ps(_mm256_sub_ps(_mm256_maskload_ps(p + s, m), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(p + s, m, e);
        sum = _mm256_add_ps(sum, e);
    }
    return avx2_hsum_ps(sum);
}

/* out[0..hd) = sum_s p[s] * v_s[0..hd), 32 dims at a time in registers
 * (plain loads and stores for whole chunks, masks for the last one). */
static void weighted_sum_v(const ck_attention_args *a, size_t kvh, size_t lo, const float *p, size_t n, float *out)
{
    size_t hd = a->head_dim, ld = a->n_kv_heads * hd;
    const float *v = a->v + lo * ld + kvh * hd;
    size_t d = 0;
    for (; d + 32 <= hd; d += 32) {
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (size_t s = 0; s < n; s++) {
            __m256 ps = _mm256_set1_ps(p[s]);
            const float *vs = v + s * ld + d;
            for (int c = 0; c < 4; c++)
                acc[c] = _mm256_fmadd_ps(ps, _mm256_loadu_ps(vs + 8 * c), acc[c]);
        }
        for (int c = 0; c < 4; c++)
            _mm256_storeu_ps(out + d + 8 * c, acc[c]);
    }
    for (; d < hd; d += 8) {
        __m256i m = avx2_tail_mask(hd - d < 8 ? hd - d : 8);
        __m256 acc = _mm256_setzero_ps();
        for (size_t s = 0; s < n; s++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(p[s]), _mm256_maskload_ps(v + s * ld + d, m), acc);
        _mm256_maskstore_ps(out + d, m, acc);
    }
}

/* p[lo..n) hold the row's probabilities; the rest of scores / probs is
 * -inf / 0. */
static void write_row(float *dst, const float *p, size_t lo, size_t n, size_t S, float masked)
{
    for (size_t s = 0; s < lo; s++)
        dst[s] = masked;
    memcpy(dst + lo, p + lo, (n - lo) * sizeof *p);
    for (size_t s = n; s < S; s++)
        dst[s] = masked;
}

static void mat_row(const mat_job *j, size_t h, size_t t, float *p)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, kvh = h / j->group, n = avx2_visible_keys(a, t), lo = avx2_first_key(a, t);
    size_t ld = a->n_kv_heads * hd;
    const float *q = a->q + (t * a->n_heads + h) * hd;
    float *out = a->out + (t * a->n_heads + h) * hd;
    float *scores = a->scores ? a->scores + (h * a->T + t) * a->S : NULL;
    float *probs = a->probs ? a->probs + (h * a->T + t) * a->S : NULL;
    float mx = -INFINITY;
    for (size_t s = lo; s < n; s++)
        p[s] = a->scale * dot_hd(q, a->k + s * ld + kvh * hd, hd);
    if (a->softcap > 0.0f)
        avx2_softcap_row(p + lo, n - lo, a->softcap);
    for (size_t s = lo; s < n; s++)
        mx = p[s] > mx ? p[s] : mx;
    if (scores)
        write_row(scores, p, lo, n, a->S, -INFINITY);
    float sum = exp_shift_sum(p + lo, n - lo, mx);
    __m256 vsum = _mm256_set1_ps(sum);
    size_t i = lo;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(p + i, _mm256_div_ps(_mm256_loadu_ps(p + i), vsum));
    for (; i < n; i++)
        p[i] /= sum;
    if (probs)
        write_row(probs, p, lo, n, a->S, 0.0f);
    weighted_sum_v(a, kvh, lo, p + lo, n - lo, out);
}

typedef struct mat_run {
    mat_job job;
    const ck_exec_ctx *ctx;
    size_t bytes;
} mat_run;

static void mat_run_items(void *arg, size_t begin, size_t end, int tid)
{
    const mat_run *r = arg;
    float *p = r->ctx->scratch(r->ctx, tid, r->bytes);
    for (size_t i = begin; i < end; i++)
        mat_row(&r->job, i / r->job.a->T, i % r->job.a->T, p);
}

int avx2_attention_materialising(const ck_exec_ctx *ctx, const ck_attention_args *a)
{
    mat_run r = {{a, a->n_heads / a->n_kv_heads}, ctx, (a->S + 8) * sizeof(float)};
    if (avx2_reserve_scratch(ctx, r.bytes) != 0)
        return CK_E_NOMEM;
    avx2_parallel(ctx, a->n_heads * a->T, 1, mat_run_items, &r);
    return CK_OK;
}
