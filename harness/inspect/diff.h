/* diff.h — two checkpoints or two dump directories (dump.h) compared
 * tensor by tensor by name: mean and std deltas, the largest absolute
 * difference, the first differing element and its offset in the arena,
 * and flags for what looks like trouble (std grown 3x: a gradient
 * explosion?; NaN appeared). */
#ifndef CK_INSPECT_DIFF_H
#define CK_INSPECT_DIFF_H

#include <stdio.h>

/* Prints one line per tensor ("changed", "same", "only in A/B") and a
 * summary. Returns 0 when every tensor is bit-identical, 1 when some
 * differ, 2 with one line in err when a directory is not a dump (no or a
 * bad manifest.json, a missing or malformed .npy). */
int ck_diff_dirs(const char *a, const char *b, FILE *out, char *err, size_t len);

#endif
