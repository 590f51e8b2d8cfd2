/* Bandwidth per memory level (calibrate_internal.h): read and triad over a
 * working set sized to live in L1, L2, L3 or DRAM, on one thread and on all.
 *
 * Sizes: half of a private cache per thread (L1, L2: the other half leaves
 * room for the stack, the page tables and the next level's victims); half of
 * the shared L3 split over the threads, never below twice the L2 (else the
 * set would fit the L2); DRAM ck_dram_set_bytes in total (calibrate.h: 8x the
 * last-level cache, what a cold bench row rotates through too). Each thread reads and writes only its own
 * slice, first touched by itself.
 *
 * Read is a sum of 64-bit integers (integer adds reassociate freely, so the
 * loop is limited by loads, not by an add chain); triad is a[i] = b[i] +
 * s*c[i], counted as STREAM counts it (24 bytes per element). At DRAM three
 * more, so that the roofline can price a row's writes (roofline.c): the
 * triad again with streaming stores (no write-allocate read of a; the
 * better of the two is kept: the roof is what the machine can do), a copy
 * a[i] = s*b[i] (STREAM's scale, 16 bytes per element; plain and streaming
 * stores, the better kept: a write beside one read costs a core more than
 * beside two), and an update in place, a[i] = s*a[i], counted as a read and
 * a write of a. All use the
 * widest vectors the CPU has (function-level target attributes, run only
 * after CPUID says so): a baseline SSE2 loop cannot reach an L1's bandwidth.
 *
 * Timing: the best of several runs, each long enough to repeat the pass many
 * times; on one thread by CPU time, on several by the wall time of runs in
 * which every thread ran throughout, as the stream triad of calibrate.c:
 * bandwidth is shared by the cores, and the longest CPU time of a team whose
 * members took turns on a busy machine counts their bandwidth one after
 * another as if it were at once (calibrate_best_shared_rate). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#else
#define CK_X86 0
#endif

#include "calibrate_internal.h"
#include "placement.h"
#include "common/hugepages.h"
#include "common/sysinfo.h"

typedef struct level_job {
    unsigned char *base; /* threads x stride bytes */
    size_t stride;       /* bytes per thread, a multiple of 256 */
    size_t set;          /* bytes touched per thread and pass (<= stride) */
    uint64_t iters;      /* passes per run */
    int kind;            /* LOOP_* */
    int width;           /* 512, 256 or 0 (plain C) */
    volatile uint64_t sink;
} level_job;

enum { LOOP_READ, LOOP_TRIAD, LOOP_TRIAD_NT, LOOP_UPDATE, LOOP_COPY, LOOP_COPY_NT };

/* ---- the loops: n is a multiple of 32 (read: uint64; triad, copy: doubles) ---------- */

static uint64_t read_plain(const uint64_t *p, size_t n)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

static void triad_plain(double *restrict a, const double *restrict b, const double *restrict c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + 3.0 * c[i];
}

/* The copy's and the update's s = 1.0, read from a volatile: the values
 * stay what touch_work wrote, pass after pass, and a compiler that saw the
 * 1.0 would drop the multiply, then the update's store of a[i] to itself,
 * then the loop. */
static volatile double update_scale = 1.0;

#if CK_X86
__attribute__((target("avx512f"))) static uint64_t read_512(const uint64_t *p, size_t n)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 32) {
        s0 = _mm512_add_epi64(s0, _mm512_load_si512((const void *)(p + i)));
        s1 = _mm512_add_epi64(s1, _mm512_load_si512((const void *)(p + i + 8)));
        s2 = _mm512_add_epi64(s2, _mm512_load_si512((const void *)(p + i + 16)));
        s3 = _mm512_add_epi64(s3, _mm512_load_si512((const void *)(p + i + 24)));
    }
    /* unsigned lanes summed here: _mm512_reduce_add_epi64 adds as signed (UB on overflow) */
    uint64_t lanes[8], sum = 0;
    _mm512_storeu_si512((void *)lanes, _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
    for (int i = 0; i < 8; i++)
        sum += lanes[i];
    return sum;
}

__attribute__((target("avx512f"))) static void triad_512(double *a, const double *b, const double *c, size_t n, int nt)
{
    const __m512d s = _mm512_set1_pd(3.0);
    if (nt) {
        for (size_t i = 0; i < n; i += 8)
            _mm512_stream_pd(a + i, _mm512_fmadd_pd(_mm512_load_pd(c + i), s, _mm512_load_pd(b + i)));
        _mm_sfence();
        return;
    }
    for (size_t i = 0; i < n; i += 8)
        _mm512_store_pd(a + i, _mm512_fmadd_pd(_mm512_load_pd(c + i), s, _mm512_load_pd(b + i)));
}

__attribute__((target("avx512f"))) static void copy_512(double *a, const double *b, size_t n, int nt)
{
    const __m512d s = _mm512_set1_pd(update_scale);
    if (nt) {
        for (size_t i = 0; i < n; i += 8)
            _mm512_stream_pd(a + i, _mm512_mul_pd(_mm512_load_pd(b + i), s));
        _mm_sfence();
        return;
    }
    for (size_t i = 0; i < n; i += 8)
        _mm512_store_pd(a + i, _mm512_mul_pd(_mm512_load_pd(b + i), s));
}

__attribute__((target("avx2"))) static uint64_t read_256(const uint64_t *p, size_t n)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 16) {
        s0 = _mm256_add_epi64(s0, _mm256_load_si256((const __m256i *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_load_si256((const __m256i *)(p + i + 4)));
        s2 = _mm256_add_epi64(s2, _mm256_load_si256((const __m256i *)(p + i + 8)));
        s3 = _mm256_add_epi64(s3, _mm256_load_si256((const __m256i *)(p + i + 12)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, s);
    return out[0] + out[1] + out[2] + out[3];
}

__attribute__((target("avx2,fma"))) static void triad_256(double *a, const double *b, const double *c, size_t n, int nt)
{
    const __m256d s = _mm256_set1_pd(3.0);
    if (nt) {
        for (size_t i = 0; i < n; i += 4)
            _mm256_stream_pd(a + i, _mm256_fmadd_pd(_mm256_load_pd(c + i), s, _mm256_load_pd(b + i)));
        _mm_sfence();
        return;
    }
    for (size_t i = 0; i < n; i += 4)
        _mm256_store_pd(a + i, _mm256_fmadd_pd(_mm256_load_pd(c + i), s, _mm256_load_pd(b + i)));
}

__attribute__((target("avx2"))) static void copy_256(double *a, const double *b, size_t n, int nt)
{
    const __m256d s = _mm256_set1_pd(update_scale);
    if (nt) {
        for (size_t i = 0; i < n; i += 4)
            _mm256_stream_pd(a + i, _mm256_mul_pd(_mm256_load_pd(b + i), s));
        _mm_sfence();
        return;
    }
    for (size_t i = 0; i < n; i += 4)
        _mm256_store_pd(a + i, _mm256_mul_pd(_mm256_load_pd(b + i), s));
}
#endif

static uint64_t read_pass(int width, const uint64_t *p, size_t n)
{
#if CK_X86
    if (width == 512)
        return read_512(p, n);
    if (width == 256)
        return read_256(p, n);
#endif
    (void)width;
    return read_plain(p, n);
}

/* nt: streaming stores (the plain C loops have none: they store plainly) */
static void triad_pass(int width, double *a, const double *b, const double *c, size_t n, int nt)
{
#if CK_X86
    if (width == 512) {
        triad_512(a, b, c, n, nt);
        return;
    }
    if (width == 256) {
        triad_256(a, b, c, n, nt);
        return;
    }
#endif
    (void)width;
    (void)nt;
    triad_plain(a, b, c, n);
}

/* a[i] = s b[i]; with b == a (plain stores) the update in place */
static void copy_pass(int width, double *a, const double *b, size_t n, int nt)
{
#if CK_X86
    if (width == 512) {
        copy_512(a, b, n, nt);
        return;
    }
    if (width == 256) {
        copy_256(a, b, n, nt);
        return;
    }
#endif
    (void)width;
    (void)nt;
    const double s = update_scale;
    for (size_t i = 0; i < n; i++)
        a[i] = s * b[i];
}

static void level_work(void *v, int tid, int n_threads)
{
    (void)n_threads;
    level_job *j = v;
    unsigned char *mine = j->base + (size_t)tid * j->stride;
    uint64_t sum = 0;
    if (j->kind == LOOP_TRIAD || j->kind == LOOP_TRIAD_NT) {
        size_t n = j->set / 3 / sizeof(double) / 32 * 32; /* three arrays */
        double *a = (double *)mine, *b = a + n, *c = b + n;
        for (uint64_t k = 0; k < j->iters; k++) {
            triad_pass(j->width, a, b, c, n, j->kind == LOOP_TRIAD_NT);
            __asm__ volatile("" ::: "memory");
        }
    } else if (j->kind == LOOP_COPY || j->kind == LOOP_COPY_NT) {
        size_t n = j->set / 2 / sizeof(double) / 32 * 32; /* two arrays */
        double *a = (double *)mine, *b = a + n;
        for (uint64_t k = 0; k < j->iters; k++) {
            copy_pass(j->width, a, b, n, j->kind == LOOP_COPY_NT);
            __asm__ volatile("" ::: "memory");
        }
    } else if (j->kind == LOOP_UPDATE) {
        for (uint64_t k = 0; k < j->iters; k++) {
            copy_pass(j->width, (double *)mine, (const double *)mine, j->set / sizeof(double) / 32 * 32, 0);
            __asm__ volatile("" ::: "memory");
        }
    } else {
        for (uint64_t k = 0; k < j->iters; k++)
            sum += read_pass(j->width, (const uint64_t *)mine, j->set / sizeof(uint64_t) / 32 * 32);
    }
    if (tid == 0)
        j->sink = sum;
}

static void touch_work(void *v, int tid, int n_threads)
{
    (void)n_threads;
    level_job *j = v;
    double *d = (double *)(j->base + (size_t)tid * j->stride);
    for (size_t i = 0; i < j->stride / sizeof(double); i++)
        d[i] = 1.0 + (double)(i & 7);
}

static int vector_width(void)
{
#if CK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return 512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 256;
#endif
    return 0;
}

/* Bytes per thread that live in `level` when `threads` threads run. */
static size_t set_bytes(const ck_roofs *r, int level, int threads)
{
    const ck_mem_level *l = &r->level[level];
    size_t s;
    if (level == CK_MEM_DRAM) {
        s = ck_dram_set_bytes(r->llc_bytes) / (size_t)threads;
    } else if (l->shared) {
        s = l->cache_bytes / 2 / (size_t)threads;
        if (level > 0 && s < 2 * r->level[level - 1].cache_bytes)
            s = 2 * r->level[level - 1].cache_bytes;
    } else {
        s = l->cache_bytes / 2;
    }
    return (s + 767) / 768 * 768; /* whole 256-byte chunks for each of three arrays */
}

/* GB/s of one kind at one level on `threads` threads; 0 if memory is short.
 * keep: NULL, or a buffer (and its size) kept between calls, grown and
 * touched only when it is too small. */
static double measure_level_in(const ck_roofs *r, int level, int threads, int kind, double target, int reps,
                               ck_level_buf *keep)
{
    level_job j = {.kind = kind, .width = vector_width(), .iters = 1};
    j.set = set_bytes(r, level, threads);
    j.stride = (j.set + 2 * 4096 - 1) / 4096 * 4096; /* whole pages: slices never share one, and
                                                    * aligned_alloc wants a multiple of its alignment */
    size_t need = j.stride * (size_t)threads;
    if (keep && keep->bytes >= need) {
        j.base = keep->base;
    } else {
        if (keep)
            ck_level_buf_free(keep);
        j.base = ck_alloc_huge(4096, need); /* the pages the kernels run on (common/hugepages.h) */
        if (!j.base)
            return 0.0;
        run_team(threads, touch_work, &j);
    }
    double passes = calibrate_best_shared_rate(level_work, &j, &j.iters, threads, target, reps);
    if (keep) {
        keep->base = j.base;
        keep->bytes = need;
    } else {
        free(j.base);
    }
    size_t counted = kind == LOOP_TRIAD || kind == LOOP_TRIAD_NT ? j.set / 3 / sizeof(double) / 32 * 32 * 24
                     : kind == LOOP_COPY || kind == LOOP_COPY_NT ? j.set / 2 / sizeof(double) / 32 * 32 * 16
                     : kind == LOOP_UPDATE                       ? j.set / 256 * 256 * 2 /* read and written */
                                                                 : j.set / 256 * 256;
    return passes * (double)counted / 1e9;
}

static double measure_level(const ck_roofs *r, int level, int threads, int kind, double target, int reps)
{
    return measure_level_in(r, level, threads, kind, target, reps, NULL);
}

/* DRAM's triad and copy (each the better of plain and streaming stores)
 * and update on `threads` threads, into slot k of l; both kinds of store
 * in the log. */
static void measure_dram_writes(const ck_roofs *r, ck_mem_level *l, int k, int threads, double target, int reps,
                                FILE *log)
{
    double plain = measure_level(r, CK_MEM_DRAM, threads, LOOP_TRIAD, target, reps);
    double nt = measure_level(r, CK_MEM_DRAM, threads, LOOP_TRIAD_NT, target, reps);
    l->triad_gbs[k] = plain > nt ? plain : nt;
    double copy = measure_level(r, CK_MEM_DRAM, threads, LOOP_COPY, target, reps);
    double copy_nt = measure_level(r, CK_MEM_DRAM, threads, LOOP_COPY_NT, target, reps);
    l->copy_gbs[k] = copy > copy_nt ? copy : copy_nt;
    l->update_gbs[k] = measure_level(r, CK_MEM_DRAM, threads, LOOP_UPDATE, target, reps);
    if (log)
        fprintf(log,
                "calibrate: DRAM on %d thread%s: triad %.1f GB/s with plain stores, %.1f streaming; copy %.1f / "
                "%.1f; update in place %.1f (read + write)\n",
                threads, threads == 1 ? "" : "s", plain, nt, copy, copy_nt, l->update_gbs[k]);
}

void ck_level_buf_free(ck_level_buf *b)
{
    free(b->base);
    b->base = NULL;
    b->bytes = 0;
}

/* A read on several threads is one placement's only when they sat in one
 * place before and after it (placement.h); the host moves them every few
 * seconds at most (measured: stretches of 2-5 s), so a read of a few tenths
 * of a second taken again once or twice finds one place. */
#define APART_TRIES 4

/* A DRAM measurement on `threads` threads: calibrate's (read and triad
 * into r's all-thread figures) or the probe's (the read alone). */
typedef struct dram_job {
    const ck_roofs *r;
    ck_roofs *into; /* calibrate: write read, triad and update here; NULL: the probe */
    ck_level_buf *keep;
    FILE *log;
    double target, gbs;
    int threads, reps;
} dram_job;

static void dram_measure(dram_job *d)
{
    if (!d->into) {
        d->gbs = measure_level_in(d->r, CK_MEM_DRAM, d->threads, LOOP_READ, d->target, d->reps, d->keep);
        return;
    }
    ck_mem_level *l = &d->into->level[CK_MEM_DRAM];
    l->read_gbs[1] = measure_level(d->r, CK_MEM_DRAM, d->threads, LOOP_READ, d->target, d->reps);
    measure_dram_writes(d->r, l, 1, d->threads, d->target, d->reps, d->log);
}

/* d, taken again while the threads sat in different places before and
 * after it (APART_TRIES at most); where they sat before and after the last
 * take. */
static void dram_in_one_place(dram_job *d, double *before, double *after)
{
    *before = *after = 0;
    for (int t = 0; t < APART_TRIES && (t == 0 || ck_apart_moved(*before, *after)); t++) {
        *before = ck_threads_apart_ns(d->threads);
        dram_measure(d);
        *after = ck_threads_apart_ns(d->threads);
    }
}

double ck_dram_read_now(const ck_roofs *r, int threads, ck_level_buf *keep, double *apart_ns)
{
    *apart_ns = 0;
    if (!r->have_levels || !r->llc_bytes || threads < 1)
        return 0.0;
    dram_job d = {.r = r, .keep = keep, .target = 0.02, .threads = threads, .reps = 3};
    double before;
    dram_in_one_place(&d, &before, apart_ns);
    return d.gbs;
}

/* DRAM on all threads, read and triad, in one placement as far as the
 * host allows; r->apart_ns says which. */
static void measure_dram_placed(ck_roofs *r, double target, int reps, FILE *log)
{
    dram_job d = {.r = r, .into = r, .log = log, .target = target, .threads = r->threads, .reps = reps};
    double before;
    dram_in_one_place(&d, &before, &r->apart_ns);
    if (log && ck_apart_moved(before, r->apart_ns))
        fprintf(log,
                "calibrate: the host kept moving the %d threads while DRAM was read (%.0f, then %.0f ns apart): "
                "the DRAM figures on %d threads mix two placements; run calibrate again\n",
                r->threads, before, r->apart_ns, r->threads);
}

void calibrate_levels(ck_roofs *r, int quick, FILE *log)
{
    for (int lv = 0; lv < CK_MEM_DRAM; lv++) {
        r->level[lv].cache_bytes = ck_sys_cache_bytes(lv + 1);
        r->level[lv].shared = lv + 1 >= 3;
    }
    if (!r->level[CK_MEM_L1].cache_bytes || !r->level[CK_MEM_L2].cache_bytes) {
        if (log)
            fprintf(log, "calibrate: per-level bandwidth: not measured (the system does not say its cache sizes)\n");
        return;
    }
    double target = quick ? 0.02 : 0.05;
    int reps = quick ? 3 : 7;
    for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
        if (lv < CK_MEM_DRAM && !r->level[lv].cache_bytes)
            continue; /* no L3 here: L2 is the last cache */
        r->level[lv].set_bytes = set_bytes(r, lv, 1);
        int counts[2] = {1, r->threads};
        for (int k = 0; k < 2; k++) {
            if (lv == CK_MEM_DRAM && k == 1 && r->threads > 1) {
                measure_dram_placed(r, target, reps, log);
                continue;
            }
            r->level[lv].read_gbs[k] = measure_level(r, lv, counts[k], LOOP_READ, target, reps);
            if (lv == CK_MEM_DRAM)
                measure_dram_writes(r, &r->level[lv], k, counts[k], target, reps, log);
            else
                r->level[lv].triad_gbs[k] = measure_level(r, lv, counts[k], LOOP_TRIAD, target, reps);
        }
        if (log)
            fprintf(log, "calibrate: %-4s read %.1f / %.1f GB/s, triad %.1f / %.1f GB/s (1 / %d threads)\n",
                    ck_mem_level_name(lv), r->level[lv].read_gbs[0], r->level[lv].read_gbs[1],
                    r->level[lv].triad_gbs[0], r->level[lv].triad_gbs[1], r->threads);
    }
    r->have_levels = r->level[CK_MEM_DRAM].read_gbs[0] > 0;
}
