/* The whole-model runs of a report (report.h): the "e2e" array that
 * `ckbench bench --e2e` adds to its result file, checked like every other
 * field (the file may come from anywhere), then a Markdown table of tokens
 * per second and, in the HTML, the profile of each test as a stacked bar:
 * the share of its time per op kind, one colour per op across the chart. */
#include <stdio.h>
#include <string.h>

#include "report.h"

/* A number at obj[key] in [lo, hi]. */
static int number_in(const cJSON *obj, const char *key, double lo, double hi)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi;
}

/* Every member a share between 0 and 1 (a little over: rounding). */
static int shares_ok(const cJSON *o)
{
    if (!cJSON_IsObject(o))
        return 0;
    for (const cJSON *v = o->child; v; v = v->next)
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1.001) || !v->string)
            return 0;
    return 1;
}

int ck_report_read_e2e(const cJSON *ck, ck_report_run *run, char *field, size_t field_len)
{
    const cJSON *e2e = cJSON_GetObjectItemCaseSensitive(ck, "e2e"), *e;
    if (!e2e)
        return 0;
    snprintf(field, field_len, "context.ckbench.e2e");
    if (!cJSON_IsArray(e2e))
        return -1;
    int i = 0;
    cJSON_ArrayForEach(e, e2e)
    {
        snprintf(field, field_len, "context.ckbench.e2e[%d]", i++);
        const cJSON *test = cJSON_GetObjectItemCaseSensitive(e, "test");
        if (!cJSON_IsObject(e) || !cJSON_IsString(test) || !number_in(e, "threads", 1, 1e6) ||
            !number_in(e, "tokens_per_second", 0, 1e15) || !shares_ok(cJSON_GetObjectItemCaseSensitive(e, "profile")))
            return -1;
    }
    run->e2e = e2e;
    return 0;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int any_e2e(const ck_report *r)
{
    for (size_t i = 0; i < r->n_runs; i++)
        if (r->runs[i].e2e && cJSON_GetArraySize(r->runs[i].e2e) > 0)
            return 1;
    return 0;
}

void ck_report_e2e_md(const ck_report *r, FILE *f)
{
    if (!any_e2e(r))
        return;
    fprintf(f, "## Whole model\n\n| run | model | threads | test | t/s | min - max |\n|---|---|--:|---|--:|--:|\n");
    for (size_t i = 0; i < r->n_runs; i++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, r->runs[i].e2e)
        {
            fputs("| ", f);
            ck_report_md_escape(f, r->runs[i].tag);
            fputs(" | ", f);
            ck_report_md_escape(f, r->runs[i].model);
            fprintf(f, " | %d | ", (int)num(e, "threads"));
            ck_report_md_escape(f, ck_report_str(e, "test", ""));
            fprintf(f, " | %.2f | %.2f - %.2f |\n", num(e, "tokens_per_second"), num(e, "tokens_per_second_min"),
                    num(e, "tokens_per_second_max"));
        }
    }
    fputs("\n", f);
}

/* The op names of every profile, in order of first appearance: one colour
 * each, the same in every bar. */
static size_t add_names(const cJSON *profile, const char **names, size_t n, size_t max)
{
    for (const cJSON *v = profile ? profile->child : NULL; v; v = v->next) {
        size_t k = 0;
        while (k < n && strcmp(names[k], v->string))
            k++;
        if (k == n && n < max)
            names[n++] = v->string;
    }
    return n;
}

static size_t op_names(const ck_report *r, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_runs; i++)
        for (const cJSON *e = r->runs[i].e2e ? r->runs[i].e2e->child : NULL; e; e = e->next)
            n = add_names(cJSON_GetObjectItemCaseSensitive(e, "profile"), names, n, max);
    return n;
}

enum { E2E_W = 960, E2E_LEFT = 260, E2E_RIGHT = 20, E2E_BAR = 18, E2E_GAP = 8, E2E_TOP = 40 };

static void draw_profile_bar(FILE *f, const cJSON *profile, const char **names, size_t n_names, double y)
{
    double x = E2E_LEFT, w = E2E_W - E2E_LEFT - E2E_RIGHT;
    for (size_t k = 0; k < n_names; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(profile, names[k]);
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0))
            continue;
        double seg = w * v->valuedouble;
        fprintf(f, "<rect class=\"e2e-segment\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>",
                x, y, seg, E2E_BAR, ck_report_color((int)k));
        ck_report_html_escape(f, names[k]);
        fprintf(f, " %.1f%%</title></rect>\n", 100 * v->valuedouble);
        x += seg;
    }
}

void ck_report_e2e_html(const ck_report *r, FILE *f)
{
    if (!any_e2e(r))
        return;
    const char *names[64];
    size_t n_names = op_names(r, names, 64), bars = 0;
    for (size_t i = 0; i < r->n_runs; i++)
        bars += r->runs[i].e2e ? (size_t)cJSON_GetArraySize(r->runs[i].e2e) : 0;
    double height = E2E_TOP + (double)bars * (E2E_BAR + E2E_GAP) + 30;
    fprintf(f,
            "<h2 id=\"e2e\">Whole model</h2>\n<p class=\"note\">Each bar is one test of a whole-model run "
            "(pp: prefill of N prompt tokens; tg: greedy generation of N tokens), split by the share of its time "
            "per op kind; tokens per second on the right.</p>\n"
            "<svg class=\"chart e2e\" viewBox=\"0 0 %d %.0f\" role=\"img\" aria-label=\"whole-model profile\">\n",
            E2E_W, height);
    for (size_t k = 0; k < n_names; k++) { /* the legend */
        fprintf(f, "<rect x=\"%zu\" y=\"8\" width=\"10\" height=\"10\" fill=\"%s\"/>", 8 + 110 * k,
                ck_report_color((int)k));
        fprintf(f, "<text class=\"tick\" x=\"%zu\" y=\"17\">", 22 + 110 * k);
        ck_report_html_escape(f, names[k]);
        fputs("</text>\n", f);
    }
    double y = E2E_TOP;
    for (size_t i = 0; i < r->n_runs; i++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, r->runs[i].e2e)
        {
            fprintf(f,
                    "<text class=\"bar-label\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">",
                    E2E_LEFT - 8, y + E2E_BAR / 2.0);
            ck_report_html_escape(f, r->runs[i].tag);
            fputs(" ", f);
            ck_report_html_escape(f, ck_report_str(e, "test", ""));
            fprintf(f, " (%d thr): %.1f t/s</text>\n", (int)num(e, "threads"), num(e, "tokens_per_second"));
            draw_profile_bar(f, cJSON_GetObjectItemCaseSensitive(e, "profile"), names, n_names, y);
            y += E2E_BAR + E2E_GAP;
        }
    }
    fputs("</svg>\n", f);
}
