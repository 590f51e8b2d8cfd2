/* ckbench: the harness's command line. Dispatches to a sub-command. */
#include <stdio.h>
#include <string.h>

#include "ck_host.h"
#include "commands.h"

static void usage(FILE *f);

/* `ckbench help` alone is --help; with a command, its manual section. */
static int help_command(int argc, char **argv)
{
    if (argc == 1 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    return ck_cmd_help(argc, argv);
}

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
    {"inspect", ck_cmd_inspect, "watch a shared run's tensors from another process, read-only"},
    {"diff", ck_cmd_diff, "compare two checkpoints or dump directories tensor by tensor"},
    {"report", ck_cmd_report, "merge result files into Markdown and a self-contained HTML page with charts"},
    {"help", help_command, "a command's section of the manual (ckbench help bench); man ckbench"},
    {"version", ck_cmd_version, "version, commit and build flags, plugin ABI, the plugins found (also --version)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ckbench <command> [options]\n"
               "       ckbench --plugin P --model M   (parity, then bench, then a report)\n"
               "       ckbench --version\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n'ckbench <command> --help' gives its options, 'ckbench help <command>' its manual section\n"
            "(man ckbench). Plugins are found by name in CK_PLUGIN_PATH and next to the binary, or given\n"
            "as a path (./libmine.so).\n\n"
            "exit status:\n"
            "  0  ok\n"
            "  1  a check failed (parity, a report row slower than its baseline) or something did not run\n"
            "  2  bad usage or input: one line on stderr naming the file or option; nothing written\n\n"
            "environment:\n"
            "  CK_PLUGIN_PATH      colon-separated directories searched for plugins, before %s\n"
            "  CK_RESULTS_DIR      where bench and calibrate write result and roofs files (default: results)\n"
            "  CK_MODEL_PATH       colon-separated directories searched first for bare model names (--model llava)\n"
            "  CK_SPIN             polls a pool thread spins before it sleeps (default 1000; 0 on a busy machine)\n"
            "  CK_QUANT_ISA        the quant plugin's path: avx512vnni, avxvnni, avx2, neon or scalar (default: best "
            "here)\n"
            "  CK_COUNTERS         sw: bench and run count no hardware counters; none: no counters at all\n"
            "  CK_PROBE            0: bench does not measure the DRAM read around its cold rows\n"
            "  CK_LOAD_TIMEOUT_MS  how long a plugin may take to load in its trial child (default 10000)\n"
            "  CK_LOAD_IN_PROCESS  1: load plugins without the trial child first (for a debugger)\n"
            "  NO_COLOR            set and not empty: no colour, even on a terminal\n"
            "  TERM                dumb: no progress lines (they rewrite a line in place)\n"
            "  CK_PROGRESS         0: no progress on stderr; lines: one line every few seconds even on a terminal\n"
            "  CK_PROGRESS_SECONDS seconds between progress lines off a terminal (default 10)\n",
            ck_plugin_default_dir());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return ck_cmd_version(argc - 1, argv + 1);
    if (argv[1][0] == '-')
        return ck_cmd_headline(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ckbench: unknown command '%s'; run 'ckbench --help'\n", argv[1]);
    return 2;
}
