/* dump.h — tensors of an arena out by name: one .npy per tensor whose
 * layout.json name matches a glob, with manifest.json (name, file, offset,
 * size, shape, dtype, kind, step) and the plan's layout.json beside them.
 * `run --dump` and checkpoints (`train-step --save`) write this; `diff`
 * reads it. The manifest is written last: a directory without one is not a
 * dump. */
#ifndef CK_INSPECT_DUMP_H
#define CK_INSPECT_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "ck_plan.h"
#include "inspect/tensors.h"

typedef struct ck_dump_opts {
    const char *glob;         /* fnmatch(3) on the name; NULL: every tensor */
    const char *const *kinds; /* NULL-terminated kind names to keep; NULL: every kind */
    uint64_t step;            /* training steps taken (0 for a run) */
    const char *source;       /* "run", "checkpoint" */
} ck_dump_opts;

/* 1 if tensor t is selected by o. */
int ck_dump_selects(const ck_dump_opts *o, const ck_tensor *t);

/* How many tensors of plan p o selects (0: tell the user before running). */
size_t ck_dump_count(const ck_plan *p, const ck_dump_opts *o);

/* Write the selected tensors of plan p, whose arena is at base, into dir
 * (created if missing). 0 with *written set, or -1 with one line in err
 * (nothing selected, a file that cannot be written). */
int ck_dump_write(const char *dir, const ck_plan *p, const void *base, const ck_dump_opts *o, size_t *written,
                  char *err, size_t len);

#endif
