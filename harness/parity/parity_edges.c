/* The built-in edge suite of `ckbench parity` (parity.h): sizes that are no
 * multiple of any vector width (1, 7, 17, 4095, ...), single rows, every
 * head dim and GQA ratio models use, decode steps at several positions,
 * every attention variant, every weight dtype, the backward ops and every
 * fused kernel, then ck_parity_cover's generated cases; each case once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_fusion.h"
#include "ck_ir.h"
#include "parity.h"

typedef struct suite {
    ck_parity_shape *v;
    size_t n, cap;
} suite;

static ck_parity_shape *push_case(suite *s, uint32_t op, uint32_t dtype, const char *label)
{
    return ck_parity_push(&s->v, &s->n, &s->cap, op, dtype, label);
}

static ck_shape *push(suite *s, uint32_t op, uint32_t dtype, const char *label)
{
    return &push_case(s, op, dtype, label)->shape;
}

static const size_t edge_dims[] = {1, 7, 17, 64, 100, 4095};
static const size_t edge_lens[] = {1, 7, 17, 33, 4095, 65537};
/* every head dim of the models people run: LLaMA's 128, Phi-2's 80,
 * Falcon's 64, 96, and Gemma's 256 (Gemma 7B, Gemma-2, Gemma-3), whose
 * decode rows a kernel sized for 128 dims gets wrong */
static const size_t head_dims[] = {64, 80, 96, 128, 256};

static void edge_norms(suite *s)
{
    for (size_t i = 0; i < sizeof edge_dims / sizeof edge_dims[0]; i++) {
        for (size_t T = 1; T <= 3; T += 2) {
            ck_shape *sh = push(s, CK_OP_RMSNORM, CK_DTYPE_F32, "edge");
            sh->T = T, sh->D = edge_dims[i], sh->eps = 1e-6f;
            for (int beta = 0; beta <= 1; beta++) {
                sh = push(s, CK_OP_LAYERNORM, CK_DTYPE_F32, "edge");
                sh->T = T, sh->D = edge_dims[i], sh->eps = 1e-5f, sh->has_bias = beta;
            }
        }
    }
}

static void edge_linears(suite *s)
{
    /* rows 6..16: a full GEMM register tile plus a tail; 1..5: only a tail */
    static const size_t tkn[][3] = {{1, 1, 1},     {1, 17, 7},  {3, 64, 33},  {2, 100, 65}, {5, 4095, 9},
                                    {1, 4096, 17}, {7, 33, 19}, {13, 64, 50}, {16, 128, 31}};
    static const uint32_t dtypes[] = {CK_DTYPE_F32, CK_DTYPE_BF16, CK_DTYPE_F16, CK_DTYPE_Q8_0, CK_DTYPE_Q4_0};
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        int quant = dtypes[d] == CK_DTYPE_Q8_0 || dtypes[d] == CK_DTYPE_Q4_0;
        for (size_t i = 0; i < sizeof tkn / sizeof tkn[0]; i++) {
            size_t K = tkn[i][1];
            if (quant && K % CK_QBLOCK)
                K = (K + CK_QBLOCK - 1) / CK_QBLOCK * CK_QBLOCK;
            ck_shape *sh = push(s, CK_OP_LINEAR, dtypes[d], "edge");
            sh->T = tkn[i][0], sh->K = K, sh->N = tkn[i][2], sh->has_bias = (int)(i & 1);
        }
        /* qkv: every head dim, GQA 1, 4 and 8, a D that is no multiple of 32
         * unless the blocks demand it */
        for (size_t h = 0; h < sizeof head_dims / sizeof head_dims[0]; h++) {
            static const size_t gqa[] = {1, 4, 8};
            ck_shape *sh = push(s, CK_OP_QKV, dtypes[d], "edge");
            sh->T = h == 0 ? 1 : h == 1 ? 7 : 3, sh->D = quant ? 96 : 72 + h, sh->head_dim = head_dims[h];
            sh->n_heads = 8, sh->n_kv_heads = 8 / gqa[h % 3], sh->has_bias = (int)(h & 1);
        }
    }
}

static void edge_rope(suite *s)
{
    for (size_t h = 0; h < sizeof head_dims / sizeof head_dims[0]; h++) {
        for (int pairing = CK_ROPE_NEOX; pairing <= CK_ROPE_GPTJ; pairing++) {
            static const size_t pos[] = {0, 1, 1000};
            for (size_t p = 0; p < 3; p++) {
                ck_shape *sh = push(s, CK_OP_ROPE, CK_DTYPE_F32, "edge");
                sh->T = p == 1 ? 1 : 5, sh->n_heads = 4, sh->n_kv_heads = p == 2 ? 0 : 1 + (h & 1);
                sh->head_dim = head_dims[h], sh->pos = pos[p], sh->max_pos = pos[p] + 64, sh->pairing = pairing;
            }
        }
    }
    ck_shape *sh = push(s, CK_OP_ROPE, CK_DTYPE_F32, "edge odd pairs"); /* hd/2 = 3 */
    sh->T = 2, sh->n_heads = 3, sh->n_kv_heads = 1, sh->head_dim = 6, sh->max_pos = 8;
}

/* Partial rotary (Phi-2's 32 of 80, and tails no vector width divides:
 * 24 of 96, 2 of 10, 6 of 64), rotary_dim == head_dim spelt out, both
 * pairings, with and without k. */
static void edge_rope_partial(suite *s)
{
    static const size_t hd_rd[][2] = {{80, 32}, {96, 24}, {64, 64}, {128, 64}, {10, 2}, {64, 6}, {80, 78}};
    for (size_t i = 0; i < sizeof hd_rd / sizeof hd_rd[0]; i++)
        for (int pairing = CK_ROPE_NEOX; pairing <= CK_ROPE_GPTJ; pairing++) {
            ck_shape *sh = push(s, CK_OP_ROPE, CK_DTYPE_F32, "edge partial");
            sh->T = i & 1 ? 1 : 5, sh->n_heads = 4, sh->n_kv_heads = i == 3 ? 0 : 2, sh->head_dim = hd_rd[i][0];
            sh->rotary_dim = hd_rd[i][1], sh->pos = i & 1 ? 1000 : 3, sh->max_pos = sh->pos + 8, sh->pairing = pairing;
            sh = push(s, CK_OP_ROPE_BWD, CK_DTYPE_F32, "edge partial");
            sh->T = 3, sh->n_heads = 4, sh->n_kv_heads = 1, sh->head_dim = hd_rd[i][0], sh->rotary_dim = hd_rd[i][1];
            sh->pos = 2, sh->max_pos = 8, sh->pairing = pairing;
        }
}

static void edge_attention(suite *s)
{
    static const size_t gqa[] = {1, 4, 8};
    for (size_t h = 0; h < sizeof head_dims / sizeof head_dims[0]; h++) {
        for (size_t g = 0; g < 3; g++) {
            for (int causal = 0; causal <= 1; causal++) {
                for (int mat = 0; mat <= 1; mat++) {
                    ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge prefill");
                    sh->T = 17, sh->S = 17, sh->n_heads = 8, sh->n_kv_heads = 8 / gqa[g];
                    sh->head_dim = head_dims[h], sh->causal = causal, sh->materialize = mat;
                }
            }
        }
        /* decode: one query row at several positions of a KV cache */
        static const size_t pos[] = {0, 1, 16, 127};
        for (size_t p = 0; p < 4; p++) {
            ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge decode");
            sh->T = 1, sh->S = pos[p] + 1, sh->pos = pos[p], sh->n_heads = 8, sh->n_kv_heads = 8 / gqa[p % 3];
            sh->head_dim = head_dims[h], sh->causal = 1, sh->materialize = (int)(p & 1);
        }
    }
    /* a cache holding keys past the query rows (S > q_pos + T): row t sees
     * keys up to q_pos + t (docs/ops.md), not up to S - 1, also at T = 1,
     * where a decode path may take every key as seen */
    for (int i = 0; i < 3; i++) {
        ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge cache past pos");
        sh->T = i == 2 ? 3 : 1, sh->S = 40, sh->pos = 20, sh->n_heads = 4, sh->n_kv_heads = 2, sh->head_dim = 64;
        sh->causal = 1, sh->materialize = i == 1;
    }
    /* a chunk of queries continuing a cache: q_pos > 0 with T > 1 */
    ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge chunked prefill");
    sh->T = 5, sh->S = 37, sh->pos = 32, sh->n_heads = 4, sh->n_kv_heads = 1, sh->head_dim = 64, sh->causal = 1,
    sh->materialize = 1;
    /* a scale other than 1 / sqrt(hd), as Gemma-2 27B's query_pre_attn_scalar
     * 144 at hd 128 gives: prefill (streaming and materialising), decode,
     * and the backward */
    for (int i = 0; i < 4; i++) {
        sh = push(s, i == 3 ? CK_OP_ATTENTION_BWD : CK_OP_ATTENTION, CK_DTYPE_F32, "edge scale");
        sh->T = i == 2 ? 1 : 17, sh->S = i == 2 ? 300 : 17, sh->pos = i == 2 ? 299 : 0, sh->n_heads = 8;
        sh->n_kv_heads = 2, sh->head_dim = 128, sh->causal = 1, sh->materialize = i == 1, sh->scale = 1.0f / 12.0f;
    }
}

/* Query groups that are no power of two, as models have them: Llama-3.2-3B
 * 24 heads of 8 kv heads (3), Qwen2.5-14B 40 of 8 (5), Qwen2.5-7B 28 of 4
 * and Qwen2.5-0.5B 14 of 2 (7). Every other case has groups of 1, 2, 4, 8
 * or 16, where h >> log2(G) is h / G and a kernel taking the group's heads
 * in pairs or fours has no tail. Prefill (streaming, materialising), a
 * chunk, decode over a cache, a window, and the backward (dk, dv summed
 * over the group). */
static void edge_attention_groups(suite *s)
{
    static const size_t g[][7] = {
        /* H, Hkv, hd, T, S, materialize, window */
        {24, 8, 64, 9, 9, 0, 0},   {40, 8, 64, 9, 9, 1, 0},  {28, 4, 128, 1, 40, 0, 0},
        {14, 2, 64, 1, 300, 1, 0}, {24, 8, 64, 3, 20, 0, 0}, {12, 4, 64, 17, 17, 0, 5},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge groups");
        sh->n_heads = g[i][0], sh->n_kv_heads = g[i][1], sh->head_dim = g[i][2], sh->T = g[i][3], sh->S = g[i][4];
        sh->pos = g[i][4] - g[i][3], sh->causal = 1, sh->materialize = (int)g[i][5], sh->window = g[i][6];
    }
    for (int i = 0; i < 2; i++) {
        ck_shape *sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge groups");
        sh->T = 9, sh->S = 9, sh->n_heads = i ? 10 : 6, sh->n_kv_heads = 2, sh->head_dim = 64, sh->causal = 1;
        sh->materialize = i;
    }
}

/* Sliding windows (1, S - 1, wider than S, and edges inside a block of
 * keys), soft-capping (a cap small enough that tanh saturates, and Gemma-2's
 * 50), both together; prefill, chunks and decode (one row over a cache), GQA,
 * streaming and materialising. */
static void edge_attention_window_softcap(suite *s)
{
    static const size_t windows[] = {1, 16, 40, 5};
    static const float caps[] = {0.0f, 0.02f, 50.0f};
    for (size_t w = 0; w < 4; w++)
        for (size_t c = 0; c < 3; c++)
            for (int mat = 0; mat <= 1; mat++) {
                ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge window");
                sh->T = 17, sh->S = 17, sh->n_heads = 8, sh->n_kv_heads = c == 1 ? 2 : 8;
                sh->head_dim = w & 1 ? 80 : 64, sh->causal = 1, sh->materialize = mat;
                sh->window = windows[w], sh->softcap = caps[c];
            }
    for (size_t c = 1; c < 3; c++)
        for (int causal = 0; causal <= 1; causal++) {
            ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge softcap");
            sh->T = 9, sh->S = 9, sh->n_heads = 4, sh->n_kv_heads = 1, sh->head_dim = 96, sh->causal = causal;
            sh->materialize = causal, sh->softcap = caps[c];
        }
    /* decode: one row at position p over p + 1 cached keys */
    static const size_t pos[][2] = {{0, 1}, {16, 1}, {16, 16}, {127, 8}, {127, 128}, {127, 300}, {200, 33}};
    for (size_t p = 0; p < sizeof pos / sizeof pos[0]; p++) {
        ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge window decode");
        sh->T = 1, sh->S = pos[p][0] + 1, sh->pos = pos[p][0], sh->n_heads = 8, sh->n_kv_heads = p & 1 ? 2 : 8;
        sh->head_dim = p % 3 == 0 ? 128 : 64, sh->causal = 1, sh->materialize = (int)(p & 1);
        sh->window = pos[p][1], sh->softcap = p % 3 == 2 ? 30.0f : 0.0f;
    }
    /* long rows, so that a kernel working in blocks of keys meets the window
     * edge inside a block and whole blocks outside it */
    static const size_t longw[] = {33, 64, 100};
    for (size_t i = 0; i < 3; i++) {
        ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge window long");
        sh->T = 130, sh->S = 130, sh->n_heads = 2, sh->n_kv_heads = 1, sh->head_dim = 64, sh->causal = 1;
        sh->materialize = (int)(i & 1), sh->window = longw[i], sh->softcap = i == 2 ? 50.0f : 0.0f;
    }
    ck_shape *sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge window chunk");
    sh->T = 5, sh->S = 37, sh->pos = 32, sh->n_heads = 4, sh->n_kv_heads = 1, sh->head_dim = 64, sh->causal = 1;
    sh->window = 4, sh->softcap = 0.02f;
    /* the backward: windows 1, inside and wider than S, each cap, with and
     * without the forward's probs, and a chunk past a cache */
    for (size_t w = 0; w < 4; w++)
        for (size_t c = 0; c < 3; c++) {
            sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge window");
            sh->T = 17, sh->S = 17, sh->n_heads = 4, sh->n_kv_heads = c == 1 ? 2 : 4;
            sh->head_dim = w & 1 ? 80 : 64, sh->causal = 1, sh->materialize = (int)((w + c) & 1);
            sh->window = windows[w], sh->softcap = caps[c];
        }
    sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge softcap");
    sh->T = 9, sh->S = 9, sh->n_heads = 4, sh->n_kv_heads = 1, sh->head_dim = 96, sh->softcap = 0.02f;
    sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge window chunk");
    sh->T = 5, sh->S = 37, sh->pos = 32, sh->n_heads = 4, sh->n_kv_heads = 1, sh->head_dim = 64, sh->causal = 1;
    sh->window = 4, sh->softcap = 30.0f;
}

static void edge_elementwise(suite *s)
{
    static const uint32_t ops[] = {CK_OP_SWIGLU,     CK_OP_GELU, CK_OP_GEGLU, CK_OP_GELU_ERF,
                                   CK_OP_QUICK_GELU, CK_OP_ADD,  CK_OP_ADAM};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t i = 0; i < sizeof edge_lens / sizeof edge_lens[0]; i++)
            push(s, ops[o], CK_DTYPE_F32, "edge")->n = edge_lens[i];
}

static void edge_embedding_quant(suite *s)
{
    static const uint32_t dtypes[] = {CK_DTYPE_F32, CK_DTYPE_BF16, CK_DTYPE_F16};
    for (size_t d = 0; d < 3; d++) {
        for (size_t i = 0; i < sizeof edge_dims / sizeof edge_dims[0]; i++) {
            ck_shape *sh = push(s, CK_OP_EMBEDDING, dtypes[d], "edge");
            sh->T = i % 2 ? 1 : 9, sh->vocab = 50, sh->D = edge_dims[i];
        }
    }
    for (uint32_t dt = CK_DTYPE_Q8_0; dt <= CK_DTYPE_Q4_0; dt++) {
        static const size_t qdims[] = {32, 96, 4096};
        for (size_t i = 0; i < 3; i++) {
            ck_shape *sh = push(s, CK_OP_EMBEDDING, dt, "edge");
            sh->T = i % 2 ? 1 : 9, sh->vocab = 50, sh->D = qdims[i];
        }
    }
    static const size_t lens[] = {32, 96, 4096, 32 * 1001};
    for (uint32_t dt = CK_DTYPE_Q8_0; dt <= CK_DTYPE_Q4_0; dt++)
        for (size_t i = 0; i < 4; i++) {
            push(s, CK_OP_QUANTIZE, dt, "edge")->n = lens[i];
            push(s, CK_OP_DEQUANTIZE, dt, "edge")->n = lens[i];
        }
}

/* The backward ops' weight gradients over no rows: not a no-op but the
 * sum over nothing, written as zeros (docs/ops.md), over the poison the
 * gate leaves in every output; the row inputs are empty, end-aligned
 * against a guard page in the gate's second run, so a kernel that reads a
 * row faults. A kernel that takes T = 0 for nothing to do fails here. */
static void edge_backward_no_rows(suite *s)
{
    for (uint32_t op = CK_OP_RMSNORM_BWD; op <= CK_OP_LAYERNORM_BWD; op++) {
        ck_shape *sh = push(s, op, CK_DTYPE_F32, "edge no rows");
        sh->T = 0, sh->D = 17, sh->eps = 1e-5f, sh->has_bias = op == CK_OP_LAYERNORM_BWD;
    }
    for (int bias = 0; bias <= 1; bias++) {
        ck_shape *sh = push(s, CK_OP_LINEAR_BWD, CK_DTYPE_F32, "edge no rows");
        sh->T = 0, sh->K = 17, sh->N = 7, sh->has_bias = bias;
        sh = push(s, CK_OP_QKV_BWD, CK_DTYPE_F32, "edge no rows");
        sh->T = 0, sh->D = 40, sh->n_heads = 4, sh->n_kv_heads = 2, sh->head_dim = 64, sh->has_bias = bias;
    }
    for (int causal = 0; causal <= 1; causal++) {
        ck_shape *sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge no rows");
        sh->T = 0, sh->S = 9, sh->n_heads = 4, sh->n_kv_heads = 2, sh->head_dim = 64, sh->causal = causal;
    }
}

/* Training ops: the same kinds of edges, smaller (their references are
 * heavier: every gradient of every input). */
static void edge_backward(suite *s)
{
    static const size_t td[][2] = {{1, 1}, {3, 7}, {2, 17}, {1, 4095}};
    for (size_t i = 0; i < 4; i++) {
        ck_shape *sh = push(s, CK_OP_RMSNORM_BWD, CK_DTYPE_F32, "edge");
        sh->T = td[i][0], sh->D = td[i][1], sh->eps = 1e-6f;
        sh = push(s, CK_OP_LAYERNORM_BWD, CK_DTYPE_F32, "edge");
        sh->T = td[i][0], sh->D = td[i][1], sh->eps = 1e-5f, sh->has_bias = (int)(i & 1);
    }
    static const size_t tkn[][3] = {{1, 1, 1}, {3, 17, 7}, {5, 64, 33}, {2, 100, 65}};
    for (size_t i = 0; i < 4; i++) {
        ck_shape *sh = push(s, CK_OP_LINEAR_BWD, CK_DTYPE_F32, "edge");
        sh->T = tkn[i][0], sh->K = tkn[i][1], sh->N = tkn[i][2], sh->has_bias = (int)(i & 1);
    }
    static const size_t heads[][3] = {{4, 4, 64}, {4, 1, 80}, {8, 2, 96}};
    for (size_t i = 0; i < 3; i++) {
        ck_shape *sh = push(s, CK_OP_QKV_BWD, CK_DTYPE_F32, "edge");
        sh->T = 3, sh->D = 40, sh->n_heads = heads[i][0], sh->n_kv_heads = heads[i][1], sh->head_dim = heads[i][2];
        sh->has_bias = (int)(i & 1);
        sh = push(s, CK_OP_ROPE_BWD, CK_DTYPE_F32, "edge");
        sh->T = 3, sh->n_heads = heads[i][0], sh->n_kv_heads = heads[i][1], sh->head_dim = heads[i][2];
        sh->pos = 7 * i, sh->max_pos = 32, sh->pairing = (int)(i & 1);
    }
    for (size_t i = 0; i < 3; i++) {
        for (int causal = 0; causal <= 1; causal++) {
            ck_shape *sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge");
            sh->T = 9, sh->S = 9, sh->n_heads = heads[i][0], sh->n_kv_heads = heads[i][1];
            sh->head_dim = heads[i][2], sh->causal = causal, sh->materialize = (int)(i & 1);
        }
    }
    ck_shape *sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge chunk");
    sh->T = 3, sh->S = 17, sh->pos = 14, sh->n_heads = 4, sh->n_kv_heads = 1, sh->head_dim = 64, sh->causal = 1;
    static const size_t lens[] = {1, 7, 17, 4095};
    for (size_t i = 0; i < 4; i++) {
        push(s, CK_OP_SWIGLU_BWD, CK_DTYPE_F32, "edge")->n = lens[i];
        push(s, CK_OP_GEGLU_BWD, CK_DTYPE_F32, "edge")->n = lens[i];
        push(s, CK_OP_GELU_BWD, CK_DTYPE_F32, "edge")->n = lens[i];
        push(s, CK_OP_GELU_ERF_BWD, CK_DTYPE_F32, "edge")->n = lens[i];
        push(s, CK_OP_QUICK_GELU_BWD, CK_DTYPE_F32, "edge")->n = lens[i];
        sh = push(s, CK_OP_EMBEDDING_BWD, CK_DTYPE_F32, "edge"); /* vocab 5: ids repeat */
        sh->T = 9, sh->vocab = 5, sh->D = edge_dims[i];
    }
    static const size_t tv[][2] = {{1, 7}, {3, 1000}, {2, 32000}};
    for (size_t i = 0; i < 3; i++) {
        sh = push(s, CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, "edge");
        sh->T = tv[i][0], sh->vocab = tv[i][1];
    }
    /* the loss alone, dlogits NULL, as the trainer evaluates it
     * (ck_trainer_loss) */
    sh = push(s, CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, "edge");
    sh->T = 3, sh->vocab = 1000, sh->loss_only = 1;
}

/* A fused case: the fused op and its members. */
static ck_parity_shape *push_fused(suite *s, uint32_t op, uint32_t dtype, const ck_shape *m, size_t n)
{
    ck_parity_shape *ps = push_case(s, op, dtype, "edge fused");
    memcpy(ps->members, m, n * sizeof *m);
    ps->n_members = n;
    return ps;
}

static ck_shape norm_of(uint32_t op, size_t T, size_t D, int beta)
{
    return (ck_shape){.op = op, .dtype = CK_DTYPE_F32, .T = T, .D = D, .eps = 1e-5f, .has_bias = beta};
}

static ck_shape linear_of(uint32_t dt, size_t T, size_t K, size_t N, int bias)
{
    return (ck_shape){.op = CK_OP_LINEAR, .dtype = dt, .T = T, .K = K, .N = N, .has_bias = bias};
}

/* Every fused op with f32, bf16 and f16 weights (no shipped plugin has f16
 * fused kernels; a third party's are checked, not listed as unchecked), rms and layer norms, every
 * activation, at one row (decode) and a few: dims that are no multiple of
 * 16 where the op allows it. */
static void edge_fused(suite *s)
{
    const size_t D = 100, F = 72, H = 4, Hkv = 2, hd = 64;
    static const uint32_t dts[] = {CK_DTYPE_F32, CK_DTYPE_BF16, CK_DTYPE_F16};
    for (size_t di = 0; di < sizeof dts / sizeof dts[0]; di++) {
        uint32_t dt = dts[di];
        for (size_t T = 1; T <= 3; T += 2) {
            int v = T == 3; /* the variant: layernorm, bias, gptj, bidirectional, gelu */
            uint32_t norm = v ? CK_OP_LAYERNORM : CK_OP_RMSNORM;
            ck_shape qkv = {.op = CK_OP_QKV,
                            .dtype = dt,
                            .T = T,
                            .D = D,
                            .n_heads = H,
                            .n_kv_heads = Hkv,
                            .head_dim = hd,
                            .has_bias = v};
            ck_shape m[3];
            m[0] = (ck_shape){.op = CK_OP_EMBEDDING, .dtype = dt, .T = T, .vocab = 50, .D = D};
            m[1] = norm_of(norm, T, D, v);
            push_fused(s, CK_OP_EMBED_NORM, dt, m, 2);
            m[0] = norm_of(norm, T, D, v), m[1] = qkv;
            push_fused(s, CK_OP_NORM_QKV, dt, m, 2);
            m[0] = qkv;
            m[1] = (ck_shape){.op = CK_OP_ROPE,
                              .dtype = CK_DTYPE_F32,
                              .T = T,
                              .n_heads = H,
                              .n_kv_heads = Hkv,
                              .head_dim = hd,
                              .pos = 5,
                              .max_pos = 16,
                              .pairing = v};
            push_fused(s, CK_OP_QKV_ROPE, dt, m, 2);
            m[1].rotary_dim = v ? 24 : 32; /* tails of 12 and 16 pairs in a head of 64 */
            push_fused(s, CK_OP_QKV_ROPE, dt, m, 2);
            m[0] = (ck_shape){.op = CK_OP_ATTENTION,
                              .dtype = CK_DTYPE_F32,
                              .T = T,
                              .S = 9,
                              .pos = 9 - T,
                              .n_heads = H,
                              .n_kv_heads = Hkv,
                              .head_dim = hd,
                              .causal = !v};
            m[1] = linear_of(dt, T, H * hd, D, v);
            push_fused(s, CK_OP_ATTN_PROJ, dt, m, 2);
            m[0].causal = 1, m[0].window = T == 1 ? 1 : 4, m[0].softcap = v ? 0.02f : 50.0f; /* Gemma-2 */
            push_fused(s, CK_OP_ATTN_PROJ, dt, m, 2);
            m[0] = norm_of(norm, T, D, v), m[1] = linear_of(dt, T, D, F, v), m[2] = linear_of(dt, T, D, F, v);
            push_fused(s, CK_OP_NORM_MLP, dt, m, v ? 2 : 3); /* a GELU MLP has no gate */
            m[0] = linear_of(dt, T, D, F, v), m[1] = linear_of(dt, T, D, F, v);
            m[2] = (ck_shape){.op = CK_OP_SWIGLU, .dtype = CK_DTYPE_F32, .n = T * F};
            push_fused(s, CK_OP_GATE_UP, dt, m, 3);
            m[0] = (ck_shape){.op = v ? CK_OP_GELU : CK_OP_SWIGLU, .dtype = CK_DTYPE_F32, .n = T * F};
            m[1] = linear_of(dt, T, F, D, v);
            push_fused(s, CK_OP_ACT_DOWN, dt, m, 2);
            /* CLIP's and its projector's (CK_KF_ACT_DOWN_UNARY), also at
             * T + 4 rows: a SIMD kernel may run few rows as the members and
             * only more through its own fused path */
            for (size_t rows = T; rows <= T + 4; rows += 4)
                for (int k = 0; k < 2; k++) {
                    m[0].op = k == v ? CK_OP_GELU_ERF : CK_OP_QUICK_GELU, m[0].n = rows * F;
                    m[1].T = rows;
                    push_fused(s, CK_OP_ACT_DOWN, dt, m, 2);
                }
            if (dt == CK_DTYPE_F32) {
                /* a fused attention's own head mapping over a query group
                 * of 3 (edge_attention_groups) */
                m[0] = (ck_shape){.op = CK_OP_ATTENTION,
                                  .dtype = CK_DTYPE_F32,
                                  .T = T,
                                  .S = 9,
                                  .pos = 9 - T,
                                  .n_heads = 6,
                                  .n_kv_heads = 2,
                                  .head_dim = hd,
                                  .causal = 1};
                m[1] = linear_of(dt, T, 6 * hd, D, v);
                push_fused(s, CK_OP_ATTN_PROJ, dt, m, 2);
                m[0] = (ck_shape){.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = T * D};
                m[1] = norm_of(norm, T, D, v);
                push_fused(s, CK_OP_ADD_NORM, dt, m, 2);
            }
        }
    }
}

/* Drop a case that repeats an earlier one (the generated lengths include some
 * the hand-written list has): a repeat checks nothing new and would share
 * its name in the table, the JSON and JUnit. */
typedef struct named_case {
    char name[576]; /* description, then the note */
    size_t index;
} named_case;

static int cmp_named(const void *x, const void *y)
{
    const named_case *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

static void drop_repeats(suite *s)
{
    /* each case described once, sorted by name: a repeat sits right after
     * the first of its name (the lowest index), in O(n log n) */
    named_case *v = malloc(s->n * sizeof *v);
    unsigned char *drop = calloc(s->n, 1);
    if (!v || !drop) { /* keep the repeats rather than fail the suite */
        free(v);
        free(drop);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        char d[512];
        ck_parity_describe(&s->v[i], d, sizeof d);
        snprintf(v[i].name, sizeof v[i].name, "%s\x1f%s", d, s->v[i].note);
        v[i].index = i;
    }
    qsort(v, s->n, sizeof *v, cmp_named);
    for (size_t i = 1; i < s->n; i++)
        drop[v[i].index] = strcmp(v[i].name, v[i - 1].name) == 0;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!drop[i])
            s->v[k++] = s->v[i];
    s->n = k;
    free(v);
    free(drop);
}

/* Past the blocking of a kernel's loops and of its thread split, each with
 * a tail: rows beyond common register tiles and row blocks (MR 4-24, MC
 * 64-256: several whole ones), K beyond k slices (KC 128-512), N beyond
 * column blocks (NC 256-1024); decode's few rows (matvec paths) over a long
 * K (LLaMA's 11008 and 14336 put an f32 x past a 48 KiB L1) and many
 * columns; the backward's sums over rows; decode attention over long
 * caches. A block loop's second pass and the split of rows between threads
 * run only here in the edge suite (elsewhere at most 16 rows, 65 columns;
 * elementwise ops: edge_lens' 65537); K or N stays small so that the
 * reference is cheap. */
static void edge_blocks(suite *s)
{
    static const size_t tkn[][3] = {{100, 40, 1030}, {257, 300, 70}, {33, 520, 70}, {1, 14353, 5},
                                    {1, 600, 1030},  {2, 300, 600},  {3, 40, 257}};
    static const uint32_t dtypes[] = {CK_DTYPE_F32, CK_DTYPE_BF16, CK_DTYPE_F16, CK_DTYPE_Q8_0, CK_DTYPE_Q4_0};
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        int quant = dtypes[d] == CK_DTYPE_Q8_0 || dtypes[d] == CK_DTYPE_Q4_0;
        for (size_t i = 0; i < sizeof tkn / sizeof tkn[0]; i++) {
            ck_shape *sh = push(s, CK_OP_LINEAR, dtypes[d], "edge blocks");
            sh->T = tkn[i][0], sh->N = tkn[i][2], sh->has_bias = (int)(i & 1);
            sh->K = quant ? (tkn[i][1] + CK_QBLOCK - 1) / CK_QBLOCK * CK_QBLOCK : tkn[i][1];
        }
        ck_shape *sh = push(s, CK_OP_QKV, dtypes[d], "edge blocks"); /* q: 512 columns */
        sh->T = 100, sh->D = quant ? 64 : 40, sh->n_heads = 8, sh->n_kv_heads = 2, sh->head_dim = 64;
    }
    for (uint32_t op = CK_OP_RMSNORM; op <= CK_OP_LAYERNORM; op++) {
        ck_shape *sh = push(s, op, CK_DTYPE_F32, "edge blocks");
        sh->T = 300, sh->D = 40, sh->eps = 1e-5f, sh->has_bias = op == CK_OP_LAYERNORM;
    }
    ck_shape *sh = push(s, CK_OP_ROPE, CK_DTYPE_F32, "edge blocks");
    sh->T = 200, sh->n_heads = 4, sh->n_kv_heads = 2, sh->head_dim = 64, sh->max_pos = 256;
    sh = push(s, CK_OP_EMBEDDING, CK_DTYPE_F32, "edge blocks");
    sh->T = 300, sh->vocab = 50, sh->D = 40;
    /* decode over long caches: beyond a split-K kernel's first splits of
     * keys (chunks of 128-512, up to 64 of them), and a few rows at once */
    static const size_t dec[][4] = {{1, 1000, 4, 128}, {1, 5000, 1, 64}, {3, 1000, 8, 64}}; /* T, S, G, hd */
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
        sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge blocks");
        sh->T = dec[i][0], sh->S = dec[i][1], sh->pos = dec[i][1] - dec[i][0], sh->n_heads = 8;
        sh->n_kv_heads = 8 / dec[i][2], sh->head_dim = dec[i][3], sh->causal = 1;
    }
    /* many heads (Llama-2 70B: 64 of 8 kv heads; Falcon-40B: 128), where
     * per-head state sized for 32 overflows */
    static const size_t many[][3] = {{64, 8, 1}, {128, 8, 9}, {64, 64, 1}}; /* H, Hkv, T */
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
        sh = push(s, CK_OP_ATTENTION, CK_DTYPE_F32, "edge blocks");
        sh->T = many[i][2], sh->S = 40, sh->pos = 40 - many[i][2], sh->n_heads = many[i][0];
        sh->n_kv_heads = many[i][1], sh->head_dim = 64, sh->causal = 1;
        sh = push(s, CK_OP_ROPE, CK_DTYPE_F32, "edge blocks");
        sh->T = many[i][2], sh->n_heads = many[i][0], sh->n_kv_heads = many[i][1], sh->head_dim = 64, sh->pos = 7;
        sh->max_pos = 16;
    }
    sh = push(s, CK_OP_QKV, CK_DTYPE_F32, "edge blocks");
    sh->T = 2, sh->D = 40, sh->n_heads = 64, sh->n_kv_heads = 8, sh->head_dim = 64;
    /* the backward's sums over rows (dW, db, dgamma, a table's rows) are
     * where a split between threads has to combine partial sums */
    for (size_t i = 0; i < 2; i++) {
        sh = push(s, CK_OP_LINEAR_BWD, CK_DTYPE_F32, "edge blocks");
        sh->T = i ? 257 : 100, sh->K = i ? 64 : 40, sh->N = i ? 70 : 300, sh->has_bias = (int)i;
    }
    for (uint32_t op = CK_OP_RMSNORM_BWD; op <= CK_OP_LAYERNORM_BWD; op++) {
        sh = push(s, op, CK_DTYPE_F32, "edge blocks");
        sh->T = 300, sh->D = 40, sh->eps = 1e-5f, sh->has_bias = op == CK_OP_LAYERNORM_BWD;
    }
    sh = push(s, CK_OP_QKV_BWD, CK_DTYPE_F32, "edge blocks");
    sh->T = 100, sh->D = 40, sh->n_heads = 8, sh->n_kv_heads = 2, sh->head_dim = 64, sh->has_bias = 1;
    sh = push(s, CK_OP_ROPE_BWD, CK_DTYPE_F32, "edge blocks");
    sh->T = 200, sh->n_heads = 4, sh->n_kv_heads = 2, sh->head_dim = 64, sh->max_pos = 256;
    sh = push(s, CK_OP_ATTENTION_BWD, CK_DTYPE_F32, "edge blocks");
    sh->T = 130, sh->S = 130, sh->n_heads = 2, sh->n_kv_heads = 1, sh->head_dim = 64, sh->causal = 1;
    sh = push(s, CK_OP_EMBEDDING_BWD, CK_DTYPE_F32, "edge blocks"); /* ids repeat across threads */
    sh->T = 300, sh->vocab = 50, sh->D = 40;
    sh = push(s, CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, "edge blocks");
    sh->T = 300, sh->vocab = 1000;
    for (uint32_t dt = CK_DTYPE_F32; dt <= CK_DTYPE_BF16; dt++) {
        const size_t T = 100, D = 40, F = 300;
        ck_shape m[3];
        m[0] = norm_of(CK_OP_RMSNORM, T, D, 0);
        m[1] = (ck_shape){.op = CK_OP_QKV, .dtype = dt, .T = T, .D = D, .n_heads = 8, .n_kv_heads = 2, .head_dim = 64};
        push_fused(s, CK_OP_NORM_QKV, dt, m, 2);
        m[1] = linear_of(dt, T, D, F, 0), m[2] = linear_of(dt, T, D, F, 0);
        push_fused(s, CK_OP_NORM_MLP, dt, m, 3);
        m[0] = linear_of(dt, T, D, F, 0), m[1] = linear_of(dt, T, D, F, 0);
        m[2] = (ck_shape){.op = CK_OP_SWIGLU, .dtype = CK_DTYPE_F32, .n = T * F};
        push_fused(s, CK_OP_GATE_UP, dt, m, 3);
        m[0] = (ck_shape){.op = CK_OP_SWIGLU, .dtype = CK_DTYPE_F32, .n = T * D};
        m[1] = linear_of(dt, T, D, F, 1);
        push_fused(s, CK_OP_ACT_DOWN, dt, m, 2);
        m[0] = (ck_shape){.op = CK_OP_ATTENTION,
                          .dtype = CK_DTYPE_F32,
                          .T = 40,
                          .S = 40,
                          .n_heads = 4,
                          .n_kv_heads = 2,
                          .head_dim = 64,
                          .causal = 1};
        m[1] = linear_of(dt, 40, 256, 300, 0);
        push_fused(s, CK_OP_ATTN_PROJ, dt, m, 2);
    }
}

size_t ck_parity_edge_suite(ck_parity_shape **out)
{
    suite s = {0};
    edge_norms(&s);
    edge_linears(&s);
    edge_rope(&s);
    edge_rope_partial(&s);
    edge_attention(&s);
    edge_attention_groups(&s);
    edge_attention_window_softcap(&s);
    edge_elementwise(&s);
    edge_embedding_quant(&s);
    edge_backward(&s);
    edge_backward_no_rows(&s);
    edge_fused(&s);
    edge_blocks(&s);
    ck_parity_cover(&s.v, &s.n, &s.cap);
    drop_repeats(&s);
    *out = s.v;
    return s.n;
}
