/* The Markdown report (report.h): per model and op, the plugins side by side;
 * then the runs and the machines they ran on. */
#include "report.h"

#include <math.h>
#include <string.h>

#define MAX_OPS 64

typedef struct md_table {
    FILE *f;
    int baseline; /* 1: with the "vs baseline" column */
} md_table;

static void md_row(const ck_report_row *row, void *arg)
{
    const md_table *tb = arg;
    FILE *f = tb->f;
    char t[32], gbs[32], gfl[32], roof[32], sp[32], err[32], use[32];
    ck_report_fmt_use(use, sizeof use, row);
    ck_report_fmt_time(t, sizeof t, row->time_ns, "us");
    ck_report_fmt_num(gbs, sizeof gbs, row->time_ns > 0 ? row->gbs : -1);
    ck_report_fmt_num(gfl, sizeof gfl, row->time_ns > 0 ? row->gflops : -1);
    ck_report_fmt_roof(roof, sizeof roof, row);
    ck_report_fmt_speedup(sp, sizeof sp, row);
    ck_report_fmt_err(err, sizeof err, row->parity_max_abs);
    fputs("| ", f);
    ck_report_md_escape(f, row->label);
    fputs(" | ", f);
    ck_report_md_escape(f, row->shape);
    fputs(" | ", f);
    ck_report_md_escape(f, row->run->tag);
    fprintf(f, " | %d | ", row->threads);
    if (row->time_ns > 0) {
        fprintf(f, "%s", t);
    } else {
        fputs("not measured: ", f);
        ck_report_md_escape(f, row->status);
    }
    fprintf(f, " | %s | %s | %s | %s | %s | %s | %s | ", gbs, gfl, roof, sp, row->parity ? row->parity : "-",
            row->parity ? err : "-", use);
    ck_report_md_escape(f, row->notes[0] ? row->notes : "-");
    fputs(" |", f);
    if (tb->baseline && row->base)
        fprintf(f, row->slower ? " **%.2fx SLOWER** |" : " %.2fx |", row->base_ratio);
    else if (tb->baseline)
        fputs(row->time_ns > 0 ? " no baseline |" : " - |", f);
    fputc('\n', f);
}

static void md_model(const ck_report *r, const char *model, FILE *f)
{
    fprintf(f, "## Model `%s`\n\n", model);
    for (size_t i = 0; i < r->n_runs; i++) {
        size_t n;
        double g = ck_report_geomean_speedup(&r->runs[i], &n);
        if (!strcmp(r->runs[i].model, model) && n)
            fprintf(f, "- %s: geometric-mean speedup over scalar %.2fx over %zu instances\n", r->runs[i].tag, g, n);
    }
    fputc('\n', f);
    const char *ops[MAX_OPS];
    size_t n_ops = ck_report_model_ops(r, model, ops, MAX_OPS);
    int baseline = r->n_baseline > 0;
    for (size_t i = 0; i < n_ops; i++) {
        fprintf(f, "### %s\n\n", ops[i]);
        fprintf(f,
                "| instance | shape | run | threads | time | GB/s | GFLOP/s | %% of roof | speedup | parity | "
                "max abs err | cpu | notes |%s\n",
                baseline ? " vs baseline |" : "");
        fprintf(f, "|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|---|%s\n", baseline ? "--:|" : "");
        md_table tb = {f, baseline};
        ck_report_each_row(r, model, ops[i], md_row, &tb);
        fputc('\n', f);
    }
}

static void md_runs(const ck_report *r, FILE *f)
{
    fprintf(f, "## Runs\n\n");
    fprintf(f, "| run | model | plugin | host | CPU | date | git commit | compiler | threads | min time | "
               "repetitions | counters | parity | file |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|--:|--:|---|---|---|\n");
    for (size_t i = 0; i < r->n_runs; i++) {
        const ck_report_run *run = &r->runs[i];
        char threads[128] = "";
        size_t used = 0;
        for (int t = 0; t < run->n_threads && used < sizeof threads - 12; t++)
            used += (size_t)snprintf(threads + used, sizeof threads - used, "%s%d", t ? "," : "", run->threads[t]);
        const char *cells[] = {run->tag,  run->model,      run->plugin,   run->host, run->cpu_model,
                               run->date, run->git_commit, run->compiler, threads};
        for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
            fputs(c ? " | " : "| ", f);
            ck_report_md_escape(f, cells[c]);
            if (c == 2 && run->plugin_version[0])
                fprintf(f, " %s", run->plugin_version);
        }
        fprintf(f, " | %g s | %d | ", run->min_time, run->repetitions);
        if (run->counters_available) {
            fputs("read", f);
            if (run->counters_reason[0]) { /* a set, or part of one, was missing */
                fputs(" (", f);
                ck_report_md_escape(f, run->counters_reason);
                fputs(")", f);
            }
        } else
            ck_report_md_escape(f, run->counters_reason[0] ? run->counters_reason : "not read");
        if (run->parity_run)
            fprintf(f, " | %d passed, %d failed, %d skipped | ", run->parity_passed, run->parity_failed,
                    run->parity_skipped);
        else
            fputs(" | not run | ", f);
        ck_report_md_escape(f, run->path);
        fputs(" |\n", f);
    }
    fputc('\n', f);
}

static void md_machines(const ck_report *r, FILE *f)
{
    fprintf(f, "## Machines\n\n");
    for (size_t m = 0; m < r->n_machines; m++) {
        const ck_report_machine *mc = &r->machines[m];
        char simd[1024];
        ck_report_simd_flags(simd, sizeof simd, mc->cpu_flags);
        fprintf(f, "### `%s`: %s\n\n", mc->host, mc->cpu);
        fprintf(f, "- SIMD flags: %s\n", simd);
        if (!mc->have_roofs) {
            fprintf(f, "- roofs: not calibrated (run `ckbench calibrate` on it; no %% of roof)\n\n");
            continue;
        }
        const ck_roofs *rf = &mc->roofs;
        fprintf(f, "- stream triad bandwidth: %.1f GB/s on 1 thread, %.1f GB/s on %d threads\n", rf->triad_gbs[0],
                rf->triad_gbs[1], rf->threads);
        for (int isa = 0; isa < CK_ISA_COUNT; isa++)
            if (rf->peak_gflops[isa][1] > 0)
                fprintf(f, "- %s FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n", ck_isa_name(isa),
                        rf->peak_gflops[isa][0], rf->peak_gflops[isa][1], rf->threads);
        fprintf(f, "- roofs measured %s (from run %s)%s\n\n", rf->measured_at[0] ? rf->measured_at : "(date unknown)",
                mc->roofs_from->tag, mc->roofs_differ ? "; other runs on this machine had different roofs" : "");
    }
}

static void md_baseline(const ck_report *r, FILE *f)
{
    char rule[512];
    ck_report_threshold_rule(rule, sizeof rule, r);
    fprintf(f, "## Against the baseline\n\nBaseline:");
    for (size_t i = 0; i < r->n_baseline; i++) {
        fputs(i ? ", " : " ", f);
        ck_report_md_escape(f, r->baseline[i].path);
    }
    fprintf(f, ".\n%s\n\n%zu rows matched a baseline row, %zu flagged SLOWER.\n\n", rule, r->n_matched, r->n_slower);
    for (size_t i = 0; i < r->n_runs; i++)
        for (size_t k = 0; k < r->runs[i].n_rows; k++) {
            const ck_report_row *row = &r->runs[i].rows[k];
            if (!row->slower)
                continue;
            fprintf(f, "- SLOWER: %s, %s (%s, %d threads): %.2fx the baseline time, threshold %.1f%% (%s)\n",
                    row->run->tag, row->label, row->shape, row->threads, row->base_ratio, row->base_threshold * 100,
                    row->base_noise_known ? "from the repetitions" : "default");
        }
    fputc('\n', f);
}

int ck_report_write_md(const ck_report *r, FILE *f)
{
    fprintf(f, "# ckbench report\n\n");
    fprintf(f, "Made %s from %zu result file%s: %zu model%s, %zu machine%s.\n\n", r->generated, r->n_runs,
            r->n_runs == 1 ? "" : "s", r->n_models, r->n_models == 1 ? "" : "s", r->n_machines,
            r->n_machines == 1 ? "" : "s");
    fprintf(f, "time: per call, the median of the repetitions. GB/s and GFLOP/s: the op's minimum bytes and its "
               "flops over that time. %% of roof: ideal time / this time against the run's calibrated roofs, "
               "named by what bounds it: a memory level (L1..DRAM; cold rows DRAM) or the arithmetic (the ISA's FMA, "
               "int8 or bf16 dot product); mem / comp in files from before memory levels; ! above 105%%. speedup: "
               "scalar's time / this "
               "time in the same run (* scalar ran at a reduced T and was scaled). parity: the run's parity verdict "
               "for the instance (every case of its label) and the largest absolute error.\n\n");
    if (r->n_baseline)
        md_baseline(r, f);
    for (size_t m = 0; m < r->n_models; m++)
        md_model(r, r->models[m], f);
    ck_report_e2e_md(r, f);
    md_runs(r, f);
    md_machines(r, f);
    return ferror(f) ? -1 : 0;
}
