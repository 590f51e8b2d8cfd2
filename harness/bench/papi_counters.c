/* Hardware counters through PAPI (papi_counters.h). Without PAPI in the build
 * (CK_WITH_PAPI=0, e.g. the AArch64 cross build) every call says so. */
#include "papi_counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if CK_WITH_PAPI
#include <papi.h>

/* The wish list, in order; the last-level entry is the one for traffic. */
static const struct {
    int code;
    const char *name;
} wanted[CK_PAPI_MAX_EVENTS] = {
    {PAPI_TOT_CYC, "PAPI_TOT_CYC"}, {PAPI_TOT_INS, "PAPI_TOT_INS"}, {PAPI_L1_DCM, "PAPI_L1_DCM"},
    {PAPI_L2_DCM, "PAPI_L2_DCM"},   {PAPI_L3_TCM, "PAPI_L3_TCM"},
};

struct ck_papi {
    int event_set;
    int n;
    int llc; /* index of the last-level miss event or -1 */
    const char *names[CK_PAPI_MAX_EVENTS];
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
        snprintf(why, len, "PAPI's perf_event component is disabled: %s%s", info->disabled_reason, paranoid);
    else
        snprintf(why, len,
                 "PAPI's perf_event component offers no hardware events here (%s: %s) - a VM without a "
                 "virtual PMU?%s",
                 event, PAPI_strerror(status), paranoid);
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
    p->llc = -1;
    int status = PAPI_create_eventset(&p->event_set);
    if (status != PAPI_OK) {
        snprintf(why, why_len, "PAPI_create_eventset failed: %s", PAPI_strerror(status));
        free(p);
        return NULL;
    }
    int first_status = PAPI_OK;
    for (int i = 0; i < CK_PAPI_MAX_EVENTS; i++) {
        status = PAPI_add_event(p->event_set, wanted[i].code);
        if (status != PAPI_OK) {
            if (i == 0)
                first_status = status;
            continue; /* not on this machine, or no counter left: count the rest */
        }
        if (wanted[i].code == PAPI_L3_TCM || (wanted[i].code == PAPI_L2_DCM && p->llc < 0))
            p->llc = p->n;
        p->names[p->n++] = wanted[i].name;
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

int ck_papi_n_events(const ck_papi *p)
{
    return p ? p->n : 0;
}

const char *ck_papi_event_name(const ck_papi *p, int i)
{
    return p && i >= 0 && i < p->n ? p->names[i] : "?";
}

int ck_papi_llc_event(const ck_papi *p)
{
    return p ? p->llc : -1;
}

int ck_papi_measure(ck_papi *p, int (*fn)(void *arg), void *arg, long calls, double *values)
{
    long long counts[CK_PAPI_MAX_EVENTS] = {0};
    if (!p || calls < 1 || PAPI_start(p->event_set) != PAPI_OK)
        return -1;
    int failed = 0;
    for (long i = 0; i < calls && !failed; i++)
        failed = fn(arg) != 0;
    if (PAPI_stop(p->event_set, counts) != PAPI_OK || failed)
        return -1;
    for (int i = 0; i < p->n; i++)
        values[i] = (double)counts[i] / (double)calls;
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

int ck_papi_n_events(const ck_papi *p)
{
    (void)p;
    return 0;
}

const char *ck_papi_event_name(const ck_papi *p, int i)
{
    (void)p;
    (void)i;
    return "?";
}

int ck_papi_llc_event(const ck_papi *p)
{
    (void)p;
    return -1;
}

int ck_papi_measure(ck_papi *p, int (*fn)(void *arg), void *arg, long calls, double *values)
{
    (void)p;
    (void)fn;
    (void)arg;
    (void)calls;
    (void)values;
    return -1;
}

#endif
