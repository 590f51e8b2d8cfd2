/* ck_run.h — the whole-model executor: a planned model in its single
 * allocation, run straight-line in execution order through a plugin (with
 * the scalar plugin standing in for any op the plugin does not offer).
 *
 * Every node of every section (layers expanded) is bound once to its
 * buffers by the names the planner gave them, so a run is a walk over a flat
 * list of steps with ready-made argument structs. LLaVA's bridge output is
 * spliced into the first rows of the text section's token embeddings (image
 * tokens first), as LLaVA does.
 *
 * Weights are seeded (deterministic per buffer name and seed) or copied from
 * a GGUF file, where each planned weight is found under its layout.json name
 * or, for decoder sections, under llama.cpp's name (blk.N.attn_q.weight ...),
 * and must have the planned dtype and shape. */
#ifndef CK_RUN_H
#define CK_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "ck_arena.h"
#include "ck_host.h"
#include "ck_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_runner ck_runner;

typedef struct ck_run_opts {
    uint64_t seed;         /* weights and inputs */
    size_t window_layers;  /* 0: the whole model resident; else layers resident per section at a time */
    const int32_t *tokens; /* decoder input ids (NULL: seeded) */
    size_t n_tokens;
    const char *gguf_path; /* weights from this GGUF file (NULL: seeded) */
    uint32_t weight_dtype; /* matrix weights: 0 = the model's own (or the GGUF's) */
    int training;          /* plan the training layout (runtime/ck_train.h); the forward is unchanged */
    uint32_t fuse_mask;    /* requested fusions (ck_fusion.h); applied where the plugin offers them */
    size_t max_layers;     /* 0: every layer; else the first N of each section (a sample for timing) */
    int decode;            /* one token at decode_pos through the decoder sections, against a
                            * per-layer KV cache whose earlier rows are seeded (the prefill's stand-in) */
    size_t decode_pos;
    const char *share_name; /* map the arena as a named shared mapping (ck_share.h); NULL: private */
    uint32_t compute;       /* ck_compute: bf16 runs bf16-weight linear / qkv on CK_KF_COMPUTE_BF16 kernels */
    int last_logits;        /* a forward's decoder logits for its last row only, as a prompt is run
                             * for generation (llama.cpp's default); the footer reads that row */
} ck_run_opts;

/* One step as the run sees it (a fused group counts as one step, labelled
 * "<first member>+<fusion>"): which node, which kernel, where its outputs
 * are (for comparison against another run). */
typedef struct ck_run_step {
    char label[96]; /* "text.layer.3.qkv" */
    uint32_t op, dtype;
    uint32_t section, layer;
    int part;            /* ck_part */
    int fallback;        /* 1: run by the scalar plugin, no plugin of the chain has a kernel */
    const char *plugin;  /* the plugin whose kernel runs it (its desc->name) */
    size_t first, count; /* the graph nodes it covers (count > 1: a fused group) */
    size_t n_out;
    struct {
        const char *name; /* buffer name in layout.json */
        size_t offset, bytes;
    } out[3];
} ck_run_step;

/* Plan, map and bind `m` for `plugin` (scalar is the fallback and may be the
 * same plugin). NULL with one line in err. */
ck_runner *ck_runner_create(const ck_model *m, const ck_plugin *plugin, const ck_plugin *scalar,
                            const ck_run_opts *opts, char *err, size_t err_len);
/* The same through a chain (ck_host.h's ck_chain): each op's kernel from the
 * first of plugins[0..n) that has it, fused kernels included, then scalar's. */
ck_runner *ck_runner_create_chain(const ck_model *m, const ck_plugin *const *plugins, size_t n, const ck_plugin *scalar,
                                  const ck_run_opts *opts, char *err, size_t err_len);
void ck_runner_free(ck_runner *r);

size_t ck_runner_n_steps(const ck_runner *r);
const ck_run_step *ck_runner_step(const ck_runner *r, size_t i);
const ck_plan *ck_runner_plan(const ck_runner *r);
void *ck_runner_base(const ck_runner *r);
const char *ck_runner_arena_note(const ck_runner *r);

/* Called after each step; return non-zero to stop the run there. */
typedef int (*ck_step_hook)(void *user, ck_runner *r, size_t step);

/* Seed weights and inputs, then run every step. 0, or -1 with one line in
 * err (a kernel refused its arguments, a step failed). */
int ck_runner_forward(ck_runner *r, const ck_exec_ctx *ctx, ck_step_hook hook, void *user, char *err, size_t err_len);

/* Run only step i (inputs as they are in the arena). Used by diverge. */
int ck_runner_run_step(ck_runner *r, size_t i, const ck_exec_ctx *ctx, char *err, size_t err_len);

/* Prepare the arena for a step-by-step run: seed weights and inputs of the
 * resident window, as ck_runner_forward does first. */
int ck_runner_prepare(ck_runner *r, char *err, size_t err_len);

/* Fused groups of fusion f (ck_fusion) in this run, and the activation
 * bytes the applied fusions save in one forward pass (ck_fuse's account). */
size_t ck_runner_fusion(const ck_runner *r, unsigned f);
size_t ck_runner_bytes_saved(const ck_runner *r);

/* Kernel calls after which the host had to put its floating-point control
 * state or exec context back (a kernel left FTZ or a rounding mode set, or
 * wrote into the context), and the first such kernel's name (NULL if none).
 * The run goes on with the state restored; parity fails such a kernel. */
size_t ck_runner_host_restores(const ck_runner *r, const char **first_kernel);

/* Windowed runs: the wall time spent so far faulting layers in, seeding or
 * copying their weights and releasing them (0 without a window). */
double ck_runner_paging_ns(const ck_runner *r);

/* How many layers of section `sec` are resident now (windowed runs). */
size_t ck_runner_resident_layers(const ck_runner *r, uint32_t sec);

/* The shared mapping's header when the run was created with share_name,
 * else NULL; a trainer bumps its counters around its own steps. */
struct ck_share_header *ck_runner_share(const ck_runner *r);
struct ck_share;
struct ck_share *ck_runner_share_handle(const ck_runner *r);
/* Decode runners (opts.decode): move to another position, for a generation
 * loop (run_decode.c) — rope, the attention's keys and the cache row this
 * token's k and v go to follow; the cache rows before it are left as they
 * are. 0, or -1 with one line in err (not a decode runner, pos outside the
 * context). Run the steps with ck_runner_run_step after ck_runner_prepare. */
int ck_runner_set_decode_pos(ck_runner *r, size_t pos, char *err, size_t err_len);
/* The decoder's input token id of a decode runner (write the next token
 * here); NULL when there is none. */
int32_t *ck_runner_decode_ids(ck_runner *r);

/* Every unit once, in order, inputs as they are (after ck_runner_prepare;
 * a windowed runner pages its layers in and out as ck_runner_forward does,
 * outside the units' times). unit_ns, when not NULL, has
 * ck_runner_n_steps(r) entries and gains each unit's wall time. */
int ck_runner_run_all(ck_runner *r, const ck_exec_ctx *ctx, double *unit_ns, char *err, size_t err_len);

/* Greedy generation on a decode runner after ck_runner_prepare: n tokens at
 * positions start_pos.., each step's argmax of the logits (the lowest id
 * on a tie) becoming the next step's input and out_ids[m] (may be NULL). The
 * first input is the ids buffer as prepared. Deterministic: the same runner
 * options and threads give the same ids. */
int ck_runner_generate(ck_runner *r, const ck_exec_ctx *ctx, size_t start_pos, size_t n, int32_t *out_ids,
                       double *unit_ns, char *err, size_t err_len);

/* The final output of the last section: logits [T, vocab] (or the bridge
 * output for an encoder-only model), with its element count. */
const float *ck_runner_output(const ck_runner *r, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
