/* f32-attention-flash/avx512: streaming attention for prefill (many query
 * rows), blocked so that both products run on the GEMM micro-kernel
 * (ck512_gemm_ukernel_14x32) instead of one dot product per score.
 *
 * Everything is held transposed, queries along the zmm lanes:
 *   S^T [keys][32 queries] = K [14 keys][hd] . Q^T [hd][32]   (kc = hd)
 *   O^T [hd][32 queries]  += V^T [14 d][keys] . P^T [keys][32] (kc = keys)
 * so the online softmax (running max m, sum l, rescale of O^T by
 * exp(m_old - m_new)) is elementwise over 32 queries at a time, and P^T is
 * already the packed right-hand side of the second product.
 *
 * K and V of every kv head are packed once per call into the kernel's
 * shared scratch (K as groups of 14 keys [hd][14], V as groups of 14 head
 * dims [S][14]); one work item is (head, block of 32 query rows), h-major.
 * Keys past a row's causal limit (or past S) or before its window get p = 0
 * exactly; scores are soft-capped before the mask. */
#include <math.h>
#include <string.h>

#include "attention-avx512.h"
#include "gemm-avx512.h"

#define QB CK512_NR /* query rows per item: the micro-kernel's columns */
#define KG CK512_MR /* keys (or head dims) per packed group */
#define KB (2 * KG) /* keys per softmax block */

static size_t groups_of(size_t n)
{
    return (n + KG - 1) / KG;
}

typedef struct flash_layout {
    size_t s_pad;     /* S rounded up to KG */
    size_t hd_pad;    /* head_dim rounded up to KG */
    size_t kv_floats; /* packed K + V floats per kv head */
} flash_layout;

static flash_layout layout_of(const ck_attention_args *a)
{
    flash_layout L;
    L.s_pad = groups_of(a->S) * KG;
    L.hd_pad = groups_of(a->head_dim) * KG;
    L.kv_floats = L.s_pad * a->head_dim + L.s_pad * L.hd_pad;
    return L;
}

typedef struct flash_job {
    const ck_exec_ctx *ctx;
    const ck_attention_args *a;
    flash_layout L;
    float *kv;          /* packed K and V of every kv head */
    size_t group;       /* query heads per kv head */
    size_t n_qblocks;   /* per head */
    size_t item_floats; /* per-thread scratch: Q^T, P^T, O^T */
} flash_job;

/* Items (kvh, key group): K group [hd][KG] and V rows [KG keys] of every
 * head-dim group, zero past S and past head_dim. */
static void pack_kv(void *arg, size_t begin, size_t end, int tid)
{
    const flash_job *j = arg;
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, stride = a->n_kv_heads * hd, G = groups_of(a->S);
    (void)tid;
    for (size_t item = begin; item < end; item++) {
        size_t kvh = item / G, g = item % G;
        float *kp = j->kv + kvh * j->L.kv_floats + g * hd * KG;
        float *vp = j->kv + kvh * j->L.kv_floats + j->L.s_pad * hd;
        for (size_t i = 0; i < KG; i++) {
            size_t s = g * KG + i;
            const float *krow = a->k + s * stride + kvh * hd, *vrow = a->v + s * stride + kvh * hd;
            for (size_t d = 0; d < hd; d++)
                kp[d * KG + i] = s < a->S ? krow[d] : 0.0f;
            for (size_t d = 0; d < j->L.hd_pad; d++)
                vp[(d / KG) * j->L.s_pad * KG + s * KG + d % KG] = s < a->S && d < hd ? vrow[d] : 0.0f;
        }
    }
}

/* Softmax of one block of `rows` keys (tile p: [rows][QB] scores in, p out),
 * updating m, l; returns the per-query rescale factor of O^T. */
static void softmax_block(const ck_attention_args *a, float *p, size_t rows, size_t s0, const __m512i lim[2],
                          const __m512i first[2], __m512 m[2], __m512 l[2], __m512 corr[2])
{
    const __m512 scale = _mm512_set1_ps(a->scale), ninf = _mm512_set1_ps(-INFINITY);
    const int capped = a->softcap > 0.0f; /* no 2 / cap without a cap: it would raise divide-by-zero */
    const __m512 cap = _mm512_set1_ps(a->softcap), two_over_cap = _mm512_set1_ps(capped ? 2.0f / a->softcap : 0.0f);
    __m512 bm[2] = {ninf, ninf};
    __mmask16 valid[KB][2];
    for (size_t i = 0; i < rows; i++)
        for (int h = 0; h < 2; h++) {
            const __m512i key = _mm512_set1_epi32((int)(s0 + i));
            valid[i][h] = _mm512_cmpgt_epi32_mask(lim[h], key) & _mm512_cmpge_epi32_mask(key, first[h]);
            __m512 s = _mm512_mul_ps(_mm512_load_ps(p + i * QB + 16 * h), scale);
            if (capped)
                s = ck512_softcap(s, cap, two_over_cap);
            s = _mm512_mask_blend_ps(valid[i][h], ninf, s);
            _mm512_store_ps(p + i * QB + 16 * h, s);
            bm[h] = _mm512_max_ps(bm[h], s);
        }
    for (int h = 0; h < 2; h++) {
        __m512 m_new = _mm512_max_ps(m[h], bm[h]);
        /* rows that have seen no key yet keep m = -inf: subtract 0 instead */
        __m512 m_use = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(m_new, ninf, _CMP_EQ_OQ), m_new, _mm512_setzero_ps());
        corr[h] = ck512_exp(_mm512_sub_ps(m[h], m_use));
        __m512 sum = _mm512_setzero_ps();
        for (size_t i = 0; i < rows; i++) {
            __m512 e =
                _mm512_maskz_mov_ps(valid[i][h], ck512_exp(_mm512_sub_ps(_mm512_load_ps(p + i * QB + 16 * h), m_use)));
            _mm512_store_ps(p + i * QB + 16 * h, e);
            sum = _mm512_add_ps(sum, e);
        }
        l[h] = _mm512_fmadd_ps(l[h], corr[h], sum);
        m[h] = m_new;
    }
}

static void flash_item(const flash_job *j, float *buf, size_t h, size_t qb)
{
    const ck_attention_args *a = j->a;
    const size_t hd = a->head_dim, H = a->n_heads, kvh = h / j->group;
    const size_t t0 = qb * QB, nq = a->T - t0 < QB ? a->T - t0 : QB;
    float *qt = buf, *pt = qt + hd * QB, *ot = pt + KB * QB;
    const float *kp = j->kv + kvh * j->L.kv_floats, *vp = kp + j->L.s_pad * hd;

    int32_t lim_s[QB], first_s[QB];
    size_t n_keys = 0, k_lo = a->S;
    for (size_t i = 0; i < QB; i++) {
        size_t lim = 0, first = 0;
        if (i < nq) {
            lim = ck512_end_key(a, t0 + i);
            first = ck512_first_key(a, t0 + i);
            k_lo = first < k_lo ? first : k_lo;
        }
        lim_s[i] = (int32_t)lim;
        first_s[i] = (int32_t)first;
        n_keys = lim > n_keys ? lim : n_keys;
    }
    const __m512i lim[2] = {_mm512_loadu_si512(lim_s), _mm512_loadu_si512(lim_s + 16)};
    const __m512i first[2] = {_mm512_loadu_si512(first_s), _mm512_loadu_si512(first_s + 16)};
    for (size_t d = 0; d < hd; d++)
        for (size_t i = 0; i < QB; i++)
            qt[d * QB + i] = i < nq ? a->q[((t0 + i) * H + h) * hd + d] : 0.0f;
    memset(ot, 0, j->L.hd_pad * QB * sizeof(float));

    __m512 m[2] = {_mm512_set1_ps(-INFINITY), _mm512_set1_ps(-INFINITY)};
    __m512 l[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()}, corr[2];
    /* blocks before every row's window are skipped (whole groups) */
    for (size_t s0 = k_lo / KG * KG; s0 < n_keys; s0 += KB) {
        size_t rows = n_keys - s0 < KG ? KG : KB; /* whole groups: padding keys are masked */
        for (size_t g = 0; g < rows / KG; g++)
            ck512_gemm_ukernel_14x32(hd, kp + (s0 / KG + g) * hd * KG, qt, pt + g * KG * QB, QB, KG, QB, 1, NULL);
        softmax_block(a, pt, rows, s0, lim, first, m, l, corr);
        if (s0 > k_lo / KG * KG)
            for (size_t d = 0; d < hd; d++) {
                _mm512_store_ps(ot + d * QB, _mm512_mul_ps(_mm512_load_ps(ot + d * QB), corr[0]));
                _mm512_store_ps(ot + d * QB + 16, _mm512_mul_ps(_mm512_load_ps(ot + d * QB + 16), corr[1]));
            }
        for (size_t dg = 0; dg < j->L.hd_pad / KG; dg++)
            ck512_gemm_ukernel_14x32(rows, vp + dg * j->L.s_pad * KG + s0 * KG, pt, ot + dg * KG * QB, QB,
                                     hd - dg * KG < KG ? hd - dg * KG : KG, QB, 0, NULL);
    }
    /* a row that saw no key (past the cache, short window) has l = 0: out = 0 */
    float inv[QB];
    for (int half = 0; half < 2; half++) {
        const __mmask16 seen = _mm512_cmp_ps_mask(l[half], _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm512_storeu_ps(inv + 16 * half, _mm512_maskz_div_ps(seen, _mm512_set1_ps(1.0f), l[half]));
    }
    for (size_t i = 0; i < nq; i++) {
        float *out = a->out + ((t0 + i) * H + h) * hd;
        for (size_t d = 0; d < hd; d++)
            out[d] = a->S ? ot[d * QB + i] * inv[i] : 0.0f;
    }
}

static void flash_items(void *arg, size_t begin, size_t end, int tid)
{
    const flash_job *j = arg;
    float *buf = j->ctx->scratch(j->ctx, tid, j->item_floats * sizeof(float)); /* allocated up front */
    for (size_t i = begin; i < end; i++)
        flash_item(j, buf, i / j->n_qblocks, i % j->n_qblocks);
}

int ck512_attention_flash(const ck_exec_ctx *ctx, const ck_attention_args *a)
{
    if (a->S > (size_t)INT32_MAX - KB) /* key limits are compared as int32 lanes */
        return CK_E_UNSUPPORTED;
    flash_job j = {ctx, a, layout_of(a), NULL, a->n_heads / a->n_kv_heads, (a->T + QB - 1) / QB, 0};
    j.item_floats = a->head_dim * QB + KB * QB + j.L.hd_pad * QB;
    if (a->S > 0) {
        j.kv = ctx->scratch(ctx, CK_SCRATCH_SHARED, a->n_kv_heads * j.L.kv_floats * sizeof(float));
        if (!j.kv)
            return CK_E_NOMEM;
    }
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, j.item_floats * sizeof(float)))
            return CK_E_NOMEM;
    ck512_parallel(ctx, a->n_kv_heads * groups_of(a->S), 1, pack_kv, &j);
    ck512_parallel(ctx, a->n_heads * j.n_qblocks, 1, flash_items, &j);
    return CK_OK;
}
