/* `ckbench report results/` after a headline run: the folder holds the
 * result files (per-op and the whole-model sample), their CSV, the headline's .parity.json and the machine's roofs;
 * report takes the folder (or a quoted glob), reads the result and skips the
 * other JSON files with one note each. A folder with no result at all, or a
 * damaged result among them, is still refused with exit 2. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/calibrate.h"

static char dir[64];

static const char *ckbench(void)
{
    const char *p = getenv("CK_CKBENCH");
    return p ? p : "build/bin/ckbench";
}

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

static char *slurp(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A headline run of the smallest kind into dir/results, with roofs saved
 * there first (as calibrate would) so that it does not spend seconds
 * measuring them. */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ck_report_inputs_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char results[128], roofs[4200], err[512];
    snprintf(results, sizeof results, "%s/results", dir);
    cr_assert_eq(mkdir(results, 0755), 0);
    ck_roofs r = {.threads = 1, .llc_bytes = 1u << 20, .triad_array_bytes = 4u << 20, .triad_gbs = {10, 10}};
    r.peak_gflops[CK_ISA_SCALAR][0] = r.peak_gflops[CK_ISA_SCALAR][1] = 20;
    ck_roofs_path(roofs, sizeof roofs, results);
    cr_assert_eq(ck_roofs_save(&r, roofs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sh("CK_RESULTS_DIR='%s/results' %s --plugin scalar --model tiny-gqa --op add,rmsnorm --threads 1 "
                    "--min-time 0.001 >'%s/headline' 2>&1",
                    dir, ckbench(), dir),
                 0, "the headline failed: see %s/headline", dir);
    cr_assert_eq(sh("ls '%s'/results/*.parity.json '%s'/results/roofs-*.json >/dev/null", dir, dir), 0,
                 "the headline wrote no parity report or roofs beside its result");
}

static void teardown(void)
{
    sh("rm -rf '%s'", dir);
}

static void a_results_folder_is_read_and_its_other_files_skipped(void)
{
    cr_assert_eq(sh("%s report '%s/results/' --md '%s/r.md' >'%s/out' 2>'%s/err'", ckbench(), dir, dir, dir, dir), 0,
                 "%s", slurp("err"));
    char *err = slurp("err");
    cr_expect_eq(count(err, "report: skipped "), 2, "one note per skipped file:\n%s", err);
    cr_expect(strstr(err, ".parity.json: a parity report"), "%s", err);
    cr_expect(strstr(err, "roofs-") && strstr(err, "a roofs file"), "%s", err);
    /* two runs: the headline's per-op result and its short whole-model sample */
    cr_expect(strstr(slurp("out"), "2 runs; 2 files skipped"), "%s", slurp("out"));
    cr_expect(strstr(slurp("r.md"), "rmsnorm"), "the result's rows are in the report");
}

static void a_quoted_glob_and_the_shells_glob_do_the_same(void)
{
    cr_assert_eq(sh("%s report '%s/results/*.json' --md '%s/a.md' >/dev/null 2>&1", ckbench(), dir, dir), 0);
    cr_assert_eq(sh("%s report %s/results/*.json --md '%s/b.md' >/dev/null 2>&1", ckbench(), dir, dir), 0);
    /* the same but for the "Made <time>" line, which may fall in another second */
    cr_expect_eq(sh("grep -v '^Made ' '%s/a.md' >'%s/a.cmp' && grep -v '^Made ' '%s/b.md' >'%s/b.cmp' && "
                    "cmp -s '%s/a.cmp' '%s/b.cmp'",
                    dir, dir, dir, dir, dir, dir),
                 0, "the two reports differ");
    cr_expect_eq(sh("%s report '%s/results/*.nothing' --md '%s/c.md' 2>'%s/err'", ckbench(), dir, dir, dir), 2);
    cr_expect(strstr(slurp("err"), "no file matches"), "%s", slurp("err"));
}

static void no_result_at_all_or_a_damaged_one_is_refused(void)
{
    sh("mkdir '%s/other' && cp '%s'/results/*.parity.json '%s'/results/roofs-*.json '%s/other/'", dir, dir, dir, dir);
    cr_expect_eq(sh("%s report '%s/other' --md '%s/o.md' 2>'%s/err'", ckbench(), dir, dir, dir), 2);
    cr_expect(strstr(slurp("err"), "no bench result among the 2 input files"), "%s", slurp("err"));
    char md[128];
    snprintf(md, sizeof md, "%s/o.md", dir);
    cr_expect_neq(access(md, F_OK), 0, "nothing written");
    /* in a copy, so that results/ stays as the headline left it */
    sh("cp -r '%s/results' '%s/dmg' && printf '{\"context\": {}, \"benchmarks\": []}' >'%s/dmg/damaged.json'", dir, dir,
       dir);
    cr_expect_eq(sh("%s report '%s/dmg' --md '%s/d.md' 2>'%s/err'", ckbench(), dir, dir, dir), 2);
    cr_expect(strstr(slurp("err"), "damaged.json: field 'context.ckbench'"), "%s", slurp("err"));
}

/* One headline run (the slow part, above all under the sanitizers) read
 * three ways; each check reports its own failures. */
Test(report_inputs, one_headline_run_read_three_ways, .init = setup, .fini = teardown, .timeout = 120)
{
    a_results_folder_is_read_and_its_other_files_skipped();
    a_quoted_glob_and_the_shells_glob_do_the_same();
    no_result_at_all_or_a_damaged_one_is_refused();
}
