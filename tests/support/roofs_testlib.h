/* roofs_testlib.h — roofs files for the tests that need memory levels
 * without calibrating: an LLC of 1 MiB (so calibrate's DRAM set, which the
 * bench and e2e probes read, is 8 MiB and quick) and compute peaks so high
 * that every row is memory-bound. */
#ifndef CK_ROOFS_TESTLIB_H
#define CK_ROOFS_TESTLIB_H

#include <stddef.h>

/* Saves them as the newest roofs file of results dir `dir`, with
 * `dram_read_gbs` as the DRAM read on one thread and all (triad: half).
 * 0, or -1 with one line in err. */
int st_save_level_roofs(const char *dir, double dram_read_gbs, char *err, size_t err_len);

#endif
