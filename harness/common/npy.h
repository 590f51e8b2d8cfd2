/* npy.h — write arrays in NumPy's .npy format (version 1.0), so a dumped
 * parity case loads with numpy.load or torch.from_numpy. */
#ifndef CK_NPY_H
#define CK_NPY_H

#include <stddef.h>

/* descr: '<f4', '<i4', '<u2', '<f2' or '|u1'. shape: ndim dims (ndim >= 1)
 * whose product times the item size is the data's byte count. Writes to
 * path.tmp and renames, so a failed write leaves no half file. 0 on success;
 * -1 with one line in err. */
int ck_npy_write(const char *path, const char *descr, const size_t *shape, int ndim, const void *data, size_t bytes,
                 char *err, size_t err_len);

/* The descr for a ckernel storage dtype (CK_DTYPE_*): bf16 is '<u2' (NumPy
 * has no bfloat16), quantised blocks are '|u1'. */
const char *ck_npy_descr(unsigned dtype);

/* A .npy file read back (version 1.0 or 2.0, C order): its descr
 * ("<f4"), shape and data (malloc'd; free it). 0, or -1 with one line in
 * err naming the file and what is wrong with it. */
typedef struct ck_npy {
    char descr[8];
    int ndim;
    size_t shape[8];
    void *data;
    size_t bytes;
} ck_npy;
int ck_npy_read(const char *path, ck_npy *out, char *err, size_t err_len);

#endif
