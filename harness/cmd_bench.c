/* ckbench bench / calibrate / headline — placeholders until issue 5 lands. */
#include <stdio.h>

#include "commands.h"

int ck_cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ckbench bench: not built yet (issue 5)\n");
    return 2;
}

int ck_cmd_calibrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ckbench calibrate: not built yet (issue 5)\n");
    return 2;
}

int ck_cmd_headline(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ckbench: the headline run is not built yet (issue 5)\n");
    return 2;
}
