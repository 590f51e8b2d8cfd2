/* sysinfo.h — what the bench runner records about the machine and the build:
 * host name, CPU model and flags, last-level cache, compiler, git commit.
 * Linux first (/proc/cpuinfo, sysconf); every function has a fallback and
 * never fails. */
#ifndef CK_SYSINFO_H
#define CK_SYSINFO_H

#include <stddef.h>

/* Short host name ("hostname" up to the first dot). */
void ck_sys_host(char *buf, size_t len);

/* CPU model name from /proc/cpuinfo ("AMD EPYC"), else the machine name. */
void ck_sys_cpu_model(char *buf, size_t len);

/* CPU feature flags (the "flags" line of /proc/cpuinfo); "" if unknown. */
void ck_sys_cpu_flags(char *buf, size_t len);

/* Last-level cache in bytes; 32 MiB if the system does not say. */
size_t ck_sys_llc_bytes(void);

/* The data (or unified) cache of `level` (1, 2, 3) as the kernel describes
 * it for CPU 0, in bytes; 0 when the system does not say (no such level). */
size_t ck_sys_cache_bytes(int level);

/* Online CPUs, >= 1. */
int ck_sys_ncpus(void);

/* The compiler that built ckbench ("gcc 14.2.0"). */
const char *ck_sys_compiler(void);


/* Replace every character outside [A-Za-z0-9._-] with '-' and squeeze runs:
 * for names made into file names ("AMD EPYC 9B45" -> "AMD-EPYC-9B45"). */
void ck_sys_slug(char *s);

/* UTC date and time as "2026-11-24" and ISO 8601 "2026-11-24T05:40:00Z". */
void ck_sys_utc_date(char *buf, size_t len);
void ck_sys_utc_iso(char *buf, size_t len);

/* The directory results are written to: $CK_RESULTS_DIR, else "results".
 * Created if missing; 0 on success, -1 with one line in err. */
int ck_sys_results_dir(char *buf, size_t len, char *err, size_t err_len);

#endif
