/* The host's execution context: a small persistent thread pool behind
 * ck_exec_ctx.parallel_for, and per-thread scratch buffers. Threads belong to
 * the host so that --threads N means the same for every plugin. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ck_host.h"

typedef struct scratch_buf {
    void *p;
    size_t cap;
} scratch_buf;

typedef struct pool {
    ck_exec_ctx ctx; /* first: plugins get &pool->ctx */
    pthread_t *threads;
    atomic_int *kernel_tids; /* each worker's kernel thread id, once it has run (for counting it) */
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    atomic_ulong generation; /* bumped (under mu) for each job */
    atomic_int done_workers;
    atomic_int stop;
    int spin_polls;
    /* the current job */
    ck_range_fn fn;
    void *arg;
    size_t n, chunk; /* chunk: the smallest claim (the grain) */
    atomic_size_t next;
    scratch_buf *scratch; /* n_threads + 1 (the last is CK_SCRATCH_SHARED) */
    /* The first floating-point state a kernel left behind on a worker (the
     * worker put its own back at once); read and cleared by
     * ck_exec_workers_state_changed. */
    atomic_int state_bad;
    char state_msg[200];
} pool;

/* Guided self-scheduling: each claim takes half of what is left divided by
 * the threads (never less than the grain), so the first chunks are large and
 * the last ones small, and the threads finish within a small chunk of each
 * other even when items are few (43 GEMM column blocks on 2 threads split
 * 22/21 rather than 24/19 with fixed chunks). */
static void run_chunks(pool *pl, int tid)
{
    size_t nt2 = 2 * (size_t)pl->ctx.n_threads;
    for (;;) {
        size_t b = atomic_load_explicit(&pl->next, memory_order_relaxed), c;
        do {
            if (b >= pl->n)
                return;
            size_t rest = pl->n - b;
            c = rest / nt2 > pl->chunk ? rest / nt2 : pl->chunk;
            c = c < rest ? c : rest;
        } while (!atomic_compare_exchange_weak(&pl->next, &b, b + c));
        pl->fn(pl->arg, b, b + c, tid);
    }
}

typedef struct worker_arg {
    pool *pl;
    int tid;
} worker_arg;

/* MXCSR / FPCR are per thread: a kernel that sets flush-to-zero inside its
 * parallel_for body changes the workers, not the caller, and every later
 * kernel on them. Each worker compares after each job with the state it
 * started with (inherited from the thread that made the pool), puts it
 * back and keeps the first offence for the host to report. */
static void check_worker_state(pool *pl, int tid, const ck_host_state *base)
{
    char what[160];
    if (!ck_host_state_changed(base, what, sizeof what))
        return;
    ck_host_state_restore(base);
    int expected = 0;
    if (atomic_compare_exchange_strong(&pl->state_bad, &expected, -1)) {
        snprintf(pl->state_msg, sizeof pl->state_msg, "%s on pool worker %d", what, tid);
        atomic_store(&pl->state_bad, 1);
    }
}

/* Kernels of a model come back to back: a worker that just finished polls
 * for the next job (and the caller for the workers) this many times, about
 * 100 us (a pause is 23 ns on the development VM), before sleeping on a
 * condition variable, so a small op does not pay a futex wake-up per call
 * (measured on 2 idle cores: 0.5 us per parallel_for instead of 9 us). The
 * window covers the serial stretch of a decode step, rope and a
 * one-chunk attention on the caller (40-50 us at LLaMA-7B's shapes): with
 * 1000 polls (24 us) the worker slept through it and joined the next
 * matvec a wake-up late (out_proj on 2 threads in the generation loop:
 * 192-216 us against 145-184 us for the same calls back to back; 144-151
 * against 136-148 with 4000). On a machine shared with other loads
 * spinning steals their time: CK_SPIN=0 turns it off. */
#define DEFAULT_SPIN_POLLS 4000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void *worker_main(void *v)
{
    worker_arg wa = *(worker_arg *)v;
    free(v);
    pool *pl = wa.pl;
    ck_host_state base;
    ck_host_state_save(&base);
    atomic_store(&pl->kernel_tids[wa.tid - 1], (int)syscall(SYS_gettid));
    unsigned long seen = 0;
    for (;;) {
        for (int i = 0; i < pl->spin_polls && atomic_load_explicit(&pl->generation, memory_order_acquire) == seen &&
                        !atomic_load_explicit(&pl->stop, memory_order_relaxed);
             i++)
            cpu_relax();
        pthread_mutex_lock(&pl->mu);
        while (atomic_load(&pl->generation) == seen && !pl->stop)
            pthread_cond_wait(&pl->cv_work, &pl->mu);
        if (pl->stop) {
            pthread_mutex_unlock(&pl->mu);
            return NULL;
        }
        seen = atomic_load(&pl->generation);
        pthread_mutex_unlock(&pl->mu);
        run_chunks(pl, wa.tid);
        check_worker_state(pl, wa.tid, &base);
        if (atomic_fetch_add(&pl->done_workers, 1) + 1 == pl->ctx.n_threads - 1) {
            pthread_mutex_lock(&pl->mu);
            pthread_cond_signal(&pl->cv_done);
            pthread_mutex_unlock(&pl->mu);
        }
    }
}

static int start_workers(pool *pl)
{
    if (pl->threads) /* tried before (ck_exec_thread_ids starts them too) */
        return pl->started > 0 ? 0 : -1;
    int nw = pl->ctx.n_threads - 1;
    pl->threads = calloc((size_t)nw, sizeof *pl->threads);
    pl->kernel_tids = calloc((size_t)nw, sizeof *pl->kernel_tids);
    if (!pl->threads || !pl->kernel_tids)
        return -1;
    for (int i = 0; i < nw; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa)
            return -1;
        wa->pl = pl;
        wa->tid = i + 1;
        if (pthread_create(&pl->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            return -1;
        }
        pl->started++;
    }
    return 0;
}

static void pool_parallel_for(const ck_exec_ctx *ctx, size_t n, size_t grain, ck_range_fn fn, void *arg)
{
    pool *pl = (pool *)ctx->host;
    if (n == 0)
        return;
    if (grain == 0)
        grain = 1;
    int nt = ctx->n_threads;
    if (nt <= 1 || n <= grain || (!pl->started && start_workers(pl) != 0 && pl->started == 0)) {
        fn(arg, 0, n, 0);
        return;
    }
    size_t chunk = grain;
    pthread_mutex_lock(&pl->mu);
    pl->fn = fn;
    pl->arg = arg;
    pl->n = n;
    pl->chunk = chunk;
    atomic_store(&pl->next, 0);
    atomic_store(&pl->done_workers, nt - 1 - pl->started); /* workers that failed to start count as done */
    atomic_fetch_add_explicit(&pl->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pl->cv_work);
    pthread_mutex_unlock(&pl->mu);
    run_chunks(pl, 0);
    for (int i = 0; i < pl->spin_polls && atomic_load_explicit(&pl->done_workers, memory_order_acquire) < nt - 1; i++)
        cpu_relax();
    pthread_mutex_lock(&pl->mu);
    while (atomic_load(&pl->done_workers) < nt - 1)
        pthread_cond_wait(&pl->cv_done, &pl->mu);
    pthread_mutex_unlock(&pl->mu);
}

static void *pool_scratch(const ck_exec_ctx *ctx, int tid, size_t bytes)
{
    pool *pl = (pool *)ctx->host;
    int slot = tid == CK_SCRATCH_SHARED ? ctx->n_threads : tid;
    if (slot < 0 || slot > ctx->n_threads)
        return NULL;
    scratch_buf *s = &pl->scratch[slot];
    if (bytes == 0)
        bytes = 64;
    if (s->cap < bytes) {
        size_t cap = (bytes + 4095) & ~(size_t)4095;
        void *p = aligned_alloc(64, cap);
        if (!p)
            return NULL;
        free(s->p);
        s->p = p;
        s->cap = cap;
    }
    return s->p;
}

ck_exec_ctx *ck_exec_create(int n_threads)
{
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads > 1024)
        n_threads = 1024;
    pool *pl = calloc(1, sizeof *pl);
    if (!pl)
        return NULL;
    pl->scratch = calloc((size_t)n_threads + 1, sizeof *pl->scratch);
    if (!pl->scratch) {
        free(pl);
        return NULL;
    }
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv_work, NULL);
    pthread_cond_init(&pl->cv_done, NULL);
    const char *spin = getenv("CK_SPIN");
    pl->spin_polls = spin && *spin ? atoi(spin) : DEFAULT_SPIN_POLLS;
    pl->ctx.struct_size = sizeof(ck_exec_ctx);
    pl->ctx.n_threads = n_threads;
    pl->ctx.parallel_for = pool_parallel_for;
    pl->ctx.scratch = pool_scratch;
    pl->ctx.host = pl;
    return &pl->ctx;
}

void ck_exec_destroy(ck_exec_ctx *ctx)
{
    if (!ctx)
        return;
    pool *pl = (pool *)ctx->host;
    pthread_mutex_lock(&pl->mu);
    atomic_store(&pl->stop, 1);
    pthread_cond_broadcast(&pl->cv_work);
    pthread_mutex_unlock(&pl->mu);
    for (int i = 0; i < pl->started; i++)
        pthread_join(pl->threads[i], NULL);
    free(pl->threads);
    free(pl->kernel_tids);
    for (int i = 0; i <= ctx->n_threads; i++)
        free(pl->scratch[i].p);
    free(pl->scratch);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv_work);
    pthread_cond_destroy(&pl->cv_done);
    free(pl);
}

int ck_exec_thread_ids(const ck_exec_ctx *ctx, int *tids, int cap)
{
    pool *pl = (pool *)ctx->host;
    if (ctx->n_threads > 1)
        start_workers(pl);
    int n = 0;
    for (int i = 0; i < pl->started && n < cap; i++) {
        int tid;
        while ((tid = atomic_load(&pl->kernel_tids[i])) == 0) /* it has not run its first line yet */
            sched_yield();
        tids[n++] = tid;
    }
    return n;
}

int ck_exec_workers_state_changed(const ck_exec_ctx *ctx, char *msg, size_t len)
{
    pool *pl = (pool *)ctx->host;
    if (len)
        msg[0] = 0;
    if (!pl)
        return 0;
    /* parallel_for has returned: every worker's record is complete (1), or none began */
    if (atomic_load(&pl->state_bad) != 1)
        return 0;
    if (len)
        snprintf(msg, len, "%s", pl->state_msg);
    atomic_store(&pl->state_bad, 0);
    return 1;
}
