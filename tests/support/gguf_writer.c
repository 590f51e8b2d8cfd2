/* gguf_writer.c — see gguf_writer.h. */
#include "gguf_writer.h"

#include <stdio.h>
#include <string.h>

#include "ck_gguf.h"

static void put(FILE *f, const void *p, size_t n)
{
    fwrite(p, 1, n, f);
}
static void put_u32(FILE *f, uint32_t v)
{
    put(f, &v, 4);
}
static void put_u64(FILE *f, uint64_t v)
{
    put(f, &v, 8);
}
static void put_str(FILE *f, const char *s)
{
    put_u64(f, strlen(s));
    put(f, s, strlen(s));
}

static void put_kv(FILE *f, const gguf_out_kv *kv)
{
    char tok[32];
    put_str(f, kv->key);
    put_u32(f, kv->type);
    switch (kv->type) {
    case GGUF_U32: put_u32(f, (uint32_t)kv->u); break;
    case GGUF_U64: put_u64(f, kv->u); break;
    case GGUF_F32: {
        float v = (float)kv->f;
        put(f, &v, 4);
        break;
    }
    case GGUF_STRING: put_str(f, kv->s); break;
    case GGUF_ARRAY:
        put_u32(f, GGUF_STRING);
        put_u64(f, kv->u);
        for (uint64_t i = 0; i < kv->u; i++) {
            snprintf(tok, sizeof tok, "t%llu", (unsigned long long)i);
            put_str(f, tok);
        }
        break;
    }
}

int gguf_write_kv(const char *path, const gguf_out_kv *kvs, size_t n_kvs, const gguf_out_tensor *t, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const uint32_t align = 32;
    put(f, "GGUF", 4);
    put_u32(f, 3);
    put_u64(f, n);
    put_u64(f, 1 + n_kvs);
    put_str(f, "general.alignment");
    put_u32(f, 4); /* uint32 */
    put_u32(f, align);
    for (size_t i = 0; i < n_kvs; i++)
        put_kv(f, &kvs[i]);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        put_str(f, t[i].name);
        put_u32(f, t[i].ndim);
        for (unsigned d = 0; d < t[i].ndim; d++)
            put_u64(f, t[i].shape[t[i].ndim - 1 - d]); /* contiguous dimension first */
        put_u32(f, t[i].raw_ggml_type ? t[i].raw_ggml_type : ck_gguf_ggml_type_of(t[i].dtype));
        put_u64(f, off);
        off += (t[i].bytes + align - 1) / align * align;
    }
    long at = ftell(f);
    static const char zeros[64];
    put(f, zeros, (size_t)((align - (uint64_t)at % align) % align));
    for (size_t i = 0; i < n; i++) {
        put(f, t[i].data, t[i].bytes);
        put(f, zeros, (align - t[i].bytes % align) % align);
    }
    return fclose(f) == 0 ? 0 : -1;
}

int gguf_write(const char *path, const gguf_out_tensor *t, size_t n)
{
    return gguf_write_kv(path, NULL, 0, t, n);
}
