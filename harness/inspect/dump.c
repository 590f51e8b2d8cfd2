/* dump.c — selected tensors as .npy files with a manifest (dump.h). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ck_host.h"
#include "common/files.h"
#include "common/npy.h"
#include "inspect/dump.h"

int ck_dump_selects(const ck_dump_opts *o, const ck_tensor *t)
{
    if (o->glob && fnmatch(o->glob, t->name, 0) != 0)
        return 0;
    for (size_t k = 0; o->kinds && o->kinds[k]; k++)
        if (strcmp(o->kinds[k], t->kind) == 0)
            return 1;
    return o->kinds == NULL;
}

size_t ck_dump_count(const ck_plan *p, const ck_dump_opts *o)
{
    ck_tensor_set s;
    char err[64];
    size_t n = 0;
    if (ck_tensors_from_plan(p, &s, err, sizeof err))
        return 0;
    for (size_t i = 0; i < s.n; i++)
        n += (size_t)ck_dump_selects(o, &s.v[i]);
    ck_tensors_free(&s);
    return n;
}

static cJSON *entry(const ck_tensor *t, const char *file, uint64_t step)
{
    char off[32];
    cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray();
    snprintf(off, sizeof off, "0x%zx", t->offset);
    cJSON_AddStringToObject(e, "name", t->name);
    cJSON_AddStringToObject(e, "file", file);
    cJSON_AddStringToObject(e, "offset", off);
    cJSON_AddNumberToObject(e, "size", (double)t->size);
    for (unsigned d = 0; d < t->ndim; d++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
    cJSON_AddItemToObject(e, "shape", shape);
    cJSON_AddStringToObject(e, "dtype", ck_dtype_name(t->dtype));
    cJSON_AddStringToObject(e, "kind", t->kind);
    cJSON_AddNumberToObject(e, "step", (double)step);
    return e;
}

static int write_one(const char *dir, const ck_tensor *t, const void *base, char *err, size_t len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.npy", dir, t->name);
    size_t elems = ck_tensor_elems(t), shape[CK_MAX_DIMS];
    int ndim = (int)t->ndim;
    memcpy(shape, t->shape, sizeof shape);
    if (!elems) { /* quantised blocks: raw bytes */
        shape[0] = t->size;
        ndim = 1;
    }
    return ck_npy_write(path, ck_npy_descr(t->dtype), shape, ndim, (const char *)base + t->offset, t->size, err, len);
}

static int write_manifest(const char *dir, cJSON *root, char *err, size_t len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    char *text = cJSON_Print(root);
    if (!text) {
        snprintf(err, len, "%s: out of memory", path);
        return -1;
    }
    int rc = ck_write_file_atomic(path, text, strlen(text), err, len);
    free(text);
    return rc;
}

int ck_dump_write(const char *dir, const ck_plan *p, const void *base, const ck_dump_opts *o, size_t *written,
                  char *err, size_t len)
{
    ck_tensor_set s;
    char layout[4400];
    *written = 0;
    if (ck_tensors_from_plan(p, &s, err, len))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += (size_t)ck_dump_selects(o, &s.v[i]);
    snprintf(layout, sizeof layout, "%s/layout.json", dir);
    int rc = -1;
    cJSON *root = cJSON_CreateObject(), *list;
    if (n == 0)
        snprintf(err, len, "no tensor of %s matches '%s'", p->model, o->glob ? o->glob : "*");
    else if (ck_mkdir_p(dir, err, len) == 0 && ck_plan_write_json(p, layout, err, len) == 0) {
        cJSON_AddStringToObject(root, "format", "ckernel-dump-1");
        cJSON_AddStringToObject(root, "source", o->source ? o->source : "run");
        cJSON_AddStringToObject(root, "model", p->model);
        cJSON_AddStringToObject(root, "mode", s.mode);
        cJSON_AddNumberToObject(root, "step", (double)o->step);
        list = cJSON_AddArrayToObject(root, "tensors");
        rc = 0;
        for (size_t i = 0; i < s.n && rc == 0; i++) {
            char file[128];
            if (!ck_dump_selects(o, &s.v[i]))
                continue;
            snprintf(file, sizeof file, "%s.npy", s.v[i].name);
            rc = write_one(dir, &s.v[i], base, err, len);
            cJSON_AddItemToArray(list, entry(&s.v[i], file, o->step));
        }
        rc = rc ? rc : write_manifest(dir, root, err, len);
    }
    *written = rc == 0 ? n : 0;
    cJSON_Delete(root);
    ck_tensors_free(&s);
    return rc;
}
