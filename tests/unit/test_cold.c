/* bench's cold copies (bench_cold.h): every copy holds the first case's
 * values at addresses of its own, placed as the first's are; a small case's
 * copies are packed (ck_case_copy_in), so thousands of them take a handful
 * of kernel map entries, while a buffer of a huge page or more keeps its
 * own mapping on a huge-page boundary; fused cases keep their members. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_cold.h"
#include "common/hugepages.h"

#define LLC (32u << 20)

static size_t map_entries(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    size_t n = 0;
    for (int ch; (ch = fgetc(f)) != EOF;)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* Every copy: the same buffers (name, size) as the first, each input holding
 * the same bytes, each buffer at the same offset within its page, and no
 * two buffers of the whole set overlapping. */
static void check_copies(const ck_cold_set *cs)
{
    const ck_case *first = cs->copies[0];
    size_t nb = ck_case_n_bufs(first), ps = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t k = 0; k < cs->n; k++) {
        const ck_case *c = cs->copies[k];
        cr_assert_eq(ck_case_n_bufs(c), nb, "copy %zu has %zu buffers, the first %zu", k, ck_case_n_bufs(c), nb);
        for (size_t i = 0; i < nb; i++) {
            const ck_case_buf *a = ck_case_buf_at(first, i), *b = ck_case_buf_at(c, i);
            cr_assert_str_eq(b->name, a->name);
            cr_assert_eq(b->bytes, a->bytes, "copy %zu '%s'", k, b->name);
            cr_assert_eq((uintptr_t)b->data % ps, (uintptr_t)a->data % ps, "copy %zu '%s' sits elsewhere in its page",
                         k, b->name);
            if (ck_case_buf_is_input(a))
                cr_assert_eq(memcmp(b->data, a->data, a->bytes), 0, "copy %zu '%s' holds other values", k, b->name);
        }
    }
    /* pairwise disjoint, within the limits of a test: every buffer against
     * every buffer of the first, the neighbouring and the last copy */
    for (size_t k = 1; k < cs->n; k++) {
        const size_t others[] = {0, k - 1, cs->n - 1};
        for (size_t o = 0; o < 3; o++) {
            if (others[o] == k)
                continue;
            for (size_t i = 0; i < nb; i++)
                for (size_t j = 0; j < nb; j++) {
                    const ck_case_buf *a = ck_case_buf_at(cs->copies[k], i),
                                      *b = ck_case_buf_at(cs->copies[others[o]], j);
                    uintptr_t a0 = (uintptr_t)a->data, b0 = (uintptr_t)b->data;
                    cr_assert(a0 + a->bytes <= b0 || b0 + b->bytes <= a0, "copies %zu '%s' and %zu '%s' overlap", k,
                              a->name, others[o], b->name);
                }
        }
    }
}

Test(cold, thousands_of_small_copies_take_a_handful_of_map_entries)
{
    char err[256];
    ck_shape s = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_F32, .T = 3, .K = 40, .N = 24, .has_bias = 1};
    ck_case *first = ck_case_create(&s, 7, err, sizeof err);
    cr_assert_not_null(first, "%s", err);
    size_t before = map_entries();
    ck_cold_set cs;
    cr_assert_eq(ck_cold_make(&cs, first, LLC, err, sizeof err), 0, "%s", err);
    size_t after = map_entries();
    /* a few KiB per copy: the copy limit, not the map budget, sets the count */
    cr_expect_eq(cs.n, (size_t)CK_COLD_MAX_COPIES, "%zu copies of a %zu-byte case", cs.n, ck_case_bytes(first));
    cr_expect(after <= before + 8, "%zu copies of %zu buffers took %zu map entries", cs.n, ck_case_n_bufs(first),
              after - before);
    check_copies(&cs);
    ck_cold_free(&cs);
}

/* A weight of a huge page or more stays in its own mapping, on a huge-page
 * boundary as the arena's sections are; the small operands are packed. */
Test(cold, a_large_weight_keeps_its_own_huge_page_aligned_mapping)
{
    char err[256];
    ck_shape s = {.op = CK_OP_LINEAR, .dtype = CK_DTYPE_F32, .T = 2, .K = 1024, .N = 640};
    ck_case *first = ck_case_create(&s, 7, err, sizeof err);
    cr_assert_not_null(first, "%s", err);
    const ck_case_buf *w = ck_case_find(first, "w");
    cr_assert_not_null(w);
    cr_assert_geq(w->bytes, CK_HUGE_PAGE_BYTES);
    size_t before = map_entries();
    ck_cold_set cs;
    cr_assert_eq(ck_cold_make(&cs, first, LLC, err, sizeof err), 0, "%s", err);
    size_t after = map_entries();
    cr_assert_gt(cs.n, 2, "%zu copies", cs.n);
    for (size_t k = 0; k < cs.n; k++) {
        const ck_case_buf *wk = ck_case_find(cs.copies[k], "w");
        cr_assert_eq((uintptr_t)wk->data % CK_HUGE_PAGE_BYTES, 0, "copy %zu's weight is off a huge page", k);
    }
    /* per copy, the weight's own mapping (guard pages, its huge pages, its
     * tail, guard pages) and its initial values (malloc's own mapping at
     * this size), then the slab: with a guarded mapping per buffer the
     * input x and the output y added six more */
    cr_expect(after <= before + 5 * (cs.n - 1) + 8, "%zu copies took %zu map entries", cs.n, after - before);
    check_copies(&cs);
    ck_cold_free(&cs);
}

Test(cold, fused_copies_keep_their_members)
{
    char err[256];
    ck_shape m[2] = {
        {.op = CK_OP_RMSNORM, .dtype = CK_DTYPE_F32, .T = 2, .D = 16, .eps = 1e-5f},
        {.op = CK_OP_QKV, .dtype = CK_DTYPE_BF16, .T = 2, .D = 16, .n_heads = 2, .n_kv_heads = 1, .head_dim = 8}};
    ck_case *first = ck_case_create_fused(CK_OP_NORM_QKV, CK_DTYPE_BF16, m, 2, 7, err, sizeof err);
    cr_assert_not_null(first, "%s", err);
    ck_cold_set cs;
    cr_assert_eq(ck_cold_make(&cs, first, LLC, err, sizeof err), 0, "%s", err);
    cr_assert_gt(cs.n, 2);
    for (size_t k = 1; k < cs.n; k += cs.n / 7 + 1) {
        cr_assert_not_null(ck_case_member(cs.copies[k], 1), "copy %zu lost its members", k);
        cr_assert_eq(ck_case_member(cs.copies[k], 1)->op, CK_OP_QKV);
    }
    check_copies(&cs);
    ck_cold_free(&cs);
}
