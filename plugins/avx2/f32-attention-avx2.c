/* attention: scores = scale * q . k^T, soft-capped (cap * tanh(s / cap))
 * when asked (causal mask: key s > q_pos + t is -inf, and with a window W
 * key s <= q_pos + t - W), softmax over keys with the row max subtracted,
 * out = probs . v;
 * grouped-query (query head h reads kv head h / (H / Hkv)), prefill and
 * decode alike.
 *
 * When scores or probs are asked for (non-NULL) they are written ([H, T, S])
 * by f32-attention-mat-avx2.c; otherwise the streaming variant below (or
 * the decode path) never materialises them.
 *
 * Streaming (flash-attention style, transposed so that the query rows are
 * the vector lanes), for more than AVX2_ATT_ROWS_MAX query rows per kv head
 * (fewer: f32-attention-decode-avx2.c). A sub-tile is 16 query rows that
 * share one kv head — rows (t, g) over the H/Hkv heads of a group, t-major —
 * with q packed as qT[d][lane]; a tile is two sub-tiles. For each block of
 * ATT_BK keys the block's K and V rows are copied once per tile to
 * contiguous buffers (in the cache they are Hkv*hd apart), then per
 * sub-tile:
 *   sT[s][lane] = scale * sum_d k[s][d] * qT[d][lane]   (6 keys x 16 lanes
 *                 of FMA accumulators, k broadcast)
 *   online softmax, vectorised over lanes: m' = max(m, max_s sT),
 *   alpha = exp(m - m'), p = exp(sT - m'), l = l*alpha + sum_s p
 *   oT[d][lane] = oT*alpha + sum_s v[s][d] * p[s][lane] (6 dims x 16 lanes)
 * and out = oT / l at the end (0 for a row that sees no key). A lane whose
 * window has not begun has m = -inf; exp is then taken against 0, so its
 * sums stay exactly 0 until its first key (never -inf - -inf). Key blocks
 * start at fixed multiples of ATT_BK, a sub-tile starts at the block of its
 * rows' first key and stops at the keys its rows need, and every lane's
 * arithmetic is its own, so a row's result does not
 * depend on which tile or thread computes it. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

#define ATT_LANES 16 /* query rows per sub-tile (two vectors) */
#define ATT_SUBS 2   /* sub-tiles per tile, sharing each copied K/V block */
#define ATT_BK 64    /* keys per block */
#define ATT_KG 6     /* keys per QK micro-tile */
#define ATT_DG 6     /* head dims per PV micro-tile */

#define ATT_INLINE static inline __attribute__((always_inline))

/* ========================= streaming variant ============================== */

typedef struct stream_job {
    const ck_exec_ctx *ctx;
    const ck_attention_args *a;
    size_t group; /* query heads per kv head */
    size_t lanes; /* 8 or 16 rows per tile */
    size_t tiles; /* tiles (ATT_SUBS sub-tiles of `lanes` rows) per kv head */
    size_t scratch_bytes;
} stream_job;

/* A sub-tile's working set, carved from the thread's scratch (sT and the
 * K/V blocks are shared by the sub-tiles of a tile). */
typedef struct tile_state {
    float *qT;            /* [hd][16] */
    float *oT;            /* [hd][16] */
    float *sT;            /* [ATT_BK + ATT_KG][16]: scores, then probabilities */
    float *kblk;          /* [ATT_BK][vld]: the block's K rows, contiguous */
    float *vblk;          /* [ATT_BK][vld]: the block's V rows, contiguous */
    float *m, *l, *alpha; /* [16] each */
    int32_t *nvis;        /* [16]: keys each lane sees: [first, nvis) */
    int32_t *first;       /* [16] */
    size_t rows;          /* real rows in the tile */
    size_t t[ATT_LANES], h[ATT_LANES];
} tile_state;

/* Per sub-tile: qT, oT, m, l, alpha, nvis, first; shared: sT and the K/V
 * blocks. */
static size_t sub_scratch_floats(size_t hd)
{
    return 2 * hd * ATT_LANES + 5 * ATT_LANES;
}

static size_t tile_scratch_floats(size_t hd)
{
    return ATT_SUBS * sub_scratch_floats(hd) + (ATT_BK + ATT_KG) * ATT_LANES + 2 * ATT_BK * avx2_block_stride(hd);
}

/* Copies keys [s0, s0 + nb) of kv head kvh, K and V, to the tile's
 * contiguous blocks (used by every sub-tile). */
static void pack_kv_block(const stream_job *j, const tile_state *ts, size_t kvh, size_t s0, size_t nb)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, ld = a->n_kv_heads * hd, bld = avx2_block_stride(hd);
    for (size_t s = 0; s < nb; s++) {
        avx2_copy_row(ts->kblk + s * bld, a->k + (s0 + s) * ld + kvh * hd, hd);
        avx2_copy_row(ts->vblk + s * bld, a->v + (s0 + s) * ld + kvh * hd, hd);
    }
}

/* sT[i][lane] = scale * sum_d k_i[d] * qT[d][lane] for 6 keys. */
ATT_INLINE void qk_micro(const float *const kp[ATT_KG], const float *qT, size_t hd, float *sT, __m256 scale, int nv)
{
    __m256 acc[ATT_KG][2];
    for (int i = 0; i < ATT_KG; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (size_t d = 0; d < hd; d++) {
        __m256 q0 = _mm256_load_ps(qT + d * ATT_LANES);
        __m256 q1 = nv > 1 ? _mm256_load_ps(qT + d * ATT_LANES + 8) : q0;
        for (int i = 0; i < ATT_KG; i++) {
            __m256 kb = _mm256_broadcast_ss(kp[i] + d);
            acc[i][0] = _mm256_fmadd_ps(kb, q0, acc[i][0]);
            if (nv > 1)
                acc[i][1] = _mm256_fmadd_ps(kb, q1, acc[i][1]);
        }
    }
    for (int i = 0; i < ATT_KG; i++) {
        _mm256_store_ps(sT + i * ATT_LANES, _mm256_mul_ps(acc[i][0], scale));
        if (nv > 1)
            _mm256_store_ps(sT + i * ATT_LANES + 8, _mm256_mul_ps(acc[i][1], scale));
    }
}

/* Scores of keys [s0, s0 + nb), soft-capped when asked, masked per lane:
 * key s is -inf for a lane that sees fewer than s + 1 keys or whose window
 * starts after s. */
ATT_INLINE void block_scores(const stream_job *j, const tile_state *ts, size_t s0, size_t nb, int nv)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim;
    size_t kld = avx2_block_stride(hd);
    __m256 scale = _mm256_set1_ps(a->scale);
    for (size_t i = 0; i < nb; i += ATT_KG) {
        const float *kp[ATT_KG];
        for (size_t g = 0; g < ATT_KG; g++) /* past the block: repeat its last key */
            kp[g] = ts->kblk + (i + g < nb ? i + g : nb - 1) * kld;
        qk_micro(kp, ts->qT, hd, ts->sT + i * ATT_LANES, scale, nv);
    }
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    const __m256 cap = _mm256_set1_ps(a->softcap),
                 two_over_cap = _mm256_set1_ps(a->softcap > 0.0f ? 2.0f / a->softcap : 0.0f);
    for (int v = 0; v < nv; v++) {
        __m256i nvis = _mm256_load_si256((const __m256i *)(const void *)(ts->nvis + 8 * v));
        __m256i first = _mm256_load_si256((const __m256i *)(const void *)(ts->first + 8 * v));
        for (size_t i = 0; i < nb; i++) {
            __m256i s = _mm256_set1_epi32((int32_t)(s0 + i));
            __m256 vis =
                _mm256_castsi256_ps(_mm256_andnot_si256(_mm256_cmpgt_epi32(first, s), _mm256_cmpgt_epi32(nvis, s)));
            float *row = ts->sT + i * ATT_LANES + 8 * v;
            __m256 sc = _mm256_load_ps(row);
            if (a->softcap > 0.0f)
                sc = avx2_softcap_ps(sc, cap, two_over_cap);
            _mm256_store_ps(row, _mm256_blendv_ps(ninf, sc, vis));
        }
    }
}

/* The online-softmax step of one block, per lane: new max, the rescale
 * factor of what was accumulated so far, probabilities in sT, the new sum. */
ATT_INLINE void block_softmax(tile_state *ts, size_t nb, int nv)
{
    for (int v = 0; v < nv; v++) {
        __m256 m_old = _mm256_load_ps(ts->m + 8 * v), mx = m_old;
        for (size_t i = 0; i < nb; i++)
            mx = _mm256_max_ps(mx, _mm256_load_ps(ts->sT + i * ATT_LANES + 8 * v));
        __m256 shift = avx2_safe_max(mx), sum = _mm256_setzero_ps();
        for (size_t i = 0; i < nb; i++) {
            float *row = ts->sT + i * ATT_LANES + 8 * v;
            __m256 p = avx2_exp_ps(_mm256_sub_ps(_mm256_load_ps(row), shift));
            _mm256_store_ps(row, p);
            sum = _mm256_add_ps(sum, p);
        }
        __m256 alpha = avx2_exp_ps(_mm256_sub_ps(m_old, shift));
        _mm256_store_ps(ts->alpha + 8 * v, alpha);
        _mm256_store_ps(ts->m + 8 * v, mx);
        _mm256_store_ps(ts->l + 8 * v, _mm256_add_ps(_mm256_mul_ps(_mm256_load_ps(ts->l + 8 * v), alpha), sum));
    }
}

/* oT[d][lane] = oT[d][lane] * alpha[lane] + sum_s v[s][d] * p[s][lane],
 * 6 head dims at a time (a short last group repeats its last dim). */
ATT_INLINE void block_pv(const stream_job *j, tile_state *ts, size_t nb, int nv)
{
    size_t hd = j->a->head_dim, vld = avx2_block_stride(hd);
    __m256 al0 = _mm256_load_ps(ts->alpha), al1 = _mm256_load_ps(ts->alpha + 8);
    for (size_t d0 = 0; d0 < hd; d0 += ATT_DG) {
        size_t dg = hd - d0 < ATT_DG ? hd - d0 : ATT_DG;
        size_t off[ATT_DG];
        __m256 acc[ATT_DG][2];
        for (size_t i = 0; i < ATT_DG; i++) {
            off[i] = d0 + (i < dg ? i : dg - 1);
            const float *o = ts->oT + off[i] * ATT_LANES;
            acc[i][0] = _mm256_mul_ps(_mm256_load_ps(o), al0);
            acc[i][1] = nv > 1 ? _mm256_mul_ps(_mm256_load_ps(o + 8), al1) : acc[i][0];
        }
        for (size_t s = 0; s < nb; s++) {
            const float *vr = ts->vblk + s * vld;
            __m256 p0 = _mm256_load_ps(ts->sT + s * ATT_LANES);
            __m256 p1 = nv > 1 ? _mm256_load_ps(ts->sT + s * ATT_LANES + 8) : p0;
            for (size_t i = 0; i < ATT_DG; i++) {
                __m256 vb = _mm256_broadcast_ss(vr + off[i]);
                acc[i][0] = _mm256_fmadd_ps(vb, p0, acc[i][0]);
                if (nv > 1)
                    acc[i][1] = _mm256_fmadd_ps(vb, p1, acc[i][1]);
            }
        }
        /* All six, so the accumulators stay in registers: a repeated dim
         * stores the same value to the same place again. */
        for (size_t i = 0; i < ATT_DG; i++) {
            _mm256_store_ps(ts->oT + off[i] * ATT_LANES, acc[i][0]);
            if (nv > 1)
                _mm256_store_ps(ts->oT + off[i] * ATT_LANES + 8, acc[i][1]);
        }
    }
}

/* Fills the tile's rows (t-major over the group's heads), packs qT, resets
 * m, l, oT. Padding lanes get q = 0 and see every key: harmless finite
 * values that are never written out. Returns the keys the tile needs, and
 * in *from the first key any of its rows sees. */
static size_t tile_init(const stream_job *j, tile_state *ts, size_t kvh, size_t first, size_t *from)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim, total = a->T * j->group;
    size_t need = 0;
    *from = a->S;
    ts->rows = first >= total ? 0 : total - first < j->lanes ? total - first : j->lanes;
    memset(ts->qT, 0, hd * ATT_LANES * sizeof(float));
    memset(ts->oT, 0, hd * ATT_LANES * sizeof(float));
    for (size_t r = 0; r < ATT_LANES; r++) {
        ts->m[r] = -INFINITY;
        ts->l[r] = 0.0f;
        ts->nvis[r] = (int32_t)a->S;
        ts->first[r] = 0;
        if (r >= ts->rows)
            continue;
        ts->t[r] = (first + r) / j->group;
        ts->h[r] = kvh * j->group + (first + r) % j->group;
        size_t n = avx2_visible_keys(a, ts->t[r]), lo = avx2_first_key(a, ts->t[r]);
        ts->nvis[r] = (int32_t)n;
        ts->first[r] = (int32_t)lo;
        need = n > need ? n : need;
        *from = lo < *from ? lo : *from;
        const float *q = a->q + (ts->t[r] * a->n_heads + ts->h[r]) * hd;
        for (size_t d = 0; d < hd; d++)
            ts->qT[d * ATT_LANES + r] = q[d];
    }
    return need;
}

static void tile_finish(const stream_job *j, const tile_state *ts)
{
    const ck_attention_args *a = j->a;
    size_t hd = a->head_dim;
    for (size_t r = 0; r < ts->rows; r++) {
        float *out = a->out + (ts->t[r] * a->n_heads + ts->h[r]) * hd, l = ts->l[r];
        for (size_t d = 0; d < hd; d++)
            out[d] = l > 0.0f ? ts->oT[d * ATT_LANES + r] / l : 0.0f;
    }
}

/* The sub-tiles of one tile walk the key blocks together, so that each K/V
 * block is copied once for all of them; a sub-tile starts at the block of
 * its rows' first key and stops at the keys its own rows need, exactly as
 * if it were alone (a block wholly before a lane's window leaves its state
 * at zero, so skipping it changes nothing). */
ATT_INLINE void tile_blocks(const stream_job *j, tile_state *sub, const size_t need[ATT_SUBS],
                            const size_t from[ATT_SUBS], size_t kvh, int nv)
{
    size_t all = need[0] > need[1] ? need[0] : need[1], lo = from[0] < from[1] ? from[0] : from[1];
    for (size_t s0 = lo / ATT_BK * ATT_BK; s0 < all; s0 += ATT_BK) {
        size_t nb = all - s0 < ATT_BK ? all - s0 : ATT_BK;
        pack_kv_block(j, &sub[0], kvh, s0, nb);
        for (int u = 0; u < ATT_SUBS; u++) {
            if (s0 >= need[u] || s0 + nb <= from[u])
                continue;
            size_t nbu = need[u] - s0 < nb ? need[u] - s0 : nb;
            block_scores(j, &sub[u], s0, nbu, nv);
            block_softmax(&sub[u], nbu, nv);
            block_pv(j, &sub[u], nbu, nv);
        }
    }
}

static void stream_items(void *arg, size_t begin, size_t end, int tid)
{
    const stream_job *j = arg;
    size_t hd = j->a->head_dim, bld = avx2_block_stride(hd);
    float *base = j->ctx->scratch(j->ctx, tid, j->scratch_bytes);
    tile_state sub[ATT_SUBS];
    float *shared = base + ATT_SUBS * sub_scratch_floats(hd);
    for (int u = 0; u < ATT_SUBS; u++) {
        tile_state *ts = &sub[u];
        ts->qT = base + (size_t)u * sub_scratch_floats(hd);
        ts->oT = ts->qT + hd * ATT_LANES;
        ts->m = ts->oT + hd * ATT_LANES;
        ts->l = ts->m + ATT_LANES;
        ts->alpha = ts->l + ATT_LANES;
        ts->nvis = (int32_t *)(void *)(ts->alpha + ATT_LANES);
        ts->first = ts->nvis + ATT_LANES;
        ts->sT = shared;
        ts->kblk = shared + (ATT_BK + ATT_KG) * ATT_LANES;
        ts->vblk = ts->kblk + ATT_BK * bld;
    }
    for (size_t item = begin; item < end; item++) {
        size_t kvh = item / j->tiles, first = item % j->tiles * ATT_SUBS * j->lanes;
        size_t need[ATT_SUBS], from[ATT_SUBS];
        for (int u = 0; u < ATT_SUBS; u++)
            need[u] = tile_init(j, &sub[u], kvh, first + (size_t)u * j->lanes, &from[u]);
        if (j->lanes > 8)
            tile_blocks(j, sub, need, from, kvh, 2);
        else
            tile_blocks(j, sub, need, from, kvh, 1);
        for (int u = 0; u < ATT_SUBS; u++)
            tile_finish(j, &sub[u]);
    }
}

/* ============================== entry ===================================== */

static int attention_streaming(const ck_exec_ctx *ctx, const ck_attention_args *a, size_t group)
{
    size_t rows = a->T * group; /* query rows per kv head */
    stream_job j = {ctx, a, group, rows <= 8 ? 8 : ATT_LANES, 0, 0};
    j.tiles = (rows + ATT_SUBS * j.lanes - 1) / (ATT_SUBS * j.lanes);
    j.scratch_bytes = tile_scratch_floats(a->head_dim) * sizeof(float);
    if (avx2_reserve_scratch(ctx, j.scratch_bytes) != 0)
        return CK_E_NOMEM;
    avx2_parallel(ctx, a->n_kv_heads * j.tiles, 1, stream_items, &j);
    return CK_OK;
}

int ck_avx2_f32_attention(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args;
    if (a->T == 0 || a->n_heads == 0 || a->head_dim == 0)
        return CK_OK;
    if (a->S > INT32_MAX) /* lane key indices are int32 */
        return CK_E_UNSUPPORTED;
    size_t group = a->n_heads / a->n_kv_heads;
    if (a->S == 0) { /* nothing to attend to: out = 0, as the reference */
        memset(a->out, 0, a->T * a->n_heads * a->head_dim * sizeof(float));
        return CK_OK;
    }
    if (a->scores || a->probs)
        return avx2_attention_materialising(ctx, a);
    if (a->T * group <= AVX2_ATT_ROWS_MAX)
        return avx2_attention_decode(ctx, a);
    return attention_streaming(ctx, a, group);
}
