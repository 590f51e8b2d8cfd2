/* ckbench report on real result files: `ckbench parity` and `ckbench bench`
 * run once on the first tiny model (scalar and avx2, a tiny --min-time, two
 * repetitions) into a directory shared by the tests of this binary (rebuilt
 * when ckbench is newer); tests derive doctored copies from them in their own
 * temporary directories and check the Markdown rows, the SVG points, the
 * baseline flag and the refusal of bad input. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/json_text.h"
#include "report/report.h"

static char data_dir[512];  /* the shared real result files */
static char work[256];      /* this test's own directory */
static char inputs[4][600]; /* the real result files: scalar first */
static int n_inputs;
static int real_reps; /* the repetitions the real files were made with */

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *ckbench(void)
{
    const char *p = getenv("CK_CKBENCH");
    return p ? p : "build/bin/ckbench";
}

/* Run a shell command; its exit status. */
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    cr_assert_eq(fread(t, 1, (size_t)n, f), (size_t)n);
    t[n] = '\0';
    fclose(f);
    return t;
}

static cJSON *read_json(const char *path)
{
    char *t = slurp(path);
    cr_assert_not_null(t, "cannot read %s", path);
    cJSON *j = cJSON_Parse(t);
    free(t);
    cr_assert_not_null(j, "%s is not JSON", path);
    return j;
}

static void write_json(const char *path, const cJSON *j)
{
    char *t = cJSON_Print(j);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(t, f);
    fclose(f);
    free(t);
}

static cJSON *ck_block(cJSON *doc)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "context"), "ckbench");
}

static cJSON *ops_of(cJSON *doc)
{
    return cJSON_GetObjectItemCaseSensitive(ck_block(doc), "ops");
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The shape column of a row: "<shape> · <phase>/<cache>" for rows that have
 * a phase (an instance is timed hot and cold, at prefill and decode). */
static const char *shown_shape(const cJSON *op)
{
    static char buf[2][400];
    static int k;
    k ^= 1;
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(op, "phase");
    if (!cJSON_IsString(phase))
        return str(op, "shape");
    snprintf(buf[k], sizeof buf[k], "%s \u00b7 %s/%s", str(op, "shape"), phase->valuestring, str(op, "cache"));
    return buf[k];
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void set_number(cJSON *o, const char *key, double v)
{
    cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateNumber(v));
}

/* ---- the shared real result files ------------------------------------------------------------ */

static void tiny_model(char *buf, size_t len)
{
    const char *src = getenv("CK_SOURCE_DIR");
    char pattern[512];
    /* tiny-gqa, the first match until tiny-features came before it: its ops
     * are timed well above the noise the baseline tests compare against */
    snprintf(pattern, sizeof pattern, "%s/ir/models/tiny-gqa*.json", src ? src : ".");
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no tiny model matches %s", pattern);
    snprintf(buf, len, "%s", g.gl_pathv[0]);
    globfree(&g);
}

static int newer(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) != 0 || stat(b, &sb) != 0 || sa.st_mtime >= sb.st_mtime;
}

/* Parity, then bench with the parity report folded in; once per ckbench
 * build, under a lock (Criterion runs tests in parallel processes). */
static void make_real_results(void)
{
    const char *build = getenv("CK_TEST_BUILD");
    snprintf(data_dir, sizeof data_dir, "%s/test-report-data", build ? build : "/tmp");
    mkdir(data_dir, 0755);
    char lock[600], done[600], model[512];
    snprintf(lock, sizeof lock, "%s/lock", data_dir);
    snprintf(done, sizeof done, "%s/done", data_dir);
    int fd = open(lock, O_CREAT | O_RDWR, 0644);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0, "cannot lock %s", lock);
    if (newer(ckbench(), done)) {
        tiny_model(model, sizeof model);
        sh("rm -f '%s'/run-*.json '%s/parity.json'", data_dir, data_dir);
        cr_assert_eq(sh("CK_RESULTS_DIR='%s' %s calibrate --quick >/dev/null 2>&1", data_dir, ckbench()), 0,
                     "ckbench calibrate --quick (roofs for %% of roof and the roof lines)");
        /* the parity of the one plugin benched beside scalar: the report folds in no other */
        cr_assert_eq(sh("%s parity --plugin avx2 --model '%s' --json '%s/parity.json' >/dev/null 2>&1", ckbench(),
                        model, data_dir),
                     0, "ckbench parity on %s", model);
        /* exit 1 where avx2 cannot run here: scalar's file is still written.
         * With one repetition when two write no file (bench had that bug:
         * Google Benchmark's NaN stddev of a constant counter). CK_PROBE=0:
         * the report draws nothing of the DRAM probe (test_bench_run tests
         * it), which would read calibrate's 8x-LLC set three times here. */
        for (int reps = 2; reps >= 1; reps--) {
            int rc = sh("CK_PROBE=0 CK_RESULTS_DIR='%s' %s bench --plugin scalar,avx2 --model '%s' --min-time 0.002 "
                        "--repetitions %d --parity-json '%s/parity.json' --out '%s/run.json' >/dev/null 2>&1",
                        data_dir, ckbench(), model, reps, data_dir, data_dir);
            cr_assert(rc == 0 || rc == 1, "ckbench bench exit %d", rc);
            char scalar[600];
            snprintf(scalar, sizeof scalar, "%s/run-scalar.json", data_dir);
            if (access(scalar, R_OK) == 0) {
                FILE *f = fopen(done, "w");
                cr_assert_not_null(f);
                fprintf(f, "%d\n", reps);
                fclose(f);
                break;
            }
        }
    }
    FILE *f = fopen(done, "r");
    cr_assert(f && fscanf(f, "%d", &real_reps) == 1, "bench wrote no result file in %s", data_dir);
    fclose(f);
    flock(fd, LOCK_UN);
    close(fd);
    n_inputs = 0;
    const char *plugins[] = {"scalar", "avx2"};
    for (int i = 0; i < 2; i++) {
        snprintf(inputs[n_inputs], sizeof inputs[0], "%s/run-%s.json", data_dir, plugins[i]);
        n_inputs += access(inputs[n_inputs], R_OK) == 0;
    }
    cr_assert_geq(n_inputs, 1, "bench wrote no result file in %s", data_dir);
}

static void setup(void)
{
    make_real_results();
    snprintf(work, sizeof work, "/tmp/ck-test-report-XXXXXX");
    cr_assert_not_null(mkdtemp(work));
}

static void teardown(void)
{
    sh("rm -rf '%s'", work);
}

TestSuite(report, .init = setup, .fini = teardown);

/* `ckbench report` on the real inputs plus extra arguments; exit status. */
static int report(const char *extra)
{
    char files[4096] = "";
    for (int i = 0; i < n_inputs; i++) {
        strcat(files, " '");
        strcat(files, inputs[i]);
        strcat(files, "'");
    }
    return sh("%s report%s %s >'%s/stdout' 2>'%s/stderr'", ckbench(), files, extra, work, work);
}

static char *work_file(const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", work, name);
    return slurp(p);
}

/* ---- Markdown -------------------------------------------------------------------------------- */

Test(report, markdown_has_one_row_per_instance_and_plugin)
{
    char extra[600];
    snprintf(extra, sizeof extra, "--md '%s/r.md'", work);
    cr_assert_eq(report(extra), 0);
    char *md = work_file("r.md");
    cr_assert_not_null(md);
    size_t rows = 0;
    for (int i = 0; i < n_inputs; i++) {
        cJSON *doc = read_json(inputs[i]);
        const char *plugin = str(cJSON_GetObjectItemCaseSensitive(ck_block(doc), "plugin"), "name");
        const cJSON *op;
        cJSON_ArrayForEach(op, ops_of(doc))
        {
            /* | label | shape | run | threads | time | GB/s | GFLOP/s | % of roof | speedup | parity | max err
             * | cpu | notes | */
            char start[512], time[32], speed[32];
            snprintf(start, sizeof start, "\n| %s | %s | %s | %d | ", str(op, "label"), shown_shape(op), plugin,
                     (int)num(op, "threads"));
            const char *line = strstr(md, start);
            cr_assert_not_null(line, "no Markdown row starts with '%s'", start + 1);
            ck_report_fmt_time(time, sizeof time, num(op, "time_ns"), "us");
            ck_report_row row = {.speedup = num(op, "speedup_vs_scalar"),
                                 .scalar_scaled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "scalar_scaled"))};
            ck_report_fmt_speedup(speed, sizeof speed, &row);
            char cells[256];
            snprintf(cells, sizeof cells, "%s | ", time);
            const char *eol = strchr(line + 1, '\n');
            cr_assert(strstr(line, cells) && strstr(line, cells) < eol, "row '%s': time cell %s", start + 1, time);
            snprintf(cells, sizeof cells, " | %s | ", speed);
            cr_assert(strstr(line, cells) && strstr(line, cells) < eol, "row '%s': speedup cell %s", start + 1, speed);
            /* parity ran on every label of the model (scalar is the reference: none) */
            const char *verdict = strstr(line, strcmp(plugin, "scalar") ? " | PASS | " : " | - | - |");
            cr_assert(verdict && verdict < eol, "row '%s': parity verdict", start + 1);
            /* the counters' columns: thread use, then the notes (first words: Markdown may escape the rest) */
            const cJSON *use = cJSON_GetObjectItemCaseSensitive(op, "thread_use");
            cr_assert(cJSON_IsNumber(use), "bench counts the software set here");
            row.thread_use = use->valuedouble;
            char use_cell[32];
            ck_report_fmt_use(use_cell, sizeof use_cell, &row);
            snprintf(cells, sizeof cells, " | %s | %.12s", use_cell, str(op, "notes")[0] ? str(op, "notes") : "- |");
            cr_assert(strstr(line, cells) && strstr(line, cells) < eol, "row '%s': cpu and notes '%s'", start + 1,
                      cells);
            rows++;
        }
        /* the parity counts are this plugin's, not the whole report's ('parity --plugin all') */
        char parity_path[600], counts[128];
        snprintf(parity_path, sizeof parity_path, "%s/parity.json", data_dir);
        cJSON *parity = read_json(parity_path);
        int c[3] = {0, 0, 0};
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(parity, "cases"))
        {
            if (strcmp(str(cs, "plugin"), plugin) == 0)
                c[strcmp(str(cs, "verdict"), "PASS") == 0 ? 0 : strcmp(str(cs, "verdict"), "FAIL") == 0 ? 1 : 2]++;
        }
        cJSON_Delete(parity);
        if (c[0] + c[1] + c[2])
            snprintf(counts, sizeof counts, "| %d passed, %d failed, %d skipped |", c[0], c[1], c[2]);
        else
            snprintf(counts, sizeof counts, "| not run |");
        cr_assert(strstr(md, counts), "the runs table has '%s' for %s", counts, plugin);
        /* the machine context of the run */
        const cJSON *ck = ck_block(doc);
        cr_assert(strstr(md, str(ck, "git_commit")), "the run's git commit is in the report");
        cr_assert(strstr(md, str(ck, "cpu_model")), "the run's CPU is in the report");
        cr_assert(strstr(md, str(ck, "compiler")), "the run's compiler is in the report");
        cr_assert(strstr(md, inputs[i]), "the run's file is named");
        cJSON_Delete(doc);
    }
    /* and no other rows: table lines minus headers and separators */
    size_t table_lines = count(md, "\n| "), headers = count(md, "\n| instance |"), runs_table = count(md, "\n| run |");
    cr_assert_eq(table_lines - headers - runs_table - (size_t)n_inputs, rows, "exactly one row per instance and run");
    free(md);
}

Test(report, markdown_goes_to_stdout_without_output_options)
{
    cr_assert_eq(report(""), 0);
    char *out = work_file("stdout");
    cr_assert(out && strstr(out, "# ckbench report") && strstr(out, "## Machines"));
    free(out);
}

/* ---- HTML ------------------------------------------------------------------------------------ */

/* The value of attribute `name` in the element text at p. */
static double attr(const char *p, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *end = strchr(p, '>');
    const char *a = strstr(p, key);
    cr_assert(a && a < end, "attribute %s", name);
    return strtod(a + strlen(key), NULL);
}

Test(report, html_has_one_svg_point_per_kernel_inside_the_plot)
{
    char extra[600];
    snprintf(extra, sizeof extra, "-o '%s/r.html'", work);
    cr_assert_eq(report(extra), 0);
    char *html = work_file("r.html");
    cr_assert_not_null(html);
    size_t kernels = 0, speedups = 0;
    for (int i = 0; i < n_inputs; i++) {
        cJSON *doc = read_json(inputs[i]);
        const cJSON *op;
        cJSON_ArrayForEach(op, ops_of(doc))
        {
            kernels += num(op, "time_ns") > 0 && num(op, "flops") > 0;
            speedups += num(op, "speedup_vs_scalar") > 0;
        }
        cJSON_Delete(doc);
    }
    cr_assert_gt(kernels, 5);
    cr_assert_eq(count(html, "class=\"kernel-point\""), kernels, "one roofline point per measured kernel with flops");
    cr_assert_eq(count(html, "class=\"speedup-bar\""), speedups, "one speedup bar per row with a speedup");
    cr_assert_eq(count(html, "class=\"bar-value\""), speedups, "a value at the end of every bar");
    for (const char *v = html; (v = strstr(v, "class=\"bar-value\"")); v++) {
        const char *end = strstr(v, "</text>"), *thr = strstr(v, " thr)");
        cr_assert(thr && thr < end, "every bar says its thread count: %.120s", v);
    }
    cr_assert_eq(count(html, "class=\"chart roofline\""), 1, "one machine, one roofline");
    /* the roofs of these runs have memory levels: a slanted line per level */
    cr_assert_geq(count(html, "class=\"roof roof-bw\""), 4, "L1, L2, L3 (where there is one) and DRAM");
    cr_assert(strstr(html, "<title>L1 ") && strstr(html, "<title>DRAM "), "each line says its level");
    /* every point lies inside the plot area */
    const char *area = strstr(html, "class=\"plot-area\"");
    cr_assert_not_null(area);
    double x0 = attr(area, "x"), y0 = attr(area, "y"), w = attr(area, "width"), h = attr(area, "height");
    for (const char *p = html; (p = strstr(p, "class=\"kernel-point\"")); p++) {
        double cx = attr(p, "cx"), cy = attr(p, "cy");
        cr_assert(cx > x0 && cx < x0 + w && cy > y0 && cy < y0 + h, "point (%g, %g) outside the plot", cx, cy);
    }
    /* self-contained: nothing to fetch */
    const char *forbidden[] = {"<script", "<link", " src=", "url(", "http:", "https:", "@import"};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        cr_assert_null(strstr(html, forbidden[i]), "the page holds '%s'", forbidden[i]);
    cr_assert(strstr(html, "arithmetic intensity (flop/byte") && strstr(html, "performance (GFLOP/s"),
              "axes labelled with units");
    free(html);
}

Test(report, runs_from_two_machines_get_two_rooflines)
{
    cJSON *doc = read_json(inputs[n_inputs - 1]);
    cJSON *ck = ck_block(doc);
    cJSON_ReplaceItemInObjectCaseSensitive(ck, "host", cJSON_CreateString("othermachine"));
    cJSON_ReplaceItemInObjectCaseSensitive(ck, "roofs", cJSON_CreateNull());
    char other[600], extra[2000];
    snprintf(other, sizeof other, "%s/other.json", work);
    write_json(other, doc);
    cJSON_Delete(doc);
    snprintf(extra, sizeof extra, "'%s' -o '%s/r.html' --md '%s/r.md'", other, work, work);
    cr_assert_eq(report(extra), 0);
    char *html = work_file("r.html"), *md = work_file("r.md");
    cr_assert_eq(count(html, "class=\"chart roofline\""), 2);
    cr_assert(strstr(md, "@othermachine |"), "runs are told apart by host");
    cr_assert(strstr(md, "### `othermachine`"), "the second machine has its context section");
    free(html);
    free(md);
}

/* ---- baseline -------------------------------------------------------------------------------- */

/* A copy of the last input with the time of op `index` multiplied by
 * `factor` (in ckbench's row and Google Benchmark's entries), and, when
 * `reps` is not NULL, its repetitions replaced by these real_times. */
static void doctored_copy(const char *path, int index, double factor, const double *reps, int n_reps)
{
    cJSON *doc = read_json(inputs[n_inputs - 1]);
    cJSON *op = cJSON_GetArrayItem(ops_of(doc), index);
    const char *name = str(op, "name");
    set_number(op, "time_ns", num(op, "time_ns") * factor);
    cJSON *benchmarks = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    if (reps) { /* drop this benchmark's entries, then add the given repetitions */
        for (int i = cJSON_GetArraySize(benchmarks) - 1; i >= 0; i--) {
            cJSON *b = cJSON_GetArrayItem(benchmarks, i);
            if (!strcmp(str(b, "run_name"), name) || !strcmp(str(b, "name"), name))
                cJSON_DeleteItemFromArray(benchmarks, i);
        }
        for (int i = 0; i < n_reps; i++) {
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "name", name);
            cJSON_AddStringToObject(b, "run_name", name);
            cJSON_AddStringToObject(b, "run_type", "iteration");
            cJSON_AddNumberToObject(b, "real_time", reps[i]);
            cJSON_AddItemToArray(benchmarks, b);
        }
    }
    write_json(path, doc);
    cJSON_Delete(doc);
}

/* Strip the repetitions of every benchmark: one entry each, no noise known. */
static void without_repetitions(const char *in, const char *out)
{
    cJSON *doc = read_json(in);
    cJSON *benchmarks = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    for (int i = cJSON_GetArraySize(benchmarks) - 1; i >= 0; i--) {
        cJSON *b = cJSON_GetArrayItem(benchmarks, i);
        if (strcmp(str(b, "run_type"), "aggregate") == 0 || num(b, "repetition_index") > 0)
            cJSON_DeleteItemFromArray(benchmarks, i);
    }
    write_json(out, doc);
    cJSON_Delete(doc);
}

/* The first measured op of the last input: its index and Markdown row start. */
static int first_measured(char *row_start, size_t len)
{
    cJSON *doc = read_json(inputs[n_inputs - 1]);
    int i = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, ops_of(doc))
    {
        if (num(op, "time_ns") > 0)
            break;
        i++;
    }
    cr_assert_not_null(op, "a measured op");
    snprintf(row_start, len, "\n| %s | %s | %s |", str(op, "label"), shown_shape(op),
             str(cJSON_GetObjectItemCaseSensitive(ck_block(doc), "plugin"), "name"));
    cJSON_Delete(doc);
    return i;
}

static const char *row_of(const char *md, const char *start)
{
    const char *line = strstr(md, start);
    cr_assert_not_null(line, "no row %s", start + 1);
    return line;
}

static int flagged(const char *line)
{
    const char *eol = strchr(line + 1, '\n'), *s = strstr(line, "SLOWER");
    return s && s < eol;
}

Test(report, baseline_flags_the_row_that_got_slower)
{
    /* The row's repetitions are set to a known 1% spread in both files, so
     * the 3-sigma rule decides the same way however noisy the machine that
     * measured the inputs was (a loaded machine's own spread can exceed a
     * 4x slowdown's margin). */
    char start[512], cur[600], base[600], extra[2000];
    int k = first_measured(start, sizeof start);
    cJSON *doc = read_json(inputs[n_inputs - 1]);
    double t = num(cJSON_GetArrayItem(ops_of(doc), k), "time_ns");
    cJSON_Delete(doc);
    double reps[2] = {t * 0.99, t * 1.01}, fast[2] = {t * 0.99 * 0.25, t * 1.01 * 0.25};
    snprintf(cur, sizeof cur, "%s/cur.json", work);
    doctored_copy(cur, k, 1.0, reps, 2);
    snprintf(base, sizeof base, "%s/base.json", work);
    doctored_copy(base, k, 0.25, fast, 2); /* the baseline was 4x faster there */
    snprintf(extra, sizeof extra, "%s report '%s' --baseline '%s' --md '%s/r.md' -o '%s/r.html' >/dev/null", ckbench(),
             cur, base, work, work);
    cr_assert_eq(sh("%s", extra), 1, "exit 1: a row got slower");
    char *md = work_file("r.md"), *html = work_file("r.html");
    cr_assert(flagged(row_of(md, start)), "the doctored row is flagged");
    cr_assert(strstr(row_of(md, start), "4.00x SLOWER"), "with its ratio");
    cr_assert_eq(count(md, "x SLOWER** |"), 1, "only that row: the others match their baseline exactly");
    cr_assert(strstr(md, "1.00x |"), "unchanged rows show a ratio of 1");
    cr_assert(strstr(md, "larger relative standard deviation of the repetitions"), "the rule is stated");
    cr_assert_eq(count(html, "class=\"n slower\""), 1, "the HTML flags the same row");
    free(md);
    free(html);
}

Test(report, without_repetitions_the_stated_default_threshold_decides)
{
    char start[512], cur[600], base[600], base5[600], extra[2000];
    int k = first_measured(start, sizeof start);
    snprintf(cur, sizeof cur, "%s/cur.json", work);
    without_repetitions(inputs[n_inputs - 1], cur);
    /* 3% slower than the baseline: within the default 5% */
    snprintf(base, sizeof base, "%s/base.json", work);
    doctored_copy(base, k, 1 / 1.03, NULL, 0);
    without_repetitions(base, base);
    snprintf(extra, sizeof extra, "%s report '%s' --baseline '%s' --md '%s/r.md' >/dev/null", ckbench(), cur, base,
             work);
    cr_assert_eq(sh("%s", extra), 0, "3%% is within the default threshold");
    char *md = work_file("r.md");
    cr_assert_not(flagged(row_of(md, start)));
    cr_assert(strstr(md, "where neither run has repetitions, 5%"), "the default is stated");
    free(md);
    /* 10% slower: flagged, unless --threshold allows it */
    snprintf(base5, sizeof base5, "%s/base10.json", work);
    doctored_copy(base5, k, 1 / 1.10, NULL, 0);
    without_repetitions(base5, base5);
    cr_assert_eq(sh("%s report '%s' --baseline '%s' --md '%s/r.md' >/dev/null", ckbench(), cur, base5, work), 1);
    md = work_file("r.md");
    cr_assert(flagged(row_of(md, start)));
    free(md);
    cr_assert_eq(
        sh("%s report '%s' --baseline '%s' --threshold 20 --md '%s/r.md' >/dev/null", ckbench(), cur, base5, work), 0,
        "--threshold 20 allows 10%%");
}

Test(report, noise_of_the_repetitions_sets_the_threshold)
{
    char start[512], cur[600], base[600];
    int k = first_measured(start, sizeof start);
    /* the baseline's repetitions spread widely: relative stddev 0.3, so a
     * ratio up to 1 + 3 x 0.3 is noise */
    const double reps[] = {70, 100, 130};
    snprintf(base, sizeof base, "%s/base.json", work);
    doctored_copy(base, k, 1 / 1.5, reps, 3);
    snprintf(cur, sizeof cur, "%s/cur.json", work);
    without_repetitions(inputs[n_inputs - 1], cur);
    cr_assert_eq(sh("%s report '%s' --baseline '%s' --md '%s/r.md' >/dev/null", ckbench(), cur, base, work), 0,
                 "1.5x is within 3 x 30%% noise");
    doctored_copy(base, k, 1 / 2.2, reps, 3);
    cr_assert_eq(sh("%s report '%s' --baseline '%s' --md '%s/r.md' >/dev/null", ckbench(), cur, base, work), 1,
                 "2.2x is beyond it");
    char *md = work_file("r.md");
    cr_assert(flagged(row_of(md, start)));
    cr_assert(strstr(md, "threshold 90.0% (from the repetitions)"), "the threshold and where it came from");
    free(md);
}

Test(report, noise_is_read_from_repetitions_or_aggregates)
{
    cJSON *b = cJSON_Parse("[{\"name\":\"a\",\"run_name\":\"a\",\"run_type\":\"iteration\",\"real_time\":9},"
                           "{\"name\":\"a\",\"run_name\":\"a\",\"run_type\":\"iteration\",\"real_time\":11},"
                           "{\"name\":\"b\",\"run_type\":\"iteration\",\"real_time\":5},"
                           "{\"name\":\"c_mean\",\"run_name\":\"c\",\"run_type\":\"aggregate\",\"aggregate_name\":"
                           "\"mean\",\"repetitions\":4,\"real_time\":20},"
                           "{\"name\":\"c_stddev\",\"run_name\":\"c\",\"run_type\":\"aggregate\",\"aggregate_name\":"
                           "\"stddev\",\"repetitions\":4,\"real_time\":2}]");
    int n;
    cr_assert_float_eq(ck_report_noise(b, "a", &n), sqrt(2.0) / 10, 1e-12, "sample stddev / mean");
    cr_assert_eq(n, 2);
    cr_assert_lt(ck_report_noise(b, "b", &n), 0, "one run: no noise known");
    cr_assert_float_eq(ck_report_noise(b, "c", &n), 0.1, 1e-12, "aggregates only: stddev / mean");
    cr_assert_eq(n, 4);
    cJSON_Delete(b);
}

Test(report, real_repetitions_give_a_measured_noise)
{
    if (real_reps < 2)
        cr_skip_test("the real result files were made with one repetition: 'ckbench bench --repetitions 2' "
                     "wrote no file on this build");
    ck_report r;
    ck_report_init(&r);
    char err[512];
    cr_assert_eq(ck_report_add_file(&r, inputs[0], 0, err, sizeof err), 0, "%s", err);
    ck_report_finish(&r);
    size_t known = 0;
    for (size_t i = 0; i < r.runs[0].n_rows; i++)
        known += r.runs[0].rows[i].noise >= 0 && r.runs[0].rows[i].n_reps == 2;
    cr_assert_eq(known, r.runs[0].n_rows, "bench ran with --repetitions 2: every row has its noise");
    ck_report_free(&r);
}

/* ---- bad input --------------------------------------------------------------------------------- */

/* Runs report with `bad` among the inputs and -o/--md into the work dir,
 * where an older report.html already exists: exit 2, one line on stderr
 * naming the file and holding `expect`, the old report untouched, no new
 * or temporary file. */
static void refused(const char *bad, const char *expect)
{
    char html[600], md[600];
    snprintf(html, sizeof html, "%s/report.html", work);
    snprintf(md, sizeof md, "%s/report.md", work);
    FILE *f = fopen(html, "w");
    fputs("old report\n", f);
    fclose(f);
    cr_assert_eq(sh("%s report '%s' '%s' -o '%s' --md '%s' 2>'%s/stderr'", ckbench(), inputs[0], bad, html, md, work),
                 2);
    char *err = work_file("stderr"), *old = slurp(html);
    cr_assert(strstr(err, bad), "the message names the file: %s", err);
    cr_assert(strstr(err, expect), "the message says '%s': %s", expect, err);
    cr_assert_eq(count(err, "\n"), 1, "one line: %s", err);
    cr_assert_str_eq(old, "old report\n", "the existing report is left alone");
    cr_assert_neq(access(md, F_OK), 0, "no Markdown written");
    cr_assert_eq(sh("ls -A '%s' | grep -q tmp", work), 1, "no temporary file left");
    free(err);
    free(old);
}

static void bad_file(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", work, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

Test(report, bad_input_is_refused_before_anything_is_written)
{
    char p[600];
    snprintf(p, sizeof p, "%s/missing.json", work);
    refused(p, "cannot open");
    bad_file("notjson.json", "this is not JSON\n", p, sizeof p);
    refused(p, "expected a ckbench result file");
    bad_file("gb.json", "{\"context\": {\"date\": \"x\"}, \"benchmarks\": []}", p, sizeof p);
    refused(p, "'context.ckbench': missing");

    cJSON *doc = read_json(inputs[0]);
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(ops_of(doc), 1), "label");
    snprintf(p, sizeof p, "%s/nolabel.json", work);
    write_json(p, doc);
    refused(p, "'context.ckbench.ops[1].label': expected a string");
    cJSON_Delete(doc);

    doc = read_json(inputs[0]);
    set_number(ck_block(doc), "format_version", 2);
    snprintf(p, sizeof p, "%s/v2.json", work);
    write_json(p, doc);
    refused(p, "'context.ckbench.format_version': expected 1");
    cJSON_Delete(doc);

    doc = read_json(inputs[0]);
    set_number(cJSON_GetArrayItem(ops_of(doc), 0), "time_ns", -5);
    snprintf(p, sizeof p, "%s/negative.json", work);
    write_json(p, doc);
    refused(p, "ops[0].time_ns': expected a number >= 0");
    cJSON_Delete(doc);
}

Test(report, a_bad_baseline_is_refused_too)
{
    char p[600];
    bad_file("base.json", "[1, 2, 3]", p, sizeof p);
    cr_assert_eq(sh("%s report '%s' --baseline '%s' --md '%s/r.md' 2>'%s/stderr'", ckbench(), inputs[0], p, work, work),
                 2);
    char *err = work_file("stderr");
    cr_assert(strstr(err, p) && strstr(err, "not a JSON object"), "%s", err);
    free(err);
}

Test(report, an_unwritable_output_leaves_no_other_output)
{
    char md[600];
    snprintf(md, sizeof md, "%s/r.md", work);
    cr_assert_eq(
        sh("%s report '%s' --md '%s' -o '%s/no/such/dir/r.html' 2>'%s/stderr'", ckbench(), inputs[0], md, work, work),
        2);
    cr_assert_neq(access(md, F_OK), 0, "the Markdown is not written when the HTML cannot be");
    cr_assert_eq(sh("ls -A '%s' | grep -q tmp", work), 1, "no temporary file left");
    char *err = work_file("stderr");
    cr_assert(strstr(err, "no/such/dir/r.html"), "%s", err);
    free(err);
}

Test(report, usage_errors)
{
    cr_assert_eq(sh("%s report 2>/dev/null", ckbench()), 2, "no file");
    cr_assert_eq(sh("%s report '%s' --frobnicate 2>/dev/null", ckbench(), inputs[0]), 2, "unknown option");
    cr_assert_eq(sh("%s report '%s' --threshold abc 2>/dev/null", ckbench(), inputs[0]), 2, "bad threshold");
    cr_assert_eq(sh("%s report --help >/dev/null", ckbench()), 0);
}

/* Google Benchmark writes NaN and Infinity (the stddev of a constant
 * counter); the report reads such a file, and words inside strings stay. */
Test(report, nan_and_infinity_from_google_benchmark_are_read)
{
    cJSON *doc = read_json(inputs[0]);
    cJSON *op = cJSON_GetArrayItem(ops_of(doc), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(op, "label", cJSON_CreateString("odd \"NaN\" -Infinity 1e5 label"));
    cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"), 0);
    cJSON_AddNumberToObject(b, "nan_marker", 12345.5);
    cJSON_AddNumberToObject(b, "inf_marker", 67890.5);
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    char path[600];
    snprintf(path, sizeof path, "%s/nan.json", work);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    /* write the markers' values as the bare words Google Benchmark uses */
    char *nan = strstr(text, "12345.5"), *inf = strstr(text, "67890.5");
    cr_assert(nan && inf);
    fprintf(f, "%.*sNaN%.*s-Infinity%s", (int)(nan - text), text, (int)(inf - nan - 7), nan + 7, inf + 7);
    fclose(f);
    free(text);
    cr_assert_eq(sh("%s report '%s' --md '%s/r.md' 2>'%s/stderr'", ckbench(), path, work, work), 0);
    char *md = work_file("r.md");
    cr_assert(strstr(md, "| odd \"NaN\" -Infinity 1e5 label |"), "the label is kept as written");
    free(md);
}

/* The bare words of a file are made null before cJSON reads it; a file from
 * another machine may be anything, and one-letter words grow the text 4x
 * (the fuzzer found the buffer sized for 2x). */
Test(report, bare_words_become_null_at_any_growth)
{
    char *out = ck_json_nonfinite_to_null("[x,y,z,-inf,\"x\",1e5,true]");
    cr_assert_not_null(out);
    cr_assert_str_eq(out, "[null,null,null,null,\"x\",1e5,true]");
    free(out);
    char many[401];
    for (int i = 0; i < 200; i++)
        many[2 * i] = 'q', many[2 * i + 1] = ',';
    many[400] = '\0';
    out = ck_json_nonfinite_to_null(many);
    cr_assert_eq(strlen(out), 200 * 5, "200 words of one letter, 4 bytes more each");
    free(out);
}

/* The roofs calibrate measured for the fixture: its DRAM update loop (an
 * in-place a[i] = s a[i], counted read + write) is a real loop. Its read
 * half cannot beat the read loop by much (1.5x allows a quick, noisy
 * measurement); a compiler that saw through the loop had it at 2e9 GB/s. */
Test(report, the_calibrated_update_loop_reads_no_faster_than_the_read_loop)
{
    char pattern[600];
    snprintf(pattern, sizeof pattern, "%s/roofs-*.json", data_dir);
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no roofs file in %s", data_dir);
    char *text = slurp(g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    cr_assert_not_null(text);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *dram =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "memory_levels"), "DRAM");
    const char *slot[] = {"one_thread", "all_threads"};
    for (int k = 0; k < 2; k++) {
        double read = cJSON_GetNumberValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dram, "read_gbs"), slot[k]));
        const char *loops[] = {"update_gbs", "copy_gbs"};
        for (int l = 0; l < 2; l++) {
            double v = cJSON_GetNumberValue(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dram, loops[l]), slot[k]));
            cr_assert(read > 0 && v > 0, "%s: read %g, %s %g GB/s", slot[k], read, loops[l], v);
            cr_assert_leq(v / 2, 1.5 * read, "%s: the %s loop read %g GB/s, the read loop %g", slot[k], loops[l], v / 2,
                          read);
        }
    }
    cJSON_Delete(doc);
}
