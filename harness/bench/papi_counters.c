/* The hardware set through PAPI (papi_counters.h). Without PAPI in the build
 * (CK_WITH_PAPI=0, e.g. the AArch64 cross build) ck_papi_open says so. */
#include "papi_counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if CK_WITH_PAPI
#include <papi.h>

/* The wish list, by CK_PAPI_* slot; the last level is L3 where the machine
 * has one, else L2. */
static const struct {
    int slot, code;
    const char *name;
} wanted[] = {
    {CK_PAPI_CYCLES, PAPI_TOT_CYC, "PAPI_TOT_CYC"},
    {CK_PAPI_INSTRUCTIONS, PAPI_TOT_INS, "PAPI_TOT_INS"},
    {CK_PAPI_LLC_MISSES, PAPI_L3_TCM, "PAPI_L3_TCM"},
    {CK_PAPI_LLC_MISSES, PAPI_L2_TCM, "PAPI_L2_TCM"},
};
#define N_WANTED ((int)(sizeof wanted / sizeof wanted[0]))

struct ck_papi {
    int event_set;
    int n;
    int slot_of[CK_PAPI_N]; /* position in the event set, or -1 */
};

static int paranoid_level(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int v = -99;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -99;
        fclose(f);
    }
    return v;
}

/* Why PAPI cannot count: the perf_event component's own reason if it is
 * disabled, else what adding the first event said, plus perf_event_paranoid. */
static void explain(char *why, size_t len, const char *event, int status)
{
    char paranoid[64] = "";
    int level = paranoid_level();
    if (level != -99)
        snprintf(paranoid, sizeof paranoid, "; kernel.perf_event_paranoid = %d", level);
    int cidx = PAPI_get_component_index("perf_event");
    const PAPI_component_info_t *info = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
    if (!info)
        snprintf(why, len, "PAPI has no perf_event component%s", paranoid);
    else if (info->disabled)
        snprintf(why, len, "PAPI's perf_event component is disabled: %s (a VM without a virtual PMU?)%s",
                 info->disabled_reason, paranoid);
    else
        snprintf(why, len, "PAPI's perf_event component offers no hardware events here (%s: %s)%s", event,
                 PAPI_strerror(status), paranoid);
}

static int library_ready(char *why, size_t len)
{
    static int state; /* 0 not tried, 1 ready, -1 failed */
    static char reason[256];
    if (state == 0) {
        int v = PAPI_library_init(PAPI_VER_CURRENT);
        state = v == PAPI_VER_CURRENT ? 1 : -1;
        if (state < 0)
            snprintf(reason, sizeof reason, "PAPI_library_init failed: %s",
                     v > 0 ? "library version differs from the headers" : PAPI_strerror(v));
    }
    if (state < 0)
        snprintf(why, len, "%s", reason);
    return state > 0;
}

ck_papi *ck_papi_open(char *why, size_t why_len)
{
    if (!library_ready(why, why_len))
        return NULL;
    ck_papi *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    p->event_set = PAPI_NULL;
    for (int s = 0; s < CK_PAPI_N; s++)
        p->slot_of[s] = -1;
    int status = PAPI_create_eventset(&p->event_set);
    if (status != PAPI_OK) {
        snprintf(why, why_len, "PAPI_create_eventset failed: %s", PAPI_strerror(status));
        free(p);
        return NULL;
    }
    int first_status = PAPI_OK;
    for (int i = 0; i < N_WANTED; i++) {
        if (p->slot_of[wanted[i].slot] >= 0)
            continue; /* L3 found: no L2 */
        status = PAPI_add_event(p->event_set, wanted[i].code);
        if (status != PAPI_OK) {
            if (i == 0)
                first_status = status;
            continue; /* not on this machine, or no counter left: count the rest */
        }
        p->slot_of[wanted[i].slot] = p->n++;
    }
    if (p->n == 0) {
        explain(why, why_len, wanted[0].name, first_status);
        ck_papi_close(p);
        return NULL;
    }
    return p;
}

void ck_papi_close(ck_papi *p)
{
    if (!p)
        return;
    PAPI_cleanup_eventset(p->event_set);
    PAPI_destroy_eventset(&p->event_set);
    free(p);
}

int ck_papi_has(const ck_papi *p, int e)
{
    return p && e >= 0 && e < CK_PAPI_N && p->slot_of[e] >= 0;
}

int ck_papi_start(ck_papi *p)
{
    return p && PAPI_start(p->event_set) == PAPI_OK ? 0 : -1;
}

int ck_papi_stop(ck_papi *p, double values[CK_PAPI_N])
{
    long long counts[CK_PAPI_N] = {0};
    if (!p || PAPI_stop(p->event_set, counts) != PAPI_OK)
        return -1;
    for (int s = 0; s < CK_PAPI_N; s++)
        if (p->slot_of[s] >= 0)
            values[s] = (double)counts[p->slot_of[s]];
    return 0;
}

#else /* !CK_WITH_PAPI */

ck_papi *ck_papi_open(char *why, size_t why_len)
{
    snprintf(why, why_len, "ckbench was built without PAPI (WITH_PAPI=0)");
    return NULL;
}

void ck_papi_close(ck_papi *p)
{
    (void)p;
}

int ck_papi_has(const ck_papi *p, int e)
{
    (void)p;
    (void)e;
    return 0;
}

int ck_papi_start(ck_papi *p)
{
    (void)p;
    return -1;
}

int ck_papi_stop(ck_papi *p, double values[CK_PAPI_N])
{
    (void)p;
    (void)values;
    return -1;
}

#endif
