/* ck_arena.h — the one allocation a plan lives in. One mmap of the plan's
 * total size, reserved without being committed (MAP_NORESERVE) so that a
 * model larger than memory (LLaVA training is over 100 GB) still maps and is
 * then touched a window of layers at a time. Hugepages and NUMA placement are
 * requests: when the machine cannot honour one, the arena falls back and says
 * why in `note` (one sentence per fallback) instead of failing. */
#ifndef CK_ARENA_H
#define CK_ARENA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ck_hugepages {
    CK_HUGEPAGES_NONE = 0, /* base pages */
    CK_HUGEPAGES_2M = 1,   /* hugetlbfs 2 MiB pages; else transparent hugepages */
    CK_HUGEPAGES_1G = 2,   /* hugetlbfs 1 GiB pages; else 2 MiB; else transparent */
    CK_HUGEPAGES_THP = 3,  /* transparent hugepages only (madvise): the runner's arena */
} ck_hugepages;

typedef enum ck_numa_policy {
    CK_NUMA_DEFAULT = 0,    /* the kernel's first-touch placement */
    CK_NUMA_INTERLEAVE = 1, /* pages spread over every node */
    CK_NUMA_NODE = 2,       /* every page on numa_node */
} ck_numa_policy;

typedef struct ck_arena_opts {
    ck_hugepages hugepages;
    ck_numa_policy numa;
    int numa_node; /* CK_NUMA_NODE */
} ck_arena_opts;

typedef struct ck_arena {
    void *base;             /* aligned to the page size in use (2 MiB at least for hugepage modes) */
    size_t size;            /* bytes asked for */
    size_t mapped;          /* bytes mapped: size rounded up to the page size */
    size_t page;            /* page size in use */
    ck_hugepages hugepages; /* mode actually in use */
    int thp;                /* 1: transparent hugepages were requested with madvise */
    int shared;             /* 1: a MAP_SHARED mapping of a file (ck_arena_map_file) */
    char note[768];         /* what was asked for and not granted, and why; "" if all granted */
} ck_arena;

/* Map `size` bytes. 0 on success; -1 with one line in err when even a plain
 * mapping fails. A NULL opts means no hugepages, default placement. */
int ck_arena_map(ck_arena *a, size_t size, const ck_arena_opts *opts, char *err, size_t err_len);
void ck_arena_unmap(ck_arena *a);

/* Map `size` bytes of the file `fd` from `file_offset` (a multiple of the
 * page size) MAP_SHARED, read-write, at a 2 MiB aligned base, so that another
 * process can map the same bytes (runtime/ck_share.h). The file must already
 * be that long; tmpfs files stay sparse until touched, like MAP_NORESERVE.
 * Released windows are punched out of the file (MADV_REMOVE). */
int ck_arena_map_file(ck_arena *a, size_t size, int fd, size_t file_offset, char *err, size_t err_len);

/* Fault in [offset, offset + len) (one write per page), or give its pages
 * back to the kernel (contents become zero): a window of layers at a time. */
int ck_arena_touch(ck_arena *a, size_t offset, size_t len);
int ck_arena_release(ck_arena *a, size_t offset, size_t len);

/* "none", "2M", "1G" (also "2m", "1g"); -1 if not one of them. */
int ck_hugepages_parse(const char *s, ck_hugepages *out);
const char *ck_hugepages_name(ck_hugepages h);

#ifdef __cplusplus
}
#endif
#endif /* CK_ARENA_H */
