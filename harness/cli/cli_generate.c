/* `ckbench run --generate M` (cli_generate.h): the decode loop the runtime
 * offers (ck_runner_generate), for a person: the token ids one line, then the
 * time per token. Kept out of cmd_run.c, which is about single forwards. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli_generate.h"

int cli_generate(ck_runner *r, const ck_exec_ctx *ctx, size_t start_pos, size_t n, size_t window)
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
