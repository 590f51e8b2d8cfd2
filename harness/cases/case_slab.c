/* case_slab.c — packed copies of a case (ck_case.h, ck_case_slab): one
 * mapping for every copy's small buffers instead of a guarded mapping each. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "case_internal.h"
#include "common/hugepages.h"

static size_t page_bytes(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

size_t case_slab_span(size_t bytes)
{
    size_t ps = page_bytes(), span = (bytes + ps - 1) / ps * ps;
    if (bytes >= CK_HUGE_PAGE_BYTES)
        return 0;
    return span ? span : ps; /* an empty buffer still takes a page, as its own mapping does */
}

ck_case_slab *ck_case_slab_create(const ck_case *c, size_t copies, size_t *own_maps)
{
    size_t per_copy = c->slab_bytes;
    *own_maps = 0;
    for (size_t i = 0; i < c->n_bufs; i++)
        *own_maps += case_slab_span(c->bufs[i].bytes) == 0;
    if (!per_copy || c->unbacked || copies == 0 || per_copy > SIZE_MAX / copies) {
        *own_maps = c->n_bufs;
        return NULL;
    }
    ck_case_slab *slab = calloc(1, sizeof *slab);
    if (!slab)
        return NULL;
    slab->len = per_copy * copies;
    void *p = mmap(NULL, slab->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        free(slab);
        *own_maps = c->n_bufs;
        return NULL;
    }
    slab->base = slab->next = p;
    ck_advise_huge(p, slab->len);
    return slab;
}

int case_slab_carve(ck_case *c, case_map *m, size_t bytes, unsigned char **data)
{
    ck_case_slab *slab = c->slab;
    size_t span = case_slab_span(bytes);
    if (!span || span > slab->len - (size_t)(slab->next - slab->base))
        return -1;  /* its own mapping */
    m->base = NULL; /* the slab's */
    m->len = 0;
    m->lo = slab->next;
    m->hi = m->lo + bytes;
    slab->next += span;
    *data = m->lo;
    return 0;
}

void ck_case_slab_free(ck_case_slab *slab)
{
    if (!slab)
        return;
    munmap(slab->base, slab->len);
    free(slab);
}
