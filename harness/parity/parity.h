/* parity.h — the pieces of `ckbench parity` (the CI gate) and how they fit:
 *   parity_suite.c  which op instances to check (edge suite, model instances
 *                   with T reduced so the scalar reference stays quick)
 *   parity_child.c  run one kernel on one case in a forked child, with a
 *                   timeout, canary and input checks
 *   parity_check.c  turn a child's outcome plus the reference into a verdict
 *   parity_report.c the human table, JSON and JUnit XML
 *   parity_dump.c   --dump: .npy files and manifest.json
 *   cmd_parity.c    options and the loop over shapes x plugins x kernels */
#ifndef CK_PARITY_H
#define CK_PARITY_H

#include <stddef.h>
#include <stdint.h>

#include "cases/ck_case.h"
#include "ck_host.h"
#include "compare.h"

/* ---- the suite ------------------------------------------------------------------- */

#define CK_PARITY_MAX_MEMBERS 4

typedef struct ck_parity_shape {
    ck_shape shape;                          /* a fused op: op, dtype and label only */
    ck_shape members[CK_PARITY_MAX_MEMBERS]; /* a fused op's members, in order */
    size_t n_members;                        /* 0 for an unfused op */
    char note[48];                           /* "T=5 of 2048" when the rows were reduced, else "" */
    /* an instance of the model (not the edge suite), as the model has it
     * before the rows were reduced: a kernel must take this size */
    int from_model;
    int inputs; /* 0: the generated inputs; else a special pattern (parity_cover.c) */
    ck_shape full;
    ck_shape full_members[CK_PARITY_MAX_MEMBERS];
} ck_parity_shape;

/* ck_shape_describe, or for a fused op its members':
 * "norm_qkv bf16 = rmsnorm T=3 D=100 + qkv bf16 T=3 D=100 H=4 Hkv=2 hd=64". */
void ck_parity_describe(const ck_parity_shape *ps, char *buf, size_t len);

/* The case of ps (fused or not); NULL with err. */
ck_case *ck_parity_case(const ck_parity_shape *ps, uint64_t seed, char *err, size_t err_len);

/* The unbacked case (ck_case_create_unbacked) of ps at the model's own size,
 * for asking the kernel whether it takes it; NULL if ps was not reduced (or
 * with err if it cannot be built). */
ck_case *ck_parity_full_case(const ck_parity_shape *ps, char *err, size_t err_len);

/* Reference work allowed per case (multiply-adds of the scalar kernel):
 * rows are cut to fit it, but never below CK_PARITY_MIN_ROWS (or T if
 * smaller), so that a GEMM kernel's full register tiles (6 or 8 rows) are
 * exercised at the model's widths, not only its row tail. */
#define CK_PARITY_WORK_BUDGET 50000000.0
#define CK_PARITY_MIN_ROWS 8

/* The built-in edge suite: tails that are no multiple of 4..64, T = 1, head
 * dims 64/80/96/128, GQA 1/4/8, decode at several positions, causal and
 * bidirectional, materialising and streaming attention, every weight dtype
 * the reference offers, both rope pairings; then ck_parity_cover's generated
 * lengths and special inputs. Returns the count; *out malloc'd. */
size_t ck_parity_edge_suite(ck_parity_shape **out);

/* Generated coverage (parity_cover.c), part of the edge suite: every length
 * around the vector widths the plugins use for elementwise ops and for the
 * reduction dims (D, K, hd), rope positions at the ends of the table, and
 * special inputs per op. Appended to *v (n, cap as realloc'd). */
void ck_parity_cover(ck_parity_shape **v, size_t *n, size_t *cap);
/* Append a zeroed shape of op and dtype to *v (grown as needed). */
ck_parity_shape *ck_parity_push(ck_parity_shape **v, size_t *n, size_t *cap, uint32_t op, uint32_t dtype,
                                const char *label);

/* The name of special input pattern `inputs` ("gate beyond +-88.7"), and
 * writing it into case c (then reset); 0 or -1 with err. */
const char *ck_parity_inputs_name(int inputs);
int ck_parity_apply_inputs(ck_case *c, int inputs, char *err, size_t err_len);

/* Every distinct op instance of a model (prefill and one decode step) with
 * rows reduced to the work budget; weight_dtype 0 keeps the model's own.
 * -1 and one line in err if the model does not load. */
int ck_parity_model_suite(const char *path, uint32_t weight_dtype, ck_parity_shape **out, size_t *n, char *err,
                          size_t err_len);

/* Cut the rows of s to the work budget (see CK_PARITY_WORK_BUDGET); writes
 * "T=x of y" into note when it did. Attention keeps every key and checks the
 * last rows (the ones that see the most keys). */
void ck_parity_reduce(ck_parity_shape *ps);

/* ---- one isolated run -------------------------------------------------------------- */

typedef enum ck_run_state {
    CK_RUN_DONE = 0,      /* the kernel returned (see kernel_rc) */
    CK_RUN_CRASHED,       /* killed by a signal */
    CK_RUN_TIMED_OUT,     /* killed after the timeout */
    CK_RUN_HARNESS_ERROR, /* fork/mmap failed, or the child exited oddly */
} ck_run_state;

typedef struct ck_run_outcome {
    ck_run_state state;
    int signal; /* CRASHED */
    /* CRASHED at an address in a buffer's guard pages or read-only data:
     * "oob-write", "oob-read" or "input-modified" (error names the buffer) */
    const char *crash_reason;
    int kernel_rc; /* DONE: CK_OK, CK_E_UNSUPPORTED, ... */
    int guard_bad; /* canary damaged */
    int input_bad; /* a read-only input changed */
    int state_bad; /* floating-point control state or exec context changed */
    int split_bad; /* other bits on another logical thread count */
    char guard_msg[256], input_msg[256], state_msg[256], split_msg[256], error[256];
    double seconds;                 /* wall time of the kernel call in the child */
    unsigned char *outputs;         /* every OUT/INOUT buffer, in case order (inside map) */
    unsigned char *aligned_outputs; /* the same from the end-aligned run (CK_RUN_CHECK_GUARDS), or NULL */
    void *map;                      /* the region the child wrote into */
    size_t map_len;
    /* the reference's outcome only: per-element bounds of the error model
     * (ck_error_bounds), one double per element of every output in case
     * order; NULL where the op keeps ck_op_tolerance */
    double *bounds;
} ck_run_outcome;

/* Logical thread counts every passing kernel is re-run on, whatever the
 * number of cores: splits of 3 and 7 are what catch a kernel that assumes
 * a power of two or at most as many threads as this machine has. */
#define CK_PARITY_N_THREAD_COUNTS 5
extern const int ck_parity_thread_counts[CK_PARITY_N_THREAD_COUNTS];

/* What a child checks beyond the one run (bits of `checks`). */
enum {
    CK_RUN_CHECK_THREADS = 1, /* re-run on ck_parity_thread_counts, bits must match */
    CK_RUN_CHECK_GUARDS = 2,  /* re-run with every buffer ending at a page end */
    CK_RUN_PROBE = 4,         /* an unbacked case: only the kernel's status counts */
    CK_RUN_KEEP_SCRATCH = 8,  /* copy a fused op's intermediates after the outputs (the error model reads them) */
    CK_RUN_CHECK_STALE = 16,  /* run once first on other values in the same buffers (ck_case_perturb_inputs) */
};

/* Run kernel k on case c in a forked child (which builds its own exec
 * context with n_threads), killing it when one of its runs takes more than
 * timeout seconds. Every call is checked for the floating-point state and
 * the exec context it leaves behind (state_bad). */
void ck_parity_run_isolated(ck_case *c, const ck_kernel_desc *k, int n_threads, int checks, double timeout,
                            ck_run_outcome *o);
void ck_run_outcome_free(ck_run_outcome *o);

/* Bytes of every output (OUT and INOUT) buffer of c, i.e. of o->outputs. */
size_t ck_parity_output_bytes(const ck_case *c);

/* Per-element error bounds of c's tolerance outputs from its inputs and the
 * reference's outputs (error_model.c; docs/ops.md gives each formula);
 * malloc'd, or NULL for ops without a model (exact ops, quantised weights,
 * layernorm/attention/gelu backward, cross_entropy: they keep
 * ck_op_tolerance). A fused op's model reads its
 * intermediates from ref, run with CK_RUN_KEEP_SCRATCH. */
double *ck_error_bounds(const ck_case *c, const ck_run_outcome *ref);

/* ---- verdicts ----------------------------------------------------------------------- */

typedef enum ck_verdict { CK_PASS = 0, CK_FAIL = 1, CK_SKIP = 2 } ck_verdict;

#define CK_PARITY_MAX_OUTPUTS 8 /* qkv_bwd has 7 */

typedef struct ck_parity_output {
    char name[48]; /* a copy: fused cases' buffer names die with the case */
    int exact;
    ck_cmp_result cmp;
} ck_parity_output;

typedef struct ck_parity_result {
    size_t shape_index;
    char shape_desc[256];
    char label[64];
    char note[48];
    int nothing_to_do; /* the kernel's call with a zero count (gate.c, check_empty) */
    char plugin[72];
    char kernel[96];
    uint32_t kernel_flags; /* CK_KF_*: CK_KF_COMPUTE_BF16 selects its own bound */
    int exact;             /* parity class */
    ck_verdict verdict;
    /* why: "pass", "not-offered", "not-claimed" (lacks a capability flag), "no-reference", "unsupported", "crash",
     * "timeout", "oob-write", "oob-read", "input-modified", "declined", "host-state", "split-dependent", "stale-state", "nan", "inf", "unwritten",
     * "mismatch", "kernel-error", "reference-failed", "harness-error",
     * "not-refused", "declined-after-writing" (docs/ops.md, Refusals), "empty-not-noop" (Empty sizes) */
    const char *reason;
    char detail[1024]; /* one sentence; names op and plugin on failure */
    ck_parity_output outputs[CK_PARITY_MAX_OUTPUTS];
    size_t n_outputs;
    double seconds;
} ck_parity_result;

/* The compute-bf16 bound of output `out` of a linear / qkv case, per
 * element (bound_cbf16.c; docs/ops.md); NULL for any other output or op,
 * or without memory. The caller frees it. */
double *ck_parity_cbf16_bounds(const ck_case *c, const char *out);

/* Fill r's verdict from the plugin's outcome and the reference's outputs. */
void ck_parity_judge(const ck_case *c, const ck_run_outcome *ref, const ck_run_outcome *got, ck_parity_result *r);


/* Worst figures over r's outputs, for the table. */
double ck_parity_max_err(const ck_parity_result *r);
double ck_parity_max_use(const ck_parity_result *r); /* error / bound, tolerance class */
uint64_t ck_parity_max_ulp(const ck_parity_result *r);

/* ---- reports ------------------------------------------------------------------------ */

const char *ck_verdict_name(ck_verdict v); /* "PASS", "FAIL", "SKIP" */
void ck_parity_print_header(void);
void ck_parity_print_row(const ck_parity_result *r);
/* JSON and JUnit over all results; 0 or -1 with err. Both are written to a
 * temporary file and renamed. partial: NULL for a whole run, else why it is
 * not ("interrupted after 12 of 300 op instances"), recorded in the file. */
int ck_parity_write_json(const char *path, const ck_parity_result *rs, size_t n, uint64_t seed, const char *notes,
                         const char *partial, char *err, size_t err_len);
int ck_parity_write_junit(const char *path, const ck_parity_result *rs, size_t n, const char *partial, char *err,
                          size_t err_len);

/* ---- dumps --------------------------------------------------------------------------- */

typedef struct ck_parity_dump ck_parity_dump;
/* Creates dir (and parents); NULL with err if it cannot. */
ck_parity_dump *ck_parity_dump_open(const char *dir, char *err, size_t err_len);
/* Inputs of shape i (once per shape), the reference outputs, and a plugin's
 * outputs for result r. 0 or -1 with err. */
int ck_parity_dump_case(ck_parity_dump *d, const ck_case *c, size_t shape_index, const ck_run_outcome *ref,
                        const ck_run_outcome *got, const ck_parity_result *r, char *err, size_t err_len);
/* Writes manifest.json and frees d. */
int ck_parity_dump_close(ck_parity_dump *d, char *err, size_t err_len);

#endif /* CK_PARITY_H */
