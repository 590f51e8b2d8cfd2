/* The bench run's own DRAM read (mem_probe.h). */
#include "mem_probe.h"
#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int probe_wanted(const ck_roofs *r, char *why, size_t len)
{
    const char *env = getenv("CK_PROBE");
    if (env && strcmp(env, "0") == 0) {
        snprintf(why, len, "CK_PROBE=0");
        return 0;
    }
    if (!r->have_levels || !(r->level[CK_MEM_DRAM].read_gbs[0] > 0)) {
        snprintf(why, len, "the roofs have no DRAM read (run 'ckbench calibrate')");
        return 0;
    }
    return 1;
}

static int known(const ck_mem_probe *p, int t)
{
    for (int i = 0; i < p->n; i++)
        if (p->threads[i] == t)
            return 1;
    return 0;
}

void ck_mem_probe_take(ck_mem_probe *p, const ck_roofs *r, const int *threads, int n_threads, int end)
{
    if (!end) {
        ck_level_buf keep = p->buf;
        memset(p, 0, sizeof *p);
        p->buf = keep;
        if (!probe_wanted(r, p->why_not, sizeof p->why_not))
            return;
        for (int i = 0; i < n_threads && p->n < CK_PROBE_MAX; i++)
            if (threads[i] >= 1 && !known(p, threads[i])) {
                p->threads[p->n] = threads[i];
                p->roof_apart_ns[p->n] = threads[i] == r->threads ? r->apart_ns : 0;
                p->roof_gbs[p->n++] = ck_roofs_level_read_gbs(r, CK_MEM_DRAM, threads[i]);
            }
    }
    for (int i = 0; i < p->n; i++)
        (end ? p->end_gbs : p->start_gbs)[i] =
            ck_dram_read_now(r, p->threads[i], &p->buf, &(end ? p->end_apart_ns : p->start_apart_ns)[i]);
}

void ck_mem_probe_free(ck_mem_probe *p)
{
    ck_level_buf_free(&p->buf);
}

void ck_mem_probe_advance(ck_mem_probe *p)
{
    for (int i = 0; i < p->n; i++) {
        p->start_gbs[i] = p->end_gbs[i];
        p->end_gbs[i] = 0;
        p->start_apart_ns[i] = p->end_apart_ns[i];
        p->end_apart_ns[i] = 0;
    }
}

int ck_mem_probe_moved(const ck_mem_probe *p, int i, char *why, size_t len)
{
    const double s = p->start_apart_ns[i], e = p->end_apart_ns[i], c = p->roof_apart_ns[i];
    why[0] = 0;
    if (ck_apart_moved(s, e))
        snprintf(why, len, "the host moved the %d threads between the reads (%.0f ns apart before, %.0f after)",
                 p->threads[i], s, e);
    else if (ck_apart_moved(s > 0 ? s : e, c))
        snprintf(why, len, "the %d threads sat %.0f ns apart, and %.0f when the roofs were measured", p->threads[i],
                 s > 0 ? s : e, c);
    return why[0] != 0;
}

double ck_mem_probe_ratio(const ck_mem_probe *p, int threads)
{
    for (int i = 0; i < p->n; i++) {
        if (p->threads[i] != threads || !(p->roof_gbs[i] > 0))
            continue;
        if (ck_apart_moved(p->start_apart_ns[i], p->end_apart_ns[i]))
            return 0.0; /* two placements: their mean is neither's read */
        double s = p->start_gbs[i], e = p->end_gbs[i];
        double now = s > 0 && e > 0 ? (s + e) / 2 : s > 0 ? s : e;
        return now > 0 ? now / p->roof_gbs[i] : 0.0;
    }
    return 0.0;
}
