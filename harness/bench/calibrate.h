/* calibrate.h — this machine's roofs: stream-triad bandwidth, read and triad
 * bandwidth per memory level (L1, L2, L3, DRAM), peak FMA rate per
 * instruction set and the int8 / bf16 dot-product peaks, measured once by
 * `ckbench calibrate` and saved as
 * results/roofs-<host>-<cpu>-<date>-<time>.json; later runs use the newest. */
#ifndef CK_CALIBRATE_H
#define CK_CALIBRATE_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "common/progress.h"

enum { CK_ISA_SCALAR = 0, CK_ISA_AVX2 = 1, CK_ISA_AVX512 = 2, CK_ISA_NEON = 3, CK_ISA_COUNT };
enum { CK_ROOF_ONE_THREAD = 0, CK_ROOF_ALL_THREADS = 1 };

/* Memory levels, in the order a working set spills through them. */
enum { CK_MEM_L1 = 0, CK_MEM_L2 = 1, CK_MEM_L3 = 2, CK_MEM_DRAM = 3, CK_MEM_COUNT };
/* Dot-product arithmetic beyond FMA: int8 (x86 vpdpbusd, AVX512-VNNI) and
 * bf16 (vdpbf16ps, AVX512-BF16); 2 ops per multiply-add, as flops count. */
enum { CK_DOT_INT8 = 0, CK_DOT_BF16 = 1, CK_DOT_COUNT };

typedef struct ck_mem_level {
    size_t cache_bytes;  /* capacity (per core when private); DRAM: 0 */
    int shared;          /* 1: one cache for all cores (L3) */
    size_t set_bytes;    /* working set per thread it was measured with */
    double read_gbs[2];  /* [CK_ROOF_ONE_THREAD], [CK_ROOF_ALL_THREADS]; 0: not measured */
    double triad_gbs[2]; /* DRAM: the better of plain and streaming stores */
    /* DRAM only: an update in place (a[i] = s a[i]), counted read + write;
     * 0 at the cache levels and in older files */
    double update_gbs[2];
    double copy_gbs[2]; /* DRAM only: a[i] = s b[i], counted read + write, the better of plain and streaming */
} ck_mem_level;

typedef struct ck_roofs {
    char host[64];
    char cpu[128];
    char measured_at[32]; /* ISO 8601 UTC */
    int threads;          /* the "all threads" count */
    size_t llc_bytes;
    size_t triad_array_bytes;            /* each of the three arrays */
    double triad_gbs[2];                 /* [CK_ROOF_ONE_THREAD], [CK_ROOF_ALL_THREADS] */
    double peak_gflops[CK_ISA_COUNT][2]; /* 0: this CPU lacks the ISA */
    /* How far to trust them: a quick measurement or one taken while other
     * work ran gives low roofs, and a machine changes (a VM moves). */
    int mode;        /* CK_ROOFS_QUICK, CK_ROOFS_FULL, or CK_ROOFS_UNKNOWN (an older file) */
    double load_avg; /* the higher 1-minute load average, before and after measuring; < 0 unknown */
    int cpus;        /* online CPUs when measured (what the load is relative to); 0 unknown */
    /* one-way ns of a cache line between the all-threads team's members as
     * their DRAM read was measured (placement.h: on a VM the host moves
     * them, and the read with them); 0 unknown (one thread, an older file) */
    double apart_ns;
    int have_levels; /* 0: a roofs file from before levels (DRAM triad only) */
    ck_mem_level level[CK_MEM_COUNT];
    /* register-resident dot-product peaks: [CK_DOT_INT8] vpdpbusd,
     * [CK_DOT_BF16] AVX512_BF16 vdpbf16ps (also the roof of compute-bf16
     * kernels, docs/ops.md); 0 where the CPU lacks the instruction or the
     * roofs file predates it */
    double dot_gops[CK_DOT_COUNT][2];
} ck_roofs;

enum { CK_ROOFS_UNKNOWN = 0, CK_ROOFS_QUICK = 1, CK_ROOFS_FULL = 2 };

/* A load above this many runnable tasks per CPU while measuring makes the
 * roofs suspect (the same rule bench applies to its own timings). */
#define CK_ROOFS_MAX_LOAD_PER_CPU 0.5
/* Roofs older than this are worth measuring again. */
#define CK_ROOFS_MAX_AGE_S (24 * 3600)

/* Bytes a working set needs to live in DRAM: 8x the last-level cache, at
 * least 64 MiB. The DRAM roof is read over this many bytes and a cold bench
 * row rotates through at least as many, so both see the same memory. Not 4x:
 * an LLC whose replacement resists streaming (AMD EPYC, a 32 MiB L3) still
 * serves part of a set of 4x its size, and the read bandwidth of one thread
 * there measured 44 GB/s at 128 MiB, 39.5 at 256 MiB, 38 at 512 MiB-1 GiB;
 * a roof taken at 4x the LLC was above what a row streaming a larger weight
 * can reach. */
#define CK_DRAM_LLC_MULTIPLE 8
size_t ck_dram_set_bytes(size_t llc_bytes);

const char *ck_isa_name(int isa); /* "scalar", "avx2", "avx512", "neon" */

/* 1 if this CPU (and OS) can run the ISA's measuring loop. */
int ck_isa_supported(int isa);

/* The bf16 dot-product peak at `threads` threads (scaled like
 * ck_roofs_peak_gflops); 0 when not measured. */
double ck_roofs_bf16_dot_gflops(const ck_roofs *r, int threads);

/* The ISA whose roof applies to a plugin: by name ("avx512", "avx2"), else the
 * best ISA this CPU has (a plugin such as quant dispatches at run time). */
int ck_isa_for_plugin(const char *plugin_name);

/* Where roofs measured now are saved: results_dir/roofs-<host>-<cpu>-<date>-
 * <HHMMSS>.json (UTC), so a new calibration never replaces an old one. */
void ck_roofs_path(char *buf, size_t len, const char *results_dir);

/* The newest roofs file of this machine in results_dir (or the older
 * roofs-<host>-<cpu>.json): 0 with its path, -1 when there is none. */
int ck_roofs_find(char *buf, size_t len, const char *results_dir);

/* Measure. `threads` <= 0: all online CPUs. `quick`: shorter timing (for the
 * headline's first run). Each part is a section of prog (may be NULL). */
int ck_roofs_measure(ck_roofs *r, int threads, int quick, ck_progress *prog, char *err, size_t err_len);

/* Save as JSON (written to a temporary file, then renamed) / load and check:
 * one line naming the file and the field on failure. */
int ck_roofs_save(const ck_roofs *r, const char *path, char *err, size_t err_len);
int ck_roofs_load(ck_roofs *r, const char *path, char *err, size_t err_len);
cJSON *ck_roofs_to_json(const ck_roofs *r);

/* 1 when the roofs should be measured again, with why in one phrase
 * ("a quick measurement, taken under load 1.9 on 2 CPUs, 3 days old"); 0 when
 * they are a full, quiet and recent measurement. `now` is time(NULL). */
int ck_roofs_doubtful(const ck_roofs *r, long long now, char *why, size_t len);

/* Roofs at `threads` threads: bandwidth interpolated between one and all
 * threads, peak rate scaled per thread (capped at the measured all-threads). */
double ck_roofs_bandwidth_gbs(const ck_roofs *r, int threads);
double ck_roofs_peak_gflops(const ck_roofs *r, int isa, int threads);

/* "L1", "L2", "L3", "DRAM"; "int8", "bf16". */
const char *ck_mem_level_name(int level);
const char *ck_dot_name(int kind);

/* The level a working set of `bytes` (all operands of one call, spread over
 * `threads` threads) lives in when it stays hot: the first whose capacity
 * holds it (private levels count once per thread), else DRAM. Without
 * levels in the roofs: DRAM. */
int ck_roofs_level_of(const ck_roofs *r, double bytes, int threads);

/* The memory roof of a level at `threads` threads: the better of read and
 * triad, interpolated between one and all threads; DRAM's is its read (a
 * row's writes are priced apart there: ck_roofs_mem_ns), DRAM without
 * levels the triad. 0 when the level was not measured. */
double ck_roofs_level_gbs(const ck_roofs *r, int level, int threads);
/* The read bandwidth alone of a level, interpolated the same way. */
double ck_roofs_level_read_gbs(const ck_roofs *r, int level, int threads);
/* The DRAM read bandwidth now, measured as calibrate measures the roof (its
 * loop and working set, --quick's timing) on `threads` threads; 0 when the
 * roofs have no levels or memory is short. For bench's probe (mem_probe.h):
 * keep holds the working set between calls (first touch is most of a call's
 * time); ck_level_buf_free releases it. *apart_ns: where the threads sat as
 * they read (placement.h; 0 on one thread): a read during which the host
 * moved them is taken again, a few times at most. */
typedef struct ck_level_buf {
    unsigned char *base;
    size_t bytes;
} ck_level_buf;
double ck_dram_read_now(const ck_roofs *r, int threads, ck_level_buf *keep, double *apart_ns);
void ck_level_buf_free(ck_level_buf *b);
/* The dot-product peak at `threads` threads (scaled like the FMA peak). */
double ck_roofs_dot_gops(const ck_roofs *r, int kind, int threads);

#endif
