/* `ckbench run --generate M` (cli_run.h): its option, and the decode loop
 * the runtime offers (ck_runner_generate) in place of the forward, for a
 * person: the token ids one line, then the time per token. Kept out of
 * cmd_run.c, which is about single forwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_run.h"

/* Greedy generation of n tokens from start_pos on a decode runner: prepares
 * it, prints the ids, the time per token and tokens per second. 0; 1 when
 * a step failed; 2 when the last position is outside the context (said).
 * window: the run's --window (0: none); with one, the time spent paging
 * layers is said apart from computing. */
static int generate(ck_runner *r, const ck_exec_ctx *ctx, size_t start_pos, size_t n, size_t window)
{
    char err[CK_ERR_LEN];
    /* the last position first: a loop that cannot finish is refused before it starts */
    if (ck_runner_set_decode_pos(r, start_pos + n - 1, err, sizeof err)) {
        fprintf(stderr, "ckbench run: --generate %zu from %zu: %s\n", n, start_pos, err);
        return 2;
    }
    int32_t *ids = calloc(n, sizeof *ids);
    if (!ids || ck_runner_prepare(r, err, sizeof err)) {
        fprintf(stderr, "ckbench run: %s\n", ids ? err : "out of memory");
        free(ids);
        return 1;
    }
    struct timespec t0, t1;
    double paged0 = ck_runner_paging_ns(r);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = ck_runner_generate(r, ctx, start_pos, n, ids, NULL, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fprintf(stderr, "ckbench run: %s\n", err);
        free(ids);
        return 1;
    }
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("generated %zu tokens from position %zu (greedy):", n, start_pos);
    for (size_t i = 0; i < n; i++)
        printf(" %d", (int)ids[i]);
    printf("\ntime: %.3f ms per token, %.2f tokens/s, %d threads\n", 1e3 * s / (double)n, (double)n / s,
           ctx->n_threads);
    double paged = 1e-9 * (ck_runner_paging_ns(r) - paged0);
    if (window) /* every token walks the layers again: each is faulted in and seeded anew */
        printf("paging (--window %zu): %.3f ms per token faulting in, seeding and releasing layers, %.3f ms per "
               "token computing\n",
               window, 1e3 * paged / (double)n, 1e3 * (s - paged) / (double)n);
    free(ids);
    return 0;
}

int cli_generate_option(char **argv, int *i, run_cli *c)
{
    const char *v = argv[*i + 1];
    if (strcmp(argv[*i], "--generate") != 0)
        return 0;
    char *end;
    c->generate = strtoull(v, &end, 10);
    if (end == v || *end || v[0] == '-' || c->generate == 0) {
        fprintf(stderr, "ckbench run: --generate: expected a token count (1 or more), found '%s'\n", v);
        *i = -1;
        return 1;
    }
    c->decode = 1; /* generation is the decode loop */
    return 1;
}

int cli_run_generate(const run_cli *c, const loaded *l, ck_runner *r, const ck_exec_ctx *ctx)
{
    /* the generation loop runs the steps itself: no step hook, so no
     * patches or dumps there (--share still shows its steps) */
    if (c->patches.n || c->dump_glob) {
        fprintf(stderr, "ckbench run: --generate does not take --patch or --dump (they observe one forward)\n");
        return 2;
    }
    int status = generate(r, ctx, c->decode_pos, c->generate, c->window);
    if (status == 0 && l->chain.n > 1)
        cli_print_chain_counts(r, &l->chain);
    return status;
}
