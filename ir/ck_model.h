/* ck_model.h — model descriptions (the JSON files in ir/models) and their op graph.
 * Schema: docs/layout.md. Implemented in ir/. */
#ifndef CK_MODEL_H
#define CK_MODEL_H

#include <stddef.h>

#include "ck_host.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_model ck_model;

/* Parse and validate a model file. On failure returns NULL and writes one
 * line naming the file, the section, the field, what was expected and what
 * was found into err. */
ck_model *ck_model_load(const char *path, char *err, size_t err_len);
void ck_model_free(ck_model *m);
const char *ck_model_name(const ck_model *m);

/* Options that change the graph. */
typedef struct ck_graph_opts {
    int decode;            /* 1: single-token decode against a KV cache */
    size_t decode_pos;     /* decode: position of the token */
    unsigned weight_dtype; /* 0: the model's own; else override (CK_DTYPE_Q8_0 ...) */
    int last_logits;       /* prefill as inference runs it: a decoder's footer (final norm,
                            * lm_head) on the last row only, the one whose logits pick the next token */
} ck_graph_opts;

/* Distinct op instances of the model's forward graph at its real shapes
 * (full sequence): two nodes are the same instance when their ck_shape is
 * equal ignoring the label; the label names the first node it comes from
 * ("vision.layer.qkv"). Returns the count; *out is malloc'd (free()). */
size_t ck_model_op_instances(const ck_model *m, const ck_graph_opts *opts, ck_shape **out);

#ifdef __cplusplus
}
#endif
#endif
