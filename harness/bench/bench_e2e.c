/* The whole-model benchmark (bench_e2e.h). Two runners, one after the other
 * so that only one model is mapped at a time: the prefill runner plans the
 * decoder at seq_len = pp (the encoders at their own length), its footer on
 * the last row (the logits that pick the next token), and times every step
 * of one forward; the decode runner plans the decode step and times the
 * generation loop from position pp (the cache rows before it seeded, the
 * prefill's stand-in). Seeding and mapping are outside the timed part, and
 * each repetition of the loop starts again at pp from the same token. */
#include "bench_e2e.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ck_cost.h"
#include "ck_gguf.h"
#include "ck_model.h"
#include "ck_run.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e9 * (double)ts.tv_sec + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Bytes one run of the graph under `go` must move: every node's minimum
 * bytes (ck_cost.h), layers counted n_layers times. */
static double graph_bytes(const ck_model *m, const ck_graph_opts *go)
{
    double total = 0;
    for (size_t si = 0; si < m->n_sections; si++) {
        if (go->decode && m->sections[si].kind != CK_SECTION_DECODER)
            continue;
        ck_node nodes[CK_MAX_SECTION_NODES];
        size_t n = ck_section_nodes(m, si, go, nodes);
        for (size_t j = 0; j < n; j++)
            total += (double)ck_op_cost(&nodes[j].shape).bytes *
                     (nodes[j].part == CK_PART_LAYER ? (double)m->sections[si].n_layers : 1.0);
    }
    return total;
}

/* The ISA whose FMA peak bounds op kind `op`: that of the first plugin that ran it. */
static int op_isa(const ck_e2e_result *res, uint32_t op)
{
    char first[48];
    snprintf(first, sizeof first, "%s", res->op_by[op]);
    first[strcspn(first, ",")] = '\0';
    return ck_isa_for_plugin(first);
}

/* Prefill's time-weighted roof: per node the cache-aware ideal of bench's
 * rows (its bytes at the level they fit, priced as ck_roofs_mem_ns, its flops at the
 * int8 dot peak for quantised matmuls, else the FMA peak of the ISA that ran
 * it), summed over the forward, so pp's fraction is sum ideal / measured. */
static double graph_ideal_ns(const ck_model *m, const ck_graph_opts *go, const ck_e2e_result *res,
                             const ck_roofs *roofs)
{
    double total = 0;
    for (size_t si = 0; si < m->n_sections; si++) {
        ck_node nodes[CK_MAX_SECTION_NODES];
        size_t n = ck_section_nodes(m, si, go, nodes);
        for (size_t j = 0; j < n; j++) {
            const ck_shape *sh = &nodes[j].shape;
            ck_cost c = ck_op_cost(sh);
            double t_mem = ck_roofs_mem_ns(roofs, ck_roofs_level_of(roofs, (double)c.bytes, res->threads), res->threads,
                                           (double)c.bytes, (double)c.written, (double)c.updated);
            int q = (sh->op == CK_OP_LINEAR || sh->op == CK_OP_QKV) &&
                    (sh->dtype == CK_DTYPE_Q8_0 || sh->dtype == CK_DTYPE_Q4_0);
            double peak = q ? ck_roofs_dot_gops(roofs, CK_DOT_INT8, res->threads) : 0;
            if (!(peak > 0))
                peak = ck_roofs_peak_gflops(roofs, op_isa(res, sh->op), res->threads);
            if (!(t_mem > 0) || !(peak > 0))
                return 0;
            double t_comp = (double)c.flops / peak; /* GFLOP/s = flops per ns */
            total += (t_mem > t_comp ? t_mem : t_comp) *
                     (nodes[j].part == CK_PART_LAYER ? (double)m->sections[si].n_layers : 1.0);
        }
    }
    return total;
}

/* Which plugins ran op kind `op`: each name once, in the order met. */
static void note_plugin(ck_e2e_result *res, const ck_run_step *s)
{
    char *by = res->op_by[s->op];
    size_t len = strlen(by), nl = strlen(s->plugin ? s->plugin : "?");
    for (const char *p = by; (p = strstr(p, s->plugin ? s->plugin : "?")); p += nl)
        if ((p == by || p[-1] == ',') && (p[nl] == ',' || p[nl] == '\0'))
            return;
    snprintf(by + len, sizeof res->op_by[0] - len, "%s%s", len ? "," : "", s->plugin ? s->plugin : "?");
}

/* The profile of one timed pass, added to the phase's. */
static void add_profile(ck_e2e_result *res, ck_e2e_phase *ph, const ck_runner *r, const double *unit_ns)
{
    for (size_t i = 0; i < ck_runner_n_steps(r); i++) {
        const ck_run_step *s = ck_runner_step(r, i);
        if (s->op < sizeof ph->op_ns / sizeof ph->op_ns[0]) {
            ph->op_ns[s->op] += unit_ns[i];
            note_plugin(res, s);
        }
        if (s->section < CK_MAX_SECTIONS)
            ph->section_ns[s->section] += unit_ns[i];
    }
}

static void summarise(ck_e2e_phase *ph, double *ns, int reps)
{
    qsort(ns, (size_t)reps, sizeof *ns, cmp_double);
    ph->ns_median = reps % 2 ? ns[reps / 2] : 0.5 * (ns[reps / 2 - 1] + ns[reps / 2]);
    ph->tps_median = 1e9 * (double)ph->tokens / ph->ns_median;
    ph->tps_min = 1e9 * (double)ph->tokens / ns[reps - 1];
    ph->tps_max = 1e9 * (double)ph->tokens / ns[0];
}

typedef struct e2e_env {
    const ck_bench_opts *o;
    const ck_chain *chain;
    ck_exec_ctx *ctx;
    int reps;
} e2e_env;

/* Time one phase on a runner for `m` (decode: generation from res->tg_from). */
static int time_phase(const e2e_env *e, const ck_model *m, int decode, ck_e2e_result *res, char *err, size_t len)
{
    ck_e2e_phase *ph = &res->phase[decode ? CK_E2E_TG : CK_E2E_PP];
    ck_run_opts ro = {.seed = 1,
                      .weight_dtype = e->o->weight_dtype,
                      .compute = e->o->compute,
                      .decode = decode,
                      .decode_pos = res->tg_from,
                      .last_logits = !decode};
    ck_runner *r = ck_runner_create_chain(m, (const ck_plugin *const *)e->chain->plugins, e->chain->n, e->chain->scalar,
                                          &ro, err, len);
    if (!r)
        return 2;
    double *unit_ns = calloc(ck_runner_n_steps(r) + 1, sizeof *unit_ns);
    double ns[64];
    int rc = !unit_ns || ck_runner_prepare(r, err, len);
    int32_t *ids = decode ? ck_runner_decode_ids(r) : NULL;
    int32_t first = ids ? ids[0] : 0;
    for (int k = 0; !rc && k < e->reps; k++) {
        memset(unit_ns, 0, ck_runner_n_steps(r) * sizeof *unit_ns);
        if (ids)
            ids[0] = first;
        double t0 = now_ns();
        rc = decode ? ck_runner_generate(r, e->ctx, res->tg_from, ph->tokens, NULL, unit_ns, err, len)
                    : ck_runner_run_all(r, e->ctx, unit_ns, err, len);
        ns[k] = now_ns() - t0;
        if (!rc)
            add_profile(res, ph, r, unit_ns);
    }
    if (!rc)
        summarise(ph, ns, e->reps);
    free(unit_ns);
    ck_runner_free(r);
    return rc ? 1 : 0;
}

/* pp and tg from the options and the decoder's context; -1 with err. */
static int phase_lengths(const ck_bench_opts *o, const ck_model *m, ck_e2e_result *res, char *err, size_t len)
{
    size_t seq = 0;
    for (size_t i = 0; i < m->n_sections; i++)
        if (m->sections[i].kind == CK_SECTION_DECODER)
            seq = m->sections[i].seq_len;
    if (!seq) {
        snprintf(err, len, "%s: --e2e: the model has no decoder section", o->model_path);
        return -1;
    }
    size_t pp_max = o->e2e_short ? CK_E2E_SHORT_PP : 512, tg_max = o->e2e_short ? CK_E2E_SHORT_TG : 128;
    size_t pp = o->e2e_pp ? o->e2e_pp : (seq / 2 < pp_max ? seq / 2 : pp_max);
    size_t tg = o->e2e_tg ? o->e2e_tg : (seq - pp < tg_max ? seq - pp : tg_max);
    if (pp < 1 || tg < 1 || pp + tg > seq) {
        snprintf(err, len, "%s: --e2e: expected 1 <= pp, 1 <= tg and pp + tg <= seq_len (%zu), found pp %zu, tg %zu",
                 o->model_path, seq, pp, tg);
        return -1;
    }
    res->phase[CK_E2E_PP].tokens = pp;
    res->phase[CK_E2E_TG].tokens = tg;
    res->tg_from = pp;
    return 0;
}

int ck_e2e_run(const ck_bench_opts *o, const char *plugin, int threads, const ck_roofs *roofs, ck_e2e_result *res,
               char *err, size_t err_len)
{
    memset(res, 0, sizeof *res);
    ck_model *m = ck_model_open(o->model_path, err, err_len); /* a .json or a .gguf */
    if (!m)
        return 2;
    for (size_t i = 0; o->e2e_short && i < m->n_sections; i++) /* a sample: the bounds count the same layer */
        if (m->sections[i].n_layers > 1)
            m->sections[i].n_layers = 1;
    e2e_env e = {.o = o, .reps = o->repetitions < 1 ? 1 : o->repetitions > 64 ? 64 : o->repetitions};
    ck_chain chain = {0};
    int rc = phase_lengths(o, m, res, err, err_len) ? 2 : 0;
    if (!rc && ck_chain_load(&chain, plugin, err, err_len))
        rc = 2;
    if (!rc) {
        snprintf(res->plugin, sizeof res->plugin, "%.63s", chain.n > 1 ? chain.name : chain.plugins[0]->desc->name);
        e.chain = &chain, e.ctx = ck_exec_create(threads);
        res->threads = e.ctx ? e.ctx->n_threads : 0;
        res->n_sections = m->n_sections;
        for (size_t i = 0; i < m->n_sections; i++)
            snprintf(res->section_names[i], sizeof res->section_names[i], "%s", m->sections[i].name);
        ck_model pm = *m; /* prefill: the decoder at pp rows */
        for (size_t i = 0; i < pm.n_sections; i++)
            if (pm.sections[i].kind == CK_SECTION_DECODER)
                pm.sections[i].seq_len = res->tg_from;
        ck_graph_opts go = {.weight_dtype = o->weight_dtype, .last_logits = 1};
        res->phase[CK_E2E_PP].ideal_bytes = graph_bytes(&pm, &go);
        go.decode = 1, go.decode_pos = res->tg_from + res->phase[CK_E2E_TG].tokens / 2;
        res->phase[CK_E2E_TG].ideal_bytes = graph_bytes(m, &go);
        if (!e.ctx)
            snprintf(err, err_len, "cannot create an execution context with %d threads", threads);
        rc = !e.ctx ? 2 : time_phase(&e, &pm, 0, res, err, err_len);
        if (!rc)
            rc = time_phase(&e, m, 1, res, err, err_len);
        go.decode = 0;
        if (!rc && roofs)
            res->phase[CK_E2E_PP].ideal_ns = graph_ideal_ns(&pm, &go, res, roofs);
        ck_exec_destroy(e.ctx);
    }
    ck_chain_unload(&chain);
    ck_model_free(m);
    return rc;
}
