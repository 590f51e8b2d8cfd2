/* ck_train.h — one training step of a planned model in its single
 * allocation: forward (the whole-model executor of ck_run.h), softmax
 * cross-entropy against next-token targets, backward through every layer of
 * every decoder section in reverse, then AdamW on every decoder weight with
 * its planned gradient and moments. Vision encoder sections (and the bridge
 * that feeds a decoder) are frozen: they run forward, nothing flows back into
 * them and their weights never change. Semantics: docs/training.md. */
#ifndef CK_TRAIN_H
#define CK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ck_host.h"
#include "ck_run.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_trainer ck_trainer;

typedef struct ck_train_opts {
    uint64_t seed;         /* weights and the fixed batch of token ids */
    const int32_t *tokens; /* the batch (NULL: seeded), as ck_run_opts */
    size_t n_tokens;
    float lr, beta1, beta2, eps;
    float weight_decay;     /* AdamW decay of matrices (2-D weights); vectors are not decayed */
    const char *share_name; /* the arena as a named shared mapping (ck_share.h); NULL: private */
} ck_train_opts;

/* lr 1e-2, betas 0.9 / 0.999, eps 1e-8, weight decay 0.01, seed 1. */
ck_train_opts ck_train_defaults(void);

/* Plan (training mode, f32 weights), map, seed and bind forward, loss,
 * backward and optimizer steps. NULL with one line in err (a model with no
 * decoder section, a batch with nothing to predict, a missing kernel). */
ck_trainer *ck_trainer_create(const ck_model *m, const ck_plugin *plugin, const ck_plugin *scalar,
                              const ck_train_opts *opts, char *err, size_t err_len);
/* The same through a chain (ck_host.h's ck_chain), as ck_runner_create_chain:
 * every op, forward, loss, backward and adam, on the first of
 * plugins[0..n) that has its kernel and honours what its arguments need,
 * else on scalar. */
ck_trainer *ck_trainer_create_chain(const ck_model *m, const ck_plugin *const *plugins, size_t n,
                                    const ck_plugin *scalar, const ck_train_opts *opts, char *err, size_t err_len);
void ck_trainer_free(ck_trainer *t);

/* Forward and the loss only (no gradient): for finite differences. */
int ck_trainer_loss(ck_trainer *t, const ck_exec_ctx *ctx, float *loss, char *err, size_t err_len);
/* Forward, loss and backward: every planned gradient of the trained
 * sections is written; weights unchanged. */
int ck_trainer_gradients(ck_trainer *t, const ck_exec_ctx *ctx, float *loss, char *err, size_t err_len);
/* ck_trainer_gradients, then one AdamW update of every trained weight.
 * *loss is the loss before the update. */
int ck_trainer_step(ck_trainer *t, const ck_exec_ctx *ctx, float *loss, char *err, size_t err_len);

/* A planned f32 tensor by its layout.json name (weights, their .grad,
 * .adam_m, .adam_v, activations), with its element count; NULL if absent. */
float *ck_trainer_tensor(ck_trainer *t, const char *name, size_t *count);
ck_runner *ck_trainer_runner(ck_trainer *t);

typedef struct ck_train_counts {
    size_t forward, forward_fallback;   /* forward steps, those run by scalar */
    size_t backward, backward_fallback; /* loss + backward ops (adds included) */
    size_t adam, adam_fallback;         /* trained weight tensors */
    size_t frozen_sections;             /* vision encoders: forward only */
} ck_train_counts;
ck_train_counts ck_trainer_counts(const ck_trainer *t);

/* The ops after the forward (whose steps ck_runner_step describes), in the
 * order they run: the loss and backward ops, then one Adam update per
 * trained weight; i < ck_trainer_n_ops. */
typedef struct ck_train_op {
    const char *label;
    uint32_t op;
    const char *plugin; /* the plugin whose kernel runs it (its desc->name) */
    int fallback;       /* 1: run by scalar, no plugin of the chain has a kernel */
} ck_train_op;
size_t ck_trainer_n_ops(const ck_trainer *t);
ck_train_op ck_trainer_op(const ck_trainer *t, size_t i);

/* Per-part timing of the steps run since ck_trainer_time_reset, when
 * enabled: one row per section header, layer and footer. */
typedef struct ck_train_time {
    uint32_t section, layer;
    int part;                       /* ck_part */
    double forward, backward, adam; /* seconds, summed over the steps run */
} ck_train_time;
void ck_trainer_time_enable(ck_trainer *t, int on);
void ck_trainer_time_reset(ck_trainer *t);
const ck_train_time *ck_trainer_times(const ck_trainer *t, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
