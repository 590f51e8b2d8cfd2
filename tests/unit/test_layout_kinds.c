/* layout.json of every model in ir/models in every plan mode (forward,
 * training, decode): every tensor's "kind" and every key of "totals" is one
 * of the kinds docs/layout.md documents (read from the page itself, so the
 * page and the writer cannot drift apart). Training once wrote
 * "kind": "(null)" for activation gradients, and every mode a "(null)" total. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ck_plan.h"

#define MAX_KINDS 16

static const char *source_dir(void)
{
    const char *root = getenv("CK_SOURCE_DIR");
    return root ? root : ".";
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The documented kinds: the back-quoted words after "and kind:" in
 * docs/layout.md's planning rules, up to the sentence's full stop. */
static size_t documented_kinds(char kinds[MAX_KINDS][32])
{
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/layout.md", source_dir());
    char *doc = slurp(path);
    const char *p = strstr(doc, "and kind:");
    cr_assert_not_null(p, "docs/layout.md no longer lists the kinds after \"and kind:\"");
    const char *end = strchr(p, '.');
    size_t n = 0;
    for (p = strchr(p, '`'); p && p < end; p = strchr(p, '`')) {
        const char *close = strchr(p + 1, '`');
        cr_assert_not_null(close);
        cr_assert_lt(n, MAX_KINDS);
        snprintf(kinds[n++], sizeof kinds[0], "%.*s", (int)(close - p - 1), p + 1);
        p = close + 1;
    }
    free(doc);
    cr_assert_geq(n, 8, "docs/layout.md lists %zu kinds", n);
    return n;
}

static int is_one_of(const char *s, char kinds[MAX_KINDS][32], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, kinds[i]) == 0)
            return 1;
    return 0;
}

static void check_part(const cJSON *part, char kinds[MAX_KINDS][32], size_t n, size_t *count, const char *what)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(part, "tensors"))
    {
        const cJSON *k = cJSON_GetObjectItem(t, "kind");
        cr_assert(cJSON_IsString(k), "%s: a tensor without a kind", what);
        cr_assert(is_one_of(k->valuestring, kinds, n), "%s: tensor %s has kind \"%s\", not a documented kind", what,
                  cJSON_GetObjectItem(t, "name")->valuestring, k->valuestring);
        (*count)++;
    }
}

/* Returns how many activation_gradient tensors the file holds. */
static size_t check_layout(const char *path, char kinds[MAX_KINDS][32], size_t n, const char *what)
{
    char *text = slurp(path);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "%s: layout.json does not parse", what);
    const cJSON *tot = cJSON_GetObjectItem(root, "totals"), *it;
    size_t keys = 0, tensors = 0, grads = 0;
    cJSON_ArrayForEach(it, tot)
    {
        cr_assert(strcmp(it->string, "padding") == 0 || is_one_of(it->string, kinds, n),
                  "%s: totals has key \"%s\", not a documented kind", what, it->string);
        keys++;
    }
    cr_assert_eq(keys, n + 1, "%s: totals has %zu keys, expected the %zu kinds and padding", what, keys, n);
    const cJSON *sec, *layer;
    cJSON_ArrayForEach(sec, cJSON_GetObjectItem(root, "sections"))
    {
        check_part(cJSON_GetObjectItem(sec, "header"), kinds, n, &tensors, what);
        cJSON_ArrayForEach(layer, cJSON_GetObjectItem(sec, "layers")) check_part(layer, kinds, n, &tensors, what);
        check_part(cJSON_GetObjectItem(sec, "footer"), kinds, n, &tensors, what);
        if (cJSON_GetObjectItem(sec, "kv_cache")) /* decode plans: the caches after the footer */
            check_part(cJSON_GetObjectItem(sec, "kv_cache"), kinds, n, &tensors, what);
    }
    cr_assert_gt(tensors, 0, "%s", what);
    grads = strstr(text, "\"kind\": \"activation_gradient\"") != NULL;
    cJSON_Delete(root);
    free(text);
    return grads;
}

Test(layout_kinds, every_model_every_mode_writes_documented_kinds)
{
    char kinds[MAX_KINDS][32], dir[1024], tmp[] = "/tmp/ck-kinds-XXXXXX", out[1100], err[CK_ERR_LEN];
    size_t n = documented_kinds(kinds), models = 0, with_grads = 0, untrainable = 0;
    cr_assert(is_one_of("activation_gradient", kinds, n));
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(out, sizeof out, "%s/layout.json", tmp);
    snprintf(dir, sizeof dir, "%s/ir/models", source_dir());
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ck_model *m = ck_model_load(path, err, sizeof err);
        cr_assert_not_null(m, "%s", err);
        for (int mode = 0; mode < 3; mode++) {
            ck_plan_opts o = {.training = mode == 1, .decode = mode == 2, .decode_pos = 0};
            ck_plan *p = NULL;
            char what[1500];
            snprintf(what, sizeof what, "%s %s", e->d_name, mode == 0 ? "forward" : mode == 1 ? "training" : "decode");
            if (mode == 1 && ck_model_training_check(m, NULL, 0)) { /* refused, naming the field (test_zoo) */
                cr_assert_neq(ck_plan_build(m, &o, &p, err, sizeof err), 0, "%s: planned", what);
                untrainable++;
                continue;
            }
            cr_assert_eq(ck_plan_build(m, &o, &p, err, sizeof err), 0, "%s: %s", what, err);
            cr_assert_eq(ck_plan_write_json(p, out, err, sizeof err), 0, "%s: %s", what, err);
            ck_plan_free(p);
            size_t g = check_layout(out, kinds, n, what);
            if (mode == 1)
                with_grads += g;
        }
        ck_model_free(m);
        models++;
    }
    closedir(d);
    unlink(out);
    rmdir(tmp);
    cr_assert_geq(models, 5, "found %zu models in %s", models, dir);
    /* every shipped model has a decoder, so training plans activation gradients */
    cr_assert_eq(with_grads + untrainable, models, "%zu of %zu training layouts hold activation_gradient tensors",
                 with_grads, models - untrainable);
}
