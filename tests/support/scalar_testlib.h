/* scalar_testlib.h — shared helpers of the scalar reference tests: load the
 * scalar plugin once per process, run one of its kernels, seeded random
 * inputs, and closeness checks against double-precision recomputations. */
#ifndef CK_SCALAR_TESTLIB_H
#define CK_SCALAR_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "ck_host.h"

/* The scalar plugin, loaded on first use (NULL and a message on stderr if it
 * cannot be found: run through `make test-unit` or set CK_PLUGIN_PATH). */
ck_plugin *st_scalar_plugin(void);

/* Run the scalar kernel for (op, dtype) with flags 0 on a context of
 * `threads` threads (made and destroyed here). Returns the kernel's status,
 * or -1 if the plugin or kernel is missing. */
int st_run(uint32_t op, uint32_t dtype, const void *args, int threads);

/* Seeded generator (splitmix64): same numbers on every machine. */
typedef struct st_rng {
    uint64_t state;
} st_rng;
void st_seed(st_rng *r, uint64_t seed);
double st_uniform(st_rng *r, double lo, double hi);
void st_fill(st_rng *r, float *x, size_t n, double lo, double hi);

/* A malloc'd copy / zeroed buffer of n floats; abort on failure. */
float *st_floats(size_t n);
float *st_copy(const float *x, size_t n);

/* got is want rounded to f32 once: within half an ulp of want (plus a tiny
 * absolute slack for sums that cancel to near zero). What a reference that
 * computes in double and rounds once must meet against an independent
 * higher-precision recomputation. */
int st_close_rounded_once(float got, double want, double abs_slack);

/* Bitwise equality of two f32 arrays; returns the first differing index or
 * n when equal. */
size_t st_first_diff(const float *a, const float *b, size_t n);

#endif /* CK_SCALAR_TESTLIB_H */
