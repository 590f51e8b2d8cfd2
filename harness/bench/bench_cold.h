/* bench_cold.h — cold runs: copies of every operand of an op instance,
 * rotated through so that each call reads data the previous calls have
 * evicted from the caches (oneDNN benchdnn's --cold-cache does the same).
 * Used by bench_item.c; the step to the next copy is not timed
 * (bench_shim.h, ckb_set_advance). */
#ifndef CK_BENCH_COLD_H
#define CK_BENCH_COLD_H

#include <stddef.h>
#include <stdint.h>

#include "cases/ck_case.h"

#define CK_COLD_MAX_COPIES 4096
/* Kernel map entries the copies of one case may take (ck_cold_make). */
#define CK_COLD_MAX_MAP_ENTRIES 24576

typedef struct ck_cold_set {
    ck_case **copies; /* copies[0] is the case the set was made from */
    size_t n, next;
    ck_case_slab *slab; /* the other copies' small buffers, or NULL */
} ck_cold_set;

/* Copies needed for `case_bytes` per copy to exceed the DRAM working set
 * (calibrate.h's ck_dram_set_bytes: 8x a last-level cache of `llc_bytes`)
 * together (at least 2, so no call follows itself; 1 when one copy alone is
 * that large; at most CK_COLD_MAX_COPIES). */
size_t ck_cold_copies(size_t case_bytes, size_t llc_bytes);

/* Make the set around `first` (taken over: freed by ck_cold_free), adding
 * copies built from the same shape and seed. 0, or -1 with err (first is
 * then still the caller's). Fewer copies than ck_cold_copies says where
 * their large buffers' guarded mappings would pass CK_COLD_MAX_MAP_ENTRIES. */
int ck_cold_make(ck_cold_set *cs, ck_case *first, size_t llc_bytes, char *err, size_t err_len);

/* The next copy, round robin. */
ck_case *ck_cold_next(ck_cold_set *cs);

void ck_cold_free(ck_cold_set *cs);

#endif
