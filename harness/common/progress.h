/* progress.h — how far a long command has got, on stderr (never stdout, so
 * piped tables and Markdown stay clean): "bench: 12 of 40 (30%), 0:14
 * elapsed, ~0:33 left: <what now>".
 *
 * On a terminal it is one live line, redrawn in place (\r) at most ten times
 * a second; elsewhere (CI logs) one line when a section starts and otherwise
 * at most one every CK_PROGRESS_SECONDS (default 10). CK_PROGRESS=0 turns it
 * off, CK_PROGRESS=lines forces the log form. Commands whose own rows go to
 * the same terminal call ck_progress_clear before printing one. */
#ifndef CK_PROGRESS_H
#define CK_PROGRESS_H

#include <stddef.h>

enum { CK_PROGRESS_OFF = 0, CK_PROGRESS_LIVE = 1, CK_PROGRESS_LINES = 2 };

typedef struct ck_progress {
    char what[32]; /* the command: "bench", "parity" */
    char section[96], item[160];
    size_t total, done;
    size_t part_base, part_n; /* a part (a sub-run reporting its own k of n) */
    double t0, last_shown, interval;
    int mode;
    int live;    /* a live line is on the screen */
    int started; /* something was shown */
} ck_progress;

/* Start the clock; total may be 0 and set later with ck_progress_total. */
void ck_progress_start(ck_progress *p, const char *what, size_t total);
void ck_progress_total(ck_progress *p, size_t total);

/* A new section ("scalar reference", "avx512", "decoder"): shown at once. */
void ck_progress_section(ck_progress *p, const char *section);

/* done of total are finished; item (may be NULL) is what runs now. */
void ck_progress_step(ck_progress *p, size_t done, const char *item);

/* A part of n units reporting its own k of n: ck_progress_part(p, k, item)
 * is ck_progress_step(p, base + k, item); ck_progress_end_part moves done to
 * base + n even where the part skipped some. */
void ck_progress_begin_part(ck_progress *p, size_t n);
void ck_progress_part(ck_progress *p, size_t k, const char *item);
void ck_progress_end_part(ck_progress *p);

/* Take the live line off the screen (it comes back with the next step). */
void ck_progress_clear(ck_progress *p);

/* The end: clear the live line; in the log form, one closing line. */
void ck_progress_finish(ck_progress *p);

/* SIGINT during a long command: the first one only sets a flag that the
 * command checks between units of work (it then keeps what finished, marked
 * partial); a second one ends the process as usual. untrap restores it. */
void ck_progress_trap_sigint(void);
void ck_progress_untrap_sigint(void);
int ck_progress_interrupted(void);

/* "<what>: interrupted after k of N" on stderr (the live line cleared). */
void ck_progress_say_interrupted(ck_progress *p, size_t k, size_t n);

/* "0:14", "1:02:03". */
void ck_progress_format_seconds(double s, char *buf, size_t len);

#endif
