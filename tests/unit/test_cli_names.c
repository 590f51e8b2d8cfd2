/* One name per meaning across commands: --weight-dtype is the dtype and
 * --weights the weight source everywhere, and plan's one-row-per-layer flag
 * is --per-layer (--layers is a count elsewhere); the old spellings are
 * refused with a sentence that gives the new one. An unknown op gets the
 * known ops in every command that takes --op. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ck_cli_names_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(cli_names, .init = setup, .fini = teardown, .timeout = 60);

/* ckbench <args> in dir with its results there; exit status, stderr in *err. */
static int ckbench(const char *args, char **err)
{
    const char *ck = getenv("CK_CKBENCH");
    char bin[4096], cmd[8192], path[128];
    cr_assert_not_null(realpath(ck ? ck : "build/bin/ckbench", bin));
    snprintf(cmd, sizeof cmd, "cd '%s' && CK_RESULTS_DIR=results '%s' %s >out 2>err", dir, bin, args);
    int st = system(cmd);
    snprintf(path, sizeof path, "%s/err", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char buf[1 << 14];
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    *err = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void one_line(const char *err)
{
    cr_expect(strlen(err) > 0 && strchr(err, '\n') == err + strlen(err) - 1, "not one line:\n%s", err);
}

Test(cli_names, bench_takes_weight_dtype_and_refuses_weights_with_the_new_name)
{
    char *err;
    cr_expect_eq(ckbench("bench --plugin scalar --model tiny-gqa --op linear --weight-dtype bf16 --threads 1 "
                         "--min-time 0.001 --no-scalar",
                         &err),
                 0, "%s", err);
    cr_expect_eq(ckbench("bench --plugin scalar --model tiny-gqa --weights q8_0", &err), 2);
    cr_expect(strstr(err, "'--weight-dtype q8_0'"), "the refusal does not give the new spelling:\n%s", err);
    one_line(err);
    cr_expect_eq(ckbench("--plugin scalar --model tiny-gqa --weights bf16", &err), 2, "the headline too");
    cr_expect(strstr(err, "'--weight-dtype bf16'"), "%s", err);
    cr_expect_eq(ckbench("run --plugin scalar --model tiny-gqa --weights q8_0", &err), 2, "a dtype is no source");
    cr_expect(strstr(err, "'--weight-dtype q8_0'"), "%s", err);
    one_line(err);
    cr_expect_eq(ckbench("bench --plugin scalar --model tiny-gqa --weight-dtype q9", &err), 2);
    cr_expect(strstr(err, "--weight-dtype") && strstr(err, "q4_0"), "%s", err);
}

Test(cli_names, plan_per_layer_and_the_old_layers_flag)
{
    char *err;
    cr_expect_eq(ckbench("plan --model tiny-gqa --per-layer --layout l.json", &err), 0, "%s", err);
    cr_expect_eq(ckbench("plan --model tiny-gqa --layers --layout l.json", &err), 2);
    cr_expect(strstr(err, "--per-layer"), "the refusal does not give the new spelling:\n%s", err);
    one_line(err);
}

Test(cli_names, unknown_op_lists_the_known_ones_in_every_command)
{
    static const char *cmds[] = {"bench --plugin scalar --model tiny-gqa", "parity --plugin scalar",
                                 "--plugin scalar --model tiny-gqa"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[256], *err;
        snprintf(args, sizeof args, "%s --op rmsnorm,nosuchop", cmds[i]);
        cr_expect_eq(ckbench(args, &err), 2, "ckbench %s", args);
        cr_expect(strstr(err, "'nosuchop'") && strstr(err, "known: rmsnorm, ") && strstr(err, "attention"),
                  "ckbench %s does not list the known ops:\n%s", args, err);
        one_line(err);
    }
}
