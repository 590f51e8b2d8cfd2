/* case_buf.c — what the per-op builders build with: guarded buffers
 * (each in its own mapping between PROT_NONE pages, canaries in the rest of
 * its pages, outputs poisoned), the seeded generators, and
 * small helpers. Calls nothing in the builders, so the builders and the
 * dispatcher in case.c depend on it and not on each other. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "case_internal.h"
#include "common/hugepages.h"
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

unsigned char case_canary_byte(size_t i)
{
    return (unsigned char)(0xC5u ^ (unsigned)(i * 0x3Bu));
}

/* Distance in bytes from the buffer to the guard pages' far end: a stray
 * access up to this far (64 KiB) faults rather than landing in some other
 * mapping. Address space only: PROT_NONE pages cost no memory. */
#define GUARD_PAGES 16

static size_t page_size(void)
{
    static size_t ps;
    if (!ps) {
        long p = sysconf(_SC_PAGESIZE);
        ps = p > 0 ? (size_t)p : 4096;
    }
    return ps;
}

int case_map_alloc(case_map *m, size_t bytes, int end_aligned, unsigned char **data)
{
    return case_map_alloc_prot(m, bytes, end_aligned, PROT_READ | PROT_WRITE, data);
}

int case_map_alloc_prot(case_map *m, size_t bytes, int end_aligned, int prot, unsigned char **data)
{
    size_t ps = page_size(), span = (bytes + ps - 1) / ps * ps;
    if (!span)
        span = ps;
    /* A buffer of a huge page or more starts (or, end-aligned, ends) on a
     * huge-page boundary, as the arena's sections do: at a page boundary
     * only, up to two huge pages' worth at its ends stayed on 4 KiB pages
     * (13-35% of a decode out_proj's bytes). Address space only. */
    size_t huge = prot != PROT_NONE && span >= CK_HUGE_PAGE_BYTES ? CK_HUGE_PAGE_BYTES : 0;
    size_t len = span + 2 * GUARD_PAGES * ps + huge;
    void *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return -1;
    m->base = base;
    m->len = len;
    m->lo = m->base + GUARD_PAGES * ps;
    if (huge) {
        uintptr_t edge = (uintptr_t)m->lo + (end_aligned ? span : 0);
        size_t shift = (size_t)((huge - edge % huge) % huge);
        m->lo += shift;
    }
    m->hi = m->lo + span;
    if (prot != PROT_NONE && mprotect(m->lo, span, prot) != 0) {
        munmap(base, len);
        m->base = NULL;
        return -1;
    }
    /* Transparent huge pages where a buffer spans them, as the runtime's
     * arena asks for a model's weights: a kernel that streams several rows
     * side by side reads DRAM slower on 4 KiB pages (decode matvec rows,
     * one thread, interleaved: f16 4096 x 4096 34 -> 39 GB/s, q8_0 32.6 ->
     * 34.5, f32 35.4 -> 38.6), so 4 KiB pages would time a setting that
     * inference does not run in. Advice only: refused, the pages stay. */
    if (prot != PROT_NONE)
        ck_advise_huge(m->lo, span);
    *data = end_aligned ? m->hi - bytes : m->lo;
    return 0;
}

void case_free_init(const ck_case *c, ck_case_buf *b)
{
    if (c->unbacked && b->init)
        munmap((void *)b->init, b->bytes ? b->bytes : 1);
    else
        free((void *)b->init);
    b->init = NULL;
}

void case_map_free(case_map *m)
{
    if (m->base)
        munmap(m->base, m->len);
    m->base = NULL;
}

void case_arm_canaries(ck_case *c, size_t i)
{
    const ck_case_buf *b = &c->bufs[i];
    unsigned char *d = b->data, *end = d + b->bytes;
    for (unsigned char *p = c->map[i].lo; p < d; p++) {
        unsigned char v = case_canary_byte((size_t)(d - p) - 1);
        if (*p != v)
            *p = v;
    }
    for (unsigned char *p = end; p < c->map[i].hi; p++) {
        unsigned char v = case_canary_byte((size_t)(p - end) + GUARD);
        if (*p != v)
            *p = v;
    }
}

void case_poison(ck_case_buf *b)
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
    if (!c->unbacked && c->total_bytes + b->bytes > MAX_CASE_BYTES) {
        case_fail(err, err_len, &c->shape, "needs more than %llu GiB of buffers (at '%s'); reduce the shape",
                  MAX_CASE_BYTES >> 30, name);
        return NULL;
    }
    case_map *m = &c->map[c->n_bufs];
    unsigned char *data;
    c->slab_bytes += case_slab_span(b->bytes);
    if (c->slab && case_slab_carve(c, m, b->bytes, &data) == 0) {
        /* packed: no guard pages, no canaries */
    } else if (case_map_alloc_prot(m, b->bytes, 0, c->unbacked ? PROT_NONE : PROT_READ | PROT_WRITE, &data) != 0) {
        case_fail(err, err_len, &c->shape, "out of memory mapping '%s' (%zu bytes)", name, b->bytes);
        return NULL;
    }
    b->data = data;
    if (!c->unbacked)
        case_arm_canaries(c, c->n_bufs);
    if (c->unbacked) {
        /* zero pages a builder may write a little into (rope tables); the
         * generators leave them alone */
        void *init = mmap(NULL, b->bytes ? b->bytes : 1, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (init == MAP_FAILED) {
            case_map_free(m);
            case_fail(err, err_len, &c->shape, "cannot reserve '%s' (%zu bytes)", name, b->bytes);
            return NULL;
        }
        b->init = init;
    } else if (role == CK_BUF_IN || role == CK_BUF_INOUT) {
        void *init = malloc(b->bytes ? b->bytes : 1);
        if (!init) {
            case_map_free(m);
            case_fail(err, err_len, &c->shape, "out of memory allocating '%s' (%zu bytes)", name, b->bytes);
            return NULL;
        }
        b->init = init;
    } else {
        case_poison(b);
    }
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
    if (c->unbacked)
        return;
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
    if (c->unbacked)
        return;
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
    if (c->unbacked)
        return;
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

int case_rows_ok(const ck_shape *s)
{
    switch (s->op) {
    case CK_OP_RMSNORM_BWD:
    case CK_OP_LAYERNORM_BWD:
    case CK_OP_LINEAR_BWD:
    case CK_OP_QKV_BWD:
    case CK_OP_ATTENTION_BWD: return 1;
    default: return s->T > 0;
    }
}

/* Ids in [0, n), with the last and the first present: the table bounds are
 * where off-by-one errors show. */
void case_gen_ids(const ck_case *c, const char *name, int32_t *ids, size_t T, size_t n)
{
    if (c->unbacked)
        return;
    ck_rng r;
    case_stream(c, name, &r);
    for (size_t t = 0; t < T; t++)
        ids[t] = (int32_t)ck_rng_below(&r, n);
    ids[0] = (int32_t)(n - 1);
    if (T > 1)
        ids[1] = 0;
}

/* ---- building ------------------------------------------------------------------------------- */

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
    case_map_free(&c->map[i]);
    case_free_init(c, b);
    for (size_t j = i; j + 1 < c->n_bufs; j++) {
        c->bufs[j] = c->bufs[j + 1];
        c->map[j] = c->map[j + 1];
        memcpy(c->names[j], c->names[j + 1], sizeof c->names[j]);
    }
    c->n_bufs--;
    for (size_t j = 0; j < c->n_bufs; j++) /* the names moved with their buffers */
        if (c->n_members)
            c->bufs[j].name = c->names[j];
}
