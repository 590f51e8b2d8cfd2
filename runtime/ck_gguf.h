/* ck_gguf.h — a reader for GGUF files (version 2 and 3): the header, the
 * metadata (skipped, but bounds-checked) and the tensor directory, with the
 * data mapped read-only. Every length and offset is checked against the
 * file's size, so a truncated or hostile file gets one line, not a crash. */
#ifndef CK_GGUF_H
#define CK_GGUF_H

#include <stddef.h>
#include <stdint.h>

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

typedef struct ck_gguf {
    void *map;
    size_t map_size;
    uint32_t version;
    size_t n_tensors;
    ck_gguf_tensor *tensors;
} ck_gguf;

/* 0, or -1 with one line naming the file and what is wrong. */
int ck_gguf_open(ck_gguf *g, const char *path, char *err, size_t err_len);
void ck_gguf_close(ck_gguf *g);
const ck_gguf_tensor *ck_gguf_find(const ck_gguf *g, const char *name);

/* ggml type ids and their ck_dtype (0 if the type is not one we read). */
enum { CK_GGML_F32 = 0, CK_GGML_F16 = 1, CK_GGML_Q4_0 = 2, CK_GGML_Q8_0 = 8, CK_GGML_BF16 = 30 };
uint32_t ck_gguf_dtype_of(uint32_t ggml_type);
uint32_t ck_gguf_ggml_type_of(uint32_t dtype);

#ifdef __cplusplus
}
#endif
#endif
