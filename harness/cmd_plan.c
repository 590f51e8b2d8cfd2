/* ckbench plan — placeholder until the planner (issue 4) lands. */
#include <stdio.h>

#include "commands.h"

int ck_cmd_plan(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ckbench plan: not built yet (issue 4)\n");
    return 2;
}
