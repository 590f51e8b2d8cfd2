/* hugepages.c — see hugepages.h. The runtime's arena puts a model's weights
 * on huge pages (core/arena.c), and a kernel that streams several rows side
 * by side reads DRAM slower on 4 KiB pages: the buffers bench times kernels
 * on, and calibrate's roofs, are asked for the same pages, so that neither
 * is measured in a setting inference does not run in. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "hugepages.h"

void ck_advise_huge(void *p, size_t bytes)
{
    uintptr_t lo = ((uintptr_t)p + CK_HUGE_PAGE_BYTES - 1) & ~(uintptr_t)(CK_HUGE_PAGE_BYTES - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(CK_HUGE_PAGE_BYTES - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

void *ck_alloc_huge(size_t align, size_t bytes)
{
    if (bytes >= CK_HUGE_PAGE_BYTES)
        align = CK_HUGE_PAGE_BYTES;
    size_t rounded = (bytes + align - 1) / align * align; /* aligned_alloc's rule */
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (p)
        ck_advise_huge(p, rounded);
    return p;
}
