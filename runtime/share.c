/* share.c — the arena as a named shared mapping (ck_share.h): the writer's
 * files and header, and a reader's read-only view with its checks. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ck_share.h"

struct ck_share {
    ck_share_header *h;
    size_t header_bytes;
    int published;
    char name[64];
    char path[256], tmp[288];
    char layout[320], layout_tmp[352]; /* renamed into place with the mapping */
};

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

uint64_t ck_share_hash(const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

int ck_share_check_name(const char *name, char *err, size_t len)
{
    size_t n = strlen(name);
    int ok = n >= 1 && n <= 63;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
    return ok ? 0 : failf(err, len, "--share: expected a name of 1-63 [A-Za-z0-9_-], found '%s'", name);
}

size_t ck_share_n_slots(const ck_plan *p)
{
    size_t n = 0;
    for (size_t s = 0; s < p->n_sections; s++)
        n += p->sections[s].n_layers + 2;
    return n;
}

size_t ck_share_slot(const ck_plan *p, uint32_t section, int part, uint32_t layer)
{
    size_t base = 0;
    for (uint32_t s = 0; s < section && s < p->n_sections; s++)
        base += p->sections[s].n_layers + 2;
    return base + (part == CK_PART_HEADER ? 0 : part == CK_PART_LAYER ? 1 + layer : 1 + p->sections[section].n_layers);
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = 0;
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* A live writer still running under this name: refuse to take it over. */
static int check_not_in_use(const char *path, char *err, size_t len)
{
    ck_share_view v;
    char e[256];
    const char *name = strrchr(path, '/') + 1 + strlen("ckernel-");
    if (ck_share_open(name, &v, e, sizeof e) != 0)
        return 0; /* missing, stale or foreign: ours to replace */
    int busy = atomic_load(&((ck_share_header *)v.h)->state) != CK_SHARE_FINISHED && ck_share_writer_alive(v.h) &&
               v.h->writer_pid != (int64_t)getpid();
    int64_t pid = v.h->writer_pid;
    ck_share_view_close(&v);
    return busy ? failf(err, len, "--share %s: in use by a running process (pid %lld)", name, (long long)pid) : 0;
}

static int make_header(ck_share *s, const ck_plan *p, int fd, const char *layout, char *err, size_t len)
{
    size_t text_len, page = (size_t)sysconf(_SC_PAGESIZE), n_slots = ck_share_n_slots(p);
    char *text = read_text(layout, &text_len);
    if (!text)
        return failf(err, len, "%s: cannot read back: %s", layout, strerror(errno));
    s->header_bytes = (sizeof(ck_share_header) + n_slots * sizeof(uint64_t) + page - 1) / page * page;
    if (ftruncate(fd, (off_t)(s->header_bytes + p->total)) != 0) {
        free(text);
        return failf(err, len, "%s: cannot size to %zu bytes: %s", s->tmp, s->header_bytes + p->total, strerror(errno));
    }
    s->h = mmap(NULL, s->header_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s->h == MAP_FAILED) {
        s->h = NULL;
        free(text);
        return failf(err, len, "%s: mmap failed: %s", s->tmp, strerror(errno));
    }
    ck_share_header *h = s->h;
    h->version = CK_SHARE_VERSION;
    h->n_slots = (uint32_t)n_slots;
    h->header_bytes = s->header_bytes;
    h->arena_bytes = p->total;
    h->layout_hash = ck_share_hash(text, text_len);
    h->writer_pid = (int64_t)getpid();
    snprintf(h->model, sizeof h->model, "%s", p->model);
    snprintf(h->mode, sizeof h->mode, "%s", p->opts.training ? "training" : p->opts.decode ? "decode" : "forward");
    atomic_store(&h->op, CK_SHARE_IDLE);
    free(text);
    return 0;
}

static int check_space(const ck_plan *p, char *err, size_t len)
{
    struct statvfs fs;
    if (statvfs(CK_SHARE_DIR, &fs) != 0)
        return failf(err, len, "--share: %s: %s", CK_SHARE_DIR, strerror(errno));
    unsigned long long avail = (unsigned long long)fs.f_bavail * fs.f_frsize;
    if (avail < (unsigned long long)p->total + (1u << 20))
        return failf(err, len, "--share: %s has %llu bytes free; the arena of %s needs %zu (a --window run needs less)",
                     CK_SHARE_DIR, avail, p->model, p->total);
    return 0;
}

ck_share *ck_share_create(const char *name, const ck_plan *p, int whole, ck_arena *arena, char *err, size_t len)
{
    if (ck_share_check_name(name, err, len) || (whole && check_space(p, err, len)))
        return NULL;
    ck_share *s = calloc(1, sizeof *s);
    if (!s) {
        failf(err, len, "out of memory");
        return NULL;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->path, sizeof s->path, "%s/ckernel-%s", CK_SHARE_DIR, name);
    snprintf(s->tmp, sizeof s->tmp, "%s.tmp-%ld", s->path, (long)getpid());
    snprintf(s->layout, sizeof s->layout, "%s.layout.json", s->path);
    snprintf(s->layout_tmp, sizeof s->layout_tmp, "%s.tmp-%ld", s->layout, (long)getpid());
    if (check_not_in_use(s->path, err, len) || ck_plan_write_json(p, s->layout_tmp, err, len)) {
        free(s);
        return NULL;
    }
    int fd = open(s->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        failf(err, len, "%s: cannot create: %s", s->tmp, strerror(errno));
        free(s);
        return NULL;
    }
    int rc = make_header(s, p, fd, s->layout_tmp, err, len);
    if (rc == 0)
        rc = ck_arena_map_file(arena, p->total, fd, s->header_bytes, err, len);
    close(fd); /* the mappings keep the file */
    if (rc) {
        ck_share_close(s);
        return NULL;
    }
    return s;
}

ck_share_header *ck_share_hdr(ck_share *s)
{
    return s ? s->h : NULL;
}

int ck_share_publish_ops(ck_share *s, const char *const *labels, size_t n, char *err, size_t len)
{
    char path[320], tmp[340];
    snprintf(path, sizeof path, "%s.ops", s->path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return failf(err, len, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= fprintf(f, "%s\n", labels[i]) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return failf(err, len, "%s: write failed: %s", path, strerror(errno));
    }
    if (s->published)
        return 0;
    memcpy(s->h->magic, CK_SHARE_MAGIC, sizeof CK_SHARE_MAGIC);
    atomic_store(&s->h->state, CK_SHARE_RUNNING);
    /* the names appear only once the header is whole; a reader that sees the
     * new mapping with the old layout for an instant says "layout mismatch" */
    if (rename(s->layout_tmp, s->layout) != 0 || rename(s->tmp, s->path) != 0)
        return failf(err, len, "%s: cannot rename into place: %s", s->path, strerror(errno));
    s->published = 1;
    return 0;
}

void ck_share_close(ck_share *s)
{
    if (!s)
        return;
    if (s->h) {
        atomic_store(&s->h->op, CK_SHARE_IDLE);
        atomic_store(&s->h->state, CK_SHARE_FINISHED);
        munmap(s->h, s->header_bytes);
    }
    if (!s->published) {
        unlink(s->tmp);
        unlink(s->layout_tmp);
    }
    free(s);
}

/* ---- the reader's side ------------------------------------------------------- */

static int check_view(const char *name, ck_share_view *v, size_t file_bytes, char *err, size_t len)
{
    const ck_share_header *h = v->h;
    char layout[320];
    if (memcmp(h->magic, CK_SHARE_MAGIC, sizeof CK_SHARE_MAGIC) != 0)
        return failf(err, len, "%s: not a ckernel shared arena (bad magic)", v->path);
    if (h->version != CK_SHARE_VERSION)
        return failf(err, len, "%s: shared arena format version %u, this ckbench reads version %u", v->path, h->version,
                     CK_SHARE_VERSION);
    if (h->header_bytes < sizeof *h + h->n_slots * sizeof(uint64_t) || file_bytes != h->header_bytes + h->arena_bytes)
        return failf(err, len, "%s: %zu bytes, but its header says %llu + %llu", v->path, file_bytes,
                     (unsigned long long)h->header_bytes, (unsigned long long)h->arena_bytes);
    snprintf(layout, sizeof layout, "%s.layout.json", v->path);
    if (!(v->layout_text = read_text(layout, &v->layout_len)))
        return failf(err, len, "%s: cannot read: %s", layout, strerror(errno));
    if (ck_share_hash(v->layout_text, v->layout_len) != h->layout_hash)
        return failf(err, len, "%s does not match the mapping %s (layout mismatch: replaced by another run?)", layout,
                     v->path);
    if (atomic_load(&((ck_share_header *)h)->state) != CK_SHARE_FINISHED && !ck_share_writer_alive(h))
        return failf(err, len, "%s: stale: its writer (pid %lld) ended without finishing, at step %llu", v->path,
                     (long long)h->writer_pid, (unsigned long long)atomic_load(&((ck_share_header *)h)->step));
    (void)name;
    return 0;
}

int ck_share_open(const char *name, ck_share_view *v, char *err, size_t len)
{
    memset(v, 0, sizeof *v);
    if (ck_share_check_name(name, err, len))
        return -1;
    snprintf(v->path, sizeof v->path, "%s/ckernel-%s", CK_SHARE_DIR, name);
    int fd = open(v->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return failf(err, len, "no shared arena '%s': %s: %s (start a run with --share %s)", name, v->path,
                     strerror(errno), name);
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(ck_share_header)) {
        close(fd);
        return failf(err, len, "%s: not a ckernel shared arena (%lld bytes)", v->path, (long long)st.st_size);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return failf(err, len, "%s: mmap failed: %s", v->path, strerror(errno));
    v->h = p;
    v->map_bytes = (size_t)st.st_size;
    if (check_view(name, v, (size_t)st.st_size, err, len)) {
        ck_share_view_close(v);
        return -1;
    }
    v->base = (const unsigned char *)p + v->h->header_bytes;
    return 0;
}

void ck_share_view_close(ck_share_view *v)
{
    if (v->h)
        munmap((void *)v->h, v->map_bytes);
    free(v->layout_text);
    memset(v, 0, sizeof *v);
}

char **ck_share_read_ops(const char *name, size_t *n)
{
    char path[320];
    size_t len, count = 0;
    snprintf(path, sizeof path, "%s/ckernel-%s.ops", CK_SHARE_DIR, name);
    char *text = read_text(path, &len);
    *n = 0;
    if (!text)
        return NULL;
    for (size_t i = 0; i < len; i++)
        count += text[i] == '\n';
    char **lines = calloc(count + 1, sizeof *lines);
    if (!lines) {
        free(text);
        return NULL;
    }
    lines[0] = text; /* lines point into one buffer: free(lines[0]), free(lines) */
    for (char *p = text, *nl; (nl = strchr(p, '\n')) && *n < count; p = nl + 1) {
        *nl = 0;
        lines[(*n)++] = p;
    }
    return lines;
}

int ck_share_writer_alive(const ck_share_header *h)
{
    return h->writer_pid > 0 && (kill((pid_t)h->writer_pid, 0) == 0 || errno == EPERM);
}
