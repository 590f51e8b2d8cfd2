/* A whole report (report.h): every input read and checked, both documents
 * rendered in memory, then written to temporary files and renamed only when
 * all are complete — bad input or a failed write leaves nothing behind, and
 * an existing report is replaced whole or not at all. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int write_tmp(output *o, char *err, size_t err_len)
{
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", o->path, (long)getpid());
    FILE *f = fopen(o->tmp, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write: %s", o->path, strerror(errno));
        o->tmp[0] = '\0';
        return -1;
    }
    int ok = fwrite(o->text, 1, o->len, f) == o->len;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        snprintf(err, err_len, "%s: write failed: %s", o->path, strerror(errno));
    return ok ? 0 : -1;
}

/* Every file complete under its temporary name, then every one renamed. */
static int write_outputs(output *outs, int n, char *err, size_t err_len)
{
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = write_tmp(&outs[i], err, err_len);
    for (int i = 0; i < n && rc == 0; i++) {
        if (rename(outs[i].tmp, outs[i].path) != 0) {
            snprintf(err, err_len, "%s: cannot rename into place: %s", outs[i].path, strerror(errno));
            rc = -1;
        } else {
            outs[i].tmp[0] = '\0';
        }
    }
    for (int i = 0; i < n; i++)
        if (outs[i].tmp[0])
            remove(outs[i].tmp);
    return rc;
}

/* A baseline must be a bench result; an input that is none (a results
 * folder also holds parity reports and roofs) is skipped with a note. */
static int load(const ck_report_request *q, ck_report *r, size_t *skipped, char *err, size_t err_len)
{
    for (int i = 0; i < q->n_baselines; i++)
        if (ck_report_add_file(r, q->baselines[i], 1, err, err_len) != 0)
            return -1;
    for (int i = 0; i < q->n_inputs; i++) {
        int rc = ck_report_add_file(r, q->inputs[i], 0, err, err_len);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            fprintf(q->note_stream ? q->note_stream : stderr, "report: skipped %s\n", err);
            ++*skipped;
        }
    }
    if (r->n_runs == 0) {
        snprintf(err, err_len, "no bench result among the %d input file%s", q->n_inputs, q->n_inputs == 1 ? "" : "s");
        return -1;
    }
    ck_report_finish(r);
    return 0;
}

int ck_report_make(const ck_report_request *q, ck_report_summary *sum, char *err, size_t err_len)
{
    memset(sum, 0, sizeof *sum);
    if (q->html && q->md && !strcmp(q->html, q->md)) {
        snprintf(err, err_len, "%s: named for both the HTML and the Markdown", q->html);
        return -1;
    }
    ck_report r;
    ck_report_init(&r);
    if (q->threshold > 0)
        r.default_threshold = q->threshold;
    output outs[2] = {{.path = q->md}, {.path = q->html}}; /* the order they are written in */
    size_t skipped = 0;
    int rc = load(q, &r, &skipped, err, err_len);
    if (rc == 0 && (render(&r, &outs[0], ck_report_write_md) != 0 ||
                    (q->html && render(&r, &outs[1], ck_report_write_html) != 0))) {
        snprintf(err, err_len, "out of memory rendering the report");
        rc = -1;
    }
    if (rc == 0 && !q->md && !q->html) {
        FILE *f = q->md_stream ? q->md_stream : stdout;
        if (fwrite(outs[0].text, 1, outs[0].len, f) != outs[0].len || fflush(f) != 0) {
            snprintf(err, err_len, "cannot write the Markdown: %s", strerror(errno));
            rc = -1;
        }
    } else if (rc == 0) {
        rc = write_outputs(q->md ? &outs[0] : &outs[1], q->md && q->html ? 2 : 1, err, err_len);
    }
    if (rc == 0) {
        sum->n_runs = r.n_runs;
        sum->n_skipped = skipped;
        sum->n_matched = r.n_matched;
        sum->n_slower = r.n_slower;
        for (size_t i = 0; i < r.n_runs; i++)
            for (size_t k = 0; k < r.runs[i].n_rows; k++)
                sum->n_points += (size_t)ck_report_row_on_roofline(&r.runs[i].rows[k]);
    }
    free(outs[0].text);
    free(outs[1].text);
    ck_report_free(&r);
    return rc;
}
