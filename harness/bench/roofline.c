/* The cache-aware roofline (calibrate.h, bench_runner.h): which memory level
 * a row's working set lives in, which arithmetic it is limited by, its ideal
 * time, and the time-weighted fraction of the roof of a set of rows.
 *
 * A row's ideal time is max(bytes / bandwidth of its level, flops / peak of
 * its arithmetic): the roofline's own definition, and a time, so that rows
 * add up. At DRAM the bytes are priced by what they are (ck_cost.h), each at
 * what calibrate measured for it (ck_roofs_mem_ns): a read at the read, a
 * new output line at what the copy or the triad spends on it beyond its
 * reads, an operand updated in place at the update loop's rate. One core's
 * DRAM bandwidth is bounded by the reads it keeps in flight, and a
 * write-back does not hold one: on a Zen 4 class VM an in-place scale moved
 * 47-49 GB/s counted (read + write) where a read ran at 23-24, so pricing a
 * write as a read put in-place rows at up to 2x their roof. A hot row's
 * level is where its working set fits (operands stay in cache between calls); a cold row's is DRAM (every call reads operands the
 * previous calls evicted). A quantised matmul is compared with the int8
 * dot-product peak and a bf16 matmul of a plugin with AVX-512 with the bf16
 * one, where the CPU has them: those instructions do more per cycle than
 * FMAs, and a row above the FMA peak would say nothing. */
#include <string.h>

#include "bench_runner.h"
#include "placement.h"

const char *ck_mem_level_name(int level)
{
    static const char *const names[CK_MEM_COUNT] = {"L1", "L2", "L3", "DRAM"};
    return level >= 0 && level < CK_MEM_COUNT ? names[level] : "?";
}

const char *ck_dot_name(int kind)
{
    return kind == CK_DOT_INT8 ? "int8" : kind == CK_DOT_BF16 ? "bf16" : "?";
}

int ck_roofs_level_of(const ck_roofs *r, double bytes, int threads)
{
    if (!r->have_levels)
        return CK_MEM_DRAM;
    for (int lv = 0; lv < CK_MEM_DRAM; lv++) {
        const ck_mem_level *l = &r->level[lv];
        if (!(l->read_gbs[0] > 0))
            continue;
        double cap = (double)l->cache_bytes * (l->shared ? 1 : (threads > 1 ? threads : 1));
        if (bytes <= cap)
            return lv;
    }
    return CK_MEM_DRAM;
}

static double between(const double v[2], int all_threads, int threads)
{
    if (threads <= 1 || all_threads <= 1)
        return v[0];
    if (threads >= all_threads)
        return v[1];
    return v[0] + (v[1] - v[0]) * (double)(threads - 1) / (double)(all_threads - 1);
}

double ck_roofs_level_gbs(const ck_roofs *r, int level, int threads)
{
    if (level < 0 || level >= CK_MEM_COUNT)
        return 0.0;
    if (!r->have_levels)
        return level == CK_MEM_DRAM ? ck_roofs_bandwidth_gbs(r, threads) : 0.0;
    const ck_mem_level *l = &r->level[level];
    double rd = between(l->read_gbs, r->threads, threads), tr = between(l->triad_gbs, r->threads, threads);
    if (level == CK_MEM_DRAM && rd > 0)
        return rd; /* writes are priced apart (ck_roofs_mem_ns); the streaming triad would count them free */
    return rd > tr ? rd : tr;
}

double ck_roofs_level_read_gbs(const ck_roofs *r, int level, int threads)
{
    if (level < 0 || level >= CK_MEM_COUNT || !r->have_levels)
        return 0.0;
    return between(r->level[level].read_gbs, r->threads, threads);
}

double ck_roofs_dot_gops(const ck_roofs *r, int kind, int threads)
{
    if (kind < 0 || kind >= CK_DOT_COUNT || !(r->dot_gops[kind][0] > 0))
        return 0.0;
    double scaled = r->dot_gops[kind][0] * (threads > 0 ? threads : 1);
    return threads >= r->threads || scaled > r->dot_gops[kind][1] ? r->dot_gops[kind][1] : scaled;
}

/* The peak a row's arithmetic runs at, and its name. */
static double row_peak(const ck_bench_row *row, const ck_roofs *roofs, int isa, uint32_t dtype, const char **name)
{
    int matmul = row->op == CK_OP_LINEAR || row->op == CK_OP_QKV;
    int dot = -1;
    if (matmul && (dtype == CK_DTYPE_Q8_0 || dtype == CK_DTYPE_Q4_0))
        dot = CK_DOT_INT8;
    else if (row->compute_bf16 || (matmul && dtype == CK_DTYPE_BF16 && isa == CK_ISA_AVX512))
        dot = CK_DOT_BF16; /* a compute-bf16 kernel (--compute bf16) at any ISA, as calibrate measured it */
    double peak = dot >= 0 ? ck_roofs_dot_gops(roofs, dot, row->threads) : 0.0;
    if (peak > 0) {
        *name = ck_dot_name(dot);
        return peak;
    }
    *name = ck_isa_name(isa);
    return ck_roofs_peak_gflops(roofs, isa, row->threads);
}

/* Whether the row's threads sat, before or after it, farther apart than
 * calibrate's (placement.h): on two dies where calibrate had one L3. */
static int farther(double row_ns, const ck_roofs *roofs)
{
    return row_ns > roofs->apart_ns && ck_apart_moved(row_ns, roofs->apart_ns);
}

static int elsewhere(const ck_bench_row *r, const ck_roofs *roofs)
{
    return r->threads == roofs->threads && (farther(r->apart_ns[0], roofs) || farther(r->apart_ns[1], roofs));
}

/* A cold row whose copies were counted by their whole buffers while the op
 * reads a small part of each (decode rope: one row of cos / sin tables of
 * every position), so that what it reads rotates within the last-level
 * cache. */
static int touched_fit(const ck_bench_row *r, const ck_roofs *roofs)
{
    return r->copies > 1 && roofs->llc_bytes > 0 && r->bytes * (double)r->copies < (double)roofs->llc_bytes;
}

static double level_update_gbs(const ck_roofs *r, int threads)
{
    return between(r->level[CK_MEM_DRAM].update_gbs, r->threads, threads);
}

/* At DRAM each part at its own price; an older roofs file without the
 * update loop prices in-place bytes as reads. */
double ck_roofs_mem_ns(const ck_roofs *roofs, int level, int threads, double bytes, double written, double updated)
{
    double bw = ck_roofs_level_gbs(roofs, level, threads); /* GB/s: bytes per ns */
    double read = ck_roofs_level_read_gbs(roofs, CK_MEM_DRAM, threads);
    if (level != CK_MEM_DRAM || !(read > 0))
        return bw > 0 ? bytes / bw : 0;
    const ck_mem_level *d = &roofs->level[CK_MEM_DRAM];
    double triad = between(d->triad_gbs, roofs->threads, threads), copy = between(d->copy_gbs, roofs->threads, threads);
    double update = level_update_gbs(roofs, threads);
    double only_read = bytes - written - 2 * updated;
    if (only_read < 0)
        only_read = 0;
    /* A written byte: what the triad spends on its one write beyond its two
     * reads, and the copy beside its one read; a row between the two mixes
     * in between, a row of fewer reads per write at the copy's (measured:
     * a write beside one read cost one Zen 4 core twice what it did beside
     * two). None when streaming stores made the loop faster than its reads. */
    double w2 = triad > 0 ? 3 / triad - 2 / read : 1 / read, w1 = copy > 0 ? 2 / copy - 1 / read : w2;
    double mix = written > 0 ? only_read / written : 2, per_written = mix >= 2   ? w2
                                                                      : mix <= 1 ? w1
                                                                                 : w1 + (w2 - w1) * (mix - 1);
    if (per_written < 0)
        per_written = 0;
    double per_updated = update > 0 ? 2 / update : 2 / read;
    return only_read / read + written * per_written + updated * per_updated;
}

/* Why a row beat its roof by more than 5%: the likely cause, said once. */
static void explain(ck_bench_row *r, const ck_roofs *roofs)
{
    const char *lv = ck_mem_level_name(r->mem_level);
    const int cold = r->cache && strcmp(r->cache, "cold") == 0;
    if (!roofs->have_levels)
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "roofs without cache levels: compared with DRAM; run ckbench calibrate");
    else if (strcmp(r->bound, "compute") == 0)
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above the calibrated %s peak: calibrate ran on a busy machine, or the kernel does fewer ops "
                 "than counted",
                 r->arith);
    else if (r->mem_level == CK_MEM_DRAM && elsewhere(r, roofs))
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above DRAM: its threads sat %.0f ns apart, %.0f when the roofs were measured: a placement with "
                 "more memory bandwidth (on two dies, a link to memory each)",
                 r->apart_ns[0] > r->apart_ns[1] ? r->apart_ns[0] : r->apart_ns[1], roofs->apart_ns);
    else if (r->mem_level == CK_MEM_DRAM && cold && touched_fit(r, roofs))
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above DRAM: the op reads %.0f KiB of each %.0f KiB copy, so its %zu copies rotate %.1f MiB, "
                 "within the last-level cache (%.0f MiB)",
                 r->bytes / 1024, (double)r->case_bytes / 1024, r->copies, r->bytes * (double)r->copies / 1048576,
                 (double)roofs->llc_bytes / 1048576);
    else if (r->mem_level == CK_MEM_DRAM && cold && r->copies == 1)
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above DRAM: one copy of large operands, of which the op reads a part that stays cached");
    /* An in-place update writes each line back after reading it: the
     * write-backs go out beside the reads, which alone bound one core. On a
     * Zen 4 class VM an in-place scale of 256 MiB on one thread moved 47-49
     * GB/s counted (read + write) where a read of it ran at 23-24. Roofs with
     * the update loop price that already (dram_ns). */
    else if (r->mem_level == CK_MEM_DRAM && cold && r->updated > 0 && !(level_update_gbs(roofs, r->threads) > 0) &&
             r->roof_pct <= 200.0)
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above DRAM: an in-place update, whose write-backs go out beside its reads (the roof counts "
                 "both against the read; up to 2x it)");
    /* An older roofs file's triad stored plainly, each line read first
     * (write-allocate): a kernel whose streaming stores skip that read can
     * pass it by up to 4/3 with every copy from DRAM. */
    else if (r->mem_level == CK_MEM_DRAM && cold && !(level_update_gbs(roofs, r->threads) > 0) &&
             r->roof_pct <= 400.0 / 3)
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above DRAM: streaming stores skip the write-allocate read the calibrated triad pays, or part of "
                 "the rotated copies still hit the last-level cache");
    else if (r->mem_level == CK_MEM_DRAM && cold)
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above DRAM: part of the rotated copies still hit the last-level cache");
    else if (r->mem_level > CK_MEM_L1)
        snprintf(r->roof_flag, sizeof r->roof_flag, "above %s: part of the working set stays in %s", lv,
                 ck_mem_level_name(r->mem_level - 1));
    else
        snprintf(r->roof_flag, sizeof r->roof_flag,
                 "above L1: the calibrated L1 loop is slower than this kernel's access pattern");
}

/* Roofs taken quickly or on a busy machine are low more often than a kernel
 * is fast: on a 2-CPU VM a quick all-thread DRAM read came out at 44 GB/s
 * where a full calibrate measured 91 and decode rows read 73. Say that
 * first, the row's own reasons after it. */
static void explain_doubtful_roofs(ck_bench_row *r, const ck_roofs *roofs)
{
    int loaded =
        roofs->load_avg >= 0 && roofs->cpus > 0 && roofs->load_avg > CK_ROOFS_MAX_LOAD_PER_CPU * (double)roofs->cpus;
    if (roofs->mode != CK_ROOFS_QUICK && !loaded)
        return;
    char head[96];
    int hl = snprintf(head, sizeof head, "roofs %s (ckbench calibrate on a quiet machine); or ",
                      roofs->mode == CK_ROOFS_QUICK ? "a quick measurement" : "measured under load");
    size_t cap = sizeof r->roof_flag, keep = strlen(r->roof_flag);
    if (hl <= 0 || (size_t)hl >= cap)
        return;
    if (keep > cap - 1 - (size_t)hl)
        keep = cap - 1 - (size_t)hl; /* the row's reason, cut if it must be */
    memmove(r->roof_flag + hl, r->roof_flag, keep);
    memcpy(r->roof_flag, head, (size_t)hl);
    r->roof_flag[hl + keep] = '\0';
}

void ck_roofline_apply(ck_bench_row *r, const ck_roofs *roofs, int isa, uint32_t dtype)
{
    r->bound = NULL;
    r->roof_pct = 0;
    r->ideal_ns = 0;
    r->compute_ns = 0;
    r->mem_ns = 0;
    r->roof_bytes = 0;
    r->now_pct = 0;
    r->roof_flag[0] = '\0';
    int cold = r->cache && strcmp(r->cache, "cold") == 0;
    r->mem_level = cold ? CK_MEM_DRAM : ck_roofs_level_of(roofs, r->bytes, r->threads);
    double bw = ck_roofs_level_gbs(roofs, r->mem_level, r->threads);
    double peak = row_peak(r, roofs, isa, dtype, &r->arith);
    if (bw <= 0 || peak <= 0 || r->time_ns <= 0)
        return;
    double t_mem = ck_roofs_mem_ns(roofs, r->mem_level, r->threads, r->bytes, r->written, r->updated);
    double t_comp = r->flops / peak; /* ns: GFLOP/s is flops per ns */
    r->bound = t_mem >= t_comp ? "memory" : "compute";
    r->ideal_ns = t_mem >= t_comp ? t_mem : t_comp;
    r->compute_ns = t_comp;
    r->mem_ns = t_mem;
    r->roof_bytes = t_mem * bw;
    r->roof_pct = 100.0 * r->ideal_ns / r->time_ns;
    if (r->roof_pct > 105.0) {
        explain(r, roofs);
        explain_doubtful_roofs(r, roofs);
    }
}

double ck_roofs_dram_now_gbs(const ck_roofs *roofs, int threads, double ratio)
{
    return ck_roofs_level_gbs(roofs, CK_MEM_DRAM, threads) * ratio; /* DRAM's line is its read */
}

void ck_roofline_now(ck_bench_row *r, double ratio)
{
    r->now_pct = 0;
    /* a compute-bound row stays against its peak: the probe says nothing of it */
    if (!(ratio > 0) || r->ideal_ns <= 0 || r->time_ns <= 0 || r->mem_level != CK_MEM_DRAM || !r->bound ||
        strcmp(r->bound, "memory") != 0)
        return;
    double t = r->mem_ns / ratio; /* every part scaled as the read was */
    if (t < r->compute_ns)
        t = r->compute_ns;
    r->now_pct = 100.0 * t / r->time_ns;
}


static int matches(const char *value, const char *want)
{
    return !want || (value && strcmp(value, want) == 0);
}

double ck_roofline_now_fraction(const ck_bench_row *rows, size_t n, int threads, const char *phase, const char *cache,
                                double *roof)
{
    double ideal = 0, now = 0, measured = 0;
    for (size_t i = 0; i < n; i++) {
        const ck_bench_row *r = &rows[i];
        if (!(r->now_pct > 0) || (threads > 0 && r->threads != threads) || !matches(r->phase, phase) ||
            !matches(r->cache, cache))
            continue;
        ideal += r->ideal_ns;
        now += r->now_pct / 100.0 * r->time_ns;
        measured += r->time_ns;
    }
    if (roof)
        *roof = measured > 0 ? ideal / measured : 0.0;
    return measured > 0 ? now / measured : 0.0;
}

double ck_roofline_fraction(const ck_bench_row *rows, size_t n, const char *phase, const char *cache, double *ideal_ns,
                            double *measured_ns)
{
    double ideal = 0, measured = 0;
    for (size_t i = 0; i < n; i++) {
        const ck_bench_row *r = &rows[i];
        if (r->ideal_ns <= 0 || r->time_ns <= 0 || !matches(r->phase, phase) || !matches(r->cache, cache))
            continue;
        ideal += r->ideal_ns;
        measured += r->time_ns;
    }
    if (ideal_ns)
        *ideal_ns = ideal;
    if (measured_ns)
        *measured_ns = measured;
    return measured > 0 ? ideal / measured : 0.0;
}
