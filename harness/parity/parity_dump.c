/* --dump DIR: every checked case as .npy files a user can load in NumPy or
 * PyTorch, and DIR/manifest.json saying which file is which:
 *   DIR/case-0007/input_x.npy        what every kernel was given
 *   DIR/case-0007/reference_y.npy    the scalar reference's output
 *   DIR/case-0007/<plugin>_y.npy     a plugin's output
 * bf16 arrays are stored as '<u2' (NumPy has no bfloat16) and quantised
 * blocks as raw bytes ('|u1'). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "common/files.h"
#include "common/npy.h"
#include "parity.h"

struct ck_parity_dump {
    char dir[4096];
    cJSON *root, *cases;
    cJSON *current; /* the manifest entry of the shape being dumped */
    size_t current_index;
};

ck_parity_dump *ck_parity_dump_open(const char *dir, char *err, size_t err_len)
{
    if (strlen(dir) >= 3900) {
        snprintf(err, err_len, "--dump: directory path too long");
        return NULL;
    }
    if (ck_mkdir_p(dir, err, err_len) != 0)
        return NULL;
    ck_parity_dump *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, err_len, "%s: out of memory", dir);
        return NULL;
    }
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    d->root = cJSON_CreateObject();
    cJSON_AddStringToObject(d->root, "format",
                            "ckbench parity dump: NumPy .npy v1.0, little-endian; bf16 stored as <u2 bit patterns, "
                            "q8_0/q4_0 as raw GGUF blocks (|u1)");
    d->cases = cJSON_AddArrayToObject(d->root, "cases");
    d->current_index = (size_t)-1;
    return d;
}

static void safe_name(char *out, size_t len, const char *in)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++) {
        char ch = in[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                 ch == '_' || ch == '.';
        out[i] = ok ? ch : '_';
    }
    out[i] = 0;
}

/* Write one buffer as case-NNNN/<prefix>_<name>.npy and record it in obj. */
static int dump_buf(ck_parity_dump *d, cJSON *obj, const char *prefix, const ck_case_buf *b, const void *data,
                    char *err, size_t err_len)
{
    char rel[512], path[4096 + 512];
    snprintf(rel, sizeof rel, "case-%04zu/%s_%s.npy", d->current_index, prefix, b->name);
    snprintf(path, sizeof path, "%s/%s", d->dir, rel);
    if (ck_npy_write(path, ck_npy_descr(b->dtype), b->dims, b->ndim, data, b->bytes, err, err_len) != 0)
        return -1;
    cJSON_AddStringToObject(obj, b->name, rel);
    return 0;
}

/* The outputs of a run, in case order, into obj. */
static int dump_outputs(ck_parity_dump *d, const ck_case *c, cJSON *obj, const char *prefix,
                        const unsigned char *outputs, char *err, size_t err_len)
{
    size_t off = 0;
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (!ck_case_buf_is_output(b))
            continue;
        if (dump_buf(d, obj, prefix, b, outputs + off, err, err_len) != 0)
            return -1;
        off += b->bytes;
    }
    return 0;
}

static int start_shape(ck_parity_dump *d, const ck_case *c, size_t shape_index, const ck_run_outcome *ref,
                       const ck_parity_result *r, char *err, size_t err_len)
{
    d->current_index = shape_index;
    char sub[4096 + 32];
    snprintf(sub, sizeof sub, "%s/case-%04zu", d->dir, shape_index);
    if (ck_mkdir_p(sub, err, err_len) != 0)
        return -1;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(d->cases, e);
    d->current = e;
    char id[32];
    snprintf(id, sizeof id, "case-%04zu", shape_index);
    cJSON_AddStringToObject(e, "id", id);
    cJSON_AddStringToObject(e, "op", ck_op_name(ck_case_shape(c)->op));
    cJSON_AddStringToObject(e, "op_instance", r->shape_desc);
    cJSON_AddStringToObject(e, "label", r->label);
    cJSON *in = cJSON_AddObjectToObject(e, "inputs");
    for (size_t i = 0; i < ck_case_n_bufs(c); i++) {
        const ck_case_buf *b = ck_case_buf_at(c, i);
        if (ck_case_buf_is_input(b) && dump_buf(d, in, "input", b, b->init, err, err_len) != 0)
            return -1;
    }
    cJSON *refo = cJSON_AddObjectToObject(e, "reference");
    if (ref->state == CK_RUN_DONE && ref->outputs &&
        dump_outputs(d, c, refo, "reference", ref->outputs, err, err_len) != 0)
        return -1;
    cJSON_AddArrayToObject(e, "results");
    return 0;
}

int ck_parity_dump_case(ck_parity_dump *d, const ck_case *c, size_t shape_index, const ck_run_outcome *ref,
                        const ck_run_outcome *got, const ck_parity_result *r, char *err, size_t err_len)
{
    if (shape_index != d->current_index && start_shape(d, c, shape_index, ref, r, err, err_len) != 0)
        return -1;
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_GetObjectItem(d->current, "results"), res);
    cJSON_AddStringToObject(res, "plugin", r->plugin);
    cJSON_AddStringToObject(res, "kernel", r->kernel);
    cJSON_AddStringToObject(res, "verdict", ck_verdict_name(r->verdict));
    cJSON_AddStringToObject(res, "reason", r->reason);
    cJSON *outs = cJSON_AddObjectToObject(res, "outputs");
    if (got && got->state == CK_RUN_DONE && got->outputs) {
        char prefix[200];
        safe_name(prefix, sizeof prefix, r->kernel[0] ? r->kernel : r->plugin);
        return dump_outputs(d, c, outs, prefix, got->outputs, err, err_len);
    }
    return 0;
}

int ck_parity_dump_close(ck_parity_dump *d, char *err, size_t err_len)
{
    int rc = 0;
    char *text = cJSON_Print(d->root);
    char path[4096 + 32];
    snprintf(path, sizeof path, "%s/manifest.json", d->dir);
    if (!text) {
        snprintf(err, err_len, "%s: out of memory", path);
        rc = -1;
    } else {
        size_t n = strlen(text);
        char *line = realloc(text, n + 2);
        if (line) {
            text = line;
            memcpy(text + n, "\n", 2);
        }
        rc = ck_write_file_atomic(path, text, n + (line != NULL), err, err_len);
    }
    free(text);
    cJSON_Delete(d->root);
    free(d);
    return rc;
}
