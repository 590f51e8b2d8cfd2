/* build_info.h — what was built: the ckbench version, the commit and flags it
 * was built from, and the plugin ABI it loads. Fixed at build time
 * (scripts/build-info.sh), unlike sysinfo's git commit, which is the source
 * tree's at run time. `ckbench --version` prints these and every result file
 * records them. */
#ifndef CK_BUILD_INFO_H
#define CK_BUILD_INFO_H

/* The project version (the VERSION file), "0.1.0". */
const char *ck_build_version(void);

/* `git rev-parse HEAD` when built, "-dirty" appended when tracked files
 * differed; "unknown" when built outside git. */
const char *ck_build_commit(void);

/* CFLAGS as given to make ("-O2 -g"); the fixed flags are in the Makefile. */
const char *ck_build_cflags(void);

/* The -march in CFLAGS, or "" (the compiler's default; plugins set their own
 * ISA flags per kernel file). */
const char *ck_build_march(void);

/* The -fsanitize= lists, comma-joined ("address,undefined"), or "". */
const char *ck_build_sanitizers(void);

/* CK_ABI_VERSION of the plugin ABI this ckbench loads. */
unsigned ck_build_abi_version(void);

#endif
