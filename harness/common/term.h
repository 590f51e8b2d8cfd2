/* term.h — what ckbench writes only to a terminal: progress lines (on
 * stderr, rewritten in place) and colour (never when NO_COLOR is set and not
 * empty, as https://no-color.org asks). A pipe or a log gets neither, so
 * their text has no escape sequences. */
#ifndef CK_TERM_H
#define CK_TERM_H

#include <stdio.h>

typedef enum ck_colour { CK_GREEN, CK_RED, CK_YELLOW } ck_colour;

/* f is a terminal that can rewrite a line (TERM is not "dumb"). */
int ck_term_progress(FILE *f);

/* f is a terminal and NO_COLOR is unset or empty. */
int ck_term_colour(FILE *f);

/* The escape sequence that starts colour c on f, or "" where f gets no
 * colour; ck_term_off ends it. */
const char *ck_term_on(FILE *f, ck_colour c);
const char *ck_term_off(FILE *f);

#endif
