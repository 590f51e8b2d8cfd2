/* The roofline facts of result files (results.h): per ops row its phase,
 * cache mode, memory level, arithmetic, ideal time and flag; per Google
 * Benchmark entry its phase, cache mode and memory level, as extra members
 * that compare.py ignores (it reads name, run_type, real_time, cpu_time,
 * time_unit). Kept apart from results.c, which writes the rest. */
#include <string.h>

#include <cjson/cJSON.h>

#include "results.h"

void ck_results_row_roofline(cJSON *o, const ck_bench_row *r)
{
    if (r->phase)
        cJSON_AddStringToObject(o, "phase", r->phase);
    if (r->cache)
        cJSON_AddStringToObject(o, "cache", r->cache);
    if (r->copies)
        cJSON_AddNumberToObject(o, "cold_copies", (double)r->copies);
    if (!r->bound)
        return;
    cJSON_AddStringToObject(o, "mem_level", ck_mem_level_name(r->mem_level));
    cJSON_AddStringToObject(o, "arith", r->arith ? r->arith : "");
    cJSON_AddNumberToObject(o, "ideal_ns", r->ideal_ns);
    if (r->roof_bytes > 0) /* bytes at the level's line bandwidth taking the memory part of ideal_ns */
        cJSON_AddNumberToObject(o, "roof_bytes", r->roof_bytes);
    if (r->now_pct > 0)
        cJSON_AddNumberToObject(o, "pct_of_dram_now", r->now_pct);
    if (r->roof_flag[0])
        cJSON_AddStringToObject(o, "roof_flag", r->roof_flag);
}

/* The row a Google Benchmark entry belongs to: its name is the run name,
 * or the run name and "_median" (an aggregate of repetitions). */
static const ck_bench_row *row_of(const char *run_name, const ck_bench_row *rows, size_t n)
{
    size_t len = strlen(run_name);
    for (size_t i = 0; i < n; i++)
        if (strncmp(rows[i].name, run_name, len) == 0 && (rows[i].name[len] == '\0' || rows[i].name[len] == '_'))
            return &rows[i];
    return NULL;
}

int ck_results_tag_benchmarks(cJSON *doc, const ck_bench_row *rows, size_t n)
{
    int tagged = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *rn = cJSON_GetObjectItemCaseSensitive(b, "run_name");
        const ck_bench_row *r = cJSON_IsString(rn) ? row_of(rn->valuestring, rows, n) : NULL;
        if (!r || !r->phase)
            continue;
        cJSON *e = (cJSON *)b;
        cJSON_AddStringToObject(e, "phase", r->phase);
        cJSON_AddStringToObject(e, "cache", r->cache ? r->cache : "hot");
        if (r->bound)
            cJSON_AddStringToObject(e, "mem_level", ck_mem_level_name(r->mem_level));
        tagged++;
    }
    return tagged;
}

cJSON *ck_results_probe_json(const ck_mem_probe *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!p || p->n == 0) {
        cJSON_AddStringToObject(o, "not_measured", p && p->why_not[0] ? p->why_not : "no probe");
        return o;
    }
    cJSON_AddStringToObject(o, "what",
                            "DRAM read (GB/s), calibrate's loop and working set, before and after this plugin's rows");
    cJSON *t = cJSON_AddArrayToObject(o, "threads"), *b = cJSON_AddArrayToObject(o, "before_gbs"),
          *a = cJSON_AddArrayToObject(o, "after_gbs"), *r = cJSON_AddArrayToObject(o, "roof_read_gbs");
    for (int i = 0; i < p->n; i++) {
        cJSON_AddItemToArray(t, cJSON_CreateNumber(p->threads[i]));
        cJSON_AddItemToArray(b, cJSON_CreateNumber(p->start_gbs[i]));
        cJSON_AddItemToArray(a, cJSON_CreateNumber(p->end_gbs[i]));
        cJSON_AddItemToArray(r, cJSON_CreateNumber(p->roof_gbs[i]));
    }
    /* where the threads sat (placement.h): one-way ns, 0 on one thread */
    cJSON *sa = cJSON_AddArrayToObject(o, "threads_apart_before_ns"),
          *ea = cJSON_AddArrayToObject(o, "threads_apart_after_ns"),
          *ra = cJSON_AddArrayToObject(o, "threads_apart_roof_ns");
    for (int i = 0; i < p->n; i++) {
        char why[200];
        cJSON_AddItemToArray(sa, cJSON_CreateNumber(p->start_apart_ns[i]));
        cJSON_AddItemToArray(ea, cJSON_CreateNumber(p->end_apart_ns[i]));
        cJSON_AddItemToArray(ra, cJSON_CreateNumber(p->roof_apart_ns[i]));
        if (ck_mem_probe_moved(p, i, why, sizeof why))
            cJSON_AddStringToObject(o, "threads_moved", why);
    }
    return o;
}
