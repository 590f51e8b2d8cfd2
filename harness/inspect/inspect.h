/* inspect.h — the live inspector: a separate process maps a shared arena
 * (runtime/ck_share.h) read-only and reports on tensors by name while the
 * writer runs. Each tensor is copied under the seqlock of its part and of
 * the parts next to it (a backward op of layer l+1 writes the gradient of
 * layer l's output, which lives in layer l), so a snapshot says whether it
 * was consistent while it was read. */
#ifndef CK_INSPECT_INSPECT_H
#define CK_INSPECT_INSPECT_H

#include <stdio.h>

typedef struct ck_inspect_opts {
    const char *name; /* the --share NAME */
    const char *glob; /* --tensor; NULL: every tensor */
    double watch;     /* seconds between snapshots; 0: one snapshot */
    long count;       /* --watch: stop after this many (0: until the writer finishes) */
    int nan_alert;    /* stop at the first NaN or Inf */
    int json;         /* one JSON object per snapshot, one per line */
} ck_inspect_opts;

/* The exit status: 0, 1 when --nan-alert found one (said in one line), 2
 * when the mapping is missing, stale, foreign or does not match its
 * layout, or nothing matches (one line in err). */
int ck_inspect_run(const ck_inspect_opts *o, FILE *out, char *err, size_t len);

#endif
