/* The op registry (core/ck_ops.def) as the host sees it: every op id has a
 * unique name that round-trips, an argument struct, a kind; backward ops
 * name a forward op; fused ops name forward members whose argument structs
 * sit side by side in the fused one (docs/design.md: fused args are
 * compositions). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ck_host.h"

Test(ops_registry, every_op_has_a_unique_name_that_round_trips)
{
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        const char *n = ck_op_name(op);
        cr_assert_str_neq(n, "?", "op %u has no name", op);
        cr_assert_eq(ck_op_from_name(n), op, "%s does not round-trip", n);
        for (uint32_t o = 1; o < op; o++)
            cr_assert_str_neq(ck_op_name(o), n, "ops %u and %u are both '%s'", o, op, n);
    }
    cr_assert_str_eq(ck_op_name(CK_OP_COUNT), "?");
    cr_assert_eq(ck_op_from_name("no-such-op"), CK_OP_NONE);
}

Test(ops_registry, every_op_has_a_kind_and_an_argument_struct)
{
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        uint32_t k = ck_op_kind(op);
        cr_assert(k == CK_OPK_FORWARD || k == CK_OPK_BACKWARD || k == CK_OPK_FUSED, "%s: kind %u", ck_op_name(op), k);
        cr_assert_gt(ck_op_args_size(op), 0, "%s", ck_op_name(op));
    }
    cr_assert_eq(ck_op_kind(CK_OP_COUNT), 0);
    cr_assert_eq(ck_op_args_size(CK_OP_LINEAR), sizeof(ck_linear_args));
}

Test(ops_registry, backward_ops_name_their_forward_op)
{
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        uint32_t f = ck_op_forward_of(op);
        if (ck_op_kind(op) != CK_OPK_BACKWARD || op == CK_OP_CROSS_ENTROPY)
            cr_assert_eq(f, op, "%s", ck_op_name(op));
        else
            cr_assert_eq(ck_op_kind(f), CK_OPK_FORWARD, "%s -> %s", ck_op_name(op), ck_op_name(f));
    }
    cr_assert_eq(ck_op_forward_of(CK_OP_QKV_BWD), CK_OP_QKV);
}

Test(ops_registry, fused_ops_are_compositions_of_forward_members)
{
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        const uint32_t *m = ck_op_members(op);
        if (ck_op_kind(op) != CK_OPK_FUSED) {
            cr_assert_null(m, "%s", ck_op_name(op));
            continue;
        }
        cr_assert_not_null(m, "%s", ck_op_name(op));
        int n = 0;
        for (; m[n] != CK_OP_NONE; n++)
            cr_assert_eq(ck_op_kind(m[n]), CK_OPK_FORWARD, "%s member %d", ck_op_name(op), n);
        cr_assert_geq(n, 2, "%s has %d members", ck_op_name(op), n);
        /* the fused struct holds one struct per member role (a norm member
         * counts once: rmsnorm or layernorm), so it is at least the two
         * distinct members' structs side by side */
        size_t at_least = ck_op_args_size(m[0]) + ck_op_args_size(m[n - 1]);
        cr_assert_geq(ck_op_args_size(op), at_least, "%s", ck_op_name(op));
    }
}

/* The rule columns (tol, shape, check) reach every op: a zeroed argument
 * struct is judged by its op's own check (refused or not, never "unknown
 * op"), a shape is named after its op, and a fused op is held to its
 * slowest member's bound. */
Test(ops_registry, every_op_has_its_rules)
{
    static double zero[64]; /* larger than any argument struct */
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        const char *n = ck_op_name(op);
        cr_assert_leq(ck_op_args_size(op), sizeof zero, "%s", n);
        char err[CK_ERR_LEN], desc[256], want[64];
        if (ck_op_check_args(op, zero, err, sizeof err) != 0) {
            snprintf(want, sizeof want, "%s: ", n);
            cr_assert(strncmp(err, want, strlen(want)) == 0 && !strstr(err, "unknown op"), "%s", err);
        }
        ck_shape s = {.op = op, .dtype = CK_DTYPE_F32};
        ck_shape_describe(&s, desc, sizeof desc);
        snprintf(want, sizeof want, "%s ", n);
        cr_assert(strncmp(desc, want, strlen(want)) == 0, "%s: '%s'", n, desc);
        const uint32_t *m = ck_op_members(op);
        for (int i = 0; m && m[i] != CK_OP_NONE; i++) {
            ck_tolerance t = ck_op_tolerance(op, CK_DTYPE_F32), u = ck_op_tolerance(m[i], CK_DTYPE_F32);
            cr_assert(t.cls >= u.cls && t.atol >= u.atol && t.rtol >= u.rtol, "%s member %s", n, ck_op_name(m[i]));
        }
    }
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_op_check_args(CK_OP_COUNT, zero, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown op id"), "%s", err);
    cr_assert_eq(ck_op_tolerance(CK_OP_EMBED_NORM, CK_DTYPE_F32).cls, CK_PARITY_TOLERANCE);
    cr_assert_eq(ck_op_tolerance(CK_OP_ADD, CK_DTYPE_F32).cls, CK_PARITY_EXACT);
    cr_assert_eq(ck_op_tolerance(CK_OP_LINEAR, CK_DTYPE_Q8_0).atol, 1e-4);
}
