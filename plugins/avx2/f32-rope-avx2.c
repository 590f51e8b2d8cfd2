/* rope (exact class), in place on every head of q and k. With
 * pos = pos_offset + t, c = cos_tab[pos][i], s = sin_tab[pos][i]:
 *   y0 = x0*c - x1*s;  y1 = x0*s + x1*c
 * each product rounded on its own (mul, then add/sub; never FMA), so every
 * lane gives the reference's bits. neox pairs (x[i], x[i + hd/2]): eight
 * pairs per step from the two halves. gptj pairs (x[2i], x[2i+1]): four
 * pairs per vector, c and s duplicated per pair, the partner from an
 * in-lane swap, and addsub giving (x0c - x1s, x1c + x0s) — the odd lane's
 * sum is the reference's (addition commutes exactly). A partial rotary_dim
 * rd is the same over the first rd dims (half = rd/2, tables of half
 * columns; the halves' tails masked), the rest of the head never touched.
 * Rows split over the threads. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"

static inline void rotate_neox8(__m256 x0, __m256 x1, __m256 c, __m256 s, __m256 *y0, __m256 *y1)
{
    *y0 = _mm256_sub_ps(_mm256_mul_ps(x0, c), _mm256_mul_ps(x1, s));
    *y1 = _mm256_add_ps(_mm256_mul_ps(x0, s), _mm256_mul_ps(x1, c));
}

/* Masked stores are slow (microcoded on AMD): only the tail uses them. */
static void rope_neox(float *x, size_t half, const float *ct, const float *st)
{
    __m256 y0, y1;
    size_t i = 0;
    for (; i + 8 <= half; i += 8) {
        rotate_neox8(_mm256_loadu_ps(x + i), _mm256_loadu_ps(x + half + i), _mm256_loadu_ps(ct + i),
                     _mm256_loadu_ps(st + i), &y0, &y1);
        _mm256_storeu_ps(x + i, y0);
        _mm256_storeu_ps(x + half + i, y1);
    }
    if (i < half) {
        __m256i m = avx2_tail_mask(half - i);
        rotate_neox8(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(x + half + i, m), _mm256_maskload_ps(ct + i, m),
                     _mm256_maskload_ps(st + i, m), &y0, &y1);
        _mm256_maskstore_ps(x + i, m, y0);
        _mm256_maskstore_ps(x + half + i, m, y1);
    }
}

/* Four pairs: (x0c - x1s, x1c + x0s) via an in-lane swap and addsub. */
static inline __m256 rotate_gptj4(__m256 v, __m128 c4, __m128 s4)
{
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    __m256 c = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(c4), dup);
    __m256 s = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s4), dup);
    __m256 swapped = _mm256_permute_ps(v, 0xB1);
    return _mm256_addsub_ps(_mm256_mul_ps(v, c), _mm256_mul_ps(swapped, s));
}

static void rope_gptj(float *x, size_t half, const float *ct, const float *st)
{
    size_t i = 0;
    for (; i + 4 <= half; i += 4) {
        __m256 y = rotate_gptj4(_mm256_loadu_ps(x + 2 * i), _mm_loadu_ps(ct + i), _mm_loadu_ps(st + i));
        _mm256_storeu_ps(x + 2 * i, y);
    }
    if (i < half) {
        size_t pairs = half - i;
        __m128i m4 = _mm256_castsi256_si128(avx2_tail_mask(pairs));
        __m256i m8 = avx2_tail_mask(2 * pairs);
        __m256 y =
            rotate_gptj4(_mm256_maskload_ps(x + 2 * i, m8), _mm_maskload_ps(ct + i, m4), _mm_maskload_ps(st + i, m4));
        _mm256_maskstore_ps(x + 2 * i, m8, y);
    }
}

static void rope_rows(void *arg, size_t begin, size_t end, int tid)
{
    const ck_rope_args *a = arg;
    (void)tid;
    size_t hd = a->head_dim, half = (a->rotary_dim ? a->rotary_dim : hd) / 2;
    for (size_t t = begin; t < end; t++) {
        size_t pos = a->pos_offset + t;
        const float *ct = a->cos_tab + pos * half, *st = a->sin_tab + pos * half;
        for (int which = 0; which < 2; which++) {
            float *base = which == 0 ? a->q : a->k;
            size_t heads = which == 0 ? a->n_heads : a->n_kv_heads;
            if (!base)
                continue;
            for (size_t h = 0; h < heads; h++) {
                float *x = base + (t * heads + h) * hd;
                if (a->pairing == CK_ROPE_GPTJ)
                    rope_gptj(x, half, ct, st);
                else
                    rope_neox(x, half, ct, st);
            }
        }
    }
}

int ck_avx2_f32_rope(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    if (a->T == 0 || a->head_dim == 0)
        return CK_OK;
    ck_rope_args job = *a;
    size_t per_row = (a->n_heads + a->n_kv_heads) * a->head_dim;
    size_t grain = per_row >= 8192 ? 1 : 8192 / (per_row ? per_row : 1);
    avx2_parallel(ctx, a->T, grain, rope_rows, &job);
    return CK_OK;
}
