/* json_text.c — see json_text.h. */
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

char *ck_json_nonfinite_to_null(const char *text)
{
    size_t len = strlen(text);
    /* every bare word becomes "null": a one-letter word ("x") grows 4x (found
     * by fuzzing the report loader; "-inf", the longest growth a file from
     * Google Benchmark has, is only 1x) */
    char *out = malloc(4 * len + 1), *o = out;
    if (!out)
        return NULL;
    int in_string = 0;
    for (const char *p = text; *p;) {
        if (in_string || *p == '"') {
            if (in_string && *p == '\\' && p[1])
                *o++ = *p++;
            else if (*p == '"')
                in_string = !in_string;
            *o++ = *p++;
            continue;
        }
        int sign = *p == '-' && ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'));
        const char *w = p + sign, *end = w;
        while ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z'))
            end++;
        size_t n = (size_t)(end - w);
        /* an exponent's 'e' follows a digit or '.': not a word */
        int exponent = w > text && ((w[-1] >= '0' && w[-1] <= '9') || w[-1] == '.');
        if (n == 0 || exponent || (n == 4 && !strncmp(w, "true", 4)) || (n == 5 && !strncmp(w, "false", 5)) ||
            (n == 4 && !strncmp(w, "null", 4))) {
            size_t k = n ? (size_t)(end - p) : 1;
            memcpy(o, p, k);
            o += k;
            p += k;
            continue;
        }
        memcpy(o, "null", 4);
        o += 4;
        p = end;
    }
    *o = '\0';
    return out;
}
