/* op_list.h — `--op OP[,OP...]` for every command that takes it: one parser,
 * so an unknown op gets the same answer (with the known ops) everywhere. */
#ifndef CK_OP_LIST_H
#define CK_OP_LIST_H

#include <stddef.h>

#include "ck_host.h"

/* Sets on[op] = 1 for each op named in list. 0, or -1 with one line in err:
 * "--op: unknown op 'x'; known: rmsnorm, layernorm, ..." or an empty list. */
int ck_op_list_parse(const char *list, int on[CK_OP_COUNT], char *err, size_t err_len);

/* The inverse: the ops set in on, comma-separated, into buf (so one command
 * can hand its --op to another). 0 with "" when none is set; -1 when buf is
 * too short. */
int ck_op_list_format(const int on[CK_OP_COUNT], char *buf, size_t len);

#endif
