/* tensors.c — tensor lists from a plan or from layout.json (tensors.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ck_host.h"
#include "inspect/tensors.h"

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

size_t ck_tensor_elems(const ck_tensor *t)
{
    size_t es = t->dtype == CK_DTYPE_F32 || t->dtype == CK_DTYPE_I32    ? 4
                : t->dtype == CK_DTYPE_BF16 || t->dtype == CK_DTYPE_F16 ? 2
                                                                        : 0;
    return es ? t->size / es : 0;
}

int ck_tensors_from_plan(const ck_plan *p, ck_tensor_set *out, char *err, size_t len)
{
    memset(out, 0, sizeof *out);
    if (!(out->v = calloc(p->n_buffers + 1, sizeof *out->v)))
        return failf(err, len, "out of memory");
    size_t base[CK_MAX_SECTIONS + 1] = {0};
    for (size_t s = 0; s < p->n_sections; s++)
        base[s + 1] = base[s] + p->sections[s].n_layers + 2;
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *b = &p->buffers[i];
        ck_tensor *t = &out->v[i];
        snprintf(t->name, sizeof t->name, "%s", b->name);
        t->offset = b->offset;
        t->size = b->size;
        t->dtype = b->dtype;
        t->ndim = b->ndim;
        memcpy(t->shape, b->shape, sizeof t->shape);
        snprintf(t->kind, sizeof t->kind, "%s", ck_buf_kind_name(b->kind));
        t->layer = b->part == CK_PART_LAYER ? (long)b->layer : -1;
        t->slot = base[b->section] + (b->part == CK_PART_HEADER  ? 0
                                      : b->part == CK_PART_LAYER ? 1 + b->layer
                                                                 : 1 + p->sections[b->section].n_layers);
    }
    out->n = p->n_buffers;
    out->total = p->total;
    snprintf(out->model, sizeof out->model, "%s", p->model);
    snprintf(out->mode, sizeof out->mode, "%s", p->opts.training ? "training" : p->opts.decode ? "decode" : "forward");
    return 0;
}

static int add_tensor(ck_tensor_set *s, const cJSON *j, long layer, size_t slot, const char *what, char *err,
                      size_t len)
{
    const cJSON *name = cJSON_GetObjectItem(j, "name"), *off = cJSON_GetObjectItem(j, "offset"),
                *size = cJSON_GetObjectItem(j, "size"), *dt = cJSON_GetObjectItem(j, "dtype"),
                *shape = cJSON_GetObjectItem(j, "shape"), *kind = cJSON_GetObjectItem(j, "kind");
    if (!cJSON_IsString(name) || !cJSON_IsString(off) || !cJSON_IsNumber(size) || !cJSON_IsString(dt) ||
        !cJSON_IsArray(shape) || !cJSON_IsString(kind) || cJSON_GetArraySize(shape) > CK_MAX_DIMS)
        return failf(err, len, "%s: tensor %zu: expected name, offset, size, dtype, shape and kind", what, s->n);
    ck_tensor *t = &s->v[s->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name->valuestring);
    t->offset = (size_t)strtoull(off->valuestring, NULL, 16);
    t->size = (size_t)size->valuedouble;
    t->dtype = ck_dtype_from_name(dt->valuestring);
    snprintf(t->kind, sizeof t->kind, "%s", kind->valuestring);
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) t->shape[t->ndim++] = (size_t)d->valuedouble;
    t->layer = layer;
    t->slot = slot;
    if (t->offset > s->total || t->size > s->total - t->offset)
        return failf(err, len, "%s: tensor %s lies outside the %zu-byte allocation", what, t->name, s->total);
    s->n++;
    return 0;
}

static int add_part(ck_tensor_set *s, const cJSON *part, long layer, size_t slot, const char *what, char *err,
                    size_t len)
{
    const cJSON *tensors = cJSON_GetObjectItem(part, "tensors"), *t;
    if (!cJSON_IsArray(tensors))
        return failf(err, len, "%s: a section part without \"tensors\"", what);
    size_t need = s->n + (size_t)cJSON_GetArraySize(tensors) + 1;
    ck_tensor *v = realloc(s->v, need * sizeof *v);
    if (!v)
        return failf(err, len, "out of memory");
    s->v = v;
    cJSON_ArrayForEach(t, tensors)
    {
        if (add_tensor(s, t, layer, slot, what, err, len))
            return -1;
    }
    return 0;
}

static int add_sections(ck_tensor_set *s, const cJSON *sections, const char *what, char *err, size_t len)
{
    const cJSON *sec;
    size_t slot = 0;
    cJSON_ArrayForEach(sec, sections)
    {
        const cJSON *layers = cJSON_GetObjectItem(sec, "layers"), *l;
        if (!cJSON_IsArray(layers))
            return failf(err, len, "%s: a section without \"layers\"", what);
        if (add_part(s, cJSON_GetObjectItem(sec, "header"), -1, slot, what, err, len))
            return -1;
        long k = 0;
        cJSON_ArrayForEach(l, layers)
        {
            if (add_part(s, l, k, slot + 1 + (size_t)k, what, err, len))
                return -1;
            k++;
        }
        if (add_part(s, cJSON_GetObjectItem(sec, "footer"), -1, slot + 1 + (size_t)k, what, err, len))
            return -1;
        const cJSON *kv = cJSON_GetObjectItem(sec, "kv_cache"); /* decode plans: the caches after the footer */
        size_t first_kv = s->n;
        if (kv && add_part(s, kv, -1, slot, what, err, len))
            return -1;
        for (size_t i = first_kv; i < s->n; i++) { /* each cache belongs to its layer (written by its attention) */
            const char *at = strstr(s->v[i].name, ".layer.");
            long layer = at ? strtol(at + 7, NULL, 10) : -1;
            if (layer >= 0 && layer < k)
                s->v[i].layer = layer, s->v[i].slot = slot + 1 + (size_t)layer;
        }
        slot += (size_t)k + 2;
    }
    return 0;
}

int ck_tensors_from_layout(const char *text, const char *what, ck_tensor_set *out, char *err, size_t len)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_Parse(text);
    const cJSON *fmt = cJSON_GetObjectItem(root, "format"), *model = cJSON_GetObjectItem(root, "model"),
                *total = cJSON_GetObjectItem(root, "total_bytes"), *mode = cJSON_GetObjectItem(root, "mode"),
                *sections = cJSON_GetObjectItem(root, "sections");
    int rc = -1;
    if (!root)
        failf(err, len, "%s: not JSON", what);
    else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "ckernel-layout-1") != 0)
        failf(err, len, "%s: not a ckernel layout (expected \"format\": \"ckernel-layout-1\")", what);
    else if (!cJSON_IsString(model) || !cJSON_IsNumber(total) || !cJSON_IsArray(sections))
        failf(err, len, "%s: expected \"model\", \"total_bytes\" and \"sections\"", what);
    else {
        snprintf(out->model, sizeof out->model, "%s", model->valuestring);
        snprintf(out->mode, sizeof out->mode, "%s", cJSON_IsString(mode) ? mode->valuestring : "?");
        out->total = (size_t)total->valuedouble;
        rc = add_sections(out, sections, what, err, len);
    }
    cJSON_Delete(root);
    if (rc)
        ck_tensors_free(out);
    return rc;
}

void ck_tensors_free(ck_tensor_set *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

const ck_tensor *ck_tensors_find(const ck_tensor_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}
