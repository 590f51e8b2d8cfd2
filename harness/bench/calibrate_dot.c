/* The dot-product peaks (calibrate_internal.h): int8 (AVX512-VNNI vpdpbusd:
 * 64 u8 x s8 products summed into 16 int32 lanes) and bf16 (AVX512-BF16
 * vdpbf16ps: 32 bf16 pairs into 16 f32 lanes), from register-resident chains
 * as the FMA peak (calibrate.c). A quantised or bf16 matmul kernel built on
 * these instructions is compared with them, not with the f32 FMA peak, which
 * it can exceed. Ops count 2 per multiply-add, as the op costs count flops.
 * Each loop is compiled for its ISA with a target attribute and runs only
 * after CPUID says the CPU has it. Other CPUs (AArch64 dotprod included) get
 * no figure, and their kernels are compared with the FMA peak. */
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#else
#define CK_X86 0
#endif

#include "calibrate_internal.h"

/* Chains per loop: enough independent accumulators to cover latency x
 * throughput, and few enough that the compiler keeps them in registers.
 * vpdpbusd with 24 chains was spilled to the stack by gcc 12 (26 zmm live),
 * and the loop then measured 420 GOP/s per core where 12 chains measure
 * 1110 (Zen 5 class, 2 per cycle): the int8 kernels ran at 140% of that
 * false roof. vdpbf16ps keeps its 24 in registers. */
#define DOT_CHAINS_INT8 12
#define DOT_CHAINS_BF16 24

#if CK_X86
__attribute__((target("avx512f,avx512vnni"))) static int dot_loop_int8(uint64_t iters)
{
#define DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
#define STEP(i) acc##i = _mm512_dpbusd_epi32(acc##i, a, b);
#define SUM(i) s = _mm512_add_epi32(s, acc##i);
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    REP12(DECL)
    for (uint64_t k = 0; k < iters; k++) {
        REP12(STEP)
        __asm__ volatile("" ::: "memory");
    }
    __m512i s = _mm512_setzero_si512();
    REP12(SUM)
    /* the lanes wrap (vector adds are modular); summed as unsigned, since
     * _mm512_reduce_add_epi32 adds as signed int, which may overflow (UB) */
    uint32_t lanes[16], sum = 0;
    _mm512_storeu_si512((void *)lanes, s);
    for (int i = 0; i < 16; i++)
        sum += lanes[i];
    return (int)(sum & 0x7fffffff);
#undef DECL
#undef STEP
#undef SUM
}

__attribute__((target("avx512f,avx512bf16"))) static float dot_loop_bf16(uint64_t iters)
{
#define DECL(i) __m512 acc##i = _mm512_set1_ps((float)(i));
#define STEP(i) acc##i = _mm512_dpbf16_ps(acc##i, a, b);
#define SUM(i) s = _mm512_add_ps(s, acc##i);
    const __m512 small = _mm512_set1_ps(1e-3f);
    const __m512bh a = _mm512_cvtne2ps_pbh(small, small), b = a; /* products of 1e-6 stay finite */
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

static int dot_supported(int kind)
{
#if CK_X86
    __builtin_cpu_init();
    if (kind == CK_DOT_INT8)
        return __builtin_cpu_supports("avx512vnni");
    if (kind == CK_DOT_BF16)
        return __builtin_cpu_supports("avx512bf16");
#endif
    (void)kind;
    return 0;
}

/* Ops of one round: chains x 64 (int8) or 32 (bf16) multiply-adds x 2. */
static double ops_per_round(int kind)
{
    return kind == CK_DOT_INT8 ? DOT_CHAINS_INT8 * 64 * 2.0 : DOT_CHAINS_BF16 * 32 * 2.0;
}

typedef struct dot_job {
    int kind;
    uint64_t iters;
    volatile float sink;
} dot_job;

static void dot_work(void *v, int tid, int n_threads)
{
    (void)n_threads;
    dot_job *j = v;
    float r = 0.0f;
#if CK_X86
    r = j->kind == CK_DOT_INT8 ? (float)dot_loop_int8(j->iters) : dot_loop_bf16(j->iters);
#endif
    if (tid == 0)
        j->sink = r;
}

void calibrate_dot_peaks(ck_roofs *r, double target, int reps, FILE *log)
{
    for (int kind = 0; kind < CK_DOT_COUNT; kind++) {
        if (!dot_supported(kind)) {
            if (log)
                fprintf(log, "calibrate: %s dot-product peak: not measured (this CPU lacks it)\n", ck_dot_name(kind));
            continue;
        }
        int counts[2] = {1, r->threads};
        for (int k = 0; k < 2; k++) {
            dot_job j = {.kind = kind, .iters = 1000};
            r->dot_gops[kind][k] =
                ops_per_round(kind) * calibrate_best_rate(dot_work, &j, &j.iters, counts[k], target, reps) / 1e9;
        }
    }
}
