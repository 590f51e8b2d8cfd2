/* bench's options for phases and cache modes (cli_bench.h): --phase,
 * --cache, --decode-pos, and the whole model's --pp, --tg. Kept apart from cmd_bench.c's parser, which calls
 * this for every option it does not know itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bench.h"

/* "a|b|both" -> bits; -1 when none matches. */
static int parse_pair(const char *v, const char *a, int a_bit, const char *b, int b_bit)
{
    if (!strcmp(v, a))
        return a_bit;
    if (!strcmp(v, b))
        return b_bit;
    if (!strcmp(v, "both"))
        return a_bit | b_bit;
    return -1;
}

int cli_phase_option(const char *a, const char *v, ck_bench_opts *o)
{
    if (!strcmp(a, "--phase")) {
        o->phases = parse_pair(v, "prefill", CK_PHASE_PREFILL, "decode", CK_PHASE_DECODE);
        if (o->phases < 0)
            return cli_usage_error("ckbench bench", "--phase: expected prefill, decode or both, found '%s'", v);
        return 0;
    }
    if (!strcmp(a, "--cache")) {
        o->cache = parse_pair(v, "cold", CK_CACHE_COLD, "hot", CK_CACHE_HOT);
        if (o->cache < 0)
            return cli_usage_error("ckbench bench", "--cache: expected cold, hot or both, found '%s'", v);
        return 0;
    }
    if (!strcmp(a, "--decode-pos")) {
        char *end;
        errno = 0;
        long p = strtol(v, &end, 10);
        if (errno || end == v || *end || p < 0)
            return cli_usage_error("ckbench bench", "--decode-pos: expected a position (0 or more), found '%s'", v);
        o->decode_pos = p;
        return 0;
    }
    if (!strcmp(a, "--pp") || !strcmp(a, "--tg")) {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 1)
            return cli_usage_error("ckbench bench",
                                   a[2] == 'p' ? "--pp: expected a token count (1 or more), found '%s'"
                                               : "--tg: expected a token count (1 or more), found '%s'",
                                   v);
        *(a[2] == 'p' ? &o->e2e_pp : &o->e2e_tg) = (size_t)n;
        return 0;
    }
    return -1;
}
