/* f32-attention-decode/avx512: attention of a few query rows (decode, T <
 * CK512_FLASH_MIN_T) without scores or probs, bound by reading the KV cache
 * once.
 *
 * - The keys are cut into chunks of a size fixed by S alone (never by the
 *   thread count); a chunk is one work item, computed for every query head,
 *   and leaves its partial softmax (max m, sum l, unnormalised p . V per
 *   head). A second pass merges the chunks of each head in chunk order. So
 *   a decode with fewer kv heads than threads still uses every thread, and
 *   the result does not depend on how the chunks were shared out. Each
 *   thread takes a run of consecutive chunks, so that its prefetch carries
 *   on from chunk to chunk, then the other runs' last chunks.
 * - Within a chunk, blocks of CK512_DEC_B keys: the scores of the block in
 *   tiles of NH query heads of one kv head by 16 / NH keys (NH = 4 when
 *   the group size G allows, else 2 or 1), so that each K load serves NH
 *   heads and each q load 16 / NH keys (one q load per FMA, as scoring a
 *   key row at a time does, made the scores load-bound); then the softmax
 *   of the block, vectorised over heads; then p . V with a head group's
 *   accumulators in registers across the block's keys.
 * - The block's K and V come from cache: both are prefetched one block
 *   ahead in address order, a few lines per 16 FMAs, so that DRAM streams
 *   while the block is computed (dec_pf says why so).
 * - MHA (G = 1, one query head per kv head) goes another way: a block of
 *   CK512_DEC_B_MHA keys is scored key row by key row, 16 heads per tile,
 *   and its p . V adds each V row to the accumulators in part, so K and V
 *   are each read front to back, in address order, with one FMA per line,
 *   every line prefetched 8 KiB ahead (scores_mha says why so).
 * - A sliding window only narrows the keys a row's chunks cover; the
 *   soft-cap is applied to each score tile. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>

#include "attention-avx512.h"
#include "avx512-kernels.h"

#define CK512_DEC_B 16              /* keys per block, and rows prefetched ahead */
#define CK512_DEC_B_MHA 32          /* keys per block with G = 1 */
#define CK512_DEC_MHA_PF 8192       /* bytes ahead in V, and in K into L1, G = 1 (scores_mha) */
#define CK512_DEC_MHA_PF_K_L2 32768 /* bytes ahead in K into L2 (scores_mha) */
#define CK512_DEC_MIN_CHUNK 128     /* keys per chunk, at least */
#define CK512_DEC_MAX_CHUNKS 64     /* chunks per row, at most (bounds the merge) */

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

/* Per thread: the block's scores [CK512_DEC_B_MHA][hp] (the larger
 * block), corr [hp], then the packed query (hp * hdp floats, 64-byte
 * aligned: hp is a multiple of 16). */
size_t ck512_attention_decode_thread_floats(size_t H, size_t hd)
{
    return (CK512_DEC_B_MHA + 1) * round16(H) + round16(H) * round16(hd);
}

typedef struct dec_job {
    const ck_attention_args *a;
    const ck_exec_ctx *ctx;
    size_t G, NH, hp, hdp, chunk, n_chunks, part_floats;
    float *part; /* [T][n_chunks][part_floats] (ck512_attention_decode_part_floats) */
    /* per run of items: first unclaimed | end << 32 (claim_item) */
    _Atomic uint64_t *runs;
    size_t n_runs;
} dec_job;

/* Query heads per score tile: NH heads of one kv head times 16 / NH keys,
 * so that a K load serves NH heads and a q load 16 / NH keys. */
static size_t tile_heads(size_t G)
{
    return G % 4 == 0 ? 4 : G % 2 == 0 ? 2 : 1;
}

/* q [H][hd] of one query row as tile16 reads it: per NH heads, per 16
 * dims, [NH heads][16 floats], zero past hd. H * hdp floats. */
static void pack_q(const dec_job *j, const float *q, float *qp)
{
    const size_t H = j->a->n_heads, hd = j->a->head_dim, NH = j->NH;
    for (size_t h = 0; h < H; h++)
        for (size_t c = 0; c < j->hdp; c += 16)
            _mm512_store_ps(qp + (h / NH) * NH * j->hdp + c * NH + (h % NH) * 16,
                            _mm512_maskz_loadu_ps(ck512_mask(hd > c ? hd - c : 0), q + h * hd + c));
}

/* Software prefetch of the K and V rows a block ahead, every line, in
 * address order, spread over the block's arithmetic: `per` lines of each
 * per step (16 FMAs: one pass of a score tile's dot loop, one p . V row).
 * Measured cold, 1 thread, S = 2048, H = 32, Hkv = 8, hd = 128 on the
 * development VM (Zen 5, DRAM read ~40 GB/s): 30-32 GB/s, where the same
 * loops without it stream at 15. The hardware prefetchers there keep up
 * with a plain read but not with a loop that computes as it reads: blocks
 * of 4 or 8 keys without software prefetch (K, then V, read as 4 or 8
 * rows of 4 KiB side by side, front to back, a pattern a plain read
 * streams at ~40) gave 12 and 15 GB/s; a read loop with this shape's 4
 * FMAs per 64-byte line reads 4 rows side by side at 24 GB/s (33 with one
 * FMA) and one stream at 29-37 (42-43). Those FMAs are no dependency
 * chain (16 accumulators for 4 rows, one FMA each per line), but gcc
 * folded the line's load into each FMA; with one load per line into a
 * register the same loop gives 27 (35 with one FMA, 20 with 8) for 4 rows
 * of 4 KiB, 25 for 4 rows of 512 bytes, 21 for 2 rows and 36-37 for one
 * stream, the plain read ~40 then: the cost is the arithmetic per line
 * read beside other rows, not FMA latency. Every line prefetched caps
 * even a plain read at 34-36. So cold the arithmetic only partly overlaps
 * the stream; hot in L2 (96 keys) the scores take 5.1 us, p . V 4.5, the
 * softmax 0.6 (57-64% of the FMA peak), the prefetch instructions 1.2
 * more.
 * Tried and slower or level: prefetching only the first lines of each
 * row, the rows in tile order, all of a block at its start, 2 or 3 blocks
 * ahead, T1 / T2 / NTA (T0 is 5-15% faster), every 2nd or 4th line, K
 * during the score tiles and V during p . V (one stream at a time),
 * blocks of 8, 24 or 32 keys, or sized in bytes (128 KiB - 2 MiB of
 * K + V), work items of 8 kv heads; scores in address order (one key
 * row, 16 heads of 4 kv heads per tile, so that K is one stream): 15-20%
 * slower; p . V in runs of 4 rows (V 4 rows side by side, not 16): cold
 * level to 3% faster on 1 thread but 12% slower hot at S = 256; both in
 * address order without software prefetch: 6 GB/s. G = 1 (LLaMA-7B's 32
 * kv heads, a key row of 16 KiB of K and 16 of V) does without it
 * (scores_mha). */
typedef struct dec_pf {
    const char *k, *v; /* first byte of the rows to bring in */
    size_t off, end;   /* bytes issued, bytes in all */
    size_t per;        /* lines of each per step */
    int l2;            /* into L2 (ck_avx512_prefetch_l2), else L1 */
} dec_pf;

/* One line into L1 (T0: 5-15% faster than T1, T2 or NTA on Zen 5) or,
 * on Zen 4, into L2 (avx512-kernels.h). */
static inline __attribute__((always_inline)) void dec_prefetch(const char *p, int l2)
{
    if (l2)
        _mm_prefetch(p, _MM_HINT_T1);
    else
        _mm_prefetch(p, _MM_HINT_T0);
}

/* The next `per` lines of each, past the end the last one again (no
 * branch in the hot loops but dec_prefetch's, the same every time). */
static inline __attribute__((always_inline)) void pf_step(dec_pf *p)
{
    const size_t last = p->end - 64;
    for (size_t i = 0; i < p->per; i++, p->off += 64) {
        const size_t o = p->off < last ? p->off : last;
        dec_prefetch(p->k + o, p->l2);
        dec_prefetch(p->v + o, p->l2);
    }
}

/* q . k of NH heads (packed by pack_q, qg their first) with 16 / NH keys
 * (kp[i]: key i's row of their kv head): lane i * NH + h is head h, key i.
 * Named accumulators: an array indexed in unrolled loops stays on the
 * stack. */
#define CK512_DEC_DOT(i, LOADK)                                                                                        \
    d##i = _mm512_fmadd_ps(_mm512_load_ps(qc + 16 * ((i) % NH)), LOADK(kp[(i) / NH] + c), d##i)
#define CK512_DEC_LOADU(p) _mm512_loadu_ps(p)
#define CK512_DEC_LOADM(p) _mm512_maskz_loadu_ps(m, p)
#define CK512_DEC_DOTS(LOADK)                                                                                          \
    do {                                                                                                               \
        CK512_DEC_DOT(0, LOADK);                                                                                       \
        CK512_DEC_DOT(1, LOADK);                                                                                       \
        CK512_DEC_DOT(2, LOADK);                                                                                       \
        CK512_DEC_DOT(3, LOADK);                                                                                       \
        CK512_DEC_DOT(4, LOADK);                                                                                       \
        CK512_DEC_DOT(5, LOADK);                                                                                       \
        CK512_DEC_DOT(6, LOADK);                                                                                       \
        CK512_DEC_DOT(7, LOADK);                                                                                       \
        CK512_DEC_DOT(8, LOADK);                                                                                       \
        CK512_DEC_DOT(9, LOADK);                                                                                       \
        CK512_DEC_DOT(10, LOADK);                                                                                      \
        CK512_DEC_DOT(11, LOADK);                                                                                      \
        CK512_DEC_DOT(12, LOADK);                                                                                      \
        CK512_DEC_DOT(13, LOADK);                                                                                      \
        CK512_DEC_DOT(14, LOADK);                                                                                      \
        CK512_DEC_DOT(15, LOADK);                                                                                      \
    } while (0)
static inline __attribute__((always_inline)) __m512 tile16(const float *qg, const float *const kp[16], size_t hd,
                                                           dec_pf *pf, const size_t NH)
{
    __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0;
    __m512 d8 = d0, d9 = d0, d10 = d0, d11 = d0, d12 = d0, d13 = d0, d14 = d0, d15 = d0;
    const float *qc = qg;
    size_t c = 0;
    for (; c + 16 <= hd; c += 16, qc += 16 * NH) {
        CK512_DEC_DOTS(CK512_DEC_LOADU);
        pf_step(pf);
    }
    if (c < hd) {
        const __mmask16 m = ck512_mask(hd - c);
        CK512_DEC_DOTS(CK512_DEC_LOADM);
        pf_step(pf);
    }
    return ck512_hsum16(d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15);
}
#undef CK512_DEC_DOT
#undef CK512_DEC_DOTS
#undef CK512_DEC_LOADU
#undef CK512_DEC_LOADM

/* The scores of keys s0 .. s0+rows-1 (rows <= CK512_DEC_B) for every head,
 * scaled and soft-capped, into sc [rows][hp]: tiles of NH heads x 16 / NH
 * keys of one kv head. A short tile repeats its last key and stores only
 * the keys it has. K is read a kv head at a time, 16 / NH rows side by
 * side; that is fine from L2, where the prefetch has put it. */
static inline __attribute__((always_inline)) void scores_nh(const dec_job *j, const float *qp, size_t s0, size_t rows,
                                                            float *sc, dec_pf *pf, const size_t NH)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, row = a->n_kv_heads * hd, NK = 16 / NH, G = j->G, hp = j->hp, hdp = j->hdp;
    const __m512 scale = _mm512_set1_ps(a->scale), cap = _mm512_set1_ps(a->softcap),
                 two_over_cap = _mm512_set1_ps(a->softcap > 0.0f ? 2.0f / a->softcap : 0.0f);
    const __mmask16 lo = ck512_mask(NH);
    /* lane i + NH to lane i: the next key's heads to the bottom */
    const __m512i next =
        _mm512_and_si512(_mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                          _mm512_set1_epi32((int)NH)),
                         _mm512_set1_epi32(15));
    dec_pf p = *pf;
    for (size_t kvh = 0; kvh < a->n_kv_heads; kvh++) {
        const float *kb = a->k + s0 * row + kvh * hd;
        for (size_t r0 = 0; r0 < rows; r0 += NK) {
            const size_t n = rows - r0 < NK ? rows - r0 : NK;
            const float *kp[16];
            for (size_t i = 0; i < NK; i++)
                kp[i] = kb + (r0 + (i < n ? i : n - 1)) * row;
            for (size_t g = 0; g < G; g += NH) {
                const size_t h0 = kvh * G + g;
                __m512 d = _mm512_mul_ps(tile16(qp + h0 * hdp, kp, hd, &p, NH), scale);
                if (a->softcap > 0.0f)
                    d = ck512_softcap(d, cap, two_over_cap);
                float *out = sc + r0 * hp + h0;
                for (size_t i = 0; i < n; i++, out += hp) {
                    _mm512_mask_storeu_ps(out, lo, d);
                    d = _mm512_permutexvar_ps(next, d);
                }
            }
        }
    }
    *pf = p;
}

static void scores_block(const dec_job *j, const float *qp, size_t s0, size_t rows, float *sc, dec_pf *pf)
{
    if (j->NH == 4)
        scores_nh(j, qp, s0, rows, sc, pf, 4);
    else if (j->NH == 2)
        scores_nh(j, qp, s0, rows, sc, pf, 2);
    else
        scores_nh(j, qp, s0, rows, sc, pf, 1);
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
                                                           dec_pf *pf, const size_t NG)
{
    /* locals: a store through pf would otherwise reload every size_t of j */
    const size_t hd = j->a->head_dim, stride = j->a->n_kv_heads * hd, hp = j->hp, hdp = j->hdp;
    dec_pf p = *pf;
    /* once a chunk's maxima settle, corr is exactly 1 (exp(0)) block after
     * block */
    int rescale = 0;
    for (size_t g = 0; g < NG; g++)
        rescale |= corr[h0 + g] != 1.0f;
    for (size_t c0 = 0; c0 < hd; c0 += 64) {
        __mmask16 mk[4];
        __m512 x[4][4];
#pragma GCC unroll 4
        for (size_t u = 0; u < 4; u++)
            mk[u] = c0 + 16 * u < hd ? ck512_mask(hd - c0 - 16 * u) : 0;
#pragma GCC unroll 4
        for (size_t g = 0; g < NG; g++)
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++) {
                x[g][u] = _mm512_maskz_loadu_ps(mk[u], acc + (h0 + g) * hdp + c0 + 16 * u);
                if (rescale)
                    x[g][u] = _mm512_mul_ps(x[g][u], _mm512_set1_ps(corr[h0 + g]));
            }
        const float *vr = v + c0, *pr = sc + h0;
        for (size_t r = 0; r < rows; r++, vr += stride, pr += hp) {
            __m512 vv[4];
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++)
                vv[u] = _mm512_maskz_loadu_ps(mk[u], vr + 16 * u);
#pragma GCC unroll 4
            for (size_t g = 0; g < NG; g++) {
                const __m512 pb = _mm512_set1_ps(pr[g]);
#pragma GCC unroll 4
                for (size_t u = 0; u < 4; u++)
                    x[g][u] = _mm512_fmadd_ps(pb, vv[u], x[g][u]);
            }
            pf_step(&p);
        }
#pragma GCC unroll 4
        for (size_t g = 0; g < NG; g++)
#pragma GCC unroll 4
            for (size_t u = 0; u < 4; u++)
                _mm512_mask_storeu_ps(acc + (h0 + g) * hdp + c0 + 16 * u, mk[u], x[g][u]);
    }
    *pf = p;
}

static void pv_block(const dec_job *j, size_t s0, size_t rows, const float *sc, float *acc, const float *corr,
                     dec_pf *pf)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, G = j->G;
    for (size_t kvh = 0; kvh < a->n_kv_heads; kvh++) {
        const float *v = a->v + s0 * a->n_kv_heads * hd + kvh * hd;
        for (size_t g = 0; g < G;) {
            size_t h = kvh * G + g, left = G - g;
            if (left >= 4)
                pv_heads(j, v, rows, sc, h, acc, corr, pf, 4);
            else if (left == 3)
                pv_heads(j, v, rows, sc, h, acc, corr, pf, 3);
            else if (left == 2)
                pv_heads(j, v, rows, sc, h, acc, corr, pf, 2);
            else
                pv_heads(j, v, rows, sc, h, acc, corr, pf, 1);
            g += left >= 4 ? 4 : left;
        }
    }
}

/* G = 1: the scores of key rows s0 .. s0+rows-1, each row front to back,
 * 16 heads per tile (lane i: head h0 + i, its own q and its own 512 bytes
 * of the key row), into sc [rows][hp]; a short tile repeats its last head
 * and stores only the heads it has. Each lane sums the same products in
 * the same order as tile16 with NH = 1 would.
 * Why not tile16 there: with one head per kv head a tile of 16 keys reads
 * 16 pieces of 512 bytes at 16 KiB strides, and the blocks of 16 keys
 * (512 KiB of K and V) streamed only through the block-ahead prefetch.
 * Read in address order, one FMA per line (q from L1), K and V are two
 * plain streams. Measured on the development VM (Zen 5, H = Hkv = 32,
 * hd = 128, 1 thread, cold, loaded by other jobs): without software
 * prefetch level with the tiled path at S = 2048 (blocks of 16 keys), 6%
 * faster with blocks of 32 (K and V alternate half as often; 64 or 128
 * keys, or prefetching the head of the next stream, gained nothing more);
 * each line prefetched 8 KiB ahead (T0, as its tile is reached) a further
 * 9-12% (2 or 32 KiB ahead: no gain, 4-16 KiB alike in a noisier run; the
 * tiled path's block-ahead prefetch: no gain). Against the tiled path, in
 * one run: S = 512 11% faster, S = 2048 level (9% faster in another);
 * hot (4 MiB of KV in L3) 1.27x.
 * The prefetch of a tile's 8 KiB is spread over its dot loop (16 lines
 * per 16 FMAs at hd = 128), not issued at the tile's start: on a Zen 4
 * class VM (L2 prefetch, 1 thread, cold, S = 2048) the scores alone, with
 * p . V left out, took 2.3-3.3 ms with the burst and 1.8-2.0 spread, the
 * whole op 3.9-4.2 ms against 3.2-3.3 (17 -> 21 GB/s of a 31 GB/s read);
 * K 32 KiB ahead there (16 KiB: 3.3 ms; 8 KiB: 3.3-3.5), V's 8 KiB as it
 * was (4 KiB: 4.0 ms; 16-32 KiB: 3.2-3.5). Into L1 (Zen 5) K stays 8 KiB
 * ahead. */
#define CK512_MHA_DOT(i, LOAD) d##i = _mm512_fmadd_ps(LOAD(q##i + c), LOAD(k##i + c), d##i)
#define CK512_MHA_DOTS(LOAD)                                                                                           \
    do {                                                                                                               \
        CK512_MHA_DOT(0, LOAD);                                                                                        \
        CK512_MHA_DOT(1, LOAD);                                                                                        \
        CK512_MHA_DOT(2, LOAD);                                                                                        \
        CK512_MHA_DOT(3, LOAD);                                                                                        \
        CK512_MHA_DOT(4, LOAD);                                                                                        \
        CK512_MHA_DOT(5, LOAD);                                                                                        \
        CK512_MHA_DOT(6, LOAD);                                                                                        \
        CK512_MHA_DOT(7, LOAD);                                                                                        \
        CK512_MHA_DOT(8, LOAD);                                                                                        \
        CK512_MHA_DOT(9, LOAD);                                                                                        \
        CK512_MHA_DOT(10, LOAD);                                                                                       \
        CK512_MHA_DOT(11, LOAD);                                                                                       \
        CK512_MHA_DOT(12, LOAD);                                                                                       \
        CK512_MHA_DOT(13, LOAD);                                                                                       \
        CK512_MHA_DOT(14, LOAD);                                                                                       \
        CK512_MHA_DOT(15, LOAD);                                                                                       \
    } while (0)
#define CK512_MHA_PTR(i)                                                                                               \
    const float *q##i = qp + (h0 + ((i) < nh ? (i) : nh - 1)) * hdp, *k##i = kr + (h0 + ((i) < nh ? (i) : nh - 1)) * hd
#define CK512_MHA_LOADU(p) _mm512_loadu_ps(p)
#define CK512_MHA_LOADM(p) _mm512_maskz_loadu_ps(m, p)
static __m512 tile_mha(const float *qp, const float *kr, size_t h0, size_t nh, size_t hd, size_t hdp, const char *pk,
                       int l2)
{
    /* the tile's bytes, pf_ahead further on, a few lines per 16 FMAs */
    const size_t pf_end = nh * hd * sizeof(float), steps = hd / 16 ? hd / 16 : 1;
    const size_t pf_per = (pf_end / 64 + steps - 1) / steps;
    size_t pf_off = 0;
    CK512_MHA_PTR(0);
    CK512_MHA_PTR(1);
    CK512_MHA_PTR(2);
    CK512_MHA_PTR(3);
    CK512_MHA_PTR(4);
    CK512_MHA_PTR(5);
    CK512_MHA_PTR(6);
    CK512_MHA_PTR(7);
    CK512_MHA_PTR(8);
    CK512_MHA_PTR(9);
    CK512_MHA_PTR(10);
    CK512_MHA_PTR(11);
    CK512_MHA_PTR(12);
    CK512_MHA_PTR(13);
    CK512_MHA_PTR(14);
    CK512_MHA_PTR(15);
    __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0;
    __m512 d8 = d0, d9 = d0, d10 = d0, d11 = d0, d12 = d0, d13 = d0, d14 = d0, d15 = d0;
    size_t c = 0;
    for (; c + 16 <= hd; c += 16) {
        CK512_MHA_DOTS(CK512_MHA_LOADU);
        for (size_t i = 0; i < pf_per && pf_off < pf_end; i++, pf_off += 64)
            dec_prefetch(pk + pf_off, l2);
    }
    if (c < hd) {
        const __mmask16 m = ck512_mask(hd - c);
        CK512_MHA_DOTS(CK512_MHA_LOADM);
    }
    for (; pf_off < pf_end; pf_off += 64)
        dec_prefetch(pk + pf_off, l2);
    return ck512_hsum16(d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15);
}
#undef CK512_MHA_DOT
#undef CK512_MHA_DOTS
#undef CK512_MHA_PTR
#undef CK512_MHA_LOADU
#undef CK512_MHA_LOADM

static void scores_mha(const dec_job *j, const float *qp, size_t s0, size_t rows, float *sc)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, row = a->n_kv_heads * hd, H = a->n_heads;
    const int l2 = ck_avx512_prefetch_l2;
    const size_t pf_ahead = l2 ? CK512_DEC_MHA_PF_K_L2 : CK512_DEC_MHA_PF;
    const __m512 scale = _mm512_set1_ps(a->scale), cap = _mm512_set1_ps(a->softcap),
                 two_over_cap = _mm512_set1_ps(a->softcap > 0.0f ? 2.0f / a->softcap : 0.0f);
    for (size_t r = 0; r < rows; r++)
        for (size_t h0 = 0; h0 < H; h0 += 16) {
            const size_t nh = H - h0 < 16 ? H - h0 : 16;
            const char *pk = (const char *)(a->k + (s0 + r) * row + h0 * hd) + pf_ahead;
            __m512 d = _mm512_mul_ps(tile_mha(qp, a->k + (s0 + r) * row, h0, nh, hd, j->hdp, pk, l2), scale);
            if (a->softcap > 0.0f)
                d = ck512_softcap(d, cap, two_over_cap);
            _mm512_mask_storeu_ps(sc + r * j->hp + h0, ck512_mask(nh), d);
        }
}

/* G = 1: acc_h = acc_h * corr_h + sum_r p[r][h] v_r[h], V row by V row in
 * address order, the accumulators (16 KiB at LLaMA-7B's shape) in L1; the
 * same operations per element in the same order as pv_heads. */
static void pv_mha(const dec_job *j, size_t s0, size_t rows, const float *sc, float *acc, const float *corr)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, row = a->n_kv_heads * hd, H = a->n_heads, hdp = j->hdp;
    const int l2 = ck_avx512_prefetch_l2;
    for (size_t h = 0; h < H; h++)
        if (corr[h] != 1.0f) {
            const __m512 cv = _mm512_set1_ps(corr[h]);
            for (size_t c = 0; c < hd; c += 16) {
                const __mmask16 mk = ck512_mask(hd - c);
                float *x = acc + h * hdp + c;
                _mm512_mask_storeu_ps(x, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x), cv));
            }
        }
    const size_t full = hd & ~(size_t)15;
    for (size_t r = 0; r < rows; r++) {
        const float *vr = a->v + (s0 + r) * row;
        for (size_t h = 0; h < H; h++) {
            const __m512 pb = _mm512_set1_ps(sc[r * j->hp + h]);
            float *x = acc + h * hdp;
            const float *vh = vr + h * hd;
            for (size_t b = 0; b < hd * sizeof(float); b += 64)
                dec_prefetch((const char *)vh + CK512_DEC_MHA_PF + b, l2);
            for (size_t c = 0; c < full; c += 16)
                _mm512_storeu_ps(x + c, _mm512_fmadd_ps(pb, _mm512_loadu_ps(vh + c), _mm512_loadu_ps(x + c)));
            if (full < hd) {
                const __mmask16 mk = ck512_mask(hd - full);
                _mm512_mask_storeu_ps(
                    x + full, mk,
                    _mm512_fmadd_ps(pb, _mm512_maskz_loadu_ps(mk, vh + full), _mm512_maskz_loadu_ps(mk, x + full)));
            }
        }
    }
}

/* The prefetch of rows [s, s + rows) (those past `end` left out), spread
 * over the steps of one block of `rows` keys: its score tiles and its p . V
 * rows. */
static dec_pf pf_rows(const dec_job *j, size_t s, size_t rows, size_t end, size_t block_rows)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, row = a->n_kv_heads * hd, NK = 16 / j->NH;
    const size_t n = s >= end ? 0 : end - s < rows ? end - s : rows;
    const size_t steps = a->n_kv_heads * ((block_rows + NK - 1) / NK * (j->G / j->NH) * ((hd + 15) / 16) +
                                          (j->G + 3) / 4 * ((hd + 63) / 64) * block_rows);
    const size_t lines = (n * row * sizeof(float) + 63) / 64, per = (lines + steps - 1) / steps; /* 0 lines: 0 */
    dec_pf pf = {(const char *)(a->k + s * row), (const char *)(a->v + s * row), 0, lines * 64, per,
                 ck_avx512_prefetch_l2};
    return pf;
}

/* Keys [k0, k1) of query row t (which sees keys up to `end`) into its
 * partial; qp: the row's q packed. */
static void chunk_run(const dec_job *j, size_t k0, size_t k1, size_t end, const float *qp, float *part, float *sc)
{
    float *m = part + j->hp * j->hdp, *l = m + j->hp, *corr = sc + CK512_DEC_B_MHA * j->hp;
    for (size_t h = 0; h < j->hp; h++) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
    }
    for (size_t i = 0; i < j->hp * j->hdp; i++)
        part[i] = 0.0f;
    if (j->G == 1) {
        for (size_t s0 = k0; s0 < k1; s0 += CK512_DEC_B_MHA) {
            size_t rows = k1 - s0 < CK512_DEC_B_MHA ? k1 - s0 : CK512_DEC_B_MHA;
            scores_mha(j, qp, s0, rows, sc);
            softmax_block(j, sc, rows, m, l, corr);
            pv_mha(j, s0, rows, sc, part, corr);
        }
        return;
    }
    for (size_t s0 = k0; s0 < k1; s0 += CK512_DEC_B) {
        size_t rows = k1 - s0 < CK512_DEC_B ? k1 - s0 : CK512_DEC_B;
        dec_pf pf = pf_rows(j, s0 + CK512_DEC_B, rows, end, rows);
        scores_block(j, qp, s0, rows, sc, &pf);
        softmax_block(j, sc, rows, m, l, corr);
        pv_block(j, s0, rows, sc, part, corr, &pf);
    }
}

/* Per thread: where its scores and packed q live, which row's q is
 * packed, and the key its last chunk ended at. */
typedef struct dec_thread {
    float *sc, *qp;
    size_t packed, next;
} dec_thread;

/* Item i, (t, chunk) t-major, into its partial. */
static void run_item(const dec_job *j, dec_thread *th, size_t i)
{
    const ck_attention_args *a = j->a;
    size_t t = i / j->n_chunks, c = i % j->n_chunks;
    size_t lo = ck512_first_key(a, t), hi = ck512_end_key(a, t);
    size_t k0 = c * j->chunk, k1 = k0 + j->chunk;
    k0 = k0 > lo ? k0 : lo;
    k1 = k1 < hi ? k1 : hi;
    float *part = j->part + i * j->part_floats;
    part[j->hp * (j->hdp + 2)] = k0 < k1 ? 1.0f : 0.0f;
    if (k0 >= k1)
        return;
    if (t != th->packed) {
        pack_q(j, a->q + t * a->n_heads * a->head_dim, th->qp);
        th->packed = t;
    }
    /* a chunk that does not continue the last one: nothing of it has been
     * prefetched yet */
    if (k0 != th->next && j->G > 1) {
        dec_pf pf = pf_rows(j, k0, CK512_DEC_B, hi, 1);
        for (; pf.off < pf.end; pf.off += 64) {
            dec_prefetch(pf.k + pf.off, pf.l2);
            dec_prefetch(pf.v + pf.off, pf.l2);
        }
    }
    chunk_run(j, k0, k1, hi, th->qp, part, th->sc);
    th->next = k1;
}

/* The next item of a run, from its front (its owner) or its back (a
 * thread whose own run is done); 0 when the run is empty. */
static int claim_item(_Atomic uint64_t *run, int back, size_t *item)
{
    uint64_t v = atomic_load_explicit(run, memory_order_relaxed);
    for (;;) {
        const uint64_t first = v & 0xffffffffu, end = v >> 32;
        if (first >= end)
            return 0;
        const uint64_t nv = back ? first | (end - 1) << 32 : (first + 1) | end << 32;
        if (atomic_compare_exchange_weak_explicit(run, &v, nv, memory_order_relaxed, memory_order_relaxed)) {
            *item = (size_t)(back ? end - 1 : first);
            return 1;
        }
    }
}

/* Runs [begin, end): each run's items in order from its front, then the
 * other runs' items from their backs. */
static void run_items(void *arg, size_t begin, size_t end, int tid)
{
    const dec_job *j = arg;
    const ck_attention_args *a = j->a;
    dec_thread th = {
        j->ctx->scratch(j->ctx, tid, ck512_attention_decode_thread_floats(a->n_heads, a->head_dim) * sizeof(float)),
        NULL, SIZE_MAX, SIZE_MAX};
    th.qp = th.sc + (CK512_DEC_B_MHA + 1) * j->hp;
    /* heads past H: finite scores the softmax may read */
    for (size_t i = 0; i < CK512_DEC_B_MHA * j->hp; i++)
        th.sc[i] = 0.0f;
    size_t item;
    for (size_t r = begin; r < end; r++)
        for (size_t d = 0; d < j->n_runs; d++)
            while (claim_item(&j->runs[(r + d) % j->n_runs], d != 0, &item))
                run_item(j, &th, item);
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
    const size_t G = a->n_heads / a->n_kv_heads;
    dec_job j = {a, ctx, G, tile_heads(G), round16(a->n_heads), round16(a->head_dim), 0, 0, 0, NULL, NULL, 0};
    j.chunk = ck512_attention_decode_chunk(a->S);
    j.n_chunks = a->S == 0 ? 1 : (a->S + j.chunk - 1) / j.chunk;
    j.part_floats = ck512_attention_decode_part_floats(a->n_heads, a->head_dim);
    size_t items = a->T * j.n_chunks;
    /* One run of consecutive chunks per thread: a thread that moves to a
     * chunk not following its last one starts its prefetch pipeline
     * again, and 16 chunks handed out one at a time cost 2 threads 5-6%
     * at S = 2048. A thread done with its run takes the other
     * runs' last chunks, so a thread the OS holds up delays the call by
     * one chunk, not by its run. */
    j.n_runs = ctx->n_threads > 1 ? (size_t)ctx->n_threads : 1;
    j.n_runs = j.n_runs < items ? j.n_runs : items;
    const size_t part_bytes = items * j.part_floats * sizeof(float);
    j.part = ctx->scratch(ctx, CK_SCRATCH_SHARED, part_bytes + j.n_runs * sizeof(uint64_t));
    if (!j.part)
        return CK_E_NOMEM;
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, ck512_attention_decode_thread_floats(a->n_heads, a->head_dim) * sizeof(float)))
            return CK_E_NOMEM;
    /* part_bytes is a multiple of 64 (part_floats of 16) */
    j.runs = (_Atomic uint64_t *)(void *)((char *)j.part + part_bytes);
    for (size_t r = 0; r < j.n_runs; r++)
        atomic_init(&j.runs[r], (uint64_t)(r * items / j.n_runs) | (uint64_t)((r + 1) * items / j.n_runs) << 32);
    ck512_parallel(ctx, j.n_runs, 1, run_items, &j);
    /* One chunk in all (S up to CK512_DEC_MIN_CHUNK at T = 1) ran on this
     * thread, and its merge is a scaled copy of H x hd floats: handing it
     * to the pool costs more than it does, since the caller must wait for a
     * worker that slept through the chunk to wake (decode of LLaMA-7B's
     * attention at S = 33 on 2 threads of the development VM: 90 us per
     * call against 32 on one thread). */
    if (j.n_runs == 1)
        merge_items(&j, 0, a->T * a->n_heads, 0);
    else
        ck512_parallel(ctx, a->T * a->n_heads, 4, merge_items, &j);
    return CK_OK;
}
