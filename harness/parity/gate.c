/* gate.c — the parity gate (gate.h): every kernel of every plugin against
 * the scalar reference on the same seeded inputs, each run in a forked child
 * (parity_child.c), judged by parity_check.c, reported by parity_report.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/term.h"
#include "gate.h"
#include "common/progress.h"
#include "parity.h"

#define MAX_TARGETS 32
#define MAX_REF_KERNELS 4
#define MAX_TIMEOUTS_PER_KERNEL CK_GATE_MAX_TIMEOUTS_PER_KERNEL
#define MAX_HUNG 64

typedef ck_gate_opts options;

/* Per kernel: whether a case came up for it, and the two cases whose call
 * with nothing to do the gate makes (check_empty): the first it passed and
 * the largest, where a kernel that picks a path by size (blocked, packed,
 * prefetching) takes another than on the first. */
typedef struct kernel_seen {
    int tried;               /* some case of its op and dtype came up (in any shard) */
    size_t first_si, big_si; /* SIZE_MAX: none passed */
    size_t first_bytes, big_bytes;
} kernel_seen;

typedef struct target {
    ck_plugin *p;
    int owned; /* 0 when it is the reference object itself */
    kernel_seen *seen;
} target;

typedef struct gate {
    options o;
    ck_plugin *ref;
    target targets[MAX_TARGETS];
    size_t n_targets;
    char notes[2048]; /* plugins skipped and why, for the JSON */
    ck_parity_result *results;
    size_t n_results, cap_results;
    ck_parity_dump *dump;
    ck_progress progress;                 /* k of N shapes on stderr */
    int threads;                          /* the kernels' threads: --threads, or every CPU but at least 2 */
    const ck_kernel_desc *hung[MAX_HUNG]; /* kernels that timed out, and how often */
    int hung_count[MAX_HUNG];
    size_t n_hung;
} gate;

static int bad(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "ckbench parity: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

/* ---- plugins ------------------------------------------------------------------------------- */

static void note(gate *g, const char *fmt, const char *a, const char *b)
{
    char line[600];
    snprintf(line, sizeof line, fmt, a, b);
    printf("%s\n", line);
    size_t l = strlen(g->notes);
    snprintf(g->notes + l, sizeof g->notes - l, "%s%s", l ? "; " : "", line);
}

static void add_target(gate *g, ck_plugin *p)
{
    int owned = 1;
    if (p->desc == g->ref->desc) { /* --plugin scalar: the reference against itself */
        ck_plugin_unload(p);
        p = g->ref;
        owned = 0;
    }
    kernel_seen *seen = calloc(p->n_kernels + 1, sizeof *seen);
    if (!seen) {
        fprintf(stderr, "ckbench parity: out of memory\n");
        exit(2);
    }
    target *t = &g->targets[g->n_targets++];
    t->p = p;
    t->owned = owned;
    t->seen = seen;
    for (uint32_t i = 0; i < p->n_kernels; i++)
        seen[i].first_si = seen[i].big_si = SIZE_MAX;
}

static int load_plugins(gate *g)
{
    char err[CK_ERR_LEN];
    g->ref = ck_plugin_load("scalar", err, sizeof err);
    if (!g->ref)
        return bad("reference plugin: %s%s", err, "");
    if (strcmp(g->o.plugin, "all") != 0) {
        ck_plugin *p = ck_plugin_load(g->o.plugin, err, sizeof err);
        if (!p)
            return bad("%s%s", err, "");
        if (!p->runnable) {
            note(g, "plugin '%s' skipped: %s", p->desc->name, p->why);
            ck_plugin_unload(p);
            return 0;
        }
        add_target(g, p);
        return 0;
    }
    char **paths = NULL;
    size_t n = ck_plugin_discover(&paths);
    for (size_t i = 0; i < n && g->n_targets < MAX_TARGETS; i++) {
        ck_plugin *p = ck_plugin_load(paths[i], err, sizeof err);
        if (!p) {
            note(g, "skipped %s%s", err, "");
        } else if (p->desc == g->ref->desc || !strcmp(p->desc->name, "scalar")) {
            note(g, "skipped '%s': it is the reference%s", p->desc->name, "");
            ck_plugin_unload(p);
        } else if (!p->runnable) {
            note(g, "skipped '%s': %s", p->desc->name, p->why);
            ck_plugin_unload(p);
        } else {
            add_target(g, p);
        }
    }
    ck_plugin_paths_free(paths, n);
    return 0;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static ck_parity_result *new_result(gate *g, size_t shape_index, const ck_parity_shape *ps, const char *plugin,
                                    const char *kernel)
{
    if (g->n_results == g->cap_results) {
        size_t cap = g->cap_results ? 2 * g->cap_results : 256;
        ck_parity_result *v = realloc(g->results, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "ckbench parity: out of memory\n");
            exit(2);
        }
        g->results = v;
        g->cap_results = cap;
    }
    ck_parity_result *r = &g->results[g->n_results++];
    memset(r, 0, sizeof *r);
    r->shape_index = shape_index;
    ck_parity_describe(ps, r->shape_desc, sizeof r->shape_desc);
    snprintf(r->label, sizeof r->label, "%s", ps->shape.label);
    snprintf(r->note, sizeof r->note, "%s", ps->note);
    snprintf(r->plugin, sizeof r->plugin, "%s", plugin);
    snprintf(r->kernel, sizeof r->kernel, "%s", kernel ? kernel : "");
    r->exact = ck_op_tolerance(ps->shape.op, ps->shape.dtype).cls == CK_PARITY_EXACT;
    return r;
}

static void show(gate *g, const ck_parity_result *r)
{
    ck_progress_clear(&g->progress);
    ck_parity_print_row(r);
    fflush(stdout);
}

/* The reference run for kernel k's flags, computed once per shape. */
typedef struct ref_cache {
    const ck_kernel_desc *k[MAX_REF_KERNELS];
    ck_run_outcome out[MAX_REF_KERNELS];
    size_t n;
} ref_cache;

static const ck_run_outcome *reference_for(gate *g, ck_case *c, const ck_kernel_desc *k, ref_cache *rc)
{
    const ck_kernel_desc *rk = ck_plugin_kernel(g->ref, k->op, k->dtype, k->flags);
    /* a compute type changes the semantics: never judged by the f32 one */
    if (!rk && !(k->flags & CK_KF_COMPUTE_BF16))
        rk = ck_plugin_kernel(g->ref, k->op, k->dtype, 0);
    if (!rk)
        return NULL;
    for (size_t i = 0; i < rc->n; i++)
        if (rc->k[i] == rk)
            return &rc->out[i];
    if (rc->n == MAX_REF_KERNELS)
        return NULL;
    rc->k[rc->n] = rk;
    ck_run_outcome *o = &rc->out[rc->n++];
    ck_parity_run_isolated(c, rk, g->threads, CK_RUN_KEEP_SCRATCH, g->o.timeout, o);
    if (o->state == CK_RUN_DONE && o->kernel_rc == CK_OK)
        o->bounds = ck_error_bounds(c, o);
    return o;
}

/* "T=2048" (or "n=...") from a reduced note "T=8 of 2048". */
static void full_size(const ck_parity_shape *ps, char *buf, size_t len)
{
    char what[8] = "T";
    size_t cut = 0, full = 0;
    if (sscanf(ps->note, "%7[^=]=%zu of %zu", what, &cut, &full) == 3)
        snprintf(buf, len, "%s=%zu", what, full);
    else
        snprintf(buf, len, "T=%zu", ps->full.T);
}

/* A failure the outputs' values decided (not a crash, a fault, a hang). */
static int wrong_outputs(const ck_parity_result *r)
{
    static const char *const reasons[] = {"mismatch", "nan", "inf", "unwritten"};
    for (size_t i = 0; r->verdict == CK_FAIL && i < sizeof reasons / sizeof reasons[0]; i++)
        if (!strcmp(r->reason, reasons[i]))
            return 1;
    return 0;
}

/* Wrong outputs after the run on other values first (CK_RUN_CHECK_STALE):
 * if the same checks without that run pass, say that the kernel keeps
 * state between calls, not that its arithmetic is wrong. Only failing
 * cases pay for the second child. */
static void check_stale(gate *g, ck_case *c, const ck_run_outcome *ref, const ck_kernel_desc *k, ck_parity_result *r)
{
    if (!wrong_outputs(r))
        return;
    ck_run_outcome alone;
    ck_parity_result once = *r;
    ck_parity_run_isolated(c, k, g->threads, CK_RUN_CHECK_THREADS | CK_RUN_CHECK_GUARDS, g->o.timeout, &alone);
    ck_parity_judge(c, ref, &alone, &once);
    if (once.verdict == CK_PASS) {
        r->reason = "stale-state";
        snprintf(r->detail, sizeof r->detail,
                 "stale state (plugin '%s', kernel '%s', %s): right when called once, wrong after a call on other "
                 "values in the same buffers (its inputs negated): what it derived from an earlier call's inputs "
                 "(a packed W found again by its address) outlives them",
                 r->plugin, r->kernel, r->shape_desc);
    }
    ck_run_outcome_free(&alone);
}

/* A kernel that declines a model's instance is a silent fallback in `run`:
 * at the reduced rows (the case it was run on), or at the model's own size,
 * offered on an unbacked case (no reference, no memory: a kernel that takes
 * the shape faults at once, one that declines returns first). */
static void check_declines(gate *g, const ck_parity_shape *ps, ck_case *full, const ck_kernel_desc *k,
                           ck_parity_result *r)
{
    if (!ps->from_model)
        return;
    char size[48], what[400];
    if (r->verdict == CK_SKIP && !strcmp(r->reason, "unsupported")) {
        snprintf(size, sizeof size, "T=%zu", ps->n_members ? ps->members[0].T : ps->shape.T);
        snprintf(what, sizeof what, "returned CK_E_UNSUPPORTED for an instance of the model, at %s%s%s", size,
                 ps->note[0] ? ", rows reduced: " : "", ps->note);
    } else if (r->verdict == CK_PASS && full) {
        ck_run_outcome o;
        ck_parity_run_isolated(full, k, g->threads, CK_RUN_PROBE, g->o.timeout, &o);
        int rc = o.state == CK_RUN_DONE ? o.kernel_rc : CK_OK;
        ck_run_outcome_free(&o);
        if (rc == CK_OK)
            return;
        full_size(ps, size, sizeof size);
        if (rc == CK_E_UNSUPPORTED)
            snprintf(what, sizeof what,
                     "declined at %s, the model's size (CK_E_UNSUPPORTED; it passed at the reduced %s): `run` would "
                     "fall back to another kernel",
                     size, ps->note);
        else
            snprintf(what, sizeof what, "returned status %d at %s, the model's size (it passed at the reduced %s)", rc,
                     size, ps->note);
    } else {
        return;
    }
    r->verdict = CK_FAIL;
    r->reason = "declined";
    snprintf(r->detail, sizeof r->detail, "declined (plugin '%s', kernel '%s', %s): %s", r->plugin, r->kernel,
             r->shape_desc, what);
}

/* 1 when the kernel took the case (CK_OK) and passed it. */
static int check_kernel(gate *g, size_t si, const ck_parity_shape *ps, ck_case *c, ck_case *full, const ck_plugin *p,
                        const ck_kernel_desc *k, ref_cache *rc)
{
    ck_parity_result *r = new_result(g, si, ps, p->desc->name, k->name);
    r->kernel_flags = k->flags;
    if (k->flags & CK_KF_COMPUTE_BF16) /* the table shows which of the two kernels a row is */
        snprintf(r->note, sizeof r->note, "%s%scompute bf16", ps->note, ps->note[0] ? ", " : "");
    const ck_run_outcome *ref = reference_for(g, c, k, rc);
    if (!ref) {
        r->verdict = CK_SKIP;
        r->reason = "no-reference";
        snprintf(r->detail, sizeof r->detail, "skipped: the scalar reference has no %s %s kernel",
                 ck_dtype_name(ps->shape.dtype), ck_op_name(ps->shape.op));
        return 0;
    }
    uint32_t need = ck_args_needs(k->op, ck_case_args(c));
    if (!ck_kernel_honours(k, ck_case_args(c))) { /* the host rule: `run` hands this call to scalar's kernel */
        r->verdict = CK_SKIP;
        r->reason = "not-claimed";
        /* act_down's kinds: the fusion pass does not form such a group for
         * this plugin (ck_fusion.h), its members run instead */
        snprintf(r->detail, sizeof r->detail, "not claimed: %s %s kernels without %s (%s)",
                 ck_dtype_name(ps->shape.dtype), ck_op_name(ps->shape.op), ck_capability_name(need),
                 need == CK_KF_ACT_DOWN_UNARY ? "run leaves such groups unfused" : "run uses scalar's");
        return 0;
    }
    size_t h = 0;
    while (h < g->n_hung && g->hung[h] != k)
        h++;
    if (h < g->n_hung && g->hung_count[h] >= MAX_TIMEOUTS_PER_KERNEL) {
        r->verdict = CK_FAIL;
        r->reason = "timeout";
        snprintf(r->detail, sizeof r->detail,
                 "hang (plugin '%s', kernel '%s', %s): not run, it timed out %d times "
                 "already",
                 r->plugin, r->kernel, r->shape_desc, MAX_TIMEOUTS_PER_KERNEL);
        show(g, r);
        return 0;
    }
    ck_run_outcome got;
    ck_parity_run_isolated(c, k, g->threads, CK_RUN_CHECK_STALE | CK_RUN_CHECK_THREADS | CK_RUN_CHECK_GUARDS,
                           g->o.timeout, &got);
    ck_parity_judge(c, ref, &got, r);
    check_stale(g, c, ref, k, r);
    check_declines(g, ps, full, k, r);
    if (got.state == CK_RUN_TIMED_OUT && (h < g->n_hung || g->n_hung < MAX_HUNG)) {
        if (h == g->n_hung)
            g->hung[g->n_hung++] = k;
        g->hung_count[h]++;
    }
    show(g, r);
    if (g->dump) {
        char err[CK_ERR_LEN];
        if (ck_parity_dump_case(g->dump, c, si, ref, &got, r, err, sizeof err) != 0) {
            fprintf(stderr, "ckbench parity: --dump: %s (dumping stopped)\n", err);
            ck_parity_dump_close(g->dump, err, sizeof err);
            g->dump = NULL;
        }
    }
    int took = r->verdict == CK_PASS && got.state == CK_RUN_DONE && got.kernel_rc == CK_OK;
    ck_run_outcome_free(&got);
    return took;
}

/* A zero count that leaves every output empty is a successful no-op that
 * touches no pointer (docs/ops.md; a host may batch no rows): for the
 * first and the largest case a kernel took and passed (kernel_seen), that
 * case's call with its rows (or elements) at 0, on buffers with no memory
 * behind them. */
static void check_empty(gate *g, size_t si, const ck_parity_shape *ps, const ck_plugin *p, const ck_kernel_desc *k)
{
    char err[CK_ERR_LEN];
    int want;
    ck_case *c = ck_case_create_unbacked(&ps->shape, ps->members, ps->n_members, err, sizeof err);
    if (!c || ck_case_make_empty(c, &want) != 0 || ck_op_check_args(k->op, ck_case_args(c), err, sizeof err) != 0) {
        ck_case_free(c);
        return; /* no empty form the host would hand a kernel */
    }
    ck_parity_shape empty = *ps;
    empty.shape = *ck_case_shape(c);
    for (size_t m = 0; m < ps->n_members; m++)
        empty.members[m] = *ck_case_member(c, m);
    empty.note[0] = '\0';
    ck_parity_result *r = new_result(g, si, &empty, p->desc->name, k->name);
    snprintf(r->note, sizeof r->note, "nothing to do");
    r->nothing_to_do = 1;
    ck_run_outcome o;
    ck_parity_run_isolated(c, k, g->threads, CK_RUN_PROBE, g->o.timeout, &o);
    if (o.state == CK_RUN_DONE && o.kernel_rc == want) {
        r->verdict = CK_PASS;
        r->reason = "pass";
        snprintf(r->detail, sizeof r->detail, "pass: a no-op, status %d", want);
    } else {
        r->verdict = CK_FAIL;
        r->reason = "empty-not-noop";
        char what[300];
        if (o.state == CK_RUN_DONE)
            snprintf(what, sizeof what, "returned status %d, where a zero count is %s", o.kernel_rc,
                     want == CK_OK ? "a successful no-op (CK_OK)" : "declined (CK_E_UNSUPPORTED)");
        else if (o.state == CK_RUN_CRASHED)
            snprintf(what, sizeof what,
                     "touched memory with nothing to do (signal %d; its buffers have none behind them)", o.signal);
        else
            snprintf(what, sizeof what, "%.200s", o.state == CK_RUN_TIMED_OUT ? "did not return" : o.error);
        snprintf(r->detail, sizeof r->detail, "empty-not-noop (plugin '%s', kernel '%s', %s): %s", r->plugin, r->kernel,
                 r->shape_desc, what);
    }
    ck_run_outcome_free(&o);
    ck_case_free(c);
    show(g, r);
}

/* Kernel k is one the gate checks for this shape: same op and dtype, and
 * of the asked compute type where one applies. */
static int kernel_wanted(const gate *g, const ck_kernel_desc *k, const ck_shape *s)
{
    if (k->op != s->op || k->dtype != s->dtype)
        return 0;
    return !g->o.compute_only || !ck_compute_applies(k->op, k->dtype) || ck_kernel_compute(k) == g->o.compute;
}

static void check_shape(gate *g, size_t si, const ck_parity_shape *ps)
{
    const ck_shape *s = &ps->shape;
    int offered = 0;
    for (size_t t = 0; t < g->n_targets; t++) {
        const ck_plugin *p = g->targets[t].p;
        int any = 0;
        for (uint32_t i = 0; i < p->n_kernels; i++)
            any |= kernel_wanted(g, &p->kernels[i], s);
        if (!any) {
            ck_parity_result *r = new_result(g, si, ps, p->desc->name, NULL);
            r->verdict = CK_SKIP;
            r->reason = "not-offered";
            snprintf(r->detail, sizeof r->detail, "not offered: no %s %s kernel%s", ck_dtype_name(s->dtype),
                     ck_op_name(s->op),
                     g->o.compute_only && ck_compute_applies(s->op, s->dtype) && g->o.compute == CK_COMPUTE_BF16
                         ? " with compute bf16"
                         : "");
        }
        offered |= any;
    }
    if (!offered)
        return;
    char err[CK_ERR_LEN];
    ck_case *c = ck_parity_case(ps, g->o.seed, err, sizeof err);
    if (!c) {
        ck_parity_result *r = new_result(g, si, ps, "-", NULL);
        r->verdict = CK_FAIL;
        r->reason = "harness-error";
        snprintf(r->detail, sizeof r->detail, "cannot build the case: %s", err);
        show(g, r);
        return;
    }
    ck_case *full = ck_parity_full_case(ps, err, sizeof err);
    ref_cache rc = {0};
    for (size_t t = 0; t < g->n_targets; t++) {
        const ck_plugin *p = g->targets[t].p;
        for (uint32_t i = 0; i < p->n_kernels; i++) {
            const ck_kernel_desc *k = &p->kernels[i];
            if (!kernel_wanted(g, k, s))
                continue;
            kernel_seen *ks = &g->targets[t].seen[i];
            ks->tried = 1;
            if (!check_kernel(g, si, ps, c, full, p, k, &rc))
                continue;
            size_t bytes = ck_case_bytes(c);
            if (ks->first_si == SIZE_MAX) {
                ks->first_si = si;
                ks->first_bytes = bytes;
                check_empty(g, si, ps, p, k);
            } else if (bytes > ks->first_bytes && bytes > ks->big_bytes) {
                ks->big_si = si;
                ks->big_bytes = bytes;
            }
        }
    }
    for (size_t i = 0; i < rc.n; i++)
        ck_run_outcome_free(&rc.out[i]);
    ck_case_free(c);
    ck_case_free(full);
}

/* Each kernel's call with nothing to do on its largest passing case too,
 * where that is larger than its first (see kernel_seen). */
static void check_empty_largest(gate *g, const ck_parity_shape *shapes)
{
    for (size_t t = 0; t < g->n_targets; t++) {
        const ck_plugin *p = g->targets[t].p;
        for (uint32_t i = 0; i < p->n_kernels; i++)
            if (g->targets[t].seen[i].big_si != SIZE_MAX)
                check_empty(g, g->targets[t].seen[i].big_si, &shapes[g->targets[t].seen[i].big_si], p, &p->kernels[i]);
    }
}

/* Kernels no case came up for (an op ck_case cannot build, or an op and
 * dtype the suite has no instance of) are listed as skipped, so that a gap
 * in the gate is visible rather than silent. */
static void add_unchecked_kernels(gate *g)
{
    for (size_t t = 0; t < g->n_targets; t++) {
        const ck_plugin *p = g->targets[t].p;
        for (uint32_t i = 0; i < p->n_kernels; i++) {
            const ck_kernel_desc *k = &p->kernels[i];
            if (g->targets[t].seen[i].tried || !g->o.op_on[k->op])
                continue;
            if (g->o.compute_only && ck_compute_applies(k->op, k->dtype) && ck_kernel_compute(k) != g->o.compute)
                continue; /* not asked for (--compute) */
            ck_parity_shape ps = {.shape = {.op = k->op, .dtype = k->dtype}};
            ck_parity_result *r = new_result(g, (size_t)-1, &ps, p->desc->name, k->name);
            snprintf(r->shape_desc, sizeof r->shape_desc, "%s %s", ck_op_name(k->op), ck_dtype_name(k->dtype));
            r->verdict = CK_SKIP;
            r->reason = "no-case";
            if (ck_case_supports(k->op))
                snprintf(r->detail, sizeof r->detail, "not checked: the suite has no %s %s instance",
                         ck_dtype_name(k->dtype), ck_op_name(k->op));
            else
                snprintf(r->detail, sizeof r->detail, "not checked: parity cannot build %s cases yet",
                         ck_op_name(k->op));
        }
    }
}

/* One line per (plugin, op, dtype) for the cases skipped because nothing
 * could be compared, rather than a table row each. */
static void print_skipped_groups(const gate *g)
{
    for (size_t i = 0; i < g->n_results; i++) {
        const ck_parity_result *r = &g->results[i];
        if (r->verdict != CK_SKIP)
            continue;
        const char *sp = strchr(r->shape_desc, ' ');
        size_t oplen = sp ? (size_t)(sp - r->shape_desc) : strlen(r->shape_desc);
        int seen = 0;
        size_t count = 0;
        for (size_t j = 0; j < g->n_results && !seen; j++) {
            const ck_parity_result *q = &g->results[j];
            int same = q->verdict == CK_SKIP && !strcmp(q->plugin, r->plugin) && !strcmp(q->reason, r->reason) &&
                       !strcmp(q->detail, r->detail) && !strncmp(q->shape_desc, r->shape_desc, oplen);
            if (same && j < i)
                seen = 1;
            count += same;
        }
        if (!seen)
            printf("skipped %-12s %s (%zu case%s)\n", r->plugin, r->detail, count, count == 1 ? "" : "s");
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int load_suite(const gate *g, ck_parity_shape **shapes, size_t *n)
{
    ck_parity_shape *edge = NULL;
    size_t n_edge = g->o.suite == CK_SUITE_MODEL ? 0 : ck_parity_edge_suite(&edge);
    ck_parity_shape *model = NULL;
    size_t n_model = 0;
    if (g->o.model && g->o.suite != CK_SUITE_EDGE) {
        char err[CK_ERR_LEN];
        if (ck_parity_model_suite(g->o.model, g->o.weight_dtype, &model, &n_model, err, sizeof err) != 0) {
            free(edge);
            return bad("%s%s", err, "");
        }
    }
    /* the model's own instances first: they are what the user asked about
     * (+ 1: malloc(0) may give NULL, and --suite model may select nothing) */
    ck_parity_shape *all = malloc((n_model + n_edge + 1) * sizeof *all);
    if (!all) {
        free(edge);
        free(model);
        return bad("out of memory%s%s", "", "");
    }
    size_t k = 0;
    for (size_t i = 0; i < n_model; i++)
        if (g->o.op_on[model[i].shape.op])
            all[k++] = model[i];
    for (size_t i = 0; i < n_edge; i++)
        if (g->o.op_on[edge[i].shape.op])
            all[k++] = edge[i];
    free(edge);
    free(model);
    *shapes = all;
    *n = k;
    return 0;
}

static int write_reports(gate *g, const char *partial)
{
    char err[CK_ERR_LEN];
    int rc = 0;
    if (g->o.json &&
        ck_parity_write_json(g->o.json, g->results, g->n_results, g->o.seed, g->notes, partial, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench parity: --json: %s\n", err);
        rc = 2;
    }
    if (g->o.junit && ck_parity_write_junit(g->o.junit, g->results, g->n_results, partial, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench parity: --junit: %s\n", err);
        rc = 2;
    }
    if (g->dump && ck_parity_dump_close(g->dump, err, sizeof err) != 0) {
        fprintf(stderr, "ckbench parity: --dump: %s\n", err);
        rc = 2;
    }
    g->dump = NULL;
    return rc;
}

static void release(gate *g)
{
    for (size_t t = 0; t < g->n_targets; t++) {
        if (g->targets[t].owned)
            ck_plugin_unload(g->targets[t].p);
        free(g->targets[t].seen);
    }
    ck_plugin_unload(g->ref);
    free(g->results);
}

static void print_intro(const gate *g, size_t n_shapes, size_t n_suite)
{
    char shard[96] = "";
    if (g->o.n_shards > 1)
        snprintf(shard, sizeof shard, " (shard %u/%u of the suite's %zu: #%u, #%u, ...)", g->o.shard, g->o.n_shards,
                 n_suite, g->o.shard, g->o.shard + g->o.n_shards);
    printf("parity: reference %s (%s); seed %llu; timeout %.3g s; %d threads (and 1, 2, 3, 4, 7 logical threads "
           "to compare); %zu op instances%s%s\n",
           g->ref->desc->name, g->ref->path, (unsigned long long)g->o.seed, g->o.timeout, g->threads, n_shapes, shard,
           g->o.suite == CK_SUITE_MODEL               ? " (model)"
           : g->o.model && g->o.suite == CK_SUITE_ALL ? " (model, then edge suite)"
                                                      : " (edge suite)");
    printf("parity: plugins checked:");
    for (size_t t = 0; t < g->n_targets; t++)
        printf(" %s", g->targets[t].p->desc->name);
    printf("%s\n", g->n_targets ? "" : " none");
    if (g->o.model)
        printf("parity: rows reduced to keep the reference at <= %.0e multiply-adds per case, never below %d "
               "(attention keeps every key and checks the last rows; elementwise ops keep <= %u elements "
               "and their length mod 64)\n",
               CK_PARITY_WORK_BUDGET, CK_PARITY_MIN_ROWS, 1u << 20);
}

/* --shard K/N: the kernels every shape of the whole suite wants are marked
 * tried (so that no shard calls them unchecked), then the shapes i with
 * i % N == K are kept, in order. */
static void keep_shard(gate *g, ck_parity_shape *shapes, size_t *n)
{
    if (g->o.n_shards < 2)
        return;
    for (size_t i = 0; i < *n; i++)
        for (size_t t = 0; t < g->n_targets; t++)
            for (uint32_t k = 0; k < g->targets[t].p->n_kernels; k++)
                g->targets[t].seen[k].tried |= kernel_wanted(g, &g->targets[t].p->kernels[k], &shapes[i].shape);
    size_t kept = 0;
    for (size_t i = g->o.shard; i < *n; i += g->o.n_shards)
        shapes[kept++] = shapes[i];
    *n = kept;
}

/* Every shape, in order, until done or SIGINT; the count checked. A shape
 * the interrupt fell into is dropped whole: its children may have been
 * killed by the same Ctrl-C, and a crash verdict would be a lie. */
static size_t check_all(gate *g, const ck_parity_shape *shapes, size_t n_shapes)
{
    ck_progress_trap_sigint();
    size_t i = 0;
    for (; i < n_shapes; i++) {
        char desc[256];
        ck_parity_describe(&shapes[i], desc, sizeof desc);
        ck_progress_step(&g->progress, i, desc);
        size_t before = g->n_results;
        check_shape(g, i, &shapes[i]);
        if (ck_progress_interrupted()) {
            g->n_results = before;
            break;
        }
    }
    ck_progress_untrap_sigint();
    ck_progress_step(&g->progress, i, NULL);
    return i;
}

int ck_gate_run(const ck_gate_opts *o)
{
    gate g;
    memset(&g, 0, sizeof g);
    g.o = *o;
    int rc;
    /* the model first: a bad model is reported before anything is printed */
    ck_parity_shape *shapes = NULL;
    size_t n_shapes = 0;
    if ((rc = load_suite(&g, &shapes, &n_shapes)) != 0)
        return rc;
    if ((rc = load_plugins(&g)) != 0) {
        free(shapes);
        if (g.ref)
            release(&g);
        return rc;
    }
    if (g.o.dump) {
        char err[CK_ERR_LEN];
        if (!(g.dump = ck_parity_dump_open(g.o.dump, err, sizeof err))) {
            free(shapes);
            release(&g);
            return bad("--dump: %s%s", err, "");
        }
    }
    size_t n_suite = n_shapes;
    keep_shard(&g, shapes, &n_shapes);
    ck_progress_start(&g.progress, "parity", n_shapes);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* the main run's threads; every passing kernel is re-run on the
     * logical thread counts of ck_parity_thread_counts as well */
    g.threads = g.o.threads ? g.o.threads : cpus > 2 ? (int)cpus : 2;
    double t0 = now();
    print_intro(&g, n_shapes, n_suite);
    ck_parity_print_header();
    size_t done = check_all(&g, shapes, n_shapes);
    char partial[96] = "";
    if (done < n_shapes) {
        ck_progress_say_interrupted(&g.progress, done, n_shapes);
        snprintf(partial, sizeof partial, "interrupted after %zu of %zu op instances", done, n_shapes);
    }
    ck_progress_finish(&g.progress);
    if (!partial[0]) { /* an interrupted run did not reach them: no verdict either way */
        check_empty_largest(&g, shapes);
        if (g.o.shard == 0)
            add_unchecked_kernels(&g);
    }
    free(shapes);
    print_skipped_groups(&g);
    size_t count[3] = {0, 0, 0};
    for (size_t i = 0; i < g.n_results; i++)
        count[g.results[i].verdict]++;
    printf("parity: %zu cases in %.1f s\n", g.n_results, now() - t0);
    printf("%zu passed, %s%zu failed%s", count[CK_PASS], count[CK_FAIL] ? ck_term_on(stdout, CK_RED) : "",
           count[CK_FAIL], count[CK_FAIL] ? ck_term_off(stdout) : "");
    if (count[CK_SKIP])
        printf(", %zu skipped", count[CK_SKIP]);
    printf("%s%s\n", partial[0] ? "; PARTIAL: " : "", partial);
    fflush(stdout);
    rc = write_reports(&g, partial[0] ? partial : NULL);
    release(&g);
    if (rc)
        return rc;
    return count[CK_FAIL] || partial[0] ? 1 : 0;
}
