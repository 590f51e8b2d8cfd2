/* gguf.c — the GGUF reader (ck_gguf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ck_gguf.h"
#include "ck_plugin.h"

typedef struct cursor {
    const unsigned char *p;
    size_t at, size;
    const char *path;
    char *err;
    size_t err_len;
    int failed;
} cursor;

static int bad(cursor *c, const char *fmt, ...)
{
    if (!c->failed && c->err && c->err_len) {
        int k = snprintf(c->err, c->err_len, "%s: ", c->path);
        va_list ap;
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < c->err_len)
            vsnprintf(c->err + k, c->err_len - (size_t)k, fmt, ap);
        va_end(ap);
    }
    c->failed = 1;
    return -1;
}

static int take(cursor *c, void *dst, size_t n, const char *what)
{
    if (c->failed)
        return -1;
    if (n > c->size - c->at)
        return bad(c, "truncated: %s at byte %zu needs %zu bytes, the file has %zu", what, c->at, n, c->size);
    memcpy(dst, c->p + c->at, n);
    c->at += n;
    return 0;
}

static uint32_t u32(cursor *c, const char *what)
{
    uint32_t v = 0;
    take(c, &v, 4, what);
    return v;
}

static uint64_t u64(cursor *c, const char *what)
{
    uint64_t v = 0;
    take(c, &v, 8, what);
    return v;
}

static int skip(cursor *c, uint64_t n, const char *what)
{
    if (c->failed)
        return -1;
    if (n > c->size - c->at)
        return bad(c, "truncated: %s at byte %zu needs %llu bytes", what, c->at, (unsigned long long)n);
    c->at += (size_t)n;
    return 0;
}

static int string(cursor *c, char *dst, size_t cap, const char *what)
{
    uint64_t n = u64(c, what);
    if (c->failed)
        return -1;
    if (n > c->size - c->at)
        return bad(c, "truncated: %s of %llu bytes at byte %zu", what, (unsigned long long)n, c->at);
    if (dst) {
        if (n >= cap)
            return bad(c, "%s is %llu bytes long, at most %zu allowed", what, (unsigned long long)n, cap - 1);
        memcpy(dst, c->p + c->at, (size_t)n);
        dst[n] = 0;
    }
    c->at += (size_t)n;
    return 0;
}

static const uint8_t scalar_size[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static int skip_value(cursor *c, uint32_t type, int depth, uint32_t *alignment, int is_alignment)
{
    if (type == 8)
        return string(c, NULL, 0, "metadata string");
    if (type == 9) {
        if (depth > 2)
            return bad(c, "metadata arrays nested too deep");
        uint32_t et = u32(c, "array type");
        uint64_t n = u64(c, "array length");
        if (c->failed)
            return -1;
        if (et > 12)
            return bad(c, "metadata array of unknown type %u", et);
        if (et != 8 && et != 9) {
            if (n > (c->size - c->at) / scalar_size[et])
                return bad(c, "truncated: metadata array of %llu items", (unsigned long long)n);
            return skip(c, n * scalar_size[et], "metadata array");
        }
        for (uint64_t i = 0; i < n && !c->failed; i++)
            skip_value(c, et, depth + 1, NULL, 0);
        return c->failed ? -1 : 0;
    }
    if (type > 12)
        return bad(c, "metadata value of unknown type %u", type);
    if (is_alignment && type == 4 && alignment) {
        *alignment = u32(c, "general.alignment");
        return c->failed ? -1 : 0;
    }
    return skip(c, scalar_size[type], "metadata value");
}

const char *ck_gguf_ggml_type_name(uint32_t t)
{
    static const char *const names[] = {
        "f32",   "f16",    "q4_0", "q4_1", "q4_2", "q4_3",    "q5_0",   "q5_1",    "q8_0",  "q8_1",   "q2_k",
        "q3_k",  "q4_k",   "q5_k", "q6_k", "q8_k", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s",
        "iq2_s", "iq4_xs", "i8",   "i16",  "i32",  "i64",     "f64",    "iq1_m",   "bf16",
    };
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

uint32_t ck_gguf_dtype_of(uint32_t t)
{
    switch (t) {
    case CK_GGML_F32: return CK_DTYPE_F32;
    case CK_GGML_F16: return CK_DTYPE_F16;
    case CK_GGML_BF16: return CK_DTYPE_BF16;
    case CK_GGML_Q8_0: return CK_DTYPE_Q8_0;
    case CK_GGML_Q4_0: return CK_DTYPE_Q4_0;
    default: return 0;
    }
}

uint32_t ck_gguf_ggml_type_of(uint32_t dtype)
{
    switch (dtype) {
    case CK_DTYPE_F32: return CK_GGML_F32;
    case CK_DTYPE_F16: return CK_GGML_F16;
    case CK_DTYPE_BF16: return CK_GGML_BF16;
    case CK_DTYPE_Q8_0: return CK_GGML_Q8_0;
    case CK_DTYPE_Q4_0: return CK_GGML_Q4_0;
    default: return UINT32_MAX;
    }
}

static int read_tensor_info(cursor *c, ck_gguf_tensor *t, size_t i)
{
    if (string(c, t->name, sizeof t->name, "tensor name"))
        return -1;
    t->n_dims = u32(c, "tensor n_dims");
    if (!c->failed && (t->n_dims == 0 || t->n_dims > 4))
        return bad(c, "tensor %zu \"%s\": n_dims %u, expected 1 to 4", i, t->name, t->n_dims);
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims && !c->failed; d++) {
        t->dims[d] = u64(c, "tensor dimension");
        if (t->dims[d] == 0 || n > UINT64_MAX / t->dims[d])
            return bad(c, "tensor \"%s\": dimension %u is %llu (zero or overflowing)", t->name, d,
                       (unsigned long long)t->dims[d]);
        n *= t->dims[d];
    }
    t->ggml_type = u32(c, "tensor type");
    t->dtype = ck_gguf_dtype_of(t->ggml_type);
    if (!c->failed && !t->dtype)
        return bad(c, "tensor \"%s\": ggml type %u (%s) is not implemented; expected f32, f16, bf16, q8_0 or q4_0",
                   t->name, t->ggml_type, ck_gguf_ggml_type_name(t->ggml_type));
    if (!c->failed && (t->dtype == CK_DTYPE_Q8_0 || t->dtype == CK_DTYPE_Q4_0) && t->dims[0] % CK_QBLOCK)
        return bad(c, "tensor \"%s\": %s rows of %llu values are not whole 32-value blocks", t->name,
                   t->dtype == CK_DTYPE_Q8_0 ? "q8_0" : "q4_0", (unsigned long long)t->dims[0]);
    uint64_t bytes = t->dtype == CK_DTYPE_Q8_0   ? n / CK_QBLOCK * 34
                     : t->dtype == CK_DTYPE_Q4_0 ? n / CK_QBLOCK * 18
                                                 : n * (t->dtype == CK_DTYPE_F32 ? 4 : 2);
    t->bytes = (size_t)bytes;
    uint64_t off = u64(c, "tensor offset");
    t->data = (const void *)(uintptr_t)off; /* relative until the data section is known */
    return c->failed ? -1 : 0;
}

/* One metadata entry: its key and where its value lies, the value checked
 * (and skipped) by skip_value. */
static void read_kv(cursor *c, ck_gguf_kv *kv, uint32_t *alignment)
{
    uint64_t n = u64(c, "metadata key length");
    if (c->failed)
        return;
    if (n == 0 || n > 65535 || n > c->size - c->at) {
        bad(c, "metadata key of %llu bytes at byte %zu: expected 1 to 65535 bytes inside the file",
            (unsigned long long)n, c->at);
        return;
    }
    kv->key = (const char *)c->p + c->at;
    kv->key_len = (size_t)n;
    c->at += (size_t)n;
    kv->type = u32(c, "metadata type");
    kv->value = c->p + c->at;
    int is_alignment = kv->key_len == 17 && memcmp(kv->key, "general.alignment", 17) == 0;
    if (skip_value(c, kv->type, 0, alignment, is_alignment) || kv->type != 9)
        return;
    memcpy(&kv->array_type, kv->value, 4); /* skip_value read both */
    memcpy(&kv->array_len, kv->value + 4, 8);
    kv->value += 12;
}

static void read_header(cursor *c, ck_gguf *g)
{
    char magic[4] = {0};
    take(c, magic, 4, "magic");
    if (!c->failed && memcmp(magic, "GGUF", 4) != 0)
        bad(c, "not a GGUF file (magic is not \"GGUF\")");
    g->version = u32(c, "version");
    if (!c->failed && (g->version < 2 || g->version > 3))
        bad(c, "GGUF version %u, expected 2 or 3", g->version);
    uint64_t nt = u64(c, "tensor count"), nkv = u64(c, "metadata count");
    /* the smallest tensor entry is 24 bytes, the smallest metadata entry 13 */
    if (!c->failed && nt > c->size / 24)
        bad(c, "tensor count %llu cannot fit in %zu bytes", (unsigned long long)nt, c->size);
    if (!c->failed && nkv > c->size / 13)
        bad(c, "metadata count %llu cannot fit in %zu bytes", (unsigned long long)nkv, c->size);
    if (!c->failed && !(g->kvs = calloc(nkv ? nkv : 1, sizeof *g->kvs)))
        bad(c, "out of memory for %llu metadata entries", (unsigned long long)nkv);
    g->n_tensors = c->failed ? 0 : (size_t)nt;
    g->n_kvs = c->failed ? 0 : (size_t)nkv;
}

int ck_gguf_parse(ck_gguf *g, const void *data, size_t size, const char *name, char *err, size_t err_len)
{
    void *map = g->map; /* ck_gguf_open's mapping, if any */
    memset(g, 0, sizeof *g);
    g->map = map;
    g->map_size = size;
    g->bytes = data;
    cursor c = {data, 0, size, name, err, err_len, 0};
    read_header(&c, g);
    uint32_t alignment = 32;
    for (size_t i = 0; i < g->n_kvs && !c.failed; i++)
        read_kv(&c, &g->kvs[i], &alignment);
    if (!c.failed && (alignment == 0 || (alignment & (alignment - 1))))
        bad(&c, "general.alignment %u is not a power of two", alignment);
    if (!c.failed && !(g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors)))
        bad(&c, "out of memory for %zu tensors", g->n_tensors);
    for (size_t i = 0; i < g->n_tensors && !c.failed; i++)
        read_tensor_info(&c, &g->tensors[i], i);
    /* only once the alignment is known good (a failed file may have 0) */
    size_t start = c.failed ? 0 : (c.at + alignment - 1) / alignment * alignment;
    for (size_t i = 0; i < g->n_tensors && !c.failed; i++) {
        ck_gguf_tensor *t = &g->tensors[i];
        uint64_t off = (uint64_t)(uintptr_t)t->data;
        if (off % alignment || start > size || off > size - start || t->bytes > size - start - off)
            bad(&c, "tensor \"%s\": data at offset %llu (+%zu bytes) lies outside the file or is misaligned", t->name,
                (unsigned long long)off, t->bytes);
        else
            t->data = (const unsigned char *)data + start + off;
    }
    if (c.failed) {
        ck_gguf_close(g);
        return -1;
    }
    return 0;
}

int ck_gguf_open(ck_gguf *g, const char *path, char *err, size_t err_len)
{
    memset(g, 0, sizeof *g);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, err_len, "%s: cannot map (%zu bytes): %s", path, size, size ? strerror(errno) : "empty file");
        return -1;
    }
    g->map = map;
    return ck_gguf_parse(g, map, size, path, err, err_len);
}

void ck_gguf_close(ck_gguf *g)
{
    if (g->map)
        munmap(g->map, g->map_size);
    free(g->tensors);
    free(g->kvs);
    memset(g, 0, sizeof *g);
}

const ck_gguf_kv *ck_gguf_kv_find(const ck_gguf *g, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < g->n_kvs; i++)
        if (g->kvs[i].key_len == n && memcmp(g->kvs[i].key, key, n) == 0)
            return &g->kvs[i];
    return NULL;
}

/* gguf types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 10 u64, 11 i64, 12 f64 */
static int kv_integer(const ck_gguf_kv *kv, int64_t *out)
{
    uint8_t b[8] = {0};
    if (!kv || kv->type == 6 || kv->type == 8 || kv->type == 9 || kv->type == 12 || kv->type > 12)
        return -1;
    memcpy(b, kv->value, scalar_size[kv->type]);
    uint64_t u = 0;
    memcpy(&u, b, 8); /* little-endian, zero-extended */
    switch (kv->type) {
    case 1: *out = (int8_t)b[0]; return 0;
    case 3: *out = (int16_t)(u & 0xffff); return 0;
    case 5: *out = (int32_t)(u & 0xffffffffu); return 0;
    case 10:
        if (u > INT64_MAX)
            return -1;
        *out = (int64_t)u;
        return 0;
    default: memcpy(out, &u, 8); return 0;
    }
}

int ck_gguf_kv_uint(const ck_gguf *g, const char *key, uint64_t *out)
{
    int64_t v;
    if (kv_integer(ck_gguf_kv_find(g, key), &v) || v < 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int ck_gguf_kv_number(const ck_gguf *g, const char *key, double *out)
{
    const ck_gguf_kv *kv = ck_gguf_kv_find(g, key);
    int64_t v;
    if (kv && kv->type == 6) {
        float f;
        memcpy(&f, kv->value, 4);
        *out = f;
        return 0;
    }
    if (kv && kv->type == 12) {
        memcpy(out, kv->value, 8);
        return 0;
    }
    if (kv_integer(kv, &v))
        return -1;
    *out = (double)v;
    return 0;
}

int ck_gguf_kv_string(const ck_gguf *g, const char *key, char *out, size_t cap)
{
    const ck_gguf_kv *kv = ck_gguf_kv_find(g, key);
    uint64_t n;
    if (!kv || kv->type != 8 || cap == 0)
        return -1;
    memcpy(&n, kv->value, 8);
    if (n >= cap)
        return -1;
    memcpy(out, kv->value + 8, (size_t)n);
    out[n] = 0;
    return 0;
}

const ck_gguf_tensor *ck_gguf_find(const ck_gguf *g, const char *name)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return &g->tensors[i];
    return NULL;
}
