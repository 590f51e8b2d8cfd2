/* bench_guard.c — the warm-up call before a benchmark is timed, and the
 * guard around it. The first error of a kernel shows here; a kernel that
 * leaves the host state changed (floating-point control, a worker's state,
 * its exec context) is not timed, since every later benchmark would run
 * under it: the state is put back and the row says why. */
#include <stdio.h>
#include <string.h>

#include "bench_internal.h"

int bench_warm_up(ck_case *c, const ck_kernel_desc *k, const ck_exec_ctx *ctx, char *err, size_t err_len)
{
    ck_host_state fp;
    ck_exec_ctx saved = *ctx;
    ck_host_state_save(&fp);
    int status = ck_case_run(c, k, ctx);
    char what[300];
    int changed = ck_host_state_changed(&fp, what, sizeof what);
    char on_worker[200];
    if (ck_exec_workers_state_changed(ctx, on_worker, sizeof on_worker) && !changed) {
        changed = 1;
        snprintf(what, sizeof what, "%s", on_worker);
    }
    if (!changed && memcmp(ctx, &saved, sizeof saved) != 0) {
        changed = 1;
        snprintf(what, sizeof what, "wrote into its exec context");
    }
    if (changed) {
        ck_host_state_restore(&fp);
        memcpy((void *)ctx, &saved, sizeof saved); /* the host's own object */
        snprintf(err, err_len, "kernel %s %s (put back; not timed)", k->name, what);
        return -1;
    }
    if (status != CK_OK) {
        snprintf(err, err_len, "kernel %s returned %d (%s)", k->name, status,
                 status == CK_E_UNSUPPORTED ? "unsupported arguments" : "error");
        return -1;
    }
    return 0;
}
