/* The verdict of one plugin kernel on one case: the child's fate first (a
 * crash or a hang says more than any number), then the guards, then each
 * output against the reference's. Every failure sentence names the plugin,
 * the kernel and the op instance. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parity.h"

static void verdict(ck_parity_result *r, ck_verdict v, const char *reason, const char *fmt, const char *what)
{
    r->verdict = v;
    r->reason = reason;
    if (v == CK_FAIL)
        snprintf(r->detail, sizeof r->detail, "%s (plugin '%s', kernel '%s', %s): %s", fmt, r->plugin, r->kernel,
                 r->shape_desc, what);
    else
        snprintf(r->detail, sizeof r->detail, "%s: %s", fmt, what);
}

/* Compare every output buffer; the first failing one decides the reason. */
static void compare_outputs(const ck_case *c, const ck_run_outcome *ref, const ck_run_outcome *got, ck_parity_result *r,
                            const char **reason, char *what, size_t what_len)
{
    const ck_shape *s = ck_case_shape(c);
    ck_tolerance tol = ck_op_tolerance(s->op, s->dtype);
    size_t off = 0, elems = 0;
    *reason = NULL;
    r->n_outputs = 0;
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        const unsigned char *y = got->outputs + off, *x = ref->outputs + off;
        const double *bound = ref->bounds ? ref->bounds + elems : NULL;
        off += b->bytes;
        elems += b->count;
        ck_parity_output po = {.exact = tol.cls == CK_PARITY_EXACT};
        snprintf(po.name, sizeof po.name, "%s", b->name);
        if (b->dtype == CK_DTYPE_F32) {
            /* compute bf16 has its own per-element bound (bound_cbf16.c) */
            double *bounds = r->kernel_flags & CK_KF_COMPUTE_BF16 ? ck_parity_cbf16_bounds(c, b->name) : NULL;
            /* offsets stay multiples of 4: only f32 outputs precede an f32 one */
            uint32_t poison = b->role == CK_BUF_OUT ? CK_CASE_POISON_F32 : 0;
            const float *yf = (const float *)(const void *)y, *xf = (const float *)(const void *)x;
            const double *use = bounds ? bounds : bound; /* a compute-bf16 kernel is held to its own bound */
            if (use && !po.exact)
                ck_compare_f32_bounded(yf, xf, b->count, use, poison, &po.cmp);
            else
                ck_compare_f32(yf, xf, b->count, tol, poison, &po.cmp);
            free(bounds);
        } else {
            ck_compare_bytes(y, x, b->bytes, &po.cmp);
            po.exact = 1;
        }
        if (!po.cmp.pass && !*reason) {
            *reason = ck_cmp_reason_name(po.cmp.reason);
            ck_cmp_describe(&po.cmp, po.exact, b->name, what, what_len);
        }
        /* every output is compared; the figures of the first few are kept */
        if (r->n_outputs < CK_PARITY_MAX_OUTPUTS)
            r->outputs[r->n_outputs++] = po;
    }
}

/* A kernel returns CK_E_UNSUPPORTED before writing anything (docs/ops.md,
 * Refusals): `run` then hands the call to scalar's kernel, which reads
 * what an in-place op left in its buffers, and a refused call's outputs
 * must stay as they were. 1 and one sentence in what if an output of the
 * main run differs from what it held before. */
static int wrote_then_declined(const ck_case *c, const ck_run_outcome *got, uint32_t flags, char *what, size_t len)
{
    const unsigned char *out = got->outputs;
    for (size_t i = 0; out && i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        const unsigned char *was = ck_case_bytes_at_start(c, flags, i);
        size_t j = ck_case_first_diff(out, was, b->bytes, b->elem_size);
        if (j != SIZE_MAX) {
            snprintf(what, len,
                     "returned CK_E_UNSUPPORTED after writing '%s' (element %zu first): a declined call must "
                     "leave its buffers as they were, `run` hands it to scalar's kernel",
                     b->name, j);
            return 1;
        }
        out += b->bytes;
    }
    return 0;
}

/* The scalar reference declines: arguments the contract refuses (a token
 * id out of range), so the kernel must refuse them too, writing nothing. */
static void judge_refusal(const ck_case *c, const ck_run_outcome *got, ck_parity_result *r)
{
    char what[400];
    if (got->state == CK_RUN_CRASHED)
        verdict(r, CK_FAIL, got->crash_reason ? got->crash_reason : "crash",
                got->crash_reason ? "out-of-bounds access" : "crash", got->error);
    else if (got->state != CK_RUN_DONE)
        verdict(r, CK_FAIL, got->state == CK_RUN_TIMED_OUT ? "timeout" : "harness-error", "not refused", got->error);
    else if (got->kernel_rc == CK_OK)
        verdict(r, CK_FAIL, "not-refused", "not refused",
                "returned CK_OK for arguments the contract refuses (the scalar reference declines them, "
                "docs/ops.md): it must return CK_E_UNSUPPORTED and write nothing");
    else if (got->kernel_rc != CK_E_UNSUPPORTED)
        verdict(r, CK_FAIL, "kernel-error", "error", "returned neither CK_OK nor CK_E_UNSUPPORTED");
    else if (wrote_then_declined(c, got, r->kernel_flags, what, sizeof what))
        verdict(r, CK_FAIL, "declined-after-writing", "wrote, then declined", what);
    else
        verdict(r, CK_PASS, "pass", "pass", "refused, as the contract requires, writing nothing");
}

void ck_parity_judge(const ck_case *c, const ck_run_outcome *ref, const ck_run_outcome *got, ck_parity_result *r)
{
    char what[400];
    r->seconds = got->seconds;
    r->n_outputs = 0;
    if (ref->state != CK_RUN_DONE || ref->kernel_rc != CK_OK) {
        if (ref->state == CK_RUN_DONE && ref->kernel_rc == CK_E_UNSUPPORTED) {
            judge_refusal(c, got, r);
            return;
        }
        snprintf(what, sizeof what, "the scalar reference itself failed: %s",
                 ref->state == CK_RUN_DONE ? "returned an error" : ref->error);
        verdict(r, CK_FAIL, "reference-failed", "cannot check", what);
        return;
    }
    switch (got->state) {
    case CK_RUN_CRASHED:
        if (got->crash_reason)
            verdict(r, CK_FAIL, got->crash_reason, "out-of-bounds access", got->error);
        else
            verdict(r, CK_FAIL, "crash", "crash", got->error);
        return;
    case CK_RUN_TIMED_OUT: verdict(r, CK_FAIL, "timeout", "hang", got->error); return;
    case CK_RUN_HARNESS_ERROR: verdict(r, CK_FAIL, "harness-error", "not run", got->error); return;
    case CK_RUN_DONE: break;
    }
    if (got->kernel_rc == CK_E_UNSUPPORTED) {
        if (wrote_then_declined(c, got, r->kernel_flags, what, sizeof what))
            verdict(r, CK_FAIL, "declined-after-writing", "wrote, then declined", what);
        else
            verdict(r, CK_SKIP, "unsupported", "skipped", "the kernel declines these arguments (CK_E_UNSUPPORTED)");
        return;
    }
    if (got->kernel_rc != CK_OK) {
        snprintf(what, sizeof what, "returned status %d", got->kernel_rc);
        verdict(r, CK_FAIL, "kernel-error", "error", what);
        return;
    }
    const char *reason;
    compare_outputs(c, ref, got, r, &reason, what, sizeof what);
    if (got->guard_bad) {
        verdict(r, CK_FAIL, "oob-write", "out-of-bounds write", got->guard_msg);
        return;
    }
    if (got->input_bad) {
        verdict(r, CK_FAIL, "input-modified", "input modified", got->input_msg);
        return;
    }
    if (got->state_bad) {
        verdict(r, CK_FAIL, "host-state", "host state changed", got->state_msg);
        return;
    }
    if (reason) {
        verdict(r, CK_FAIL, reason, "wrong output", what);
        return;
    }
    if (got->aligned_outputs) {
        /* the same judgement on the run whose buffers end at a page end;
         * the main run's figures stay in r */
        ck_parity_result again = *r;
        ck_run_outcome aligned = *got;
        aligned.outputs = got->aligned_outputs;
        compare_outputs(c, ref, &aligned, &again, &reason, what, sizeof what);
        if (reason) {
            size_t l = strlen(what);
            snprintf(what + l, sizeof what - l, " (when its buffers end at a page end; right when they start at one)");
            *r = again;
            verdict(r, CK_FAIL, reason, "wrong output", what);
            return;
        }
    }
    if (got->split_bad) {
        verdict(r, CK_FAIL, "split-dependent", "thread-dependent", got->split_msg);
        return;
    }
    verdict(r, CK_PASS, "pass", "pass", r->exact ? "bit-identical" : "within tolerance");
}

double ck_parity_max_err(const ck_parity_result *r)
{
    double m = 0;
    for (size_t i = 0; i < r->n_outputs; i++)
        if (r->outputs[i].cmp.max_abs > m)
            m = r->outputs[i].cmp.max_abs;
    return m;
}

double ck_parity_max_use(const ck_parity_result *r)
{
    double m = 0;
    for (size_t i = 0; i < r->n_outputs; i++)
        if (r->outputs[i].cmp.worst_use > m)
            m = r->outputs[i].cmp.worst_use;
    return m;
}

uint64_t ck_parity_max_ulp(const ck_parity_result *r)
{
    uint64_t m = 0;
    for (size_t i = 0; i < r->n_outputs; i++)
        if (r->outputs[i].cmp.max_ulp > m)
            m = r->outputs[i].cmp.max_ulp;
    return m;
}
