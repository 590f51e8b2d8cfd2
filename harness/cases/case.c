/* One op instance made runnable (see ck_case.h): buffers between canaries,
 * filled from a seeded generator. The per-op builders live in
 * case_forward.c and case_backward.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_internal.h"
#include "ck_rng.h"

/* ---- errors ---------------------------------------------------------------- */

void case_fail(char *err, size_t len, const ck_shape *s, const char *fmt, ...)
{
    if (!err || !len)
        return;
    char desc[160];
    ck_shape_describe(s, desc, sizeof desc);
    int k = snprintf(err, len, "%s: ", desc);
    if (k < 0 || (size_t)k >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, len - (size_t)k, fmt, ap);
    va_end(ap);
}

/* a * b (* c), or 0 with *ok cleared on overflow. */
size_t case_mul(size_t a, size_t b, int *ok)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        *ok = 0;
        return 0;
    }
    return r;
}

/* ---- guarded buffers ------------------------------------------------------------ */

static unsigned char canary_byte(size_t i)
{
    return (unsigned char)(0xC5u ^ (unsigned)(i * 0x3Bu));
}

static void arm_canaries(unsigned char *alloc, size_t bytes)
{
    for (size_t i = 0; i < GUARD; i++) {
        alloc[i] = canary_byte(i);
        alloc[GUARD + bytes + i] = canary_byte(i + GUARD);
    }
}

static void poison(ck_case_buf *b)
{
    if (b->elem_size == 4) {
        uint32_t p = CK_CASE_POISON_F32;
        unsigned char *d = b->data;
        for (size_t i = 0; i < b->count; i++)
            memcpy(d + 4 * i, &p, 4);
    } else {
        memset(b->data, 0xA7, b->bytes);
    }
}

static size_t elem_size_of(uint32_t dtype)
{
    switch (dtype) {
    case CK_DTYPE_F32:
    case CK_DTYPE_I32: return 4;
    case CK_DTYPE_BF16:
    case CK_DTYPE_F16: return 2;
    default: return 1; /* quantised blocks are handled as bytes */
    }
}

/* Storage elements for `values` values of dtype (bytes for quantised). */
static size_t storage_count(uint32_t dtype, size_t values)
{
    if (dtype == CK_DTYPE_Q8_0 || dtype == CK_DTYPE_Q4_0)
        return ck_dtype_row_bytes(dtype, values);
    return values;
}

/* Add a buffer of `values` values; returns its data pointer, NULL on failure. */
void *case_add_buf(ck_case *c, const char *name, ck_buf_role role, uint32_t dtype, size_t values, char *err,
                     size_t err_len)
{
    if (c->n_bufs == CASE_MAX_BUFS) {
        case_fail(err, err_len, &c->shape, "more than %d buffers (at '%s')", CASE_MAX_BUFS, name);
        return NULL;
    }
    ck_case_buf *b = &c->bufs[c->n_bufs];
    b->name = name;
    b->role = role;
    b->dtype = dtype;
    b->elem_size = elem_size_of(dtype);
    b->count = storage_count(dtype, values);
    b->bytes = b->count * b->elem_size;
    b->ndim = 1;
    b->dims[0] = b->count;
    size_t padded = (b->bytes + GUARD - 1) / GUARD * GUARD;
    if (c->total_bytes + b->bytes > MAX_CASE_BYTES) {
        case_fail(err, err_len, &c->shape, "needs more than %llu GiB of buffers (at '%s'); reduce the shape",
             MAX_CASE_BYTES >> 30, name);
        return NULL;
    }
    void *mem = NULL;
    if (posix_memalign(&mem, GUARD, 2 * GUARD + padded) != 0) {
        case_fail(err, err_len, &c->shape, "out of memory allocating '%s' (%zu bytes)", name, b->bytes);
        return NULL;
    }
    unsigned char *alloc = mem;
    memset(alloc, 0, 2 * GUARD + padded);
    arm_canaries(alloc, b->bytes);
    b->data = alloc + GUARD;
    if (role == CK_BUF_IN || role == CK_BUF_INOUT) {
        void *init = malloc(b->bytes ? b->bytes : 1);
        if (!init) {
            free(alloc);
            case_fail(err, err_len, &c->shape, "out of memory allocating '%s' (%zu bytes)", name, b->bytes);
            return NULL;
        }
        b->init = init;
    } else {
        poison(b);
    }
    c->alloc[c->n_bufs] = alloc;
    c->n_bufs++;
    c->total_bytes += b->bytes;
    return b->data;
}

/* The generated contents are written to init (IN/INOUT); this copies them in. */
void *case_init_of(ck_case *c, void *data)
{
    for (size_t i = 0; i < c->n_bufs; i++)
        if (c->bufs[i].data == data)
            return (void *)c->bufs[i].init;
    return NULL;
}

/* Give the buffer at data a logical shape (ignored for quantised blocks,
 * which stay a flat byte array). */
void case_dims(ck_case *c, const void *data, int ndim, size_t d0, size_t d1, size_t d2)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        ck_case_buf *b = &c->bufs[i];
        if (b->data != data || !data || b->elem_size == 1)
            continue;
        size_t d[3] = {d0, d1, d2}, prod = 1;
        for (int k = 0; k < ndim; k++)
            prod *= d[k];
        if (prod != b->count)
            return;
        b->ndim = ndim;
        memcpy(b->dims, d, sizeof d);
    }
}

/* ---- generators ----------------------------------------------------------------------- */

void case_stream(const ck_case *c, const char *name, ck_rng *r)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the buffer name */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    ck_rng_seed(r, c->seed ^ h ^ ((uint64_t)c->shape.op * 0x9E3779B97F4A7C15ull));
}

/* Activations ~ N(0, 1), with about one row in LARGE_ROW_ODDS scaled up: real
 * hidden states have a few outlier tokens and kernels must survive them. */
void case_gen_activations(const ck_case *c, const char *name, float *x, size_t rows, size_t cols)
{
    ck_rng r;
    case_stream(c, name, &r);
    for (size_t t = 0; t < rows; t++) {
        double scale = ck_rng_below(&r, LARGE_ROW_ODDS) == 0 ? LARGE_ROW_SCALE : 1.0;
        for (size_t i = 0; i < cols; i++)
            x[t * cols + i] = (float)(scale * ck_rng_normal(&r));
    }
}

void case_gen_normal(const ck_case *c, const char *name, float *x, size_t n, double mean, double sigma)
{
    ck_rng r;
    case_stream(c, name, &r);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mean + sigma * ck_rng_normal(&r));
}

/* Weights ~ N(0, sigma) in their storage type; quantised blocks get a scale
 * of the right magnitude and random codes. */
static void generate_weights(const ck_case *c, const char *name, void *w, uint32_t dtype, size_t n, double sigma)
{
    ck_rng r;
    case_stream(c, name, &r);
    if (dtype == CK_DTYPE_Q8_0 || dtype == CK_DTYPE_Q4_0) {
        for (size_t blk = 0; blk < n / CK_QBLOCK; blk++) {
            uint16_t d = ck_f32_to_f16((float)(sigma / 40.0 * (0.5 + ck_rng_uniform(&r))));
            if (dtype == CK_DTYPE_Q8_0) {
                ck_block_q8_0 *b = (ck_block_q8_0 *)w + blk;
                memcpy(&b->d, &d, sizeof d);
                for (int i = 0; i < CK_QBLOCK; i++) {
                    double q = nearbyint(40.0 * ck_rng_normal(&r));
                    b->qs[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
                }
            } else {
                ck_block_q4_0 *b = (ck_block_q4_0 *)w + blk;
                memcpy(&b->d, &d, sizeof d);
                for (int i = 0; i < CK_QBLOCK / 2; i++)
                    b->qs[i] = (uint8_t)ck_rng_below(&r, 256);
            }
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v = (float)(sigma * ck_rng_normal(&r));
        switch (dtype) {
        case CK_DTYPE_BF16: ((uint16_t *)w)[i] = ck_f32_to_bf16(v); break;
        case CK_DTYPE_F16: ((uint16_t *)w)[i] = ck_f32_to_f16(v); break;
        default: ((float *)w)[i] = v; break;
        }
    }
}

void case_gen_weights(const ck_case *c, const char *name, void *w, uint32_t dtype, size_t n, double sigma)
{
    case_memo_key key;
    case_memo_key_init(&key, c, name, dtype, n, sigma);
    size_t bytes = ck_dtype_row_bytes(dtype, n);
    if (case_memo_get(&key, w, bytes))
        return;
    generate_weights(c, name, w, dtype, n, sigma);
    case_memo_put(&key, w, bytes);
}

int case_is_weight_dtype(uint32_t d, int allow_quant)
{
    return d == CK_DTYPE_F32 || d == CK_DTYPE_BF16 || d == CK_DTYPE_F16 ||
           (allow_quant && (d == CK_DTYPE_Q8_0 || d == CK_DTYPE_Q4_0));
}

int case_need(int cond, char *err, size_t err_len, const ck_shape *s, const char *what)
{
    if (!cond)
        case_fail(err, err_len, s, "%s", what);
    return cond;
}

/* Ids in [0, n), with the last and the first present: the table bounds are
 * where off-by-one errors show. */
void case_gen_ids(const ck_case *c, const char *name, int32_t *ids, size_t T, size_t n)
{
    ck_rng r;
    case_stream(c, name, &r);
    for (size_t t = 0; t < T; t++)
        ids[t] = (int32_t)ck_rng_below(&r, n);
    ids[0] = (int32_t)(n - 1);
    if (T > 1)
        ids[1] = 0;
}

/* ---- building ------------------------------------------------------------------------------- */

int ck_case_supports(uint32_t op)
{
    return (op >= CK_OP_RMSNORM && op <= CK_OP_DEQUANTIZE) || (op >= CK_OP_RMSNORM_BWD && op <= CK_OP_CROSS_ENTROPY) ||
           (op >= CK_OP_EMBED_NORM && op <= CK_OP_ADD_NORM);
}

ck_case_buf *case_buf_of(ck_case *c, const void *data)
{
    for (size_t i = 0; data && i < c->n_bufs; i++)
        if (c->bufs[i].data == data)
            return &c->bufs[i];
    return NULL;
}

void case_drop_buf(ck_case *c, const void *data)
{
    ck_case_buf *b = case_buf_of(c, data);
    if (!b)
        return;
    size_t i = (size_t)(b - c->bufs);
    c->total_bytes -= b->bytes;
    free(c->alloc[i]);
    free((void *)b->init);
    for (size_t j = i; j + 1 < c->n_bufs; j++) {
        c->bufs[j] = c->bufs[j + 1];
        c->alloc[j] = c->alloc[j + 1];
        memcpy(c->names[j], c->names[j + 1], sizeof c->names[j]);
    }
    c->n_bufs--;
    for (size_t j = 0; j < c->n_bufs; j++) /* the names moved with their buffers */
        if (c->n_members)
            c->bufs[j].name = c->names[j];
}

static int build(ck_case *c, char *err, size_t err_len)
{
    uint32_t op = c->shape.op;
    if (op >= CK_OP_RMSNORM && op <= CK_OP_DEQUANTIZE)
        return case_build_forward(c, err, err_len);
    if (op >= CK_OP_RMSNORM_BWD && op <= CK_OP_CROSS_ENTROPY)
        return case_build_backward(c, err, err_len);
    if (op >= CK_OP_EMBED_NORM && op <= CK_OP_ADD_NORM && c->n_members)
        return case_build_fused(c, err, err_len);
    case_fail(err, err_len, &c->shape, "parity cannot build cases of op id %u (%s) yet", op, ck_op_name(op));
    return -1;
}

/* ---- public API ------------------------------------------------------------------------ */

ck_case *ck_case_create(const ck_shape *s, uint64_t seed, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    ck_case *c = calloc(1, sizeof *c);
    if (!c) {
        case_fail(err, err_len, s, "out of memory");
        return NULL;
    }
    c->shape = *s;
    c->seed = seed;
    if (build(c, err, err_len) != 0) {
        ck_case_free(c);
        return NULL;
    }
    ck_case_reset(c);
    return c;
}

ck_case *ck_case_create_fused(uint32_t op, uint32_t dtype, const ck_shape *members, size_t n_members,
                              uint64_t seed, char *err, size_t err_len)
{
    ck_shape s = {.op = op, .dtype = dtype};
    if (n_members < 2 || n_members > CASE_MAX_MEMBERS) {
        case_fail(err, err_len, &s, "a fused op has 2 to %d members, found %zu", CASE_MAX_MEMBERS, n_members);
        return NULL;
    }
    if (err && err_len)
        err[0] = 0;
    ck_case *c = calloc(1, sizeof *c);
    if (!c) {
        case_fail(err, err_len, &s, "out of memory");
        return NULL;
    }
    c->shape = s;
    c->seed = seed;
    memcpy(c->members, members, n_members * sizeof *members);
    c->n_members = n_members;
    if (build(c, err, err_len) != 0) {
        ck_case_free(c);
        return NULL;
    }
    ck_case_reset(c);
    return c;
}

void ck_case_free(ck_case *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_bufs; i++) {
        free(c->alloc[i]);
        free((void *)c->bufs[i].init);
    }
    free(c);
}

const ck_shape *ck_case_shape(const ck_case *c) { return &c->shape; }
size_t ck_case_n_bufs(const ck_case *c) { return c->n_bufs; }
size_t ck_case_bytes(const ck_case *c) { return c->total_bytes; }
const void *ck_case_args(const ck_case *c) { return &c->args; }

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

void ck_case_reset(ck_case *c)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        ck_case_buf *b = &c->bufs[i];
        arm_canaries(c->alloc[i], b->bytes);
        if (!ck_case_buf_is_input(b))
            poison(b);
        else if (b->role == CK_BUF_INOUT || memcmp(b->data, b->init, b->bytes) != 0)
            memcpy(b->data, b->init, b->bytes); /* inputs: write only if a kernel broke them */
    }
}

/* For a CK_KF_INPLACE kernel: load the output with the op's first input and
 * point the input at it. Ops without an in-place form keep their args. */
static void make_inplace(const ck_case *c, case_args *a)
{
    switch (c->shape.op) {
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM:
        memcpy(a->norm.y, a->norm.x, c->shape.T * c->shape.D * sizeof(float));
        a->norm.x = a->norm.y;
        break;
    case CK_OP_SWIGLU:
        memcpy(a->swiglu.y, a->swiglu.gate, a->swiglu.n * sizeof(float));
        a->swiglu.gate = a->swiglu.y;
        break;
    case CK_OP_GELU:
        memcpy(a->unary.y, a->unary.x, a->unary.n * sizeof(float));
        a->unary.x = a->unary.y;
        break;
    case CK_OP_ADD:
        memcpy(a->add.y, a->add.a, a->add.n * sizeof(float));
        a->add.a = a->add.y;
        break;
    default: break;
    }
}

int ck_case_run_noreset(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx)
{
    if (!(k->flags & CK_KF_INPLACE))
        return k->fn(ctx, &c->args);
    case_args a = c->args;
    make_inplace(c, &a);
    return k->fn(ctx, &a);
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
        const unsigned char *front = c->alloc[i], *back = front + GUARD + b->bytes;
        /* report the damaged byte nearest the buffer: that is the bad index */
        for (size_t j = 0; j < GUARD; j++) {
            if (back[j] != canary_byte(j + GUARD)) {
                snprintf(msg, len,
                         "out-of-bounds write past the end of '%s' (byte %zu after its last byte, i.e. element %zu "
                         "of %zu)",
                         b->name, j, (b->bytes + j) / b->elem_size, b->count);
                return 1;
            }
        }
        for (size_t j = GUARD; j-- > 0;) {
            if (front[j] != canary_byte(j)) {
                snprintf(msg, len, "out-of-bounds write before the start of '%s' (%zu bytes before element 0)",
                         b->name, GUARD - j);
                return 1;
            }
        }
    }
    return 0;
}

int ck_case_check_inputs(const ck_case *c, char *msg, size_t len)
{
    for (size_t i = 0; i < c->n_bufs; i++) {
        const ck_case_buf *b = &c->bufs[i];
        if (b->role != CK_BUF_IN || memcmp(b->data, b->init, b->bytes) == 0)
            continue;
        const unsigned char *d = b->data, *o = b->init;
        size_t j = 0;
        while (j < b->bytes && d[j] == o[j])
            j++;
        snprintf(msg, len, "modified its read-only input '%s' (first at element %zu of %zu)", b->name,
                 j / b->elem_size, b->count);
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
