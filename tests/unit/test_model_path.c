/* One model resolver for every command: a bare name (`tiny-gqa`, with or
 * without .json) works in each command that takes --model, from a directory
 * outside the source tree; $CK_MODEL_PATH is searched first; an unknown name
 * exits 2 with one line that says where it looked and which models exist. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/calibrate.h"
#include "common/model_path.h"

static char tmpdir[64];
static char ckbench[PATH_MAX];

static void setup(void)
{
    const char *b = getenv("CK_CKBENCH");
    cr_assert_not_null(realpath(b ? b : "build/bin/ckbench", ckbench), "no ckbench (set CK_CKBENCH)");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ck_model_path_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    /* roofs already there: the headline need not spend seconds measuring them */
    char results[128], roofs[4200], err[512];
    snprintf(results, sizeof results, "%s/results", tmpdir);
    cr_assert_eq(mkdir(results, 0755), 0);
    ck_roofs r = {.threads = 1, .llc_bytes = 1u << 20, .triad_array_bytes = 4u << 20, .triad_gbs = {10, 10}};
    r.peak_gflops[CK_ISA_SCALAR][0] = r.peak_gflops[CK_ISA_SCALAR][1] = 20;
    ck_roofs_path(roofs, sizeof roofs, results);
    cr_assert_eq(ck_roofs_save(&r, roofs, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* ckbench <args> run in tmpdir (outside the source tree); its exit status,
 * its stderr in *err. */
static int run_in_tmp(const char *env, const char *args, char **err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && env CK_RESULTS_DIR='%s/results' %s '%s' %s >'%s/out' 2>'%s/err'", tmpdir,
             tmpdir, env, ckbench, args, tmpdir, tmpdir);
    int st = system(cmd);
    char path[128];
    snprintf(path, sizeof path, "%s/err", tmpdir);
    *err = slurp(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TestSuite(model_path, .init = setup, .fini = teardown, .timeout = 120);

Test(model_path, bare_name_works_in_every_command)
{
    static const char *cmds[] = {
        "plan --model tiny-gqa --layout l.json",
        "parity --plugin scalar --model tiny-gqa --op add",
        "run --plugin scalar --model tiny-gqa",
        "diverge --plugin scalar --model tiny-gqa.json",
        "fusion --plugin scalar --model tiny-gqa --layers 1 --repetitions 1",
        "train-step --plugin scalar --model tiny-gqa --steps 2",
        "bench --plugin scalar --model tiny-gqa --op add --min-time 0.001 --no-scalar --threads 1",
        "--plugin scalar --model tiny-gqa --op add --min-time 0.001 --threads 1",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *err;
        int rc = run_in_tmp("", cmds[i], &err);
        cr_expect_eq(rc, 0, "ckbench %s: exit %d\n%s", cmds[i], rc, err);
    }
}

Test(model_path, unknown_name_lists_where_and_what)
{
    static const char *cmds[] = {"plan",
                                 "parity --plugin scalar",
                                 "run --plugin scalar",
                                 "diverge --plugin scalar",
                                 "fusion --plugin scalar",
                                 "train-step --plugin scalar",
                                 "bench --plugin scalar",
                                 "--plugin scalar"};
    const char *src = getenv("CK_SOURCE_DIR");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[256], *err;
        snprintf(args, sizeof args, "%s --model no-such-model", cmds[i]);
        int rc = run_in_tmp("", args, &err);
        cr_expect_eq(rc, 2, "ckbench %s: exit %d", args, rc);
        cr_expect(strstr(err, "'no-such-model'") && strstr(err, "tiny-gqa") && strstr(err, "llava"),
                  "ckbench %s: the error names neither the model nor those found:\n%s", args, err);
        if (src)
            cr_expect(strstr(err, "ir/models"), "ckbench %s: the error does not say where it looked:\n%s", args, err);
        cr_expect_eq(strchr(err, '\n'), err + strlen(err) - 1, "ckbench %s: more than one line:\n%s", args, err);
    }
}

Test(model_path, ck_model_path_comes_first_and_is_listed)
{
    const char *src = getenv("CK_SOURCE_DIR");
    char cmd[8192], *err;
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/m' && cp '%s/ir/models/tiny-gqa.json' '%s/m/my-model.json'", tmpdir,
             src ? src : ".", tmpdir);
    cr_assert_eq(system(cmd), 0);
    char env[256];
    snprintf(env, sizeof env, "CK_MODEL_PATH=/nonexistent:%s/m", tmpdir);
    cr_expect_eq(run_in_tmp(env, "plan --model my-model --layout l.json", &err), 0, "%s", err);
    cr_expect_eq(run_in_tmp(env, "plan --model missing --layout l.json", &err), 2);
    cr_expect(strstr(err, "my-model") && strstr(err, "/m"), "CK_MODEL_PATH's folder and model not listed:\n%s", err);
}

Test(model_path, a_path_is_taken_as_given)
{
    char out[PATH_MAX], err[512];
    cr_expect_eq(ck_model_resolve("./x/none.json", out, sizeof out, err, sizeof err), 0);
    cr_expect_str_eq(out, "./x/none.json", "a path is the loader's to refuse, by its own name");
}
