/* bench_phase.h — what `ckbench bench` times: the op instances of a model's
 * prefill (the full sequence) and of its decode step (T = 1 against a KV
 * cache filled to a position), each hot, cold or both. */
#ifndef CK_BENCH_PHASE_H
#define CK_BENCH_PHASE_H

#include <stddef.h>

#include "bench_runner.h"

typedef struct ck_bench_variant {
    ck_shape shape;
    const char *phase; /* "prefill", "decode" */
    int cold;          /* 1: operands rotated through copies (bench_cold.h) */
} ck_bench_variant;

/* The variants of model `path` under the options (--phase, --cache,
 * --decode-pos, --op, --weights), prefill first, each instance hot before
 * cold. Returns the count (*out malloc'd), or 0 with one line in err. The
 * model's name goes to model_name and the decode position used to *pos. */
size_t ck_bench_variants(const ck_bench_opts *o, char *model_name, size_t name_len, size_t *pos, ck_bench_variant **out,
                         char *err, size_t err_len);

#endif
