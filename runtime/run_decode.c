/* run_decode.c — a decode runner moved along the sequence (ck_run.h): the
 * generation loop runs the same bound steps token after token, so only the
 * position changes — rope's position, the attention's key count and query
 * position, and with it the cache row the token's k and v are appended to
 * (run.c reads it from the attention's q_pos). Fused units carry copies of
 * their members' arguments and are moved too.
 *
 * Also the loops on top of it: every step once, timed per unit for a
 * profile, and greedy generation (argmax of the logits becomes the next
 * token), which `ckbench run --generate` and `ckbench bench --e2e` share. */
#include <string.h>
#include <time.h>

#include "run_internal.h"

static void move_rope(ck_rope_args *a, size_t pos)
{
    a->pos_offset = pos;
}

static void move_attention(ck_attention_args *a, size_t pos)
{
    a->S = pos + 1;
    a->q_pos = pos;
}

int ck_runner_set_decode_pos(ck_runner *r, size_t pos, char *err, size_t len)
{
    if (!r->opts.decode)
        return run_failf(err, len, "set_decode_pos: the runner was not made for decode");
    for (size_t si = 0; si < r->model->n_sections; si++)
        if (!run_skipped_section(r, si) && pos >= r->model->sections[si].seq_len)
            return run_failf(err, len, "decode position %zu: expected less than seq_len (%zu) of section \"%s\"", pos,
                             r->model->sections[si].seq_len, r->model->sections[si].name);
    for (size_t i = 0; i < r->n_steps; i++) {
        step *s = &r->steps[i];
        if (s->pub.op == CK_OP_ROPE)
            move_rope(&s->args.rope, pos);
        else if (s->pub.op == CK_OP_ATTENTION)
            move_attention(&s->args.attn, pos);
    }
    for (size_t i = 0; i < r->n_units; i++) {
        unit *u = &r->units[i];
        if (u->fusion == CK_FUSE_QKV_ROPE)
            move_rope(&u->args.qkv_rope.rope, pos);
        else if (u->fusion == CK_FUSE_ATTN_PROJ)
            move_attention(&u->args.attn_proj.attn, pos);
    }
    r->opts.decode_pos = pos;
    return run_check_units(r, err, len); /* the moved positions against the rules, before a kernel sees them */
}

int32_t *ck_runner_decode_ids(ck_runner *r)
{
    for (size_t i = 0; i < r->n_steps; i++) {
        const step *s = &r->steps[i];
        if (s->pub.op == CK_OP_EMBEDDING && !run_skipped_section(r, s->pub.section) &&
            r->model->sections[s->pub.section].kind == CK_SECTION_DECODER)
            return (int32_t *)s->args.emb.ids; /* a buffer of the arena: the run's own */
    }
    return NULL;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e9 * (double)ts.tv_sec + (double)ts.tv_nsec;
}

int ck_runner_run_all(ck_runner *r, const ck_exec_ctx *ctx, double *unit_ns, char *err, size_t len)
{
    for (size_t i = 0; i < r->n_units; i++) {
        if (run_window_at(r, i, err, len)) /* windowed: paging outside the unit's time */
            return -1;
        double t0 = unit_ns ? now_ns() : 0;
        if (ck_runner_run_step(r, i, ctx, err, len))
            return -1;
        if (unit_ns)
            unit_ns[i] += now_ns() - t0;
    }
    return 0;
}

/* The first largest logit: ties go to the lower id, so the choice is exact. */
static int32_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return (int32_t)best;
}

int ck_runner_generate(ck_runner *r, const ck_exec_ctx *ctx, size_t start_pos, size_t n, int32_t *out_ids,
                       double *unit_ns, char *err, size_t len)
{
    int32_t *ids = ck_runner_decode_ids(r);
    size_t vocab = 0;
    const float *logits = ck_runner_output(r, &vocab);
    if (!ids || !logits || !vocab)
        return run_failf(err, len, "generate: the model has no decoder with logits");
    for (size_t m = 0; m < n; m++) {
        if (ck_runner_set_decode_pos(r, start_pos + m, err, len) || ck_runner_run_all(r, ctx, unit_ns, err, len))
            return -1;
        ids[0] = argmax(logits, vocab);
        if (out_ids)
            out_ids[m] = ids[0];
    }
    return 0;
}
