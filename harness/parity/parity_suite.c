/* Which op instances `ckbench parity` checks beyond the built-in edge suite
 * (parity_edges.c), and how a case is cut to size. A model adds its own
 * instances, prefill (every row's logits, and the last row's as a prompt is
 * run) and one decode step, at its real dimensions with the
 * rows cut so that the scalar reference does at most CK_PARITY_WORK_BUDGET
 * multiply-adds per case (the rule is printed with each reduced case as
 * "T=x of y"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_fusion.h"
#include "ck_ir.h"
#include "ck_gguf.h"
#include "ck_model.h"
#include "parity.h"

/* Elementwise ops have no rows: their length is cut to this many elements,
 * keeping n mod 64 so the tail a SIMD kernel sees is the real one. */
#define ELEMENTWISE_CAP (1u << 20)

typedef struct suite {
    ck_parity_shape *v;
    size_t n, cap;
} suite;

ck_parity_shape *ck_parity_push(ck_parity_shape **v, size_t *n, size_t *cap, uint32_t op, uint32_t dtype,
                                const char *label)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 128;
        ck_parity_shape *nv = realloc(*v, c * sizeof *nv);
        if (!nv) {
            fprintf(stderr, "ckbench parity: out of memory building the suite\n");
            exit(2);
        }
        *v = nv;
        *cap = c;
    }
    ck_parity_shape *ps = &(*v)[(*n)++];
    memset(ps, 0, sizeof *ps);
    ps->shape.op = op;
    ps->shape.dtype = dtype;
    snprintf(ps->shape.label, sizeof ps->shape.label, "%s", label);
    return ps;
}

/* Multiply-adds of the reference per row of s (0 for row-less ops). */
static double work_per_row(const ck_shape *s)
{
    return ck_case_row_work(s);
}

/* Rows of one shape after the cut, and the note saying so. */
static size_t reduced_rows(const ck_shape *s)
{
    double per_row = work_per_row(s);
    if (per_row > 0 && s->T > CK_PARITY_MIN_ROWS && per_row * (double)s->T > CK_PARITY_WORK_BUDGET) {
        size_t T = (size_t)(CK_PARITY_WORK_BUDGET / per_row);
        return T < CK_PARITY_MIN_ROWS ? CK_PARITY_MIN_ROWS : T;
    }
    return s->T;
}

static void set_rows(ck_shape *s, size_t T)
{
    if (s->op == CK_OP_ATTENTION || s->op == CK_OP_ROPE)
        s->pos += s->T - T; /* the last rows: they see the most keys / the largest angles */
    s->T = T;
}

/* A fused op's members share their rows: cut them all to the smallest cut
 * any member needs; elementwise members (n = rows x width) follow. */
static void reduce_fused(ck_parity_shape *ps)
{
    size_t T0 = 0, T = SIZE_MAX;
    for (size_t i = 0; i < ps->n_members; i++) {
        const ck_shape *m = &ps->members[i];
        if (work_per_row(m) > 0) {
            T0 = T0 ? T0 : m->T;
            size_t r = reduced_rows(m);
            T = r < T ? r : T;
        }
    }
    if (!T0 || T >= T0)
        return;
    for (size_t i = 0; i < ps->n_members; i++) {
        ck_shape *m = &ps->members[i];
        if (work_per_row(m) > 0)
            set_rows(m, T);
        else if (m->n % T0 == 0)
            m->n = m->n / T0 * T;
    }
    snprintf(ps->note, sizeof ps->note, "T=%zu of %zu", T, T0);
}

void ck_parity_reduce(ck_parity_shape *ps)
{
    if (ps->n_members) {
        reduce_fused(ps);
        return;
    }
    ck_shape *s = &ps->shape;
    size_t T = reduced_rows(s);
    if (T < s->T) {
        snprintf(ps->note, sizeof ps->note, "T=%zu of %zu", T, s->T);
        set_rows(s, T);
    }
    if (work_per_row(s) == 0 && s->n > ELEMENTWISE_CAP) {
        size_t n = ELEMENTWISE_CAP - ELEMENTWISE_CAP % 64 + s->n % 64;
        if (s->op == CK_OP_QUANTIZE || s->op == CK_OP_DEQUANTIZE)
            n = ELEMENTWISE_CAP;
        snprintf(ps->note, sizeof ps->note, "n=%zu of %zu", n, s->n);
        s->n = n;
    }
}

static int same_shape(const ck_shape *a, const ck_shape *b)
{
    ck_shape x = *a, y = *b;
    memset(x.label, 0, sizeof x.label);
    memset(y.label, 0, sizeof y.label);
    return memcmp(&x, &y, sizeof x) == 0;
}

static int same_case(const ck_parity_shape *a, const ck_parity_shape *b)
{
    if (!same_shape(&a->shape, &b->shape) || a->n_members != b->n_members)
        return 0;
    for (size_t i = 0; i < a->n_members; i++)
        if (!same_shape(&a->members[i], &b->members[i]))
            return 0;
    return 1;
}

static ck_parity_shape *push_case(suite *s, uint32_t op, uint32_t dtype, const char *label)
{
    return ck_parity_push(&s->v, &s->n, &s->cap, op, dtype, label);
}

/* Reduce ps and add it unless an equal case is there already. */
static void add_unique(suite *s, ck_parity_shape *ps, int decode)
{
    if (decode) {
        char l[64];
        snprintf(l, sizeof l, "%s", ps->shape.label);
        snprintf(ps->shape.label, sizeof ps->shape.label, "decode:%.55s", l);
    }
    ps->from_model = 1;
    ps->full = ps->shape;
    memcpy(ps->full_members, ps->members, sizeof ps->members);
    ck_parity_reduce(ps);
    for (size_t q = 0; q < s->n; q++)
        if (same_case(&s->v[q], ps))
            return;
    *push_case(s, ps->shape.op, ps->shape.dtype, ps->shape.label) = *ps;
}

/* The weight dtype of a fused kernel: that of its linears, or of the
 * embedding table; f32 when it has neither. */
static uint32_t fused_dtype(const ck_shape *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].op == CK_OP_LINEAR || m[i].op == CK_OP_QKV || m[i].op == CK_OP_EMBEDDING)
            return m[i].dtype;
    return CK_DTYPE_F32;
}

/* Every group the fusion pass would form in the model, as fused cases. */
static void add_model_fused(suite *s, const ck_model *m, const ck_graph_opts *opts, int decode)
{
    for (size_t sec = 0; sec < m->n_sections; sec++) {
        ck_fnode *nodes = NULL;
        size_t n = ck_section_fnodes(m, sec, opts, &nodes);
        ck_fusion_result res;
        if (n == 0 || ck_fuse(nodes, n, CK_FUSE_ALL, &res) != 0) {
            free(nodes);
            continue;
        }
        for (size_t i = 0; i < res.n_steps; i++) {
            const ck_step *st = &res.steps[i];
            if (st->fusion < 0 || st->count > CK_PARITY_MAX_MEMBERS)
                continue;
            ck_parity_shape ps = {.n_members = st->count};
            for (size_t j = 0; j < st->count; j++)
                ps.members[j] = nodes[st->first + j].shape;
            ps.shape.op = ck_fusion_op((unsigned)st->fusion);
            ps.shape.dtype = fused_dtype(ps.members, ps.n_members);
            snprintf(ps.shape.label, sizeof ps.shape.label, "%.40s (fused)", ps.members[0].label);
            add_unique(s, &ps, decode);
        }
        ck_fusion_result_free(&res);
        free(nodes);
    }
}

int ck_parity_model_suite(const char *path, uint32_t weight_dtype, ck_parity_shape **out, size_t *n, char *err,
                          size_t err_len)
{
    ck_model *m = ck_model_open(path, err, err_len);
    if (!m)
        return -1;
    suite s = {0};
    ck_graph_opts prefill = {.decode = 0, .decode_pos = 0, .weight_dtype = weight_dtype};
    if (ck_graph_opts_check(m, &prefill, err, err_len) != 0) {
        ck_model_free(m);
        return -1;
    }
    /* the forward over every row (training's), the prompt's (bench's
     * prefill: the decoder's footer on its last row), one decode step */
    for (int pass = 0; pass < 3; pass++) {
        int decode = pass == 2;
        /* decode at a position well inside the cache, nearer the start for
         * a model whose cache is shorter than that */
        static const size_t decode_pos[] = {37, 1, 0};
        ck_graph_opts opts = prefill;
        opts.last_logits = pass == 1;
        for (size_t i = 0; decode && i < 3; i++) {
            opts = (ck_graph_opts){.decode = 1, .decode_pos = decode_pos[i], .weight_dtype = weight_dtype};
            if (ck_graph_opts_check(m, &opts, NULL, 0) == 0)
                break;
        }
        ck_shape *inst = NULL;
        size_t k = ck_model_op_instances(m, &opts, &inst);
        for (size_t i = 0; i < k; i++) {
            ck_parity_shape ps = {.shape = inst[i]};
            add_unique(&s, &ps, decode);
        }
        free(inst);
        add_model_fused(&s, m, &opts, decode);
    }
    ck_model_free(m);
    *out = s.v;
    *n = s.n;
    return 0;
}

void ck_parity_describe(const ck_parity_shape *ps, char *buf, size_t len)
{
    if (!ps->n_members) {
        ck_shape_describe(&ps->shape, buf, len);
    } else {
        int k = snprintf(buf, len, "%s %s =", ck_op_name(ps->shape.op), ck_dtype_name(ps->shape.dtype));
        for (size_t i = 0; i < ps->n_members && k > 0 && (size_t)k < len; i++) {
            char m[160];
            ck_shape_describe(&ps->members[i], m, sizeof m);
            k += snprintf(buf + k, len - (size_t)k, "%s %s", i ? " +" : "", m);
        }
    }
    size_t l = strlen(buf);
    if (ps->inputs && l < len)
        snprintf(buf + l, len - l, " inputs=%s", ck_parity_inputs_name(ps->inputs));
}

ck_case *ck_parity_full_case(const ck_parity_shape *ps, char *err, size_t err_len)
{
    if (!ps->from_model || !ps->note[0])
        return NULL;
    return ck_case_create_unbacked(&ps->full, ps->full_members, ps->n_members, err, err_len);
}

ck_case *ck_parity_case(const ck_parity_shape *ps, uint64_t seed, char *err, size_t err_len)
{
    ck_case *c = ps->n_members ? ck_case_create_fused(ps->shape.op, ps->shape.dtype, ps->members, ps->n_members, seed,
                                                      err, err_len)
                               : ck_case_create(&ps->shape, seed, err, err_len);
    if (c && ps->inputs && ck_parity_apply_inputs(c, ps->inputs, err, err_len) != 0) {
        ck_case_free(c);
        return NULL;
    }
    return c;
}
