/* ckbench list: every plugin found, whether it runs here, and its kernels. */
#include <stdio.h>
#include <string.h>

#include "ck_host.h"
#include "commands.h"

/* The tags of a kernel's flags, in the order `list` prints them. */
static const struct {
    uint32_t flag;
    const char *tag;
} tags[] = {
    {CK_KF_INPLACE, "in-place"},          {CK_KF_FUSED, "fused"},
    {CK_KF_COMPUTE_BF16, "compute-bf16"}, {CK_KF_ATTN_WINDOW_SOFTCAP, "window-softcap"},
    {CK_KF_ROPE_PARTIAL, "partial-rope"}, {CK_KF_ACT_DOWN_UNARY, "act-down-unary"},
};

/* Columns as wide as the plugin's longest op and kernel names, so that
 * the dtype and the tags line up whatever ops it has (quick_gelu_bwd is
 * 14 characters, a third-party kernel name may be anything). */
static void print_kernels(const ck_plugin *p)
{
    int op_w = 0, name_w = 0;
    for (uint32_t i = 0; i < p->n_kernels; i++) {
        int o = (int)strlen(ck_op_name(p->kernels[i].op)), n = (int)strlen(p->kernels[i].name);
        op_w = o > op_w ? o : op_w;
        name_w = n > name_w ? n : name_w;
    }
    for (uint32_t i = 0; i < p->n_kernels; i++) {
        const ck_kernel_desc *k = &p->kernels[i];
        char t[128] = "";
        for (size_t j = 0; j < sizeof tags / sizeof tags[0]; j++)
            if (k->flags & tags[j].flag)
                snprintf(t + strlen(t), sizeof t - strlen(t), " %s", tags[j].tag);
        /* no padding after the last column */
        printf("    %-*s %-5s %-*s%s\n", op_w, ck_op_name(k->op), ck_dtype_name(k->dtype), t[0] ? name_w : 0, k->name,
               t);
    }
}

int ck_cmd_list(int argc, char **argv)
{
    int verbose = 1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: ckbench list [--brief] [--plugin NAME|PATH]\n"
                   "Lists every plugin found in CK_PLUGIN_PATH and %s: file, name, version,\n"
                   "whether it runs on this machine (or why not), and its kernels (--brief: no kernels).\n",
                   ck_plugin_default_dir());
            return 0;
        } else if (strcmp(argv[i], "--brief") == 0) {
            verbose = 0;
        } else if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "ckbench list: unknown option '%s'; see 'ckbench list --help'\n", argv[i]);
            return 2;
        }
    }
    char **paths = NULL;
    char *one[1] = {(char *)only};
    size_t n = 0;
    if (only) {
        paths = one;
        n = 1;
    } else {
        n = ck_plugin_discover(&paths);
    }
    if (n == 0)
        printf("no plugins found in CK_PLUGIN_PATH or %s\n", ck_plugin_default_dir());
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char err[CK_ERR_LEN];
        ck_plugin *p = ck_plugin_load(paths[i], err, sizeof err);
        if (!p) {
            printf("%s\n  not loadable: %s\n", paths[i], err);
            bad = only != NULL;
            continue;
        }
        printf("%-10s %-8s %s\n  file: %s\n  %s\n", p->desc->name, p->desc->version,
               p->runnable ? "runs here" : "does not run here", p->path, p->desc->description);
        if (!p->runnable)
            printf("  why not: %s\n", p->why);
        printf("  kernels: %u\n", p->n_kernels);
        if (verbose)
            print_kernels(p);
        /* always shown: a skipped kernel is one the user may expect to run */
        for (uint32_t s = 0; s < p->n_skipped; s++)
            printf("  skipped: %s\n", s < 8 ? p->skipped[s] : "(more entries newer than this host)");
        ck_plugin_unload(p);
    }
    if (!only)
        ck_plugin_paths_free(paths, n);
    return bad ? 2 : 0;
}
