/* Machine and build facts for result files (see sysinfo.h). */
#include "sysinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void ck_sys_host(char *buf, size_t len)
{
    char name[256] = "";
    if (gethostname(name, sizeof name - 1) != 0 || !name[0])
        snprintf(name, sizeof name, "unknown-host");
    name[strcspn(name, ".")] = '\0';
    snprintf(buf, len, "%s", name);
}

/* The value of the first "key<spaces>: value" line of /proc/cpuinfo. */
static int cpuinfo_field(const char *key, char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    size_t klen = strlen(key);
    int found = -1;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '\t' && line[klen] != ':'))
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(buf, len, "%s", v);
        found = 0;
        break;
    }
    free(line);
    fclose(f);
    return found;
}

void ck_sys_cpu_model(char *buf, size_t len)
{
    if (cpuinfo_field("model name", buf, len) == 0 && buf[0])
        return;
    if (cpuinfo_field("CPU part", buf, len) == 0 && buf[0]) /* aarch64 */
        return;
    snprintf(buf, len, "unknown-cpu");
}

void ck_sys_cpu_flags(char *buf, size_t len)
{
    if (cpuinfo_field("flags", buf, len) != 0 && cpuinfo_field("Features", buf, len) != 0)
        snprintf(buf, len, "%s", "");
}

static size_t sysfs_cache_size(int index)
{
    char path[128], text[64];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t v = 0;
    if (fgets(text, sizeof text, f)) {
        char unit = 0;
        unsigned long n = 0;
        if (sscanf(text, "%lu%c", &n, &unit) >= 1)
            v = (size_t)n * (unit == 'K' ? 1024u : unit == 'M' ? 1024u * 1024u : 1u);
    }
    fclose(f);
    return v;
}

static int sysfs_cache_text(int index, const char *what, char *text, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, what);
    FILE *f = fopen(path, "r");
    int ok = f && fgets(text, (int)len, f);
    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

size_t ck_sys_cache_bytes(int level)
{
    for (int i = 0; i < 8; i++) {
        char lv[16], type[32];
        if (sysfs_cache_text(i, "level", lv, sizeof lv) || sysfs_cache_text(i, "type", type, sizeof type))
            continue;
        if (atoi(lv) == level && strncmp(type, "Instruction", 11) != 0)
            return sysfs_cache_size(i);
    }
    return 0;
}

/* sysfs first: it is the kernel's view of the caches, while sysconf repeats
 * what CPUID says, which a hypervisor may invent (a VM here reports 320 MiB
 * of L3 through CPUID and 32 MiB through sysfs). */
size_t ck_sys_llc_bytes(void)
{
    size_t best = 0; /* the highest index is the last level */
    for (int i = 0; i < 8; i++) {
        size_t s = sysfs_cache_size(i);
        if (s)
            best = s;
    }
    if (best)
        return best;
    long v = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    v = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (v <= 0)
        v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return v > 0 ? (size_t)v : (size_t)32 << 20;
}

int ck_sys_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

const char *ck_sys_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown compiler";
#endif
}


void ck_sys_slug(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        char c = *r;
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                   c == '-';
        if (!keep)
            c = '-';
        if (c == '-' && (w == s || w[-1] == '-'))
            continue;
        *w++ = c;
    }
    while (w > s && w[-1] == '-')
        w--;
    *w = '\0';
}

static void utc_format(const char *fmt, char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (strftime(buf, len, fmt, &tm) == 0 && len)
        buf[0] = '\0';
}

void ck_sys_utc_date(char *buf, size_t len)
{
    utc_format("%Y-%m-%d", buf, len);
}

void ck_sys_utc_iso(char *buf, size_t len)
{
    utc_format("%Y-%m-%dT%H:%M:%SZ", buf, len);
}

int ck_sys_results_dir(char *buf, size_t len, char *err, size_t err_len)
{
    const char *dir = getenv("CK_RESULTS_DIR");
    snprintf(buf, len, "%s", dir && *dir ? dir : "results");
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "%s: cannot create the results directory: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}
