/* ck_prefetch_level.h — which cache level a plugin's decode loops should
 * software-prefetch their DRAM streams into: L1 or L2. One question, one
 * place, like BLIS's per-microarchitecture configurations; the plugins that
 * ask (avx512, quant) ask once, when loaded.
 *
 * L2 on Zen 4 (AMD family 0x19 with AVX-512: Zen 3, the same family, has
 * none), L1 elsewhere. The decode loops were tuned on Zen 5 (family 0x1a),
 * where prefetch into L1 (T0, NTA) was 5-15% faster than into L2; on Zen 4
 * the same loops streamed from DRAM at half the plain read on one thread
 * while their arithmetic ran at twice it, and prefetch into L2 (T1) closed
 * most of the gap. Measured cold, 1 thread, on a Zen 4 class VM (plain
 * DRAM read 29-30 GB/s), the two builds alternated, GB/s: decode attention
 * GQA 32 / 8, S = 2048: 15.0-15.3 -> 19.3-19.9; q8_0 matvec 14.5-16.0 ->
 * 24.2-30.4; bf16 / f32 matvecs' four-row loop +15%.
 *
 * CK_PREFETCH_LEVEL=l1 or l2 overrides the choice, so that both can be
 * timed on one machine (and tested on any). */
#ifndef CK_PREFETCH_LEVEL_H
#define CK_PREFETCH_LEVEL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static inline int ck_cpu_is_zen4(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d) || b != 0x68747541u) /* "Auth" of AuthenticAMD */
        return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const unsigned base = (a >> 8) & 0xf, family = base + (base == 0xf ? (a >> 20) & 0xff : 0);
    return family == 0x19;
}
#else
static inline int ck_cpu_is_zen4(void)
{
    return 0;
}
#endif

/* 1: prefetch into L2, 0: into L1, -1: CK_PREFETCH_LEVEL is set to
 * neither l1 nor l2 (why, when not NULL, says so in a sentence). */
static inline int ck_prefetch_level_l2(char *why, size_t why_size)
{
    const char *v = getenv("CK_PREFETCH_LEVEL");
    if (!v || !*v)
        return ck_cpu_is_zen4();
    if (!strcmp(v, "l1") || !strcmp(v, "l2"))
        return v[1] == '2';
    if (why)
        snprintf(why, why_size, "CK_PREFETCH_LEVEL=%.40s: expected l1 or l2 (or unset: l2 on Zen 4, else l1)", v);
    return -1;
}

#endif /* CK_PREFETCH_LEVEL_H */
