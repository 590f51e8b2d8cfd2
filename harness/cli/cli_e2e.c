/* `ckbench bench --e2e` (cli_bench.h): the whole model per plugin and thread
 * count (bench/bench_e2e.h), printed as llama-bench prints it — one row per
 * test, pp<N> and tg<N>, tokens per second — then how far generation is from
 * moving its bytes at the DRAM read bandwidth, and the profile. */
#include <stdio.h>
#include <string.h>

#include "bench/bench_e2e.h"
#include "bench/placement.h"
#include "cli_bench.h"
#include "common/sysinfo.h"

static void print_row(const char *model, const ck_e2e_result *r, int k)
{
    const ck_e2e_phase *ph = &r->phase[k];
    printf("| %s | %s | %d | %s%zu | %.2f | %.2f - %.2f | %.2f |\n", model, r->plugin, r->threads,
           k == CK_E2E_PP ? "pp" : "tg", ph->tokens, ph->tps_median, ph->tps_min, ph->tps_max,
           1e-6 * ph->ns_median / (double)ph->tokens);
}

/* Generation against its bound: the bytes of one step at the middle of the
 * loop (weights, KV cache, activations) at the DRAM read bandwidth. */
static void print_bound(const ck_e2e_result *r, const ck_roofs *roofs)
{
    const ck_e2e_phase *tg = &r->phase[CK_E2E_TG];
    double bw = ck_roofs_level_gbs(roofs, CK_MEM_DRAM, r->threads);
    if (!(bw > 0))
        return;
    double ideal = tg->ideal_bytes / bw, per_token = tg->ns_median / (double)tg->tokens;
    printf("tg %s, %d threads: %.2f ms per token; its %.2f GB per token at the DRAM roof (%.1f GB/s) take %.2f ms: "
           "%.2fx the bound\n",
           r->plugin, r->threads, 1e-6 * per_token, tg->ideal_bytes / 1e9, bw, 1e-6 * ideal, per_token / ideal);
    if (r->dram_roof_gbs > 0) {
        printf("  the DRAM read measured before / after the run: %.1f / %.1f GB/s (roof's read %.1f)",
               r->dram_before_gbs, r->dram_after_gbs, r->dram_roof_gbs);
        if (r->dram_before_apart_ns > 0)
            printf("; threads %.0f / %.0f ns apart (%.0f calibrating)", r->dram_before_apart_ns, r->dram_after_apart_ns,
                   r->dram_roof_apart_ns);
        double now = ck_roofs_dram_now_gbs(roofs, r->threads, r->dram_ratio);
        if (now > 0)
            printf(";\n  at that bandwidth (%.1f GB/s) the bound is %.2f ms: %.2fx it\n", now,
                   1e-6 * tg->ideal_bytes / now, per_token / (tg->ideal_bytes / now));
        else
            printf("\n");
        if (r->dram_moved[0])
            printf("  note: %s:\n  " CK_PLACEMENT_WHY ",\n  so %s; rerun%s\n", r->dram_moved,
                   now > 0 ? "the bound at the read measured around the run is the one to go by"
                           : "neither read is the run's",
                   now > 0 ? ", or calibrate again" : "");
    }
    const ck_e2e_phase *pp = &r->phase[CK_E2E_PP];
    if (pp->ideal_ns > 0)
        printf("pp%zu %s, %d threads: %.0f%% of the roof, time-weighted (sum of each op's ideal %.1f ms / measured "
               "%.1f ms)\n",
               pp->tokens, r->plugin, r->threads, 100 * pp->ideal_ns / pp->ns_median, 1e-6 * pp->ideal_ns,
               1e-6 * pp->ns_median);
}

static void print_profile(const ck_e2e_result *r)
{
    double total[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (size_t s = 0; s < r->n_sections; s++)
            total[k] += r->phase[k].section_ns[s];
    printf("profile of %s, %d threads (share of each phase's time):\n  %-14s %7s %7s  %s\n", r->plugin, r->threads,
           "op / section", "pp", "tg", "kernels of");
    size_t n_ops = sizeof r->phase[0].op_ns / sizeof r->phase[0].op_ns[0];
    for (size_t op = 0; op < n_ops; op++)
        if (r->phase[0].op_ns[op] > 0 || r->phase[1].op_ns[op] > 0)
            printf("  %-14s %6.1f%% %6.1f%%  %s\n", ck_op_name((uint32_t)op),
                   total[0] > 0 ? 100 * r->phase[0].op_ns[op] / total[0] : 0,
                   total[1] > 0 ? 100 * r->phase[1].op_ns[op] / total[1] : 0, r->op_by[op]);
    for (size_t s = 0; s < r->n_sections; s++)
        printf("  %-14s %6.1f%% %6.1f%%\n", r->section_names[s],
               total[0] > 0 ? 100 * r->phase[0].section_ns[s] / total[0] : 0,
               total[1] > 0 ? 100 * r->phase[1].section_ns[s] / total[1] : 0);
}

/* The headline's figures of result r. */
static void summarise(const ck_e2e_result *r, const ck_roofs *roofs, cli_e2e_summary *sum)
{
    const ck_e2e_phase *pp = &r->phase[CK_E2E_PP], *tg = &r->phase[CK_E2E_TG];
    double bw = roofs ? ck_roofs_level_gbs(roofs, CK_MEM_DRAM, r->threads) : 0;
    *sum = (cli_e2e_summary){1, pp->tokens, tg->tokens, pp->tps_median, tg->tps_median, 0, 0, 0};
    if (bw > 0 && tg->ideal_bytes > 0)
        sum->tg_bound_ratio = (tg->ns_median / (double)tg->tokens) / (tg->ideal_bytes / bw);
    if (pp->ideal_ns > 0)
        sum->pp_roof = pp->ideal_ns / pp->ns_median;
    double now = roofs ? ck_roofs_dram_now_gbs(roofs, r->threads, r->dram_ratio) : 0;
    if (now > 0 && tg->ideal_bytes > 0)
        sum->tg_now_ratio = (tg->ns_median / (double)tg->tokens) / (tg->ideal_bytes / now);
}

/* One e2e run between two DRAM read probes at its thread count. */
static int run_probed(const ck_bench_opts *o, const char *plugin, int threads, const ck_roofs *roofs, ck_mem_probe *mp,
                      ck_e2e_result *res, char *err, size_t err_len)
{
    int t = threads > 0 ? threads : ck_sys_ncpus();
    if (roofs)
        ck_mem_probe_take(mp, roofs, &t, 1, 0);
    int rc = ck_e2e_run(o, plugin, threads, roofs, res, err, err_len);
    if (rc || !roofs || mp->n == 0)
        return rc;
    ck_mem_probe_take(mp, roofs, NULL, 0, 1);
    res->dram_before_gbs = mp->start_gbs[0];
    res->dram_after_gbs = mp->end_gbs[0];
    res->dram_roof_gbs = mp->roof_gbs[0];
    res->dram_before_apart_ns = mp->start_apart_ns[0];
    res->dram_after_apart_ns = mp->end_apart_ns[0];
    res->dram_roof_apart_ns = mp->roof_apart_ns[0];
    ck_mem_probe_moved(mp, 0, res->dram_moved, sizeof res->dram_moved);
    res->dram_ratio = ck_mem_probe_ratio(mp, t);
    return 0;
}

int cli_bench_e2e(const ck_bench_opts *o, cli_e2e_summary *sum)
{
    char err[CK_ERR_LEN], dir[4096], path[4200], model[128];
    const char *base = strrchr(o->model_path, '/');
    snprintf(model, sizeof model, "%s", base ? base + 1 : o->model_path);
    size_t ml = strlen(model);
    if (ml > 5 && !strcmp(model + ml - 5, ".json"))
        model[ml - 5] = '\0';
    ck_roofs roofs;
    /* the newest roofs file (ck_roofs_path would name a new one, never there) */
    int have_roofs = ck_sys_results_dir(dir, sizeof dir, err, sizeof err) == 0 &&
                     ck_roofs_find(path, sizeof path, dir) == 0 && ck_roofs_load(&roofs, path, err, sizeof err) == 0;
    int status = 0;
    ck_mem_probe mp = {0};
    printf("| model | plugin | threads | test | t/s | min - max | ms per token |\n|---|---|--:|---|--:|--:|--:|\n");
    ck_e2e_result res[CK_BENCH_MAX_PLUGINS * CK_BENCH_MAX_THREADS];
    size_t n = 0, first[CK_BENCH_MAX_PLUGINS + 1] = {0};
    for (int p = 0; p < o->n_plugins; p++, first[p] = n)
        for (int t = 0; t < (o->n_threads ? o->n_threads : 1); t++) {
            int rc = run_probed(o, o->plugins[p], o->n_threads ? o->threads[t] : 0, have_roofs ? &roofs : NULL, &mp,
                                &res[n], err, sizeof err);
            if (rc) {
                fprintf(stderr, "ckbench bench --e2e: %s\n", err);
                if (rc == 2) {
                    ck_mem_probe_free(&mp);
                    return 2;
                }
                status = 1;
                continue;
            }
            print_row(model, &res[n], CK_E2E_PP);
            print_row(model, &res[n], CK_E2E_TG);
            fflush(stdout);
            n++;
        }
    ck_mem_probe_free(&mp);
    printf("\nt/s: median over %d repetition%s (min - max); prefill is one forward of pp tokens, generation a "
           "greedy loop of tg\ntokens from position pp, each appending its k and v to the KV cache.\n",
           o->repetitions, o->repetitions == 1 ? "" : "s");
    if (sum && n)
        summarise(&res[0], have_roofs ? &roofs : NULL, sum);
    for (size_t i = 0; i < n; i++) {
        if (have_roofs)
            print_bound(&res[i], &roofs);
        print_profile(&res[i]);
    }
    for (int p = 0; p < o->n_plugins; p++) {
        char json[4200];
        if (first[p + 1] == first[p])
            continue; /* nothing ran */
        if (ck_e2e_write(o, &res[first[p]], first[p + 1] - first[p], model, json, sizeof json, err, sizeof err)) {
            fprintf(stderr, "ckbench bench --e2e: %s\n", err);
            status = 1;
        } else {
            printf("file: %s\n", json);
        }
    }
    return status;
}
