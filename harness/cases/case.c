/* case.c — one op instance made runnable (see ck_case.h): dispatch to the
 * per-op builders through case_ops.def's table, the
 * public API, running a kernel on the case, and checking its guards. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "case_internal.h"
#include "ck_rng.h"

/* Multiply-adds of the reference per row (case_ops.def's rows column). */
static double rows_norm(const ck_shape *s)
{
    return 4.0 * (double)s->D;
}
static double rows_linear(const ck_shape *s)
{
    return (double)s->K * (double)s->N;
}
static double rows_qkv(const ck_shape *s)
{
    return (double)s->D * (double)(s->n_heads + 2 * s->n_kv_heads) * (double)s->head_dim;
}
static double rows_rope(const ck_shape *s)
{
    return (double)(s->n_heads + s->n_kv_heads) * (double)s->head_dim;
}
static double rows_attention(const ck_shape *s)
{
    return 2.0 * (double)s->S * (double)s->n_heads * (double)s->head_dim;
}
static double rows_embedding(const ck_shape *s)
{
    return (double)s->D;
}

/* The in-place form: the offsets of its input and output pointers in the
 * argument struct (has 0: none). */
typedef struct case_inplace {
    int has;
    size_t in, out;
} case_inplace;

static const struct case_op {
    case_builder build;
    double (*rows)(const ck_shape *s);
    case_inplace inplace;
} case_ops[CK_OP_COUNT] = {
/* clang-format off */
#define IP(args, in, out) {1, offsetof(args, in), offsetof(args, out)}
#define NO_IP {0, 0, 0}
/* clang-format on */
#define CK_CASE_OP(ID, build, rows, inplace, inputs, bounds) [CK_OP_##ID] = {build, rows, inplace},
#include "case_ops.def"
#undef CK_CASE_OP
#undef IP
#undef NO_IP
};

/* case_ops.def has one line per op of ck_ops.def, in its order: a missing
 * line is an undeclared CASE_SEQ_<op>, a misplaced one a failed assert. */
enum case_op_seq {
#define CK_CASE_OP(ID, build, rows, inplace, inputs, bounds) CASE_SEQ_##ID,
#include "case_ops.def"
#undef CK_CASE_OP
    CASE_SEQ_COUNT
};
#define CK_OP_ENTRY(ID, num, ...)                                                                                      \
    _Static_assert(CASE_SEQ_##ID + 1 == (num), "harness/cases/case_ops.def: the line of " #ID " is out of place");
#include "ck_ops.def"
#undef CK_OP_ENTRY
_Static_assert(CASE_SEQ_COUNT == CK_OP_COUNT - 1, "harness/cases/case_ops.def: one line per op of core/ck_ops.def");
/* A new op's argument struct needs its member in case_args. */
#define CK_OP_ENTRY(ID, num, name, args, ...)                                                                          \
    _Static_assert(sizeof(args) <= sizeof(case_args), "case_internal.h: case_args lacks " #args);
#include "ck_ops.def"
#undef CK_OP_ENTRY

static const struct case_op *op_of(uint32_t op)
{
    return op > 0 && op < CK_OP_COUNT && case_ops[op].build ? &case_ops[op] : NULL;
}

int ck_case_supports(uint32_t op)
{
    return op_of(op) != NULL;
}

int ck_case_has_rows(uint32_t op)
{
    return op_of(op) && op_of(op)->rows;
}

double ck_case_row_work(const ck_shape *s)
{
    return ck_case_has_rows(s->op) ? op_of(s->op)->rows(s) : 0;
}

static int build_any(ck_case *c, char *err, size_t err_len);
static int inplace_args(ck_case *c, case_args *a, int load);

/* Build, then hold the arguments to docs/ops.md's rules (ck_op_check_args),
 * and those an in-place kernel gets too (y == x): a case the host would
 * refuse is a builder bug, never a kernel's failure, and no kernel is ever
 * run on arguments the host has not checked. */
static int build(ck_case *c, char *err, size_t err_len)
{
    if (build_any(c, err, err_len) != 0)
        return -1;
    char why[CK_ERR_LEN];
    case_args in_place = c->args;
    if (ck_op_check_args(c->shape.op, &c->args, why, sizeof why) == 0 &&
        (!inplace_args(c, &in_place, 0) || ck_op_check_args(c->shape.op, &in_place, why, sizeof why) == 0))
        return 0;
    case_fail(err, err_len, &c->shape, "internal: the case's arguments break the op's rules: %s", why);
    return -1;
}

static int build_any(ck_case *c, char *err, size_t err_len)
{
    uint32_t op = c->shape.op;
    if (op_of(op) && (ck_op_kind(op) != CK_OPK_FUSED || c->n_members))
        return op_of(op)->build(c, err, err_len);
    case_fail(err, err_len, &c->shape, "parity cannot build cases of op id %u (%s) yet", op, ck_op_name(op));
    return -1;
}

int case_build_op(ck_case *c, char *err, size_t err_len)
{
    return build_any(c, err, err_len);
}

/* ---- public API ------------------------------------------------------------------------ */

static ck_case *create(const ck_shape *s, const ck_shape *members, size_t n_members, int unbacked, uint64_t seed,
                       ck_case_slab *slab, char *err, size_t err_len)
{
    if (n_members && (n_members < 2 || n_members > CASE_MAX_MEMBERS)) {
        case_fail(err, err_len, s, "a fused op has 2 to %d members, found %zu", CASE_MAX_MEMBERS, n_members);
        return NULL;
    }
    if (err && err_len)
        err[0] = 0;
    ck_case *c = calloc(1, sizeof *c);
    if (!c) {
        case_fail(err, err_len, s, "out of memory");
        return NULL;
    }
    c->shape = *s;
    c->seed = seed;
    c->unbacked = unbacked;
    c->slab = slab;
    if (n_members)
        memcpy(c->members, members, n_members * sizeof *members);
    c->n_members = n_members;
    if (build(c, err, err_len) != 0) {
        ck_case_free(c);
        return NULL;
    }
    if (!unbacked)
        ck_case_reset(c);
    return c;
}

ck_case *ck_case_create(const ck_shape *s, uint64_t seed, char *err, size_t err_len)
{
    return create(s, NULL, 0, 0, seed, NULL, err, err_len);
}

ck_case *ck_case_create_fused(uint32_t op, uint32_t dtype, const ck_shape *members, size_t n_members, uint64_t seed,
                              char *err, size_t err_len)
{
    ck_shape s = {.op = op, .dtype = dtype};
    if (n_members < 2) {
        case_fail(err, err_len, &s, "a fused op has 2 to %d members, found %zu", CASE_MAX_MEMBERS, n_members);
        return NULL;
    }
    return create(&s, members, n_members, 0, seed, NULL, err, err_len);
}

ck_case *ck_case_create_unbacked(const ck_shape *s, const ck_shape *members, size_t n_members, char *err,
                                 size_t err_len)
{
    return create(s, members, n_members, 1, 0, NULL, err, err_len);
}

ck_case *ck_case_copy_in(const ck_case *c, ck_case_slab *slab, char *err, size_t err_len)
{
    return create(&c->shape, c->members, c->n_members, 0, c->seed, slab, err, err_len);
}

void ck_case_free(ck_case *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_bufs; i++) {
        case_map_free(&c->map[i]);
        case_free_init(c, &c->bufs[i]);
    }
    free(c);
}

const ck_shape *ck_case_shape(const ck_case *c)
{
    return &c->shape;
}

float case_attention_scale(const ck_shape *s)
{
    return s->scale != 0.0f ? s->scale : (float)(1.0 / sqrt((double)s->head_dim));
}

const ck_shape *ck_case_member(const ck_case *c, size_t i)
{
    return i < c->n_members ? &c->members[i] : NULL;
}
size_t ck_case_n_bufs(const ck_case *c)
{
    return c->n_bufs;
}
size_t ck_case_bytes(const ck_case *c)
{
    return c->total_bytes;
}
const void *ck_case_args(const ck_case *c)
{
    return &c->args;
}

const ck_case_buf *ck_case_buf_at(const ck_case *c, size_t i)
{
    return i < c->n_bufs ? &c->bufs[i] : NULL;
}

const ck_case_buf *ck_case_find(const ck_case *c, const char *name)
{
    for (size_t i = 0; i < c->n_bufs; i++)
        if (strcmp(c->bufs[i].name, name) == 0)
            return &c->bufs[i];
    return NULL;
}

void *ck_case_edit_input(ck_case *c, const char *name)
{
    for (size_t i = 0; i < c->n_bufs && !c->unbacked; i++)
        if (ck_case_buf_is_input(&c->bufs[i]) && strcmp(c->bufs[i].name, name) == 0)
            return (void *)c->bufs[i].init;
    return NULL;
}

void ck_case_reset(ck_case *c)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        ck_case_buf *b = &c->bufs[i];
        case_arm_canaries(c, i);
        if (!ck_case_buf_is_input(b))
            case_poison(b);
        else if (b->role == CK_BUF_INOUT || memcmp(b->data, b->init, b->bytes) != 0)
            memcpy(b->data, b->init, b->bytes); /* inputs: write only if a kernel broke them */
    }
}

/* For a CK_KF_INPLACE kernel: point the op's first input at its output,
 * with load, after copying the input's contents there. 0 if the op has no
 * in-place form (a unchanged), else 1. */
static int inplace_args(ck_case *c, case_args *a, int load)
{
    const struct case_op *o = op_of(c->shape.op);
    if (!o || !o->inplace.has)
        return 0;
    void *in, *out;
    memcpy(&in, (char *)a + o->inplace.in, sizeof in);
    memcpy(&out, (char *)a + o->inplace.out, sizeof out);
    const ck_case_buf *b = case_buf_of(c, out);
    if (load && !c->unbacked && b)
        memcpy(out, in, b->bytes);
    memcpy((char *)a + o->inplace.in, &out, sizeof out);
    return 1;
}

int ck_case_run_noreset(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx)
{
    if (!(k->flags & CK_KF_INPLACE))
        return k->fn(ctx, &c->args);
    case_args a = c->args;
    inplace_args(c, &a, 1);
    return k->fn(ctx, &a);
}
const void *ck_case_bytes_at_start(const ck_case *c, uint32_t kernel_flags, size_t i)
{
    const struct case_op *o = op_of(c->shape.op);
    const void *data = c->bufs[i].data;
    if ((kernel_flags & CK_KF_INPLACE) && o && o->inplace.has) {
        const void *in, *out;
        memcpy(&in, (const char *)&c->args + o->inplace.in, sizeof in);
        memcpy(&out, (const char *)&c->args + o->inplace.out, sizeof out);
        if (out == data)
            return in;
    }
    return data;
}

int ck_case_run(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx)
{
    ck_case_reset(c);
    return ck_case_run_noreset(c, k, ctx);
}

int ck_case_check_guards(const ck_case *c, char *msg, size_t len)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        const ck_case_buf *b = &c->bufs[i];
        const unsigned char *d = b->data, *end = d + b->bytes;
        /* report the damaged byte nearest the buffer: that is the bad index */
        for (const unsigned char *p = end; p < c->map[i].hi; p++) {
            size_t j = (size_t)(p - end);
            if (*p != case_canary_byte(j + GUARD)) {
                snprintf(msg, len,
                         "out-of-bounds write past the end of '%s' (byte %zu after its last byte, i.e. element %zu "
                         "of %zu)",
                         b->name, j, (b->bytes + j) / b->elem_size, b->count);
                return 1;
            }
        }
        for (const unsigned char *p = d; p-- > c->map[i].lo;) {
            size_t back = (size_t)(d - p);
            if (*p != case_canary_byte(back - 1)) {
                snprintf(msg, len, "out-of-bounds write before the start of '%s' (%zu bytes before element 0)", b->name,
                         back);
                return 1;
            }
        }
    }
    return 0;
}

/* Point every pointer of the argument struct that lies in [from, from +
 * bytes) at the same offset of to. The structs hold only pointers and
 * scalars, pointers aligned: a size or flag is never a live heap address. */
static void rebase_args(ck_case *c, const unsigned char *from, size_t bytes, unsigned char *to)
{
    uintptr_t lo = (uintptr_t)from, hi = lo + (bytes ? bytes : 1);
    unsigned char *a = (unsigned char *)&c->args;
    for (size_t off = 0; off + sizeof(uintptr_t) <= sizeof c->args; off += _Alignof(void *)) {
        uintptr_t v;
        memcpy(&v, a + off, sizeof v);
        if (v >= lo && v < hi) {
            v = (uintptr_t)to + (v - lo);
            memcpy(a + off, &v, sizeof v);
        }
    }
}

int ck_case_place(ck_case *c, int end_aligned, char *err, size_t len)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        ck_case_buf *b = &c->bufs[i];
        unsigned char *at = b->data;
        if (end_aligned ? at + b->bytes == c->map[i].hi : at == c->map[i].lo)
            continue; /* already there (a whole number of pages): no copy of a large weight */
        case_map m;
        unsigned char *data;
        if (case_map_alloc(&m, b->bytes, end_aligned, &data) != 0) {
            case_fail(err, len, &c->shape, "cannot map '%s' again (%zu bytes)", b->name, b->bytes);
            return -1;
        }
        memcpy(data, b->data, b->bytes);
        rebase_args(c, b->data, b->bytes, data);
        case_map_free(&c->map[i]);
        c->map[i] = m;
        b->data = data;
        case_arm_canaries(c, i);
    }
    return 0;
}

void ck_case_perturb_inputs(ck_case *c)
{
    for (size_t i = 0; i < c->n_bufs && !c->unbacked; i++) {
        ck_case_buf *b = &c->bufs[i];
        if (!ck_case_buf_is_input(b) || b->dtype == CK_DTYPE_I32)
            continue;
        /* the sign bit: the top byte of a little-endian float, or of a
         * block's leading f16 scale */
        const int quant = b->dtype == CK_DTYPE_Q8_0 || b->dtype == CK_DTYPE_Q4_0;
        const size_t step = quant ? ck_dtype_row_bytes(b->dtype, CK_QBLOCK) : b->elem_size;
        const size_t sign = quant ? 1 : b->elem_size - 1;
        unsigned char *d = b->data;
        for (size_t o = 0; o + step <= b->bytes; o += step)
            d[o + sign] ^= 0x80;
    }
}

int ck_case_protect_inputs(ck_case *c)
{
    for (size_t i = 0; i < c->n_bufs; i++)
        if (c->bufs[i].role == CK_BUF_IN &&
            mprotect(c->map[i].lo, (size_t)(c->map[i].hi - c->map[i].lo), PROT_READ) != 0)
            return -1;
    return 0;
}

void ck_case_buf_mapping(const ck_case *c, size_t i, uintptr_t *lo, uintptr_t *hi)
{
    *lo = (uintptr_t)c->map[i].base;
    *hi = *lo + c->map[i].len;
}

int ck_case_check_inputs(const ck_case *c, char *msg, size_t len)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        const ck_case_buf *b = &c->bufs[i];
        size_t j = b->role == CK_BUF_IN ? ck_case_first_diff(b->data, b->init, b->bytes, b->elem_size) : SIZE_MAX;
        if (j == SIZE_MAX)
            continue;
        snprintf(msg, len, "modified its read-only input '%s' (first at element %zu of %zu)", b->name, j, b->count);
        return 1;
    }
    return 0;
}

int ck_case_poisoned(const ck_case_buf *b, size_t i)
{
    if (b->elem_size != 4 || i >= b->count)
        return 0; /* byte outputs: the pattern is a legal value, cannot tell */
    uint32_t u;
    memcpy(&u, (const unsigned char *)b->data + 4 * i, 4);
    return u == CK_CASE_POISON_F32;
}
