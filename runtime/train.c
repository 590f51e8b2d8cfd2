/* train.c — a training step over the single allocation (ck_train.h).
 *
 * The forward is the executor's (ck_run.h) in a training plan; this file
 * binds what comes after it, once, to the planned buffers by name: the loss,
 * the backward ops of every decoder layer in reverse, and one Adam update per
 * weight. Activation gradients are written (=) by each backward op; where a
 * tensor has two readers (the residual stream feeds a norm and the residual
 * add; a norm's output feeds gate and up) each reader's share goes to its own
 * planned buffer and the add op joins them. Names: docs/layout.md. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_internal.h"
#include "train_internal.h"

int train_failf(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

ck_train_opts ck_train_defaults(void)
{
    return (ck_train_opts){.seed = 1, .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
}

/* The forward's labels, then the loss and backward ops, then Adam's: the
 * op index a reader sees in the shared header. */
static int share_ops(ck_trainer *t, char *err, size_t len)
{
    ck_share *s = ck_runner_share_handle(t->runner);
    if (!s)
        return 0;
    t->share = ck_runner_share(t->runner);
    size_t nf = ck_runner_n_steps(t->runner), n = nf + t->backward.n + t->adam.n;
    const char **labels = malloc(n * sizeof *labels);
    if (!labels)
        return train_failf(err, len, "out of memory");
    for (size_t i = 0; i < nf; i++)
        labels[i] = ck_runner_step(t->runner, i)->label;
    for (size_t i = 0; i < t->backward.n; i++)
        labels[nf + i] = t->backward.v[i].label;
    for (size_t i = 0; i < t->adam.n; i++)
        labels[nf + t->backward.n + i] = t->adam.v[i].label;
    int rc = ck_share_publish_ops(s, labels, n, err, len);
    free(labels);
    return rc;
}

ck_trainer *ck_trainer_create(const ck_model *m, const ck_plugin *plugin, const ck_plugin *scalar,
                              const ck_train_opts *opts, char *err, size_t len)
{
    return ck_trainer_create_chain(m, &plugin, 1, scalar, opts, err, len);
}

ck_trainer *ck_trainer_create_chain(const ck_model *m, const ck_plugin *const *plugins, size_t n,
                                    const ck_plugin *scalar, const ck_train_opts *opts, char *err, size_t len)
{
    ck_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        train_failf(err, len, "out of memory");
        return NULL;
    }
    t->model = m;
    t->opts = opts ? *opts : ck_train_defaults();
    ck_run_opts ro = {.seed = t->opts.seed,
                      .tokens = t->opts.tokens,
                      .n_tokens = t->opts.n_tokens,
                      .weight_dtype = CK_DTYPE_F32,
                      .training = 1,
                      .share_name = t->opts.share_name};
    if (!(t->runner = ck_runner_create_chain(m, plugins, n, scalar, &ro, err, len)) ||
        ck_runner_prepare(t->runner, err, len) || train_bind(t, err, len) || share_ops(t, err, len)) {
        ck_trainer_free(t);
        return NULL;
    }
    return t;
}

void ck_trainer_free(ck_trainer *t)
{
    if (!t)
        return;
    ck_runner_free(t->runner);
    free(t->backward.v);
    free(t->adam.v);
    free(t->times);
    free(t);
}

ck_runner *ck_trainer_runner(ck_trainer *t)
{
    return t->runner;
}

/* ---- running ------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int forward(ck_trainer *t, const ck_exec_ctx *ctx, char *err, size_t len)
{
    for (size_t i = 0; i < ck_runner_n_steps(t->runner); i++) {
        double t0 = t->timing ? now() : 0;
        if (ck_runner_run_step(t->runner, i, ctx, err, len))
            return -1;
        if (t->timing) {
            const ck_run_step *s = ck_runner_step(t->runner, i);
            t->times[train_slot_of(t, s->section, s->part, s->layer)].forward += now() - t0;
        }
    }
    return 0;
}

/* The final logit soft-cap is a host step of the forward (run.c), so its
 * backward is one too: y = c tanh(z / c) gives dz = dy (1 - (y / c)^2), in
 * double from the capped logits the forward left, rounded once. */
static void cap_slope(const op_step *s)
{
    for (size_t k = 0; s->cap_dy && k < s->cap_n; k++) {
        double th = (double)s->cap_y[k] / s->cap;
        s->cap_dy[k] = (float)((double)s->cap_dy[k] * (1.0 - th * th));
    }
}

static int run_list(ck_trainer *t, const op_list *l, const ck_exec_ctx *ctx, int is_adam, char *err, size_t len)
{
    size_t first_op = ck_runner_n_steps(t->runner) + (is_adam ? t->backward.n : 0);
    for (size_t i = 0; i < l->n; i++) {
        op_step *s = &l->v[i];
        double t0 = t->timing ? now() : 0;
        if (t->share)
            ck_share_enter(t->share, s->slot, first_op + i);
        if (s->zero)
            memset(s->zero, 0, s->zero_bytes);
        for (size_t k = 0; s->scale && k < s->scale_n; k++)
            s->scale[k] *= s->scale_by;
        char why[CK_ERR_LEN];
        if (ck_op_check_args(s->op, &s->args, why, sizeof why))
            return train_failf(err, len, "%s: internal: arguments break the op's rules: %s", s->label, why);
        int rc = run_call(t->runner, s->kernel, ctx, &s->args);
        if (rc == CK_OK)
            cap_slope(s);
        if (t->share)
            ck_share_leave(t->share, s->slot);
        if (rc != CK_OK)
            return train_failf(err, len, "%s: kernel %s returned %s", s->label, s->kernel->name,
                               rc == CK_E_UNSUPPORTED ? "unsupported arguments" : "an error");
        if (t->timing) {
            double dt = now() - t0;
            if (is_adam)
                t->times[s->slot].adam += dt;
            else
                t->times[s->slot].backward += dt;
        }
    }
    return 0;
}

/* The sum of every decoder's loss (one decoder in the shipped models). */
static float read_loss(ck_trainer *t)
{
    float sum = 0;
    for (size_t i = 0; i < t->backward.n; i++)
        if (t->backward.v[i].op == CK_OP_CROSS_ENTROPY)
            sum += t->backward.v[i].args.ce.loss[0];
    return sum;
}

int ck_trainer_loss(ck_trainer *t, const ck_exec_ctx *ctx, float *loss, char *err, size_t len)
{
    if (forward(t, ctx, err, len))
        return -1;
    for (size_t i = 0; i < t->backward.n; i++) {
        op_step *s = &t->backward.v[i];
        if (s->op != CK_OP_CROSS_ENTROPY)
            continue;
        ck_cross_entropy_args a = s->args.ce;
        a.dlogits = NULL;
        char why[CK_ERR_LEN];
        if (ck_op_check_args(s->op, &a, why, sizeof why))
            return train_failf(err, len, "%s: internal: arguments break the op's rules: %s", s->label, why);
        if (run_call(t->runner, s->kernel, ctx, &a) != CK_OK)
            return train_failf(err, len, "%s: kernel %s refused its arguments", s->label, s->kernel->name);
    }
    *loss = read_loss(t);
    return 0;
}

int ck_trainer_gradients(ck_trainer *t, const ck_exec_ctx *ctx, float *loss, char *err, size_t len)
{
    if (forward(t, ctx, err, len) || run_list(t, &t->backward, ctx, 0, err, len))
        return -1;
    *loss = read_loss(t);
    return 0;
}

int ck_trainer_step(ck_trainer *t, const ck_exec_ctx *ctx, float *loss, char *err, size_t len)
{
    if (t->share)
        atomic_store_explicit(&t->share->step, t->adam_step + 1, memory_order_relaxed);
    if (ck_trainer_gradients(t, ctx, loss, err, len))
        return -1;
    t->adam_step++;
    /* bias corrections on the host, in double, rounded once */
    float bc1 = (float)(1.0 - pow((double)t->opts.beta1, (double)t->adam_step));
    float bc2 = (float)(1.0 - pow((double)t->opts.beta2, (double)t->adam_step));
    for (size_t i = 0; i < t->adam.n; i++) {
        t->adam.v[i].args.adam.step = t->adam_step;
        t->adam.v[i].args.adam.bc1 = bc1;
        t->adam.v[i].args.adam.bc2 = bc2;
    }
    return run_list(t, &t->adam, ctx, 1, err, len);
}

/* ---- counts and timing ---------------------------------------------------------- */

ck_train_counts ck_trainer_counts(const ck_trainer *t)
{
    ck_train_counts c = {0};
    c.forward = ck_runner_n_steps(t->runner);
    for (size_t i = 0; i < c.forward; i++)
        c.forward_fallback += (size_t)ck_runner_step(t->runner, i)->fallback;
    c.backward = t->backward.n;
    for (size_t i = 0; i < t->backward.n; i++)
        c.backward_fallback += (size_t)t->backward.v[i].fallback;
    c.adam = t->adam.n;
    for (size_t i = 0; i < t->adam.n; i++)
        c.adam_fallback += (size_t)t->adam.v[i].fallback;
    c.frozen_sections = t->frozen_sections;
    return c;
}

size_t ck_trainer_n_ops(const ck_trainer *t)
{
    return t->backward.n + t->adam.n;
}

ck_train_op ck_trainer_op(const ck_trainer *t, size_t i)
{
    const op_step *s = i < t->backward.n ? &t->backward.v[i] : &t->adam.v[i - t->backward.n];
    return (ck_train_op){s->label, s->op, s->plugin, s->fallback};
}

void ck_trainer_time_enable(ck_trainer *t, int on)
{
    t->timing = on;
}

void ck_trainer_time_reset(ck_trainer *t)
{
    for (size_t i = 0; i < t->n_times; i++)
        t->times[i].forward = t->times[i].backward = t->times[i].adam = 0;
}

const ck_train_time *ck_trainer_times(const ck_trainer *t, size_t *n)
{
    *n = t->n_times;
    return t->times;
}
