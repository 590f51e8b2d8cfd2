/* hugepages.h — big harness buffers on transparent huge pages, where the
 * kernel offers them. */
#ifndef CK_HARNESS_HUGEPAGES_H
#define CK_HARNESS_HUGEPAGES_H

#include <stddef.h>

#define CK_HUGE_PAGE_BYTES ((size_t)2 << 20)

/* Asks for transparent huge pages on the whole 2 MiB pages inside
 * [p, p + bytes). Advice only: refused (THP "never", an old kernel),
 * nothing changes. */
void ck_advise_huge(void *p, size_t bytes);

/* `bytes` aligned to a huge page (to `align` below one page's worth) and
 * advised as above before any page is touched; free() releases it; NULL
 * when memory is short. */
void *ck_alloc_huge(size_t align, size_t bytes);

#endif
