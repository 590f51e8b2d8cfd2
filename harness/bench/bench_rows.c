/* bench_rows.c — a plugin's rows from what ran: the shim's result, the
 * cost at the full shape, the counters, the scalar reference's time and the
 * speedup over it, the roof. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_internal.h"
#include "bench_shim.h"
#include "ck_cost.h"

#if CK_WITH_BENCH /* the shim is built only then */

int bench_is_scalar_name(const char *name)
{
    return strcmp(name, "scalar") == 0;
}

void bench_fill_row(ck_bench_row *r, const bench_item *it, const ck_shape *full, const ck_plugin *p)
{
    memset(r, 0, sizeof *r);
    for (int c = 0; c < CK_CTR_COUNT; c++)
        r->counters[c] = NAN;
    r->cv = -1.0;
    r->thread_use = NAN;
    ck_shape_describe(full, r->shape, sizeof r->shape);
    snprintf(r->label, sizeof r->label, "%s", full->label);
    r->op = full->op;
    r->threads = it->ctx->n_threads;
    r->phase = it->phase;
    r->cache = it->cold ? "cold" : "hot";
    ck_cost cost = ck_op_cost(full);
    r->bytes = (double)cost.bytes;
    r->flops = (double)cost.flops;
    r->written = (double)cost.written;
    r->updated = (double)cost.updated;
    r->intensity = ck_cost_intensity(cost);
    if (!it->kernel) {
        snprintf(r->status, sizeof r->status, "no kernel: plugin %s has no %s/%s kernel", p->desc->name,
                 ck_op_name(full->op), ck_dtype_name(full->dtype ? full->dtype : CK_DTYPE_F32));
        return;
    }
    snprintf(r->kernel, sizeof r->kernel, "%s", it->kernel->name);
    ckb_result res;
    if (ckb_get_result(it->id, &res) != 0) {
        snprintf(r->status, sizeof r->status, "not run");
        return;
    }
    snprintf(r->name, sizeof r->name, "%s", res.name);
    if (res.error) {
        snprintf(r->status, sizeof r->status, "error: %s", res.error_message);
        return;
    }
    r->time_ns = res.real_time_ns;
    r->iterations = (double)res.iterations;
    /* from the time (GB/s = bytes per ns): the same for real and manual time */
    r->gbs = r->time_ns > 0 ? r->bytes / r->time_ns : 0;
    r->gflops = r->time_ns > 0 ? r->flops / r->time_ns : 0;
    r->copies = it->n_copies;
    r->apart_ns[0] = it->apart_ns[0];
    r->apart_ns[1] = it->apart_ns[1];
    r->case_bytes = it->case_bytes;
    r->compute_bf16 = (it->kernel->flags & CK_KF_COMPUTE_BF16) != 0;
    r->cv = res.cv;
    for (int c = 0; c < CK_CTR_COUNT; c++)
        r->counters[c] = res.counters[c];
    /* last-level traffic from the shim's LLC-miss count (per timed
     * iteration, all threads); 0 where the hardware set was not counted */
    if (!isnan(r->counters[CK_CTR_LLC_MISSES])) {
        long line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
        r->traffic_bytes = r->counters[CK_CTR_LLC_MISSES] * (double)(line > 0 ? line : 64);
    }
    ck_bench_row_judge(r);
}

/* The scalar reference's row, restated for the full shape (scalar listed as
 * a plugin: its figure is the measured or scaled time of the full shape). */
static void scalar_row_at_full_shape(ck_bench_row *r, const ck_bench_row *measured, const ck_shape *full,
                                     const ck_shape *ran)
{
    ck_cost cost = ck_op_cost(full);
    *r = *measured;
    ck_shape_describe(full, r->shape, sizeof r->shape);
    r->scalar_T = ran->T;
    r->scalar_scaled = ran->T != full->T;
    r->scalar_ns = bench_scaled_scalar_ns(measured, full, ran);
    r->time_ns = r->scalar_ns;
    r->bytes = (double)cost.bytes;
    r->flops = (double)cost.flops;
    r->written = (double)cost.written;
    r->updated = (double)cost.updated;
    r->intensity = ck_cost_intensity(cost);
    r->gbs = r->time_ns > 0 ? r->bytes / r->time_ns : 0;
    r->gflops = r->time_ns > 0 ? r->flops / r->time_ns : 0;
    r->speedup = r->time_ns > 0 ? 1.0 : 0.0;
    if (r->scalar_scaled) /* counted at the reduced shape: they say nothing of this one */
        for (int c = 0; c < CK_CTR_COUNT; c++)
            r->counters[c] = NAN;
    ck_bench_row_judge(r);
}

/* Rows of a plugin from its run set; returns 1 if any row was not measured. */
int bench_make_rows(const bench_env *e, const ck_plugin *p, const run_set *rs, int scalar_itself,
                    ck_bench_plugin_result *pr)
{
    const scalar_ref *sr = e->sr;
    pr->rows = calloc(rs->n ? rs->n : 1, sizeof *pr->rows);
    pr->n_rows = pr->rows ? rs->n : 0;
    int incomplete = !pr->rows;
    int isa = ck_isa_for_plugin(pr->plugin);
    for (size_t i = 0; i < pr->n_rows; i++) {
        const ck_shape *full = &e->vars[i / (size_t)e->cs->n].shape;
        ck_bench_row *r = &pr->rows[i];
        if (scalar_itself) {
            scalar_row_at_full_shape(r, &sr->rows[i], full, &rs->items[i].shape);
        } else {
            bench_fill_row(r, &rs->items[i], full, p);
            if (sr->rows) {
                r->scalar_T = sr->rs.items[i].shape.T;
                r->scalar_scaled = r->scalar_T != full->T;
                r->scalar_ns = bench_scaled_scalar_ns(&sr->rows[i], full, &sr->rs.items[i].shape);
                r->speedup = r->scalar_ns > 0 && r->time_ns > 0 ? r->scalar_ns / r->time_ns : 0.0;
            }
        }
        if (e->out->have_roofs)
            ck_roofline_apply(r, &e->out->roofs, isa, full->dtype);
        incomplete |= r->time_ns <= 0;
    }
    return incomplete;
}

/* Benchmarks that finished with a time: the reference's and each plugin's
 * (scalar in the list is the reference run, counted once). */
size_t bench_count_measured(const ck_bench_outcome *out, const scalar_ref *sr)
{
    size_t n = 0;
    for (size_t i = 0; sr->rows && i < sr->rs.n; i++)
        n += sr->rows[i].time_ns > 0;
    for (int p = 0; p < out->n_plugins; p++)
        for (size_t i = 0; !bench_is_scalar_name(out->plugins[p].plugin) && i < out->plugins[p].n_rows; i++)
            n += out->plugins[p].rows[i].time_ns > 0;
    return n;
}

#endif /* CK_WITH_BENCH */
