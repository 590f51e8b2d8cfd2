/* ck_plugin.h — the one public header of ckernel's plugin ABI.
 *
 * A plugin is a shared object exporting one symbol, `ck_plugin_entry`, that
 * returns a `ck_plugin_desc`. The host checks `abi_version` and `struct_size`
 * before it reads anything else, then asks `probe` whether the plugin can run
 * on this CPU, then takes kernels from the table.
 *
 * Every kernel has the same C signature: it receives the host's execution
 * context and a pointer to the argument struct of its op (ck_<op>_args below).
 * Plugins never create threads: they split work with ctx->parallel_for.
 *
 * ABI version rule (docs/plugin.md §ABI): changing the layout or meaning of
 * anything already published bumps CK_ABI_VERSION. Appending does not: new op
 * ids and dtypes at the end of their enums (a host skips a kernel whose op or
 * dtype it does not know, names it in `ckbench list`, and loads the rest),
 * and new fields at the end of ck_plugin_desc or ck_kernel_desc (a host reads
 * the fields it knows of a larger descriptor, and refuses a smaller one).
 *
 * C11, no dependencies beyond the C standard headers.
 */
#ifndef CK_PLUGIN_H
#define CK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CK_ABI_VERSION 1u

#ifdef __cplusplus
#define CK_STATIC_ASSERT static_assert
#else
#define CK_STATIC_ASSERT _Static_assert
#endif
#define CK_PLUGIN_ENTRY_SYMBOL "ck_plugin_entry"

#if defined(__GNUC__)
#define CK_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define CK_PLUGIN_EXPORT
#endif

/* ---- data types ------------------------------------------------------- */

typedef enum ck_dtype {
    CK_DTYPE_NONE = 0,
    CK_DTYPE_F32 = 1,
    CK_DTYPE_BF16 = 2,
    CK_DTYPE_F16 = 3,
    CK_DTYPE_Q8_0 = 4, /* GGUF: 32 values per block, f16 scale + 32 x int8   */
    CK_DTYPE_Q4_0 = 5, /* GGUF: 32 values per block, f16 scale + 16 B nibbles */
    CK_DTYPE_I32 = 6,
    CK_DTYPE_COUNT
} ck_dtype;

#define CK_QBLOCK 32 /* values per quantised block (q8_0, q4_0) */

typedef struct ck_block_q8_0 {
    uint16_t d; /* f16 scale */
    int8_t qs[CK_QBLOCK];
} ck_block_q8_0;
CK_STATIC_ASSERT(sizeof(ck_block_q8_0) == 34, "q8_0 blocks are 34 bytes, as GGUF stores them");

typedef struct ck_block_q4_0 {
    uint16_t d;                /* f16 scale */
    uint8_t qs[CK_QBLOCK / 2]; /* low nibble: elements 0..15, high: 16..31 */
} ck_block_q4_0;
CK_STATIC_ASSERT(sizeof(ck_block_q4_0) == 18, "q4_0 blocks are 18 bytes, as GGUF stores them");

/* ---- ops ---------------------------------------------------------------- */

typedef enum ck_op {
    CK_OP_NONE = 0,
    CK_OP_RMSNORM = 1,
    CK_OP_LAYERNORM = 2,
    CK_OP_LINEAR = 3,
    CK_OP_QKV = 4,
    CK_OP_ROPE = 5,
    CK_OP_ATTENTION = 6,
    CK_OP_SWIGLU = 7,
    CK_OP_GELU = 8,
    CK_OP_ADD = 9,
    CK_OP_EMBEDDING = 10,
    CK_OP_ADAM = 11,
    CK_OP_QUANTIZE = 12,
    CK_OP_DEQUANTIZE = 13,
    /* backward (training) ops: ck_*_bwd_args below */
    CK_OP_RMSNORM_BWD = 14,
    CK_OP_LAYERNORM_BWD = 15,
    CK_OP_LINEAR_BWD = 16,
    CK_OP_QKV_BWD = 17,
    CK_OP_ROPE_BWD = 18, /* ck_rope_args: the inverse rotation, in place on dq, dk */
    CK_OP_ATTENTION_BWD = 19,
    CK_OP_SWIGLU_BWD = 20,
    CK_OP_GELU_BWD = 21,
    CK_OP_EMBEDDING_BWD = 22,
    CK_OP_CROSS_ENTROPY = 23, /* loss and its gradient over the vocabulary */
    /* fused ops (the fusion pass, docs/fusion.md): ck_fused_*_args below */
    CK_OP_EMBED_NORM = 24,
    CK_OP_NORM_QKV = 25,
    CK_OP_QKV_ROPE = 26,
    CK_OP_ATTN_PROJ = 27,
    CK_OP_NORM_MLP = 28,
    CK_OP_GATE_UP = 29,
    CK_OP_ACT_DOWN = 30,
    CK_OP_ADD_NORM = 31,
    CK_OP_GEGLU = 32,          /* y = gelu_tanh(gate) * up, ck_swiglu_args (Gemma) */
    CK_OP_GEGLU_BWD = 33,      /* geglu's gradients, ck_swiglu_bwd_args */
    CK_OP_GELU_ERF = 34,       /* y = x Phi(x), the exact (erf) gelu, ck_unary_args (CLIP-style projectors) */
    CK_OP_QUICK_GELU = 35,     /* y = x sigmoid(1.702 x), ck_unary_args (CLIP's vision tower) */
    CK_OP_GELU_ERF_BWD = 36,   /* gelu_erf's gradient, ck_unary_bwd_args */
    CK_OP_QUICK_GELU_BWD = 37, /* quick_gelu's gradient, ck_unary_bwd_args */
    CK_OP_COUNT                /* append new ops above this line, never renumber */
} ck_op;

/* Kernel flags (ck_kernel_desc.flags). */
enum {
    CK_KF_INPLACE = 1u << 0, /* output may alias its first input */
    CK_KF_FUSED = 1u << 1,   /* a fused kernel (see the fusion pass) */
    /* linear / qkv with "compute bf16" semantics (docs/ops.md): x rounded
     * to bf16, exact bf16 x bf16 products, f32 accumulation. Chosen only
     * when a run asks for it (--compute bf16). */
    CK_KF_COMPUTE_BF16 = 1u << 2,
    /* Capability flags: what a kernel honours, not a variant to ask for.
     * A host looks kernels up without them and hands arguments that use the
     * feature only to a kernel that carries its flag (else to the scalar
     * reference), so a kernel that never reads the field is never given it.
     * ATTN_WINDOW_SOFTCAP: ck_attention_args.window and .softcap, in every
     * path of an attention kernel or a fused kernel containing attention;
     * ck_attention_bwd_args.window and .softcap in an attention_bwd kernel.
     * ROPE_PARTIAL: ck_rope_args.rotary_dim (rope, rope_bwd, qkv_rope).
     * ACT_DOWN_UNARY: an act_down kernel honours act_kind
     * CK_ACTIVATION_GELU_ERF and CK_ACTIVATION_QUICK_GELU (one built before
     * them would take any kind but swiglu for tanh gelu). */
    CK_KF_ATTN_WINDOW_SOFTCAP = 1u << 3,
    CK_KF_ROPE_PARTIAL = 1u << 4,
    CK_KF_ACT_DOWN_UNARY = 1u << 5,
};

/* ---- execution context (owned by the host) ------------------------------ */

struct ck_exec_ctx;

/* Body of a parallel loop: handles items [begin, end) on thread `tid`. */
typedef void (*ck_range_fn)(void *arg, size_t begin, size_t end, int tid);

#define CK_SCRATCH_SHARED (-1)

typedef struct ck_exec_ctx {
    uint32_t struct_size; /* sizeof(ck_exec_ctx) as the host built it */
    int n_threads;        /* >= 1; tids run from 0 to n_threads - 1 */
    /* Split [0, n) into chunks of at least `grain` items and run `fn` over
     * them on the host's threads; returns when all are done. The caller's
     * thread takes part as one of the tids. Not re-entrant from inside fn. */
    void (*parallel_for)(const struct ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg);
    /* A 64-byte aligned scratch buffer of at least `bytes`, private to thread
     * `tid` (or shared by the whole kernel with CK_SCRATCH_SHARED), valid
     * until the kernel returns. NULL if the host cannot provide it. */
    void *(*scratch)(const struct ck_exec_ctx *ctx, int tid, size_t bytes);
    void *host; /* opaque to plugins */
} ck_exec_ctx;

/* Kernel status: 0 on success; CK_E_UNSUPPORTED when this kernel does not
 * handle these arguments (the host then says so, it is not a crash). */
enum { CK_OK = 0, CK_E_UNSUPPORTED = 1, CK_E_NOMEM = 2 };

typedef int (*ck_kernel_fn)(const ck_exec_ctx *ctx, const void *args);

/* One entry of a plugin's kernel table. Fields may be appended (ABI rule
 * above); the table's stride is ck_plugin_desc.kernel_size, so a host walks
 * a table of larger entries correctly. The size lives in the plugin
 * description rather than in each entry because the stride must be known
 * before the second entry can be found. */
typedef struct ck_kernel_desc {
    uint32_t op;      /* ck_op */
    uint32_t dtype;   /* weight dtype for linear/qkv/embedding/quantize ops, else F32 */
    uint32_t flags;   /* CK_KF_* */
    const char *name; /* "f32-rmsnorm/avx512": op, type, ISA */
    ck_kernel_fn fn;
} ck_kernel_desc;

typedef struct ck_plugin_desc {
    uint32_t abi_version; /* CK_ABI_VERSION */
    uint32_t struct_size; /* sizeof(ck_plugin_desc) */
    const char *name;     /* short name: "scalar", "avx512" */
    const char *version;
    const char *description; /* one line */
    /* 1 if the plugin can run on this CPU; else 0 and a reason in `why`
     * (e.g. "needs avx512bw"). NULL means always runnable. */
    int (*probe)(char *why, size_t why_size);
    const ck_kernel_desc *kernels;
    uint32_t n_kernels;
    int (*init)(void);  /* optional; non-zero refuses the plugin */
    void (*fini)(void); /* optional */
    /* sizeof(ck_kernel_desc) as the plugin was built: the kernel table's
     * stride. Required (non-zero) from this field on; a plugin built before
     * the field existed has a smaller struct_size and the original layout. */
    uint32_t kernel_size;
    /* CK_ARGS_REVISION as the plugin was built. Revision 2 grew
     * ck_attention_args (window, softcap), which moved ck_fused_attn_proj_args
     * .proj: a host skips the ATTN_PROJ kernels of a plugin whose description
     * predates this field or says less than 2, and loads the rest. */
    uint32_t args_revision;
} ck_plugin_desc;

/* The revision of the argument structs' layout within CK_ABI_VERSION:
 * 1 before the field existed, 2 from ck_attention_args.window/softcap. */
#define CK_ARGS_REVISION 2u

/* The smallest descriptions a host accepts: those of the first ABI v1
 * header (before kernel_size), whose kernel entries were the five fields. */
#define CK_PLUGIN_DESC_V1_SIZE ((uint32_t)offsetof(ck_plugin_desc, kernel_size))
#define CK_KERNEL_DESC_V1_SIZE ((uint32_t)(offsetof(ck_kernel_desc, fn) + sizeof(ck_kernel_fn)))

typedef const ck_plugin_desc *(*ck_plugin_entry_fn)(void);

/* ---- op arguments ------------------------------------------------------- */
/* Row-major everywhere. Activations are f32 [T, D]. Linear weights are
 * [N, K] (rows contiguous along the reduction dim, as GGUF stores them) in
 * the dtype of the kernel. Norm gammas/betas, biases and rope tables are f32.
 * Exact semantics, edge cases and parity classes: docs/ops.md. */

typedef struct ck_norm_args { /* CK_OP_RMSNORM, CK_OP_LAYERNORM */
    const float *x;           /* [T, D] */
    float *y;                 /* [T, D]; may alias x */
    const float *gamma;       /* [D] */
    const float *beta;        /* [D] or NULL (layernorm only) */
    size_t T, D;
    float eps;
} ck_norm_args;

typedef struct ck_linear_args { /* CK_OP_LINEAR: y = x . W^T (+ b) */
    const float *x;             /* [T, K] */
    const void *w;              /* [N, K] in dtype; q8_0/q4_0: N rows of K/32 blocks */
    const float *bias;          /* [N] or NULL */
    float *y;                   /* [T, N] */
    size_t T, K, N;
    uint32_t w_dtype;
} ck_linear_args;

typedef struct ck_qkv_args {   /* CK_OP_QKV: three projections of a layer */
    const float *x;            /* [T, D] */
    const void *wq, *wk, *wv;  /* [H*hd, D], [Hkv*hd, D], [Hkv*hd, D] */
    const float *bq, *bk, *bv; /* biases or NULL */
    float *q, *k, *v;          /* [T, H, hd], [T, Hkv, hd], [T, Hkv, hd] */
    size_t T, D, n_heads, n_kv_heads, head_dim;
    uint32_t w_dtype;
} ck_qkv_args;

enum { CK_ROPE_NEOX = 0, CK_ROPE_GPTJ = 1 };

typedef struct ck_rope_args {       /* CK_OP_ROPE, in place on q and k */
    float *q;                       /* [T, H, hd] */
    float *k;                       /* [T, Hkv, hd] (may be NULL) */
    const float *cos_tab, *sin_tab; /* [max_pos, rotary_dim/2] */
    size_t T, n_heads, n_kv_heads, head_dim;
    size_t pos_offset; /* position of row 0 */
    size_t max_pos;    /* rows in the tables */
    uint32_t pairing;  /* CK_ROPE_NEOX or CK_ROPE_GPTJ */
    /* 0 means head_dim. Else even, 2 <= rotary_dim <= head_dim: rotate the
     * first rotary_dim dims of each head with tables [max_pos, rotary_dim/2];
     * dims rotary_dim..head_dim-1 pass through unchanged (CK_KF_ROPE_PARTIAL) */
    size_t rotary_dim;
} ck_rope_args;

typedef struct ck_attention_args { /* CK_OP_ATTENTION */
    const float *q;                /* [T, H, hd] */
    const float *k, *v;            /* [S, Hkv, hd] (a KV cache holds >= S rows) */
    float *out;                    /* [T, H, hd] */
    float *scores;                 /* [H, T, S] or NULL (streaming variant) */
    float *probs;                  /* [H, T, S] or NULL */
    size_t T, S, n_heads, n_kv_heads, head_dim;
    size_t q_pos; /* position of query row 0; causal: row t sees keys <= q_pos + t */
    int causal;
    float scale; /* 1/sqrt(head_dim) unless a model says otherwise */
    /* 0: none. Else (causal only) query row t, at position p = q_pos + t,
     * sees keys j with p - window < j <= p (CK_KF_ATTN_WINDOW_SOFTCAP) */
    size_t window;
    /* 0: none. Else each score s = (q . k) * scale becomes
     * softcap * tanh(s / softcap), before the mask and the softmax */
    float softcap;
} ck_attention_args;

typedef struct ck_swiglu_args { /* CK_OP_SWIGLU: y = silu(gate) * up; CK_OP_GEGLU: gelu(gate) * up */
    const float *gate, *up;
    float *y; /* may alias gate */
    size_t n;
} ck_swiglu_args;

typedef struct ck_unary_args { /* CK_OP_GELU (tanh form), CK_OP_GELU_ERF, CK_OP_QUICK_GELU */
    const float *x;
    float *y; /* may alias x */
    size_t n;
} ck_unary_args;

typedef struct ck_add_args { /* CK_OP_ADD: y = a + b */
    const float *a, *b;
    float *y; /* may alias a */
    size_t n;
} ck_add_args;

typedef struct ck_embedding_args { /* CK_OP_EMBEDDING: y[t] = table[ids[t]] */
    const int32_t *ids;            /* [T], each in [0, vocab) */
    const void *table;             /* [vocab, D] in dtype */
    float *y;                      /* [T, D] */
    size_t T, vocab, D;
    uint32_t dtype;
} ck_embedding_args;

typedef struct ck_adam_args { /* CK_OP_ADAM: AdamW step, in place */
    float *w, *m, *v;
    const float *g;
    size_t n;
    float lr, beta1, beta2, eps, weight_decay;
    uint32_t step;  /* 1-based */
    float bc1, bc2; /* 1 - beta1^step, 1 - beta2^step, computed by the host */
} ck_adam_args;

typedef struct ck_quant_args { /* CK_OP_QUANTIZE / CK_OP_DEQUANTIZE */
    const void *src;           /* quantize: f32 [n]; dequantize: blocks */
    void *dst;                 /* quantize: blocks; dequantize: f32 [n] */
    size_t n;                  /* a multiple of CK_QBLOCK */
    uint32_t dtype;            /* CK_DTYPE_Q8_0 or CK_DTYPE_Q4_0 */
} ck_quant_args;

/* ---- backward op arguments -------------------------------------------- */
/* Gradients of activations and of weights are written (=), never
 * accumulated, except ck_embedding_bwd_args.dtable (scatter-add). Any
 * gradient pointer may be NULL when it is not wanted. Weights are f32 in
 * training. The gradient of add is the identity: the host reuses dy. */

typedef struct ck_norm_bwd_args { /* CK_OP_RMSNORM_BWD, CK_OP_LAYERNORM_BWD */
    const float *x, *gamma, *dy;  /* [T, D], [D], [T, D] */
    float *dx;                    /* [T, D] */
    float *dgamma, *dbeta;        /* [D]; dbeta layernorm only */
    size_t T, D;
    float eps;
} ck_norm_bwd_args;

typedef struct ck_linear_bwd_args { /* CK_OP_LINEAR_BWD */
    const float *x;                 /* [T, K] */
    const float *w;                 /* [N, K] */
    const float *dy;                /* [T, N] */
    float *dx;                      /* [T, K] = dy . W */
    float *dw;                      /* [N, K] = dy^T . x */
    float *db;                      /* [N]    = sum_t dy */
    size_t T, K, N;
} ck_linear_bwd_args;

typedef struct ck_qkv_bwd_args { /* CK_OP_QKV_BWD */
    const float *x;              /* [T, D] */
    const float *wq, *wk, *wv;
    const float *dq, *dk, *dv; /* [T, H, hd], [T, Hkv, hd], [T, Hkv, hd] */
    float *dx;                 /* [T, D]: sum of the three projections' dx */
    float *dwq, *dwk, *dwv;
    float *dbq, *dbk, *dbv;
    size_t T, D, n_heads, n_kv_heads, head_dim;
} ck_qkv_bwd_args;

typedef struct ck_attention_bwd_args { /* CK_OP_ATTENTION_BWD */
    const float *q, *k, *v;            /* as in the forward */
    const float *dout;                 /* [T, H, hd] */
    const float *probs;                /* [H, T, S] from a materialising forward, or NULL: recompute */
    float *dq;                         /* [T, H, hd] */
    float *dk, *dv;                    /* [S, Hkv, hd]: summed over the heads sharing a kv head */
    size_t T, S, n_heads, n_kv_heads, head_dim, q_pos;
    int causal;
    float scale;
    /* Appended (CK_ARGS_REVISION 2, CK_KF_ATTN_WINDOW_SOFTCAP): as in
     * ck_attention_args; with a softcap the derivative of the capped score,
     * 1 - tanh^2(s / softcap), scales dS, so `probs` alone is not enough and
     * the kernel recomputes the raw scores. */
    size_t window;
    float softcap;
} ck_attention_bwd_args;

typedef struct ck_swiglu_bwd_args { /* CK_OP_SWIGLU_BWD, CK_OP_GEGLU_BWD */
    const float *gate, *up, *dy;
    float *dgate, *dup;
    size_t n;
} ck_swiglu_bwd_args;

typedef struct ck_unary_bwd_args { /* CK_OP_GELU_BWD, CK_OP_GELU_ERF_BWD, CK_OP_QUICK_GELU_BWD */
    const float *x, *dy;
    float *dx;
    size_t n;
} ck_unary_bwd_args;

typedef struct ck_embedding_bwd_args { /* CK_OP_EMBEDDING_BWD: dtable[ids[t]] += dy[t], t in order */
    const int32_t *ids;
    const float *dy; /* [T, D] */
    float *dtable;   /* [vocab, D], accumulated */
    size_t T, vocab, D;
} ck_embedding_bwd_args;

typedef struct ck_cross_entropy_args { /* CK_OP_CROSS_ENTROPY */
    const float *logits;               /* [T, V] */
    const int32_t *targets;            /* [T], each in [0, V) */
    float *loss;                       /* [1]: mean over T of -log softmax(logits)[target] */
    float *dlogits;                    /* [T, V] = (softmax - onehot) / T, or NULL */
    size_t T, V;
} ck_cross_entropy_args;

/* ---- fused op arguments ----------------------------------------------- */
/* A fused op is the sequence of its members' ops, each described by its own
 * argument struct exactly as the unfused graph would run it. Where one
 * member's output is the next member's input (norm.y == qkv.x, ...), that
 * intermediate buffer stays planned but a fused kernel MAY leave it
 * unwritten: only the final outputs (and those marked "written" below) are
 * defined afterwards. The kernel's dtype is the weight dtype of its linears
 * (F32 for add_norm). Semantics: equal to running the members in order. */

enum { CK_NORM_RMS = 0, CK_NORM_LAYER = 1 };
/* act_down's activation. GELU is the tanh form (CK_OP_GELU), GELU_ERF
 * CK_OP_GELU_ERF, QUICK_GELU CK_OP_QUICK_GELU; the last two only for a kernel
 * with CK_KF_ACT_DOWN_UNARY. */
enum { CK_ACTIVATION_SWIGLU = 0, CK_ACTIVATION_GELU = 1, CK_ACTIVATION_GELU_ERF = 2, CK_ACTIVATION_QUICK_GELU = 3 };

typedef struct ck_fused_embed_norm_args { /* CK_OP_EMBED_NORM */
    ck_embedding_args embed;              /* embed.y (the residual stream) is written */
    ck_norm_args norm;                    /* norm.x == embed.y */
    uint32_t norm_kind;
} ck_fused_embed_norm_args;

typedef struct ck_fused_norm_qkv_args { /* CK_OP_NORM_QKV */
    ck_norm_args norm;
    ck_qkv_args qkv; /* qkv.x == norm.y (may stay unwritten) */
    uint32_t norm_kind;
} ck_fused_norm_qkv_args;

/* ck_rope_args is the last member here, so appending to it moved nothing;
 * ck_attention_args is the first member of ck_fused_attn_proj_args, so
 * growing it moved .proj (CK_ARGS_REVISION 2). */
typedef struct ck_fused_qkv_rope_args { /* CK_OP_QKV_ROPE */
    ck_qkv_args qkv;
    ck_rope_args rope; /* rope.q == qkv.q, rope.k == qkv.k: written rotated */
} ck_fused_qkv_rope_args;

typedef struct ck_fused_attn_proj_args { /* CK_OP_ATTN_PROJ */
    ck_attention_args attn;              /* streaming: scores/probs NULL */
    ck_linear_args proj;                 /* proj.x == attn.out (may stay unwritten) */
} ck_fused_attn_proj_args;

typedef struct ck_fused_norm_mlp_args { /* CK_OP_NORM_MLP: norm, then the MLP's input projections */
    ck_norm_args norm;
    ck_linear_args gate; /* gate.x == norm.y; gate.w NULL for a GELU MLP */
    ck_linear_args up;   /* up.x == norm.y */
    uint32_t norm_kind;
} ck_fused_norm_mlp_args;

typedef struct ck_fused_gate_up_args { /* CK_OP_GATE_UP: silu(x.Wg^T) * (x.Wu^T) */
    ck_linear_args gate, up;           /* same x; gate.y, up.y may stay unwritten */
    ck_swiglu_args act;                /* act.gate == gate.y, act.up == up.y */
} ck_fused_gate_up_args;

typedef struct ck_fused_act_down_args { /* CK_OP_ACT_DOWN: activation, then the down projection */
    uint32_t act_kind;                  /* CK_ACTIVATION_*: which member below is used */
    ck_swiglu_args swiglu;              /* act_kind SWIGLU */
    ck_unary_args gelu;                 /* every other act_kind: GELU (tanh), GELU_ERF, QUICK_GELU */
    ck_linear_args down;                /* down.x == the activation's y (may stay unwritten) */
} ck_fused_act_down_args;

typedef struct ck_fused_add_norm_args { /* CK_OP_ADD_NORM: residual add, then norm */
    ck_add_args add;                    /* add.y (the new residual) is written */
    ck_norm_args norm;                  /* norm.x == add.y */
    uint32_t norm_kind;
} ck_fused_add_norm_args;

/* ---- shared numeric helpers (one definition for every plugin) ----------- */

static inline float ck_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round to nearest, ties to even; NaN stays a (quiet) NaN. */
static inline uint16_t ck_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* IEEE binary16 -> f32, exact (every f16 is an f32). */
static inline float ck_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        u = sign;
    } else { /* subnormal: normalise */
        exp = 113;
        while (!(man & 0x400u)) {
            man <<= 1;
            exp--;
        }
        u = sign | (exp << 23) | ((man & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* f32 -> IEEE binary16, round to nearest even, overflow to inf. */
static inline uint16_t ck_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t absu = u & 0x7fffffffu;
    if (absu > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if (absu >= 0x47800000u) /* >= 65536: inf (also rounds-to-inf cases below) */
        return (uint16_t)(sign | 0x7c00u);
    if (absu < 0x33000000u) /* < 2^-25: rounds to zero */
        return (uint16_t)sign;
    uint32_t exp = absu >> 23;
    uint32_t man = (absu & 0x7fffffu) | 0x800000u;
    int shift; /* bits to drop from the 24-bit significand */
    uint32_t hexp;
    if (exp < 113) { /* f16 subnormal */
        shift = (int)(126 - exp);
        hexp = 0;
    } else {
        shift = 13;
        hexp = exp - 112;
    }
    uint32_t keep = man >> shift;
    uint32_t rest = man & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (keep & 1u)))
        keep++;
    uint32_t h;
    if (hexp == 0)
        h = keep; /* may carry into the smallest normal: still correct */
    else
        h = (hexp << 10) + (keep - 0x400u); /* carry may reach inf: correct */
    if (h >= 0x7c00u)
        h = 0x7c00u;
    return (uint16_t)(sign | h);
}

/* Bytes of `n` elements of `dtype` (n a multiple of CK_QBLOCK for quantised
 * types); 0 for an unknown dtype. No overflow check: the host checks sizes. */
static inline size_t ck_dtype_row_bytes(uint32_t dtype, size_t n)
{
    switch (dtype) {
    case CK_DTYPE_F32: return n * 4;
    case CK_DTYPE_I32: return n * 4;
    case CK_DTYPE_BF16: return n * 2;
    case CK_DTYPE_F16: return n * 2;
    case CK_DTYPE_Q8_0: return n / CK_QBLOCK * sizeof(ck_block_q8_0);
    case CK_DTYPE_Q4_0: return n / CK_QBLOCK * sizeof(ck_block_q4_0);
    default: return 0;
    }
}

#ifdef __cplusplus
}
#endif
#endif /* CK_PLUGIN_H */
