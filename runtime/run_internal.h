/* run_internal.h — what the files of the whole-model executor share: a
 * bound step, a fused unit, the runner itself, and the functions one file
 * calls in another. Only runtime/run*.c include it. */
#ifndef CK_RUN_INTERNAL_H
#define CK_RUN_INTERNAL_H

#include "ck_fusion.h"
#include "ck_gguf.h"
#include "ck_run.h"
#include "ck_share.h"

typedef union any_args {
    ck_norm_args norm;
    ck_linear_args linear;
    ck_qkv_args qkv;
    ck_rope_args rope;
    ck_attention_args attn;
    ck_swiglu_args swiglu;
    ck_unary_args unary;
    ck_add_args add;
    ck_embedding_args emb;
} any_args;

typedef enum pre_action { PRE_NONE = 0, PRE_CLASS_ROWS, POST_SPLICE, PRE_APPEND_KV } pre_action;

typedef struct step {
    ck_run_step pub;
    any_args args;
    const ck_kernel_desc *kernel;
    pre_action action;
    const float *class_token; /* PRE_CLASS_ROWS: out = [class_token; patches] */
    const float *patches;
    size_t rows, width;
    const float *splice_src;    /* POST_SPLICE: copy src rows into the embedding output */
    const float *new_k, *new_v; /* PRE_APPEND_KV: this token's k, v (rotated) ... */
    float *cache_k, *cache_v;   /* ... copied to row `pos` of the layer's cache */
    size_t kv_row;              /* floats per cache row: Hkv * hd */
    size_t splice_rows;
    float emb_scale;      /* embedding: rows times this after the kernel, before a splice (0: none) */
    double final_softcap; /* lm_head: logits become cap * tanh(logit / cap) after the kernel (0: none) */
} step;

typedef union fused_args {
    ck_fused_embed_norm_args embed_norm;
    ck_fused_norm_qkv_args norm_qkv;
    ck_fused_qkv_rope_args qkv_rope;
    ck_fused_attn_proj_args attn_proj;
    ck_fused_norm_mlp_args norm_mlp;
    ck_fused_gate_up_args gate_up;
    ck_fused_act_down_args act_down;
    ck_fused_add_norm_args add_norm;
} fused_args;

/* What runs: one bound step, or a fused group of consecutive steps. */
typedef struct unit {
    ck_run_step pub;
    size_t first, count;
    int fusion;                   /* ck_fusion, or -1 */
    size_t slot;                  /* ck_share_slot of its part */
    const ck_kernel_desc *kernel; /* fused groups */
    fused_args args;
} unit;

struct ck_runner {
    const ck_model *model; /* &own_model */
    ck_model own_model;    /* the caller's, with layers capped by opts.max_layers */
    ck_plan *plan;
    ck_arena arena;
    const ck_plugin *plugin, *scalar; /* plugin: the chain's first */
    const ck_plugin *chain[CK_CHAIN_MAX];
    size_t n_chain;
    ck_run_opts opts;
    step *steps;
    size_t n_steps;
    unit *units;
    size_t n_units;
    uint32_t fused_applied[CK_FUSE_COUNT];
    size_t bytes_saved;
    const float *output;
    size_t output_count;
    ck_exec_ctx *seed_ctx; /* one thread, for the reference quantiser while seeding */
    ck_gguf gguf;          /* when weights come from a file */
    int have_gguf;
    unsigned char *resident; /* per section and layer, when windowing */
    size_t layer_index[CK_MAX_SECTIONS];
    size_t host_restores;            /* kernel calls after which the host state was put back */
    const char *host_restore_kernel; /* the first such kernel's name */
    ck_share *share;                 /* opts.share_name: the arena is a shared mapping */
    ck_share_header *share_h;
    double paging_ns; /* windowed runs: faulting in, seeding and releasing layers */
};


/* Run kernel k through ck_kernel_call_restoring, counting a restore. */
int run_call(ck_runner *r, const ck_kernel_desc *k, const ck_exec_ctx *ctx, const void *args);

/* One line into err; returns -1. */
int run_failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The planned buffer of that layout.json name, or NULL. */
const ck_buffer *run_find_buffer(const ck_runner *r, const char *name);

/* run_bind.c: the one place a kernel is chosen, for the forward here and
 * for the loss, backward and Adam ops of a trainer over this runner
 * (train_bind.c) — the first plugin of the chain that has (op, dtype, flags)
 * and honours the capabilities args need (ck_kernel_honours), else scalar's;
 * *by names the plugin and *fallback says it was scalar standing in. NULL if
 * none has one. */
const ck_kernel_desc *run_pick_kernel(const ck_runner *r, uint32_t op, uint32_t dtype, uint32_t flags, const void *args,
                                      const char **by, int *fallback);
/* run_bind.c: every node of every section bound to its buffers and kernel. */
int run_bind_all(ck_runner *r, char *err, size_t len);
/* 1: section si does not run (the encoders in a decode step). */
int run_skipped_section(const ck_runner *r, size_t si);
/* run_fuse.c: bound steps grouped into units, fused where the plugin can. */
int run_group_units(ck_runner *r, char *err, size_t len);
/* Every unit's arguments against the op's rules (ck_op_check_args): 0, or -1 with err. */
int run_check_units(const ck_runner *r, char *err, size_t len);
/* run_weights.c: seeding or loading weights, and windows of resident layers. */
int run_seed_span(ck_runner *r, size_t start, size_t end, char *err, size_t len);
int run_make_resident(ck_runner *r, uint32_t sec, uint32_t layer, char *err, size_t len);
void run_evict(ck_runner *r, uint32_t sec, uint32_t layer);
/* run.c: before unit i of a windowed run, its layer resident (and the next
 * one prefetched), the one behind the window released; timed into paging_ns. */
int run_window_at(ck_runner *r, size_t i, char *err, size_t len);
uint32_t run_gguf_matrix_dtype(ck_runner *r, const ck_model *m);

#endif
