/* patch.c — activation patches by name through the step hook (patch.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"
#include "inspect/patch.h"

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* "[:, 2, 0:4]" into per-axis ranges; -1 if malformed. */
static int parse_slice(ck_patch *p, const char *s, const char *end)
{
    for (const char *q = s; q < end && p->n_axes < CK_MAX_DIMS; p->n_axes++) {
        size_t d = (size_t)p->n_axes;
        char *e;
        while (*q == ' ')
            q++;
        p->lo[d] = 0;
        p->hi[d] = 0;
        if (*q != ':') {
            p->lo[d] = strtoull(q, &e, 10);
            if (e == q)
                return -1;
            p->hi[d] = p->lo[d] + 1;
            q = e;
        }
        if (*q == ':') {
            q++;
            p->hi[d] = (*q >= '0' && *q <= '9') ? strtoull(q, &e, 10) : 0;
            q = (*q >= '0' && *q <= '9') ? e : q;
            if (p->hi[d] && p->hi[d] <= p->lo[d])
                return -1;
        }
        while (*q == ' ')
            q++;
        if (q < end && *q++ != ',')
            return -1;
    }
    return p->n_axes > 0 ? 0 : -1;
}

int ck_patch_parse(ck_patch_set *s, const char *spec, char *err, size_t len)
{
    if (s->n == CK_MAX_PATCHES)
        return failf(err, len, "--patch: at most %d patches", CK_MAX_PATCHES);
    ck_patch *p = &s->v[s->n];
    memset(p, 0, sizeof *p);
    snprintf(p->spec, sizeof p->spec, "%s", spec);
    const char *eq = strchr(spec, '='), *br = strchr(spec, '[');
    size_t name_end = br && (!eq || br < eq) ? (size_t)(br - spec) : eq ? (size_t)(eq - spec) : 0;
    if (!eq || !eq[1] || name_end == 0 || name_end >= sizeof p->name)
        return failf(err, len, "--patch: expected NAME[SLICE]=FILE.npy or NAME[SLICE]=zero, found '%s'", spec);
    memcpy(p->name, spec, name_end);
    if (br && br < eq && (eq[-1] != ']' || parse_slice(p, br + 1, eq - 1)))
        return failf(err, len, "--patch: expected a slice such as [:,2] or [0:4,1] (at most %d axes), found '%.*s'",
                     CK_MAX_DIMS, (int)(eq - br), br);
    p->zero = strcmp(eq + 1, "zero") == 0;
    if (!p->zero && ck_npy_read(eq + 1, &p->src, err, len))
        return -1;
    if (!p->zero && strcmp(p->src.descr, "<f4") != 0) {
        free(p->src.data);
        return failf(err, len, "--patch: %s holds %s, expected f32 (<f4)", eq + 1, p->src.descr);
    }
    s->n++;
    return 0;
}

static size_t region_elems(const ck_patch *p)
{
    size_t n = 1;
    for (unsigned d = 0; d < p->ndim; d++)
        n *= p->hi[d] - p->lo[d];
    return n;
}

/* The values must cover the whole tensor or exactly the slice. */
static int check_source(ck_patch *p, char *err, size_t len)
{
    size_t n = p->src.bytes / sizeof(float), all = 1;
    for (unsigned d = 0; d < p->ndim; d++)
        all *= p->shape[d];
    if (p->zero || n == all)
        return 0;
    if (n == region_elems(p)) {
        p->src_is_slice = 1;
        return 0;
    }
    return failf(err, len, "--patch %s: the file holds %zu values; the tensor has %zu and the slice %zu", p->name, n,
                 all, region_elems(p));
}

static int resolve_slice(ck_patch *p, const ck_buffer *b, char *err, size_t len)
{
    p->ndim = b->ndim;
    memcpy(p->shape, b->shape, sizeof p->shape);
    if ((unsigned)p->n_axes > b->ndim)
        return failf(err, len, "--patch %s: a slice of %d axes; the tensor has %u", p->name, p->n_axes, b->ndim);
    for (unsigned d = 0; d < b->ndim; d++) {
        if ((int)d >= p->n_axes || p->hi[d] == 0)
            p->hi[d] = b->shape[d];
        if (p->hi[d] > b->shape[d] || p->lo[d] >= p->hi[d])
            return failf(err, len, "--patch %s: axis %u range [%zu:%zu) outside its %zu", p->name, d, p->lo[d],
                         p->hi[d], b->shape[d]);
    }
    return 0;
}

/* The first step that lists the tensor among its outputs. */
static size_t writer_step(ck_runner *r, const char *name)
{
    for (size_t i = 0; i < ck_runner_n_steps(r); i++) {
        const ck_run_step *s = ck_runner_step(r, i);
        for (size_t k = 0; k < s->n_out; k++)
            if (strcmp(s->out[k].name, name) == 0)
                return i;
    }
    return (size_t)-1;
}

static int bind_one(ck_patch *p, ck_runner *r, char *err, size_t len)
{
    const ck_plan *plan = ck_runner_plan(r);
    const ck_buffer *b = NULL;
    for (size_t i = 0; i < plan->n_buffers && !b; i++)
        if (strcmp(plan->buffers[i].name, p->name) == 0)
            b = &plan->buffers[i];
    if (!b)
        return failf(err, len, "--patch: no tensor '%s' in the layout of %s", p->name, plan->model);
    if (b->dtype != CK_DTYPE_F32)
        return failf(err, len, "--patch: %s is %s; only f32 activations can be patched", p->name,
                     ck_dtype_name(b->dtype));
    if (resolve_slice(p, b, err, len))
        return -1;
    if ((p->step = writer_step(r, p->name)) == (size_t)-1)
        return failf(err, len,
                     "--patch: %s is not written by any step of this run (a weight or input, or inside a fused "
                     "group: try --fuse none)",
                     p->name);
    p->dst = (float *)((char *)ck_runner_base(r) + b->offset);
    return check_source(p, err, len);
}

int ck_patch_bind(ck_patch_set *s, ck_runner *r, char *err, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (bind_one(&s->v[i], r, err, len))
            return -1;
    return 0;
}

/* Every run of the last axis inside the slice, by an odometer over the others. */
static void apply(const ck_patch *p)
{
    size_t idx[CK_MAX_DIMS], last = p->ndim - 1, run = p->hi[last] - p->lo[last], packed = 0;
    for (unsigned d = 0; d < p->ndim; d++)
        idx[d] = p->lo[d];
    for (;;) {
        size_t off = 0;
        for (unsigned d = 0; d < p->ndim; d++)
            off = off * p->shape[d] + idx[d];
        if (p->zero)
            memset(p->dst + off, 0, run * sizeof(float));
        else
            memcpy(p->dst + off, (const float *)p->src.data + (p->src_is_slice ? packed : off), run * sizeof(float));
        packed += run;
        size_t d = last;
        while (d-- > 0 && ++idx[d] == p->hi[d])
            idx[d] = p->lo[d];
        if (d == (size_t)-1)
            return;
    }
}

int ck_patch_hook(void *user, ck_runner *r, size_t step)
{
    ck_patch_set *s = user;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].step == step) {
            apply(&s->v[i]);
            s->applied++;
        }
    (void)r;
    return 0;
}

void ck_patch_free(ck_patch_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].src.data);
    s->n = 0;
}

ck_moved ck_patch_moved(const float *base, const float *patched, size_t n)
{
    ck_moved m = {0};
    double sq = 0;
    m.n = n;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)patched[i] - (double)base[i]);
        m.changed += memcmp(&base[i], &patched[i], sizeof *base) != 0;
        if (d > m.max_abs || isnan(d))
            m.max_abs = d;
        sq += d * d;
    }
    m.rms = n ? sqrt(sq / (double)n) : 0;
    return m;
}
