/* patch.h — activation patching by name: `run --patch NAME[SLICE]=FILE.npy|zero`
 * overwrites a tensor, or a NumPy-style slice of it (per axis `:`, `I` or
 * `A:B`, comma-separated; axes left out are whole: attention.out is
 * [T, H, head_dim], so `[:,2]` is head 2), right after the step that writes
 * it, through the runner's step hook, and the run goes on from there. */
#ifndef CK_INSPECT_PATCH_H
#define CK_INSPECT_PATCH_H

#include <stddef.h>

#include "ck_plan.h"
#include "ck_run.h"
#include "common/npy.h"

#define CK_MAX_PATCHES 8

typedef struct ck_patch {
    char spec[512];
    char name[96];
    size_t lo[CK_MAX_DIMS], hi[CK_MAX_DIMS]; /* [lo, hi) per axis as given; hi 0: to the end */
    int n_axes;                              /* axes the slice names */
    int zero;
    ck_npy src;                /* the values, when not zero */
    int src_is_slice;          /* src holds only the slice, packed */
    float *dst;                /* the tensor in the arena */
    unsigned ndim;             /* the tensor's shape */
    size_t shape[CK_MAX_DIMS]; /* (with hi resolved once bound) */
    size_t step;               /* the runner step after which it is applied */
} ck_patch;

typedef struct ck_patch_set {
    ck_patch v[CK_MAX_PATCHES];
    size_t n;
    size_t applied;
} ck_patch_set;

/* Parse one spec into the next slot. 0, or -1 with one line in err. */
int ck_patch_parse(ck_patch_set *s, const char *spec, char *err, size_t len);
/* Find each tensor and the step that writes it; load and check its values.
 * 0, or -1 with err (unknown tensor, not written by any step, not f32, a
 * slice out of range, a file of the wrong shape). */
int ck_patch_bind(ck_patch_set *s, ck_runner *r, char *err, size_t len);
/* A ck_step_hook: applies the patches due after `step`. */
int ck_patch_hook(void *user, ck_runner *r, size_t step);
void ck_patch_free(ck_patch_set *s);

/* How far the patched output moved from the baseline. */
typedef struct ck_moved {
    double max_abs, rms;
    size_t changed, n;
} ck_moved;
ck_moved ck_patch_moved(const float *base, const float *patched, size_t n);

#endif
