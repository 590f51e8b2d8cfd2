/* Streaming attention for very few query rows per kv head (decode: T = 1,
 * or T * H/Hkv <= AVX2_ATT_ROWS_MAX). Here the lane-transposed tiles of
 * f32-attention-avx2.c would leave most lanes idle, so each query row is
 * vectorised along the head dim instead, and the step is bandwidth bound on
 * the KV cache. A thread takes a range of kv heads and walks the keys in
 * blocks of ATT_DEC_BK, the kv heads of its range inner, so that a block
 * sweeps a contiguous stretch of each cache row; K and V are read in place
 * (a copy to contiguous buffers cost as much as the arithmetic), and the
 * block two steps ahead is prefetched towards L2 while one is computed
 * (rows Hkv*hd apart defeat the hardware prefetcher; prefetches into L1
 * hold its few miss buffers and cap the stream at about half the memory
 * bandwidth). Per kv head and block, the query rows of the head together:
 *   scores s_i = scale * dot(q, k_i)   (2 rows x 4 keys per pass), then
 *                   soft-capped when asked; -inf for keys a row does not
 *                   see (causal limit, window: the walk starts at the block
 *                   of the first row's first key)
 *   online softmax per row: m' = max(m, max_i s_i), alpha = exp(m - m'),
 *                   p_i = exp(s_i - m'), l = l*alpha + sum_i p_i
 *   o = o*alpha + sum_i p_i v_i        (16 dims of every row per pass, each
 *                                       v loaded once for all rows)
 * and out = o / l at the end. Key blocks start at fixed multiples of
 * ATT_DEC_BK and each row's arithmetic is its own, so a row's result does
 * not depend on the thread count. */
#include "avx2-helpers.h"

#define ATT_DEC_BK 16
#define DEC_ROWS AVX2_ATT_ROWS_MAX /* query rows of one kv head, done together */
#define SC_LD (ATT_DEC_BK + 8)     /* row stride of the scores: whole vectors */
#define PF_AHEAD 2                 /* blocks (kv head, keys) prefetched ahead: 2 and 4 measured alike, 1 slower */

typedef struct decode_job {
    const ck_exec_ctx *ctx;
    const ck_attention_args *a;
    size_t group, rows; /* query heads per kv head; rows = T * group */
    size_t ld;          /* floats between cache rows: Hkv * hd */
    size_t scratch_bytes;
} decode_job;

typedef struct decode_state {
    float *o;     /* [heads * rows][hd] */
    float *sc;    /* [DEC_ROWS][SC_LD]: scores, then probabilities */
    float *m, *l; /* [heads * rows] */
} decode_state;

/* Rows of K and V to prefetch while a block is computed, one K row per
 * key of the scores and one V row per key of p . V (spread out: a burst
 * stalls); n == 0: none. */
typedef struct kv_prefetch {
    const float *k, *v; /* row 0 */
    size_t n;
} kv_prefetch;

/* Row i of base (rows ld floats apart, hd floats each) towards L2
 * (prefetcht2). The builtin, not _mm_prefetch: in this file gcc -O2
 * dropped every _mm_prefetch (the object had none). */
static inline void prefetch_row(const kv_prefetch *pf, const float *base, size_t i, size_t ld, size_t hd)
{
    if (i < pf->n)
        for (size_t b = 0; b < hd * sizeof(float); b += 64)
            __builtin_prefetch((const char *)(base + i * ld) + b, 0, 1);
}

/* The query rows of one kv head: q pointers (a short group repeats its last
 * row; those copies are computed and dropped) and softmax states. */
typedef struct group_rows {
    size_t n; /* real rows, 1..DEC_ROWS */
    const float *q[DEC_ROWS];
    size_t nvis[DEC_ROWS];  /* keys each row sees: [first, nvis) */
    size_t first[DEC_ROWS]; /* its window's first key */
    float *m[DEC_ROWS], *l[DEC_ROWS], *o[DEC_ROWS];
} group_rows;

/* sc[r][i] = scale * dot(q_r, k_i) for two rows and four keys: 8
 * accumulators, 6 loads per 8 FMAs, one reduction per row. */
static inline void dot_2x4(const float *q0, const float *q1, const float *const k[4], size_t hd, float *sc0, float *sc1,
                           float scale)
{
    __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a02 = _mm256_setzero_ps(), a03 = _mm256_setzero_ps();
    __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps(), a12 = _mm256_setzero_ps(), a13 = _mm256_setzero_ps();
    size_t d = 0;
    for (; d < hd; d += 8) {
        __m256 x0, x1, k0, k1, k2, k3;
        if (d + 8 <= hd) {
            x0 = _mm256_loadu_ps(q0 + d), x1 = _mm256_loadu_ps(q1 + d);
            k0 = _mm256_loadu_ps(k[0] + d), k1 = _mm256_loadu_ps(k[1] + d);
            k2 = _mm256_loadu_ps(k[2] + d), k3 = _mm256_loadu_ps(k[3] + d);
        } else { /* masked loads are slower: the tail only */
            __m256i m = avx2_tail_mask(hd - d);
            x0 = _mm256_maskload_ps(q0 + d, m), x1 = _mm256_maskload_ps(q1 + d, m);
            k0 = _mm256_maskload_ps(k[0] + d, m), k1 = _mm256_maskload_ps(k[1] + d, m);
            k2 = _mm256_maskload_ps(k[2] + d, m), k3 = _mm256_maskload_ps(k[3] + d, m);
        }
        a00 = _mm256_fmadd_ps(x0, k0, a00);
        a01 = _mm256_fmadd_ps(x0, k1, a01);
        a02 = _mm256_fmadd_ps(x0, k2, a02);
        a03 = _mm256_fmadd_ps(x0, k3, a03);
        a10 = _mm256_fmadd_ps(x1, k0, a10);
        a11 = _mm256_fmadd_ps(x1, k1, a11);
        a12 = _mm256_fmadd_ps(x1, k2, a12);
        a13 = _mm256_fmadd_ps(x1, k3, a13);
    }
    __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(a00, a01), _mm256_hadd_ps(a02, a03));
    __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(a10, a11), _mm256_hadd_ps(a12, a13));
    __m128 vs = _mm_set1_ps(scale);
    _mm_storeu_ps(sc0, _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(h0), _mm256_extractf128_ps(h0, 1)), vs));
    _mm_storeu_ps(sc1, _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(h1), _mm256_extractf128_ps(h1, 1)), vs));
}

/* The same for one row (an odd last row): the same per-row arithmetic. */
static inline void dot_1x4(const float *q0, const float *const k[4], size_t hd, float *sc0, float scale)
{
    __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a02 = _mm256_setzero_ps(), a03 = _mm256_setzero_ps();
    for (size_t d = 0; d < hd; d += 8) {
        __m256 x0, k0, k1, k2, k3;
        if (d + 8 <= hd) {
            x0 = _mm256_loadu_ps(q0 + d);
            k0 = _mm256_loadu_ps(k[0] + d), k1 = _mm256_loadu_ps(k[1] + d);
            k2 = _mm256_loadu_ps(k[2] + d), k3 = _mm256_loadu_ps(k[3] + d);
        } else {
            __m256i m = avx2_tail_mask(hd - d);
            x0 = _mm256_maskload_ps(q0 + d, m);
            k0 = _mm256_maskload_ps(k[0] + d, m), k1 = _mm256_maskload_ps(k[1] + d, m);
            k2 = _mm256_maskload_ps(k[2] + d, m), k3 = _mm256_maskload_ps(k[3] + d, m);
        }
        a00 = _mm256_fmadd_ps(x0, k0, a00);
        a01 = _mm256_fmadd_ps(x0, k1, a01);
        a02 = _mm256_fmadd_ps(x0, k2, a02);
        a03 = _mm256_fmadd_ps(x0, k3, a03);
    }
    __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(a00, a01), _mm256_hadd_ps(a02, a03));
    _mm_storeu_ps(sc0,
                  _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(h0), _mm256_extractf128_ps(h0, 1)), _mm_set1_ps(scale)));
}

/* Scores of the block for every row (stride SC_LD), -inf past what a row
 * sees. */
static void group_scores(const decode_job *j, const float *kblk, const group_rows *g, size_t s0, size_t nb, float *sc,
                         const kv_prefetch *pf)
{
    for (size_t r = 0; r < g->n; r += 2) { /* row pairs, then an odd last row alone */
        for (size_t i = 0; i < nb; i += 4) {
            const float *k[4];
            for (size_t c = 0; c < 4; c++)
                k[c] = kblk + (i + c < nb ? i + c : nb - 1) * j->ld;
            if (r + 1 < g->n)
                dot_2x4(g->q[r], g->q[r + 1], k, j->a->head_dim, sc + r * SC_LD + i, sc + (r + 1) * SC_LD + i,
                        j->a->scale);
            else
                dot_1x4(g->q[r], k, j->a->head_dim, sc + r * SC_LD + i, j->a->scale);
            if (r == 0)
                for (size_t c = 0; c < 4; c++)
                    prefetch_row(pf, pf->k, i + c, j->ld, j->a->head_dim);
        }
    }
    for (size_t r = 0; r < g->n; r++) {
        if (j->a->softcap > 0.0f)
            avx2_softcap_row(sc + r * SC_LD, nb, j->a->softcap);
        for (size_t i = 0; i + s0 < g->first[r] && i < nb; i++)
            sc[r * SC_LD + i] = -INFINITY;
        for (size_t i = g->nvis[r] > s0 ? g->nvis[r] - s0 : 0; i < nb; i++)
            sc[r * SC_LD + i] = -INFINITY;
    }
}

/* The online-softmax step of one row: probabilities in place (lanes past
 * nb zeroed; sc has room for whole vectors), new m and l; returns alpha. */
static float row_softmax(float *sc, size_t nb, float *m, float *l)
{
    float mx = *m;
    for (size_t i = 0; i < nb; i++)
        mx = sc[i] > mx ? sc[i] : mx;
    __m256 vmx = avx2_safe_max(_mm256_set1_ps(mx)), sum = _mm256_setzero_ps();
    for (size_t i = 0; i < nb; i += 8) {
        __m256 p = avx2_exp_ps(_mm256_sub_ps(_mm256_loadu_ps(sc + i), vmx));
        p = _mm256_and_ps(p, _mm256_castsi256_ps(avx2_tail_mask(nb - i < 8 ? nb - i : 8)));
        _mm256_storeu_ps(sc + i, p);
        sum = _mm256_add_ps(sum, p);
    }
    float alpha = _mm256_cvtss_f32(avx2_exp_ps(_mm256_sub_ps(_mm256_set1_ps(*m), vmx)));
    *l = *l * alpha + avx2_hsum_ps(sum);
    *m = mx;
    return alpha;
}

/* o_r[d0 .. d0+16) = o_r * alpha_r + sum_i p_r[i] v_i for `rows` rows (a
 * constant after inlining, so the accumulators live in registers), v loaded
 * once for all of them; masks for a chunk that passes hd. */
static inline __attribute__((always_inline)) void group_pv_chunk(const decode_job *j, const float *vblk,
                                                                 const float *sc, const group_rows *g,
                                                                 const float alpha[DEC_ROWS], size_t d0, size_t nb,
                                                                 const size_t rows, const kv_prefetch *pf)
{
    size_t hd = j->a->head_dim;
    int full = d0 + 16 <= hd;
    __m256i m0 = avx2_tail_mask(full || hd - d0 >= 8 ? 8 : hd - d0);
    __m256i m1 = avx2_tail_mask(full ? 8 : hd - d0 > 8 ? hd - d0 - 8 : 0);
    __m256 acc[DEC_ROWS][2];
    for (size_t r = 0; r < rows; r++) {
        __m256 al = _mm256_set1_ps(alpha[r]);
        const float *o = g->o[r] + d0;
        acc[r][0] = _mm256_mul_ps(full ? _mm256_loadu_ps(o) : _mm256_maskload_ps(o, m0), al);
        acc[r][1] = _mm256_mul_ps(full ? _mm256_loadu_ps(o + 8) : _mm256_maskload_ps(o + 8, m1), al);
    }
    for (size_t i = 0; i < nb; i++) {
        const float *v = vblk + i * j->ld + d0;
        if (d0 == 0)
            prefetch_row(pf, pf->v, i, j->ld, hd);
        __m256 v0 = full ? _mm256_loadu_ps(v) : _mm256_maskload_ps(v, m0);
        __m256 v1 = full ? _mm256_loadu_ps(v + 8) : _mm256_maskload_ps(v + 8, m1);
        for (size_t r = 0; r < rows; r++) {
            __m256 p = _mm256_broadcast_ss(sc + r * SC_LD + i);
            acc[r][0] = _mm256_fmadd_ps(p, v0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(p, v1, acc[r][1]);
        }
    }
    /* every row of the pass: a repeated row stores the same values again */
    for (size_t r = 0; r < rows; r++) {
        float *o = g->o[r] + d0;
        if (full) {
            _mm256_storeu_ps(o, acc[r][0]);
            _mm256_storeu_ps(o + 8, acc[r][1]);
        } else {
            _mm256_maskstore_ps(o, m0, acc[r][0]);
            _mm256_maskstore_ps(o + 8, m1, acc[r][1]);
        }
    }
}

/* The query rows of one kv head against one block (kblk, vblk: its key
 * s0 in the cache). */
static void group_block(const decode_job *j, const float *kblk, const float *vblk, float *sc, const group_rows *g,
                        size_t s0, size_t nb, const kv_prefetch *pf)
{
    float alpha[DEC_ROWS];
    group_scores(j, kblk, g, s0, nb, sc, pf);
    for (size_t r = 0; r < g->n; r++)
        alpha[r] = row_softmax(sc + r * SC_LD, nb, g->m[r], g->l[r]);
    for (size_t r = g->n; r < DEC_ROWS; r++) { /* copies of the last row (a group has n >= 1) */
        // cppcheck-suppress uninitvar
        alpha[r] = alpha[g->n - 1];
        memcpy(sc + r * SC_LD, sc + (g->n - 1) * SC_LD, nb * sizeof(float));
    }
    for (size_t d0 = 0; d0 < j->a->head_dim; d0 += 16) {
        if (g->n == 1)
            group_pv_chunk(j, vblk, sc, g, alpha, d0, nb, 1, pf);
        else if (g->n == 2)
            group_pv_chunk(j, vblk, sc, g, alpha, d0, nb, 2, pf);
        else
            group_pv_chunk(j, vblk, sc, g, alpha, d0, nb, DEC_ROWS, pf);
    }
}

/* The block PF_AHEAD steps after (kvh, s0) in the order decode_heads walks
 * them (kv heads inner), to be prefetched while (kvh, s0) is computed. */
static kv_prefetch prefetch_ahead(const decode_job *j, size_t h0, size_t h1, size_t kvh, size_t s0, size_t need)
{
    const ck_attention_args *a = j->a;
    size_t step = kvh - h0 + PF_AHEAD, heads = h1 - h0;
    size_t blk = s0 + ATT_DEC_BK * (step / heads), h = h0 + step % heads;
    kv_prefetch pf = {a->k, a->v, 0};
    if (blk < need) {
        pf.k = a->k + blk * j->ld + h * a->head_dim;
        pf.v = a->v + blk * j->ld + h * a->head_dim;
        pf.n = need - blk < ATT_DEC_BK ? need - blk : ATT_DEC_BK;
    }
    return pf;
}

/* kv heads [h0, h1) together, so that each key row is read in one sweep. */
static void decode_heads(const decode_job *j, const decode_state *st, size_t h0, size_t h1)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, need = avx2_visible_keys(a, a->T - 1), nrows = (h1 - h0) * j->rows;
    size_t start = avx2_first_key(a, 0) / ATT_DEC_BK * ATT_DEC_BK; /* blocks before: no row sees them */
    for (size_t r = 0; r < nrows; r++) {
        st->m[r] = -INFINITY;
        st->l[r] = 0.0f;
    }
    memset(st->o, 0, nrows * hd * sizeof(float));
    for (size_t s0 = start; s0 < need; s0 += ATT_DEC_BK) {
        size_t nb = need - s0 < ATT_DEC_BK ? need - s0 : ATT_DEC_BK;
        for (size_t kvh = h0; kvh < h1; kvh++) {
            kv_prefetch pf = prefetch_ahead(j, h0, h1, kvh, s0, need);
            group_rows g = {j->rows, {0}, {0}, {0}, {0}, {0}, {0}};
            for (size_t r = 0; r < DEC_ROWS; r++) {
                size_t rr = r < j->rows ? r : j->rows - 1, t = rr / j->group;
                size_t h = kvh * j->group + rr % j->group, idx = (kvh - h0) * j->rows + rr;
                g.q[r] = a->q + (t * a->n_heads + h) * hd;
                g.nvis[r] = avx2_visible_keys(a, t);
                g.first[r] = avx2_first_key(a, t);
                g.m[r] = st->m + idx;
                g.l[r] = st->l + idx;
                g.o[r] = st->o + idx * hd;
            }
            size_t at = s0 * j->ld + kvh * hd;
            group_block(j, a->k + at, a->v + at, st->sc, &g, s0, nb, &pf);
        }
    }
    for (size_t kvh = h0; kvh < h1; kvh++) {
        for (size_t r = 0; r < j->rows; r++) {
            size_t t = r / j->group, h = kvh * j->group + r % j->group, idx = (kvh - h0) * j->rows + r;
            float *out = a->out + (t * a->n_heads + h) * hd, l = st->l[idx];
            for (size_t d = 0; d < hd; d++) /* l == 0: a row that sees no key, out = 0 */
                out[d] = l > 0.0f ? st->o[idx * hd + d] / l : 0.0f;
        }
    }
}

static void decode_items(void *arg, size_t begin, size_t end, int tid)
{
    const decode_job *j = arg;
    size_t nrows = j->a->n_kv_heads * j->rows;
    decode_state st;
    st.sc = j->ctx->scratch(j->ctx, tid, j->scratch_bytes);
    st.m = st.sc + DEC_ROWS * SC_LD;
    st.l = st.m + nrows;
    st.o = st.l + nrows;
    decode_heads(j, &st, begin, end);
}

int avx2_attention_decode(const ck_exec_ctx *ctx, const ck_attention_args *a)
{
    size_t group = a->n_heads / a->n_kv_heads, hd = a->head_dim, nh = a->n_kv_heads;
    decode_job j = {ctx, a, group, a->T * group, nh * hd, 0};
    /* sized for the case where one thread gets every kv head */
    j.scratch_bytes = (DEC_ROWS * SC_LD + nh * j.rows * (2 + hd)) * sizeof(float);
    if (avx2_reserve_scratch(ctx, j.scratch_bytes) != 0)
        return CK_E_NOMEM;
    avx2_parallel(ctx, nh, 1, decode_items, &j);
    return CK_OK;
}
