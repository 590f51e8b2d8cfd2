/* train_internal.h — what train.c (create, run, time) and train_bind.c
 * (the loss, backward and optimizer op lists bound to planned buffers)
 * share. Only runtime/train*.c include it. */
#ifndef CK_TRAIN_INTERNAL_H
#define CK_TRAIN_INTERNAL_H

#include "ck_ir.h"
#include "ck_share.h"
#include "ck_train.h"

typedef union bwd_args {
    ck_cross_entropy_args ce;
    ck_linear_bwd_args linear;
    ck_qkv_bwd_args qkv;
    ck_rope_args rope;
    ck_attention_bwd_args attn;
    ck_swiglu_bwd_args swiglu;
    ck_unary_bwd_args unary;
    ck_norm_bwd_args norm;
    ck_embedding_bwd_args emb;
    ck_add_args add;
    ck_adam_args adam;
} bwd_args;

/* One op after the forward: loss, backward or optimizer. */
typedef struct op_step {
    char label[96];
    uint32_t op;
    size_t slot;                  /* timing row */
    const ck_kernel_desc *kernel; /* run_pick_kernel's, once args are bound */
    const char *plugin;           /* whose kernel it is (its desc->name) */
    int fallback;
    bwd_args args;
    float *zero; /* zeroed first (a scatter-add target) */
    size_t zero_bytes;
    float *scale; /* then scale_n floats multiplied by scale_by in place (the embedding scale) */
    size_t scale_n;
    float scale_by;
    /* after the kernel: cap_dy[k] *= 1 - (cap_y[k] / cap)^2 for cap_n values,
     * the final logit soft-cap's slope (cap_y holds the capped logits) */
    const float *cap_y;
    float *cap_dy;
    size_t cap_n;
    double cap;
} op_step;

typedef struct op_list {
    op_step *v;
    size_t n, cap;
} op_list;

struct ck_trainer {
    ck_runner *runner; /* holds the chain every kernel is picked from */
    const ck_model *model;
    ck_train_opts opts;
    op_list backward, adam; /* the loss and the backward ops; the optimizer */
    uint32_t adam_step;
    size_t frozen_sections;
    size_t slot_base[CK_MAX_SECTIONS]; /* timing rows: header, layers, footer per section */
    ck_train_time *times;
    size_t n_times;
    int timing;
    char err_name[160];     /* the first tensor binding missed */
    ck_share_header *share; /* opts.share_name: seqlocks around every op */
};


/* One line into err; returns -1. */
int train_failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Bind the loss, the backward ops of every trained section and the Adam
 * updates (train_bind.c); 0, or -1 with err. */
int train_bind(ck_trainer *t, char *err, size_t len);
/* A planned buffer by name, and its address in the arena. */
const ck_buffer *train_find(const ck_trainer *t, const char *name);
void *train_at(const ck_trainer *t, const ck_buffer *b);
/* Timing row of a section's header, layer or footer. */
size_t train_slot_of(const ck_trainer *t, uint32_t sec, int part, uint32_t layer);

#endif
