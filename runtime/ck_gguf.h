/* ck_gguf.h — a reader for GGUF files (version 2 and 3): the header, the
 * metadata (skipped, but bounds-checked) and the tensor directory, with the
 * data mapped read-only. Every length and offset is checked against the
 * file's size, so a truncated or hostile file gets one line, not a crash. */
#ifndef CK_GGUF_H
#define CK_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "ck_model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_gguf_tensor {
    char name[128];
    uint32_t n_dims;
    uint64_t dims[4]; /* GGUF order: dims[0] is the contiguous one */
    uint32_t dtype;   /* ck_dtype (converted from the ggml type) */
    uint32_t ggml_type;
    const void *data; /* inside the mapping */
    size_t bytes;
} ck_gguf_tensor;

/* A metadata entry, pointing into the file; every length already checked. */
typedef struct ck_gguf_kv {
    const char *key; /* not NUL-terminated: key_len bytes */
    size_t key_len;
    uint32_t type;              /* gguf value type: 0..12 (4 u32, 6 f32, 8 string, 9 array, 10 u64 ...) */
    const unsigned char *value; /* the value's bytes; an array's first element */
    uint32_t array_type;        /* arrays */
    uint64_t array_len;
} ck_gguf_kv;

typedef struct ck_gguf {
    void *map; /* NULL when the bytes belong to the caller (ck_gguf_parse) */
    size_t map_size;
    const unsigned char *bytes;
    uint32_t version;
    size_t n_tensors;
    ck_gguf_tensor *tensors;
    size_t n_kvs;
    ck_gguf_kv *kvs;
} ck_gguf;

/* 0, or -1 with one line naming the file and what is wrong. */
int ck_gguf_open(ck_gguf *g, const char *path, char *err, size_t err_len);
/* The same over bytes in memory (kept by the caller until ck_gguf_close);
 * `name` names them in messages. The fuzzer's entry. */
int ck_gguf_parse(ck_gguf *g, const void *data, size_t size, const char *name, char *err, size_t err_len);
void ck_gguf_close(ck_gguf *g);
const ck_gguf_tensor *ck_gguf_find(const ck_gguf *g, const char *name);

/* Metadata by key: NULL when absent. */
const ck_gguf_kv *ck_gguf_kv_find(const ck_gguf *g, const char *key);
/* An integer of any integer type (or bool), a number of f32 / f64 or any
 * integer type, a string (copied, NUL-terminated): 0, or -1 when the key is
 * absent or of another type (or a negative / too long value). */
int ck_gguf_kv_uint(const ck_gguf *g, const char *key, uint64_t *out);
int ck_gguf_kv_number(const ck_gguf *g, const char *key, double *out);
int ck_gguf_kv_string(const ck_gguf *g, const char *key, char *out, size_t cap);

/* The model a GGUF file describes (runtime/gguf_model.c): general.architecture
 * llama, qwen2, qwen3, gemma, gemma2, gemma3 or phi3 and its <arch>.* keys, each matrix role's dtype from the
 * file's tensors. NULL with one line naming the key or tensor. */
ck_model *ck_gguf_model(const ck_gguf *g, const char *path, char *err, size_t err_len);
/* A model file: FILE.gguf through ck_gguf_model, anything else through
 * ck_model_load (JSON). */
ck_model *ck_model_open(const char *path, char *err, size_t err_len);

/* ggml type ids and their ck_dtype (0 if the type is not one we read). */
enum { CK_GGML_F32 = 0, CK_GGML_F16 = 1, CK_GGML_Q4_0 = 2, CK_GGML_Q8_0 = 8, CK_GGML_BF16 = 30 };
/* A name for a ggml type id, implemented or not ("q4_k"), for messages. */
const char *ck_gguf_ggml_type_name(uint32_t ggml_type);
uint32_t ck_gguf_dtype_of(uint32_t ggml_type);
uint32_t ck_gguf_ggml_type_of(uint32_t dtype);

#ifdef __cplusplus
}
#endif
#endif
