/* roofs_file.c — the roofs as a file (calibrate.h): ISA names, where the
 * roofs of this machine are kept, and their JSON form, saved and loaded. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "common/sysinfo.h"
#include "common/files.h"

/* ---- names and lookups ------------------------------------------------------------ */

const char *ck_isa_name(int isa)
{
    static const char *const names[CK_ISA_COUNT] = {"scalar", "avx2", "avx512", "neon"};
    return isa >= 0 && isa < CK_ISA_COUNT ? names[isa] : "?";
}

int ck_isa_for_plugin(const char *plugin_name)
{
    for (int isa = CK_ISA_COUNT - 1; isa >= 0; isa--)
        if (plugin_name && strcmp(plugin_name, ck_isa_name(isa)) == 0)
            return isa;
    for (int isa = CK_ISA_COUNT - 1; isa > 0; isa--)
        if (ck_isa_supported(isa))
            return isa;
    return CK_ISA_SCALAR;
}

/* results_dir/roofs-<host>-<cpu> */
static void machine_stem(char *buf, size_t len, const char *results_dir)
{
    char host[64], cpu[128];
    ck_sys_host(host, sizeof host);
    ck_sys_cpu_model(cpu, sizeof cpu);
    ck_sys_slug(host);
    ck_sys_slug(cpu);
    snprintf(buf, len, "%s/roofs-%s-%s", results_dir, host, cpu);
}

void ck_roofs_path(char *buf, size_t len, const char *results_dir)
{
    char stem[4096], when[32], try[4200];
    machine_stem(stem, sizeof stem, results_dir);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d-%H%M%S", &tm);
    snprintf(try, sizeof try, "%s-%s.json", stem, when);
    for (int n = 2; access(try, F_OK) == 0 && n < 10; n++) /* -2 sorts after the plain name: see find */
        snprintf(try, sizeof try, "%s-%s-%d.json", stem, when, n);
    snprintf(buf, len, "%s", try);
}

/* a is newer than b: names compared without ".json", so that "...-013357-2"
 * comes after "...-013357". */
static int newer_name(const char *a, const char *b)
{
    size_t la = strlen(a) - 5, lb = strlen(b) - 5;
    int c = strncmp(a, b, la < lb ? la : lb);
    return c > 0 || (c == 0 && la > lb);
}

int ck_roofs_find(char *buf, size_t len, const char *results_dir)
{
    char stem[4096], pattern[4200];
    machine_stem(stem, sizeof stem, results_dir);
    snprintf(pattern, sizeof pattern, "%s-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-*.json", stem);
    glob_t g;
    const char *best = NULL;
    if (glob(pattern, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            if (!best || newer_name(g.gl_pathv[i], best))
                best = g.gl_pathv[i];
    int found = best != NULL;
    if (best)
        snprintf(buf, len, "%s", best);
    globfree(&g);
    if (found)
        return 0;
    snprintf(buf, len, "%s.json", stem); /* the name before roofs carried their time */
    return access(buf, R_OK) == 0 ? 0 : -1;
}

static double interpolate(double one, double all, int all_threads, int threads)
{
    if (threads <= 1 || all_threads <= 1)
        return one;
    if (threads >= all_threads)
        return all;
    return one + (all - one) * (double)(threads - 1) / (double)(all_threads - 1);
}

double ck_roofs_bandwidth_gbs(const ck_roofs *r, int threads)
{
    return interpolate(r->triad_gbs[0], r->triad_gbs[1], r->threads, threads);
}

double ck_roofs_peak_gflops(const ck_roofs *r, int isa, int threads)
{
    if (isa < 0 || isa >= CK_ISA_COUNT)
        return 0.0;
    double per_thread = r->peak_gflops[isa][0];
    double all = r->peak_gflops[isa][1];
    double scaled = per_thread * (threads > 0 ? threads : 1);
    return threads >= r->threads || scaled > all ? all : scaled;
}

double ck_roofs_bf16_dot_gflops(const ck_roofs *r, int threads)
{
    return ck_roofs_dot_gops(r, CK_DOT_BF16, threads);
}

/* ---- JSON ------------------------------------------------------------------------- */

static cJSON *pair(double one, double all)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "one_thread", one);
    cJSON_AddNumberToObject(o, "all_threads", all);
    return o;
}

cJSON *ck_roofs_to_json(const ck_roofs *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", r->host);
    cJSON_AddStringToObject(o, "cpu", r->cpu);
    cJSON_AddStringToObject(o, "measured_at", r->measured_at);
    if (r->mode != CK_ROOFS_UNKNOWN)
        cJSON_AddStringToObject(o, "mode", r->mode == CK_ROOFS_QUICK ? "quick" : "full");
    if (r->load_avg >= 0)
        cJSON_AddNumberToObject(o, "load_avg", r->load_avg);
    if (r->cpus > 0)
        cJSON_AddNumberToObject(o, "cpus", r->cpus);
    cJSON_AddNumberToObject(o, "threads", r->threads);
    if (r->apart_ns > 0)
        cJSON_AddNumberToObject(o, "threads_apart_ns", r->apart_ns);
    cJSON_AddNumberToObject(o, "llc_bytes", (double)r->llc_bytes);
    cJSON_AddNumberToObject(o, "triad_array_bytes", (double)r->triad_array_bytes);
    cJSON_AddItemToObject(o, "stream_triad_gbs", pair(r->triad_gbs[0], r->triad_gbs[1]));
    cJSON *peak = cJSON_AddObjectToObject(o, "peak_fma_gflops");
    for (int isa = 0; isa < CK_ISA_COUNT; isa++)
        if (r->peak_gflops[isa][0] > 0)
            cJSON_AddItemToObject(peak, ck_isa_name(isa), pair(r->peak_gflops[isa][0], r->peak_gflops[isa][1]));
    cJSON *dot = cJSON_AddObjectToObject(o, "peak_dot_gops");
    for (int k = 0; k < CK_DOT_COUNT; k++)
        if (r->dot_gops[k][0] > 0)
            cJSON_AddItemToObject(dot, ck_dot_name(k), pair(r->dot_gops[k][0], r->dot_gops[k][1]));
    if (r->have_levels) {
        cJSON *levels = cJSON_AddObjectToObject(o, "memory_levels");
        for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
            const ck_mem_level *l = &r->level[lv];
            if (!(l->read_gbs[0] > 0))
                continue;
            cJSON *e = cJSON_AddObjectToObject(levels, ck_mem_level_name(lv));
            cJSON_AddNumberToObject(e, "cache_bytes", (double)l->cache_bytes);
            cJSON_AddBoolToObject(e, "shared", l->shared);
            cJSON_AddNumberToObject(e, "set_bytes", (double)l->set_bytes);
            cJSON_AddItemToObject(e, "read_gbs", pair(l->read_gbs[0], l->read_gbs[1]));
            cJSON_AddItemToObject(e, "triad_gbs", pair(l->triad_gbs[0], l->triad_gbs[1]));
            if (l->update_gbs[0] > 0)
                cJSON_AddItemToObject(e, "update_gbs", pair(l->update_gbs[0], l->update_gbs[1]));
            if (l->copy_gbs[0] > 0)
                cJSON_AddItemToObject(e, "copy_gbs", pair(l->copy_gbs[0], l->copy_gbs[1]));
        }
    }
    return o;
}

int ck_roofs_save(const ck_roofs *r, const char *path, char *err, size_t err_len)
{
    cJSON *o = ck_roofs_to_json(r);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = text ? fopen(tmp, "w") : NULL;
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_len, "%s: cannot write the roofs file: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

static char *read_text(const char *path, char *err, size_t err_len)
{
    char *buf = ck_read_file(path, NULL);
    if (!buf) {
        if (access(path, R_OK) != 0) /* the reason fopen gave */
            snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        else
            snprintf(err, err_len, "%s: cannot read it", path);
    }
    return buf;
}

/* A positive number at obj[key][sub] (sub may be NULL); `field` names it in
 * the error message. */
static int get_positive(const cJSON *obj, const char *key, const char *sub, double *out, const char *field,
                        const char *path, char *err, size_t err_len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (sub)
        v = cJSON_GetObjectItemCaseSensitive(v, sub);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0)) {
        snprintf(err, err_len, "%s: field '%s': expected a positive number", path, field);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

static void get_string(const cJSON *obj, const char *key, char *buf, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    snprintf(buf, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* mode, load and CPUs; a file from before they were recorded loads with
 * them unknown (and is then doubtful). */
static void read_trust(const cJSON *o, ck_roofs *r)
{
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "mode"));
    r->mode = !mode                    ? CK_ROOFS_UNKNOWN
              : !strcmp(mode, "quick") ? CK_ROOFS_QUICK
              : !strcmp(mode, "full")  ? CK_ROOFS_FULL
                                       : CK_ROOFS_UNKNOWN;
    const cJSON *load = cJSON_GetObjectItemCaseSensitive(o, "load_avg");
    r->load_avg = cJSON_IsNumber(load) && load->valuedouble >= 0 ? load->valuedouble : -1;
    const cJSON *cpus = cJSON_GetObjectItemCaseSensitive(o, "cpus");
    r->cpus = cJSON_IsNumber(cpus) && cpus->valuedouble >= 1 ? (int)cpus->valuedouble : 0;
    const cJSON *apart = cJSON_GetObjectItemCaseSensitive(o, "threads_apart_ns");
    r->apart_ns = cJSON_IsNumber(apart) && apart->valuedouble > 0 && apart->valuedouble < 1e9 ? apart->valuedouble : 0;
}

/* A one/all-threads pair of positive numbers at obj[key]; `field` names it. */
static int get_pair(const cJSON *obj, const char *key, double out[2], const char *field, const char *path, char *err,
                    size_t err_len)
{
    char one[96], all[96];
    snprintf(one, sizeof one, "%s.one_thread", field);
    snprintf(all, sizeof all, "%s.all_threads", field);
    return get_positive(obj, key, "one_thread", &out[0], one, path, err, err_len) ||
           get_positive(obj, key, "all_threads", &out[1], all, path, err, err_len);
}

/* The optional parts of format 2 (levels, dot peaks): a file from before
 * them loads with have_levels 0, and bench says to run calibrate. */
static int load_levels(ck_roofs *r, const cJSON *o, const char *path, char *err, size_t err_len)
{
    const cJSON *dot = cJSON_GetObjectItemCaseSensitive(o, "peak_dot_gops");
    for (int k = 0; dot && k < CK_DOT_COUNT; k++) {
        char field[64];
        snprintf(field, sizeof field, "peak_dot_gops.%s", ck_dot_name(k));
        if (cJSON_GetObjectItemCaseSensitive(dot, ck_dot_name(k)) &&
            get_pair(dot, ck_dot_name(k), r->dot_gops[k], field, path, err, err_len))
            return -1;
    }
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(o, "memory_levels");
    if (!levels)
        return 0;
    for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(levels, ck_mem_level_name(lv));
        if (!e)
            continue;
        ck_mem_level *l = &r->level[lv];
        char field[64], rd[80], tr[80];
        snprintf(field, sizeof field, "memory_levels.%s", ck_mem_level_name(lv));
        snprintf(rd, sizeof rd, "%s.read_gbs", field);
        snprintf(tr, sizeof tr, "%s.triad_gbs", field);
        double cache = 0, set = 0;
        if (lv < CK_MEM_DRAM) {
            snprintf(rd + strlen(field), sizeof rd - strlen(field), ".cache_bytes");
            if (get_positive(e, "cache_bytes", NULL, &cache, rd, path, err, err_len))
                return -1;
            snprintf(rd + strlen(field), sizeof rd - strlen(field), ".read_gbs");
        }
        snprintf(tr + strlen(field), sizeof tr - strlen(field), ".set_bytes");
        if (get_positive(e, "set_bytes", NULL, &set, tr, path, err, err_len))
            return -1;
        snprintf(tr + strlen(field), sizeof tr - strlen(field), ".triad_gbs");
        if (get_pair(e, "read_gbs", l->read_gbs, rd, path, err, err_len) ||
            get_pair(e, "triad_gbs", l->triad_gbs, tr, path, err, err_len))
            return -1;
        if (cJSON_GetObjectItemCaseSensitive(e, "update_gbs")) { /* optional: files before it price writes as reads */
            snprintf(tr + strlen(field), sizeof tr - strlen(field), ".update_gbs");
            if (get_pair(e, "update_gbs", l->update_gbs, tr, path, err, err_len))
                return -1;
        }
        if (cJSON_GetObjectItemCaseSensitive(e, "copy_gbs")) { /* optional: without it, writes at the triad's price */
            snprintf(tr + strlen(field), sizeof tr - strlen(field), ".copy_gbs");
            if (get_pair(e, "copy_gbs", l->copy_gbs, tr, path, err, err_len))
                return -1;
        }
        l->cache_bytes = (size_t)cache;
        l->set_bytes = (size_t)set;
        l->shared = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "shared"));
    }
    r->have_levels = r->level[CK_MEM_DRAM].read_gbs[0] > 0;
    if (!r->have_levels) {
        snprintf(err, err_len, "%s: field 'memory_levels.DRAM': missing (run ckbench calibrate)", path);
        return -1;
    }
    return 0;
}

int ck_roofs_load(ck_roofs *r, const char *path, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    char *text = read_text(path, err, err_len);
    if (!text)
        return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        snprintf(err, err_len, "%s: not a JSON object (expected a roofs file written by 'ckbench calibrate')", path);
        cJSON_Delete(o);
        return -1;
    }
    double threads = 0, llc = 0, array = 0;
    int bad = get_positive(o, "threads", NULL, &threads, "threads", path, err, err_len) ||
              get_positive(o, "llc_bytes", NULL, &llc, "llc_bytes", path, err, err_len) ||
              get_positive(o, "triad_array_bytes", NULL, &array, "triad_array_bytes", path, err, err_len) ||
              get_positive(o, "stream_triad_gbs", "one_thread", &r->triad_gbs[0], "stream_triad_gbs.one_thread", path,
                           err, err_len) ||
              get_positive(o, "stream_triad_gbs", "all_threads", &r->triad_gbs[1], "stream_triad_gbs.all_threads", path,
                           err, err_len);
    const cJSON *peak = cJSON_GetObjectItemCaseSensitive(o, "peak_fma_gflops");
    if (!bad && !cJSON_IsObject(peak)) {
        snprintf(err, err_len, "%s: field 'peak_fma_gflops': expected an object", path);
        bad = 1;
    }
    for (int isa = 0; !bad && isa < CK_ISA_COUNT; isa++) {
        if (!cJSON_GetObjectItemCaseSensitive(peak, ck_isa_name(isa)))
            continue; /* an ISA this CPU lacks */
        char one[64], all[64];
        snprintf(one, sizeof one, "peak_fma_gflops.%s.one_thread", ck_isa_name(isa));
        snprintf(all, sizeof all, "peak_fma_gflops.%s.all_threads", ck_isa_name(isa));
        bad = get_positive(peak, ck_isa_name(isa), "one_thread", &r->peak_gflops[isa][0], one, path, err, err_len) ||
              get_positive(peak, ck_isa_name(isa), "all_threads", &r->peak_gflops[isa][1], all, path, err, err_len);
    }
    if (!bad)
        bad = load_levels(r, o, path, err, err_len);
    /* the bf16 dot peak under its earlier name (roofs files written between
     * the compute-bf16 roof and the per-level roofs): absent on CPUs without
     * avx512_bf16 and in older files */
    if (!bad && !(r->dot_gops[CK_DOT_BF16][0] > 0) && cJSON_GetObjectItemCaseSensitive(o, "peak_bf16_dot_gflops"))
        bad = get_pair(o, "peak_bf16_dot_gflops", r->dot_gops[CK_DOT_BF16], "peak_bf16_dot_gflops", path, err, err_len);
    if (!bad) {
        get_string(o, "host", r->host, sizeof r->host);
        get_string(o, "cpu", r->cpu, sizeof r->cpu);
        get_string(o, "measured_at", r->measured_at, sizeof r->measured_at);
        read_trust(o, r);
        r->threads = (int)threads;
        r->llc_bytes = (size_t)llc;
        r->triad_array_bytes = (size_t)array;
    }
    cJSON_Delete(o);
    return bad ? -1 : 0;
}

/* Seconds since the epoch of "2026-11-24T05:40:00Z"; -1 if it is not that. */
static long long parse_iso(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end && !*end ? (long long)timegm(&tm) : -1;
}

static void append(char *buf, size_t len, const char *text)
{
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", text);
}

int ck_roofs_doubtful(const ck_roofs *r, long long now, char *why, size_t len)
{
    char part[128];
    why[0] = 0;
    if (r->mode == CK_ROOFS_QUICK)
        append(why, len, "a quick measurement");
    else if (r->mode == CK_ROOFS_UNKNOWN)
        append(why, len, "of unrecorded mode and load (an older file)");
    if (r->load_avg >= 0 && r->cpus > 0 && r->load_avg > CK_ROOFS_MAX_LOAD_PER_CPU * r->cpus) {
        snprintf(part, sizeof part, "taken under load %.1f on %d CPU%s", r->load_avg, r->cpus, r->cpus == 1 ? "" : "s");
        append(why, len, part);
    }
    long long at = parse_iso(r->measured_at);
    if (at < 0) {
        append(why, len, "of unknown age");
    } else if (now - at > CK_ROOFS_MAX_AGE_S) {
        long long hours = (now - at) / 3600;
        if (hours >= 48)
            snprintf(part, sizeof part, "%lld days old", hours / 24);
        else
            snprintf(part, sizeof part, "%lld hours old", hours);
        append(why, len, part);
    }
    return why[0] != 0;
}
