/* cli_run.h — `ckbench run` (cmd_run.c) and `ckbench diverge`
 * (cmd_diverge.c): the options and loading they share (cli_run.c), run's
 * observation options (cli_observe.c) and its generation loop
 * (cli_generate.c). */
#ifndef CK_CLI_RUN_H
#define CK_CLI_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "ck_ir.h"
#include "ck_run.h"
#include "common/progress.h"
#include "inspect/dump.h"
#include "inspect/patch.h"

typedef struct run_cli {
    const char *plugin, *model, *tokens_arg, *weights, *gguf;
    uint32_t weight_dtype;
    uint32_t compute; /* ck_compute */
    uint32_t fuse;
    int decode;
    size_t decode_pos;
    int threads;
    size_t window;
    uint64_t seed;
    int32_t *tokens;
    size_t n_tokens;
    const char *dump_glob, *dump_dir, *share; /* issue 22: observing a run */
    ck_patch_set patches;
    size_t generate; /* run --generate M: tokens to generate greedily (cli_generate.c) */
} run_cli;

typedef struct loaded {
    ck_model *model;
    ck_chain chain;             /* --plugin P or P1+P2+... */
    ck_plugin *plugin, *scalar; /* the chain's first, and scalar */
} loaded;

/* cli_run.c */
int cli_run_usage(const char *cmd, FILE *f);
/* 0, 1 for --help, -1 when bad (said in one line) */
int cli_run_parse(int argc, char **argv, run_cli *c);
int cli_run_load(const run_cli *c, loaded *l);
void cli_run_unload(loaded *l);
/* The runner options the command line gave, all but --fuse (diverge's
 * reference runs unfused). */
ck_run_opts cli_run_opts(const run_cli *c);
ck_runner *cli_run_runner(const loaded *l, const ck_run_opts *o, char *err, size_t len);
void cli_print_chain_counts(const ck_runner *r, const ck_chain *ch);
/* The same line from counts made by cli_count_kernel: counts[p] for plugin
 * p of the chain, counts[ch->n] for scalar standing in (train-step counts
 * its loss, backward and Adam ops too). */
void cli_count_kernel(const ck_chain *ch, const char *by, int fallback, size_t counts[CK_CHAIN_MAX + 1]);
void cli_print_kernel_counts(const ck_chain *ch, const size_t counts[CK_CHAIN_MAX + 1]);
uint64_t cli_digest(const float *p, size_t n);
void cli_print_fusions(const ck_runner *r, uint32_t requested, const ck_plugin *p, const ck_model *m);

/* cli_observe.c: --dump GLOB DIR, --share NAME, --patch SPEC: 1 if argv[*i]
 * is one of them (consumed; *i < 0 after a bad one, said in one line),
 * else 0. */
int cli_observe_option(int argc, char **argv, int *i, run_cli *c);
/* What run's step hook does: progress, then any --patch. */
typedef struct run_hook {
    ck_progress *prog;
    ck_patch_set *patches;
} run_hook;
int cli_run_step_hook(void *user, ck_runner *r, size_t step);
float *cli_observe_baseline(ck_runner *r, const ck_exec_ctx *ctx, char *err, size_t len);
void cli_print_moved(const ck_patch_set *ps, const float *base, const float *y, size_t n);
int cli_print_dump(const run_cli *c, ck_runner *r, ck_dump_opts *o);

/* cli_generate.c: --generate M, as cli_observe_option; and run's
 * generation loop in place of the forward (0, 1 failed, 2 refused: said). */
int cli_generate_option(char **argv, int *i, run_cli *c);
int cli_run_generate(const run_cli *c, const loaded *l, ck_runner *r, const ck_exec_ctx *ctx);

#endif /* CK_CLI_RUN_H */
