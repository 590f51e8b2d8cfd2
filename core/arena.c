/* arena.c — one mmap per plan, with hugepages and NUMA placement where the
 * machine grants them and a sentence in ck_arena.note where it does not. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ck_arena.h"

#if CK_WITH_NUMA
#include <numa.h>
#endif

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif

#define SZ_2M ((size_t)2 << 20)
#define SZ_1G ((size_t)1 << 30)

static void note(ck_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(ck_arena *a, const char *fmt, ...)
{
    size_t used = strlen(a->note);
    va_list ap;
    if (used && used + 2 < sizeof a->note) {
        a->note[used++] = ' ';
        a->note[used] = '\0';
    }
    va_start(ap, fmt);
    vsnprintf(a->note + used, sizeof a->note - used, fmt, ap);
    va_end(ap);
}

int ck_hugepages_parse(const char *s, ck_hugepages *out)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "none") == 0)
        *out = CK_HUGEPAGES_NONE;
    else if (strcasecmp(s, "2M") == 0)
        *out = CK_HUGEPAGES_2M;
    else if (strcasecmp(s, "1G") == 0)
        *out = CK_HUGEPAGES_1G;
    else if (strcasecmp(s, "thp") == 0)
        *out = CK_HUGEPAGES_THP;
    else
        return -1;
    return 0;
}

const char *ck_hugepages_name(ck_hugepages h)
{
    return h == CK_HUGEPAGES_2M ? "2M" : h == CK_HUGEPAGES_1G ? "1G" : "none";
}

static int round_up(size_t x, size_t to, size_t *out)
{
    if (x > SIZE_MAX - (to - 1))
        return -1;
    *out = (x + to - 1) / to * to;
    return 0;
}

/* hugetlbfs pages of `page` bytes. Without MAP_NORESERVE: a hugetlb mapping
 * that is not backed by reserved pages would SIGBUS on first touch, so we
 * want mmap itself to fail and fall back. */
static int map_hugetlb(ck_arena *a, size_t page, int flag, const char *what)
{
    size_t len;
    if (round_up(a->size, page, &len))
        return -1;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flag, -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        note(a, "%s hugepages: not granted (mmap MAP_HUGETLB: %s%s).", what, strerror(e),
             e == ENOMEM ? "; too few reserved in /sys/kernel/mm/hugepages" : "");
        return -1;
    }
    a->base = p;
    a->mapped = len;
    a->page = page;
    return 0;
}

/* The transparent-hugepage mode from sysfs: "always", "madvise", "never". */
static void thp_mode(char *buf, size_t len)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char line[128] = "";
    snprintf(buf, len, "unknown");
    if (!f)
        return;
    if (fgets(line, sizeof line, f)) {
        char *l = strchr(line, '['), *r = l ? strchr(l, ']') : NULL;
        if (l && r)
            snprintf(buf, len, "%.*s", (int)(r - l - 1), l + 1);
    }
    fclose(f);
}

/* Base pages, reserved lazily; aligned to 2 MiB so that sections (which
 * start on 2 MiB offsets) can be backed by transparent hugepages. */
static int map_plain(ck_arena *a, int want_thp, int fell_back, char *err, size_t err_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len, over;
    if (round_up(a->size, page, &len) || len > SIZE_MAX - SZ_2M) {
        snprintf(err, err_len, "arena: %zu bytes cannot be mapped (size overflows)", a->size);
        return -1;
    }
    over = len + SZ_2M;
    uint8_t *p = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_len, "arena: mmap of %zu bytes failed: %s", len, strerror(errno));
        return -1;
    }
    uintptr_t aligned = ((uintptr_t)p + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1);
    size_t head = aligned - (uintptr_t)p, tail = over - head - len;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((uint8_t *)aligned + len, tail);
    a->base = (void *)aligned;
    a->mapped = len;
    a->page = page;
    a->hugepages = CK_HUGEPAGES_NONE;
    if (want_thp) {
        const char *lead = fell_back ? "Fell back to" : "On";
        char mode[32];
        thp_mode(mode, sizeof mode);
        if (strcmp(mode, "never") == 0) {
            note(a, "%s %zu-byte pages: transparent hugepages are off (\"never\").", lead, page);
        } else if (madvise(a->base, len, MADV_HUGEPAGE) == 0) {
            a->thp = 1;
            note(a, "%s %zu-byte pages with transparent hugepages (madvise; mode \"%s\").", lead, page, mode);
        } else {
            note(a, "%s %zu-byte pages: madvise(MADV_HUGEPAGE) failed: %s.", lead, page, strerror(errno));
        }
    }
    return 0;
}

static void place_numa(ck_arena *a, const ck_arena_opts *o)
{
    if (o->numa == CK_NUMA_DEFAULT)
        return;
#if CK_WITH_NUMA
    if (numa_available() < 0) {
        note(a, "NUMA: not available on this machine; default placement.");
        return;
    }
    if (o->numa == CK_NUMA_INTERLEAVE) {
        numa_interleave_memory(a->base, a->mapped, numa_all_nodes_ptr);
        return;
    }
    if (o->numa_node < 0 || o->numa_node > numa_max_node()) {
        note(a, "NUMA: node %d does not exist (nodes 0..%d); default placement.", o->numa_node, numa_max_node());
        return;
    }
    numa_tonode_memory(a->base, a->mapped, o->numa_node);
#else
    note(a, "NUMA: built without libnuma (CK_WITH_NUMA=0); default placement.");
#endif
}

int ck_arena_map(ck_arena *a, size_t size, const ck_arena_opts *opts, char *err, size_t err_len)
{
    const ck_arena_opts none = {CK_HUGEPAGES_NONE, CK_NUMA_DEFAULT, 0};
    const ck_arena_opts *o = opts ? opts : &none;
    memset(a, 0, sizeof *a);
    a->size = size ? size : 1;
    int mapped = -1;
    if (o->hugepages == CK_HUGEPAGES_1G) {
        mapped = map_hugetlb(a, SZ_1G, MAP_HUGE_1GB, "1 GiB");
        a->hugepages = mapped == 0 ? CK_HUGEPAGES_1G : CK_HUGEPAGES_NONE;
    }
    if (mapped != 0 && (o->hugepages == CK_HUGEPAGES_2M || o->hugepages == CK_HUGEPAGES_1G)) {
        mapped = map_hugetlb(a, SZ_2M, MAP_HUGE_2MB, "2 MiB");
        a->hugepages = mapped == 0 ? CK_HUGEPAGES_2M : CK_HUGEPAGES_NONE;
        if (mapped == 0 && o->hugepages == CK_HUGEPAGES_1G)
            note(a, "Fell back to 2 MiB hugepages.");
    }
    if (mapped != 0 && map_plain(a, o->hugepages != CK_HUGEPAGES_NONE, o->hugepages != CK_HUGEPAGES_THP, err, err_len))
        return -1;
    place_numa(a, o);
    return 0;
}

void ck_arena_unmap(ck_arena *a)
{
    if (a && a->base)
        munmap(a->base, a->mapped);
    if (a)
        a->base = NULL;
}

/* [offset, offset+len) widened to whole pages, inside the mapping. */
static int page_range(const ck_arena *a, size_t offset, size_t len, uint8_t **start, size_t *bytes)
{
    if (!a->base || offset > a->mapped || len > a->mapped - offset)
        return -1;
    size_t first = offset / a->page * a->page, end = offset + len;
    if (round_up(end, a->page, &end) || end > a->mapped)
        end = a->mapped;
    *start = (uint8_t *)a->base + first;
    *bytes = end - first;
    return 0;
}

int ck_arena_touch(ck_arena *a, size_t offset, size_t len)
{
    uint8_t *p;
    size_t n;
    if (page_range(a, offset, len, &p, &n))
        return -1;
    for (size_t i = 0; i < n; i += a->page)
        /* read and write back through volatile: faults the page in, changes nothing */
        // cppcheck-suppress selfAssignment
        ((volatile uint8_t *)p)[i] = ((volatile uint8_t *)p)[i];
    return 0;
}

int ck_arena_release(ck_arena *a, size_t offset, size_t len)
{
    uint8_t *p;
    size_t n;
    if (page_range(a, offset, len, &p, &n))
        return -1;
    /* MADV_DONTNEED on a shared file mapping only drops our view of the
     * pages: the file keeps them (and their contents). */
    return madvise(p, n, a->shared ? MADV_REMOVE : MADV_DONTNEED) == 0 ? 0 : -1;
}

int ck_arena_map_file(ck_arena *a, size_t size, int fd, size_t file_offset, char *err, size_t err_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
    memset(a, 0, sizeof *a);
    a->size = size ? size : 1;
    if (file_offset % page || round_up(a->size, page, &len) || len > SIZE_MAX - SZ_2M) {
        snprintf(err, err_len, "arena: %zu bytes at file offset %zu cannot be mapped", a->size, file_offset);
        return -1;
    }
    /* reserve 2 MiB more than needed, then put the file at the aligned start */
    uint8_t *p = mmap(NULL, len + SZ_2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_len, "arena: reserving %zu bytes failed: %s", len, strerror(errno));
        return -1;
    }
    uintptr_t aligned = ((uintptr_t)p + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1);
    size_t head = aligned - (uintptr_t)p, tail = SZ_2M - head;
    void *q = mmap((void *)aligned, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, (off_t)file_offset);
    if (q == MAP_FAILED) {
        snprintf(err, err_len, "arena: shared mmap of %zu bytes failed: %s", len, strerror(errno));
        munmap(p, len + SZ_2M);
        return -1;
    }
    if (head)
        munmap(p, head);
    if (tail)
        munmap((uint8_t *)aligned + len, tail);
    a->base = q;
    a->mapped = len;
    a->page = page;
    a->shared = 1;
    return 0;
}
