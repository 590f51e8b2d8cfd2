/* Run one kernel on one case in a forked child: a crash, a hang or a stray
 * write must not take the gate down with it. The child builds its own exec
 * context (a thread pool must not cross fork), runs the kernel, checks the
 * canaries and the read-only inputs, and copies the outputs into a shared
 * anonymous mapping the parent reads after the child has exited. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parity.h"

/* Where each buffer of the case lives in the child during the current run,
 * for naming a faulting address after the child is gone. */
typedef struct child_region {
    uintptr_t lo, hi, data; /* the whole mapping; the data */
    size_t bytes;
    int readonly;
} child_region;

typedef struct child_report {
    int finished; /* set last: the child got through every step */
    int kernel_rc;
    int guard_bad, input_bad, state_bad, split_bad;
    int aligned_done; /* the end-aligned run's outputs follow the main run's */
    char guard_msg[256], input_msg[256], state_msg[256], split_msg[256];
    double seconds;
    /* when the current run began (CLOCK_MONOTONIC, shared by all
     * processes): the timeout is per run, not per child */
    volatile double run_started;
    char phase[48]; /* "main run", "on 3 logical threads", "end-aligned run" */
    child_region regions[CK_CASE_MAX_BUFS];
    size_t n_regions;
    /* set by the fault handler */
    volatile int faulted, fault_write; /* fault_write: 1 write, 0 read, -1 unknown */
    volatile uintptr_t fault_addr;
} child_report;

#define REPORT_BYTES ((sizeof(child_report) + 63) / 64 * 64)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t ck_parity_output_bytes(const ck_case *c)
{
    size_t total = 0;
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (ck_case_buf_is_output(b))
            total += b->bytes;
    }
    return total;
}

/* A fault must end the child with its signal so the parent can name it.
 * Under ASan the runtime owns SIGSEGV and its signal() interceptor ignores
 * us, so on Linux the default action is restored with the raw system call
 * (an all-zero kernel sigaction is SIG_DFL, no flags, empty mask on every
 * architecture). */
static void restore_default_fault_handlers(void)
{
    const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
#ifdef __linux__
        unsigned long kernel_sigaction[4] = {0, 0, 0, 0};
        syscall(SYS_rt_sigaction, faults[i], kernel_sigaction, NULL, sizeof(unsigned long));
#else
        signal(faults[i], SIG_DFL);
#endif
    }
}

static child_report *fault_report;

static void record_regions(const ck_case *c, child_report *rep)
{
    rep->n_regions = ck_case_n_bufs(c) < CK_CASE_MAX_BUFS ? ck_case_n_bufs(c) : CK_CASE_MAX_BUFS;
    for (size_t i = 0; i < rep->n_regions; i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        child_region *r = &rep->regions[i];
        ck_case_buf_mapping(c, i, &r->lo, &r->hi);
        r->data = (uintptr_t)b->data;
        r->bytes = b->bytes;
        r->readonly = b->role == CK_BUF_IN;
    }
}

/* Async-signal-safe: note where the fault was, then die of the same signal
 * (default action restored, the signal re-sent; SA_NODEFER lets it through),
 * so the parent still sees the signal and can name the address. */
static void on_fault(int sig, siginfo_t *si, void *uc_)
{
    child_report *rep = fault_report;
    rep->fault_addr = (uintptr_t)si->si_addr;
    rep->fault_write = -1;
#if defined(__x86_64__) && defined(REG_ERR)
    const ucontext_t *uc = uc_;
    rep->fault_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) ? 1 : 0; /* page-fault error code: W */
#else
    (void)uc_;
#endif
    rep->faulted = 1;
#ifdef __linux__
    unsigned long dfl[4] = {0, 0, 0, 0};
    syscall(SYS_rt_sigaction, sig, dfl, NULL, sizeof(unsigned long));
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
#else
    signal(sig, SIG_DFL);
    raise(sig);
#endif
    _exit(128 + sig);
}

/* Through libc: the kernel wants a signal-return trampoline (sa_restorer)
 * on x86-64 even for a handler that never returns, and libc supplies it.
 * ASan lets a program install its own SIGSEGV handler by default. */
static void catch_faults(child_report *rep)
{
    fault_report = rep;
    const int faults[] = {SIGSEGV, SIGBUS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(faults[i], &sa, NULL);
    }
}

const int ck_parity_thread_counts[CK_PARITY_N_THREAD_COUNTS] = {1, 2, 3, 4, 7};

static const char *const ctx_fields[] = {"struct_size", "n_threads", "parallel_for", "scratch", "host"};

/* Which field of the exec context a kernel wrote into ("" if none). */
static const char *changed_ctx_field(const ck_exec_ctx *now, const ck_exec_ctx *was)
{
    if (now->struct_size != was->struct_size)
        return ctx_fields[0];
    if (now->n_threads != was->n_threads)
        return ctx_fields[1];
    if (now->parallel_for != was->parallel_for)
        return ctx_fields[2];
    if (now->scratch != was->scratch)
        return ctx_fields[3];
    if (now->host != was->host)
        return ctx_fields[4];
    return memcmp(now, was, sizeof *now) ? "padding" : "";
}

/* One kernel call with the host's side of the contract checked: the
 * floating-point control state (the caller's and the pool workers') and
 * the exec context must be as they were.
 * Both are put back, so the next run starts clean; the first offence is
 * kept in rep. */
static int checked_call(ck_case *c, const ck_kernel_desc *k, ck_exec_ctx *ctx, child_report *rep, const char *when)
{
    ck_host_state fp;
    ck_exec_ctx saved = *ctx;
    ck_host_state_save(&fp);
    snprintf(rep->phase, sizeof rep->phase, "%s", when);
    rep->run_started = now();
    int rc = ck_case_run_noreset(c, k, ctx);
    double t = now() - rep->run_started;
    char what[200];
    const char *field = changed_ctx_field(ctx, &saved);
    if (!rep->state_bad && ck_host_state_changed(&fp, what, sizeof what)) {
        rep->state_bad = 1;
        snprintf(rep->state_msg, sizeof rep->state_msg, "%s (%s)", what, when);
    }
    char on_worker[200];
    int worker_bad = ck_exec_workers_state_changed(ctx, on_worker, sizeof on_worker); /* read: it clears */
    if (!rep->state_bad && worker_bad) {
        rep->state_bad = 1;
        snprintf(rep->state_msg, sizeof rep->state_msg, "%s (%s)", on_worker, when);
    }
    if (!rep->state_bad && *field) {
        rep->state_bad = 1;
        snprintf(rep->state_msg, sizeof rep->state_msg,
                 "wrote into the const exec context it was handed ('%s' changed, %s)", field, when);
    }
    ck_host_state_restore(&fp);
    *ctx = saved;
    if (!rep->seconds)
        rep->seconds = t;
    return rc;
}

/* Bits of every output against those of the first run (at out). */
static int same_outputs(const ck_case *c, const unsigned char *out, char *msg, size_t len, int n, int n0)
{
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        size_t j = ck_case_first_diff(b->data, out, b->bytes, b->elem_size);
        if (j != SIZE_MAX) {
            snprintf(msg, len,
                     "'%s' element %zu differs between %d and %d logical threads: results depend on how "
                     "parallel_for splits the work",
                     b->name, j, n, n0);
            return 0;
        }
        out += b->bytes;
    }
    return 1;
}

/* The kernel again on every logical thread count of
 * ck_parity_thread_counts (more threads than cores is fine: the pool's
 * threads are logical), each time from a reset case, bits compared with the
 * first run's. */
static void rerun_thread_counts(ck_case *c, const ck_kernel_desc *k, int n0, child_report *rep,
                                const unsigned char *out)
{
    for (int i = 0; i < CK_PARITY_N_THREAD_COUNTS && !rep->split_bad; i++) {
        int n = ck_parity_thread_counts[i];
        if (n == n0)
            continue;
        ck_exec_ctx *ctx = ck_exec_create(n);
        if (!ctx)
            _exit(3);
        ck_case_reset(c);
        char when[48];
        snprintf(when, sizeof when, "on %d logical threads", n);
        int rc = checked_call(c, k, ctx, rep, when);
        if (rc != CK_OK) {
            rep->split_bad = 1;
            snprintf(rep->split_msg, sizeof rep->split_msg, "returned status %d on %d logical threads, %d on %d", rc, n,
                     CK_OK, n0);
        } else if (!same_outputs(c, out, rep->split_msg, sizeof rep->split_msg, n, n0)) {
            rep->split_bad = 1;
        }
        /* a run that changed nothing else keeps its guards and inputs */
        if (!rep->guard_bad)
            rep->guard_bad = ck_case_check_guards(c, rep->guard_msg, sizeof rep->guard_msg);
        if (!rep->input_bad)
            rep->input_bad = ck_case_check_inputs(c, rep->input_msg, sizeof rep->input_msg);
        ck_exec_destroy(ctx);
    }
}

/* The main run had every buffer start at a page start; now every buffer
 * ends at a page end, so a read or write just past the end faults too. */
static void run_end_aligned(ck_case *c, const ck_kernel_desc *k, ck_exec_ctx *ctx, child_report *rep,
                            unsigned char *out)
{
    char err[256];
    if (ck_case_place(c, 1, err, sizeof err) != 0 || ck_case_protect_inputs(c) != 0)
        _exit(3);
    record_regions(c, rep);
    ck_case_reset(c);
    int rc = checked_call(c, k, ctx, rep, "end-aligned run");
    if (rc != CK_OK && !rep->split_bad) {
        rep->split_bad = 1;
        snprintf(rep->split_msg, sizeof rep->split_msg,
                 "returned status %d when its buffers end at a page end, %d when they start at one", rc, CK_OK);
    }
    if (!rep->guard_bad)
        rep->guard_bad = ck_case_check_guards(c, rep->guard_msg, sizeof rep->guard_msg);
    if (!rep->input_bad)
        rep->input_bad = ck_case_check_inputs(c, rep->input_msg, sizeof rep->input_msg);
    /* judged against the reference like the main run's: alignment may
     * change a kernel's bits, not its correctness */
    for (size_t i = 0; rc == CK_OK && i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        memcpy(out, b->data, b->bytes);
        out += b->bytes;
    }
    rep->aligned_done = rc == CK_OK;
}

static _Noreturn void child_main(ck_case *c, const ck_kernel_desc *k, int n_threads, int checks, child_report *rep,
                                 unsigned char *out)
{
    /* a plugin's chatter must not end up in the table on stdout */
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
        dup2(devnull, STDOUT_FILENO);
    restore_default_fault_handlers();
    catch_faults(rep);
    /* a crashing kernel is expected here: no core file per case */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    ck_exec_ctx *ctx = ck_exec_create(n_threads);
    if (!ctx)
        _exit(3);
    if (checks & CK_RUN_PROBE) {
        /* nothing behind the buffers: a fault means the kernel took it */
        snprintf(rep->phase, sizeof rep->phase, "full-size probe");
        rep->run_started = now();
        rep->kernel_rc = ck_case_run_noreset(c, k, ctx);
        rep->finished = 1;
        _exit(0);
    }
    /* no reset: the parent never runs kernels, so c is as ck_case_create
     * left it, and this child has its own copy-on-write pages of it; but
     * first, other values in the same buffers: a kernel that keeps what it
     * derived from an earlier call's inputs (a packed W found again by its
     * address, as a window's weights come back at one address layer after
     * layer) then gives that call's result in the main run */
    record_regions(c, rep);
    if (checks & CK_RUN_CHECK_STALE) {
        ck_case_perturb_inputs(c);
        (void)checked_call(c, k, ctx, rep, "run on other values first");
        rep->seconds = 0;
        ck_case_reset(c);
    }
    if (ck_case_protect_inputs(c) != 0)
        _exit(3);
    rep->kernel_rc = checked_call(c, k, ctx, rep, "main run");
    rep->guard_bad = ck_case_check_guards(c, rep->guard_msg, sizeof rep->guard_msg);
    rep->input_bad = ck_case_check_inputs(c, rep->input_msg, sizeof rep->input_msg);
    unsigned char *o = out;
    for (int pass = 0; pass < ((checks & CK_RUN_KEEP_SCRATCH) ? 2 : 1); pass++)
        for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
            const ck_case_buf *b = ck_case_buf_at(c, i);
            if (pass == 0 ? !ck_case_buf_is_output(b) : b->role != CK_BUF_SCRATCH)
                continue;
            memcpy(o, b->data, b->bytes);
            o += b->bytes;
        }
    if ((checks & CK_RUN_CHECK_THREADS) && rep->kernel_rc == CK_OK)
        rerun_thread_counts(c, k, n_threads, rep, out);
    if ((checks & CK_RUN_CHECK_GUARDS) && rep->kernel_rc == CK_OK)
        run_end_aligned(c, k, ctx, rep, out + ck_parity_output_bytes(c));
    rep->finished = 1;
    /* no ck_exec_destroy: _exit ends the workers, and a broken kernel may
     * have left them in any state */
    _exit(0);
}

/* Name the buffer and the direction of a fault the handler noted: "wrote
 * 68 bytes before the start of 'y'", "read past the end of 'x' (4 bytes
 * after its last byte)". The reason is "oob-write", "oob-read" or, for a
 * write into a read-only input, "input-modified"; NULL if the address is in
 * no buffer's mapping. */
static const char *describe_fault(const ck_case *c, const child_report *rep, char *msg, size_t len)
{
    uintptr_t a = rep->fault_addr;
    const char *did = rep->fault_write == 1 ? "wrote" : rep->fault_write == 0 ? "read" : "accessed memory";
    const char *reason = rep->fault_write == 0 ? "oob-read" : "oob-write";
    for (size_t i = 0; i < rep->n_regions && i < ck_case_n_bufs(c); i++) {
        const child_region *r = &rep->regions[i];
        const char *name = ck_case_buf_at(c, i)->name;
        if (a < r->lo || a >= r->hi)
            continue;
        if (a >= r->data && a < r->data + r->bytes) {
            snprintf(msg, len, "%s its read-only input '%s' (element %zu, %s)",
                     rep->fault_write == 0 ? "read" : "wrote into", name,
                     (size_t)(a - r->data) / ck_case_buf_at(c, i)->elem_size, rep->phase);
            return "input-modified";
        }
        if (a >= r->data + r->bytes)
            snprintf(msg, len, "%s past the end of '%s' (%zu bytes after its last byte, %s)", did, name,
                     (size_t)(a - r->data - r->bytes), rep->phase);
        else
            snprintf(msg, len, "%s %zu bytes before the start of '%s' (%s)", did, (size_t)(r->data - a), name,
                     rep->phase);
        return reason;
    }
    return NULL;
}

/* Wait for pid while none of its runs has taken more than timeout seconds
 * (a child that has not begun a run yet is setting up); 1 if it exited
 * (status in *st), 0 if it had to be killed. */
static int wait_with_timeout(pid_t pid, double timeout, const child_report *rep, int *st)
{
    /* a child stuck outside any run (say, starting threads) ends too */
    double deadline = now() + timeout * (CK_PARITY_N_THREAD_COUNTS + 3);
    long nap_ns = 20000;
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return 1;
        double started = rep->run_started;
        double t = now();
        if ((started > 0 && t >= started + timeout) || t >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, st, 0) < 0 && errno == EINTR)
                ;
            return 0;
        }
        struct timespec ts = {0, nap_ns};
        nanosleep(&ts, NULL);
        if (nap_ns < 5000000)
            nap_ns *= 2;
    }
}

void ck_parity_run_isolated(ck_case *c, const ck_kernel_desc *k, int n_threads, int checks, double timeout,
                            ck_run_outcome *o)
{
    memset(o, 0, sizeof *o);
    size_t out_bytes = (checks & CK_RUN_PROBE) ? 0 : ck_parity_output_bytes(c);
    for (size_t i = 0; (checks & CK_RUN_KEEP_SCRATCH) && i < ck_case_n_bufs(c); i++)
        if (ck_case_buf_at(c, i)->role == CK_BUF_SCRATCH)
            out_bytes += ck_case_buf_at(c, i)->bytes;
    if (checks & CK_RUN_CHECK_GUARDS)
        out_bytes += ck_parity_output_bytes(c); /* the end-aligned run's */
    o->map_len = REPORT_BYTES + out_bytes;
    void *map = mmap(NULL, o->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        o->map = NULL;
        o->state = CK_RUN_HARNESS_ERROR;
        snprintf(o->error, sizeof o->error, "cannot map %zu bytes for the child's outputs: %s", o->map_len,
                 strerror(errno));
        return;
    }
    o->map = map;
    child_report *rep = map;
    unsigned char *out = (unsigned char *)map + REPORT_BYTES;
    memset(rep, 0, sizeof *rep);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        o->state = CK_RUN_HARNESS_ERROR;
        snprintf(o->error, sizeof o->error, "fork failed: %s", strerror(errno));
        return;
    }
    if (pid == 0)
        child_main(c, k, n_threads, checks, rep, out);
    int st = 0;
    if (!wait_with_timeout(pid, timeout, rep, &st)) {
        o->state = CK_RUN_TIMED_OUT;
        snprintf(o->error, sizeof o->error, "did not return within %.3g s (killed)", timeout);
        return;
    }
    if (WIFSIGNALED(st)) {
        o->state = CK_RUN_CRASHED;
        o->signal = WTERMSIG(st);
        o->crash_reason = rep->faulted ? describe_fault(c, rep, o->error, sizeof o->error) : NULL;
        if (!o->crash_reason && rep->faulted)
            snprintf(o->error, sizeof o->error,
                     "crashed with signal %d (%s) at address %#lx, in no buffer of the case (%s)", o->signal,
                     strsignal(o->signal), (unsigned long)rep->fault_addr, rep->phase);
        else if (!o->crash_reason)
            snprintf(o->error, sizeof o->error, "crashed with signal %d (%s)", o->signal, strsignal(o->signal));
        return;
    }
    if (!rep->finished) {
        o->state = CK_RUN_CRASHED;
        snprintf(o->error, sizeof o->error, "the child exited with status %d before finishing",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return;
    }
    o->state = CK_RUN_DONE;
    o->kernel_rc = rep->kernel_rc;
    o->guard_bad = rep->guard_bad;
    o->input_bad = rep->input_bad;
    o->state_bad = rep->state_bad;
    o->split_bad = rep->split_bad;
    memcpy(o->state_msg, rep->state_msg, sizeof o->state_msg);
    memcpy(o->split_msg, rep->split_msg, sizeof o->split_msg);
    o->state_msg[sizeof o->state_msg - 1] = 0;
    o->split_msg[sizeof o->split_msg - 1] = 0;
    memcpy(o->guard_msg, rep->guard_msg, sizeof o->guard_msg);
    memcpy(o->input_msg, rep->input_msg, sizeof o->input_msg);
    o->guard_msg[sizeof o->guard_msg - 1] = 0;
    o->input_msg[sizeof o->input_msg - 1] = 0;
    o->seconds = rep->seconds;
    o->outputs = out;
    o->aligned_outputs = rep->aligned_done ? out + ck_parity_output_bytes(c) : NULL;
}

void ck_run_outcome_free(ck_run_outcome *o)
{
    if (o->map)
        munmap(o->map, o->map_len);
    o->map = NULL;
    o->outputs = NULL;
    free(o->bounds);
    o->bounds = NULL;
}
