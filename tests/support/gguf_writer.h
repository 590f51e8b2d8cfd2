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
} gguf_out_tensor;

/* 0 on success. One metadata entry, general.alignment = 32. */
int gguf_write(const char *path, const gguf_out_tensor *t, size_t n);

#endif
