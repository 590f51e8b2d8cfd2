/* tensors.h — the named tensors of one allocation, from a plan in memory
 * or from a layout.json file (a reader in another process has only that),
 * with the seqlock slot of each (runtime/ck_share.h). */
#ifndef CK_INSPECT_TENSORS_H
#define CK_INSPECT_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "ck_plan.h"

typedef struct ck_tensor {
    char name[96];
    size_t offset, size;
    uint32_t dtype;
    unsigned ndim;
    size_t shape[CK_MAX_DIMS];
    char kind[24]; /* ck_buf_kind_name */
    long layer;    /* -1 outside a layer */
    size_t slot;   /* ck_share_slot of its part */
} ck_tensor;

typedef struct ck_tensor_set {
    ck_tensor *v;
    size_t n;
    size_t total; /* bytes of the allocation */
    char model[64], mode[16];
} ck_tensor_set;

/* 0, or -1 with one line in err (not JSON, not ckernel-layout-1, a tensor
 * outside the allocation). `what` names the text in errors. */
int ck_tensors_from_layout(const char *text, const char *what, ck_tensor_set *out, char *err, size_t len);
int ck_tensors_from_plan(const ck_plan *p, ck_tensor_set *out, char *err, size_t len);
void ck_tensors_free(ck_tensor_set *s);

/* The tensor of this name, or NULL. */
const ck_tensor *ck_tensors_find(const ck_tensor_set *s, const char *name);
/* Elements of a tensor (size / element size; 0 for quantised blocks). */
size_t ck_tensor_elems(const ck_tensor *t);

#endif
