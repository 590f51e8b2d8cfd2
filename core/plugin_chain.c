/* plugin_chain.c — a chain of plugins, "quant+avx512" (ck_host.h): the
 * plugins a run picks each op's kernel from, in order, with scalar last.
 * Loading and the refusals of a bad list live here once, so that every
 * command that takes a chain says the same thing about the same mistake. */
#include <stdio.h>
#include <string.h>

#include "ck_host.h"

/* A chain's refusal names the spec; one plugin's is the loader's own line. */
static int failf(char *err, size_t len, const char *spec, const char *what, const char *item)
{
    if (err && len && !ck_chain_spec(spec))
        snprintf(err, len, "%s%s%s", what, item ? item : "", item ? "'" : "");
    else if (err && len)
        snprintf(err, len, "--plugin '%s': %s%s%s", spec, what, item ? item : "", item ? "'" : "");
    return -1;
}

/* Splits spec at '+' into items (pointers into buf); -1 with err on an
 * empty item, a duplicate or too many. */
static int split(const char *spec, char *buf, size_t cap, char **items, size_t *n, char *err, size_t len)
{
    if (snprintf(buf, cap, "%s", spec) >= (int)cap)
        return failf(err, len, spec, "too long", NULL);
    *n = 0;
    for (char *p = buf;;) {
        char *plus = strchr(p, '+');
        if (plus)
            *plus = '\0';
        if (!*p) {
            char what[96];
            snprintf(what, sizeof what, "item %zu is empty; expected P or P1+P2+... (e.g. quant+avx512)", *n + 1);
            return failf(err, len, spec, what, NULL);
        }
        if (*n == CK_CHAIN_MAX) {
            char what[64];
            snprintf(what, sizeof what, "more than %d plugins in a chain", CK_CHAIN_MAX);
            return failf(err, len, spec, what, NULL);
        }
        for (size_t i = 0; i < *n; i++)
            if (strcmp(items[i], p) == 0)
                return failf(err, len, spec, "a chain names each plugin once; twice: '", p);
        items[(*n)++] = p;
        if (!plus)
            return 0;
        p = plus + 1;
    }
}

int ck_chain_load(ck_chain *c, const char *spec, char *err, size_t len)
{
    char buf[sizeof c->name], *items[CK_CHAIN_MAX];
    size_t n = 0;
    memset(c, 0, sizeof *c);
    if (split(spec, buf, sizeof buf, items, &n, err, len))
        return -1;
    snprintf(c->name, sizeof c->name, "%s", spec);
    char why[CK_ERR_LEN];
    if (!(c->scalar = ck_plugin_load("scalar", why, sizeof why)))
        return failf(err, len, spec, why, NULL);
    for (size_t i = 0; i < n; i++) {
        ck_plugin *p = strcmp(items[i], "scalar") == 0 ? c->scalar : ck_plugin_load(items[i], why, sizeof why);
        if (!p) {
            ck_chain_unload(c);
            return failf(err, len, spec, why, NULL);
        }
        c->plugins[c->n++] = p;
        if (!p->runnable) {
            snprintf(why, sizeof why, "plugin '%s' does not run here: %s", p->desc->name, p->why);
            ck_chain_unload(c);
            return failf(err, len, spec, why, NULL);
        }
        for (size_t k = 0; k + 1 < c->n; k++) /* two spellings of one plugin (a name and its path) */
            if (strcmp(c->plugins[k]->desc->name, p->desc->name) == 0) {
                ck_chain_unload(c);
                return failf(err, len, spec, "a chain names each plugin once; twice: '", items[i]);
            }
    }
    return 0;
}

void ck_chain_unload(ck_chain *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->plugins[i] != c->scalar)
            ck_plugin_unload(c->plugins[i]);
    ck_plugin_unload(c->scalar);
    memset(c, 0, sizeof *c);
}

int ck_chain_spec(const char *spec)
{
    return spec && strchr(spec, '+') != NULL;
}
