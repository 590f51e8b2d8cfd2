/* Every long command reports how far it has got on stderr, never stdout:
 * "<command>: k of N (p%), m:ss elapsed, ~m:ss left: <section>" lines when
 * stderr is no terminal (as in CI), a closing "k of N done in m:ss"; none
 * with CK_PROGRESS=0. The module's time format on its own, too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/progress.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ck_progress_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(progress, .init = setup, .fini = teardown, .timeout = 120);

static char *slurp(const char *name, char *buf, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    buf[fread(buf, 1, len - 1, f)] = 0;
    fclose(f);
    return buf;
}

/* Run ckbench with env and args; stdout and stderr into out and err. */
static void run(const char *env, const char *args)
{
    const char *ck = getenv("CK_CKBENCH");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "env CK_RESULTS_DIR='%s/results' %s %s %s >'%s/out' 2>'%s/err'", dir, env,
             ck ? ck : "build/bin/ckbench", args, dir, dir);
    int st = system(cmd);
    static char err[1 << 16];
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ckbench %s failed:\n%s", args, slurp("err", err, sizeof err));
}

Test(progress, every_long_command_reports_on_stderr_only)
{
    static const struct {
        const char *name, *args;
    } cmds[] = {
        {"run", "run --plugin scalar --model tiny-gqa"},
        {"fusion", "fusion --plugin scalar --model tiny-gqa --layers 1 --repetitions 2"},
        {"train-step", "train-step --plugin scalar --model tiny-gqa --steps 3"},
        {"parity", "parity --plugin scalar --model tiny-gqa --op add,rmsnorm"},
        {"bench", "bench --plugin scalar --model tiny-gqa --op add --threads 1 --min-time 0.001"},
        {"calibrate", "calibrate --quick"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        static char out[1 << 16], err[1 << 16];
        run("CK_PROGRESS_SECONDS=0.000001", cmds[i].args);
        slurp("out", out, sizeof out);
        slurp("err", err, sizeof err);
        char head[64], done[64];
        snprintf(head, sizeof head, "%s: ", cmds[i].name);
        snprintf(done, sizeof done, " done in 0:");
        const char *line = strstr(err, head);
        cr_expect(line && strstr(line, " of ") && strstr(line, " elapsed"), "%s: no k of N line on stderr:\n%s",
                  cmds[i].name, err);
        cr_expect(strstr(err, done), "%s: no closing line:\n%s", cmds[i].name, err);
        cr_expect_null(strstr(out, " elapsed"), "%s: progress on stdout:\n%s", cmds[i].name, out);
        cr_expect_null(strchr(err, '\r'), "%s: a live line although stderr is a file", cmds[i].name);
    }
}

Test(progress, an_estimate_once_some_work_is_done)
{
    static char err[1 << 16];
    /* two ops are 100-odd cases: enough done for an estimate, a second of work (not the whole suite's 40 under ASan) */
    run("CK_PROGRESS_SECONDS=0.000001", "parity --plugin scalar --model tiny-gqa --op add,rmsnorm");
    slurp("err", err, sizeof err);
    cr_expect(strstr(err, " left: "), "no estimate of the time left:\n%s", err);
}

Test(progress, ck_progress_0_turns_it_off)
{
    static char err[1 << 16];
    run("CK_PROGRESS=0", "train-step --plugin scalar --model tiny-gqa --steps 2");
    cr_expect_str_empty(slurp("err", err, sizeof err), "%s", err);
}

Test(progress, time_format)
{
    char b[32];
    ck_progress_format_seconds(14.2, b, sizeof b);
    cr_expect_str_eq(b, "0:14");
    ck_progress_format_seconds(3723, b, sizeof b);
    cr_expect_str_eq(b, "1:02:03");
    ck_progress_format_seconds(-1, b, sizeof b);
    cr_expect_str_eq(b, "0:00");
}
