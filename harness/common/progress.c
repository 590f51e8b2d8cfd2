/* Progress on stderr; see progress.h. */
#include "common/progress.h"
#include "common/term.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIVE_INTERVAL_S 0.1

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void ck_progress_format_seconds(double s, char *buf, size_t len)
{
    long t = s > 0 && isfinite(s) ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static int mode_from_env(void)
{
    const char *e = getenv("CK_PROGRESS");
    if (e && !strcmp(e, "0"))
        return CK_PROGRESS_OFF;
    if (e && !strcmp(e, "lines"))
        return CK_PROGRESS_LINES;
    /* a live line only where it can be redrawn (term.h: a terminal, not TERM=dumb) */
    return ck_term_progress(stderr) ? CK_PROGRESS_LIVE : CK_PROGRESS_LINES;
}

void ck_progress_start(ck_progress *p, const char *what, size_t total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", what);
    p->total = total;
    p->mode = mode_from_env();
    p->t0 = p->last_shown = now_s(); /* the first line comes with a section or after an interval */
    const char *iv = getenv("CK_PROGRESS_SECONDS");
    p->interval = iv && atof(iv) > 0 ? atof(iv) : 10.0;
}

void ck_progress_total(ck_progress *p, size_t total)
{
    p->total = total;
}

static void show(ck_progress *p, double t)
{
    fflush(stdout); /* in a log that has both (2>&1), the lines keep their order */
    char el[32], left[48] = "", count[64];
    double elapsed = t - p->t0;
    ck_progress_format_seconds(elapsed, el, sizeof el);
    if (p->done > 0 && p->total > p->done) {
        char l[32];
        ck_progress_format_seconds(elapsed * (double)(p->total - p->done) / (double)p->done, l, sizeof l);
        snprintf(left, sizeof left, ", ~%s left", l);
    }
    if (p->total)
        snprintf(count, sizeof count, "%zu of %zu (%.0f%%)", p->done, p->total,
                 100.0 * (double)p->done / (double)p->total);
    else
        snprintf(count, sizeof count, "%zu", p->done);
    const char *sep = p->section[0] && p->item[0] ? " / " : "";
    const char *colon = p->section[0] || p->item[0] ? ": " : "";
    if (p->mode == CK_PROGRESS_LIVE)
        fprintf(stderr, "\r\033[K%s: %s, %s elapsed%s%s%.40s%s%.60s", p->what, count, el, left, colon, p->section, sep,
                p->item);
    else
        fprintf(stderr, "%s: %s, %s elapsed%s%s%s%s%s\n", p->what, count, el, left, colon, p->section, sep, p->item);
    fflush(stderr);
    p->live = p->mode == CK_PROGRESS_LIVE;
    p->last_shown = t;
    p->started = 1;
}

void ck_progress_section(ck_progress *p, const char *section)
{
    if (p->mode == CK_PROGRESS_OFF)
        return;
    snprintf(p->section, sizeof p->section, "%s", section ? section : "");
    p->item[0] = 0;
    show(p, now_s());
}

void ck_progress_step(ck_progress *p, size_t done, const char *item)
{
    if (p->mode == CK_PROGRESS_OFF)
        return;
    p->done = p->total && done > p->total ? p->total : done;
    snprintf(p->item, sizeof p->item, "%s", item ? item : "");
    double t = now_s();
    /* the first step shows at once, so even a short command says it started */
    if (!p->started || t - p->last_shown >= (p->mode == CK_PROGRESS_LIVE ? LIVE_INTERVAL_S : p->interval))
        show(p, t);
}

void ck_progress_begin_part(ck_progress *p, size_t n)
{
    p->part_base = p->done;
    p->part_n = n;
}

void ck_progress_part(ck_progress *p, size_t k, const char *item)
{
    ck_progress_step(p, p->part_base + (k < p->part_n ? k : p->part_n), item);
}

void ck_progress_end_part(ck_progress *p)
{
    p->done = p->part_base + p->part_n;
}

void ck_progress_clear(ck_progress *p)
{
    if (p->live) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        p->live = 0;
        p->last_shown = 0; /* redraw at the next step */
    }
}

void ck_progress_finish(ck_progress *p)
{
    if (p->mode == CK_PROGRESS_OFF)
        return;
    ck_progress_clear(p);
    if (p->mode == CK_PROGRESS_LINES && p->started) { /* a run refused at once says nothing more */
        char el[32];
        ck_progress_format_seconds(now_s() - p->t0, el, sizeof el);
        fprintf(stderr, "%s: %zu of %zu done in %s\n", p->what, p->done, p->total, el);
    }
    p->mode = CK_PROGRESS_OFF;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    struct sigaction dfl; /* the next Ctrl-C stops at once */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
}

void ck_progress_trap_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART; /* waits for parity's children go on */
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, NULL);
}

void ck_progress_untrap_sigint(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
}

int ck_progress_interrupted(void)
{
    return interrupted != 0;
}

void ck_progress_say_interrupted(ck_progress *p, size_t k, size_t n)
{
    ck_progress_clear(p);
    fprintf(stderr, "%s: interrupted after %zu of %zu\n", p->what, k, n);
    p->started = 0; /* that was the closing line */
}
