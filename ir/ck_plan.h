/* ck_plan.h — the section planner: every tensor of a model at a fixed offset
 * in one allocation, section by section (header, layers, footer), in
 * execution order with weights and activations interleaved. The plan is
 * written as layout.json (the address book) and printed as a memory map.
 * Rules and formats: docs/layout.md. */
#ifndef CK_PLAN_H
#define CK_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ck_ir.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_PLAN_DEFAULT_ALIGN 64
#define CK_PLAN_SECTION_ALIGN ((size_t)2 << 20) /* sections start on 2 MiB (hugepage) boundaries */
#define CK_PLAN_MAX_ALIGN CK_PLAN_SECTION_ALIGN
#define CK_MAX_DIMS 4

typedef enum ck_buf_kind {
    CK_BUF_WEIGHT = 0,
    CK_BUF_ACTIVATION,
    CK_BUF_GRADIENT,
    CK_BUF_OPTIMIZER_M,
    CK_BUF_OPTIMIZER_V,
    CK_BUF_KV_CACHE,
    CK_BUF_TABLE,
    CK_BUF_ACTIVATION_GRADIENT, /* training: d(loss)/d(activation), for the backward pass */
    CK_BUF_KIND_COUNT
} ck_buf_kind;

typedef struct ck_buffer {
    char name[96];       /* "text.layer.3.qkv.wq", "text.layer.3.qkv.wq.grad" */
    size_t offset, size; /* bytes from the base of the allocation */
    uint32_t dtype;
    unsigned ndim;
    size_t shape[CK_MAX_DIMS];
    ck_buf_kind kind;
    uint32_t section;
    ck_part part;
    uint32_t layer; /* CK_PART_LAYER: the layer index; else 0 */
} ck_buffer;

typedef struct ck_plan_opts {
    int training;          /* + gradients and Adam m, v for every weight; decoders also get
                               * activation gradients, targets and the loss (docs/training.md) */
    int decode;            /* decoder sections at T = 1 with a per-layer KV cache */
    size_t decode_pos;     /* decode: position of the token (< seq_len) */
    size_t align;          /* 0: CK_PLAN_DEFAULT_ALIGN; else a power of two <= CK_PLAN_MAX_ALIGN */
    uint32_t weight_dtype; /* 0: the model's own */
    uint32_t compute;      /* ck_compute of the run (--compute), recorded in layout.json */
    int last_logits;       /* decoders' logits for the last row only (ck_graph_opts) */
} ck_plan_opts;

typedef struct ck_span {
    size_t start, end; /* [start, end) in bytes; start == end when empty */
} ck_span;

typedef struct ck_section_plan {
    ck_span all, header, footer;
    ck_span kv_cache; /* decode plans of decoders: every layer's k_cache, v_cache; else empty */
    ck_span *layers;  /* n_layers spans */
    size_t n_layers;
} ck_section_plan;

/* What the fusion pass did for this plan, when a run asked for fusions
 * (ck_plan_record_fusion); written into layout.json. Offsets do not change. */
typedef struct ck_plan_fusion {
    int recorded;
    uint32_t requested; /* ck_fusion bits */
    char plugin[64];    /* whose offer decided; "" = every requested fusion assumed offered */
    size_t applied[16]; /* groups per ck_fusion */
    size_t bytes_saved; /* activation bytes not moved per forward */
} ck_plan_fusion;

typedef struct ck_plan {
    char model[64];
    ck_plan_opts opts; /* as used: align resolved, weight dtype resolved */
    size_t section_align;
    size_t total; /* bytes to map: the end of the last buffer, aligned */
    size_t by_kind[CK_BUF_KIND_COUNT];
    ck_buffer *buffers; /* in execution order, offsets rising */
    size_t n_buffers;
    size_t n_sections;
    ck_section_plan sections[CK_MAX_SECTIONS];
    char section_names[CK_MAX_SECTIONS][CK_SECTION_NAME_MAX + 1];
    ck_section_kind section_kinds[CK_MAX_SECTIONS];
    ck_plan_fusion fusion;
} ck_plan;

/* Plan a model. 0 on success (*out to free with ck_plan_free); -1 with one
 * line in err (a bad option, a size that overflows size_t). */
int ck_plan_build(const ck_model *m, const ck_plan_opts *opts, ck_plan **out, char *err, size_t err_len);
void ck_plan_free(ck_plan *p);

const char *ck_buf_kind_name(ck_buf_kind k); /* "weight", "optimizer_m", ... */

/* Write layout.json atomically: a temporary file in the same directory,
 * renamed over `path` only once it is complete. 0 or -1 with err. */
int ck_plan_write_json(const ck_plan *p, const char *path, char *err, size_t err_len);

/* The memory map: one row per section part (per layer with `per_layer`),
 * then the totals. */
void ck_plan_print_map(const ck_plan *p, FILE *f, int per_layer);

#ifdef __cplusplus
}
#endif
#endif /* CK_PLAN_H */
