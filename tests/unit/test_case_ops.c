/* harness/cases/case_ops.def, the harness's columns of the op registry:
 * every op of core/ck_ops.def has a case builder, exactly the ops with rows
 * can be cut along T, and the in-place column hands a CK_KF_INPLACE kernel
 * its output loaded with the first input (the table's offsets, not a
 * switch). */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "cases/ck_case.h"
#include "ck_host.h"

Test(case_ops, every_registry_op_has_a_builder)
{
    for (uint32_t op = 1; op < CK_OP_COUNT; op++)
        cr_expect(ck_case_supports(op), "%s has no case builder", ck_op_name(op));
    cr_expect(!ck_case_supports(CK_OP_NONE));
    cr_expect(!ck_case_supports(CK_OP_COUNT));
}

Test(case_ops, rows_are_those_of_the_ops_cut_along_t)
{
    static const uint32_t with_rows[] = {CK_OP_RMSNORM, CK_OP_LAYERNORM, CK_OP_LINEAR,   CK_OP_QKV,
                                         CK_OP_ROPE,    CK_OP_ATTENTION, CK_OP_EMBEDDING};
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        int want = 0;
        for (size_t i = 0; i < sizeof with_rows / sizeof with_rows[0]; i++)
            want |= with_rows[i] == op;
        cr_expect_eq(ck_case_has_rows(op), want, "%s", ck_op_name(op));
    }
    ck_shape lin = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_F32, .T = 4, .K = 3, .N = 5};
    cr_expect_eq(ck_case_row_work(&lin), 15.0);
    ck_shape add = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = 64};
    cr_expect_eq(ck_case_row_work(&add), 0.0);
}

/* record_calls' in-place add notes whether it saw y == a; y must then
 * have held a's values, so y = a + b. */
Test(case_ops, an_in_place_kernel_gets_its_output_loaded_with_the_input)
{
    const char *dir = getenv("CK_TEST_PLUGIN_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/libck_record_calls.so", dir ? dir : "build/tests/plugins");
    ck_plugin *p = ck_plugin_load(path, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_ADD, CK_DTYPE_F32, CK_KF_INPLACE);
    cr_assert_not_null(k);
    ck_shape s = {.op = CK_OP_ADD, .dtype = CK_DTYPE_F32, .n = 37};
    ck_case *c = ck_case_create(&s, 7, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_case_run(c, k, ctx), CK_OK);
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(h);
    const int *aliased = dlsym(h, "ck_test_record_aliased");
    cr_assert(aliased && *aliased, "the in-place kernel was not given y == a");
    dlclose(h);
    const ck_case_buf *a = ck_case_find(c, "a"), *b = ck_case_find(c, "b"), *y = ck_case_find(c, "y");
    const float *ai = a->init, *bi = b->init, *yv = y->data;
    for (size_t i = 0; i < 37; i++)
        cr_assert_eq(yv[i], ai[i] + bi[i], "y[%zu]", i);
    cr_assert_eq(ck_case_check_inputs(c, err, sizeof err), 0, "a was written, not y: %s", err);
    ck_exec_destroy(ctx);
    ck_case_free(c);
    ck_plugin_unload(p);
}
