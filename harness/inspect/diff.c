/* diff.c — comparing two dumps or checkpoints by tensor name (diff.h). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ck_host.h"
#include "common/files.h"
#include "common/npy.h"
#include "inspect/diff.h"
#include "inspect/stats.h"

#define GROWTH_FLAG 3.0 /* std grown (or shrunk) this many times is flagged */

typedef struct side {
    const char *dir;
    cJSON *root, *tensors;
} side;

typedef struct totals {
    size_t changed, same, only_a, only_b;
} totals;

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int load_side(side *s, const char *dir, char *err, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    s->dir = dir;
    char *text = ck_read_file(path, NULL);
    if (!text)
        return failf(err, len, "%s: not a dump or checkpoint (cannot read manifest.json)", dir);
    s->root = cJSON_Parse(text);
    free(text);
    const cJSON *fmt = cJSON_GetObjectItem(s->root, "format");
    s->tensors = cJSON_GetObjectItem(s->root, "tensors");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "ckernel-dump-1") != 0 || !cJSON_IsArray(s->tensors))
        return failf(err, len, "%s: not a ckernel dump (expected \"format\": \"ckernel-dump-1\" and \"tensors\")",
                     path);
    return 0;
}

static const cJSON *find(const side *s, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, s->tensors)
    {
        const cJSON *n = cJSON_GetObjectItem(t, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return t;
    }
    return NULL;
}

static const char *str(const cJSON *t, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(t, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int load_npy(const side *s, const cJSON *t, ck_npy *out, char *err, size_t len)
{
    char path[4400];
    const char *file = str(t, "file");
    if (!*file || strchr(file, '/'))
        return failf(err, len, "%s/manifest.json: tensor %s without a plain \"file\"", s->dir, str(t, "name"));
    snprintf(path, sizeof path, "%s/%s", s->dir, file);
    return ck_npy_read(path, out, err, len);
}

/* Flags worth a human's attention, appended to buf. */
static void flags(const ck_stats *a, const ck_stats *b, char *buf, size_t len)
{
    size_t k = 0;
    if (a->std > 0 && b->std >= GROWTH_FLAG * a->std)
        k += (size_t)snprintf(buf + k, len - k, "; std grew %.1fx: possible gradient explosion", b->std / a->std);
    if (b->std > 0 && a->std >= GROWTH_FLAG * b->std && k < len)
        k += (size_t)snprintf(buf + k, len - k, "; std shrank %.1fx: vanishing?", a->std / b->std);
    if (b->nan > a->nan && k < len)
        k += (size_t)snprintf(buf + k, len - k, "; NaN appeared (%zu)", b->nan - a->nan);
    if (b->inf > a->inf && k < len)
        k += (size_t)snprintf(buf + k, len - k, "; Inf appeared (%zu)", b->inf - a->inf);
    if (a->max != 0 && b->finite && b->min == 0 && b->max == 0 && k < len)
        snprintf(buf + k, len - k, "; became all zero");
}

/* One tensor present on both sides. 1 changed, 0 same, -1 error. */
static int compare(const cJSON *ta, const ck_npy *a, const ck_npy *b, FILE *out)
{
    const char *name = str(ta, "name");
    uint32_t dtype = ck_dtype_from_name(str(ta, "dtype"));
    size_t es = dtype == CK_DTYPE_F32 || dtype == CK_DTYPE_I32    ? 4
                : dtype == CK_DTYPE_BF16 || dtype == CK_DTYPE_F16 ? 2
                                                                  : 1;
    if (a->bytes != b->bytes || a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof a->shape) ||
        strcmp(a->descr, b->descr)) {
        fprintf(out, "changed   %s: shape or dtype differs\n", name);
        return 1;
    }
    size_t n = a->bytes / es, first = n;
    double max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp((const char *)a->data + i * es, (const char *)b->data + i * es, es) == 0)
            continue;
        first = first < n ? first : i;
        double d = es == 1 ? 1 : fabs(ck_stats_value(a->data, dtype, i) - ck_stats_value(b->data, dtype, i));
        max_abs = isnan(d) || d > max_abs ? d : max_abs;
    }
    if (first == n) {
        fprintf(out, "same      %s\n", name);
        return 0;
    }
    ck_stats sa, sb;
    char flag[256] = "";
    size_t offset = (size_t)strtoull(str(ta, "offset"), NULL, 16) + first * es;
    if (ck_stats_compute(a->data, dtype, n, &sa) == 0 && ck_stats_compute(b->data, dtype, n, &sb) == 0) {
        flags(&sa, &sb, flag, sizeof flag);
        fprintf(out, "changed   %s: mean %+.4g (%.4g -> %.4g), std %+.4g (%.4g -> %.4g), max |d| %.4g, ", name,
                sb.mean - sa.mean, sa.mean, sb.mean, sb.std - sa.std, sa.std, sb.std, max_abs);
    } else
        fprintf(out, "changed   %s: ", name);
    fprintf(out, "first at element %zu (offset 0x%zx)%s\n", first, offset, flag);
    return 1;
}

static int walk(side *a, side *b, FILE *out, totals *t, char *err, size_t len)
{
    const cJSON *ta;
    cJSON_ArrayForEach(ta, a->tensors)
    {
        const cJSON *tb = find(b, str(ta, "name"));
        ck_npy na, nb;
        if (!tb) {
            fprintf(out, "only in A %s\n", str(ta, "name"));
            t->only_a++;
            continue;
        }
        if (load_npy(a, ta, &na, err, len))
            return -1;
        if (load_npy(b, tb, &nb, err, len)) {
            free(na.data);
            return -1;
        }
        int c = compare(ta, &na, &nb, out);
        t->changed += c == 1;
        t->same += c == 0;
        free(na.data);
        free(nb.data);
    }
    const cJSON *tb;
    cJSON_ArrayForEach(tb, b->tensors) if (!find(a, str(tb, "name")))
    {
        fprintf(out, "only in B %s\n", str(tb, "name"));
        t->only_b++;
    }
    return 0;
}

int ck_diff_dirs(const char *a, const char *b, FILE *out, char *err, size_t len)
{
    side sa = {0}, sb = {0};
    totals t = {0};
    int rc = 2;
    if (load_side(&sa, a, err, len) == 0 && load_side(&sb, b, err, len) == 0 &&
        walk(&sa, &sb, out, &t, err, len) == 0) {
        fprintf(out, "%zu tensors compared: %zu changed, %zu identical; %zu only in A (%s), %zu only in B (%s)\n",
                t.changed + t.same, t.changed, t.same, t.only_a, a, t.only_b, b);
        rc = t.changed || t.only_a || t.only_b ? 1 : 0;
    }
    cJSON_Delete(sa.root);
    cJSON_Delete(sb.root);
    return rc;
}
