/* f32-attention/avx512: scaled dot-product attention, causal or
 * bidirectional, grouped-query (query head h reads kv head h / (H / Hkv)),
 * prefill or decode. With scores or probs requested, each row is
 * materialised (f32-attention-mat-avx512.c); otherwise it streams with an
 * online softmax: blocked on the GEMM micro-kernel for prefill
 * (f32-attention-flash-avx512.c); for decode and short T, key chunks of
 * every head as work items, merged per head (f32-attention-decode-
 * avx512.c), which reads the KV cache once, in address order; one row at a
 * time (f32-attention-stream-avx512.c) where either has no scratch. S == 0
 * gives out = 0. Every
 * path honours a sliding window (keys before ck512_first_key are masked
 * like the causal ones) and soft-capping (CK_KF_ATTN_WINDOW_SOFTCAP). */
#include "attention-avx512.h"
#include "avx512-kernels.h"

typedef struct attn_job {
    const ck_exec_ctx *ctx;
    const ck_attention_args *a;
    size_t group;   /* query heads per kv head */
    size_t scratch; /* bytes per thread */
} attn_job;

static ck512_attn_row row_of(const ck_attention_args *a, size_t h, size_t kvh, size_t t, float *acc)
{
    const size_t hd = a->head_dim;
    ck512_attn_row r = {
        a->q + (t * a->n_heads + h) * hd,
        a->k + kvh * hd,
        a->v + kvh * hd,
        a->n_kv_heads * hd,
        hd,
        ck512_end_key(a, t),
        a->scale,
        acc,
        ck512_first_key(a, t),
        a->softcap,
    };
    return r;
}

/* Materialising: items are (h, t), h-major. */
static void mat_items(void *arg, size_t begin, size_t end, int tid)
{
    const attn_job *j = arg;
    const ck_attention_args *a = j->a;
    float *acc = j->ctx->scratch(j->ctx, tid, j->scratch); /* allocated up front */
    float *row = acc + CK512_ATTN_ACC_STRIDE(a->head_dim);
    for (size_t i = begin; i < end; i++) {
        size_t h = i / a->T, t = i % a->T, off = (h * a->T + t) * a->S;
        ck512_attn_row r = row_of(a, h, h / j->group, t, acc);
        ck512_attention_row_mat(&r, a->S, row, a->scores ? a->scores + off : NULL, a->probs ? a->probs + off : NULL,
                                a->out + (t * a->n_heads + h) * a->head_dim);
    }
}

/* Streaming rows: items are (t, kv head), t-major; a thread's range is cut
 * into runs of one t over consecutive kv heads, each covering the query
 * heads that read those kv heads, so that one pass over the keys serves
 * them all. */
static void stream_items(void *arg, size_t begin, size_t end, int tid)
{
    const attn_job *j = arg;
    const ck_attention_args *a = j->a;
    float *scratch = j->ctx->scratch(j->ctx, tid, j->scratch); /* allocated up front */
    for (size_t i = begin; i < end;) {
        size_t t = i / a->n_kv_heads, kv0 = i % a->n_kv_heads;
        size_t kv1 = kv0 + (end - i) < a->n_kv_heads ? kv0 + (end - i) : a->n_kv_heads;
        ck512_attention_stream_run(a, t, kv0, kv1, scratch);
        i += kv1 - kv0;
    }
}

int ck_avx512_f32_attention(const ck_exec_ctx *ctx, const void *args)
{
    const ck_attention_args *a = args; /* the host checked them (core/args_check.c) */
    if (a->T == 0 || a->n_heads == 0 || a->head_dim == 0)
        return CK_OK;
    if (a->S > SIZE_MAX / sizeof(float) / 2 - a->head_dim - 16) /* a materialised row's scratch */
        return CK_E_UNSUPPORTED;
    /* The blocked path packs all of K and V; without room for that, the
     * row path below computes the same op. */
    if (!a->scores && !a->probs && a->T >= CK512_FLASH_MIN_T && ck512_attention_flash(ctx, a) == CK_OK)
        return CK_OK;
    if (!a->scores && !a->probs && a->T < CK512_FLASH_MIN_T && ck512_attention_decode(ctx, a) == CK_OK)
        return CK_OK;
    attn_job j = {ctx, a, a->n_heads / a->n_kv_heads, 0};
    const int mat = a->scores || a->probs;
    const size_t acc = CK512_ATTN_ACC_STRIDE(a->head_dim);
    j.scratch = (mat ? acc + a->S : CK512_ATTN_STREAM_FLOATS(a->n_heads, a->head_dim)) * sizeof(float);
    for (int tid = 0; tid < ctx->n_threads; tid++)
        if (!ctx->scratch(ctx, tid, j.scratch))
            return CK_E_NOMEM;
    if (mat)
        ck512_parallel(ctx, a->n_heads * a->T, 1, mat_items, &j);
    else
        ck512_parallel(ctx, a->T * a->n_kv_heads, 1, stream_items, &j);
    return CK_OK;
}
