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
        return bad(c, "tensor \"%s\": ggml type %u is not one of f32, f16, bf16, q8_0, q4_0", t->name, t->ggml_type);
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
    g->map_size = (size_t)st.st_size;
    g->map = g->map_size ? mmap(NULL, g->map_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (g->map == MAP_FAILED) {
        g->map = NULL;
        snprintf(err, err_len, "%s: cannot map (%zu bytes): %s", path, g->map_size,
                 g->map_size ? strerror(errno) : "empty file");
        return -1;
    }
    cursor c = {g->map, 0, g->map_size, path, err, err_len, 0};
    char magic[4] = {0};
    take(&c, magic, 4, "magic");
    if (!c.failed && memcmp(magic, "GGUF", 4) != 0)
        bad(&c, "not a GGUF file (magic is not \"GGUF\")");
    g->version = u32(&c, "version");
    if (!c.failed && (g->version < 2 || g->version > 3))
        bad(&c, "GGUF version %u, expected 2 or 3", g->version);
    uint64_t nt = u64(&c, "tensor count"), nkv = u64(&c, "metadata count");
    if (!c.failed && nt > g->map_size / 24)
        bad(&c, "tensor count %llu cannot fit in %zu bytes", (unsigned long long)nt, g->map_size);
    uint32_t alignment = 32;
    for (uint64_t i = 0; i < nkv && !c.failed; i++) {
        char key[256];
        string(&c, key, sizeof key, "metadata key");
        uint32_t type = u32(&c, "metadata type");
        skip_value(&c, type, 0, &alignment, strcmp(key, "general.alignment") == 0);
    }
    if (!c.failed && (alignment == 0 || (alignment & (alignment - 1))))
        bad(&c, "general.alignment %u is not a power of two", alignment);
    if (!c.failed && !(g->tensors = calloc(nt ? nt : 1, sizeof *g->tensors)))
        bad(&c, "out of memory for %llu tensors", (unsigned long long)nt);
    for (uint64_t i = 0; i < nt && !c.failed; i++)
        read_tensor_info(&c, &g->tensors[i], (size_t)i);
    size_t data = (c.at + alignment - 1) / alignment * alignment;
    for (uint64_t i = 0; i < nt && !c.failed; i++) {
        ck_gguf_tensor *t = &g->tensors[i];
        uint64_t off = (uint64_t)(uintptr_t)t->data;
        if (off % alignment || data > g->map_size || off > g->map_size - data || t->bytes > g->map_size - data - off)
            bad(&c, "tensor \"%s\": data at offset %llu (+%zu bytes) lies outside the file or is misaligned", t->name,
                (unsigned long long)off, t->bytes);
        else
            t->data = (const unsigned char *)g->map + data + off;
    }
    g->n_tensors = (size_t)nt;
    if (c.failed) {
        ck_gguf_close(g);
        return -1;
    }
    return 0;
}

void ck_gguf_close(ck_gguf *g)
{
    if (g->map)
        munmap(g->map, g->map_size);
    free(g->tensors);
    memset(g, 0, sizeof *g);
}

const ck_gguf_tensor *ck_gguf_find(const ck_gguf *g, const char *name)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return &g->tensors[i];
    return NULL;
}
