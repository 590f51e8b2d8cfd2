/* Measure the machine's roofs (calibrate.h).
 *
 * Bandwidth: the STREAM triad a[i] = b[i] + s * c[i] over three double arrays
 * of at least 4x the last-level cache each, counted as STREAM counts it (24
 * bytes per element: two reads, one write, no write-allocate), best of several
 * passes, on one thread and on all threads.
 *
 * Compute: independent chains of FMAs kept in registers (enough chains to
 * cover the FMA latency on every pipe), 2 flops per lane per FMA, per ISA.
 * The AVX2 and AVX-512 loops are compiled for their ISA with function-level
 * target attributes (the rest of ckbench is built for the baseline) and run
 * only after CPUID says the CPU and OS support them. On AArch64, scalar FMA
 * and NEON are base ISA.
 *
 * Threads here are plain pthreads started behind a barrier, each with a fixed
 * share of the work: the measurement must not depend on how a work-stealing
 * pool happens to hand out chunks.
 *
 * On a shared machine a thread may be descheduled in the middle of a run,
 * which makes a roof look lower than the hardware is. So the FMA peak uses
 * each thread's CPU time (the longest of the team): compute is private to a
 * core. Bandwidth is shared by the cores, so the triad uses wall time, from
 * passes in which every thread ran throughout (its CPU time >= 90% of the
 * wall time); only if no pass was clean does it fall back to the best CPU
 * time on one thread and the best wall time on several (CPU time there
 * would count threads that took turns as running at once). */
#include "calibrate.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#else
#define CK_X86 0
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#define CK_ARM64 1
#else
#define CK_ARM64 0
#endif

#include "calibrate_internal.h"
#include "common/hugepages.h"
#include "common/sysinfo.h"

/* ---- run a function on n threads at once ---------------------------------- */

typedef struct team {
    pthread_barrier_t start;
    thread_work_fn fn;
    void *arg;
    int n;
    double *cpu_seconds; /* per member */
} team;

typedef struct member {
    team *t;
    int tid;
} member;

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void run_member(team *t, int tid)
{
    double c0 = thread_cpu_seconds();
    t->fn(t->arg, tid, t->n);
    t->cpu_seconds[tid] = thread_cpu_seconds() - c0;
}

static void *member_main(void *v)
{
    member *m = v;
    pthread_barrier_wait(&m->t->start);
    run_member(m->t, m->tid);
    return NULL;
}

double calibrate_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

team_time run_team(int n, thread_work_fn fn, void *arg)
{
    team t = {.fn = fn, .arg = arg, .n = n};
    pthread_t *th = calloc((size_t)n, sizeof *th);
    member *ms = calloc((size_t)n, sizeof *ms);
    t.cpu_seconds = calloc((size_t)n, sizeof *t.cpu_seconds);
    if (!th || !ms || !t.cpu_seconds || pthread_barrier_init(&t.start, NULL, (unsigned)n) != 0) {
        free(th);
        free(ms);
        free(t.cpu_seconds);
        return (team_time){-1.0, -1.0, -1.0};
    }
    for (int i = 1; i < n; i++) {
        ms[i] = (member){&t, i};
        if (pthread_create(&th[i], NULL, member_main, &ms[i]) != 0) {
            /* the threads already started wait at the barrier for ever: no way back */
            fprintf(stderr, "ckbench calibrate: cannot start thread %d of %d: %s\n", i + 1, n, strerror(errno));
            exit(2);
        }
    }
    pthread_barrier_wait(&t.start);
    double w0 = calibrate_wall_seconds();
    run_member(&t, 0);
    for (int i = 1; i < n; i++)
        pthread_join(th[i], NULL);
    double wall = calibrate_wall_seconds() - w0;
    double longest = 0, shortest = INFINITY;
    for (int i = 0; i < n; i++) {
        longest = t.cpu_seconds[i] > longest ? t.cpu_seconds[i] : longest;
        shortest = t.cpu_seconds[i] < shortest ? t.cpu_seconds[i] : shortest;
    }
    pthread_barrier_destroy(&t.start);
    free(th);
    free(ms);
    free(t.cpu_seconds);
    /* no per-thread CPU clock (some emulators): wall time is all there is */
    return (team_time){wall, longest > 0 ? longest : wall, shortest > 0 ? shortest : wall};
}

/* ---- stream triad ------------------------------------------------------------ */

typedef struct triad {
    double *a, *b, *c;
    size_t n;
    int init; /* 1: first-touch initialisation pass instead of the triad */
} triad;

static void triad_work(void *v, int tid, int n_threads)
{
    triad *t = v;
    size_t lo = t->n * (size_t)tid / (size_t)n_threads, hi = t->n * (size_t)(tid + 1) / (size_t)n_threads;
    double *restrict a = t->a;
    const double *restrict b = t->b, *restrict c = t->c;
    if (t->init) {
        for (size_t i = lo; i < hi; i++) {
            t->a[i] = 0.0;
            t->b[i] = 1.0;
            t->c[i] = 2.0;
        }
        return;
    }
    const double s = 3.0;
    for (size_t i = lo; i < hi; i++)
        a[i] = b[i] + s * c[i];
}

static double measure_triad(triad *t, int threads, int passes)
{
    double best_clean = INFINITY, best_other = INFINITY;
    t->init = 0;
    for (int p = 0; p < passes; p++) {
        team_time tt = run_team(threads, triad_work, t);
        if (tt.wall <= 0)
            continue;
        if (tt.cpu_min >= 0.9 * tt.wall && tt.wall < best_clean)
            best_clean = tt.wall;
        /* no clean pass: one thread's CPU time, several threads' wall time
         * (calibrate_best_shared_rate says why) */
        double other = threads > 1 ? tt.wall : tt.cpu_max;
        if (other > 0 && other < best_other)
            best_other = other;
    }
    double best = isfinite(best_clean) ? best_clean : best_other;
    return 3.0 * sizeof(double) * (double)t->n / best / 1e9;
}

/* A section of the measurement (prog may be NULL). */
static void next(ck_progress *prog, size_t done, const char *fmt, const char *a, int n)
{
    if (!prog)
        return;
    char section[96];
    snprintf(section, sizeof section, fmt, a, n);
    ck_progress_step(prog, done, NULL);
    ck_progress_section(prog, section);
}

static int measure_bandwidth(ck_roofs *r, int quick, ck_progress *prog, char *err, size_t err_len)
{
    size_t bytes = 4 * r->llc_bytes;
    if (bytes < ((size_t)64 << 20))
        bytes = (size_t)64 << 20;
    triad t = {.n = bytes / sizeof(double)};
    t.a = ck_alloc_huge(64, bytes);
    t.b = ck_alloc_huge(64, bytes);
    t.c = ck_alloc_huge(64, bytes);
    if (!t.a || !t.b || !t.c) {
        snprintf(err, err_len, "calibrate: cannot allocate 3 x %zu MiB for the stream triad", bytes >> 20);
        free(t.a);
        free(t.b);
        free(t.c);
        return -1;
    }
    r->triad_array_bytes = bytes;
    t.init = 1;
    run_team(r->threads, triad_work, &t); /* first touch from the threads that will use the pages */
    int passes = quick ? 4 : 15;
    next(prog, 0, "stream triad%s on %d thread", "", 1);
    r->triad_gbs[CK_ROOF_ONE_THREAD] = measure_triad(&t, 1, passes);
    next(prog, 1, "stream triad%s on %d threads", "", r->threads);
    r->triad_gbs[CK_ROOF_ALL_THREADS] = measure_triad(&t, r->threads, passes);
    free(t.a);
    free(t.b);
    free(t.c);
    return 0;
}

/* ---- peak FMA rate -------------------------------------------------------------- */
/* Each loop runs `iters` rounds of N_CHAINS independent FMAs acc = acc * m + c
 * (m slightly below 1 keeps every value bounded and normal) and returns a sum
 * of the accumulators so that nothing can be optimised away. */


#if CK_X86
#define SCALAR_CHAINS 12
__attribute__((target("fma"))) static float fma_loop_scalar(uint64_t iters)
{
#define DECL(i) __m128 acc##i = _mm_set_ss(1.0f + (float)(i)*1e-3f);
#define STEP(i) acc##i = _mm_fmadd_ss(acc##i, m, c);
#define SUM(i) s = _mm_add_ss(s, acc##i);
    const __m128 m = _mm_set1_ps(0.999999f), c = _mm_set1_ps(1e-6f);
    REP12(DECL)
    for (uint64_t k = 0; k < iters; k++) {
        REP12(STEP)
        __asm__ volatile("" ::: "memory");
    }
    __m128 s = _mm_setzero_ps();
    REP12(SUM)
    return _mm_cvtss_f32(s);
#undef DECL
#undef STEP
#undef SUM
}

#define AVX2_CHAINS 12
__attribute__((target("avx2,fma"))) static float fma_loop_avx2(uint64_t iters)
{
#define DECL(i) __m256 acc##i = _mm256_set1_ps(1.0f + (float)(i)*1e-3f);
#define STEP(i) acc##i = _mm256_fmadd_ps(acc##i, m, c);
#define SUM(i) s = _mm256_add_ps(s, acc##i);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    REP12(DECL)
    for (uint64_t k = 0; k < iters; k++) {
        REP12(STEP)
        __asm__ volatile("" ::: "memory");
    }
    __m256 s = _mm256_setzero_ps();
    REP12(SUM)
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
#undef DECL
#undef STEP
#undef SUM
}

#define AVX512_CHAINS 24
__attribute__((target("avx512f"))) static float fma_loop_avx512(uint64_t iters)
{
#define DECL(i) __m512 acc##i = _mm512_set1_ps(1.0f + (float)(i)*1e-3f);
#define STEP(i) acc##i = _mm512_fmadd_ps(acc##i, m, c);
#define SUM(i) s = _mm512_add_ps(s, acc##i);
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    REP24(DECL)
    for (uint64_t k = 0; k < iters; k++) {
        REP24(STEP)
        __asm__ volatile("" ::: "memory");
    }
    __m512 s = _mm512_setzero_ps();
    REP24(SUM)
    return _mm512_reduce_add_ps(s);
#undef DECL
#undef STEP
#undef SUM
}

#endif

#if CK_ARM64
/* AArch64: NEON and scalar FMA are part of the base ISA. */
#define SCALAR_CHAINS 12
static float fma_loop_scalar(uint64_t iters)
{
#define DECL(i) float acc##i = 1.0f + (float)(i)*1e-3f;
#define STEP(i) acc##i = __builtin_fmaf(acc##i, m, c);
#define SUM(i) s += acc##i;
    const float m = 0.999999f, c = 1e-6f;
    REP12(DECL)
    for (uint64_t k = 0; k < iters; k++) {
        REP12(STEP)
        __asm__ volatile("" ::: "memory");
    }
    float s = 0.0f;
    REP12(SUM)
    return s;
#undef DECL
#undef STEP
#undef SUM
}

#define NEON_CHAINS 24
static float fma_loop_neon(uint64_t iters)
{
#define DECL(i) float32x4_t acc##i = vdupq_n_f32(1.0f + (float)(i)*1e-3f);
#define STEP(i) acc##i = vfmaq_f32(c, acc##i, m);
#define SUM(i) s = vaddq_f32(s, acc##i);
    const float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-6f);
    REP24(DECL)
    for (uint64_t k = 0; k < iters; k++) {
        REP24(STEP)
        __asm__ volatile("" ::: "memory");
    }
    float32x4_t s = vdupq_n_f32(0.0f);
    REP24(SUM)
    return vaddvq_f32(s);
#undef DECL
#undef STEP
#undef SUM
}
#endif

int ck_isa_supported(int isa)
{
#if CK_X86
    __builtin_cpu_init();
    switch (isa) {
    case CK_ISA_SCALAR: return __builtin_cpu_supports("fma");
    case CK_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CK_ISA_AVX512: return __builtin_cpu_supports("avx512f");
    default: return 0;
    }
#elif CK_ARM64
    return isa == CK_ISA_SCALAR || isa == CK_ISA_NEON;
#else
    (void)isa;
    return 0;
#endif
}

/* Flops of one round of a loop: chains x lanes x 2. */
static double flops_per_round(int isa)
{
#if CK_X86
    switch (isa) {
    case CK_ISA_SCALAR: return SCALAR_CHAINS * 1 * 2.0;
    case CK_ISA_AVX2: return AVX2_CHAINS * 8 * 2.0;
    case CK_ISA_AVX512: return AVX512_CHAINS * 16 * 2.0;
    }
#elif CK_ARM64
    switch (isa) {
    case CK_ISA_SCALAR: return SCALAR_CHAINS * 1 * 2.0;
    case CK_ISA_NEON: return NEON_CHAINS * 4 * 2.0;
    }
#endif
    (void)isa;
    return 0.0;
}

typedef struct fma_job {
    int isa;
    uint64_t iters;
    volatile float sink;
} fma_job;

static void fma_work(void *v, int tid, int n_threads)
{
    (void)tid;
    (void)n_threads;
    fma_job *j = v;
    float r = 0.0f;
#if CK_X86
    switch (j->isa) {
    case CK_ISA_SCALAR: r = fma_loop_scalar(j->iters); break;
    case CK_ISA_AVX2: r = fma_loop_avx2(j->iters); break;
    case CK_ISA_AVX512: r = fma_loop_avx512(j->iters); break;
    }
#elif CK_ARM64
    switch (j->isa) {
    case CK_ISA_SCALAR: r = fma_loop_scalar(j->iters); break;
    case CK_ISA_NEON: r = fma_loop_neon(j->iters); break;
    }
#endif
    if (tid == 0)
        j->sink = r;
}

/* GFLOP/s of one ISA on `threads` threads: the best of `reps` runs of about
 * `target` seconds each. The best, not the mean: on a shared machine every
 * disturbance makes a run slower, never faster. */
static double measure_fma(int isa, int threads, double target, int reps)
{
    fma_job j = {.isa = isa, .iters = 1000};
    return flops_per_round(isa) * calibrate_best_rate(fma_work, &j, &j.iters, threads, target, reps) / 1e9;
}

size_t ck_dram_set_bytes(size_t llc_bytes)
{
    size_t s = CK_DRAM_LLC_MULTIPLE * llc_bytes;
    return s > ((size_t)64 << 20) ? s : (size_t)64 << 20;
}

double calibrate_best_rate(thread_work_fn fn, void *job, uint64_t *iters, int threads, double target, int reps)
{
    double dt = 0;
    while ((dt = run_team(1, fn, job).cpu_max) < target / 8 && *iters < (1ull << 40))
        *iters *= 4;
    *iters = (uint64_t)((double)*iters * target / (dt > 0 ? dt : 1e-3)) + 1;
    double best = INFINITY;
    for (int rep = 0; rep < reps; rep++) {
        double t = run_team(threads, fn, job).cpu_max;
        if (t > 0 && t < best)
            best = t;
    }
    return (double)*iters * threads / best;
}

double calibrate_best_shared_rate(thread_work_fn fn, void *job, uint64_t *iters, int threads, double target, int reps)
{
    if (threads <= 1)
        return calibrate_best_rate(fn, job, iters, threads, target, reps);
    double dt = 0;
    while ((dt = run_team(1, fn, job).cpu_max) < target / 8 && *iters < (1ull << 40))
        *iters *= 4;
    *iters = (uint64_t)((double)*iters * target / (dt > 0 ? dt : 1e-3)) + 1;
    /* Clean runs only: a member that was descheduled for part of a run left
     * the bandwidth to the others meanwhile, so every member's CPU time is
     * short of the wall time and CPU time would count the threads' bandwidth
     * one after another as if it were at once (on a busy 2-CPU VM: 80 GB/s
     * "on 2 threads" where 2 threads at once read 45). More tries than reps
     * when the machine is busy, then the best wall time as the last resort:
     * low on a busy machine (the roofs file says it was busy), but what the
     * bench rows, timed by the wall clock, can reach there. */
    double best_clean = INFINITY, best_wall = INFINITY;
    for (int rep = 0; rep < 4 * reps && (rep < reps || !isfinite(best_clean)); rep++) {
        team_time tt = run_team(threads, fn, job);
        if (tt.wall <= 0)
            continue;
        if (tt.cpu_min >= 0.9 * tt.wall && tt.wall < best_clean)
            best_clean = tt.wall;
        if (tt.wall < best_wall)
            best_wall = tt.wall;
    }
    double best = isfinite(best_clean) ? best_clean : best_wall;
    return (double)*iters * threads / best;
}

int ck_roofs_measure(ck_roofs *r, int threads, int quick, ck_progress *prog, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    ck_sys_host(r->host, sizeof r->host);
    ck_sys_cpu_model(r->cpu, sizeof r->cpu);
    ck_sys_utc_iso(r->measured_at, sizeof r->measured_at);
    r->threads = threads > 0 ? threads : ck_sys_ncpus();
    r->llc_bytes = ck_sys_llc_bytes();
    r->mode = quick ? CK_ROOFS_QUICK : CK_ROOFS_FULL;
    r->cpus = ck_sys_ncpus();
    double before = -1;
    if (getloadavg(&before, 1) != 1)
        before = -1;
    size_t steps = 4; /* bandwidth (2), dot peaks, levels */
    for (int isa = 0; isa < CK_ISA_COUNT; isa++)
        steps += ck_isa_supported(isa) ? 2 : 0;
    if (prog)
        ck_progress_total(prog, steps);
    if (measure_bandwidth(r, quick, prog, err, err_len) != 0)
        return -1;
    double target = quick ? 0.03 : 0.08;
    int reps = quick ? 3 : 9;
    size_t done = 2;
    for (int isa = 0; isa < CK_ISA_COUNT; isa++) {
        if (!ck_isa_supported(isa))
            continue; /* the roofs list only what was measured */
        next(prog, done++, "%s FMA peak on %d thread", ck_isa_name(isa), 1);
        r->peak_gflops[isa][CK_ROOF_ONE_THREAD] = measure_fma(isa, 1, target, reps);
        next(prog, done++, "%s FMA peak on %d threads", ck_isa_name(isa), r->threads);
        r->peak_gflops[isa][CK_ROOF_ALL_THREADS] = measure_fma(isa, r->threads, target, reps);
    }
    /* the int8 and bf16 dot-product peaks (calibrate_dot.c; the bf16 one is
     * also the compute-bf16 roof), then bandwidth per memory level
     * (calibrate_levels.c); a figure the CPU lacks stays 0 */
    next(prog, done++, "%s on %d and all threads", "dot-product peaks", 1);
    calibrate_dot_peaks(r, target, reps, NULL);
    next(prog, done++, "%s (L1, L2, L3, DRAM; %d and all threads)", "per-level bandwidth", 1);
    calibrate_levels(r, quick, NULL);
    if (prog)
        ck_progress_step(prog, done, NULL);
    /* the 1-minute average lags: the higher of the two readings is the
     * fairer picture of what shared the machine while it was measured */
    double after = -1;
    if (getloadavg(&after, 1) != 1)
        after = -1;
    r->load_avg = after > before ? after : before;
    return 0;
}
