/* Finding a model file by name; see model_path.h. */
#include "common/model_path.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIRS 16
#define MAX_NAMES 64

/* The Makefile passes the source tree's ir/models; a build without it (an
 * out-of-tree compile) just has one place fewer to look. */
#ifndef CK_SOURCE_MODELS
#define CK_SOURCE_MODELS ""
#endif

typedef struct search_dirs {
    char dir[MAX_DIRS][PATH_MAX];
    int n;
} search_dirs;

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void add_dir(search_dirs *s, const char *d, size_t len)
{
    if (len == 0 || len >= PATH_MAX || s->n == MAX_DIRS)
        return;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->dir[i]) == len && strncmp(s->dir[i], d, len) == 0)
            return;
    memcpy(s->dir[s->n], d, len);
    s->dir[s->n++][len] = 0;
}

/* <prefix>/bin/ckbench -> <prefix>/share/ckernel/models, if that exists. */
static void add_installed(search_dirs *s)
{
    char exe[PATH_MAX], dir[PATH_MAX + 32], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(dir, sizeof dir, "%s/../share/ckernel/models", exe);
    if (realpath(dir, real))
        add_dir(s, real, strlen(real));
}

static void collect_dirs(search_dirs *s)
{
    s->n = 0;
    const char *env = getenv("CK_MODEL_PATH");
    for (const char *p = env; p && *p;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        add_dir(s, p, len);
        p = colon ? colon + 1 : p + len;
    }
    add_installed(s);
    add_dir(s, CK_SOURCE_MODELS, strlen(CK_SOURCE_MODELS));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "name, name, ..." of every *.json in the search dirs, each once, sorted. */
static void list_names(const search_dirs *s, char *buf, size_t len)
{
    static char names[MAX_NAMES][NAME_MAX + 1];
    const char *sorted[MAX_NAMES] = {0};
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        DIR *d = opendir(s->dir[i]);
        for (struct dirent *e; d && (e = readdir(d)) && n < MAX_NAMES;) {
            size_t l = strlen(e->d_name);
            if (l <= 5 || strcmp(e->d_name + l - 5, ".json") != 0)
                continue;
            snprintf(names[n], sizeof names[n], "%.*s", (int)(l - 5), e->d_name);
            int dup = 0;
            for (int k = 0; k < n && !dup; k++)
                dup = strcmp(sorted[k], names[n]) == 0;
            if (!dup) {
                sorted[n] = names[n];
                n++;
            }
        }
        if (d)
            closedir(d);
    }
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_str);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", i ? ", " : "", sorted[i]);
    }
    if (!n)
        snprintf(buf, len, "none");
}

int ck_model_resolve(const char *arg, char *out, size_t out_len, char *err, size_t err_len)
{
    if (strchr(arg, '/') || is_file(arg)) {
        snprintf(out, out_len, "%s", arg);
        return 0;
    }
    size_t l = strlen(arg);
    int has_ext = l > 5 && strcmp(arg + l - 5, ".json") == 0;
    search_dirs s;
    collect_dirs(&s);
    for (int i = 0; i < s.n; i++) {
        int w = snprintf(out, out_len, "%s/%s%s", s.dir[i], arg, has_ext ? "" : ".json");
        if (w > 0 && (size_t)w < out_len && is_file(out))
            return 0;
    }
    char where[4 * PATH_MAX] = "", names[2048];
    for (int i = 0; i < s.n; i++) {
        size_t used = strlen(where);
        snprintf(where + used, sizeof where - used, "%s%s", i ? ", " : "", s.dir[i]);
    }
    list_names(&s, names, sizeof names);
    snprintf(err, err_len,
             "--model '%s': no such file, and no model of that name in %s%s (set CK_MODEL_PATH); models found: %s", arg,
             s.n ? "" : "any model folder", where, names);
    out[0] = 0;
    return -1;
}

const char *ck_model_arg(const char *cmd, const char *arg)
{
    static char paths[4][PATH_MAX];
    static int next;
    char err[8192];
    char *out = paths[next];
    next = (next + 1) % 4;
    if (ck_model_resolve(arg, out, PATH_MAX, err, sizeof err) == 0)
        return out;
    fprintf(stderr, "%s: %s\n", cmd, err);
    return NULL;
}
