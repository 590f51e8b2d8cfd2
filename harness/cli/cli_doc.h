/* cli_doc.h — docs/cli.md's section of each command, as plain text, for
 * `ckbench help COMMAND`. The table is generated at build time from
 * docs/cli.md by scripts/clidoc.awk (the same script renders the manual page
 * ckbench(1)), so help, manual and docs cannot drift apart. */
#ifndef CK_CLI_DOC_H
#define CK_CLI_DOC_H

typedef struct ck_cli_doc {
    const char *name; /* "bench"; "headline" for `ckbench --plugin P --model M` */
    const char *text; /* its heading line, then its section */
} ck_cli_doc;

extern const ck_cli_doc ck_cli_docs[];
extern const unsigned long ck_cli_docs_count;

#endif
