/* What `ckbench parity` tells people and machines: a table on stdout, JSON
 * with every case and every figure, and JUnit XML for CI systems. Files are
 * written to <path>.tmp and renamed, so a failed write leaves nothing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/term.h"
#include "parity.h"

const char *ck_verdict_name(ck_verdict v)
{
    return v == CK_PASS ? "PASS" : v == CK_FAIL ? "FAIL" : "SKIP";
}

void ck_parity_print_header(void)
{
    printf("%-64s %-12s %-5s %-5s %10s %8s %6s  %s\n", "op instance", "plugin", "class", "verdict", "max err", "ULP",
           "use", "note");
}

void ck_parity_print_row(const ck_parity_result *r)
{
    char shape[sizeof r->shape_desc + sizeof r->note + 4], err[32] = "-", ulp[32] = "-", use[32] = "-";
    if (r->note[0])
        snprintf(shape, sizeof shape, "%s [%s]", r->shape_desc, r->note);
    else
        snprintf(shape, sizeof shape, "%s", r->shape_desc);
    /* a NaN, an Inf or an unwritten element has no meaningful error figure */
    int special = r->verdict == CK_FAIL &&
                  (!strcmp(r->reason, "nan") || !strcmp(r->reason, "inf") || !strcmp(r->reason, "unwritten"));
    if (r->n_outputs && !special) {
        snprintf(err, sizeof err, "%.3g", ck_parity_max_err(r));
        snprintf(ulp, sizeof ulp, "%llu", (unsigned long long)ck_parity_max_ulp(r));
        if (!r->exact)
            snprintf(use, sizeof use, "%.2g%%", 100 * ck_parity_max_use(r));
    }
    ck_colour c = r->verdict == CK_PASS ? CK_GREEN : r->verdict == CK_FAIL ? CK_RED : CK_YELLOW;
    printf("%-64s %-12s %-5s %s%-5s%s %10s %8s %6s  %s\n", shape, r->plugin, r->exact ? "exact" : "tol",
           ck_term_on(stdout, c), ck_verdict_name(r->verdict), ck_term_off(stdout), err, ulp, use,
           r->verdict == CK_PASS ? "" : r->detail);
}

/* ---- JSON ------------------------------------------------------------------------------- */

/* JSON has no Inf/NaN: write them as strings. */
static void add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddStringToObject(o, key, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static cJSON *output_json(const ck_parity_output *po)
{
    const ck_cmp_result *c = &po->cmp;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", po->name);
    cJSON_AddBoolToObject(o, "pass", c->pass);
    cJSON_AddStringToObject(o, "reason", ck_cmp_reason_name(c->reason));
    cJSON_AddNumberToObject(o, "elements", (double)c->n);
    cJSON_AddNumberToObject(o, "bad_elements", (double)c->n_bad);
    add_number(o, "max_abs_err", c->max_abs);
    add_number(o, "max_rel_err", c->max_rel);
    cJSON_AddNumberToObject(o, "max_ulp", (double)c->max_ulp);
    add_number(o, "nmse", c->nmse);
    cJSON_AddNumberToObject(o, "worst_index", (double)c->worst);
    add_number(o, "worst_value", c->worst_value);
    add_number(o, "worst_ref", c->worst_ref);
    if (!po->exact) {
        add_number(o, "worst_bound", c->worst_bound);
        add_number(o, "bound_use", c->worst_use);
    }
    if (!c->pass) {
        cJSON_AddNumberToObject(o, "first_bad_index", (double)c->first_bad);
        add_number(o, "first_bad_value", c->first_value);
        add_number(o, "first_bad_ref", c->first_ref);
        if (c->first_ulp != CK_ULP_INF)
            cJSON_AddNumberToObject(o, "first_bad_ulp", (double)c->first_ulp);
    }
    return o;
}

static cJSON *case_json(const ck_parity_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op_instance", r->shape_desc);
    cJSON_AddStringToObject(o, "label", r->label);
    if (r->nothing_to_do)
        cJSON_AddTrueToObject(o, "nothing_to_do");
    else if (r->note[0])
        cJSON_AddStringToObject(o, "reduced", r->note);
    cJSON_AddStringToObject(o, "plugin", r->plugin);
    cJSON_AddStringToObject(o, "kernel", r->kernel);
    cJSON_AddStringToObject(o, "class", r->exact ? "exact" : "tolerance");
    cJSON_AddStringToObject(o, "verdict", ck_verdict_name(r->verdict));
    cJSON_AddStringToObject(o, "reason", r->reason);
    cJSON_AddStringToObject(o, "detail", r->detail);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON *outs = cJSON_AddArrayToObject(o, "outputs");
    for (size_t i = 0; i < r->n_outputs; i++)
        cJSON_AddItemToArray(outs, output_json(&r->outputs[i]));
    return o;
}

static int write_text(const char *path, const char *text, char *err, size_t err_len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_len, "%s: write failed: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

static void count(const ck_parity_result *rs, size_t n, size_t c[3])
{
    c[0] = c[1] = c[2] = 0;
    for (size_t i = 0; i < n; i++)
        c[rs[i].verdict]++;
}

int ck_parity_write_json(const char *path, const ck_parity_result *rs, size_t n, uint64_t seed, const char *notes,
                         const char *partial, char *err, size_t err_len)
{
    size_t c[3];
    count(rs, n, c);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "tool", "ckbench parity");
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
    cJSON_AddStringToObject(root, "seed", s);
    cJSON_AddNumberToObject(root, "passed", (double)c[CK_PASS]);
    cJSON_AddNumberToObject(root, "failed", (double)c[CK_FAIL]);
    cJSON_AddNumberToObject(root, "skipped", (double)c[CK_SKIP]);
    cJSON_AddStringToObject(root, "notes", notes ? notes : "");
    cJSON_AddBoolToObject(root, "partial", partial != NULL);
    if (partial)
        cJSON_AddStringToObject(root, "partial_why", partial);
    cJSON *cases = cJSON_AddArrayToObject(root, "cases");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(cases, case_json(&rs[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        snprintf(err, err_len, "%s: out of memory rendering JSON", path);
        return -1;
    }
    int rc = write_text(path, text, err, err_len);
    free(text);
    return rc;
}

/* ---- JUnit XML --------------------------------------------------------------------------- */

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
            break;
        }
    }
}

int ck_parity_write_junit(const char *path, const ck_parity_result *rs, size_t n, const char *partial, char *err,
                          size_t err_len)
{
    size_t c[3];
    count(rs, n, c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err, err_len, "%s: out of memory rendering XML", path);
        return -1;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += rs[i].seconds;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"ckbench parity\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.6f\">\n", n,
            c[CK_FAIL], c[CK_SKIP], total);
    fprintf(f,
            "  <testsuite name=\"parity\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
            "time=\"%.6f\">\n",
            n, c[CK_FAIL], c[CK_SKIP], total);
    if (partial) {
        fputs("    <properties><property name=\"partial\" value=\"", f);
        xml_escape(f, partial);
        fputs("\"/></properties>\n", f);
    }
    for (size_t i = 0; i < n; i++) {
        const ck_parity_result *r = &rs[i];
        fputs("    <testcase classname=\"parity.", f);
        xml_escape(f, r->plugin);
        fputs("\" name=\"", f);
        xml_escape(f, r->shape_desc);
        if (r->kernel[0]) {
            fputs(" [", f);
            xml_escape(f, r->kernel);
            fputs("]", f);
        }
        fprintf(f, "\" time=\"%.6f\"", r->seconds);
        if (r->verdict == CK_PASS) {
            fputs("/>\n", f);
            continue;
        }
        fputs(">\n      <", f);
        fputs(r->verdict == CK_FAIL ? "failure type=\"" : "skipped type=\"", f);
        xml_escape(f, r->reason);
        fputs("\" message=\"", f);
        xml_escape(f, r->detail);
        fprintf(f, "\"/>\n    </testcase>\n");
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        snprintf(err, err_len, "%s: out of memory rendering XML", path);
        return -1;
    }
    int rc = write_text(path, buf, err, err_len);
    free(buf);
    return rc;
}
