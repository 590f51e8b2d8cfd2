/* parity_cover.c — the generated part of the edge suite (parity.h):
 *
 * Lengths. The shipped plugins work in vectors of 4, 8, 16 and 32 floats,
 * with 2- and 4-way unrolled loops (so 64, 128, 256 at most): every length
 * 1..33 (each tail of 4, 8, 16 and 32, and 16 / 32 themselves) and each side
 * of 64, 128 and 256 is taken by every elementwise op, and as the reduction
 * dim D, K or hd of the reductions; the other dims of a case walk the same
 * list at another stride, so tails meet tails without the product of sizes.
 * A linear's, qkv's and attention's rows walk 1..32 (tiles of up to 16 and
 * a partial second; a flash kernel's query blocks and their tails), a
 * quantised row's blocks one step of 8 and every tail of 1..7.
 *
 * Special inputs: values where a kernel's own arithmetic differs from the
 * reference's — signed zeros, subnormals, overflow, exp's range (|g| near
 * and beyond 88.72), rows of large equal values, rows whose terms cancel,
 * sparse rows (few terms: the error model's bound is tight there, so a
 * kernel that narrows its inputs shows, and behind act_down's projection one
 * whose activation is a near neighbour), scores far apart (all but one
 * probability underflow), tied, all far below exp's range (only the row's
 * own max keeps them), and spread over a long cache's every key; the exact
 * rope and adam on signed zeros and subnormals (a kernel under DAZ / FTZ);
 * rope rows at the ends of the table, and tables of Llama 3's theta; Phi's
 * tails for the gelus (saturated, underflowing, around 0); quantised scales
 * that are zero or subnormal in f16, of weights and activations. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "parity.h"

static const size_t lens[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,  17,  18,  19,  20,  21,
                              22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257};
#define N_LENS (sizeof lens / sizeof lens[0])

typedef struct cover {
    ck_parity_shape **v;
    size_t *n, *cap;
} cover;

static ck_shape *push(cover *cv, uint32_t op, uint32_t dtype, int inputs)
{
    ck_parity_shape *ps = ck_parity_push(cv->v, cv->n, cv->cap, op, dtype, inputs ? "cover inputs" : "cover lengths");
    ps->inputs = inputs;
    return &ps->shape;
}

static void cover_lengths(cover *cv)
{
    static const uint32_t elementwise[] = {CK_OP_ADD,      CK_OP_SWIGLU,     CK_OP_GELU, CK_OP_GEGLU,
                                           CK_OP_GELU_ERF, CK_OP_QUICK_GELU, CK_OP_ADAM};
    static const uint32_t wdt[] = {CK_DTYPE_F32, CK_DTYPE_BF16, CK_DTYPE_F16};
    for (size_t i = 0; i < N_LENS; i++) {
        size_t L = lens[i], other = lens[(i * 7 + 3) % N_LENS];
        for (size_t o = 0; o < sizeof elementwise / sizeof elementwise[0]; o++)
            push(cv, elementwise[o], CK_DTYPE_F32, 0)->n = L;
        /* the backward's elementwise ops are vector loops with tails too:
         * every tail of 16 (1..17) and each side of 32, 64, 128 and 256,
         * not 18..30 again (geglu_bwd, in the cover first, keeps them) */
        static const uint32_t elementwise_bwd[] = {CK_OP_SWIGLU_BWD, CK_OP_GELU_BWD, CK_OP_GELU_ERF_BWD,
                                                   CK_OP_QUICK_GELU_BWD};
        push(cv, CK_OP_GEGLU_BWD, CK_DTYPE_F32, 0)->n = L;
        for (size_t o = 0; (L <= 17 || L >= 31) && o < sizeof elementwise_bwd / sizeof elementwise_bwd[0]; o++)
            push(cv, elementwise_bwd[o], CK_DTYPE_F32, 0)->n = L;
        ck_shape *s = push(cv, CK_OP_RMSNORM, CK_DTYPE_F32, 0);
        s->T = 2, s->D = L, s->eps = 1e-6f;
        s = push(cv, CK_OP_LAYERNORM, CK_DTYPE_F32, 0);
        s->T = 2, s->D = L, s->eps = 1e-5f, s->has_bias = (int)(i & 1);
        /* rows 1..32 walk a GEMM's row tiles and tails as the lengths walk
         * the vectors': 17..31 are a tile of 16 and a partial second, where
         * a kernel may take its own path (the edge suite's other row counts
         * are 1..16, 33, 100, 257) */
        for (size_t d = 0; d < 3; d++) {
            if (d == 2 && i % 3)
                continue; /* f16 widens like bf16: every third length */
            s = push(cv, CK_OP_LINEAR, wdt[d], 0);
            s->T = 1 + i % 32, s->K = L, s->N = other, s->has_bias = (int)(i & 1);
        }
        /* query rows 1..32 (a flash kernel's blocks of 4..16 rows and
         * every tail after them) where hd is short, so the reference stays
         * cheap; 3 rows beyond */
        s = push(cv, CK_OP_ATTENTION, CK_DTYPE_F32, 0);
        s->T = L <= 33 ? 1 + i * 13 % 32 : 3, s->S = s->T + other % 40, s->pos = s->S - s->T, s->n_heads = 4;
        s->n_kv_heads = i % 3 == 0 ? 4 : 1;
        s->head_dim = L, s->causal = (int)(i & 1), s->materialize = (int)((i >> 1) & 1);
        if (L % 2 == 0) {
            s = push(cv, CK_OP_ROPE, CK_DTYPE_F32, 0);
            s->T = 2, s->n_heads = 2, s->n_kv_heads = 1, s->head_dim = L, s->pos = other, s->max_pos = other + 2;
            s->pairing = (int)((i >> 1) & 1);
        }
        if (i % 3 == 0) {
            s = push(cv, CK_OP_QKV, CK_DTYPE_F32, 0);
            s->T = 1 + i % 32, s->D = L, /* rows as the linear's */ s->n_heads = 2, s->n_kv_heads = 1,
            s->head_dim = 2 + other % 32 * 2;
        }
    }
    for (uint32_t dt = CK_DTYPE_Q8_0; dt <= CK_DTYPE_Q4_0; dt++)
        for (size_t K = 32; K <= 256; K *= 2) {
            ck_shape *s = push(cv, CK_OP_LINEAR, dt, 0);
            s->T = K / 32 + 2, s->K = K, s->N = 7 + K / 16;
        }
    /* A quantised row is K / 32 blocks; a kernel walks them in steps of 2,
     * 4 or 8 (8 blocks: 256 values, one K-quant super-block) and then a
     * tail of 1..7 blocks, which models have: SmolLM2-360M's 960 leaves 6
     * of 8, Gemma-3-1B's 1152 and Qwen2.5-0.5B's 896 leave 4. One full step
     * of 8 and every tail; the tails past a step of 4 (5..7) on each of the
     * decode (1 row), row (3) and gemm (20) paths, the others on one each
     * (the edge suite's 17 and 19 blocks add tails 1 and 3 on others). */
    for (uint32_t dt = CK_DTYPE_Q8_0; dt <= CK_DTYPE_Q4_0; dt++)
        for (size_t r = 1; r < 8; r++)
            for (size_t p = 0; p < 3; p++) {
                static const size_t rows[] = {1, 3, 20};
                if (r < 5 && p != r % 3)
                    continue;
                ck_shape *s = push(cv, CK_OP_LINEAR, dt, 0);
                s->T = rows[p], s->K = (8 + r) * CK_QBLOCK, s->N = 5 + r;
            }
}

/* ---- special inputs -------------------------------------------------------------------------- */

enum {
    IN_ZEROS = 1,  /* +0, -0 and subnormals, among normal values */
    IN_OVERFLOW,   /* near and beyond FLT_MAX */
    IN_EXP_RANGE,  /* gate / x around and beyond +-88.72, and far beyond */
    IN_EQUAL_ROWS, /* rows of one large value */
    IN_CANCEL,     /* rows with a large mean and a small spread */
    IN_SPARSE,     /* one non-zero per row of x */
    IN_FAR_SCORES, /* q scaled up: scores far apart, all probabilities but one underflow */
    IN_TIED,       /* every key the same: tied scores */
    IN_ERF_TAILS,  /* x where Phi(x) saturates to 1 or underflows, and around 0 */
    IN_QSCALES,    /* quantised: zero, subnormal and extreme f16 scales, of weights and of activations */
    IN_THETA,      /* rope tables of theta 500000 (Llama 3), not the generated 10000 */
    IN_EVEN,       /* q and k without their large rows: probabilities spread over every key */
    IN_LOW_SCORES, /* every key tied, every score -1000: far below exp's range, p = 1 / n */
    IN_ID_PAST,    /* the last token id is vocab: refused, nothing written */
    IN_ID_NEG,     /* a token id of -1 mid-row: refused, nothing written */
    IN_COUNT
};

static const char *const in_names[IN_COUNT] = {
    [IN_ZEROS] = "zeros-subnormals", [IN_OVERFLOW] = "overflow",     [IN_EXP_RANGE] = "exp-range",
    [IN_EQUAL_ROWS] = "equal-rows",  [IN_CANCEL] = "cancelling",     [IN_SPARSE] = "sparse",
    [IN_FAR_SCORES] = "far-scores",  [IN_TIED] = "tied-keys",        [IN_ERF_TAILS] = "erf-tails",
    [IN_QSCALES] = "quant-scales",   [IN_THETA] = "theta-500000",    [IN_EVEN] = "even-scores",
    [IN_LOW_SCORES] = "low-scores",  [IN_ID_PAST] = "id-past-vocab", [IN_ID_NEG] = "negative-id",
};

const char *ck_parity_inputs_name(int inputs)
{
    return inputs > 0 && inputs < IN_COUNT ? in_names[inputs] : "?";
}

static void cover_inputs(cover *cv)
{
    static const uint32_t unary[] = {CK_OP_ADD, CK_OP_SWIGLU, CK_OP_GELU, CK_OP_GEGLU};
    for (size_t o = 0; o < 4; o++) {
        push(cv, unary[o], CK_DTYPE_F32, IN_ZEROS)->n = 67;
        push(cv, unary[o], CK_DTYPE_F32, o == 0 ? IN_OVERFLOW : IN_EXP_RANGE)->n = 67;
    }
    static const uint32_t gelus[] = {CK_OP_GELU_ERF, CK_OP_QUICK_GELU};
    static const int gelu_in[] = {IN_ZEROS, IN_EXP_RANGE, IN_ERF_TAILS};
    for (size_t o = 0; o < 2; o++)
        for (size_t i = 0; i < 3; i++)
            push(cv, gelus[o], CK_DTYPE_F32, gelu_in[i])->n = 67;
    static const int norm_in[] = {IN_ZEROS, IN_EQUAL_ROWS, IN_CANCEL};
    for (size_t i = 0; i < 3; i++)
        for (uint32_t op = CK_OP_RMSNORM; op <= CK_OP_LAYERNORM; op++) {
            ck_shape *s = push(cv, op, CK_DTYPE_F32, norm_in[i]);
            s->T = 3, s->D = i == 1 ? 4096 : 100, s->eps = 1e-5f, s->has_bias = op == CK_OP_LAYERNORM;
        }
    static const int lin_in[] = {IN_SPARSE, IN_EQUAL_ROWS, IN_CANCEL};
    for (size_t i = 0; i < 3; i++)
        for (uint32_t dt = CK_DTYPE_F32; dt <= CK_DTYPE_F16; dt++) {
            ck_shape *s = push(cv, CK_OP_LINEAR, dt, lin_in[i]);
            s->T = 9, s->K = i == 0 ? 4096 : 300, s->N = 21;
        }
    /* one row of each kind of activation scale on the decode, the row and
     * the gemm paths; the same scales through quantize and dequantize */
    for (uint32_t dt = CK_DTYPE_Q8_0; dt <= CK_DTYPE_Q4_0; dt++) {
        for (size_t T = 1; T <= 20; T += T == 1 ? 2 : 17) {
            ck_shape *s = push(cv, CK_OP_LINEAR, dt, IN_QSCALES);
            s->T = T, s->K = 256, s->N = 21;
        }
        push(cv, CK_OP_QUANTIZE, dt, IN_QSCALES)->n = 24 * CK_QBLOCK;
        push(cv, CK_OP_DEQUANTIZE, dt, IN_QSCALES)->n = 24 * CK_QBLOCK;
    }
    /* long caches whose every key counts (the generated large rows of k
     * make a few keys take all the probability, hiding a wrong key at a
     * window's edge or a split's), with windows across splits: Gemma-2's
     * 4096 at 5000 keys, soft-capped; and a prefill of 130 rows, past a
     * flash kernel's first blocks of queries and keys */
    static const size_t dec[][5] = {
        {1, 1000, 2, 128, 300}, {3, 1000, 1, 64, 300}, {1, 5000, 8, 64, 4096}, {130, 130, 2, 64, 64}};
    for (size_t i = 0; i < 2 * (sizeof dec / sizeof dec[0]); i++) {
        const size_t *d = dec[i / 2];
        ck_shape *s = push(cv, CK_OP_ATTENTION, CK_DTYPE_F32, IN_EVEN);
        s->T = d[0], s->S = d[1], s->pos = d[1] - d[0], s->n_heads = 8, s->n_kv_heads = d[2], s->head_dim = d[3];
        s->causal = 1, s->window = i % 2 ? d[4] : 0, s->softcap = i % 2 && d[1] == 5000 ? 50.0f : 0.0f;
    }
    static const int att_in[] = {IN_FAR_SCORES, IN_TIED, IN_LOW_SCORES};
    for (size_t i = 0; i < 3; i++)
        for (int mat = 0; mat <= 1; mat++) {
            ck_shape *s = push(cv, CK_OP_ATTENTION, CK_DTYPE_F32, att_in[i]);
            s->T = 9, s->S = 9, s->n_heads = 4, s->n_kv_heads = 2, s->head_dim = 64, s->causal = 1;
            s->materialize = mat;
        }
    /* scores below exp's range on a decode row over a long cache (split
     * paths), too */
    ck_shape *low = push(cv, CK_OP_ATTENTION, CK_DTYPE_F32, IN_LOW_SCORES);
    low->T = 1, low->S = 1000, low->pos = 999, low->n_heads = 8, low->n_kv_heads = 2, low->head_dim = 128;
    low->causal = 1;
    /* act_down with a sparse activation input: its zeros make zeros of the
     * activation (0 for every kind), so the down projection sums a few terms
     * and its bound, pdot(K + 1) of their magnitudes, falls below what a
     * near neighbour of the activation errs by: fused, a gelu_erf in the
     * tanh form shows only here (about 1e-4 relative, within the bound of a
     * dense row of 72 terms). Two lengths of the projection, one row and six. */
    static const uint32_t acts[] = {CK_OP_GELU_ERF, CK_OP_QUICK_GELU, CK_OP_GELU, CK_OP_SWIGLU};
    for (uint32_t dt = CK_DTYPE_F32; dt <= CK_DTYPE_BF16; dt++)
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
            for (int big = 0; big <= 1; big++) {
                size_t T = big ? 6 : 1, F = big ? 200 : 72;
                ck_parity_shape *ps = ck_parity_push(cv->v, cv->n, cv->cap, CK_OP_ACT_DOWN, dt, "cover inputs");
                ps->inputs = IN_SPARSE;
                ps->members[0] = (ck_shape){.op = acts[a], .dtype = CK_DTYPE_F32, .n = T * F};
                ps->members[1] = (ck_shape){.op = CK_OP_LINEAR, .dtype = dt, .T = T, .K = F, .N = 24};
                ps->n_members = 2;
            }
    /* tables of another theta: a kernel must read them, not compute its own
     * angles; both pairings, a partial rotary dim, the fused qkv_rope */
    for (int pairing = CK_ROPE_NEOX; pairing <= CK_ROPE_GPTJ; pairing++) {
        ck_shape *s = push(cv, CK_OP_ROPE, CK_DTYPE_F32, IN_THETA);
        s->T = 5, s->n_heads = 4, s->n_kv_heads = 2, s->head_dim = 128, s->pos = 1000, s->max_pos = 1024;
        s->pairing = pairing, s->rotary_dim = pairing == CK_ROPE_GPTJ ? 64 : 0;
        ck_parity_shape *ps = ck_parity_push(cv->v, cv->n, cv->cap, CK_OP_QKV_ROPE, CK_DTYPE_F32, "cover inputs");
        ps->inputs = IN_THETA, ps->n_members = 2;
        ps->members[0] = (ck_shape){
            .op = CK_OP_QKV, .dtype = CK_DTYPE_F32, .T = 5, .D = 40, .n_heads = 4, .n_kv_heads = 2, .head_dim = 128};
        ps->members[1] = *s;
    }
    /* exact ops on signed zeros and subnormals: a kernel run under DAZ / FTZ
     * (set on entry and put back, which the host's state check cannot see)
     * reads or writes them as 0; rope's products of a subnormal and a
     * table value are subnormal too, and adam's m and g */
    for (int pairing = CK_ROPE_NEOX; pairing <= CK_ROPE_GPTJ; pairing++) {
        ck_shape *s = push(cv, CK_OP_ROPE, CK_DTYPE_F32, IN_ZEROS);
        s->T = 3, s->n_heads = 2, s->n_kv_heads = 1, s->head_dim = 64, s->pos = 5, s->max_pos = 8;
        s->pairing = pairing;
    }
    push(cv, CK_OP_ADAM, CK_DTYPE_F32, IN_ZEROS)->n = 67;
    /* tables of zeros and subnormals in each 16-bit dtype, and of zero and
     * subnormal block scales */
    for (uint32_t dt = CK_DTYPE_F32; dt <= CK_DTYPE_Q4_0; dt++) {
        ck_shape *s = push(cv, CK_OP_EMBEDDING, dt, dt >= CK_DTYPE_Q8_0 ? IN_QSCALES : IN_ZEROS);
        s->T = 9, s->vocab = 50, s->D = dt >= CK_DTYPE_Q8_0 ? 96 : 67;
    }
    /* token ids out of range (a tokenizer with more tokens than the table
     * has rows): the contract refuses them (docs/ops.md, embedding), the
     * reference declines, and a kernel must decline too, having checked
     * every id before writing a row: the bad id last, or negative (a check
     * of id >= vocab alone misses it) */
    for (uint32_t dt = CK_DTYPE_F32; dt <= CK_DTYPE_Q4_0; dt++)
        for (int in = IN_ID_PAST; in <= IN_ID_NEG; in++) {
            ck_shape *s = push(cv, CK_OP_EMBEDDING, dt, in);
            s->T = 9, s->vocab = 50, s->D = dt >= CK_DTYPE_Q8_0 ? 96 : 67;
            /* the fused embedding, the first op of every decoder, the same:
             * neither the residual row nor the norm written */
            ck_parity_shape *ps = ck_parity_push(cv->v, cv->n, cv->cap, CK_OP_EMBED_NORM, dt, "cover inputs");
            ps->inputs = in;
            ps->members[0] = *s;
            ps->members[1] = (ck_shape){.op = CK_OP_RMSNORM, .dtype = CK_DTYPE_F32, .T = s->T, .D = s->D, .eps = 1e-5f};
            ps->n_members = 2;
        }
    /* the same for the training ops that index by id: embedding_bwd's
     * scatter-add and cross_entropy's target logit (its loss alone too) */
    for (int in = IN_ID_PAST; in <= IN_ID_NEG; in++) {
        ck_shape *s = push(cv, CK_OP_EMBEDDING_BWD, CK_DTYPE_F32, in);
        s->T = 9, s->vocab = 50, s->D = 67;
        for (int loss_only = 0; loss_only <= 1; loss_only++) {
            s = push(cv, CK_OP_CROSS_ENTROPY, CK_DTYPE_F32, in);
            s->T = 9, s->vocab = 50, s->loss_only = loss_only;
        }
    }
    /* rope rows at the ends of the table: the first row only, and a block
     * ending on the last */
    for (int pairing = CK_ROPE_NEOX; pairing <= CK_ROPE_GPTJ; pairing++) {
        ck_shape *s = push(cv, CK_OP_ROPE, CK_DTYPE_F32, 0);
        s->T = 1, s->n_heads = 2, s->n_kv_heads = 1, s->head_dim = 128, s->pos = 0, s->max_pos = 1;
        s->pairing = pairing;
        s = push(cv, CK_OP_ROPE, CK_DTYPE_F32, 0);
        s->T = 7, s->n_heads = 2, s->n_kv_heads = 1, s->head_dim = 128, s->pos = 8185, s->max_pos = 8192;
        s->pairing = pairing;
    }
}

void ck_parity_cover(ck_parity_shape **v, size_t *n, size_t *cap)
{
    cover cv = {v, n, cap};
    cover_lengths(&cv);
    cover_inputs(&cv);
}

/* The generated contents of f32 input `name` and its element count. */
static float *input(ck_case *c, const char *name, size_t *n)
{
    const ck_case_buf *b = ck_case_find(c, name);
    if (!b || b->dtype != CK_DTYPE_F32) {
        *n = 0;
        return NULL;
    }
    *n = b->count;
    return ck_case_edit_input(c, name);
}

static void zeros_subnormals(float *x, size_t n)
{
    static const float v[] = {0.0f, -0.0f, 0x1p-149f, -0x1p-149f, 1e-40f, -3e-39f, FLT_MIN, -FLT_MIN};
    for (size_t i = 0; i < n; i++)
        if (i % 9 != 8) /* every ninth keeps its normal value */
            x[i] = v[i % 8];
}

static void exp_range(float *x, size_t n)
{
    static const float v[] = {-1e30f, -1e4f, -100.0f, -89.0f, -88.8f, -88.7f, -87.4f, -80.0f,
                              80.0f,  87.4f, 88.7f,   88.8f,  89.0f,  100.0f, 1e4f,   1e30f};
    for (size_t i = 0; i < n; i++)
        x[i] = v[i % 16];
}

/* Phi(x) = 1 - 2^-24 near 5.3, Phi(x) < FLT_MIN from -13.2 (where exp's
 * argument leaves the normal range), 2^-149 below -14, and small |x|, where
 * y = x / 2: each side of each edge, and of sqrt 2, gelu_erf's steepest. */
static void erf_tails(float *x, size_t n)
{
    static const float v[] = {-20.0f,      -14.1f, -13.3f, -13.1f, -12.0f, -9.5f, -7.0f, -5.3f,      -4.0f, -2.5f,
                              -1.4142135f, -0.75f, -1e-3f, -3e-8f, 3e-8f,  1e-3f, 0.75f, 1.4142135f, 2.5f,  4.0f,
                              5.2f,        5.4f,   6.0f,   9.5f,   13.1f,  13.3f, 16.5f, 20.0f};
    for (size_t i = 0; i < n; i++)
        x[i] = v[i % (sizeof v / sizeof v[0])];
}

/* Row by row: large equal values (sign alternating by row), or a large mean
 * with the generated values as a small spread. */
static void rows(float *x, size_t T, size_t D, int cancel)
{
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < D; i++)
            x[t * D + i] = cancel ? 1000.0f + 0.01f * x[t * D + i] : (t % 2 ? -30000.0f : 30000.0f);
}

/* Quantised scales (quant-scales): every third of n blocks of dtype gets
 * its f16 scale from a list of the values a hand-written conversion gets
 * wrong (zeros, subnormals) and the ends of the normal range... */
static void scale_blocks(unsigned char *w, size_t n, uint32_t dtype)
{
    static const uint16_t d[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x8123, 0x0400, 0x7bff, 0xfbff};
    const size_t block_bytes = ck_dtype_row_bytes(dtype, CK_QBLOCK);
    for (size_t b = 0; b < n; b += 3)
        memcpy(w + b * block_bytes, &d[(b / 3) % (sizeof d / sizeof d[0])], sizeof d[0]);
}

/* ... and rows of activations by turns as generated, scaled to 1e-5 (their
 * block scales subnormal in f16) and zero (scale 0). */
static void scale_rows(float *x, size_t rows, size_t len)
{
    for (size_t t = 0; t < rows; t++)
        for (size_t k = 0; k < len; k++)
            x[t * len + k] *= t % 3 == 0 ? 1.0f : t % 3 == 1 ? 1e-5f : 0.0f;
}

/* quantize: the f32 source's blocks as rows; dequantize: the blocks' scales */
static int quant_inputs(ck_case *c, int inputs)
{
    const ck_shape *s = ck_case_shape(c);
    const ck_case_buf *b = ck_case_find(c, "src");
    if (inputs != IN_QSCALES || !b || (s->dtype != CK_DTYPE_Q8_0 && s->dtype != CK_DTYPE_Q4_0))
        return -1;
    if (b->dtype == CK_DTYPE_F32)
        scale_rows(ck_case_edit_input(c, "src"), s->n / CK_QBLOCK, CK_QBLOCK);
    else
        scale_blocks(ck_case_edit_input(c, "src"), s->n / CK_QBLOCK, s->dtype);
    return 0;
}

/* Linear: x_k = -x_{k-1} and w[n][k] = w[n][k-1] for odd k, so pairs of
 * products cancel exactly; or one non-zero x per row; or quantised scales. */
static int linear_inputs(ck_case *c, int inputs)
{
    const ck_shape *s = ck_case_shape(c);
    size_t n;
    float *x = input(c, "x", &n);
    const ck_case_buf *wb = ck_case_find(c, "w");
    if (!x || !wb)
        return -1;
    unsigned char *w = ck_case_edit_input(c, "w");
    if (inputs == IN_QSCALES) {
        if (s->dtype != CK_DTYPE_Q8_0 && s->dtype != CK_DTYPE_Q4_0)
            return -1;
        scale_blocks(w, s->N * (s->K / CK_QBLOCK), s->dtype);
        scale_rows(x, s->T, s->K);
        return 0;
    }
    for (size_t t = 0; t < s->T; t++)
        for (size_t k = 0; k < s->K; k++) {
            float *xk = &x[t * s->K + k];
            if (inputs == IN_SPARSE)
                *xk = k == (t * 37) % s->K ? *xk : 0.0f;
            else if (inputs == IN_EQUAL_ROWS)
                *xk = t % 2 ? -30.0f : 30.0f;
            else if (k % 2)
                *xk = -xk[-1];
        }
    for (size_t r = 0; inputs == IN_CANCEL && r < s->N; r++)
        for (size_t k = 1; k < s->K; k += 2)
            memcpy(w + (r * s->K + k) * wb->elem_size, w + (r * s->K + k - 1) * wb->elem_size, wb->elem_size);
    return 0;
}

/* act_down, sparse: one activation input in 8 kept, offset by row, and
 * set to a value in [-3, 3] away from 0, where the gelus and their usual
 * approximations differ most; the rest 0. */
static int act_down_inputs(ck_case *c, int inputs)
{
    static const float v[] = {-3.0f, -2.5f, -2.0f, -1.5f, -1.0f, -0.75f, 0.75f, 1.0f, 1.5f, 2.0f, 2.5f, 3.0f};
    const ck_shape *down = ck_case_member(c, 1);
    size_t n, K = down ? down->K : 0;
    float *x = input(c, "act.x", &n);
    if (!x)
        x = input(c, "act.gate", &n);
    if (!x || inputs != IN_SPARSE || K == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t t = i / K, k = i % K;
        x[i] = (k + 5 * t) % 8 ? 0.0f : v[(k / 8 + t) % (sizeof v / sizeof v[0])];
    }
    return 0;
}

/* rope, qkv_rope: the tables again from theta 500000 over the same rows
 * and dims */
static int rope_inputs(ck_case *c, int inputs)
{
    const ck_shape *s = ck_case_member(c, 1) ? ck_case_member(c, 1) : ck_case_shape(c);
    const int fused = s != ck_case_shape(c);
    size_t n;
    if (inputs == IN_ZEROS && !fused) {
        float *q = input(c, "q", &n);
        if (!q)
            return -1;
        zeros_subnormals(q, n);
        float *k = input(c, "k", &n);
        if (k)
            zeros_subnormals(k, n);
        return 0;
    }
    float *cs = input(c, fused ? "rope.cos_tab" : "cos_tab", &n),
          *sn = input(c, fused ? "rope.sin_tab" : "sin_tab", &n);
    if (inputs != IN_THETA || !cs || !sn)
        return -1;
    ck_rope_tables(500000.0, s->rotary_dim ? s->rotary_dim : s->head_dim, s->max_pos, cs, sn);
    return 0;
}

/* Rows of n that the generator scaled up (case_buf.c: one in 16, by 32)
 * back to N(0, 1): their mean square is far above 1. */
static void unscale_large_rows(float *x, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (double)x[r * n + i] * x[r * n + i];
        for (size_t i = 0; ss > 16.0 * (double)n && i < n; i++)
            x[r * n + i] /= 32.0f;
    }
}

/* low-scores: every key the kv head's key 0, and each query row -1000 /
 * (scale |k0|^2) times k0, so each score is -1000: far below exp's range in
 * f32 and in double. Softmax is shift-invariant: the visible keys share the
 * probability equally and out is their values' mean, which only a kernel
 * that subtracts the row's own max (not 0, not a clamp) computes. */
static void low_scores(const ck_shape *s, float scale, float *q, float *k, size_t nk)
{
    const size_t hd = s->head_dim, row = s->n_kv_heads * hd, G = s->n_heads / s->n_kv_heads;
    for (size_t i = row; i < nk; i++)
        k[i] = k[i % row];
    for (size_t t = 0; t < s->T; t++)
        for (size_t h = 0; h < s->n_heads; h++) {
            const float *k0 = k + h / G * hd;
            double kk = 0;
            for (size_t d = 0; d < hd; d++)
                kk += (double)k0[d] * k0[d];
            for (size_t d = 0; d < hd; d++)
                q[(t * s->n_heads + h) * hd + d] = (float)(-1000.0 / ((double)scale * kk) * k0[d]);
        }
}

static int attention_inputs(ck_case *c, int inputs)
{
    const ck_shape *s = ck_case_shape(c);
    size_t n;
    float *q = input(c, "q", &n);
    if (!q)
        return -1;
    if (inputs == IN_LOW_SCORES) {
        float *k = input(c, "k", &n);
        if (!k || !n)
            return -1;
        low_scores(s, ((const ck_attention_args *)ck_case_args(c))->scale, q, k, n);
        return 0;
    }
    if (inputs == IN_FAR_SCORES) {
        for (size_t i = 0; i < n; i++)
            q[i] *= 50.0f;
        return 0;
    }
    const size_t nq = n;
    float *k = input(c, "k", &n);
    if (inputs == IN_EVEN) {
        unscale_large_rows(q, nq / s->head_dim, s->head_dim);
        if (k)
            unscale_large_rows(k, n / s->head_dim, s->head_dim);
        return 0;
    }
    size_t row = s->n_kv_heads * s->head_dim;
    for (size_t i = row; k && i < n; i++)
        k[i] = k[i % row];
    return 0;
}

/* Elementwise ops: each input (b NULL: one) gets the pattern. */
static int elementwise_inputs(ck_case *c, int inputs, const char *a, const char *b)
{
    const char *names[2] = {a, b};
    size_t n;
    float *x;
    for (int i = 0; i < 2 && names[i]; i++) {
        if (!(x = input(c, names[i], &n)))
            return -1;
        if (inputs == IN_ZEROS)
            zeros_subnormals(x, n);
        else if (inputs == IN_OVERFLOW)
            for (size_t j = 0; j < n; j++)
                x[j] = (j % 3 ? 1.0f : -1.0f) * (j % 2 ? FLT_MAX : 3e38f);
        else if (inputs == IN_ERF_TAILS)
            erf_tails(x, n);
        else
            exp_range(x, n);
    }
    return 0;
}

static int add_inputs(ck_case *c, int inputs)
{
    return elementwise_inputs(c, inputs, "a", "b");
}

static int swiglu_inputs(ck_case *c, int inputs)
{
    return elementwise_inputs(c, inputs, "gate", NULL);
}

static int gelu_inputs(ck_case *c, int inputs)
{
    return elementwise_inputs(c, inputs, "x", NULL);
}

/* embedding (and embed_norm's): a table of signed zeros, subnormals and the
 * ends of the normal range in its own dtype (f16 subnormals widen exactly,
 * docs/ops.md: a widening by shift and bias gets them wrong), every third
 * element kept; a quantised table's block scales as quant-scales'; ids out
 * of range */
static int embedding_inputs(ck_case *c, int inputs)
{
    static const uint16_t h16[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x8200, 0x0400, 0x7bff, 0xfbff};
    const ck_shape *s = ck_case_shape(c);
    const ck_case_buf *b = ck_case_find(c, ck_case_member(c, 0) ? "embed.table" : "table");
    if (!b)
        return -1;
    unsigned char *tab = ck_case_edit_input(c, b->name);
    int32_t *ids = ck_case_edit_input(c, ck_case_member(c, 0) ? "embed.ids" : "ids");
    if (ck_case_member(c, 0)) /* embed_norm: its embedding's shape and ids */
        s = ck_case_member(c, 0);
    if ((inputs == IN_ID_PAST || inputs == IN_ID_NEG) && ids && s->T > 0) {
        ids[inputs == IN_ID_PAST ? s->T - 1 : s->T / 2] = inputs == IN_ID_PAST ? (int32_t)s->vocab : -1;
        return 0;
    }
    if (inputs == IN_QSCALES && (s->dtype == CK_DTYPE_Q8_0 || s->dtype == CK_DTYPE_Q4_0)) {
        scale_blocks(tab, s->vocab * s->D / CK_QBLOCK, s->dtype);
        return 0;
    }
    if (inputs != IN_ZEROS)
        return -1;
    if (b->dtype == CK_DTYPE_F32) {
        zeros_subnormals((float *)tab, b->count);
        return 0;
    }
    if (b->dtype != CK_DTYPE_F16 && b->dtype != CK_DTYPE_BF16)
        return -1;
    for (size_t i = 0; i < b->count; i++) /* bf16: the same bits are its zeros, subnormals and ends */
        if (i % 3 != 2)
            memcpy(tab + 2 * i, &h16[i % 8], 2);
    return 0;
}

/* embedding_bwd's ids and cross_entropy's targets out of range: the
 * reference declines both (a scatter-add to the row past the table, a
 * logit past the row) */
static int ids_inputs(ck_case *c, int inputs)
{
    const ck_shape *s = ck_case_shape(c);
    int32_t *ids = ck_case_edit_input(c, s->op == CK_OP_CROSS_ENTROPY ? "targets" : "ids");
    if (!ids || s->T == 0 || (inputs != IN_ID_PAST && inputs != IN_ID_NEG))
        return -1;
    ids[inputs == IN_ID_PAST ? s->T - 1 : s->T / 2] = inputs == IN_ID_PAST ? (int32_t)s->vocab : -1;
    return 0;
}

/* adam: signed zeros and subnormals in the gradient and the first moment */
static int adam_inputs(ck_case *c, int inputs)
{
    return inputs == IN_ZEROS ? elementwise_inputs(c, inputs, "g", "m") : -1;
}

static int norm_inputs(ck_case *c, int inputs)
{
    const ck_shape *s = ck_case_shape(c);
    size_t n;
    float *x = input(c, "x", &n);
    if (!x)
        return -1;
    if (inputs == IN_ZEROS)
        zeros_subnormals(x, n);
    else
        rows(x, s->T, s->D, inputs == IN_CANCEL);
    return 0;
}

/* case_ops.def's inputs column: the op's special inputs, 0 for none. */
static int (*const special[CK_OP_COUNT])(ck_case *c, int inputs) = {
#define CK_CASE_OP(ID, build, rows, inplace, inputs, bounds) [CK_OP_##ID] = inputs,
#include "cases/case_ops.def"
#undef CK_CASE_OP
};

int ck_parity_apply_inputs(ck_case *c, int inputs, char *err, size_t err_len)
{
    uint32_t op = ck_case_shape(c)->op;
    if (op >= CK_OP_COUNT || !special[op] || special[op](c, inputs) != 0) {
        snprintf(err, err_len, "%s: no input for the '%s' pattern", ck_op_name(op), ck_parity_inputs_name(inputs));
        return -1;
    }
    ck_case_reset(c);
    return 0;
}
