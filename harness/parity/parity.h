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
} ck_parity_shape;

/* ck_shape_describe, or for a fused op its members':
 * "norm_qkv bf16 = rmsnorm T=3 D=100 + qkv bf16 T=3 D=100 H=4 Hkv=2 hd=64". */
void ck_parity_describe(const ck_parity_shape *ps, char *buf, size_t len);

/* The case of ps (fused or not); NULL with err. */
ck_case *ck_parity_case(const ck_parity_shape *ps, uint64_t seed, char *err, size_t err_len);

/* Reference work allowed per case (multiply-adds of the scalar kernel):
 * rows are cut to fit it, but never below CK_PARITY_MIN_ROWS (or T if
 * smaller), so that a GEMM kernel's full register tiles (6 or 8 rows) are
 * exercised at the model's widths, not only its row tail. */
#define CK_PARITY_WORK_BUDGET 50000000.0
#define CK_PARITY_MIN_ROWS 8

/* The built-in edge suite: tails that are no multiple of 4..64, T = 1, head
 * dims 64/80/96/128, GQA 1/4/8, decode at several positions, causal and
 * bidirectional, materialising and streaming attention, every weight dtype
 * the reference offers, both rope pairings. Returns the count; *out malloc'd. */
size_t ck_parity_edge_suite(ck_parity_shape **out);

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
    int signal;    /* CRASHED */
    int kernel_rc; /* DONE: CK_OK, CK_E_UNSUPPORTED, ... */
    int guard_bad; /* canary damaged */
    int input_bad; /* a read-only input changed */
    char guard_msg[256], input_msg[256], error[256];
    double seconds;         /* wall time of the kernel call in the child */
    unsigned char *outputs; /* every OUT/INOUT buffer, in case order (inside map) */
    void *map;              /* the region the child wrote into */
    size_t map_len;
} ck_run_outcome;

/* Run kernel k on case c in a forked child (which builds its own exec
 * context with n_threads), killing it after timeout seconds. */
void ck_parity_run_isolated(ck_case *c, const ck_kernel_desc *k, int n_threads, double timeout, ck_run_outcome *o);
void ck_run_outcome_free(ck_run_outcome *o);

/* Bytes of every output (OUT and INOUT) buffer of c, i.e. of o->outputs. */
size_t ck_parity_output_bytes(const ck_case *c);

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
    char plugin[72];
    char kernel[96];
    uint32_t kernel_flags; /* CK_KF_*: CK_KF_COMPUTE_BF16 selects its own bound */
    int exact;             /* parity class */
    ck_verdict verdict;
    /* why: "pass", "not-offered", "no-reference", "unsupported", "crash",
     * "timeout", "oob-write", "input-modified", "nan", "inf", "unwritten",
     * "mismatch", "kernel-error", "reference-failed", "harness-error" */
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

/* A passing r fails ("split-dependent") unless the kernel's run on one
 * thread (`single`) gave the same bits as its run on n_threads (`got`):
 * results must not depend on how parallel_for splits the work. */
void ck_parity_judge_split(const ck_case *c, const ck_run_outcome *got, const ck_run_outcome *single, int n_threads,
                           ck_parity_result *r);

/* Worst figures over r's outputs, for the table. */
double ck_parity_max_err(const ck_parity_result *r);
uint64_t ck_parity_max_ulp(const ck_parity_result *r);

/* ---- reports ------------------------------------------------------------------------ */

const char *ck_verdict_name(ck_verdict v); /* "PASS", "FAIL", "SKIP" */
void ck_parity_print_header(void);
void ck_parity_print_row(const ck_parity_result *r);
/* JSON and JUnit over all results; 0 or -1 with err. Both are written to a
 * temporary file and renamed. */
int ck_parity_write_json(const char *path, const ck_parity_result *rs, size_t n, uint64_t seed, const char *notes,
                         char *err, size_t err_len);
int ck_parity_write_junit(const char *path, const ck_parity_result *rs, size_t n, char *err, size_t err_len);

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
