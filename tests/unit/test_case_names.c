/* Every parity case has a name of its own: the table, the JSON and JUnit
 * name a case by its op instance (and its reduction note), and CI history
 * keys on that name, so two cases sharing one would be merged there. Checked
 * over the whole edge suite and the suite of every model file. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parity/parity.h"

/* The name the gate gives a case (gate.c: shape_desc, then " [note]"). */
static void case_name(const ck_parity_shape *ps, char *buf, size_t len)
{
    char desc[512];
    ck_parity_describe(ps, desc, sizeof desc);
    if (ps->note[0])
        snprintf(buf, len, "%s [%s]", desc, ps->note);
    else
        snprintf(buf, len, "%s", desc);
}

/* The number of names that occur more than once; each is printed. */
static size_t count_shared_names(const char *suite, const ck_parity_shape *v, size_t n)
{
    size_t shared = 0;
    for (size_t i = 0; i < n; i++) {
        char a[640];
        case_name(&v[i], a, sizeof a);
        for (size_t j = i + 1; j < n; j++) {
            char b[640];
            case_name(&v[j], b, sizeof b);
            if (strcmp(a, b) == 0) {
                fprintf(stderr, "%s: cases %zu and %zu are both named '%s'\n", suite, i, j, a);
                shared++;
                break;
            }
        }
    }
    return shared;
}

Test(case_names, edge_suite_names_are_unique)
{
    ck_parity_shape *v = NULL;
    size_t n = ck_parity_edge_suite(&v);
    cr_assert_gt(n, 100, "the edge suite has only %zu cases", n);
    cr_expect_eq(count_shared_names("edge suite", v, n), 0);
    free(v);
}

Test(case_names, layernorm_with_and_without_beta_differ)
{
    ck_parity_shape a = {.shape = {.op = CK_OP_LAYERNORM, .dtype = CK_DTYPE_F32, .T = 3, .D = 7}};
    ck_parity_shape b = a;
    b.shape.has_bias = 1;
    char na[640], nb[640];
    case_name(&a, na, sizeof na);
    case_name(&b, nb, sizeof nb);
    cr_expect_str_neq(na, nb);
    cr_expect_not_null(strstr(nb, "+bias"), "'%s' does not say +bias", nb);
}

Test(case_names, every_model_suite_names_are_unique, .timeout = 120)
{
    const char *src = getenv("CK_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ir/models", src ? src : ".");
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s (set CK_SOURCE_DIR)", dir);
    int models = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strstr(e->d_name, ".json"))
            continue;
        char path[8192], err[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ck_parity_shape *v = NULL;
        size_t n = 0;
        cr_assert_eq(ck_parity_model_suite(path, 0, &v, &n, err, sizeof err), 0, "%s", err);
        cr_expect_eq(count_shared_names(e->d_name, v, n), 0, "%s: cases share names", e->d_name);
        free(v);
        models++;
    }
    closedir(d);
    cr_assert_geq(models, 3, "only %d model files in %s", models, dir);
}
