/* f32-rope/avx512 (exact class): rotary embedding in place on every head of
 * q and k; pos = pos_offset + t, c = cos_tab[pos][i], s = sin_tab[pos][i]:
 *   y0 = x0*c - x1*s;  y1 = x0*s + x1*c
 * each product rounded on its own (mul then add/sub, never FMA), so every
 * lane is bit-identical to the reference.
 *   neox: pairs (x[i], x[i+hd/2]): 16 pairs per step, straight loads.
 *   gptj: pairs (x[2i], x[2i+1]): 8 pairs per zmm; with c, s duplicated per
 *         pair and the pair swapped, y = x*c + swap(x)*(-s, s), which is the
 *         same IEEE result (a - b == a + (-b), and + commutes).
 * A partial rotary_dim rd: the same over the first rd dims (half = rd/2,
 * tables of half columns, tails masked); the rest of the head untouched. */
#include "avx512-helpers.h"
#include "avx512-kernels.h"

/* One step of 16 pairs, masked to k. */
static inline void neox_step(float *x0p, float *x1p, const float *c, const float *s, __mmask16 k)
{
    __m512 x0 = _mm512_maskz_loadu_ps(k, x0p), x1 = _mm512_maskz_loadu_ps(k, x1p);
    __m512 cv = _mm512_maskz_loadu_ps(k, c), sv = _mm512_maskz_loadu_ps(k, s);
    __m512 y0 = _mm512_sub_ps(_mm512_mul_ps(x0, cv), _mm512_mul_ps(x1, sv));
    __m512 y1 = _mm512_add_ps(_mm512_mul_ps(x0, sv), _mm512_mul_ps(x1, cv));
    _mm512_mask_storeu_ps(x0p, k, y0);
    _mm512_mask_storeu_ps(x1p, k, y1);
}

/* Full steps with plain loads and stores, the tail masked: a masked
 * store in every step cost this machine (AMD EPYC) a third of its speed. */
static void rotate_neox(float *x, const float *c, const float *s, size_t half)
{
    float *x1p = x + half;
    size_t i = 0;
    for (; i + 16 <= half; i += 16) {
        __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x1p + i);
        __m512 cv = _mm512_loadu_ps(c + i), sv = _mm512_loadu_ps(s + i);
        _mm512_storeu_ps(x + i, _mm512_sub_ps(_mm512_mul_ps(x0, cv), _mm512_mul_ps(x1, sv)));
        _mm512_storeu_ps(x1p + i, _mm512_add_ps(_mm512_mul_ps(x0, sv), _mm512_mul_ps(x1, cv)));
    }
    if (i < half)
        neox_step(x + i, x1p + i, c + i, s + i, ck512_mask(half - i));
}

static void rotate_gptj(float *x, const float *c, const float *s, size_t half)
{
    const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __m512i even_sign = _mm512_set_epi32(0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0,
                                               INT32_MIN, 0, INT32_MIN, 0, INT32_MIN);
    for (size_t i = 0; i < half; i += 8) {
        size_t pairs = half - i < 8 ? half - i : 8;
        __mmask16 kp = ck512_mask(pairs), kx = ck512_mask(2 * pairs);
        __m512 cv = _mm512_permutexvar_ps(dup, _mm512_maskz_loadu_ps(kp, c + i));
        __m512 sv = _mm512_permutexvar_ps(dup, _mm512_maskz_loadu_ps(kp, s + i));
        __m512 sneg = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(sv), even_sign));
        __m512 xv = _mm512_maskz_loadu_ps(kx, x + 2 * i);
        __m512 xs = _mm512_permute_ps(xv, 0xB1); /* swap within each pair */
        __m512 y = _mm512_add_ps(_mm512_mul_ps(xv, cv), _mm512_mul_ps(xs, sneg));
        _mm512_mask_storeu_ps(x + 2 * i, kx, y);
    }
}

typedef struct rope_job {
    const ck_rope_args *a;
    size_t half;
} rope_job;

/* Rows whose rotated half is a multiple of the step and at most 64
 * (head_dim 128): the row's cos / sin stay in registers over all its
 * heads, one pass in address order with full vectors. T=2048, 32 + 8
 * heads of 128, from DRAM, one thread (in-place bytes read and written):
 * 51 GB/s, against 16 reloading the tables for every head with masked
 * steps, and 55 for a loop that only scales the same bytes in place. */
#define ROPE_REG_CHUNKS 8
static void rotate_heads_neox_reg(float *x, size_t n_heads, size_t hd, const float *c, const float *s, size_t half)
{
    __m512 cv[ROPE_REG_CHUNKS / 2], sv[ROPE_REG_CHUNKS / 2];
    const size_t n = half / 16;
    for (size_t j = 0; j < n; j++) {
        cv[j] = _mm512_loadu_ps(c + 16 * j);
        sv[j] = _mm512_loadu_ps(s + 16 * j);
    }
    for (size_t h = 0; h < n_heads; h++, x += hd)
        for (size_t j = 0; j < n; j++) {
            float *x0p = x + 16 * j, *x1p = x0p + half;
            __m512 x0 = _mm512_loadu_ps(x0p), x1 = _mm512_loadu_ps(x1p);
            _mm512_storeu_ps(x0p, _mm512_sub_ps(_mm512_mul_ps(x0, cv[j]), _mm512_mul_ps(x1, sv[j])));
            _mm512_storeu_ps(x1p, _mm512_add_ps(_mm512_mul_ps(x0, sv[j]), _mm512_mul_ps(x1, cv[j])));
        }
}

/* gptj likewise, 8 pairs per step, c and the signed s duplicated per pair
 * as in rotate_gptj. */
static void rotate_heads_gptj_reg(float *x, size_t n_heads, size_t hd, const float *c, const float *s, size_t half)
{
    const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __m512i even_sign = _mm512_set_epi32(0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0,
                                               INT32_MIN, 0, INT32_MIN, 0, INT32_MIN);
    __m512 cv[ROPE_REG_CHUNKS], sneg[ROPE_REG_CHUNKS];
    const size_t n = half / 8;
    for (size_t j = 0; j < n; j++) {
        cv[j] = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_loadu_ps(c + 8 * j)));
        __m512 sv = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_loadu_ps(s + 8 * j)));
        sneg[j] = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(sv), even_sign));
    }
    for (size_t h = 0; h < n_heads; h++, x += hd)
        for (size_t j = 0; j < n; j++) {
            __m512 xv = _mm512_loadu_ps(x + 16 * j);
            __m512 xs = _mm512_permute_ps(xv, 0xB1);
            _mm512_storeu_ps(x + 16 * j, _mm512_add_ps(_mm512_mul_ps(xv, cv[j]), _mm512_mul_ps(xs, sneg[j])));
        }
}

static void rope_rows(void *arg, size_t begin, size_t end, int tid)
{
    const rope_job *j = arg;
    const ck_rope_args *a = j->a;
    const size_t hd = a->head_dim;
    void (*rotate)(float *, const float *, const float *, size_t) =
        a->pairing == CK_ROPE_NEOX ? rotate_neox : rotate_gptj;
    const size_t step = a->pairing == CK_ROPE_NEOX ? 16 : 8;
    void (*rotate_reg)(float *, size_t, size_t, const float *, const float *, size_t) =
        a->pairing == CK_ROPE_NEOX ? rotate_heads_neox_reg : rotate_heads_gptj_reg;
    const int reg = j->half % step == 0 && j->half <= ROPE_REG_CHUNKS * 8;
    (void)tid;
    for (size_t t = begin; t < end; t++) {
        size_t pos = a->pos_offset + t;
        const float *c = a->cos_tab + pos * j->half, *s = a->sin_tab + pos * j->half;
        if (reg) {
            rotate_reg(a->q + t * a->n_heads * hd, a->n_heads, hd, c, s, j->half);
            if (a->k)
                rotate_reg(a->k + t * a->n_kv_heads * hd, a->n_kv_heads, hd, c, s, j->half);
            continue;
        }
        for (size_t h = 0; h < a->n_heads; h++)
            rotate(a->q + (t * a->n_heads + h) * hd, c, s, j->half);
        if (a->k)
            for (size_t h = 0; h < a->n_kv_heads; h++)
                rotate(a->k + (t * a->n_kv_heads + h) * hd, c, s, j->half);
    }
}

int ck_avx512_f32_rope(const ck_exec_ctx *ctx, const void *args)
{
    const ck_rope_args *a = args;
    if (a->T == 0 || a->head_dim == 0)
        return CK_OK;
    rope_job j = {a, (a->rotary_dim ? a->rotary_dim : a->head_dim) / 2};
    size_t row = (a->n_heads + a->n_kv_heads) * a->head_dim;
    size_t grain = row >= CK512_ELEM_GRAIN ? 1 : CK512_ELEM_GRAIN / (row ? row : 1);
    ck512_parallel(ctx, a->T, grain, rope_rows, &j);
    return CK_OK;
}
