/* ck_ir.h — the validated model description and its op graph, as the
 * planner and the tests see them. ck_model.h is the small public face
 * (load, name, op instances); this header opens the struct for the code in
 * ir/ that needs the dimensions. Schema and rules: docs/layout.md. */
#ifndef CK_IR_H
#define CK_IR_H

#include <stddef.h>
#include <stdint.h>

#include "ck_model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_MAX_SECTIONS 16
#define CK_SECTION_NAME_MAX 24 /* keeps "<section>.layer.<op>" labels within ck_shape.label */

typedef enum ck_section_kind { CK_SECTION_VISION_ENCODER = 0, CK_SECTION_DECODER = 1 } ck_section_kind;
typedef enum ck_norm_kind { CK_NORM_RMSNORM = 0, CK_NORM_LAYERNORM = 1 } ck_norm_kind;
/* gelu: the tanh form; gelu_erf: the exact x Phi(x); quick_gelu: x sigmoid(1.702 x) */
typedef enum ck_act_kind {
    CK_ACT_SWIGLU = 0,
    CK_ACT_GELU = 1,
    CK_ACT_GEGLU = 2,
    CK_ACT_GELU_ERF = 3,
    CK_ACT_QUICK_GELU = 4
} ck_act_kind;
typedef enum ck_pos_kind { CK_POS_ROPE = 0, CK_POS_LEARNED = 1 } ck_pos_kind;
typedef enum ck_bridge_kind { CK_BRIDGE_LINEAR = 0, CK_BRIDGE_MLP2X_GELU = 1 } ck_bridge_kind;
#define CK_ROLE_DTYPE_SLOTS 32 /* >= CK_ROLE_COUNT (checked in graph.c) */

typedef struct ck_section {
    char name[CK_SECTION_NAME_MAX + 1];
    ck_section_kind kind;
    size_t n_layers, d_model, n_heads, n_kv_heads, head_dim, d_ff, seq_len;
    size_t vocab;                            /* decoder only */
    size_t image_size, patch_size, channels; /* vision_encoder only */
    int class_token;                         /* vision_encoder: a learned CLS row before the patches */
    int patch_bias;                          /* vision_encoder: bias on the patch projection */
    int pre_norm;                            /* norm after the header's embedding (CLIP) */
    int final_norm;                          /* norm before the footer's projection */
    ck_norm_kind norm;
    float norm_eps;
    int norm_bias; /* layernorm beta */
    ck_act_kind activation;
    int qkv_bias, out_bias, mlp_bias;
    ck_pos_kind position;
    double rope_theta;
    int rope_pairing; /* CK_ROPE_NEOX / CK_ROPE_GPTJ */
    int causal;
    size_t sliding_window; /* 0: none; else W keys on the local layers (ck_section_layer_window) */
    double attn_softcap;   /* 0: none; else scores become cap * tanh(score / cap) (Gemma 2) */
    double final_softcap;  /* decoder, 0: none; else the logits, likewise */
    double attn_scalar;    /* attention scale 1 / sqrt(attn_scalar): query_pre_attn_scalar, default head_dim */
    size_t rotary_dim;     /* rope: the first rotary_dim values of each head rotate (= head_dim: all) */
    /* llama3 rope scaling of the inverse frequencies (factor 0: none) */
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    size_t rope_original_context;
    float *rope_freq_factors; /* [head_dim/2], owned by the model: a GGUF file's rope_freqs (NULL: none) */
    int tie_embeddings;       /* decoder: lm_head reads the embedding table */
    int qk_norm;              /* rmsnorm of each q and k head (own gammas [hd]) before rope (Qwen3) */
    int post_norms;           /* norms of the attention and MLP outputs before their residual adds */
    double rope_local_theta;  /* 0: none; else the theta of local layers (Gemma 3) ... */
    size_t global_every;      /* 0: every layer local; else every global_every-th (l + 1 a multiple) is
                               * global: rope_theta, no window; the others local */
    double embedding_scale;   /* decoder: the embedding's rows times this (0: none) */
    int has_bridge;
    size_t bridge_to; /* index of the section the bridge feeds */
    int bridge_bias;
    int bridge_type; /* ck_bridge_kind */
    /* per role (ck_role), the matrix-weight dtype when it differs from the
     * model's: set from a GGUF file's tensors (mixed dtypes), never from JSON */
    uint32_t role_dtype[CK_ROLE_DTYPE_SLOTS];
} ck_section;

struct ck_model {
    char name[64];
    uint32_t dtype;       /* matrix weights: linear, qkv, embedding tables */
    int dtypes_from_file; /* built from a GGUF file: its tensors' dtypes are the plan's */
    size_t n_sections;
    ck_section sections[CK_MAX_SECTIONS];
};

/* Parse a model from memory (the fuzzer's and the tests' entry); `path` is
 * only used to name the source in messages. */
ck_model *ck_model_parse(const char *text, size_t len, const char *path, char *err, size_t err_len);

/* ---- the op graph ---------------------------------------------------------- */

/* CK_PART_KV_CACHE: no nodes, only the decode plan's per-layer caches, after
 * the footer so that a window of layers pages weights, never the cache. */
typedef enum ck_part { CK_PART_HEADER = 0, CK_PART_LAYER = 1, CK_PART_FOOTER = 2, CK_PART_KV_CACHE = 3 } ck_part;

/* What a node does in its section; the planner emits buffers per role. */
typedef enum ck_role {
    CK_ROLE_PATCH_EMBED, /* linear over flattened patches */
    CK_ROLE_TOKEN_EMBED, /* embedding lookup */
    CK_ROLE_POS_ADD,     /* learned position embedding (+ class token row) */
    CK_ROLE_PRE_NORM,
    CK_ROLE_ATTN_NORM,
    CK_ROLE_QKV,
    CK_ROLE_ROPE,
    CK_ROLE_ATTENTION,
    CK_ROLE_OUT_PROJ,
    CK_ROLE_ATTN_RESIDUAL,
    CK_ROLE_MLP_NORM,
    CK_ROLE_MLP_GATE,
    CK_ROLE_MLP_UP,
    CK_ROLE_MLP_ACT,
    CK_ROLE_MLP_DOWN,
    CK_ROLE_MLP_RESIDUAL,
    CK_ROLE_FINAL_NORM,
    CK_ROLE_BRIDGE,
    CK_ROLE_LM_HEAD,
    CK_ROLE_Q_NORM, /* qk_norm: rmsnorm over each head's hd, after qkv, before rope */
    CK_ROLE_K_NORM,
    CK_ROLE_POST_ATTN_NORM, /* post_norms: a norm of out_proj's output before the residual add (Gemma 2 / 3) */
    CK_ROLE_POST_MLP_NORM,  /* and of mlp_down's */
    CK_ROLE_BRIDGE_ACT,     /* mlp2x_gelu bridge: gelu_erf after the first linear (bridge) ... */
    CK_ROLE_BRIDGE_OUT,     /* ... and the second linear */
    CK_ROLE_COUNT
} ck_role;

typedef struct ck_node {
    ck_part part;
    ck_role role;
    ck_shape shape; /* label "<section>.<part>.<role>" */
} ck_node;

#define CK_MAX_SECTION_NODES 32

const char *ck_role_name(ck_role r); /* "qkv", "mlp_gate" */
const char *ck_part_name(ck_part p); /* "header", "layer", "footer", "kv_cache" */
const char *ck_section_kind_name(ck_section_kind k);

/* Check graph options against a model: decode position inside the context,
 * a known weight dtype, quantised weights only where every row is a whole
 * number of blocks. 0 or -1 with one line in err. */
int ck_graph_opts_check(const ck_model *m, const ck_graph_opts *opts, char *err, size_t err_len);

/* The matrix-weight dtype the options select for this model. */
uint32_t ck_graph_weight_dtype(const ck_model *m, const ck_graph_opts *opts);

/* Rows a section processes under the options: decode runs decoder sections
 * one token at a time; encoders always run their whole sequence. */
size_t ck_section_rows(const ck_section *s, const ck_graph_opts *opts);

/* The nodes of section `sec` in execution order: header, one layer (the same
 * for every layer), footer. Returns the count (<= CK_MAX_SECTION_NODES). The
 * options must have passed ck_graph_opts_check. */
size_t ck_section_nodes(const ck_model *m, size_t sec, const ck_graph_opts *opts, ck_node *out);

/* 1 when layer l of the section is local (global_every: l + 1 not a
 * multiple of it; without global_every every layer is). */
int ck_section_layer_local(const ck_section *s, size_t layer);
/* The attention window of layer l: 0 (none) on global layers, without a
 * window, or where the window is at least seq_len and so masks nothing. */
size_t ck_section_layer_window(const ck_section *s, size_t layer);
/* The op of an ungated MLP's activation (gelu, gelu_erf, quick_gelu; a
 * gated kind gives gelu's), or its backward op: the one place the schema's
 * names meet the ops, for the graph and the trainer alike. */
uint32_t ck_unary_act_op(ck_act_kind act, int backward);

#ifdef __cplusplus
}
#endif
#endif /* CK_IR_H */
