/* gate.h — the parity gate as a whole: the suite (model instances, then
 * the edge suite) over every plugin asked for, each kernel against the
 * scalar reference, with the table printed as it goes and the JSON, JUnit
 * and dump files written at the end. The command line (cli/cmd_parity.c)
 * fills ck_gate_opts and calls ck_gate_run. */
#ifndef CK_PARITY_GATE_H
#define CK_PARITY_GATE_H

#include <stdint.h>

#include "ck_host.h"

#define CK_GATE_DEFAULT_SEED 42u
#define CK_GATE_DEFAULT_TIMEOUT 30.0
/* A kernel that hung this many times is not run again: it fails the rest of
 * its cases at once instead of costing a timeout each. */
#define CK_GATE_MAX_TIMEOUTS_PER_KERNEL 2

typedef struct ck_gate_opts {
    const char *plugin, *model, *ops, *dump, *junit, *json;
    uint32_t weight_dtype; /* --weight-dtype: 0 keeps the model's own */
    uint64_t seed;
    double timeout;
    int threads;
    int op_on[CK_OP_COUNT];
    /* --compute: 0 checks every kernel; 1 only the kernels of `compute`
     * where a compute type applies (bf16 linear / qkv) */
    int compute_only;
    ck_compute compute;
    /* --suite: both (default), only the model's instances, or only the
     * edge suite */
    enum { CK_SUITE_ALL = 0, CK_SUITE_MODEL, CK_SUITE_EDGE } suite;
    /* --shard K/N: only the op instances i with i % N == K of the suite
     * (N 0 or 1: all), so that N processes or machines share one gate */
    unsigned shard, n_shards;
} ck_gate_opts;

/* Exit status: 0 all passed (or skipped), 1 a case failed, 2 bad input
 * (unknown plugin, bad model, unwritable output file). */
int ck_gate_run(const ck_gate_opts *o);

#endif
