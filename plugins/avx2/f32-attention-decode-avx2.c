/* Streaming attention for very few query rows per kv head (decode: T = 1,
 * or T * H/Hkv <= AVX2_ATT_ROWS_MAX). Here the lane-transposed tiles of
 * f32-attention-avx2.c would leave most lanes idle, so each query row is
 * vectorised along the head dim instead, and the step is bandwidth bound on
 * the KV cache: per block of ATT_DEC_BK keys, the block's K and V rows are
 * copied once into a contiguous buffer (read from memory once whatever the
 * group size) and every row of the group then
 *   scores s_i = scale * dot(q, k_i)   (four keys at a time, one reduction)
 *   online softmax: m' = max(m, max_i s_i), alpha = exp(m - m'),
 *                   p_i = exp(s_i - m'), l = l*alpha + sum_i p_i
 *   o = o*alpha + sum_i p_i v_i        (64 dims at a time in registers)
 * and out = o / l at the end. Key blocks start at fixed multiples of
 * ATT_DEC_BK, so a row's result does not depend on the thread count. */
#include "avx2-helpers.h"

#define ATT_DEC_BK 16

typedef struct decode_job {
    const ck_exec_ctx *ctx;
    const ck_attention_args *a;
    size_t group, rows; /* query heads per kv head; rows = T * group */
    size_t ld;          /* floats per packed K/V row */
    size_t scratch_bytes;
} decode_job;

typedef struct decode_state {
    float *kblk, *vblk; /* [heads][ATT_DEC_BK][ld] */
    float *o;           /* [heads * rows][hd] */
    float *sc;          /* [ATT_DEC_BK + 8]: scores, then probabilities */
    float *m, *l;       /* [heads * rows] */
} decode_state;

static size_t decode_ld(size_t hd)
{
    return ((hd + 15) / 16 | 1) * 16; /* an odd number of cache lines */
}

static void copy_row(float *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    if (i < n) {
        __m256i m = avx2_tail_mask(n - i);
        _mm256_maskstore_ps(dst + i, m, _mm256_maskload_ps(src + i, m));
    }
}

static inline void prefetch_row(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i += 16)
        _mm_prefetch((const char *)(p + i), _MM_HINT_T0);
}

/* Four dot products of q with rows k0..k3, reduced together. */
static inline __m128 dot4(const float *q, const float *k0, const float *k1, const float *k2, const float *k3,
                          size_t hd)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    size_t d = 0;
    for (; d + 8 <= hd; d += 8) {
        __m256 qv = _mm256_loadu_ps(q + d);
        a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + d), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + d), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + d), a3);
    }
    if (d < hd) { /* masked loads are slower: only for the tail */
        __m256i m = avx2_tail_mask(hd - d);
        __m256 qv = _mm256_maskload_ps(q + d, m);
        a0 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k0 + d, m), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k1 + d, m), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k2 + d, m), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k3 + d, m), a3);
    }
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* o[d0 .. d0+64) = o * alpha + sum_i p_i v_i[d0 ..], masked past hd. */
static void pv_chunk(const decode_job *j, const float *vblk, const float *p, float *o, size_t d0, size_t nb,
                     float alpha)
{
    size_t hd = j->a->head_dim;
    if (d0 + 64 <= hd) { /* a full chunk: plain loads and stores */
        __m256 acc[8];
        __m256 va = _mm256_set1_ps(alpha);
        for (int c = 0; c < 8; c++)
            acc[c] = _mm256_mul_ps(_mm256_loadu_ps(o + d0 + 8 * c), va);
        for (size_t i = 0; i < nb; i++) {
            __m256 pi = _mm256_set1_ps(p[i]);
            const float *v = vblk + i * j->ld + d0;
            for (int c = 0; c < 8; c++)
                acc[c] = _mm256_fmadd_ps(pi, _mm256_loadu_ps(v + 8 * c), acc[c]);
        }
        for (int c = 0; c < 8; c++)
            _mm256_storeu_ps(o + d0 + 8 * c, acc[c]);
        return;
    }
    __m256i m[8];
    __m256 acc[8];
    __m256 va = _mm256_set1_ps(alpha);
    for (int c = 0; c < 8; c++) {
        size_t at = d0 + 8 * (size_t)c, left = at < hd ? hd - at : 0;
        m[c] = avx2_tail_mask(left < 8 ? left : 8);
        acc[c] = _mm256_mul_ps(_mm256_maskload_ps(o + at, m[c]), va);
    }
    for (size_t i = 0; i < nb; i++) {
        __m256 pi = _mm256_set1_ps(p[i]);
        const float *v = vblk + i * j->ld + d0;
        for (int c = 0; c < 8; c++)
            acc[c] = _mm256_fmadd_ps(pi, _mm256_maskload_ps(v + 8 * c, m[c]), acc[c]);
    }
    for (int c = 0; c < 8; c++)
        _mm256_maskstore_ps(o + d0 + 8 * c, m[c], acc[c]);
}

/* The softmax state of one query row. */
typedef struct row_state {
    float *m, *l, *o;
} row_state;

/* One query row against a packed block of nb keys (kblk, vblk). */
static void row_block(const decode_job *j, const float *kblk, const float *vblk, float *sc, const float *q,
                      size_t nb, row_state rs)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim;
    for (size_t i = 0; i < nb; i += 4) {
        const float *k0 = kblk + i * j->ld;
        const float *k1 = i + 1 < nb ? k0 + j->ld : k0, *k2 = i + 2 < nb ? k0 + 2 * j->ld : k0;
        const float *k3 = i + 3 < nb ? k0 + 3 * j->ld : k0;
        _mm_storeu_ps(sc + i, _mm_mul_ps(dot4(q, k0, k1, k2, k3, hd), _mm_set1_ps(a->scale)));
    }
    float mx = *rs.m;
    for (size_t i = 0; i < nb; i++)
        mx = sc[i] > mx ? sc[i] : mx;
    /* sc has room for whole vectors: lanes past nb are computed, then
     * zeroed, so that they add nothing to the sum */
    __m256 vmx = _mm256_set1_ps(mx), sum = _mm256_setzero_ps();
    for (size_t i = 0; i < nb; i += 8) {
        __m256 p = avx2_exp_ps(_mm256_sub_ps(_mm256_loadu_ps(sc + i), vmx));
        p = _mm256_and_ps(p, _mm256_castsi256_ps(avx2_tail_mask(nb - i < 8 ? nb - i : 8)));
        _mm256_storeu_ps(sc + i, p);
        sum = _mm256_add_ps(sum, p);
    }
    float alpha = _mm256_cvtss_f32(avx2_exp_ps(_mm256_set1_ps(*rs.m - mx)));
    *rs.l = *rs.l * alpha + avx2_hsum_ps(sum);
    *rs.m = mx;
    for (size_t d0 = 0; d0 < hd; d0 += 64)
        pv_chunk(j, vblk, sc, rs.o, d0, nb, alpha);
}

/* Copies keys [s0, s0 + nb) of kv heads [h0, h1) into the packed blocks,
 * walking each cache row's heads in address order, and prefetches the next
 * block's rows (Hkv*hd apart: too far for the hardware prefetcher). */
static void pack_block(const decode_job *j, const decode_state *st, size_t h0, size_t h1, size_t s0, size_t nb,
                       size_t need)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, src_ld = a->n_kv_heads * hd, span = (h1 - h0) * hd;
    for (size_t i = 0; i < nb; i++) {
        size_t ahead = s0 + ATT_DEC_BK + i;
        if (ahead < need) {
            prefetch_row(a->k + ahead * src_ld + h0 * hd, span);
            prefetch_row(a->v + ahead * src_ld + h0 * hd, span);
        }
        for (size_t h = h0; h < h1; h++) {
            size_t at = ((h - h0) * ATT_DEC_BK + i) * j->ld;
            copy_row(st->kblk + at, a->k + (s0 + i) * src_ld + h * hd, hd);
            copy_row(st->vblk + at, a->v + (s0 + i) * src_ld + h * hd, hd);
        }
    }
}

/* kv heads [h0, h1) together, so that each key row is read in one sweep. */
static void decode_heads(const decode_job *j, const decode_state *st, size_t h0, size_t h1)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, need = avx2_visible_keys(a, a->T - 1), nrows = (h1 - h0) * j->rows;
    for (size_t r = 0; r < nrows; r++) {
        st->m[r] = -INFINITY;
        st->l[r] = 0.0f;
    }
    memset(st->o, 0, nrows * hd * sizeof(float));
    for (size_t s0 = 0; s0 < need; s0 += ATT_DEC_BK) {
        size_t nb = need - s0 < ATT_DEC_BK ? need - s0 : ATT_DEC_BK;
        pack_block(j, st, h0, h1, s0, nb, need);
        for (size_t kvh = h0; kvh < h1; kvh++) {
            size_t blk = (kvh - h0) * ATT_DEC_BK * j->ld;
            for (size_t r = 0; r < j->rows; r++) {
                size_t t = r / j->group, h = kvh * j->group + r % j->group, n = avx2_visible_keys(a, t);
                size_t idx = (kvh - h0) * j->rows + r;
                row_state rs = {st->m + idx, st->l + idx, st->o + idx * hd};
                if (s0 < n)
                    row_block(j, st->kblk + blk, st->vblk + blk, st->sc, a->q + (t * a->n_heads + h) * hd,
                              n - s0 < nb ? n - s0 : nb, rs);
            }
        }
    }
    for (size_t kvh = h0; kvh < h1; kvh++) {
        for (size_t r = 0; r < j->rows; r++) {
            size_t t = r / j->group, h = kvh * j->group + r % j->group, idx = (kvh - h0) * j->rows + r;
            float *out = a->out + (t * a->n_heads + h) * hd;
            for (size_t d = 0; d < hd; d++)
                out[d] = st->o[idx * hd + d] / st->l[idx];
        }
    }
}

static void decode_items(void *arg, size_t begin, size_t end, int tid)
{
    const decode_job *j = arg;
    size_t nh = j->a->n_kv_heads, blk = nh * ATT_DEC_BK * j->ld, nrows = nh * j->rows;
    decode_state st;
    st.kblk = j->ctx->scratch(j->ctx, tid, j->scratch_bytes);
    st.vblk = st.kblk + blk;
    st.sc = st.vblk + blk;
    st.m = st.sc + ATT_DEC_BK + 8;
    st.l = st.m + nrows;
    st.o = st.l + nrows;
    decode_heads(j, &st, begin, end);
}

int avx2_attention_decode(const ck_exec_ctx *ctx, const ck_attention_args *a)
{
    size_t group = a->n_heads / a->n_kv_heads, hd = a->head_dim, nh = a->n_kv_heads;
    decode_job j = {ctx, a, group, a->T * group, decode_ld(hd), 0};
    /* sized for the case where one thread gets every kv head */
    j.scratch_bytes =
        (2 * nh * ATT_DEC_BK * j.ld + ATT_DEC_BK + 8 + nh * j.rows * (2 + hd)) * sizeof(float);
    if (avx2_reserve_scratch(ctx, j.scratch_bytes) != 0)
        return CK_E_NOMEM;
    avx2_parallel(ctx, nh, 1, decode_items, &j);
    return CK_OK;
}
