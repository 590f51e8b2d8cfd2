/* plan_print.c — the memory map of a plan as a table people can read:
 * section, part, start, end, size, then the totals by kind. */
#include <stdio.h>

#include "ck_plan.h"

/* "12.34 MiB": sizes span bytes to hundreds of GiB. */
static const char *human(size_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%zu B", bytes);
    else
        snprintf(buf, len, "%.2f %s", v, units[u]);
    return buf;
}

static void row(FILE *f, const char *section, const char *part, const ck_span *s)
{
    char h[32];
    fprintf(f, "%-12s %-10s 0x%012zx  0x%012zx  %14zu  %12s\n", section, part, s->start, s->end, s->end - s->start,
            human(s->end - s->start, h, sizeof h));
}

static void total_row(FILE *f, const char *what, size_t bytes)
{
    char h[32];
    fprintf(f, "  %-22s %16zu  %12s\n", what, bytes, human(bytes, h, sizeof h));
}

void ck_plan_print_map(const ck_plan *p, FILE *f, int per_layer)
{
    const ck_plan_opts *o = &p->opts;
    fprintf(f, "memory map of \"%s\": %s, weights %s, alignment %zu, sections on %zu-byte boundaries\n", p->model,
            o->training ? "training"
            : o->decode ? "decode"
                        : "forward",
            ck_dtype_name(o->weight_dtype), o->align, p->section_align);
    if (o->decode)
        fprintf(f, "decode position %zu\n", o->decode_pos);
    fprintf(f, "%-12s %-10s %-16s %-16s %14s  %12s\n", "section", "part", "start", "end", "bytes", "size");
    for (size_t s = 0; s < p->n_sections; s++) {
        const ck_section_plan *sp = &p->sections[s];
        char part[32];
        row(f, p->section_names[s], "header", &sp->header);
        if (per_layer) {
            for (size_t l = 0; l < sp->n_layers; l++) {
                snprintf(part, sizeof part, "layer %zu", l);
                row(f, p->section_names[s], part, &sp->layers[l]);
            }
        } else if (sp->n_layers) {
            ck_span all = {sp->layers[0].start, sp->layers[sp->n_layers - 1].end};
            snprintf(part, sizeof part, "layers x%zu", sp->n_layers);
            row(f, p->section_names[s], part, &all);
        }
        row(f, p->section_names[s], "footer", &sp->footer);
        if (sp->kv_cache.end > sp->kv_cache.start)
            row(f, p->section_names[s], "kv_cache", &sp->kv_cache);
    }
    size_t used = 0;
    for (int k = 0; k < CK_BUF_KIND_COUNT; k++)
        used += p->by_kind[k];
    fprintf(f, "totals\n");
    total_row(f, "weights", p->by_kind[CK_BUF_WEIGHT]);
    total_row(f, "activations", p->by_kind[CK_BUF_ACTIVATION]);
    total_row(f, "gradients", p->by_kind[CK_BUF_GRADIENT]);
    total_row(f, "activation gradients", p->by_kind[CK_BUF_ACTIVATION_GRADIENT]);
    total_row(f, "optimizer (adam m+v)", p->by_kind[CK_BUF_OPTIMIZER_M] + p->by_kind[CK_BUF_OPTIMIZER_V]);
    total_row(f, "kv cache", p->by_kind[CK_BUF_KV_CACHE]);
    total_row(f, "tables (rope)", p->by_kind[CK_BUF_TABLE]);
    total_row(f, "padding", p->total - used);
    total_row(f, "total", p->total);
}
