/* layout_json.c — write a plan as layout.json, the address book of the one
 * allocation. Written by hand rather than through cJSON so that offsets stay
 * exact 64-bit hex strings and the bytes are the same on every run; written
 * to a temporary file renamed into place, so a failure never leaves half a
 * file where a reader expects a whole one. Format: docs/layout.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ck_fusion.h"
#include "ck_plan.h"

static const char *mode_name(const ck_plan_opts *o)
{
    return o->training ? "training" : o->decode ? "decode" : "forward";
}

static void write_tensor(FILE *f, const ck_buffer *b, int last)
{
    fprintf(f, "          {\"name\": \"%s\", \"offset\": \"0x%zx\", \"size\": %zu, \"dtype\": \"%s\", \"shape\": [",
            b->name, b->offset, b->size, ck_dtype_name(b->dtype));
    for (unsigned d = 0; d < b->ndim; d++)
        fprintf(f, "%s%zu", d ? ", " : "", b->shape[d]);
    fprintf(f, "], \"kind\": \"%s\"}%s\n", ck_buf_kind_name(b->kind), last ? "" : ",");
}

/* The buffers of one part: a run of the execution-ordered array starting at
 * *i. Advances *i past them. */
static void write_part(FILE *f, const ck_plan *p, size_t *i, uint32_t sec, ck_part part, uint32_t layer,
                       const ck_span *span, int is_layer)
{
    size_t first = *i, end = *i;
    while (end < p->n_buffers && p->buffers[end].section == sec && p->buffers[end].part == part &&
           (part == CK_PART_KV_CACHE || p->buffers[end].layer == layer)) /* the caches of every layer */
        end++;
    if (is_layer)
        fprintf(f, "        {\"index\": %u, ", layer);
    else
        fprintf(f, "      \"%s\": {", ck_part_name(part));
    fprintf(f, "\"offset\": \"0x%zx\", \"size\": %zu, \"tensors\": [\n", span->start, span->end - span->start);
    for (size_t k = first; k < end; k++)
        write_tensor(f, &p->buffers[k], k + 1 == end);
    fprintf(f, "%s]}", is_layer ? "        " : "      ");
    *i = end;
}

static void write_section(FILE *f, const ck_plan *p, size_t *i, uint32_t sec)
{
    const ck_section_plan *sp = &p->sections[sec];
    fprintf(f, "    {\n      \"name\": \"%s\", \"kind\": \"%s\", \"offset\": \"0x%zx\", \"size\": %zu,\n",
            p->section_names[sec], ck_section_kind_name(p->section_kinds[sec]), sp->all.start,
            sp->all.end - sp->all.start);
    write_part(f, p, i, sec, CK_PART_HEADER, 0, &sp->header, 0);
    fprintf(f, ",\n      \"layers\": [\n");
    for (uint32_t l = 0; l < sp->n_layers; l++) {
        write_part(f, p, i, sec, CK_PART_LAYER, l, &sp->layers[l], 1);
        fprintf(f, "%s\n", l + 1 < sp->n_layers ? "," : "");
    }
    fprintf(f, "      ],\n");
    write_part(f, p, i, sec, CK_PART_FOOTER, 0, &sp->footer, 0);
    if (sp->kv_cache.end > sp->kv_cache.start) { /* decode plans only: other layouts keep their bytes */
        fprintf(f, ",\n");
        write_part(f, p, i, sec, CK_PART_KV_CACHE, 0, &sp->kv_cache, 0);
    }
    fprintf(f, "\n    }%s\n", sec + 1 < p->n_sections ? "," : "");
}

/* "fusion": the flags asked for, whose offer decided, what the pass applied. */
static void write_fusion(FILE *f, const ck_plan_fusion *r)
{
    char mask[256];
    ck_fusion_format(r->requested, mask, sizeof mask);
    fprintf(f, "  \"fusion\": {\"requested\": \"%s\", \"plugin\": \"%s\", \"applied\": {", mask, r->plugin);
    for (unsigned k = 0; k < CK_FUSE_COUNT; k++)
        fprintf(f, "%s\"%s\": %zu", k ? ", " : "", ck_fusion_name(k), r->applied[k]);
    fprintf(f, "}, \"activation_bytes_saved\": %zu},\n", r->bytes_saved);
}

static void write_layout(FILE *f, const ck_plan *p)
{
    size_t used = 0, i = 0;
    fprintf(f, "{\n  \"format\": \"ckernel-layout-1\",\n  \"model\": \"%s\",\n  \"mode\": \"%s\",\n", p->model,
            mode_name(&p->opts));
    if (p->opts.decode)
        fprintf(f, "  \"decode_pos\": %zu,\n", p->opts.decode_pos);
    if (p->opts.last_logits)
        fprintf(f, "  \"last_logits\": true,\n");
    fprintf(f, "  \"weight_dtype\": \"%s\",\n  \"compute\": \"%s\",\n  \"alignment\": %zu,\n",
            ck_dtype_name(p->opts.weight_dtype), ck_compute_name((ck_compute)p->opts.compute), p->opts.align);
    fprintf(f, "  \"section_alignment\": %zu,\n", p->section_align);
    if (p->fusion.recorded)
        write_fusion(f, &p->fusion);
    fprintf(f, "  \"total_bytes\": %zu,\n  \"total\": \"0x%zx\",\n  \"totals\": {", p->total, p->total);
    for (int k = 0; k < CK_BUF_KIND_COUNT; k++) {
        fprintf(f, "\"%s\": %zu, ", ck_buf_kind_name((ck_buf_kind)k), p->by_kind[k]);
        used += p->by_kind[k];
    }
    fprintf(f, "\"padding\": %zu},\n  \"sections\": [\n", p->total - used);
    for (uint32_t s = 0; s < p->n_sections; s++)
        write_section(f, p, &i, s);
    fprintf(f, "  ]\n}\n");
}

int ck_plan_write_json(const ck_plan *p, const char *path, char *err, size_t err_len)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) {
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot create a temporary file next to it: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    int ok = f != NULL && fchmod(fd, 0644) == 0; /* mkstemp makes 0600; others read the address book */
    if (ok) {
        write_layout(f, p);
        ok = fflush(f) == 0 && !ferror(f) && fsync(fd) == 0;
    }
    int saved = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0) {
        saved = errno;
        ok = 0;
    }
    if (!ok) {
        snprintf(err, err_len, "%s: cannot write the layout: %s", path, strerror(saved));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}
