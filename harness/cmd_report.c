/* ckbench report: merge bench result files into Markdown and one
 * self-contained HTML page (report.h). Every input is read and checked
 * before anything is written; outputs are written to temporary files and
 * renamed only when all of them are complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "report.h"

#define MAX_INPUTS 256

static void report_usage(FILE *f)
{
    fprintf(f,
            "usage: ckbench report FILE... [-o report.html] [--md report.md] [--baseline FILE]...\n"
            "                      [--threshold PCT]\n\n"
            "Merges result files of 'ckbench bench' (several plugins, runs, machines) into one report:\n"
            "  --md FILE     Markdown: per model and op, the plugins side by side (time, GB/s, GFLOP/s,\n"
            "                %% of roof, speedup over scalar, parity verdict and max error), and the\n"
            "                machine context of each run;\n"
            "  -o FILE       HTML, one self-contained file: a roofline per machine, speedup bars per\n"
            "                model, the tables, the parity table, the runs and machines.\n"
            "  With neither, the Markdown goes to stdout.\n"
            "  --baseline FILE  a result file to compare with (repeat it for several plugins): a column\n"
            "                with time / baseline time for the same model, instance, plugin and threads,\n"
            "                flagged SLOWER above 1 + %.0f x the larger relative standard deviation of the\n"
            "                two runs' repetitions, or above 1 + PCT%% where neither has repetitions\n"
            "                (--threshold, default %.0f).\n"
            "Exit: 0 ok, 1 some row is slower than the baseline beyond its threshold, 2 bad usage or input\n"
            "(one line naming the file and field; nothing written).\n",
            CK_REPORT_NOISE_SIGMAS, CK_REPORT_DEFAULT_THRESHOLD * 100);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "ckbench report: %s%s%s; see 'ckbench report --help'\n", what, arg ? ": " : "", arg ? arg : "");
    return 2;
}

typedef struct report_args {
    const char *inputs[MAX_INPUTS], *baselines[MAX_INPUTS];
    int n_inputs, n_baselines;
    const char *html, *md;
    double threshold;
} report_args;

/* 0 ok, 2 bad usage, -1 --help */
static int parse_args(int argc, char **argv, report_args *a)
{
    memset(a, 0, sizeof *a);
    a->threshold = CK_REPORT_DEFAULT_THRESHOLD;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h"))
            return -1;
        if (o[0] != '-' || !strcmp(o, "-")) {
            if (a->n_inputs == MAX_INPUTS)
                return usage_error("too many result files (at most 256)", NULL);
            a->inputs[a->n_inputs++] = o;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error("expected a value after", o);
        const char *v = argv[++i];
        if (!strcmp(o, "-o") || !strcmp(o, "--out") || !strcmp(o, "--html")) {
            a->html = v;
        } else if (!strcmp(o, "--md")) {
            a->md = v;
        } else if (!strcmp(o, "--baseline")) {
            if (a->n_baselines == MAX_INPUTS)
                return usage_error("too many baseline files (at most 256)", NULL);
            a->baselines[a->n_baselines++] = v;
        } else if (!strcmp(o, "--threshold")) {
            char *end;
            errno = 0;
            double pct = strtod(v, &end);
            if (errno || end == v || *end || !(pct >= 0 && pct <= 1000))
                return usage_error("--threshold: expected a percentage in 0..1000, found", v);
            a->threshold = pct / 100;
        } else {
            return usage_error("unknown option", o);
        }
    }
    if (a->n_inputs == 0)
        return usage_error("expected at least one result file", NULL);
    if (a->html && a->md && !strcmp(a->html, a->md))
        return usage_error("-o and --md name the same file", a->html);
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct output {
    const char *path;
    char tmp[4200];
    char *text;
    size_t len;
} output;

static int render(const ck_report *r, output *out, int (*writer)(const ck_report *, FILE *))
{
    FILE *f = open_memstream(&out->text, &out->len);
    if (!f)
        return -1;
    int rc = writer(r, f);
    return fclose(f) != 0 ? -1 : rc;
}

static int write_tmp(output *o)
{
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", o->path, (long)getpid());
    FILE *f = fopen(o->tmp, "w");
    if (!f) {
        fprintf(stderr, "ckbench report: %s: cannot write: %s\n", o->path, strerror(errno));
        o->tmp[0] = '\0';
        return -1;
    }
    int ok = fwrite(o->text, 1, o->len, f) == o->len;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "ckbench report: %s: write failed: %s\n", o->path, strerror(errno));
    return ok ? 0 : -1;
}

/* Both files complete in their temporary names, then both renamed. */
static int write_outputs(output *outs, int n)
{
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = write_tmp(&outs[i]);
    for (int i = 0; i < n && rc == 0; i++)
        if (rename(outs[i].tmp, outs[i].path) != 0) {
            fprintf(stderr, "ckbench report: %s: cannot rename into place: %s\n", outs[i].path, strerror(errno));
            rc = -1;
        } else {
            outs[i].tmp[0] = '\0';
        }
    for (int i = 0; i < n; i++)
        if (outs[i].tmp[0])
            remove(outs[i].tmp);
    return rc;
}

static int load(const report_args *a, ck_report *r)
{
    char err[1024];
    for (int i = 0; i < a->n_baselines; i++)
        if (ck_report_add_file(r, a->baselines[i], 1, err, sizeof err) != 0) {
            fprintf(stderr, "ckbench report: %s\n", err);
            return 2;
        }
    for (int i = 0; i < a->n_inputs; i++)
        if (ck_report_add_file(r, a->inputs[i], 0, err, sizeof err) != 0) {
            fprintf(stderr, "ckbench report: %s\n", err);
            return 2;
        }
    ck_report_finish(r);
    return 0;
}

int ck_cmd_report(int argc, char **argv)
{
    report_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == -1) {
        report_usage(stdout);
        return 0;
    }
    if (rc)
        return rc;
    ck_report r;
    ck_report_init(&r);
    r.default_threshold = a.threshold;
    rc = load(&a, &r);
    output outs[2] = {{.path = a.md}, {.path = a.html}};
    if (rc == 0 && (render(&r, &outs[0], ck_report_write_md) || (a.html && render(&r, &outs[1], ck_report_write_html)))) {
        fprintf(stderr, "ckbench report: out of memory rendering the report\n");
        rc = 2;
    }
    if (rc == 0 && !a.md && !a.html) {
        fwrite(outs[0].text, 1, outs[0].len, stdout);
    } else if (rc == 0) {
        output *first = a.md ? &outs[0] : &outs[1];
        rc = write_outputs(first, a.md && a.html ? 2 : 1) ? 2 : 0;
        if (rc == 0 && a.md)
            printf("report: wrote %s\n", a.md);
        if (rc == 0 && a.html)
            printf("report: wrote %s\n", a.html);
    }
    if (rc == 0 && r.n_baseline) {
        fprintf(a.md || a.html ? stdout : stderr, "report: %zu of %zu rows matched in the baseline are slower "
                                                  "beyond their threshold\n", r.n_slower, r.n_matched);
        rc = r.n_slower ? 1 : 0;
    }
    free(outs[0].text);
    free(outs[1].text);
    ck_report_free(&r);
    return rc;
}
