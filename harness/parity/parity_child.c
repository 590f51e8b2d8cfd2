/* Run one kernel on one case in a forked child: a crash, a hang or a stray
 * write must not take the gate down with it. The child builds its own exec
 * context (a thread pool must not cross fork), runs the kernel, checks the
 * canaries and the read-only inputs, and copies the outputs into a shared
 * anonymous mapping the parent reads after the child has exited. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parity.h"

typedef struct child_report {
    int finished; /* set last: the child got through every step */
    int kernel_rc;
    int guard_bad, input_bad;
    char guard_msg[256], input_msg[256];
    double seconds;
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

static _Noreturn void child_main(ck_case *c, const ck_kernel_desc *k, int n_threads, child_report *rep,
                                 unsigned char *out)
{
    /* a plugin's chatter must not end up in the table on stdout */
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
        dup2(devnull, STDOUT_FILENO);
    restore_default_fault_handlers();
    /* a crashing kernel is expected here: no core file per case */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    ck_exec_ctx *ctx = ck_exec_create(n_threads);
    if (!ctx)
        _exit(3);
    /* no reset: the parent never runs kernels, so c is as ck_case_create
     * left it, and this child has its own copy-on-write pages of it */
    double t0 = now();
    rep->kernel_rc = ck_case_run_noreset(c, k, ctx);
    rep->seconds = now() - t0;
    rep->guard_bad = ck_case_check_guards(c, rep->guard_msg, sizeof rep->guard_msg);
    rep->input_bad = ck_case_check_inputs(c, rep->input_msg, sizeof rep->input_msg);
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        memcpy(out, b->data, b->bytes);
        out += b->bytes;
    }
    rep->finished = 1;
    /* no ck_exec_destroy: _exit ends the workers, and a broken kernel may
     * have left them in any state */
    _exit(0);
}

/* Wait for pid up to timeout seconds; 1 if it exited (status in *st), 0 if
 * it had to be killed. */
static int wait_with_timeout(pid_t pid, double timeout, int *st)
{
    double deadline = now() + timeout;
    long nap_ns = 20000;
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return 1;
        if (now() >= deadline) {
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

void ck_parity_run_isolated(ck_case *c, const ck_kernel_desc *k, int n_threads, double timeout, ck_run_outcome *o)
{
    memset(o, 0, sizeof *o);
    size_t out_bytes = ck_parity_output_bytes(c);
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
        child_main(c, k, n_threads, rep, out);
    int st = 0;
    if (!wait_with_timeout(pid, timeout, &st)) {
        o->state = CK_RUN_TIMED_OUT;
        snprintf(o->error, sizeof o->error, "did not return within %.3g s (killed)", timeout);
        return;
    }
    if (WIFSIGNALED(st)) {
        o->state = CK_RUN_CRASHED;
        o->signal = WTERMSIG(st);
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
    memcpy(o->guard_msg, rep->guard_msg, sizeof o->guard_msg);
    memcpy(o->input_msg, rep->input_msg, sizeof o->input_msg);
    o->guard_msg[sizeof o->guard_msg - 1] = 0;
    o->input_msg[sizeof o->input_msg - 1] = 0;
    o->seconds = rep->seconds;
    o->outputs = out;
}

void ck_run_outcome_free(ck_run_outcome *o)
{
    if (o->map)
        munmap(o->map, o->map_len);
    o->map = NULL;
    o->outputs = NULL;
}
