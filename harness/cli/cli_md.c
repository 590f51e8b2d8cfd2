/* bench --md (cli_bench.h): the rows as a Markdown table to paste into a
 * pull request, as llama-bench's `-o md` prints: one header, one row per
 * (instance, phase, cache, threads), the figures people compare. */
#include <stdio.h>

#include "cli_bench.h"

static void md_row(const char *plugin, const ck_bench_row *r)
{
    char t[32], roof[48] = "-", speed[32] = "-";
    cli_format_time(t, sizeof t, r->time_ns);
    if (r->bound)
        snprintf(roof, sizeof roof, "%.0f%% %s%s", r->roof_pct,
                 r->bound[0] == 'm' ? ck_mem_level_name(r->mem_level) : r->arith, r->roof_flag[0] ? " !" : "");
    if (r->speedup > 0)
        snprintf(speed, sizeof speed, "%.1fx%s", r->speedup, r->scalar_scaled ? "*" : "");
    printf("| %s | %s | %s | %s | %s | %d | %s | %.2f | %.2f | %s | %s |\n", plugin, r->label, r->shape,
           r->phase ? r->phase : "-", r->cache ? r->cache : "-", r->threads, r->time_ns > 0 ? t : r->status, r->gbs,
           r->gflops, roof, speed);
}

void cli_print_md(const ck_bench_outcome *out)
{
    printf("| plugin | op instance | shape | phase | cache | threads | time | GB/s | GFLOP/s | %% of roof | speedup |\n"
           "|---|---|---|---|---|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < out->n_plugins; i++)
        for (size_t k = 0; out->plugins[i].runnable && k < out->plugins[i].n_rows; k++)
            md_row(out->plugins[i].plugin, &out->plugins[i].rows[k]);
    printf("\nmodel %s; %% of roof against the memory level / arithmetic named (cold: DRAM); '!' above 105%%; "
           "*: scalar scaled from a reduced T.\n",
           out->model);
}
