/* bench_pick.c — which kernel and which shape each benchmark runs.
 *
 * The scalar reference runs in the same process, same thread counts. At
 * full shape it is far too slow for the big GEMMs and attention of a real
 * model, so an instance whose flops exceed the budget is measured at a
 * reduced T and its time scaled by the flops ratio (linear in T for
 * everything but causal attention); the row records the T it was measured
 * at. */
#include "bench_internal.h"
#include "ck_cost.h"

/* The kernel for an instance: the plain one, else an in-place one (ck_case
 * then feeds it y == x, at the cost of a copy per call, which the row notes);
 * with compute bf16, the compute-bf16 one where the compute type applies
 * (none: the row says there is no kernel); only one that honours the
 * instance's window, softcap or rotary_dim (ck_shape_needs). */
const ck_kernel_desc *bench_pick_kernel(const ck_plugin *p, const ck_shape *s, ck_compute compute)
{
    uint32_t dtype = s->dtype ? s->dtype : CK_DTYPE_F32;
    uint32_t cflags = ck_compute_flags(compute, s->op, dtype), need = ck_shape_needs(s);
    const ck_kernel_desc *k = ck_plugin_kernel(p, s->op, dtype, cflags);
    if (!k && !cflags)
        k = ck_plugin_kernel(p, s->op, dtype, CK_KF_INPLACE);
    /* a kernel that does not read the window / cap / rotary_dim would be
     * timed on other work: as if it had none (the host rule) */
    return k && (k->flags & need) == need ? k : NULL;
}

/* Ops whose cost grows with T and that can be cut down along it. */
static int reducible(const ck_shape *s)
{
    return ck_case_has_rows(s->op) && s->T > 1;
}

static double work_of(const ck_shape *s)
{
    ck_cost c = ck_op_cost(s);
    return c.flops ? (double)c.flops : (double)c.bytes;
}

/* The shape scalar runs at: the instance itself when within budget, else the
 * same instance with fewer query rows. Causal attention keeps its last rows
 * (q_pos moves up) so each row still sees as many keys as the full one's tail. */
ck_shape bench_scalar_shape(const ck_shape *full, double budget)
{
    ck_shape s = *full;
    double w = work_of(full);
    if (!reducible(full) || w <= budget)
        return s;
    size_t t = (size_t)((double)full->T * budget / w);
    if (t < 1)
        t = 1;
    if (full->op == CK_OP_ATTENTION && full->causal)
        s.pos = full->pos + (full->T - t);
    s.T = t;
    return s;
}

/* Scalar's time at the full shape, from its measurement at it->shape. */
double bench_scaled_scalar_ns(const ck_bench_row *scalar_row, const ck_shape *full, const ck_shape *measured)
{
    if (scalar_row->time_ns <= 0)
        return 0.0;
    double wm = work_of(measured);
    return wm > 0 ? scalar_row->time_ns * work_of(full) / wm : scalar_row->time_ns;
}
