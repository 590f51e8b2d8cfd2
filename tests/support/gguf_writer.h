/* A small GGUF v3 writer for the tests: they write their own model files. */
#ifndef CK_TEST_GGUF_WRITER_H
#define CK_TEST_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct gguf_out_tensor {
    const char *name;
    uint32_t dtype; /* ck_dtype */
    unsigned ndim;
    const size_t *shape; /* row-major, outermost first (as layout.json) */
    const void *data;
    size_t bytes;
    uint32_t raw_ggml_type; /* nonzero: written as this ggml type (a dtype ckernel lacks, q4_k = 12) */
} gguf_out_tensor;

/* A metadata entry with the spec's types: GGUF_U32 (u), GGUF_F32 (f),
 * GGUF_STRING (s), GGUF_U64 (u), or an array of `u` strings (GGUF_ARRAY,
 * the token list: "t0", "t1", ...). */
enum { GGUF_U32 = 4, GGUF_F32 = 6, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10 };
typedef struct gguf_out_kv {
    const char *key;
    uint32_t type;
    uint64_t u;
    double f;
    const char *s;
} gguf_out_kv;

/* 0 on success. One metadata entry, general.alignment = 32. */
int gguf_write(const char *path, const gguf_out_tensor *t, size_t n);
/* general.alignment = 32, then `kvs`. */
int gguf_write_kv(const char *path, const gguf_out_kv *kvs, size_t n_kvs, const gguf_out_tensor *t, size_t n);

#endif
