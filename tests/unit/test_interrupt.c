/* Ctrl-C during parity or bench: the command says "interrupted after k of
 * N" on stderr, exits 1, and keeps what finished in its files, marked
 * partial (parity's JSON and JUnit, bench's result file with the rows not
 * run saying "interrupted"; report names such a run "(partial)"). The signal is sent once the first unit of work
 * has finished, as the progress line shows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ck_interrupt_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(interrupt, .init = setup, .fini = teardown, .timeout = 120);

static char *slurp(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return (char *)"";
    static char buf[1 << 20];
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    return buf;
}

/* ckbench <args> in dir, SIGINT once "<what>: k of" with k >= 1 is on its
 * stderr; its exit status. */
static int interrupted_run(const char *what, const char *args)
{
    const char *ck = getenv("CK_CKBENCH");
    char bin[4096], cmd[8192];
    cr_assert_not_null(realpath(ck ? ck : "build/bin/ckbench", bin));
    snprintf(cmd, sizeof cmd,
             "cd '%s' && (CK_RESULTS_DIR=results CK_PROGRESS=lines CK_PROGRESS_SECONDS=0.000001 '%s' %s >out 2>err &"
             " pid=$!; n=0; until grep -q '^%s: [1-9]' err 2>/dev/null || [ $n -ge 600 ]; do sleep 0.05;"
             " n=$((n+1)); done; kill -INT $pid; wait $pid)",
             dir, bin, args, what);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(interrupt, parity_keeps_the_finished_cases_marked_partial)
{
    int rc = interrupted_run("parity", "parity --plugin all --model tiny-llava --json p.json --junit p.xml");
    cr_assert_eq(rc, 1, "exit %d; stderr:\n%s", rc, slurp("err"));
    cr_expect(strstr(slurp("err"), "parity: interrupted after "), "%s", slurp("err"));
    cr_expect(strstr(slurp("out"), "PARTIAL: interrupted after "), "%s", slurp("out"));
    char *json = slurp("p.json");
    cr_expect(strstr(json, "\"partial\":\ttrue"), "the JSON is not marked partial");
    cr_expect(strstr(json, "\"verdict\""), "no finished case kept in the JSON");
    cr_expect_null(strstr(json, "crash"), "a case killed by the Ctrl-C was kept as a crash");
    cr_expect(strstr(slurp("p.xml"), "name=\"partial\""), "the JUnit file is not marked partial");
}

Test(interrupt, bench_keeps_the_finished_rows_marked_partial)
{
    int rc = interrupted_run("bench",
                             "bench --plugin scalar,avx2 --model tiny-llava --threads 1 --min-time 0.05 --no-scalar");
    cr_assert_eq(rc, 1, "exit %d; stderr:\n%s", rc, slurp("err"));
    cr_expect(strstr(slurp("err"), "bench: interrupted after "), "%s", slurp("err"));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cat '%s'/results/*-scalar-tiny-llava.json >'%s/r.json'", dir, dir);
    cr_assert_eq(system(cmd), 0, "the scalar run's finished rows were not written");
    char *res = slurp("r.json");
    cr_expect(strstr(res, "\"partial\":\ttrue"), "the result file is not marked partial");
    cr_expect(strstr(res, "\"status\":\t\"ok\""), "no finished row kept");
    cr_expect(strstr(res, "interrupted"), "the rows not run do not say why");
    char bin[4096];
    cr_assert_not_null(realpath(getenv("CK_CKBENCH") ? getenv("CK_CKBENCH") : "build/bin/ckbench", bin));
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' report results/ --md r.md >/dev/null 2>&1", dir, bin);
    cr_assert_eq(system(cmd), 0, "report refused the partial result");
    cr_expect(strstr(slurp("r.md"), "scalar (partial)"), "the report does not mark the run partial");
}
