/* ckbench's command line as a user meets it (CK_CKBENCH): --version names the
 * build, the plugin ABI and every plugin found; --help and the manual page
 * name every environment variable the code reads; `ckbench help COMMAND`
 * exists for every command and documents every option its --help lists; the
 * manual page (CK_TEST_BUILD/man/ckbench.1) is clean roff; the bash
 * completion completes commands, options, plugins and models; colour and
 * progress lines reach a terminal only, and colour never under NO_COLOR. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ck_host.h"
#include "ck_plugin.h"

#define OUT_MAX (256 * 1024)

typedef struct result {
    int status; /* exit status, or -1 if it did not exit */
    char out[OUT_MAX];
    char err[8192];
} result;

static result R; /* one at a time; too large for the stack */

static const char *ckbench(void)
{
    const char *p = getenv("CK_CKBENCH");
    return p ? p : "build/bin/ckbench";
}

static const char *source_dir(void)
{
    const char *p = getenv("CK_SOURCE_DIR");
    return p ? p : ".";
}

static void slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Run a program (argv[0] is its path) with stdin from /dev/null; stdout and
 * stderr land in R. */
static void run_argv(char *const argv[])
{
    char out_path[] = "/tmp/ck-cli-out-XXXXXX", err_path[] = "/tmp/ck-cli-err-XXXXXX";
    int fo = mkstemp(out_path), fe = mkstemp(err_path);
    cr_assert(fo >= 0 && fe >= 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    close(fo);
    close(fe);
    R.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out_path, R.out, sizeof R.out);
    slurp(err_path, R.err, sizeof R.err);
    unlink(out_path);
    unlink(err_path);
}

/* ckbench with up to three arguments (NULL ends them). */
static void run_ck(const char *a, const char *b, const char *c)
{
    char *argv[] = {(char *)ckbench(), (char *)a, (char *)b, (char *)c, NULL};
    run_argv(argv);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The line of `text` that starts with `prefix` (after spaces), or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *p = l + strspn(l, " ");
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
    }
    return NULL;
}

Test(cli, version_names_the_build_the_abi_and_every_plugin)
{
    static char first[OUT_MAX];
    run_ck("--version", NULL, NULL);
    cr_assert_eq(R.status, 0, "%s", R.err);
    memcpy(first, R.out, sizeof first);
    run_ck("version", NULL, NULL);
    cr_assert_eq(R.status, 0, "%s", R.err);
    cr_assert_str_eq(R.out, first, "'ckbench version' and 'ckbench --version' say the same");

    char path[4096], version[64], want[128];
    snprintf(path, sizeof path, "%s/VERSION", source_dir());
    slurp(path, version, sizeof version);
    version[strcspn(version, "\n")] = '\0';
    cr_assert(strlen(version) > 0, "%s holds the version", path);
    snprintf(want, sizeof want, "ckbench %s\n", version);
    cr_assert(strncmp(R.out, want, strlen(want)) == 0, "first line is '%s', output:\n%s", want, R.out);

    const char *abi = line_starting(R.out, "plugin ABI:");
    cr_assert_not_null(abi, "%s", R.out);
    cr_assert_eq(strtoul(abi + strlen("plugin ABI:"), NULL, 10), CK_ABI_VERSION);
    cr_assert_not_null(line_starting(R.out, "compiler:"));
    cr_assert_not_null(line_starting(R.out, "sanitizers:"));

    /* The commit it was built from; test-build relinks ckbench on a new commit. */
    char cmd[4200], head[64] = "";
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", source_dir());
    FILE *g = popen(cmd, "r");
    if (g && fgets(head, sizeof head, g))
        head[strcspn(head, "\n")] = '\0';
    if (g)
        pclose(g);
    const char *commit = line_starting(R.out, "commit:");
    cr_assert_not_null(commit);
    if (*head)
        cr_assert(strstr(commit, head) && strstr(commit, head) < strchr(commit, '\n'), "commit %s in: %.80s", head,
                  commit);

    /* Every plugin in CK_PLUGIN_PATH, named with its version on its own line. */
    char **paths = NULL;
    size_t n = ck_plugin_discover(&paths);
    cr_assert(n > 0, "the test needs plugins in CK_PLUGIN_PATH");
    for (size_t i = 0; i < n; i++) {
        char err[CK_ERR_LEN];
        ck_plugin *p = ck_plugin_load(paths[i], err, sizeof err);
        cr_assert_not_null(p, "%s", err);
        const char *line = line_starting(R.out, p->desc->name);
        cr_assert_not_null(line, "plugin %s is listed:\n%s", p->desc->name, R.out);
        const char *v = strstr(line, p->desc->version), *file = strstr(line, p->path);
        cr_assert(v && v < strchr(line, '\n'), "plugin %s's version %s on its line", p->desc->name, p->desc->version);
        cr_assert(file && file < strchr(line, '\n'), "plugin %s's file on its line", p->desc->name);
        ck_plugin_unload(p);
    }
    ck_plugin_paths_free(paths, n);
}

Test(cli, version_refuses_arguments_in_one_line)
{
    run_ck("version", "--frobnicate", NULL);
    cr_assert_eq(R.status, 2);
    cr_assert_str_empty(R.out);
    cr_assert_eq(count_lines(R.err), 1, "%s", R.err);
    cr_assert(strstr(R.err, "--frobnicate"), "%s", R.err);
}

/* Names X of every getenv("X") in the C sources of the shipped layers. */
static size_t env_vars_read(char names[][64], size_t max)
{
    static const char *const dirs[] = {"core", "ir", "runtime", "harness", "plugins"};
    char cmd[4400];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && grep -rhoE 'getenv\\(\"[A-Za-z_0-9]+\"\\)' --include='*.c' --include='*.cc' "
             "%s %s %s %s %s | sort -u",
             source_dir(), dirs[0], dirs[1], dirs[2], dirs[3], dirs[4]);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[256];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, p)) {
        char *q = strchr(line, '"') + 1;
        *strchr(q, '"') = '\0';
        snprintf(names[n++], 64, "%s", q);
    }
    pclose(p);
    return n;
}

Test(cli, help_and_manual_name_every_environment_variable_and_exit_status)
{
    char names[64][64];
    size_t n = env_vars_read(names, 64);
    cr_assert(n >= 5, "found %zu getenv calls; the scan is broken", n);
    static char man[OUT_MAX], doc[OUT_MAX];
    char path[4200];
    snprintf(path, sizeof path, "%s/man/ckbench.1", getenv("CK_TEST_BUILD") ? getenv("CK_TEST_BUILD") : "build");
    slurp(path, man, sizeof man);
    cr_assert(strlen(man) > 1000, "%s is built", path);
    snprintf(path, sizeof path, "%s/docs/cli.md", source_dir());
    slurp(path, doc, sizeof doc);
    run_ck("--help", NULL, NULL);
    cr_assert_eq(R.status, 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert(strstr(R.out, names[i]), "ckbench --help names %s", names[i]);
        cr_assert(strstr(doc, names[i]), "docs/cli.md names %s", names[i]);
        cr_assert(strstr(man, names[i]), "the manual page names %s", names[i]);
    }
    cr_assert(strstr(R.out, "NO_COLOR") && strstr(man, "NO_COLOR"));
    cr_assert(strstr(man, ".SH EXIT STATUS") && strstr(man, ".SH ENVIRONMENT"), "man(7) sections");
    const char *st = strstr(R.out, "exit status:");
    cr_assert_not_null(st, "--help has the exit statuses");
    for (int code = 0; code <= 2; code++) {
        char want[8];
        snprintf(want, sizeof want, "\n  %d  ", code);
        cr_assert(strstr(st, want), "--help explains exit status %d", code);
    }
}

/* The command names of `ckbench --help`: the lines after "commands:". */
static size_t commands(char names[][32], size_t max)
{
    static char help[OUT_MAX];
    run_ck("--help", NULL, NULL);
    memcpy(help, R.out, sizeof help);
    const char *l = strstr(help, "commands:\n");
    cr_assert_not_null(l);
    size_t n = 0;
    for (l = strchr(l, '\n') + 1; n < max && strncmp(l, "  ", 2) == 0; l = strchr(l, '\n') + 1)
        sscanf(l, "%31s", names[n++]);
    return n;
}

Test(cli, help_command_documents_every_option_its_usage_lists)
{
    char names[32][32];
    size_t n = commands(names, 32);
    cr_assert(n >= 10, "found %zu commands in --help", n);
    static char usage[OUT_MAX];
    for (size_t i = 0; i < n; i++) {
        run_ck(names[i], "--help", NULL);
        cr_assert_eq(R.status, 0, "ckbench %s --help: %s", names[i], R.err);
        memcpy(usage, R.out, sizeof usage);
        run_ck("help", names[i], NULL);
        cr_assert_eq(R.status, 0, "ckbench help %s: %s", names[i], R.err);
        char want[64];
        snprintf(want, sizeof want, "ckbench %s", names[i]);
        cr_assert(strncmp(R.out, want, strlen(want)) == 0, "the section starts with its synopsis: %.80s", R.out);
        /* every --option in the usage text appears in the manual section */
        for (const char *o = strstr(usage, "--"); o; o = strstr(o + 2, "--")) {
            char opt[48];
            if (sscanf(o, "%47[-a-z0-9]", opt) != 1 || strlen(opt) < 3 || !strcmp(opt, "--help") ||
                !strcmp(opt, "--version"))
                continue;
            cr_assert(strstr(R.out, opt), "ckbench help %s documents %s (from its --help)", names[i], opt);
        }
    }
    run_ck("help", "headline", NULL);
    cr_assert_eq(R.status, 0);
    cr_assert(strstr(R.out, "--plugin best"), "the headline has a section too");
}

Test(cli, bench_refuses_a_bad_phase_cache_or_position_in_one_line)
{
    const char *bad[][2] = {{"--phase", "sideways"}, {"--cache", "warm"}, {"--decode-pos", "-3"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {(char *)ckbench(), "bench",           "--plugin",        "scalar", "--model",
                        "tiny-gqa",        (char *)bad[i][0], (char *)bad[i][1], NULL};
        run_argv(argv);
        cr_assert_eq(R.status, 2, "%s %s", bad[i][0], bad[i][1]);
        cr_assert_str_empty(R.out);
        cr_assert_eq(count_lines(R.err), 1, "%s", R.err);
        cr_assert(strstr(R.err, bad[i][0]) && strstr(R.err, bad[i][1]), "names the option and value: %s", R.err);
    }
}

/* bench --md: one Markdown table, a row per (instance, cache, threads), every
 * row with the header's number of cells. */
Test(cli, bench_md_is_one_table_a_row_per_benchmark)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ck-test-md-%d", (int)getpid());
    cr_assert_eq(mkdir(dir, 0700), 0);
    setenv("CK_RESULTS_DIR", dir, 1);
    char *argv[] = {(char *)ckbench(), "bench",     "--plugin", "scalar",     "--model", "tiny-gqa",    "--op",
                    "add,rmsnorm",     "--threads", "1",        "--min-time", "0.001",   "--no-scalar", "--phase",
                    "prefill",         "--md",      NULL};
    run_argv(argv);
    unsetenv("CK_RESULTS_DIR");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(R.status, 0, "%s", R.err);
    cr_assert(strncmp(R.out, "| plugin | op instance |", 24) == 0, "the table comes first:\n%s", R.out);
    size_t rows = 0;
    for (const char *l = strstr(R.out, "\n| scalar |"); l; l = strstr(l + 1, "\n| scalar |")) {
        size_t bars = 0;
        for (const char *c = l + 1; *c && *c != '\n'; c++)
            bars += *c == '|';
        cr_assert_eq(bars, 12, "11 cells: %.120s", l + 1);
        rows++;
    }
    cr_assert_eq(rows, 6, "add, the layers' rmsnorm and the final one (a prompt's last row), each hot and cold:\n%s",
                 R.out);
    cr_assert_null(strstr(R.out, "op instance                phase/cache"), "no plain table besides");
}

Test(cli, help_for_an_unknown_command_is_one_line_and_status_2)
{
    run_ck("help", "no-such-command", NULL);
    cr_assert_eq(R.status, 2);
    cr_assert_str_empty(R.out);
    cr_assert_eq(count_lines(R.err), 1, "%s", R.err);
    cr_assert(strstr(R.err, "no-such-command") && strstr(R.err, "bench"), "names it and what exists: %s", R.err);
}

Test(cli, manual_page_is_clean_roff_with_a_section_per_command)
{
    const char *b = getenv("CK_TEST_BUILD") ? getenv("CK_TEST_BUILD") : "build";
    char path[4200];
    snprintf(path, sizeof path, "%s/man/ckbench.1", b);
    if (system("command -v groff >/dev/null 2>&1") != 0)
        cr_skip_test("groff is not installed");
    char *argv[] = {"/bin/sh", "-c", "groff -man -Tutf8 -ww -z \"$0\"", path, NULL};
    run_argv(argv);
    cr_assert_eq(R.status, 0, "groff: %s", R.err);
    cr_assert_str_empty(R.err, "groff -ww warns: %s", R.err);
    static char man[OUT_MAX];
    slurp(path, man, sizeof man);
    char names[32][32];
    size_t n = commands(names, 32);
    for (size_t i = 0; i < n; i++) {
        char want[96], roff[64], *w = roff; /* a dash in roff is \- */
        for (const char *c = names[i]; *c && w < roff + sizeof roff - 3; c++) {
            if (*c == '-')
                *w++ = '\\';
            *w++ = *c;
        }
        *w = '\0';
        snprintf(want, sizeof want, ".SS \\fBckbench %s", roff);
        cr_assert(strstr(man, want), "the manual page has a section for %s", names[i]);
    }
}

/* What scripts/ckbench.bash-completion offers for a command line whose last
 * word is being completed: `words` as bash splits them, after "ckbench". */
static void complete(const char *words)
{
    char script[1024], full[4200];
    snprintf(script, sizeof script,
             "source \"$1/scripts/ckbench.bash-completion\" || exit 3\n"
             "COMP_WORDS=(\"$0\" %s)\n"
             "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
             "_ckbench; printf '[%%s]' \"${COMPREPLY[@]}\"",
             words);
    if (!realpath(ckbench(), full))
        cr_assert_fail("%s: no such file", ckbench());
    char *argv[] = {"/bin/bash", "-c", script, full, (char *)source_dir(), NULL};
    run_argv(argv);
    cr_assert_eq(R.status, 0, "bash: %s", R.err);
}

Test(cli, bash_completion_offers_commands_options_plugins_and_models)
{
    if (access("/bin/bash", X_OK) != 0)
        cr_skip_test("no bash");
    char names[32][32];
    size_t n = commands(names, 32);
    complete("''");
    for (size_t i = 0; i < n; i++) {
        char want[40];
        snprintf(want, sizeof want, "[%s]", names[i]);
        cr_assert(strstr(R.out, want), "command %s offered: %s", names[i], R.out);
    }
    cr_assert(strstr(R.out, "[--version]"), "%s", R.out);
    complete("bench --rep");
    cr_assert_str_eq(R.out, "[--repetitions]");
    complete("--plugin x --min");
    cr_assert_str_eq(R.out, "[--min-time]", "the headline takes bench's options");
    complete("help tr");
    cr_assert_str_eq(R.out, "[train-step]");

    complete("run --plugin ''");
    char **paths = NULL;
    size_t np = ck_plugin_discover(&paths);
    for (size_t i = 0; i < np; i++) {
        char err[CK_ERR_LEN], want[80];
        ck_plugin *p = ck_plugin_load(paths[i], err, sizeof err);
        cr_assert_not_null(p, "%s", err);
        snprintf(want, sizeof want, "[%s]", p->desc->name);
        cr_assert(strstr(R.out, want), "plugin %s offered: %s", p->desc->name, R.out);
        ck_plugin_unload(p);
    }
    ck_plugin_paths_free(paths, np);
    cr_assert(strstr(R.out, "[best]") && strstr(R.out, "[all]"), "%s", R.out);
    complete("bench --plugin scalar,sc");
    cr_assert_str_eq(R.out, "[scalar,scalar]", "the last name of a list is completed");

    complete("plan --model tiny-gq"); /* tiny-g also names tiny-gemma3 */
    cr_assert_str_eq(R.out, "[tiny-gqa]", "bare model names from ir/models, once");
}

/* `ckbench parity --plugin scalar --op add` with stdout and stderr on a
 * pseudo-terminal and one variable set (value NULL: unset); the bytes in R.out. */
static void parity_on_a_terminal(const char *var, const char *value)
{
    int master = -1;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    cr_assert(pid >= 0, "forkpty: %s", strerror(errno));
    if (pid == 0) {
        unsetenv("NO_COLOR");
        setenv("TERM", "xterm", 1);
        if (value)
            setenv(var, value, 1);
        else
            unsetenv(var);
        execl(ckbench(), ckbench(), "parity", "--plugin", "scalar", "--op", "add", (char *)NULL);
        _exit(127);
    }
    size_t n = 0;
    ssize_t got;
    /* EIO once the child has closed its side */
    while (n < sizeof R.out - 1 && (got = read(master, R.out + n, sizeof R.out - 1 - n)) > 0)
        n += (size_t)got;
    R.out[n] = '\0';
    close(master);
    int st = 0;
    waitpid(pid, &st, 0);
    R.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    cr_assert_eq(R.status, 0, "parity on a terminal:\n%s", R.out);
}

Test(cli, colour_and_progress_on_a_terminal_only_and_never_under_no_color)
{
    char *argv[] = {(char *)ckbench(), "parity", "--plugin", "scalar", "--op", "add", NULL};
    unsetenv("NO_COLOR");
    run_argv(argv);
    cr_assert_eq(R.status, 0, "%s", R.err);
    cr_assert(strstr(R.out, "PASS"), "%s", R.out);
    cr_assert_null(strchr(R.out, '\033'), "no escape sequence in piped stdout");
    cr_assert_null(strchr(R.err, '\033'), "no progress line in piped stderr");

    parity_on_a_terminal("NO_COLOR", NULL);
    cr_assert(strstr(R.out, "\033[32mPASS"), "verdicts in colour on a terminal:\n%s", R.out);
    cr_assert(strstr(R.out, "\r\033[Kparity: "), "a progress line on a terminal");

    parity_on_a_terminal("NO_COLOR", "1");
    cr_assert(strstr(R.out, "PASS"));
    cr_assert_null(strstr(R.out, "\033[3"), "no colour under NO_COLOR:\n%s", R.out);
    cr_assert_null(strstr(R.out, "\033[1;3"), "no colour under NO_COLOR");
    cr_assert(strstr(R.out, "\r\033[Kparity: "), "NO_COLOR leaves progress lines alone");

    parity_on_a_terminal("TERM", "dumb");
    cr_assert_null(strstr(R.out, "\033[K"), "no line rewriting on a dumb terminal");
}

/* scripts/test-stages.sh, the runner behind `make test`, on three stages: one
 * passes, one fails, one skips. */
Test(cli, make_test_summary_gives_every_stage_its_verdict_and_time)
{
    char dir[] = "/tmp/ck-stages-XXXXXX", path[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/Makefile", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "fails:\n\t@echo broken; exit 3\npasses:\n\t@echo fine\n"
               "skips:\n\t@echo 'skips: SKIPPED: no such tool here'\n");
    fclose(f);
    char script[4200], make_cmd[200], logs[160];
    snprintf(script, sizeof script, "%s/scripts/test-stages.sh", source_dir());
    snprintf(make_cmd, sizeof make_cmd, "make -C %s", dir);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    char *argv[] = {"/bin/sh", script, logs, make_cmd, "fails", "passes", "skips", NULL};
    run_argv(argv);
    cr_assert_eq(R.status, 1, "a failed stage fails the run:\n%s%s", R.out, R.err);
    const char *sum = strstr(R.out, "== make test: summary\n");
    cr_assert_not_null(sum, "%s", R.out);
    cr_assert(strstr(R.out, "fine"), "the stage after the failure still ran:\n%s", R.out);
    const char *fails = line_starting(sum, "fails "), *passes = line_starting(sum, "passes "),
               *skips = line_starting(sum, "skips ");
    cr_assert(fails && passes && skips, "a line per stage:\n%s", sum);
    cr_assert(fails < passes && passes < skips, "in the order run");
    cr_assert_eq(strncmp(fails + strspn(fails + 6, " ") + 6, "FAILED", 6), 0, "%.80s", fails);
    cr_assert(strstr(fails, " s  see ") && strstr(fails, "/logs/fails.log"), "time and log: %.100s", fails);
    cr_assert_eq(strncmp(passes + strspn(passes + 7, " ") + 7, "passed", 6), 0, "%.80s", passes);
    cr_assert_eq(strncmp(skips + strspn(skips + 6, " ") + 6, "skipped", 7), 0, "%.80s", skips);
    cr_assert(strstr(skips, "no such tool here"), "the reason: %.100s", skips);
    cr_assert(strstr(sum, "make test: 1 passed, 1 failed, 1 skipped in "), "%s", sum);
    cr_assert_null(strchr(R.out, '\033'), "no colour into a pipe");
    snprintf(path, sizeof path, "%s/logs/fails.log", dir);
    static char log[4096];
    slurp(path, log, sizeof log);
    cr_assert(strstr(log, "broken"), "the stage's output is kept: %s", log);
    char rm[200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    cr_assert_eq(system(rm), 0);
}
