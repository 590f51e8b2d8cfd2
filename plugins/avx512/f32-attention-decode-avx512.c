/* f32-attention-decode/avx512: attention of a few query rows (decode, T <
 * CK512_FLASH_MIN_T) without scores or probs, bound by reading the KV cache
 * once.
 *
 * - The keys are cut into chunks of a size fixed by S alone (never by the
 *   thread count); a chunk is one work item, computed for every query head,
 *   and leaves its partial softmax (max m, sum l, unnormalised p . V per
 *   head). A second pass merges the chunks of each head in chunk order. So
 *   a decode with fewer kv heads than threads still uses every thread, and
 *   the result does not depend on how the chunks were shared out.
 * - Within a chunk, blocks of CK512_DEC_B keys: the scores of every head for
 *   one key row at a time (a row is all Hkv heads of one key, contiguous),
 *   so K is read strictly in address order; then the softmax of the block,
 *   vectorised over heads; then p . V with a head group's accumulators in
 *   registers across the block's keys. V is read column-wise there, so its
 *   rows are prefetched in address order one block ahead, during the
 *   scores. On this machine's prefetchers the order is what counts: reading
 *   a 16-key block one head at a time (16 rows 4 KiB apart, side by side)
 *   streamed at 22-24 GB/s where the same bytes in address order stream at
 *   40.
 * - A sliding window only narrows the keys a row's chunks cover; the
 *   soft-cap is applied to each score row.
 * - Within a GQA group the K loads are shared by the group's query heads
 *   (G = 1, 2, 4, 8, 16 with H a multiple of 16; other shapes take the
 *   generic loop). */
#include <math.h>

#include "attention-avx512.h"

#define CK512_DEC_B 32           /* keys per block */
#define CK512_DEC_MIN_CHUNK 128  /* keys per chunk, at least */
#define CK512_DEC_MAX_CHUNKS 64  /* chunks per row, at most (bounds the merge) */
#define CK512_DEC_PF _MM_HINT_T1 /* K and V rows of the next block go to L2 */

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

size_t ck512_attention_decode_chunk(size_t S)
{
    size_t c = (S + CK512_DEC_MAX_CHUNKS - 1) / CK512_DEC_MAX_CHUNKS;
    c = (c + CK512_DEC_B - 1) / CK512_DEC_B * CK512_DEC_B;
    return c < CK512_DEC_MIN_CHUNK ? CK512_DEC_MIN_CHUNK : c;
}

/* acc [hp][hdp], m [hp], l [hp], then 16 floats whose first says whether
 * the chunk saw any key (1) or none (0). */
size_t ck512_attention_decode_part_floats(size_t H, size_t hd)
{
    return round16(H) * (round16(hd) + 2) + 16;
}

/* Per thread: the block's scores [CK512_DEC_B][hp], corr [hp], then the
 * packed query [hp][hdp] (64-byte aligned: hp is a multiple of 16). */
size_t ck512_attention_decode_thread_floats(size_t H, size_t hd)
{
    return (CK512_DEC_B + 1) * round16(H) + round16(H) * round16(hd);
}

/* The 16 sums of d[0..15] in lanes 0..15. */
static inline __attribute__((always_inline)) __m512 tree16(const __m512 d[16])
{
    return ck512_hsum_final(ck512_hsum_quad(ck512_hsum_pair(d[0], d[1]), ck512_hsum_pair(d[2], d[3])),
                            ck512_hsum_quad(ck512_hsum_pair(d[4], d[5]), ck512_hsum_pair(d[6], d[7])),
                            ck512_hsum_quad(ck512_hsum_pair(d[8], d[9]), ck512_hsum_pair(d[10], d[11])),
                            ck512_hsum_quad(ck512_hsum_pair(d[12], d[13]), ck512_hsum_pair(d[14], d[15])));
}

/* q . k of 16 consecutive query heads with their kv heads (k: the first,
 * hd apart; G heads each, G a constant once inlined). q is packed
 * (pack_q): per 16 dims, the 16 heads' 16 floats side by side, zero past
 * hd, so every q load has a constant offset. The K vector of a kv head is
 * the same load for its G heads, which the compiler merges. Named
 * accumulators: an array indexed in unrolled loops stays on the stack. */
#define CK512_DEC_DOT(i)                                                                                               \
    d##i = _mm512_fmadd_ps(_mm512_load_ps(qc + 16 * (i)), _mm512_maskz_loadu_ps(m, k + (i) / G * hd + c), d##i)
static inline __attribute__((always_inline)) __m512 dots16_grouped(const float *qp, const float *k, size_t hd,
                                                                   const size_t G)
{
    __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0;
    __m512 d8 = d0, d9 = d0, d10 = d0, d11 = d0, d12 = d0, d13 = d0, d14 = d0, d15 = d0;
    for (size_t c = 0; c < hd; c += 16) {
        const float *qc = qp + 16 * c;
        const __mmask16 m = ck512_mask(hd - c);
        CK512_DEC_DOT(0);
        CK512_DEC_DOT(1);
        CK512_DEC_DOT(2);
        CK512_DEC_DOT(3);
        CK512_DEC_DOT(4);
        CK512_DEC_DOT(5);
        CK512_DEC_DOT(6);
        CK512_DEC_DOT(7);
        CK512_DEC_DOT(8);
        CK512_DEC_DOT(9);
        CK512_DEC_DOT(10);
        CK512_DEC_DOT(11);
        CK512_DEC_DOT(12);
        CK512_DEC_DOT(13);
        CK512_DEC_DOT(14);
        CK512_DEC_DOT(15);
    }
    return ck512_hsum_final(ck512_hsum_quad(ck512_hsum_pair(d0, d1), ck512_hsum_pair(d2, d3)),
                            ck512_hsum_quad(ck512_hsum_pair(d4, d5), ck512_hsum_pair(d6, d7)),
                            ck512_hsum_quad(ck512_hsum_pair(d8, d9), ck512_hsum_pair(d10, d11)),
                            ck512_hsum_quad(ck512_hsum_pair(d12, d13), ck512_hsum_pair(d14, d15)));
}
#undef CK512_DEC_DOT

/* Any shape: heads h0 .. h0+15 (past H: head H-1 again, lanes unused). */
static __m512 dots16_any(const float *q, const float *krow, size_t h0, size_t H, size_t G, size_t hd)
{
    const float *qp[16], *kp[16];
    for (size_t i = 0; i < 16; i++) {
        size_t h = h0 + i < H ? h0 + i : H - 1;
        qp[i] = q + h * hd;
        kp[i] = krow + h / G * hd;
    }
    __m512 d[16];
    for (size_t i = 0; i < 16; i++)
        d[i] = _mm512_setzero_ps();
    for (size_t c = 0; c < hd; c += 16) {
        const __mmask16 m = ck512_mask(hd - c);
#pragma GCC unroll 16
        for (size_t i = 0; i < 16; i++)
            d[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, qp[i] + c), _mm512_maskz_loadu_ps(m, kp[i] + c), d[i]);
    }
    return tree16(d);
}

typedef struct dec_job {
    const ck_attention_args *a;
    const ck_exec_ctx *ctx;
    size_t G, hp, hdp, chunk, n_chunks, part_floats;
    float *part; /* [T][n_chunks][part_floats] (ck512_attention_decode_part_floats) */
} dec_job;

/* q [H][hd] of one query row as dots16_grouped reads it: per group of 16
 * heads, per 16 dims, [16 heads][16 floats], zero past hd. hp * hdp floats. */
static void pack_q(const dec_job *j, const float *q, float *qp)
{
    const size_t H = j->a->n_heads, hd = j->a->head_dim;
    for (size_t h = 0; h < j->hp; h++)
        for (size_t c = 0; c < j->hdp; c += 16) {
            const __mmask16 m = h < H ? ck512_mask(hd > c ? hd - c : 0) : 0;
            _mm512_store_ps(qp + (h / 16) * 16 * j->hdp + c * 16 + (h % 16) * 16,
                            _mm512_maskz_loadu_ps(m, q + (h < H ? h : 0) * hd + c));
        }
}

/* scale * q . k of every head with key row krow, soft-capped if asked,
 * into out[0 .. hp); qp: q packed by pack_q. */
static void scores_row(const dec_job *j, const float *q, const float *qp, const float *krow, float *out)
{
    const ck_attention_args *a = j->a;
    const size_t H = a->n_heads, G = j->G, hd = a->head_dim;
    const __m512 scale = _mm512_set1_ps(a->scale);
    const int grouped = H % 16 == 0 && 16 % G == 0;
    for (size_t h0 = 0; h0 < H; h0 += 16) {
        const float *qh = qp + h0 * j->hdp, *kh = krow + h0 / G * hd;
        __m512 d;
        if (grouped && G == 4)
            d = dots16_grouped(qh, kh, hd, 4);
        else if (grouped && G == 1)
            d = dots16_grouped(qh, kh, hd, 1);
        else if (grouped && G == 2)
            d = dots16_grouped(qh, kh, hd, 2);
        else if (grouped && G == 8)
            d = dots16_grouped(qh, kh, hd, 8);
        else if (grouped && G == 16)
            d = dots16_grouped(qh, kh, hd, 16);
        else
            d = dots16_any(q, krow, h0, H, G, hd);
        d = _mm512_mul_ps(d, scale);
        if (a->softcap > 0.0f)
            d = ck512_softcap(d, _mm512_set1_ps(a->softcap), _mm512_set1_ps(2.0f / a->softcap));
        _mm512_storeu_ps(out + h0, d);
    }
}

/* The block's softmax step, 16 heads at a time: new max, the factor corr
 * that rescales what the chunk had (0 while it had nothing), p = exp(s -
 * m) in place of the scores (rows past `rows` untouched), new sum. */
static void softmax_block(const dec_job *j, float *sc, size_t rows, float *m, float *l, float *corr)
{
    for (size_t h0 = 0; h0 < j->hp; h0 += 16) {
        __m512 mb = _mm512_loadu_ps(sc + h0);
        for (size_t r = 1; r < rows; r++)
            mb = _mm512_max_ps(mb, _mm512_loadu_ps(sc + r * j->hp + h0));
        const __m512 m_old = _mm512_loadu_ps(m + h0), m_new = _mm512_max_ps(m_old, mb);
        const __mmask16 had = _mm512_cmp_ps_mask(m_old, _mm512_set1_ps(-INFINITY), _CMP_NEQ_OQ);
        const __m512 c = _mm512_maskz_mov_ps(had, ck512_exp(_mm512_sub_ps(m_old, m_new)));
        __m512 sum = _mm512_setzero_ps();
        for (size_t r = 0; r < rows; r++) {
            float *s = sc + r * j->hp + h0;
            __m512 p = ck512_exp(_mm512_sub_ps(_mm512_loadu_ps(s), m_new));
            _mm512_storeu_ps(s, p);
            sum = _mm512_add_ps(sum, p);
        }
        _mm512_storeu_ps(l + h0, _mm512_fmadd_ps(_mm512_loadu_ps(l + h0), c, sum));
        _mm512_storeu_ps(m + h0, m_new);
        _mm512_storeu_ps(corr + h0, c);
    }
}

/* acc_h = acc_h * corr_h + sum_r p[r][h] v_r for NG (1..4, a constant once
 * inlined) heads h0.. sharing the kv head whose block rows start at v, 64
 * head dims at a time held in registers across the block's rows. */
static inline __attribute__((always_inline)) void pv_heads(const dec_job *j, const float *v, size_t rows,
                                                           const float *sc, size_t h0, float *acc, const float *corr,
                                                           const size_t NG)
{
    const size_t hd = j->a->head_dim, stride = j->a->n_kv_heads * hd;
    for (size_t c0 = 0; c0 < hd; c0 += 64) {
        __mmask16 mk[4];
        __m512 x[4][4];
#pragma GCC unroll 4
        for (size_t u = 0; u < 4; u++)
            mk[u] = c0 + 16 * u < hd ? ck512_mask(hd - c0 - 16 * u) : 0;
#pragma GCC unroll 4
        for (size_t g = 0; g < NG; g++)
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++)
                x[g][u] = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk[u], acc + (h0 + g) * j->hdp + c0 + 16 * u),
                                        _mm512_set1_ps(corr[h0 + g]));
        for (size_t r = 0; r < rows; r++) {
            const float *vr = v + r * stride + c0;
            __m512 vv[4];
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++)
                vv[u] = _mm512_maskz_loadu_ps(mk[u], vr + 16 * u);
#pragma GCC unroll 4
            for (size_t g = 0; g < NG; g++) {
                const __m512 p = _mm512_set1_ps(sc[r * j->hp + h0 + g]);
#pragma GCC unroll 4
                for (size_t u = 0; u < 4; u++)
                    x[g][u] = _mm512_fmadd_ps(p, vv[u], x[g][u]);
            }
        }
#pragma GCC unroll 4
        for (size_t g = 0; g < NG; g++)
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++)
                _mm512_mask_storeu_ps(acc + (h0 + g) * j->hdp + c0 + 16 * u, mk[u], x[g][u]);
    }
}

static void pv_block(const dec_job *j, size_t s0, size_t rows, const float *sc, float *acc, const float *corr)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, G = j->G;
    for (size_t kvh = 0; kvh < a->n_kv_heads; kvh++) {
        const float *v = a->v + s0 * a->n_kv_heads * hd + kvh * hd;
        for (size_t g = 0; g < G;) {
            size_t h = kvh * G + g, left = G - g;
            if (left >= 4)
                pv_heads(j, v, rows, sc, h, acc, corr, 4);
            else if (left == 3)
                pv_heads(j, v, rows, sc, h, acc, corr, 3);
            else if (left == 2)
                pv_heads(j, v, rows, sc, h, acc, corr, 2);
            else
                pv_heads(j, v, rows, sc, h, acc, corr, 1);
            g += left >= 4 ? 4 : left;
        }
    }
}

/* Keys [k0, k1) of query row t into its partial. */
static void chunk_run(const dec_job *j, size_t t, size_t k0, size_t k1, float *part, float *sc)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, row = a->n_kv_heads * hd, row_bytes = row * sizeof(float);
    float *m = part + j->hp * j->hdp, *l = m + j->hp, *corr = sc + CK512_DEC_B * j->hp;
    for (size_t h = 0; h < j->hp; h++) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
    }
    for (size_t i = 0; i < j->hp * j->hdp; i++)
        part[i] = 0.0f;
    const float *q = a->q + t * a->n_heads * hd;
    float *qp = corr + j->hp;
    pack_q(j, q, qp);
    for (size_t s0 = k0; s0 < k1; s0 += CK512_DEC_B) {
        size_t rows = k1 - s0 < CK512_DEC_B ? k1 - s0 : CK512_DEC_B;
        for (size_t r = 0; r < rows; r++) {
            /* K and V one block ahead, in address order, into L2: the
             * hardware prefetcher alone left K's stream idle while a block
             * was computed. A prefetch never faults, so past the cache's
             * end it is harmless. */
            const char *pk = (const char *)(a->k + (s0 + r + CK512_DEC_B) * row);
            const char *pv = (const char *)(a->v + (s0 + r + CK512_DEC_B) * row);
            for (size_t b = 0; b < row_bytes; b += 64) {
                _mm_prefetch(pk + b, CK512_DEC_PF);
                _mm_prefetch(pv + b, CK512_DEC_PF);
            }
            scores_row(j, q, qp, a->k + (s0 + r) * row, sc + r * j->hp);
        }
        softmax_block(j, sc, rows, m, l, corr);
        pv_block(j, s0, rows, sc, part, corr);
    }
}

/* Items are (t, chunk), t-major. */
static void chunk_items(void *arg, size_t begin, size_t end, int tid)
{
    const dec_job *j = arg;
    float *sc = j->ctx->scratch(j->ctx, tid,
                                ck512_attention_decode_thread_floats(j->a->n_heads, j->a->head_dim) * sizeof(float));
    for (size_t i = begin; i < end; i++) {
        size_t t = i / j->n_chunks, c = i % j->n_chunks;
        size_t lo = ck512_first_key(j->a, t), hi = ck512_end_key(j->a, t);
        size_t k0 = c * j->chunk, k1 = k0 + j->chunk;
        k0 = k0 > lo ? k0 : lo;
        k1 = k1 < hi ? k1 : hi;
        float *part = j->part + i * j->part_floats;
        part[j->hp * (j->hdp + 2)] = k0 < k1 ? 1.0f : 0.0f;
        if (k0 < k1)
            chunk_run(j, t, k0, k1, part, sc);
    }
}

/* Items are (t, head): out = sum_c w_c acc_c / sum_c w_c l_c with w_c =
 * exp(m_c - max_c m_c), chunks in order. */
static void merge_items(void *arg, size_t begin, size_t end, int tid)
{
    const dec_job *j = arg;
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim;
    (void)tid;
    for (size_t i = begin; i < end; i++) {
        size_t t = i / a->n_heads, h = i % a->n_heads;
        const float *parts = j->part + t * j->n_chunks * j->part_floats;
        float mx = -INFINITY;
        for (size_t c = 0; c < j->n_chunks; c++) {
            const float *p = parts + c * j->part_floats;
            if (p[j->hp * (j->hdp + 2)] != 0.0f && p[j->hp * j->hdp + h] > mx)
                mx = p[j->hp * j->hdp + h];
        }
        float L = 0.0f;
        float *out = a->out + (t * a->n_heads + h) * hd;
        for (size_t c0 = 0; c0 < hd; c0 += 16)
            _mm512_mask_storeu_ps(out + c0, ck512_mask(hd - c0), _mm512_setzero_ps());
        for (size_t c = 0; c < j->n_chunks; c++) {
            const float *p = parts + c * j->part_floats, *m = p + j->hp * j->hdp;
            if (p[j->hp * (j->hdp + 2)] == 0.0f || m[h] == -INFINITY)
                continue;
            const float w = expf(m[h] - mx);
            L += w * m[j->hp + h];
            const __m512 wv = _mm512_set1_ps(w);
            for (size_t c0 = 0; c0 < hd; c0 += 16) {
                const __mmask16 k = ck512_mask(hd - c0);
                _mm512_mask_storeu_ps(out + c0, k,
                                      _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(k, p + h * j->hdp + c0),
                                                      _mm512_maskz_loadu_ps(k, out + c0)));
            }
        }
        const __m512 inv = _mm512_set1_ps(L > 0.0f ? 1.0f / L : 0.0f);
        for (size_t c0 = 0; c0 < hd; c0 += 16) {
            const __mmask16 k = ck512_mask(hd - c0);
            _mm512_mask_storeu_ps(out + c0, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, out + c0), inv));
        }
    }
}

int ck512_attention_decode(const ck_exec_ctx *ctx, const ck_attention_args *a)
{
    dec_job j = {a, ctx, a->n_heads / a->n_kv_heads, round16(a->n_heads), round16(a->head_dim), 0, 0, 0, NULL};
    j.chunk = ck512_attention_decode_chunk(a->S);
    j.n_chunks = a->S == 0 ? 1 : (a->S + j.chunk - 1) / j.chunk;
    j.part_floats = ck512_attention_decode_part_floats(a->n_heads, a->head_dim);
    size_t items = a->T * j.n_chunks;
    j.part = ctx->scratch(ctx, CK_SCRATCH_SHARED, items * j.part_floats * sizeof(float));
    if (!j.part)
        return CK_E_NOMEM;
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, ck512_attention_decode_thread_floats(a->n_heads, a->head_dim) * sizeof(float)))
            return CK_E_NOMEM;
    ck512_parallel(ctx, items, 1, chunk_items, &j);
    ck512_parallel(ctx, a->T * a->n_heads, 4, merge_items, &j);
    return CK_OK;
}
