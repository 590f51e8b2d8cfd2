/* Formatting shared by the Markdown and HTML reports (report.h): the same
 * figure reads the same in both, and both walk the rows in the same order. */
#include "report.h"

#include <math.h>
#include <string.h>

void ck_report_fmt_time(char *buf, size_t len, double ns, const char *micro)
{
    if (!(ns > 0))
        snprintf(buf, len, "-");
    else if (ns < 1e3)
        snprintf(buf, len, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, len, "%.3g %s", ns / 1e3, micro);
    else if (ns < 1e9)
        snprintf(buf, len, "%.3g ms", ns / 1e6);
    else
        snprintf(buf, len, "%.3g s", ns / 1e9);
}

void ck_report_fmt_num(char *buf, size_t len, double v)
{
    if (!(v > 0))
        snprintf(buf, len, v == 0 ? "0" : "-");
    else if (v >= 100)
        snprintf(buf, len, "%.0f", v);
    else if (v >= 0.01)
        snprintf(buf, len, "%.2f", v);
    else
        snprintf(buf, len, "%.2g", v);
}

void ck_report_fmt_use(char *buf, size_t len, const ck_report_row *row)
{
    if (isnan(row->thread_use))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f", row->thread_use);
}

void ck_report_fmt_err(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else if (isinf(v))
        snprintf(buf, len, "inf");
    else if (v == 0)
        snprintf(buf, len, "0");
    else
        snprintf(buf, len, "%.2g", v);
}

void ck_report_fmt_speedup(char *buf, size_t len, const ck_report_row *row)
{
    if (!(row->speedup > 0))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, row->speedup < 10 ? "%.2fx%s" : "%.1fx%s", row->speedup, row->scalar_scaled ? "*" : "");
}

void ck_report_fmt_roof(char *buf, size_t len, const ck_report_row *row)
{
    if (!row->bound || !(row->time_ns > 0))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0f%% %s%s", row->roof_pct,
                 row->mem_level && !strcmp(row->bound, "memory") ? row->mem_level
                 : row->arith && strcmp(row->bound, "memory")    ? row->arith
                 : !strcmp(row->bound, "memory")                 ? "mem"
                                                                 : "comp",
                 row->roof_flag ? " !" : "");
}

/* Flags that tell which SIMD a run could use; the full list is in the JSON. */
void ck_report_simd_flags(char *buf, size_t len, const char *flags)
{
    static const char *const prefixes[] = {"sse4_2", "avx", "fma", "f16c", "amx", "asimd", "sve", "neon", "bf16"};
    size_t used = 0;
    buf[0] = '\0';
    char word[64];
    for (const char *p = flags; p && *p;) {
        size_t n = strcspn(p, " ");
        if (n > 0 && n < sizeof word) {
            memcpy(word, p, n);
            word[n] = '\0';
            int keep = 0;
            for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
                keep |= strncmp(word, prefixes[i], strlen(prefixes[i])) == 0;
            if (keep && used + n + 2 < len)
                used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", word);
        }
        p += n;
        p += strspn(p, " ");
    }
    if (!used)
        snprintf(buf, len, "-");
}

void ck_report_html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f); break;
        }
    }
}

/* A table cell: '|' would end it and a newline would end the table. */
void ck_report_md_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

double ck_report_geomean_speedup(const ck_report_run *run, size_t *n)
{
    double log_sum = 0;
    *n = 0;
    for (size_t i = 0; i < run->n_rows; i++)
        if (run->rows[i].speedup > 0 && run->rows[i].time_ns > 0) {
            log_sum += log(run->rows[i].speedup);
            (*n)++;
        }
    return *n ? exp(log_sum / (double)*n) : 0;
}

void ck_report_threshold_rule(char *buf, size_t len, const ck_report *r)
{
    snprintf(buf, len,
             "ratio = time / baseline time (above 1: slower). A row is flagged SLOWER when the ratio exceeds "
             "1 + threshold; the threshold is %.0f x the larger relative standard deviation of the repetitions of "
             "the two runs, or, where neither run has repetitions, %.3g%% (the default; --threshold changes it).",
             CK_REPORT_NOISE_SIGMAS, r->default_threshold * 100);
}

size_t ck_report_model_ops(const ck_report *r, const char *model, const char **ops, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_runs; i++) {
        if (strcmp(r->runs[i].model, model))
            continue;
        for (size_t k = 0; k < r->runs[i].n_rows; k++) {
            const char *op = r->runs[i].rows[k].op;
            size_t j = 0;
            while (j < n && strcmp(ops[j], op))
                j++;
            if (j == n && n < max)
                ops[n++] = op;
        }
    }
    return n;
}

/* Same instance: same label, shape and thread count. */
static int same_instance(const ck_report_row *a, const ck_report_row *b)
{
    return a->threads == b->threads && !strcmp(a->label, b->label) && !strcmp(a->shape, b->shape);
}

/* Has an instance equal to `row` come before position (run i, row k)? */
static int seen_before(const ck_report *r, const char *model, size_t i, size_t k, const ck_report_row *row)
{
    for (size_t ii = 0; ii <= i; ii++) {
        if (strcmp(r->runs[ii].model, model))
            continue;
        size_t end = ii == i ? k : r->runs[ii].n_rows;
        for (size_t kk = 0; kk < end; kk++)
            if (same_instance(&r->runs[ii].rows[kk], row))
                return 1;
    }
    return 0;
}

void ck_report_each_row(const ck_report *r, const char *model, const char *op,
                        void (*fn)(const ck_report_row *row, void *arg), void *arg)
{
    for (size_t i = 0; i < r->n_runs; i++) {
        if (strcmp(r->runs[i].model, model))
            continue;
        for (size_t k = 0; k < r->runs[i].n_rows; k++) {
            const ck_report_row *first = &r->runs[i].rows[k];
            if (strcmp(first->op, op) || seen_before(r, model, i, k, first))
                continue;
            /* a new instance: every run's row of it, in run order */
            for (size_t j = i; j < r->n_runs; j++) {
                if (strcmp(r->runs[j].model, model))
                    continue;
                for (size_t kk = 0; kk < r->runs[j].n_rows; kk++)
                    if (same_instance(&r->runs[j].rows[kk], first)) {
                        fn(&r->runs[j].rows[kk], arg);
                        break;
                    }
            }
        }
    }
}
