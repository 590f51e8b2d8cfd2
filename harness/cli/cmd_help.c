/* ckbench help COMMAND: the command's section of docs/cli.md, which is also
 * its section of the manual page (cli_doc.h says how). */
#include <stdio.h>
#include <string.h>

#include "cli_doc.h"
#include "commands.h"

int ck_cmd_help(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "ckbench help: expected one command name (ckbench help bench); see 'ckbench --help'\n");
        return 2;
    }
    for (unsigned long i = 0; i < ck_cli_docs_count; i++)
        if (strcmp(ck_cli_docs[i].name, argv[1]) == 0) {
            fputs(ck_cli_docs[i].text, stdout);
            return 0;
        }
    fprintf(stderr, "ckbench help: no command '%s'; documented:", argv[1]);
    for (unsigned long i = 0; i < ck_cli_docs_count; i++)
        fprintf(stderr, " %s", ck_cli_docs[i].name);
    fprintf(stderr, "\n");
    return 2;
}
