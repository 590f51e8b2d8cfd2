/* ckbench: the harness's command line. Dispatches to a sub-command. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"list", ck_cmd_list, "plugins found, whether each runs here (or why not), and their kernels"},
    {"parity", ck_cmd_parity, "check plugins against the scalar reference (the CI gate)"},
    {"plan", ck_cmd_plan, "plan a model into one allocation; print the memory map, write layout.json"},
    {"bench", ck_cmd_bench, "benchmark every op of a model at its real shapes"},
    {"run", ck_cmd_run, "run the whole planned model through a plugin in its single allocation"},
    {"diverge", ck_cmd_diverge, "run scalar and a plugin side by side; name the first op that leaves tolerance"},
    {"train-step", ck_cmd_train_step, "train a tiny model a few steps on a fixed batch; the loss must fall"},
    {"fusion", ck_cmd_fusion, "fused vs unfused at model shapes: time per layer and bytes saved"},
    {"calibrate", ck_cmd_calibrate, "measure this machine's roofs (stream bandwidth, peak FMA rate)"},
    {"inspect", ck_cmd_inspect, "watch a --share'd run's tensors from another process, read-only"},
    {"diff", ck_cmd_diff, "compare two checkpoints or dump directories tensor by tensor"},
    {"report", ck_cmd_report, "merge result files into Markdown and a self-contained HTML page with charts"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ckbench <command> [options]\n"
               "       ckbench --plugin P --model M   (parity, then bench, then a report)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'ckbench <command> --help' describes each. Plugins are found by name in CK_PLUGIN_PATH\n"
               "(colon-separated) and next to the binary, or given as a path (./libmine.so).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (argv[1][0] == '-')
        return ck_cmd_headline(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ckbench: unknown command '%s'; run 'ckbench --help'\n", argv[1]);
    return 2;
}
