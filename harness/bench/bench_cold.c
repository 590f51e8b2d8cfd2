/* Cold runs (bench_cold.h). The copies are whole cases built from the same
 * shape and seed, so every copy holds the same values at a different
 * address: the kernel does the same work on each, only where its operands
 * come from changes. Large weights are copied from case_memo.c's memory, not
 * generated again, so making the copies costs about a memcpy of the DRAM
 * set (ck_dram_set_bytes: 8x the LLC, what the DRAM roof was read over);
 * their small buffers are packed (ck_case_copy_in), so many copies of a
 * small case cost no system call each. */
#include "bench_cold.h"
#include "calibrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ck_cold_copies(size_t case_bytes, size_t llc_bytes)
{
    size_t want = ck_dram_set_bytes(llc_bytes);
    if (case_bytes == 0)
        return 1;
    if (case_bytes >= want)
        return 1;
    size_t n = (want + case_bytes - 1) / case_bytes + 1; /* strictly more than the DRAM set */
    return n > CK_COLD_MAX_COPIES ? CK_COLD_MAX_COPIES : n;
}

int ck_cold_make(ck_cold_set *cs, ck_case *first, size_t llc_bytes, char *err, size_t err_len)
{
    memset(cs, 0, sizeof *cs);
    size_t n = ck_cold_copies(ck_case_bytes(first), llc_bytes);
    /* the copies' small buffers are packed in one slab (ck_case.h); each
     * larger one is its own mapping between guard pages (three kernel map
     * entries): many copies of a case with several would run into the
     * process's map limit (vm.max_map_count, 65530 by default), so the
     * copies stop at a budget of entries; such a row is less than fully cold
     * and its roof flag says the copies may still hit the cache */
    size_t own_maps = 0;
    if (n > 1)
        cs->slab = ck_case_slab_create(first, n - 1, &own_maps);
    size_t cap = CK_COLD_MAX_MAP_ENTRIES / (3 * own_maps + 3);
    if (n > cap)
        n = cap < 2 ? 2 : cap;
    cs->copies = calloc(n, sizeof *cs->copies);
    if (!cs->copies) {
        ck_case_slab_free(cs->slab);
        cs->slab = NULL;
        snprintf(err, err_len, "out of memory for %zu cold copies", n);
        return -1;
    }
    cs->copies[0] = first;
    for (cs->n = 1; cs->n < n; cs->n++) {
        cs->copies[cs->n] = ck_case_copy_in(first, cs->slab, err, err_len);
        if (!cs->copies[cs->n]) {
            cs->copies[0] = NULL; /* still the caller's */
            ck_cold_free(cs);
            return -1;
        }
    }
    return 0;
}

ck_case *ck_cold_next(ck_cold_set *cs)
{
    ck_case *c = cs->copies[cs->next];
    cs->next = cs->next + 1 == cs->n ? 0 : cs->next + 1;
    return c;
}

void ck_cold_free(ck_cold_set *cs)
{
    for (size_t i = 0; cs->copies && i < cs->n; i++)
        ck_case_free(cs->copies[i]);
    free(cs->copies);
    ck_case_slab_free(cs->slab); /* after the copies carved from it */
    memset(cs, 0, sizeof *cs);
}
