/* Terminal facts for progress lines and colour (term.h). */
#include "common/term.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_terminal(FILE *f)
{
    return f && isatty(fileno(f));
}

int ck_term_progress(FILE *f)
{
    const char *term = getenv("TERM");
    return is_terminal(f) && !(term && strcmp(term, "dumb") == 0);
}

int ck_term_colour(FILE *f)
{
    const char *no = getenv("NO_COLOR");
    return is_terminal(f) && !(no && *no);
}

const char *ck_term_on(FILE *f, ck_colour c)
{
    static const char *const sgr[] = {[CK_GREEN] = "\033[32m", [CK_RED] = "\033[1;31m", [CK_YELLOW] = "\033[33m"};
    return ck_term_colour(f) ? sgr[c] : "";
}

const char *ck_term_off(FILE *f)
{
    return ck_term_colour(f) ? "\033[0m" : "";
}
