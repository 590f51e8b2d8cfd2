/* files.h — directories and whole files, as several rooms need them. */
#ifndef CK_FILES_H
#define CK_FILES_H

#include <stddef.h>

/* Create `path` and its parents (mkdir -p). 0, or -1 with one line in err
 * naming the part that could not be made. */
int ck_mkdir_p(const char *path, char *err, size_t err_len);

/* The whole file, NUL-terminated, malloc'd; NULL (errno set) if unreadable. */
char *ck_read_file(const char *path, size_t *len);

/* Write `len` bytes to path.tmp, then rename over `path`: a reader never
 * sees half a file. 0, or -1 with one line in err. */
int ck_write_file_atomic(const char *path, const char *text, size_t len, char *err, size_t err_len);

#endif
