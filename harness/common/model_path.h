/* model_path.h — the one place a `--model` argument becomes a file: a path
 * as given, or a bare name (`llava`, `tiny-gqa.json`) looked up, in order, in
 * $CK_MODEL_PATH (colon-separated), the installed models next to the binary
 * (<prefix>/bin/ckbench -> <prefix>/share/ckernel/models) and the models of
 * the source tree ckbench was built from (CK_SOURCE_MODELS). */
#ifndef CK_MODEL_PATH_H
#define CK_MODEL_PATH_H

#include <stddef.h>

/* 0 with the file's path in out; -1 with one line in err that names where it
 * looked and the model names it found there. A path (a '/' in it, or a file
 * that exists as given) is returned unchanged: the loader names its faults. */
int ck_model_resolve(const char *arg, char *out, size_t out_len, char *err, size_t err_len);

/* For option parsers: the resolved path in a buffer of its own (valid until
 * the process ends; a few per process), or NULL after "<cmd>: <why>" on
 * stderr. */
const char *ck_model_arg(const char *cmd, const char *arg);

#endif
