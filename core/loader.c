/* Plugin loader: find, dlopen, validate and probe a plugin. Every refusal is
 * one sentence naming the file, the reason and what to do about it. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ck_host.h"

static void fail(char *err, size_t len, const char *path, const char *fmt, ...)
{
    if (!err || !len)
        return;
    int k = snprintf(err, len, "%s: ", path);
    if (k < 0 || (size_t)k >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, len - (size_t)k, fmt, ap);
    va_end(ap);
}

const char *ck_plugin_default_dir(void)
{
    static char dir[PATH_MAX];
    if (dir[0])
        return dir;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return "plugins";
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    /* build tree: build/bin/ckbench -> build/plugins;
     * installed: PREFIX/bin/ckbench -> PREFIX/lib/ckernel/plugins */
    const char *cands[] = {"/../plugins", "/../lib/ckernel/plugins"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        char c[PATH_MAX + 64];
        snprintf(c, sizeof c, "%s%s", exe, cands[i]);
        char real[PATH_MAX];
        struct stat st;
        if (realpath(c, real) && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(dir, sizeof dir, "%s", real);
            return dir;
        }
    }
    size_t l = strlen(exe);
    if (l + sizeof "/../plugins" > sizeof dir)
        return "plugins";
    memcpy(dir, exe, l);
    memcpy(dir + l, "/../plugins", sizeof "/../plugins");
    return dir;
}

/* The search path as a list of directories: CK_PLUGIN_PATH, then default. */
static size_t search_dirs(char dirs[][PATH_MAX], size_t max)
{
    size_t n = 0;
    const char *env = getenv("CK_PLUGIN_PATH");
    if (env) {
        const char *p = env;
        while (*p && n < max - 1) {
            const char *e = strchr(p, ':');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (l > 0 && l < PATH_MAX) {
                memcpy(dirs[n], p, l);
                dirs[n][l] = 0;
                n++;
            }
            if (!e)
                break;
            p = e + 1;
        }
    }
    snprintf(dirs[n++], PATH_MAX, "%s", ck_plugin_default_dir());
    return n;
}

static int is_path(const char *s)
{
    size_t l = strlen(s);
    return strchr(s, '/') != NULL || (l > 3 && strcmp(s + l - 3, ".so") == 0);
}

static int resolve(const char *name, char *out, size_t len, char *err, size_t err_len)
{
    if (is_path(name)) {
        snprintf(out, len, "%s", name);
        return 0;
    }
    for (const char *c = name; *c; c++) {
        if (!(*c == '_' || *c == '-' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9'))) {
            /* the two list syntaxes users mix up: ',' lists plugins to compare,
             * '+' chains them into one backend, and each command takes one */
            fail(err, err_len, name,
                 *c == ','   ? "not a plugin name (letters, digits, '-' and '_') nor a path; this command takes one "
                               "plugin, or where it takes a chain (run, diverge, bench --e2e) P1+P2"
                 : *c == '+' ? "not a plugin name (letters, digits, '-' and '_') nor a path; chains P1+P2 are "
                               "taken by run, diverge and bench --e2e only"
                             : "not a plugin name (letters, digits, '-' and '_') nor a path");
            return -1;
        }
    }
    char dirs[16][PATH_MAX];
    size_t nd = search_dirs(dirs, 16);
    for (size_t i = 0; i < nd; i++) {
        int k = snprintf(out, len, "%s/libck_%s.so", dirs[i], name);
        if (k > 0 && (size_t)k < len && access(out, F_OK) == 0) /* a truncated path is no match */
            return 0;
    }
    fail(err, err_len, name,
         "no plugin of that name (looked for libck_%s.so in CK_PLUGIN_PATH and %s); "
         "run 'ckbench list' to see what is installed",
         name, ck_plugin_default_dir());
    return -1;
}

/* e_machine of the host, to tell "built for another CPU" from "broken". */
static unsigned host_machine(void)
{
#if defined(__x86_64__)
    return 62;
#elif defined(__aarch64__)
    return 183;
#else
    return 0;
#endif
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case 62: return "x86_64";
    case 183: return "aarch64";
    case 3: return "i386";
    case 40: return "arm";
    default: return "another CPU";
    }
}

/* Read the ELF header ourselves so that a text file or a library for another
 * CPU gets a precise sentence instead of dlerror()'s guess. */
static int check_elf(const char *path, char *err, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(err, len, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    unsigned char h[20] = {0};
    size_t got = fread(h, 1, sizeof h, f);
    fclose(f);
    if (got < sizeof h || memcmp(h,
                                 "\x7f"
                                 "ELF",
                                 4) != 0) {
        fail(err, len, path, "not a shared object (no ELF header); pass a plugin built with -shared");
        return -1;
    }
    if (h[16] != 3 /* ET_DYN */) {
        fail(err, len, path, "ELF file is not a shared object (type %u); link it with -shared", h[16]);
        return -1;
    }
    unsigned machine = h[5] == 1 ? (unsigned)(h[18] | h[19] << 8) : (unsigned)(h[18] << 8 | h[19]);
    if (host_machine() && machine != host_machine()) {
        fail(err, len, path, "built for %s, this machine is %s; not runnable here", machine_name(machine),
             machine_name(host_machine()));
        return -1;
    }
    return 0;
}

/* The plugin's kernel table stride: kernel_size where the description has
 * the field, else the original five-field entry. 0 if unusable. */
static uint32_t kernel_stride(const ck_plugin_desc *d)
{
    if (d->struct_size < offsetof(ck_plugin_desc, kernel_size) + sizeof d->kernel_size)
        return CK_KERNEL_DESC_V1_SIZE;
    return d->kernel_size;
}

static int check_header(const ck_plugin_desc *d, const char *path, char *err, size_t len)
{
    if (d->abi_version != CK_ABI_VERSION) {
        fail(err, len, path, "plugin ABI version %u, this host speaks %u; rebuild it against this ck_plugin.h",
             d->abi_version, CK_ABI_VERSION);
        return -1;
    }
    /* larger (newer) descriptions are read up to the fields this host knows */
    if (d->struct_size < CK_PLUGIN_DESC_V1_SIZE) {
        fail(err, len, path, "plugin description is %u bytes, at least %u expected; rebuild it against ck_plugin.h",
             d->struct_size, CK_PLUGIN_DESC_V1_SIZE);
        return -1;
    }
    uint32_t stride = kernel_stride(d);
    if (stride < CK_KERNEL_DESC_V1_SIZE || stride % sizeof(void *)) {
        fail(err, len, path,
             "kernel_size is %u; expected sizeof(ck_kernel_desc) (at least %u, a multiple of %zu): set "
             ".kernel_size = sizeof(ck_kernel_desc)",
             stride, CK_KERNEL_DESC_V1_SIZE, sizeof(void *));
        return -1;
    }
    if (!d->name || !d->name[0] || strlen(d->name) > 64 || strchr(d->name, '/')) {
        fail(err, len, path, "plugin name is missing or malformed (1-64 characters, no '/')");
        return -1;
    }
    if (!d->version || !d->description) {
        fail(err, len, path, "plugin '%s' has no version or description string", d->name);
        return -1;
    }
    if (!d->kernels || d->n_kernels == 0) {
        fail(err, len, path, "plugin '%s' has an empty kernel table", d->name);
        return -1;
    }
    return 0;
}

/* An entry newer than this host (unknown op or dtype) is skipped and
 * described; the rest of the plugin loads. */
static int skip_unknown(ck_plugin *p, const ck_kernel_desc *k, uint32_t i)
{
    int bad_op = k->op == CK_OP_NONE || k->op >= CK_OP_COUNT;
    if (!bad_op && k->dtype != CK_DTYPE_NONE && k->dtype < CK_DTYPE_COUNT)
        return 0;
    if (p->n_skipped < sizeof p->skipped / sizeof p->skipped[0])
        snprintf(p->skipped[p->n_skipped], sizeof p->skipped[0],
                 "kernel #%u (%.64s): unknown %s id %u (this host knows 1..%u); skipped", i,
                 k->name ? k->name : "(unnamed)", bad_op ? "op" : "dtype", bad_op ? k->op : k->dtype,
                 bad_op ? (unsigned)CK_OP_COUNT - 1 : (unsigned)CK_DTYPE_COUNT - 1);
    p->n_skipped++;
    return 1;
}

/* The argument-struct revision a description was built with: 1 where it
 * predates the field (ck_plugin.h, CK_ARGS_REVISION). */
static uint32_t args_revision(const ck_plugin_desc *d)
{
    if (d->struct_size < offsetof(ck_plugin_desc, args_revision) + sizeof d->args_revision)
        return 1;
    return d->args_revision;
}

/* An ATTN_PROJ kernel built before ck_attention_args grew reads .proj at
 * the old offset: skipped and described, never run on moved fields. */
static int skip_old_layout(ck_plugin *p, const ck_kernel_desc *k, uint32_t i, uint32_t rev)
{
    if (k->op != CK_OP_ATTN_PROJ || rev >= 2)
        return 0;
    if (p->n_skipped < sizeof p->skipped / sizeof p->skipped[0])
        snprintf(p->skipped[p->n_skipped], sizeof p->skipped[0],
                 "kernel #%u (%.64s): built against attention args before revision 2; skipped", i,
                 k->name ? k->name : "(unnamed)");
    p->n_skipped++;
    return 1;
}

/* Check the description and copy the known kernels into p->kernels. */
static int validate_desc(ck_plugin *p, const ck_plugin_desc *d, const char *path, char *err, size_t len)
{
    if (check_header(d, path, err, len) != 0)
        return -1;
    uint32_t stride = kernel_stride(d);
    if (!(p->kernels = calloc(d->n_kernels, sizeof *p->kernels))) {
        fail(err, len, path, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < d->n_kernels; i++) {
        ck_kernel_desc k;
        memset(&k, 0, sizeof k);
        /* the fields this host knows, at the plugin's stride */
        memcpy(&k, (const char *)d->kernels + (size_t)i * stride, stride < sizeof k ? stride : sizeof k);
        const char *kn = k.name ? k.name : "(unnamed)";
        if (skip_unknown(p, &k, i) || skip_old_layout(p, &k, i, args_revision(d)))
            continue;
        if (!k.fn) {
            fail(err, len, path, "kernel #%u (%s) has a null function pointer", i, kn);
            return -1;
        }
        if (!k.name) {
            fail(err, len, path, "kernel #%u (%s %s) has no name", i, ck_op_name(k.op), ck_dtype_name(k.dtype));
            return -1;
        }
        for (uint32_t j = 0; j < p->n_kernels; j++) {
            const ck_kernel_desc *o = &p->kernels[j];
            if (o->op == k.op && o->dtype == k.dtype && ck_kernel_variant(o->flags) == ck_kernel_variant(k.flags)) {
                fail(err, len, path, "kernel #%u (%s) duplicates %s: same op, dtype and flags", i, kn, o->name);
                return -1;
            }
        }
        p->kernels[p->n_kernels++] = k;
    }
    if (p->n_kernels == 0) {
        fail(err, len, path, "plugin '%s' has no kernel this host knows (%s)", d->name, p->skipped[0]);
        return -1;
    }
    return 0;
}

/* A plugin given by path may not take the name of a built-in one: reports
 * and the parity reference are keyed by name, so a clash would be silent. */
static int check_name_clash(const char *name, const char *path, char *err, size_t len)
{
    char builtin[PATH_MAX + 80], a[PATH_MAX], b[PATH_MAX];
    snprintf(builtin, sizeof builtin, "%s/libck_%s.so", ck_plugin_default_dir(), name);
    if (access(builtin, F_OK) != 0)
        return 0;
    if (realpath(builtin, a) && realpath(path, b) && strcmp(a, b) == 0)
        return 0;
    fail(err, len, path, "plugin name '%s' clashes with the built-in plugin %s; give it another name", name, builtin);
    return -1;
}

/* dlopen, validate, probe and init a plugin whose file passed the cheap
 * checks. Runs in-process: call it only after a trial in a child went well. */
static ck_plugin *load_resolved(const char *path, int by_path, char *err, size_t err_len)
{
    ck_plugin *p = calloc(1, sizeof *p);
    if (!p) {
        fail(err, err_len, path, "out of memory");
        return NULL;
    }
    snprintf(p->path, sizeof p->path, "%s", path);
    p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        const char *e = dlerror();
        fail(err, err_len, p->path, "dlopen failed: %s", e ? e : "unknown error");
        goto bad;
    }
    ck_plugin_entry_fn entry;
    void *sym = dlsym(p->handle, CK_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        fail(err, err_len, p->path, "no entry symbol '%s'; export it with CK_PLUGIN_EXPORT", CK_PLUGIN_ENTRY_SYMBOL);
        goto bad;
    }
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer, as POSIX allows */
    const ck_plugin_desc *d = entry();
    if (!d) {
        fail(err, err_len, p->path, "entry symbol '%s' returned NULL", CK_PLUGIN_ENTRY_SYMBOL);
        goto bad;
    }
    if (validate_desc(p, d, p->path, err, err_len) != 0)
        goto bad;
    if (by_path && check_name_clash(d->name, p->path, err, err_len) != 0)
        goto bad;
    p->desc = d;
    p->runnable = true;
    if (d->probe && !d->probe(p->why, sizeof p->why)) {
        p->runnable = false;
        if (!p->why[0])
            snprintf(p->why, sizeof p->why, "the plugin's probe says this CPU cannot run it");
    }
    if (p->runnable && d->init && d->init() != 0) {
        p->runnable = false;
        snprintf(p->why, sizeof p->why, "the plugin's init() failed");
    }
    return p;
bad:
    if (p->handle)
        dlclose(p->handle);
    free(p->kernels);
    free(p);
    return NULL;
}

/* Load once in a forked child first, so that a plugin whose constructor,
 * entry, probe or init crashes or hangs is refused with a sentence instead of
 * taking the harness down. Returns 0 if the child loaded it cleanly. */
static int trial_in_child(const char *path, int by_path, char *err, size_t err_len)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0; /* cannot sandbox: fall through to the in-process load */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        /* default dispositions, so that a sanitizer's handlers in the host do
         * not turn the plugin's fault into an exit status */
        const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
        for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
            signal(faults[i], SIG_DFL);
        char cerr[CK_ERR_LEN] = {0};
        ck_plugin *p = load_resolved(path, by_path, cerr, sizeof cerr);
        if (!p) {
            ssize_t w = write(fds[1], cerr, strlen(cerr));
            (void)w;
            _exit(3);
        }
        ck_plugin_unload(p);
        _exit(0);
    }
    close(fds[1]);
    int status = 0, waited = 0;
    const char *t = getenv("CK_LOAD_TIMEOUT_MS");
    int limit_ms = t && atoi(t) > 0 ? atoi(t) : 10000;
    for (int ms = 0; ms < limit_ms; ms += 5) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            waited = 1;
            break;
        }
        usleep(5000);
    }
    char cerr[CK_ERR_LEN] = {0};
    if (!waited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        close(fds[0]);
        fail(err, err_len, path, "did not finish loading (entry, probe or init) within %.1f s; refused",
             limit_ms / 1000.0);
        return -1;
    }
    ssize_t got = read(fds[0], cerr, sizeof cerr - 1);
    close(fds[0]);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        fail(err, err_len, path,
             "crashed while loading (signal %d, %s, in its constructor, entry, probe or init); refused", sig,
             strsignal(sig));
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (got > 0 && err && err_len) {
        cerr[got] = 0;
        snprintf(err, err_len, "%s", cerr);
    } else {
        fail(err, err_len, path, "exited with status %d while loading; refused",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return -1;
}

ck_plugin *ck_plugin_load(const char *name_or_path, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!name_or_path || !name_or_path[0]) {
        fail(err, err_len, "(empty)", "no plugin name given");
        return NULL;
    }
    char path[PATH_MAX];
    if (resolve(name_or_path, path, sizeof path, err, err_len) != 0)
        return NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        fail(err, err_len, path, "no such file; check the path or run 'ckbench list'");
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(err, err_len, path, "not a regular file");
        return NULL;
    }
    if (check_elf(path, err, err_len) != 0)
        return NULL;
    int by_path = is_path(name_or_path);
    const char *sandbox = getenv("CK_LOAD_IN_PROCESS");
    if (!(sandbox && strcmp(sandbox, "1") == 0) && trial_in_child(path, by_path, err, err_len) != 0)
        return NULL;
    return load_resolved(path, by_path, err, err_len);
}

void ck_plugin_unload(ck_plugin *p)
{
    if (!p)
        return;
    if (p->runnable && p->desc && p->desc->fini)
        p->desc->fini();
    if (p->handle)
        dlclose(p->handle);
    free(p->kernels);
    free(p);
}

uint32_t ck_kernel_variant(uint32_t flags)
{
    return flags & ~CK_KF_CAPABILITIES;
}

const ck_kernel_desc *ck_plugin_kernel(const ck_plugin *p, uint32_t op, uint32_t dtype, uint32_t flags)
{
    if (!p || !p->desc)
        return NULL;
    for (uint32_t i = 0; i < p->n_kernels; i++) {
        const ck_kernel_desc *k = &p->kernels[i];
        if (k->op == op && k->dtype == dtype && ck_kernel_variant(k->flags) == ck_kernel_variant(flags))
            return k;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t ck_plugin_discover(char ***paths)
{
    char dirs[16][PATH_MAX];
    size_t nd = search_dirs(dirs, 16);
    char **out = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < nd; i++) {
        DIR *dp = opendir(dirs[i]);
        if (!dp)
            continue;
        char **names = NULL;
        size_t nn = 0, ncap = 0;
        struct dirent *e;
        while ((e = readdir(dp))) {
            size_t l = strlen(e->d_name);
            if (l <= 9 || strncmp(e->d_name, "libck_", 6) != 0 || strcmp(e->d_name + l - 3, ".so") != 0)
                continue;
            if (nn == ncap) {
                ncap = ncap ? 2 * ncap : 16;
                char **t = realloc(names, ncap * sizeof *t);
                if (!t)
                    break;
                names = t;
            }
            names[nn++] = strdup(e->d_name);
        }
        closedir(dp);
        if (nn)
            qsort(names, nn, sizeof *names, cmp_str);
        for (size_t j = 0; j < nn; j++) {
            int dup = 0;
            for (size_t k = 0; k < n && !dup; k++) {
                const char *base = strrchr(out[k], '/');
                dup = base && strcmp(base + 1, names[j]) == 0;
            }
            if (!dup) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 16;
                    char **t = realloc(out, cap * sizeof *t);
                    if (!t)
                        break;
                    out = t;
                }
                size_t need = strlen(dirs[i]) + strlen(names[j]) + 2;
                out[n] = malloc(need);
                if (out[n]) {
                    snprintf(out[n], need, "%s/%s", dirs[i], names[j]);
                    n++;
                }
            }
            free(names[j]);
        }
        free(names);
    }
    *paths = out;
    return n;
}

void ck_plugin_paths_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
