/* ck_case.h — one op instance made runnable: every buffer of the op
 * allocated and filled from a seeded generator, and the op's argument struct
 * built. Shared by `ckbench parity` (which compares the outputs of two
 * kernels run on the same case) and `ckbench bench` (which times one).
 *
 * Determinism: the inputs depend only on the shape and the seed, never on the
 * machine: the generator is xoshiro256** seeded through splitmix64 from
 * (seed, op, buffer name), normals come from Marsaglia's polar method in
 * double precision and are rounded once to the buffer's type. Large weight
 * matrices are remembered (case_memo.c) and copied, not regenerated.
 *
 * Distributions: activations N(0, 1) with about one row in 16 scaled by 32
 * (outlier tokens); weights N(0, 0.02) (bf16/f16 rounded from f32, q8_0/q4_0
 * as random blocks of that scale); biases and betas N(0, 0.02); gammas
 * N(1, 0.1); upstream gradients N(0, 1); rope tables from ck_rope_tables
 * (theta 10000); ids uniform in range, the first and last id always present;
 * adam: m ~ N(0, 1e-3), v = N(0, 1e-3)^2, g ~ N(0, 1e-3), step 10.
 *
 * Guards: every buffer has its own mapping, between 64 KiB of PROT_NONE
 * pages on each side; its data starts at a page start (or, after
 * ck_case_place(c, 1), ends at a page end), and the rest of its pages are
 * canaries. An access that crosses into a guard page faults; a write into
 * the canaries is caught by ck_case_check_guards. Outputs are filled with a
 * poison pattern before each run, so an element a kernel never wrote is
 * recognisable (ck_case_poisoned). */
#ifndef CK_CASE_H
#define CK_CASE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ck_host.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_case ck_case;

#define CK_CASE_MAX_BUFS 16 /* buffers of one case (qkv_bwd and fused ops have the most) */

typedef enum ck_buf_role {
    CK_BUF_IN = 0,      /* read-only input: must be unchanged after a run */
    CK_BUF_OUT = 1,     /* output: poisoned before each run */
    CK_BUF_INOUT = 2,   /* updated in place by the op (rope q/k, adam w/m/v) */
    CK_BUF_SCRATCH = 3, /* a fused op's intermediate the kernel may leave
                         * unwritten: guarded, never compared */
} ck_buf_role;

typedef struct ck_case_buf {
    const char *name; /* the argument's field name: "x", "gamma", "y", "scores"
                        * (fused: "norm.gamma"); valid while the case lives */
    ck_buf_role role;
    uint32_t dtype;   /* CK_DTYPE_F32/BF16/F16/I32, or Q8_0/Q4_0 (raw blocks) */
    size_t count;     /* storage elements: values, or bytes for Q8_0/Q4_0 */
    size_t elem_size; /* bytes per storage element: 4, 2 or 1 */
    size_t bytes;     /* count * elem_size */
    void *data;       /* the live buffer the kernel sees (at a page start, or end: see Guards) */
    const void *init; /* IN/INOUT: the generated contents; NULL for OUT */
    int ndim;         /* the logical shape, row-major: [T, D], [H, T, S] ... */
    size_t dims[3];   /* (quantised blocks: one dim, the byte count) */
} ck_case_buf;

/* 1 if op has a case builder (harness/cases/case_ops.def: every op of the
 * registry; fused ops are built from their members, ck_case_create_fused). */
int ck_case_supports(uint32_t op);

/* 1 if op's cost grows with T and it can be cut along it (parity's reduced
 * model cases, bench's scalar shape); the reference's multiply-adds per row
 * of s, 0 for ops without rows. */
int ck_case_has_rows(uint32_t op);
double ck_case_row_work(const ck_shape *s);

/* Inputs hold generated contents (init); outputs are what a run is judged by. */
static inline int ck_case_buf_is_input(const ck_case_buf *b)
{
    return b->role == CK_BUF_IN || b->role == CK_BUF_INOUT;
}
static inline int ck_case_buf_is_output(const ck_case_buf *b)
{
    return b->role == CK_BUF_OUT || b->role == CK_BUF_INOUT;
}

/* Validate the shape, allocate and fill every buffer. NULL with one line in
 * err (naming the op and the bad field) if the shape is unusable or too big. */
ck_case *ck_case_create(const ck_shape *s, uint64_t seed, char *err, size_t err_len);

/* A fused op (CK_OP_NORM_QKV ...) at weight dtype `dtype`, described by its
 * members' shapes in execution order, as the unfused graph runs them
 * (norm_mlp: norm, gate, up, or norm, up for a GELU MLP). Buffers are named
 * "<member>.<field>" ("norm.gamma", "qkv.wq"); an intermediate the kernel may
 * skip is CK_BUF_SCRATCH, one it must write ("embed.y", "add.y") is an
 * output. Members that do not fit together are refused with err. */
ck_case *ck_case_create_fused(uint32_t op, uint32_t dtype, const ck_shape *members, size_t n_members, uint64_t seed,
                              char *err, size_t err_len);
/* The same op instance (fused when n_members > 0: op and dtype from s)
 * with no memory behind it: every buffer is PROT_NONE address space, nothing
 * is generated, and the argument struct is what the real case's would be.
 * For asking a kernel whether it takes a shape at all: one that declines
 * returns CK_E_UNSUPPORTED without touching a buffer, one that accepts
 * faults at its first access. Only ck_case_args, ck_case_run_noreset and
 * ck_case_free apply to it. */
ck_case *ck_case_create_unbacked(const ck_shape *s, const ck_shape *members, size_t n_members, char *err,
                                 size_t err_len);
void ck_case_free(ck_case *c);

/* The call with nothing to do (docs/ops.md, "Empty sizes"): on an unbacked
 * case, its rows (T) or elements (n) set to 0 in the arguments of every
 * member and in its shapes, the pointers kept, so a kernel that touches one
 * faults. *status: what a kernel must return (CK_OK; cross_entropy
 * declines, its mean over no tokens undefined). 0, or -1 for an op whose
 * zero-row call still writes (a backward op's weight gradients: zeros). */
int ck_case_make_empty(ck_case *c, int *status);

/* Packed copies, for bench's cold runs: many copies of a small case, each
 * buffer in its own guarded mapping, cost the kernel three map entries and
 * a page of canaries per buffer (`bench --model tiny-llava`, 318 rows, two
 * threads: 35 s, 11 s packed). In a slab, a copy's buffers below a huge page lie on their
 * own pages one after another in one mapping (transparent huge pages asked
 * for, as the arena's sections), at a page start as ck_case_create puts
 * them, with no guard pages or canaries; larger buffers keep their own
 * mappings. Nothing checks a packed copy's bounds: parity never runs one. */
typedef struct ck_case_slab ck_case_slab;
/* Address space for `copies` packed copies of c, or NULL (then make them
 * with ck_case_create). *own_maps: the mappings each copy still takes. */
ck_case_slab *ck_case_slab_create(const ck_case *c, size_t copies, size_t *own_maps);
/* A copy of c (its shape, members and seed: the same values) in the slab,
 * or, with slab NULL, guarded as ck_case_create makes it; NULL with one
 * line in err. Freed by ck_case_free, before ck_case_slab_free. */
ck_case *ck_case_copy_in(const ck_case *c, ck_case_slab *slab, char *err, size_t err_len);
void ck_case_slab_free(ck_case_slab *slab);

const ck_shape *ck_case_shape(const ck_case *c);
/* A fused case's member i (NULL past the last, or for an unfused case). */
const ck_shape *ck_case_member(const ck_case *c, size_t i);
size_t ck_case_n_bufs(const ck_case *c);
const ck_case_buf *ck_case_buf_at(const ck_case *c, size_t i);
const ck_case_buf *ck_case_find(const ck_case *c, const char *name);
/* Total bytes of all buffers (what the case occupies, without guards). */
size_t ck_case_bytes(const ck_case *c);

/* The op's argument struct (ck_norm_args, ck_linear_args, ...) pointing at
 * the live buffers, as built for a kernel without CK_KF_INPLACE. */
const void *ck_case_args(const ck_case *c);

/* Restore INOUT buffers from their initial contents, poison outputs and re-arm
 * every canary: after this the case is as ck_case_create left it. */
void ck_case_reset(ck_case *c);

/* ck_case_reset, then run kernel k. For a CK_KF_INPLACE kernel the output is
 * first loaded with the op's first input and passed as both (y == x), which
 * is what such a kernel is for. Returns the kernel's status (CK_OK, ...). */
int ck_case_run(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx);

/* Run kernel k without resetting anything: for timing loops, where in-place
 * ops simply keep updating their buffers. */
int ck_case_run_noreset(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx);

/* What buffer i holds when kernel k (its flags) starts a run of c, for a
 * case as ck_case_reset leaves it and no kernel has run on since: the
 * buffer itself, or for the output a CK_KF_INPLACE kernel gets loaded with
 * its input, that input. */
const void *ck_case_bytes_at_start(const ck_case *c, uint32_t kernel_flags, size_t i);

/* After a run: 0 if every canary is intact; else 1 and one sentence in msg
 * naming the buffer, the side (before the start / past the end) and the
 * nearest damaged byte. */
int ck_case_check_guards(const ck_case *c, char *msg, size_t len);

/* The generated contents of input `name` (IN or INOUT), for a caller that
 * wants other values there (parity's special inputs): write them, then
 * ck_case_reset copies them into the live buffer. NULL if there is no such
 * input or the case is unbacked. */
void *ck_case_edit_input(ck_case *c, const char *name);

/* Move every buffer into a fresh mapping, contents kept and the argument
 * struct re-pointed: its data starting at a page start (end_aligned 0: an
 * access before it faults) or ending at a page end (1: an access past it
 * faults). 0, or -1 with err. */
int ck_case_place(ck_case *c, int end_aligned, char *err, size_t len);

/* Map every CK_BUF_IN buffer (and its canaries) read-only, so that a kernel
 * writing an input faults at the write. After it, ck_case_reset still works
 * (it writes inputs and canaries only where they differ). 0, or -1. */
int ck_case_protect_inputs(ck_case *c);
/* Other values in the same input buffers: every f32 / bf16 / f16 input
 * value, and every Q8_0 / Q4_0 block's scale, negated (ids kept), in the
 * live buffers; ck_case_reset puts the generated ones back. Call before
 * ck_case_protect_inputs. */
void ck_case_perturb_inputs(ck_case *c);

/* The whole mapping of buffer i, guard pages included: [*lo, *hi). */
void ck_case_buf_mapping(const ck_case *c, size_t i, uintptr_t *lo, uintptr_t *hi);

/* After a run: 0 if every CK_BUF_IN buffer still holds its initial contents;
 * else 1 and the buffer and first changed element in msg. */
int ck_case_check_inputs(const ck_case *c, char *msg, size_t len);

/* 1 if storage element i of buffer b still holds the poison pattern (the
 * kernel never wrote it); only meaningful for CK_BUF_OUT buffers. */
int ck_case_poisoned(const ck_case_buf *b, size_t i);

/* The poison bit pattern of 4-byte outputs: a finite f32 (about -2.2e30)
 * that no op produces from these inputs. */
#define CK_CASE_POISON_F32 0xF1DEAD01u

/* The first element (of elem_size bytes) where the bytes of a and b
 * differ, or SIZE_MAX where all `bytes` are the same. */
static inline size_t ck_case_first_diff(const void *a, const void *b, size_t bytes, size_t elem_size)
{
    const unsigned char *x = a, *y = b;
    if (memcmp(x, y, bytes) == 0)
        return SIZE_MAX;
    size_t j = 0;
    while (x[j] == y[j])
        j++;
    return j / elem_size;
}

#ifdef __cplusplus
}
#endif
#endif /* CK_CASE_H */
