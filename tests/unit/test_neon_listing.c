/* On x86-64, a cross-built NEON plugin (build-aarch64/plugins/libck_neon.so,
 * from `make test-neon` or `make CROSS=aarch64-linux-gnu-`) is refused by the
 * loader with the reason, and `ckbench list` shows it as not runnable here
 * instead of failing. Skipped when no cross-built copy exists or when this
 * machine is not x86-64 (there the plugin is native and runs). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ck_host.h"

#define REASON "built for aarch64, this machine is x86_64; not runnable here"

static const char *ckbench(void)
{
    const char *p = getenv("CK_CKBENCH");
    return p ? p : "build/bin/ckbench";
}

/* The cross-built plugin's path in `path`, or the test is skipped. */
static void find_cross_plugin(char *path, size_t len)
{
#if !defined(__x86_64__)
    (void)path;
    (void)len;
    cr_skip_test("this machine is not x86-64: the NEON plugin is native here, not a foreign one");
#else
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(path, len, "%s/build-aarch64/plugins/libck_neon.so", src ? src : ".");
    if (access(path, R_OK) != 0)
        cr_skip_test("no cross-built NEON plugin at %s; 'make test-neon' builds one", path);
#endif
}

Test(neon_listing, loader_refuses_foreign_plugin_with_the_reason)
{
    char path[PATH_MAX], err[CK_ERR_LEN];
    find_cross_plugin(path, sizeof path);
    ck_plugin *p = ck_plugin_load(path, err, sizeof err);
    cr_assert_null(p, "an aarch64 plugin must not load on x86-64");
    cr_assert(strstr(err, REASON) != NULL, "expected \"%s\" in \"%s\"", REASON, err);
    cr_assert(strstr(err, path) != NULL, "the message names the file: %s", err);
    cr_assert(strchr(err, '\n') == NULL, "one line: %s", err);
}

Test(neon_listing, ckbench_list_shows_it_as_not_runnable)
{
    char path[PATH_MAX];
    find_cross_plugin(path, sizeof path);
    /* Discovery, as a user would see it: the cross build's plugin directory
     * first in the search path. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    cr_assert_eq(setenv("CK_PLUGIN_PATH", dir, 1), 0);
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "'%s' list --brief 2>&1", ckbench());
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f, "cannot run %s", cmd);
    static char out[1 << 16];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int status = pclose(f);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ckbench list failed (%d): %s", status, out);
    const char *entry = strstr(out, path);
    cr_assert_not_null(entry, "ckbench list does not show %s:\n%s", path, out);
    const char *line_end = strchr(entry, '\n');
    cr_assert_not_null(line_end);
    /* the reason is printed on the line that follows the file name */
    const char *reason_line = line_end + 1;
    const char *reason_end = strchr(reason_line, '\n');
    size_t reason_len = reason_end ? (size_t)(reason_end - reason_line) : strlen(reason_line);
    char reason[1024];
    snprintf(reason, sizeof reason, "%.*s", (int)reason_len, reason_line);
    cr_assert(strstr(reason, REASON) != NULL, "expected \"%s\" under %s, got \"%s\"", REASON, path, reason);
}
