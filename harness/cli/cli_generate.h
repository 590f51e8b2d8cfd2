/* cli_generate.h — `ckbench run --generate M` (cli_generate.c). */
#ifndef CK_CLI_GENERATE_H
#define CK_CLI_GENERATE_H

#include <stddef.h>

#include "ck_run.h"

/* Greedy generation of n tokens from start_pos on a decode runner: prepares
 * it, prints the ids, the time per token and tokens per second. 0; 1 when
 * a step failed; 2 when the last position is outside the context (said).
 * window: the run's --window (0: none); with one, the time spent paging
 * layers is said apart from computing. */
int cli_generate(ck_runner *r, const ck_exec_ctx *ctx, size_t start_pos, size_t n, size_t window);

#endif
