/* inspect.c — the live inspector over a read-only shared arena (inspect.h). */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "ck_host.h"
#include "ck_share.h"
#include "inspect/dump.h"
#include "inspect/inspect.h"
#include "inspect/stats.h"
#include "inspect/tensors.h"

typedef struct watch {
    const ck_inspect_opts *o;
    ck_share_view v;
    ck_tensor_set all;
    const ck_tensor **sel;
    size_t n_sel;
    char **ops;
    size_t n_ops;
    unsigned char *buf; /* one tensor's private copy */
} watch;

static int failf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return 2;
}

/* The header's counters are atomics in memory we only map PROT_READ: plain
 * loads, never a read-modify-write. */
static ck_share_header *hdr(const watch *w)
{
    return (ck_share_header *)w->v.h;
}

static int open_watch(watch *w, char *err, size_t len)
{
    if (ck_share_open(w->o->name, &w->v, err, len))
        return 2;
    if (ck_tensors_from_layout(w->v.layout_text, "layout.json", &w->all, err, len))
        return 2;
    if (w->all.total != w->v.h->arena_bytes || strcmp(w->all.model, w->v.h->model) != 0)
        return failf(err, len, "%s: layout mismatch: layout.json plans %s in %zu bytes, the mapping holds %s in %llu",
                     w->v.path, w->all.model, w->all.total, w->v.h->model, (unsigned long long)w->v.h->arena_bytes);
    ck_dump_opts sel = {.glob = w->o->glob};
    size_t biggest = 1;
    if (!(w->sel = calloc(w->all.n + 1, sizeof *w->sel)))
        return failf(err, len, "out of memory");
    for (size_t i = 0; i < w->all.n; i++)
        if (ck_dump_selects(&sel, &w->all.v[i]) && w->all.v[i].slot < w->v.h->n_slots) {
            w->sel[w->n_sel++] = &w->all.v[i];
            biggest = w->all.v[i].size > biggest ? w->all.v[i].size : biggest;
        }
    if (!w->n_sel)
        return failf(err, len, "no tensor of %s matches '%s'", w->all.model, w->o->glob ? w->o->glob : "*");
    w->ops = ck_share_read_ops(w->o->name, &w->n_ops);
    return (w->buf = malloc(biggest)) ? 0 : failf(err, len, "out of memory");
}

static void close_watch(watch *w)
{
    if (w->ops)
        free(w->ops[0]);
    free(w->ops);
    free(w->buf);
    free(w->sel);
    ck_tensors_free(&w->all);
    ck_share_view_close(&w->v);
}

/* The counters of t's slot and its neighbours into before[]; 1 if one is odd. */
static int read_seqs(ck_share_header *h, size_t lo, size_t hi, uint64_t *before)
{
    int busy = 0;
    for (size_t s = lo; s <= hi; s++)
        busy |= (int)((before[s - lo] = atomic_load_explicit(&h->seq[s], memory_order_acquire)) & 1);
    return busy;
}

/* Copy t under the seqlocks of its slot and its neighbours; 1 if no step of
 * theirs ran while it was copied. While one runs we poll the counters, not
 * the data: re-copying a tensor the writer is busy with would only take
 * memory bandwidth and cache from it. */
static int copy_consistent(const watch *w, const ck_tensor *t)
{
    ck_share_header *h = hdr(w);
    size_t lo = t->slot ? t->slot - 1 : 0, hi = t->slot + 1 < h->n_slots ? t->slot + 1 : t->slot;
    uint64_t before[3];
    for (int copies = 0, polls = 0; copies < 4 && polls < 100;) {
        if (read_seqs(h, lo, hi, before)) {
            polls++;
            nanosleep(&(struct timespec){0, 25000}, NULL);
            continue;
        }
        memcpy(w->buf, w->v.base + t->offset, t->size);
        atomic_thread_fence(memory_order_acquire);
        int same = 1;
        for (size_t s = lo; s <= hi; s++)
            same &= atomic_load_explicit(&h->seq[s], memory_order_relaxed) == before[s - lo];
        if (same)
            return 1;
        copies++;
    }
    memcpy(w->buf, w->v.base + t->offset, t->size); /* shown, but marked */
    return 0;
}

static const char *op_label(const watch *w, uint64_t op)
{
    return op == CK_SHARE_IDLE ? "-" : op < w->n_ops ? w->ops[op] : "?";
}

static void print_progress(const watch *w, FILE *out)
{
    ck_share_header *h = hdr(w);
    uint32_t state = atomic_load(&h->state);
    fprintf(out, "%s: %s (%s), step %llu, %s, op %s, writer pid %lld\n", w->v.path, h->model, h->mode,
            (unsigned long long)atomic_load(&h->step), state == CK_SHARE_FINISHED ? "finished" : "running",
            op_label(w, atomic_load(&h->op)), (long long)h->writer_pid);
}

static void shape_text(const ck_tensor *t, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (unsigned d = 0; d < t->ndim && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, d ? "x%zu" : "%zu", t->shape[d]);
}

static void print_row(const ck_tensor *t, const ck_stats *s, int ok, FILE *out)
{
    char shape[48], spark[CK_HIST_BINS + 1];
    shape_text(t, shape, sizeof shape);
    ck_stats_sparkline(s, spark);
    fprintf(out, "  %-36s %-5s %-11s %11.4g %11.4g %11.4g %11.4g %5zu %5zu |%s|%s\n", t->name, ck_dtype_name(t->dtype),
            shape, s->min, s->max, s->mean, s->std, s->nan, s->inf, spark, ok ? "" : " (written while read)");
}

static cJSON *json_row(const ck_tensor *t, const ck_stats *s, int ok)
{
    cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *hist = cJSON_CreateArray();
    cJSON_AddStringToObject(e, "name", t->name);
    cJSON_AddNumberToObject(e, "layer", (double)t->layer);
    cJSON_AddStringToObject(e, "dtype", ck_dtype_name(t->dtype));
    for (unsigned d = 0; d < t->ndim; d++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
    cJSON_AddItemToObject(e, "shape", shape);
    cJSON_AddNumberToObject(e, "min", s->min);
    cJSON_AddNumberToObject(e, "max", s->max);
    cJSON_AddNumberToObject(e, "mean", s->mean);
    cJSON_AddNumberToObject(e, "std", s->std);
    cJSON_AddNumberToObject(e, "nan", (double)s->nan);
    cJSON_AddNumberToObject(e, "inf", (double)s->inf);
    for (int b = 0; b < CK_HIST_BINS; b++)
        cJSON_AddItemToArray(hist, cJSON_CreateNumber((double)s->hist[b]));
    cJSON_AddItemToObject(e, "hist", hist);
    cJSON_AddBoolToObject(e, "consistent", ok);
    return e;
}

static cJSON *json_head(const watch *w)
{
    ck_share_header *h = hdr(w);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "mapping", w->v.path);
    cJSON_AddStringToObject(j, "model", h->model);
    cJSON_AddStringToObject(j, "mode", h->mode);
    cJSON_AddNumberToObject(j, "step", (double)atomic_load(&h->step));
    cJSON_AddStringToObject(j, "op", op_label(w, atomic_load(&h->op)));
    cJSON_AddStringToObject(j, "state", atomic_load(&h->state) == CK_SHARE_FINISHED ? "finished" : "running");
    return j;
}

/* One snapshot of every selected tensor. 1 when --nan-alert fired. */
static int snapshot(const watch *w, FILE *out)
{
    const ck_inspect_opts *o = w->o;
    cJSON *j = o->json ? json_head(w) : NULL, *rows = j ? cJSON_AddArrayToObject(j, "tensors") : NULL;
    int alert = 0;
    if (!o->json)
        print_progress(w, out);
    if (!o->json && !o->nan_alert)
        fprintf(out, "  %-36s %-5s %-11s %11s %11s %11s %11s %5s %5s  %s\n", "tensor", "dtype", "shape", "min", "max",
                "mean", "std", "nan", "inf", "histogram");
    for (size_t i = 0; i < w->n_sel && !alert; i++) {
        const ck_tensor *t = w->sel[i];
        ck_stats s;
        int ok = copy_consistent(w, t);
        if (ck_stats_compute(w->buf, t->dtype, ck_tensor_elems(t), &s))
            continue; /* quantised blocks have no element values to summarise */
        if (o->nan_alert && s.nan + s.inf) {
            fprintf(stderr, "ckbench inspect: %s in %s (layer %ld, element %zu, step %llu): %g\n",
                    isnan(ck_stats_value(w->buf, t->dtype, s.first_bad)) ? "NaN" : "Inf", t->name, t->layer,
                    s.first_bad, (unsigned long long)atomic_load(&hdr(w)->step),
                    ck_stats_value(w->buf, t->dtype, s.first_bad));
            alert = 1;
        } else if (j)
            cJSON_AddItemToArray(rows, json_row(t, &s, ok));
        else if (!o->nan_alert)
            print_row(t, &s, ok, out);
    }
    if (j && !alert) {
        char *text = cJSON_PrintUnformatted(j);
        fprintf(out, "%s\n", text ? text : "{}");
        free(text);
    }
    cJSON_Delete(j);
    fflush(out);
    return alert;
}

int ck_inspect_run(const ck_inspect_opts *o, FILE *out, char *err, size_t len)
{
    watch w = {.o = o};
    int rc = open_watch(&w, err, len);
    for (long k = 1; rc == 0; k++) {
        int finished = atomic_load(&hdr(&w)->state) == CK_SHARE_FINISHED;
        if (snapshot(&w, out)) {
            rc = 1;
            break;
        }
        if (o->watch <= 0 || (o->count && k >= o->count) || finished)
            break;
        /* a writer that finished during this snapshot is gone but not stale */
        if (!ck_share_writer_alive(w.v.h) && atomic_load(&hdr(&w)->state) != CK_SHARE_FINISHED) {
            rc = failf(err, len, "%s: stale: its writer (pid %lld) ended without finishing", w.v.path,
                       (long long)w.v.h->writer_pid);
            break;
        }
        double whole = floor(o->watch);
        nanosleep(&(struct timespec){(time_t)whole, (long)((o->watch - whole) * 1e9)}, NULL);
    }
    if (rc == 0 && o->nan_alert && !o->json)
        fprintf(out, "no NaN or Inf in %zu tensors\n", w.n_sel);
    close_watch(&w);
    return rc;
}
