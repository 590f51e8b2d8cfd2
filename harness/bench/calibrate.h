/* calibrate.h — this machine's roofs: stream-triad bandwidth and peak FMA
 * rate per instruction set, measured once by `ckbench calibrate` and saved as
 * results/roofs-<host>-<cpu>.json, which later runs reuse. */
#ifndef CK_CALIBRATE_H
#define CK_CALIBRATE_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

enum { CK_ISA_SCALAR = 0, CK_ISA_AVX2 = 1, CK_ISA_AVX512 = 2, CK_ISA_NEON = 3, CK_ISA_COUNT };
enum { CK_ROOF_ONE_THREAD = 0, CK_ROOF_ALL_THREADS = 1 };

typedef struct ck_roofs {
    char host[64];
    char cpu[128];
    char measured_at[32]; /* ISO 8601 UTC */
    int threads;          /* the "all threads" count */
    size_t llc_bytes;
    size_t triad_array_bytes;            /* each of the three arrays */
    double triad_gbs[2];                 /* [CK_ROOF_ONE_THREAD], [CK_ROOF_ALL_THREADS] */
    double peak_gflops[CK_ISA_COUNT][2]; /* 0: this CPU lacks the ISA */
    /* AVX512_BF16 vdpbf16ps, register-resident (the roof of compute-bf16
     * kernels, docs/ops.md): 0 where the CPU lacks it or the roofs file
     * predates it */
    double bf16_dot_gflops[2];
} ck_roofs;

const char *ck_isa_name(int isa); /* "scalar", "avx2", "avx512", "neon" */

/* 1 if this CPU (and OS) can run the ISA's measuring loop. */
int ck_isa_supported(int isa);

/* The bf16 dot-product peak at `threads` threads (scaled like
 * ck_roofs_peak_gflops); 0 when not measured. */
double ck_roofs_bf16_dot_gflops(const ck_roofs *r, int threads);

/* The ISA whose roof applies to a plugin: by name ("avx512", "avx2"), else the
 * best ISA this CPU has (a plugin such as quant dispatches at run time). */
int ck_isa_for_plugin(const char *plugin_name);

/* results_dir/roofs-<host>-<cpu>.json for this machine. */
void ck_roofs_path(char *buf, size_t len, const char *results_dir);

/* Measure. `threads` <= 0: all online CPUs. `quick`: shorter timing (for the
 * headline's first run). Progress lines go to `log` when it is not NULL. */
int ck_roofs_measure(ck_roofs *r, int threads, int quick, FILE *log, char *err, size_t err_len);

/* Save as JSON (written to a temporary file, then renamed) / load and check:
 * one line naming the file and the field on failure. */
int ck_roofs_save(const ck_roofs *r, const char *path, char *err, size_t err_len);
int ck_roofs_load(ck_roofs *r, const char *path, char *err, size_t err_len);
cJSON *ck_roofs_to_json(const ck_roofs *r);

/* Roofs at `threads` threads: bandwidth interpolated between one and all
 * threads, peak rate scaled per thread (capped at the measured all-threads). */
double ck_roofs_bandwidth_gbs(const ck_roofs *r, int threads);
double ck_roofs_peak_gflops(const ck_roofs *r, int isa, int threads);

#endif
