/* The HTML report (report.h): one self-contained page. No script, no font,
 * no image file: styles inline, charts inline SVG (report_svg.c), and a
 * Content-Security-Policy that forbids every fetch, so a page that tried to
 * load something would say so in the browser's console. Charts first — a
 * laptop screen shows the first roofline without scrolling — then the tables. */
#include "report.h"

#include <math.h>
#include <string.h>

#define MAX_OPS 64

static const char *const style =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;margin:0 auto;"
    "max-width:1240px;padding:12px 20px 40px}\n"
    "h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}"
    "h3{font-size:15px;margin:18px 0 6px}\n"
    "p.meta{color:#57606a;margin:2px 0}nav a{margin-right:14px}p.note,figcaption{color:#57606a;font-size:13px}\n"
    "figure{margin:8px 0}svg.chart{width:100%;max-width:960px;height:auto;display:block;background:#fff}\n"
    ".plot-area{fill:#fbfcfd;stroke:#8c959f}.grid{stroke:#e4e8ec;stroke-width:1}.grid.one{stroke:#57606a}\n"
    ".tick,.legend,.bar-label,.bar-value{font-size:12px;fill:#24292f}.op-label{font-size:13px;font-weight:600}.axis-"
    "label{font-size:13px;fill:#24292f}\n"
    ".roof{stroke:#6e2c00;stroke-width:2;fill:none}.roof-label{font-size:12px;fill:#6e2c00}\n"
    ".kernel-point{stroke:#fff;stroke-width:1.2;opacity:.9}\n"
    ".table-wrap{overflow-x:auto}table{border-collapse:collapse;font-size:13px;margin:4px 0 10px}\n"
    "th,td{padding:3px 8px;border-bottom:1px solid #e4e8ec;text-align:left;white-space:nowrap}"
    "th{background:#f3f5f7;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.first td{border-top:1px solid #afb8c1}.swatch{display:inline-block;width:10px;height:10px;"
    "border-radius:50%;margin-right:6px}\n"
    ".PASS{color:#116329}.FAIL,.slower{color:#b3261e;font-weight:600}.SKIP{color:#57606a}code{font-size:12px}\n";

static void esc(FILE *f, const char *s)
{
    ck_report_html_escape(f, s);
}

static void run_name(FILE *f, const ck_report_run *run)
{
    fprintf(f, "<span class=\"swatch\" style=\"background:%s\"></span>", ck_report_color(run->color));
    esc(f, run->tag);
}

/* ---- per model and op: the plugins side by side --------------------------------------------- */

typedef struct html_table {
    FILE *f;
    int baseline; /* tables: with the "vs baseline" column */
    const ck_report_row *prev;
    int open; /* parity: a <tr> is open */
} html_table;

static void html_row(const ck_report_row *row, void *arg)
{
    html_table *tb = arg;
    FILE *f = tb->f;
    int first = !tb->prev || strcmp(tb->prev->label, row->label) || strcmp(tb->prev->shape, row->shape) ||
                tb->prev->threads != row->threads;
    tb->prev = row;
    char t[32], gbs[32], gfl[32], roof[32], sp[32], err[32], use[32];
    ck_report_fmt_use(use, sizeof use, row);
    ck_report_fmt_time(t, sizeof t, row->time_ns, "\u00b5s");
    ck_report_fmt_num(gbs, sizeof gbs, row->time_ns > 0 ? row->gbs : -1);
    ck_report_fmt_num(gfl, sizeof gfl, row->time_ns > 0 ? row->gflops : -1);
    ck_report_fmt_roof(roof, sizeof roof, row);
    ck_report_fmt_speedup(sp, sizeof sp, row);
    ck_report_fmt_err(err, sizeof err, row->parity_max_abs);
    fprintf(f, "<tr%s><td>", first ? " class=\"first\"" : "");
    if (first)
        esc(f, row->label);
    fputs("</td><td>", f);
    if (first)
        esc(f, row->shape);
    fputs("</td><td>", f);
    run_name(f, row->run);
    fprintf(f, "</td><td class=\"n\">%d</td><td class=\"n\">", row->threads);
    if (row->time_ns > 0) {
        fputs(t, f);
    } else {
        fputs("not measured: ", f);
        esc(f, row->status);
    }
    fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>", gbs,
            gfl, roof, sp);
    if (row->parity)
        fprintf(f, "<td class=\"%s\">%s</td><td class=\"n\">%s</td>", row->parity, row->parity, err);
    else
        fputs("<td>-</td><td class=\"n\">-</td>", f);
    fprintf(f, "<td class=\"n\">%s</td><td>", use);
    esc(f, row->notes[0] ? row->notes : "-");
    fputs("</td>", f);
    if (tb->baseline && row->base)
        fprintf(f, "<td class=\"n%s\">%.2f\u00d7%s</td>", row->slower ? " slower" : "", row->base_ratio,
                row->slower ? " slower" : "");
    else if (tb->baseline)
        fprintf(f, "<td class=\"n\">%s</td>", row->time_ns > 0 ? "no baseline" : "-");
    fputs("</tr>\n", f);
}

static void html_model_tables(const ck_report *r, const char *model, FILE *f)
{
    const char *ops[MAX_OPS];
    size_t n_ops = ck_report_model_ops(r, model, ops, MAX_OPS);
    for (size_t i = 0; i < n_ops; i++) {
        fputs("<h3>", f);
        esc(f, model);
        fputs(": ", f);
        esc(f, ops[i]);
        fputs("</h3>\n<div class=\"table-wrap\"><table>\n<tr><th>instance</th><th>shape</th><th>run</th><th>thr</th>"
              "<th>time</th><th>GB/s</th><th>GFLOP/s</th><th>% of roof</th><th>speedup</th><th>parity</th>"
              "<th>max abs err</th><th>cpu</th><th>notes</th>",
              f);
        if (r->n_baseline)
            fputs("<th>vs baseline</th>", f);
        fputs("</tr>\n", f);
        html_table tb = {f, r->n_baseline > 0, NULL, 0};
        ck_report_each_row(r, model, ops[i], html_row, &tb);
        fputs("</table></div>\n", f);
    }
}

/* ---- parity ------------------------------------------------------------------------------------ */

static void parity_cell(const ck_report_row *row, void *arg)
{
    html_table *tb = arg;
    FILE *f = tb->f;
    int first = !tb->prev || strcmp(tb->prev->label, row->label) || tb->prev->threads != row->threads;
    tb->prev = row;
    if (first && tb->open)
        fputs("</tr>\n", f);
    if (first) {
        fputs("<tr><td>", f);
        esc(f, row->label);
        fputs("</td>", f);
        tb->open = 1;
    }
    char a[32], rel[32];
    ck_report_fmt_err(a, sizeof a, row->parity_max_abs);
    ck_report_fmt_err(rel, sizeof rel, row->parity_max_rel);
    fputs("<td>", f);
    run_name(f, row->run);
    if (row->parity)
        fprintf(f, ": <span class=\"%s\">%s</span> (%d case%s), max abs %s, max rel %s</td>", row->parity, row->parity,
                row->parity_cases, row->parity_cases == 1 ? "" : "s", a, rel);
    else
        fputs(": no parity figures</td>", f);
}

static void html_failed_cases(const ck_report_run *run, FILE *f)
{
    const cJSON *cs;
    int shown = 0;
    cJSON_ArrayForEach(cs, run->parity_cases)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cs, "verdict");
        if (!cJSON_IsString(v) || strcmp(v->valuestring, "FAIL"))
            continue;
        if (!shown++) {
            fputs("<p>Failed cases of ", f);
            run_name(f, run);
            fputs(":</p><ul>\n", f);
        }
        const char *keys[] = {"label", "op_instance", "kernel", "detail"};
        fputs("<li class=\"FAIL\">", f);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(cs, keys[k]);
            fputs(k ? " \u2014 " : "", f);
            esc(f, cJSON_IsString(s) ? s->valuestring : "?");
        }
        fputs("</li>\n", f);
    }
    if (shown)
        fputs("</ul>\n", f);
}

static void html_parity(const ck_report *r, FILE *f)
{
    fputs("<h2 id=\"parity\">Parity against the scalar reference</h2>\n<ul>\n", f);
    for (size_t i = 0; i < r->n_runs; i++) {
        const ck_report_run *run = &r->runs[i];
        fputs("<li>", f);
        run_name(f, run);
        if (run->parity_run)
            fprintf(f,
                    ": %d passed, <span class=\"%s\">%d failed</span>, %d skipped (edge shapes and decode cases "
                    "included)</li>\n",
                    run->parity_passed, run->parity_failed ? "FAIL" : "PASS", run->parity_failed, run->parity_skipped);
        else {
            fputs(": not run \u2014 ", f);
            esc(f, run->parity_note ? run->parity_note : "the result file has no parity report");
            fputs("</li>\n", f);
        }
    }
    fputs("</ul>\n", f);
    for (size_t m = 0; m < r->n_models; m++) {
        fputs("<h3>", f);
        esc(f, r->models[m]);
        fputs("</h3>\n<div class=\"table-wrap\"><table class=\"parity\">\n<tr><th>instance</th><th colspan=\"8\">per "
              "run: verdict, cases, largest errors</th></tr>\n",
              f);
        const char *ops[MAX_OPS];
        size_t n_ops = ck_report_model_ops(r, r->models[m], ops, MAX_OPS);
        html_table tb = {f, 0, NULL, 0};
        for (size_t i = 0; i < n_ops; i++)
            ck_report_each_row(r, r->models[m], ops[i], parity_cell, &tb);
        fputs(tb.open ? "</tr>\n</table></div>\n" : "</table></div>\n", f);
    }
    for (size_t i = 0; i < r->n_runs; i++)
        html_failed_cases(&r->runs[i], f);
}

/* ---- runs and machines ------------------------------------------------------------------------ */

static void html_runs(const ck_report *r, FILE *f)
{
    fputs("<h2 id=\"runs\">Runs and machines</h2>\n<div class=\"table-wrap\"><table>\n<tr><th>run</th><th>model</th>"
          "<th>plugin</th><th>host</th><th>CPU</th><th>date</th><th>git commit</th><th>compiler</th><th>threads</th>"
          "<th>min time</th><th>reps</th><th>counters</th><th>file</th></tr>\n",
          f);
    for (size_t i = 0; i < r->n_runs; i++) {
        const ck_report_run *run = &r->runs[i];
        fputs("<tr><td>", f);
        run_name(f, run);
        const char *cells[] = {run->model, run->plugin,     run->host,    run->cpu_model,
                               run->date,  run->git_commit, run->compiler};
        for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
            fputs("</td><td>", f);
            esc(f, cells[c]);
            if (c == 1 && run->plugin_version[0])
                fprintf(f, " %s", run->plugin_version);
        }
        fputs("</td><td class=\"n\">", f);
        for (int t = 0; t < run->n_threads; t++)
            fprintf(f, "%s%d", t ? "," : "", run->threads[t]);
        fprintf(f, "</td><td class=\"n\">%g s</td><td class=\"n\">%d</td><td title=\"", run->min_time,
                run->repetitions);
        esc(f, run->counters_reason);
        fprintf(f, "\">%s</td><td><code>",
                !run->counters_available  ? "unavailable (hover for why)"
                : run->counters_reason[0] ? "read (hover for what is missing)"
                                          : "read");
        esc(f, run->path);
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table></div>\n", f);
    for (size_t m = 0; m < r->n_machines; m++) {
        const ck_report_machine *mc = &r->machines[m];
        char simd[1024];
        ck_report_simd_flags(simd, sizeof simd, mc->cpu_flags);
        fputs("<h3>", f);
        esc(f, mc->host);
        fputs(": ", f);
        esc(f, mc->cpu);
        fputs("</h3>\n<ul><li>SIMD flags: ", f);
        esc(f, simd);
        fputs("</li>\n", f);
        if (!mc->have_roofs) {
            fputs("<li>roofs: not calibrated (run <code>ckbench calibrate</code> there)</li></ul>\n", f);
            continue;
        }
        const ck_roofs *rf = &mc->roofs;
        fprintf(f, "<li>stream triad: %.1f GB/s on 1 thread, %.1f GB/s on %d threads</li>\n", rf->triad_gbs[0],
                rf->triad_gbs[1], rf->threads);
        for (int isa = 0; isa < CK_ISA_COUNT; isa++)
            if (rf->peak_gflops[isa][1] > 0)
                fprintf(f, "<li>%s FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads</li>\n",
                        ck_isa_name(isa), rf->peak_gflops[isa][0], rf->peak_gflops[isa][1], rf->threads);
        fputs("<li>measured ", f);
        esc(f, rf->measured_at);
        fputs(" (roofs of run ", f);
        esc(f, mc->roofs_from->tag);
        fprintf(f, ")%s</li></ul>\n", mc->roofs_differ ? "; other runs on this machine recorded different roofs" : "");
    }
}

/* ---- the page ----------------------------------------------------------------------------------- */

static void html_baseline(const ck_report *r, FILE *f)
{
    char rule[512];
    ck_report_threshold_rule(rule, sizeof rule, r);
    fputs("<h2 id=\"baseline\">Against the baseline</h2>\n<p>Baseline: ", f);
    for (size_t i = 0; i < r->n_baseline; i++) {
        fputs(i ? ", <code>" : "<code>", f);
        esc(f, r->baseline[i].path);
        fputs("</code>", f);
    }
    fputs(". ", f);
    esc(f, rule);
    fprintf(f, "</p>\n<p>%zu rows matched a baseline row; <span class=\"%s\">%zu flagged slower</span>.</p>\n",
            r->n_matched, r->n_slower ? "slower" : "PASS", r->n_slower);
}

/* Measured kernels a log-log roofline cannot place: no flops (a copy such as
 * embedding) has no arithmetic intensity. Say which, rather than hide them. */
static void off_roofline(const ck_report *r, size_t machine, FILE *f)
{
    const char *ops[MAX_OPS];
    size_t n_ops = 0, n_rows = 0;
    for (size_t i = 0; i < r->n_runs; i++)
        for (size_t k = 0; r->runs[i].machine == (int)machine && k < r->runs[i].n_rows; k++) {
            const ck_report_row *row = &r->runs[i].rows[k];
            if (!(row->time_ns > 0) || ck_report_row_on_roofline(row))
                continue;
            n_rows++;
            size_t j = 0;
            while (j < n_ops && strcmp(ops[j], row->op))
                j++;
            if (j == n_ops && n_ops < MAX_OPS)
                ops[n_ops++] = row->op;
        }
    if (!n_rows)
        return;
    fprintf(f, "Not on the chart: %zu measured kernel%s without flops (", n_rows, n_rows == 1 ? "" : "s");
    for (size_t j = 0; j < n_ops; j++) {
        fputs(j ? ", " : "", f);
        esc(f, ops[j]);
    }
    fputs("), which have no arithmetic intensity; their GB/s is in the tables.", f);
}

static void html_charts(const ck_report *r, FILE *f)
{
    for (size_t m = 0; m < r->n_machines; m++) {
        const ck_report_machine *mc = &r->machines[m];
        fprintf(f, "<h2 id=\"roofline-%zu\">Roofline: ", m);
        esc(f, mc->host);
        fputs(" (", f);
        esc(f, mc->cpu);
        fputs(")</h2>\n<figure>\n", f);
        size_t points = 0;
        ck_report_svg_roofline(r, m, f, &points);
        fprintf(f,
                "<figcaption>%zu kernels, each a point at its arithmetic intensity (minimum bytes; a DRAM row's "
                "writes priced as calibrate measured them, against the read line) and measured GFLOP/s; hover a "
                "point for its instance. ",
                points);
        if (mc->have_roofs)
            fputs("Roofs: the stream-triad bandwidth (slanted) and each ISA's FMA peak (flat), solid at all "
                  "threads, dashed at one thread where some kernel ran on fewer. ",
                  f);
        else
            fputs("No roofs: this machine was not calibrated (<code>ckbench calibrate</code>). ", f);
        off_roofline(r, m, f);
        fputs("</figcaption>\n</figure>\n", f);
    }
    for (size_t m = 0; m < r->n_models; m++) {
        fputs("<h2 id=\"speedups-", f);
        esc(f, r->models[m]);
        fputs("\">Speedup over scalar: ", f);
        esc(f, r->models[m]);
        fputs("</h2>\n<figure>\n", f);
        size_t bars = 0;
        ck_report_svg_speedups(r, r->models[m], f, &bars);
        fprintf(f,
                "<figcaption>%zu bars, grouped by op; * marks speedups against a scalar time measured at a reduced "
                "T and scaled. Geometric mean:",
                bars);
        const char *sep = " ";
        for (size_t i = 0; i < r->n_runs; i++) {
            size_t n;
            double g = ck_report_geomean_speedup(&r->runs[i], &n);
            if (strcmp(r->runs[i].model, r->models[m]) || !n)
                continue;
            fputs(sep, f);
            run_name(f, &r->runs[i]);
            fprintf(f, " %.2f\u00d7 (%zu instances)", g, n);
            sep = ", ";
        }
        fputs(".</figcaption>\n</figure>\n", f);
    }
}

int ck_report_write_html(const ck_report *r, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ckbench report",
          f);
    for (size_t m = 0; m < r->n_models; m++) {
        fputs(m ? ", " : ": ", f);
        esc(f, r->models[m]);
    }
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>ckbench report</h1>\n", style);
    fprintf(f, "<p class=\"meta\">Made %s from %zu result file%s: %zu model%s, %zu machine%s. Runs: ", r->generated,
            r->n_runs, r->n_runs == 1 ? "" : "s", r->n_models, r->n_models == 1 ? "" : "s", r->n_machines,
            r->n_machines == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_runs; i++) {
        fputs(i ? ", " : "", f);
        run_name(f, &r->runs[i]);
    }
    fputs(".</p>\n<nav><a href=\"#roofline-0\">rooflines</a><a href=\"#tables\">tables</a>"
          "<a href=\"#parity\">parity</a><a href=\"#runs\">runs and machines</a>",
          f);
    if (r->n_baseline)
        fputs("<a href=\"#baseline\">baseline</a>", f);
    fputs("</nav>\n</header>\n", f);
    html_charts(r, f);
    ck_report_e2e_html(r, f);
    if (r->n_baseline)
        html_baseline(r, f);
    fputs(
        "<h2 id=\"tables\">Per model and op</h2>\n<p class=\"note\">time: per call, the median of the repetitions. "
        "GB/s, GFLOP/s: the op's minimum bytes and its flops over that time. % of roof: ideal time / this time, named "
        "by what bounds it: a memory level (L1..DRAM, cold rows DRAM) or the arithmetic (the ISA's FMA, int8 or "
        "bf16 dot product); mem / comp in files from before memory levels; ! above 105%. speedup: scalar's time / "
        "this time in the same run (* scalar measured at a reduced T and scaled). parity: the run's verdict over "
        "every case of the instance's label, and its largest absolute error.</p>\n",
        f);
    for (size_t m = 0; m < r->n_models; m++)
        html_model_tables(r, r->models[m], f);
    html_parity(r, f);
    html_runs(r, f);
    fputs("</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}
