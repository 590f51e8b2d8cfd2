/* ckbench report: the command line of report_make.c, which merges bench
 * result files into Markdown and one self-contained HTML page (report.h). */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "report/report.h"

#define MAX_INPUTS 4096

static void report_usage(FILE *f)
{
    fprintf(f,
            "usage: ckbench report FILE|DIR|GLOB... [-o report.html] [--md report.md] [--baseline FILE]...\n"
            "                      [--threshold PCT]\n\n"
            "Merges result files of 'ckbench bench' (several plugins, runs, machines) into one report.\n"
            "A folder stands for its *.json files, a quoted glob for the files it matches; JSON files that\n"
            "are no bench result (the headline's .parity.json, roofs-*.json) are skipped, one note each.\n"
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

#define MAX_GLOBS 64

typedef struct report_args {
    const char *inputs[MAX_INPUTS], *baselines[MAX_INPUTS];
    int n_inputs, n_baselines;
    glob_t globs[MAX_GLOBS]; /* the names folders and patterns matched, owned until the end */
    int n_globs;
    const char *html, *md;
    double threshold;
} report_args;

static int push_input(report_args *a, const char *path)
{
    if (a->n_inputs == MAX_INPUTS)
        return usage_error("too many result files (at most 4096)", NULL);
    a->inputs[a->n_inputs++] = path;
    return 0;
}

/* A file as given; a folder as its *.json files; a pattern the shell left
 * alone (quoted, or matching nothing there) as the files it matches. The
 * matched names are kept until the process ends. */
static int add_input(report_args *a, const char *arg)
{
    struct stat st;
    int is_dir = stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
    if (!is_dir && (!strpbrk(arg, "*?[") || stat(arg, &st) == 0))
        return push_input(a, arg);
    char pattern[4200];
    snprintf(pattern, sizeof pattern, is_dir ? "%s/*.json" : "%s", arg);
    if (a->n_globs == MAX_GLOBS)
        return usage_error("too many folders and patterns (at most 64)", arg);
    glob_t *g = &a->globs[a->n_globs];
    int rc = glob(pattern, 0, NULL, g);
    if (rc == 0)
        a->n_globs++;
    else if (rc != GLOB_NOMATCH)
        globfree(g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g->gl_pathc == 0))
        return usage_error(is_dir ? "no *.json file in the folder" : "no file matches", arg);
    if (rc != 0)
        return usage_error("cannot read the folder or pattern", arg);
    for (size_t i = 0; i < g->gl_pathc; i++)
        if (push_input(a, g->gl_pathv[i]))
            return 2;
    return 0;
}

static void free_args(report_args *a)
{
    for (int i = 0; i < a->n_globs; i++)
        globfree(&a->globs[i]);
    a->n_globs = 0;
}

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
            int rc = add_input(a, o);
            if (rc)
                return rc;
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
            if (errno || end == v || *end || !(pct > 0 && pct <= 1000))
                return usage_error("--threshold: expected a percentage above 0, at most 1000, found", v);
            a->threshold = pct / 100;
        } else {
            return usage_error("unknown option", o);
        }
    }
    if (a->n_inputs == 0)
        return usage_error("expected at least one result file", NULL);
    return 0;
}

static int make_report(const report_args *a)
{
    ck_report_request q = {.inputs = a->inputs,
                           .n_inputs = a->n_inputs,
                           .baselines = a->baselines,
                           .n_baselines = a->n_baselines,
                           .html = a->html,
                           .md = a->md,
                           .threshold = a->threshold,
                           .md_stream = stdout};
    ck_report_summary sum;
    char err[1200];
    if (ck_report_make(&q, &sum, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench report: %s\n", err);
        return 2;
    }
    FILE *say = a->md || a->html ? stdout : stderr; /* stdout may be the Markdown */
    if (a->md)
        fprintf(say, "report: wrote %s\n", a->md);
    if (a->html)
        fprintf(say, "report: wrote %s (%zu roofline points)\n", a->html, sum.n_points);
    if (sum.n_skipped)
        fprintf(say, "report: %zu run%s; %zu file%s skipped as no bench result\n", sum.n_runs,
                sum.n_runs == 1 ? "" : "s", sum.n_skipped, sum.n_skipped == 1 ? "" : "s");
    if (a->n_baselines)
        fprintf(say, "report: %zu of %zu rows matched in the baseline are slower beyond their threshold\n",
                sum.n_slower, sum.n_matched);
    return sum.n_slower ? 1 : 0;
}

int ck_cmd_report(int argc, char **argv)
{
    static report_args a; /* large (4096 names each way): not on the stack */
    int rc = parse_args(argc, argv, &a);
    if (rc == -1) {
        report_usage(stdout);
        rc = 0;
    } else if (rc == 0) {
        rc = make_report(&a);
    }
    free_args(&a);
    return rc;
}
