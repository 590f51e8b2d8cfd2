/* ckbench parity — placeholder until the parity gate (issue 3) lands. */
#include <stdio.h>

#include "commands.h"

int ck_cmd_parity(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ckbench parity: not built yet (issue 3)\n");
    return 2;
}
