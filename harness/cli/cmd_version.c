/* ckbench version (also `ckbench --version`): which ckbench this is, what it
 * was built from and with, the plugin ABI it loads, and the plugins it finds
 * with their versions: what a result needs to be traced back to its build.
 * Result files record the same facts (bench/results.c). */
#include <stdio.h>
#include <string.h>

#include "ck_host.h"
#include "cli_bench.h"
#include "commands.h"
#include "common/build_info.h"
#include "common/sysinfo.h"

static void print_plugins(void)
{
    char **paths = NULL;
    size_t n = ck_plugin_discover(&paths);
    printf("plugins (CK_PLUGIN_PATH, then %s): %zu\n", ck_plugin_default_dir(), n);
    for (size_t i = 0; i < n; i++) {
        char err[CK_ERR_LEN];
        ck_plugin *p = ck_plugin_load(paths[i], err, sizeof err);
        if (!p) {
            printf("  %-10s %-8s not loadable: %s\n", "?", "?", err);
            continue;
        }
        printf("  %-10s %-8s %-18s %s\n", p->desc->name, p->desc->version,
               p->runnable ? "runs here" : "does not run here", p->path);
        ck_plugin_unload(p);
    }
    ck_plugin_paths_free(paths, n);
}

int ck_cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: ckbench version   (or: ckbench --version)\n"
               "The ckbench version, the commit and flags it was built with, the plugin ABI version,\n"
               "and every plugin found with its version. Result files record the same.\n");
        return 0;
    }
    if (argc > 1)
        return cli_usage_error("ckbench version", "unexpected argument '%s'; it takes none", argv[1]);
    const char *march = ck_build_march(), *san = ck_build_sanitizers();
    printf("ckbench %s\n", ck_build_version());
    printf("  commit:     %s\n", ck_build_commit());
    printf("  compiler:   %s\n", ck_sys_compiler());
    printf("  CFLAGS:     %s\n", ck_build_cflags());
    printf("  -march:     %s\n", *march ? march : "(compiler default; plugins set their own ISA flags)");
    printf("  sanitizers: %s\n", *san ? san : "none");
    printf("  plugin ABI: %u\n", ck_build_abi_version());
    print_plugins();
    return 0;
}
