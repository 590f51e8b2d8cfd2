/* NumPy .npy writer, format version 1.0: magic, version, a little-endian
 * uint16 header length, a Python dict literal padded with spaces to a
 * multiple of 64 bytes and ended by '\n', then the raw data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_plugin.h"
#include "npy.h"

const char *ck_npy_descr(unsigned dtype)
{
    switch (dtype) {
    case CK_DTYPE_F32: return "<f4";
    case CK_DTYPE_I32: return "<i4";
    case CK_DTYPE_BF16: return "<u2";
    case CK_DTYPE_F16: return "<f2";
    default: return "|u1";
    }
}

static int host_is_little_endian(void)
{
    const unsigned one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

int ck_npy_write(const char *path, const char *descr, const size_t *shape, int ndim, const void *data, size_t bytes,
                 char *err, size_t err_len)
{
    if (!host_is_little_endian() && descr[0] == '<') {
        snprintf(err, err_len, "%s: this writer only runs on little-endian hosts", path);
        return -1;
    }
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim && k > 0 && (size_t)k < sizeof dict; i++)
        k += snprintf(dict + k, sizeof dict - (size_t)k, ndim == 1 ? "%zu," : (i ? ", %zu" : "%zu"), shape[i]);
    if (k > 0 && (size_t)k < sizeof dict)
        k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    if (k <= 0 || (size_t)k >= sizeof dict - 64) {
        snprintf(err, err_len, "%s: npy header too long", path);
        return -1;
    }
    /* magic (6) + version (2) + length (2) + dict + padding + '\n' = 64*m */
    size_t total = 10 + (size_t)k + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    unsigned char head[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    int ok = fwrite(head, 1, sizeof head, f) == sizeof head && fwrite(dict, 1, (size_t)k, f) == (size_t)k;
    for (size_t i = (size_t)k; ok && i < hlen - 1; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_len, "%s: write failed: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* The dict's 'descr' and 'shape' and 'fortran_order'; -1 if malformed. */
static int parse_dict(const char *d, ck_npy *o)
{
    const char *p = strstr(d, "'descr':");
    if (!p || sscanf(p + 8, " '%7[^']'", o->descr) != 1 || strstr(d, "'fortran_order': True"))
        return -1;
    if (!(p = strstr(d, "'shape':")) || !(p = strchr(p, '(')))
        return -1;
    o->ndim = 0;
    for (p++; *p && *p != ')';) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || o->ndim == 8)
            return -1;
        o->shape[o->ndim++] = (size_t)v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return *p == ')' ? 0 : -1;
}

static size_t descr_size(const char *descr)
{
    size_t n = strlen(descr);
    return n >= 3 && (descr[1] == 'f' || descr[1] == 'i' || descr[1] == 'u') ? (size_t)atoi(descr + 2) : 0;
}

int ck_npy_read(const char *path, ck_npy *o, char *err, size_t err_len)
{
    memset(o, 0, sizeof *o);
    FILE *f = fopen(path, "rb");
    unsigned char head[12];
    char dict[4096];
    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t hlen = 0, items = 1;
    int ok = fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY", 6) == 0 && (head[6] == 1 || head[6] == 2);
    if (ok && head[6] == 2) /* a 4-byte header length */
        ok = fread(head + 10, 1, 2, f) == 2;
    if (ok)
        hlen = head[8] | (size_t)head[9] << 8 | (head[6] == 2 ? (size_t)head[10] << 16 | (size_t)head[11] << 24 : 0);
    ok = ok && hlen < sizeof dict && fread(dict, 1, hlen, f) == hlen;
    if (ok)
        dict[hlen] = 0;
    ok = ok && parse_dict(dict, o) == 0 && descr_size(o->descr) > 0;
    for (int i = 0; ok && i < o->ndim; i++)
        items *= o->shape[i];
    if (ok) {
        o->bytes = items * descr_size(o->descr);
        o->data = malloc(o->bytes ? o->bytes : 1);
        ok = o->data && fread(o->data, 1, o->bytes, f) == o->bytes;
    }
    fclose(f);
    if (!ok) {
        free(o->data);
        o->data = NULL;
        snprintf(err, err_len,
                 "%s: not a NumPy .npy file this reader understands (v1/v2, C order, <f4 <i4 <u2 <f2 |u1)", path);
        return -1;
    }
    return 0;
}
