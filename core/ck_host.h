/* ck_host.h — the host side of ckernel: plugin loading, the execution
 * context, op metadata and the shape of one op instance. Used by the harness
 * and the tests; plugins only ever see ck_plugin.h. */
#ifndef CK_HOST_H
#define CK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ck_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_ERR_LEN 512

/* ---- plugins ------------------------------------------------------------ */

typedef struct ck_plugin {
    char path[4096];            /* resolved file */
    void *handle;               /* dlopen handle */
    const ck_plugin_desc *desc; /* validated */
    bool runnable;              /* probe said yes and init succeeded */
    char why[256];              /* reason when !runnable */
    /* The kernels this host knows, copied into its own layout (the plugin's
     * table may have a larger stride); use these, never desc->kernels. */
    ck_kernel_desc *kernels;
    uint32_t n_kernels;
    /* Entries skipped (an op or dtype newer than this host), one line each. */
    char skipped[8][160];
    uint32_t n_skipped; /* may exceed 8: only the first 8 are described */
} ck_plugin;

/* Load a plugin by short name ("avx512"), file name or path. Names are looked
 * up as libck_<name>.so in each directory of CK_PLUGIN_PATH, then in the
 * build's / install's plugin directory. On failure returns NULL and writes one
 * sentence naming the file and the reason into err. A plugin whose probe says
 * no is loaded with runnable = false and the reason in why. */
ck_plugin *ck_plugin_load(const char *name_or_path, char *err, size_t err_len);
void ck_plugin_unload(ck_plugin *p);

/* Every libck_*.so in the search path, in path order, names deduplicated
 * (the first directory wins). Returns the count; *paths is malloc'd, free
 * with ck_plugin_paths_free. */
size_t ck_plugin_discover(char ***paths);
void ck_plugin_paths_free(char **paths, size_t n);

/* The directory built-in plugins live in (next to the binary). */
const char *ck_plugin_default_dir(void);

/* The kernel for (op, dtype) with exactly the requested variant flags
 * (ck_kernel_variant: capability flags are not compared), or NULL. */
const ck_kernel_desc *ck_plugin_kernel(const ck_plugin *p, uint32_t op, uint32_t dtype, uint32_t flags);

/* A chain, "quant+avx512": a run takes each op's kernel from the first of
 * these plugins that has it, then from scalar (plugin_chain.c). A list with
 * commas is something else: bench compares the plugins of "avx512,avx2". */
#define CK_CHAIN_MAX 8
typedef struct ck_chain {
    ck_plugin *plugins[CK_CHAIN_MAX]; /* in order; an item "scalar" is `scalar` itself */
    size_t n;
    ck_plugin *scalar; /* the fallback, always loaded */
    char name[256];    /* the spec as given */
} ck_chain;

/* Load every plugin of spec (one name is a chain of one). -1 with one line
 * in err naming the spec and the item: an empty item, a plugin named twice,
 * more than CK_CHAIN_MAX, one that does not load or does not run here. */
int ck_chain_load(ck_chain *c, const char *spec, char *err, size_t err_len);
void ck_chain_unload(ck_chain *c);
/* 1 if spec names a chain of more than one plugin. */
int ck_chain_spec(const char *spec);

/* ---- capability flags (core/kernel_caps.c) -------------------------------- */
/* A kernel's flags split in two: variant flags (in place, fused, compute
 * bf16) name which kernel is asked for; capability flags
 * (CK_KF_ATTN_WINDOW_SOFTCAP, CK_KF_ROPE_PARTIAL, CK_KF_ACT_DOWN_UNARY) say
 * which newer argument fields or values it honours. The host rule, in one
 * place: arguments that use such a field go only to a kernel that carries
 * its flag. kernel_caps.c names each (one table: a flag missing there fails
 * test_loader). */
#define CK_KF_CAPABILITIES ((uint32_t)(CK_KF_ATTN_WINDOW_SOFTCAP | CK_KF_ROPE_PARTIAL | CK_KF_ACT_DOWN_UNARY))
uint32_t ck_kernel_variant(uint32_t flags); /* flags without the capability ones */
/* The capability flags op's arguments need: window or softcap set on an
 * attention (or attn_proj), rotary_dim partial on a rope, rope_bwd or
 * qkv_rope, act_kind gelu_erf or quick_gelu on an act_down. 0 when they use
 * none. */
uint32_t ck_args_needs(uint32_t op, const void *args);
/* The same for an op instance not yet bound (bench): from its window,
 * softcap and rotary_dim. Declared below ck_shape. */
/* 1 if kernel k carries every capability args need. */
int ck_kernel_honours(const ck_kernel_desc *k, const void *args);
/* The kernel of p for (op, dtype, flags) that honours args, else scalar's
 * (the same lookup in the reference plugin); *fallback is set to 1 when
 * scalar's was taken because p has none or its one lacks a capability
 * (why, if not NULL, says which). NULL if neither has one. */
const ck_kernel_desc *ck_kernel_for_args(const ck_plugin *p, const ck_plugin *scalar, uint32_t op, uint32_t dtype,
                                         uint32_t flags, const void *args, int *fallback, char *why, size_t why_len);
/* "window/softcap", "partial rotary_dim", "act_down gelu_erf/quick_gelu",
 * several joined by " and " ("none" for 0): what the capability bits in caps
 * are about, for messages. */
const char *ck_capability_name(uint32_t caps);

/* ---- execution context --------------------------------------------------- */

/* n_threads <= 0 means all online CPUs. Threads start lazily on the first
 * parallel_for, so a context made before fork() must not be used after it. */
ck_exec_ctx *ck_exec_create(int n_threads);
void ck_exec_destroy(ck_exec_ctx *ctx);

/* The kernel thread ids (gettid) of the context's worker threads, starting
 * them if they have not started, so that a measurement can count the threads
 * a kernel really runs on (the caller's own thread is tid 0 of every
 * parallel_for and is not listed). Returns how many were written (at most
 * cap; 0 for a one-thread context). */
int ck_exec_thread_ids(const ck_exec_ctx *ctx, int *tids, int cap);

/* 1 if a kernel left the floating-point control state changed on one of
 * the context's worker threads since the last call (the worker has put it
 * back already), with the phrase of ck_host_state_changed and the worker in
 * msg ("left MXCSR flush-to-zero set on pool worker 1"); else 0. The
 * caller's own thread is checked with ck_host_state_save/changed. */
int ck_exec_workers_state_changed(const ck_exec_ctx *ctx, char *msg, size_t len);

/* ---- floating-point state around a kernel call ---------------------------- */

/* What a kernel must leave as it found it (host_state.c): the control bits
 * of MXCSR (x86: rounding, flush-to-zero, denormals-are-zero, exception
 * masks) or FPCR (AArch64), and the fenv rounding mode; the calling thread's. */
typedef struct ck_host_state {
    unsigned control;
    int round;
} ck_host_state;

void ck_host_state_save(ck_host_state *s);
/* 0 if the current state equals *before; else 1 and a phrase per change
 * in msg ("left MXCSR flush-to-zero set, left the fenv rounding mode at
 * FE_UPWARD (was FE_TONEAREST)"). */
int ck_host_state_changed(const ck_host_state *before, char *msg, size_t len);
void ck_host_state_restore(const ck_host_state *s);
/* k->fn(ctx, args), then what the kernel must have left alone put back:
 * the floating-point control state and the exec context; *restored is 1
 * if either had changed. For hosts that run kernels (run, train-step): a
 * kernel that leaves FTZ set must not change every kernel after it. The
 * pool's workers put their own state back (ck_exec_workers_state_changed);
 * that counts as restored too. */
int ck_kernel_call_restoring(const ck_kernel_desc *k, const ck_exec_ctx *ctx, const void *args, int *restored);

/* ---- op and dtype metadata ---------------------------------------------- */

const char *ck_op_name(uint32_t op);        /* "rmsnorm"; "?" if unknown */
uint32_t ck_op_from_name(const char *name); /* CK_OP_NONE if unknown */
const char *ck_dtype_name(uint32_t dtype);  /* "f32"; "?" if unknown */
uint32_t ck_op_forward_of(uint32_t op);     /* CK_OP_LINEAR for CK_OP_LINEAR_BWD; op itself otherwise */
/* act_down's activation: CK_ACTIVATION_* of a member op (UINT32_MAX if it is
 * none), and back (CK_OP_NONE for an unknown kind). */
uint32_t ck_activation_of(uint32_t op);
uint32_t ck_activation_op(uint32_t kind);
/* From the op registry (core/ck_ops.def): */
enum { CK_OPK_FORWARD = 1, CK_OPK_BACKWARD = 2, CK_OPK_FUSED = 3 };
uint32_t ck_op_kind(uint32_t op);           /* CK_OPK_*, 0 for unknown ids */
size_t ck_op_args_size(uint32_t op);        /* sizeof its argument struct, 0 if unknown */
const uint32_t *ck_op_members(uint32_t op); /* a fused op's members, CK_OP_NONE-ended; NULL otherwise */
/* The argument rules of docs/ops.md for op (nulls with work to do, shapes,
 * aliasing), checked by the host before a kernel runs: 0, or -1 with one line
 * "<op>: <what is wrong>" in err. Data-dependent rules (ids in range) are
 * the kernels'. */
int ck_op_check_args(uint32_t op, const void *args, char *err, size_t err_len);
/* Call kernel k on args only if they keep the rules of k's op: the kernel's
 * status, or -1 with err and the kernel never called. The door for a call
 * whose arguments were not checked when they were bound. */
int ck_kernel_call_checked(const ck_kernel_desc *k, const ck_exec_ctx *ctx, const void *args, char *err,
                           size_t err_len);
uint32_t ck_dtype_from_name(const char *name);

typedef enum ck_parity_class { CK_PARITY_EXACT = 0, CK_PARITY_TOLERANCE = 1 } ck_parity_class;

typedef struct ck_tolerance {
    ck_parity_class cls;
    double atol, rtol; /* pass if |y - ref| <= atol + rtol * |ref| */
} ck_tolerance;

/* The parity rule for an op at a weight dtype (docs/ops.md is the prose). */
ck_tolerance ck_op_tolerance(uint32_t op, uint32_t dtype);

/* ---- compute type (--compute; docs/ops.md, "Compute bf16") -------------- */
/* Which arithmetic a run asks of linear / qkv with bf16 weights: f32 (the
 * default: x exact, the linear bound) or bf16 (x rounded to bf16, its own
 * bound), chosen through kernel flags (CK_KF_COMPUTE_BF16). Other ops and
 * dtypes have only f32 compute. core/compute.c. */
typedef enum ck_compute { CK_COMPUTE_F32 = 0, CK_COMPUTE_BF16 = 1 } ck_compute;
const char *ck_compute_name(ck_compute c);                 /* "f32", "bf16" */
int ck_compute_from_name(const char *name, ck_compute *c); /* 0, or -1 if unknown */
/* 1 if op at weight dtype has a compute type other than f32 to choose. */
int ck_compute_applies(uint32_t op, uint32_t dtype);
/* The kernel flags that select compute c for op at dtype (0 where c is f32
 * or does not apply). */
uint32_t ck_compute_flags(ck_compute c, uint32_t op, uint32_t dtype);
/* The compute type a kernel implements (CK_COMPUTE_BF16 if it carries
 * CK_KF_COMPUTE_BF16). */
ck_compute ck_kernel_compute(const ck_kernel_desc *k);

/* ---- one op instance ----------------------------------------------------- */
/* A flat description of an op at concrete dimensions: what the model graph
 * produces and what parity and bench run. Fields an op does not use are 0. */
typedef struct ck_shape {
    uint32_t op;    /* ck_op */
    uint32_t dtype; /* weight / table dtype; F32 for activation-only ops */
    size_t T;       /* rows (tokens) */
    size_t D;       /* model dim: norm width, qkv input, embedding width */
    size_t K, N;    /* linear: in, out */
    size_t n_heads, n_kv_heads, head_dim;
    size_t S;          /* attention: keys */
    size_t pos;        /* rope: pos_offset; attention: q_pos */
    size_t max_pos;    /* rope: table rows */
    size_t vocab;      /* embedding; cross_entropy: V */
    size_t n;          /* elementwise ops, adam, quantize: element count */
    float eps;         /* norms */
    int causal;        /* attention */
    int materialize;   /* attention: write scores and probs */
    int pairing;       /* rope */
    int has_bias;      /* linear, qkv; layernorm: has beta */
    size_t window;     /* attention: sliding window (0: none) */
    float softcap;     /* attention: logit soft-cap (0: none) */
    float scale;       /* attention: score scale (0: 1 / sqrt(head_dim)) */
    size_t rotary_dim; /* rope: dims rotated per head (0: head_dim) */
    int loss_only;     /* cross_entropy: dlogits NULL, the loss alone (a trainer's evaluation) */
    char label[64];    /* where it comes from: "vision.layer.qkv", "edge D=17" */
} ck_shape;

/* RoPE tables [max_pos, head_dim/2]: cos/sin(p * theta^(-2i/head_dim)),
 * computed in double and rounded once. */
void ck_rope_tables(double theta, size_t head_dim, size_t max_pos, float *cos_tab, float *sin_tab);

/* Llama 3.1's scaling of the inverse frequencies (transformers'
 * rope_type "llama3"): wavelengths longer than original_context /
 * low_freq_factor are divided by `factor`, shorter than original_context /
 * high_freq_factor kept, and those between interpolated. */
typedef struct ck_rope_scaling {
    double factor, low_freq_factor, high_freq_factor;
    size_t original_context;
} ck_rope_scaling;

/* ck_rope_tables with the inverse frequencies scaled (sc NULL: none), and
 * then divided by per-frequency factors (NULL: none; head_dim/2 of them, as
 * a GGUF file's rope_freqs.weight holds llama3's scaling). */
void ck_rope_tables_scaled(double theta, size_t head_dim, size_t max_pos, const ck_rope_scaling *sc, float *cos_tab,
                           float *sin_tab);
void ck_rope_tables_factors(double theta, size_t head_dim, size_t max_pos, const float *factors, float *cos_tab,
                            float *sin_tab);

/* The capability flags an op instance needs (ck_args_needs, from the
 * shape's window, softcap and rotary_dim; core/kernel_caps.c). */
uint32_t ck_shape_needs(const ck_shape *s);

/* "rmsnorm T=577 D=1024" style one-line description into buf. */
void ck_shape_describe(const ck_shape *s, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* CK_HOST_H */
