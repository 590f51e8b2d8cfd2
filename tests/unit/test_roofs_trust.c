/* Roofs say how far to trust them, and a new calibration never replaces an
 * old one (bench reads the newest): the file records quick or full mode, the
 * load while measuring and when; roofs that are quick, taken under load or
 * older than a day are doubtful, and a bench run that uses them says so once,
 * naming `ckbench calibrate`; sound roofs bring no such line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/calibrate.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ck_roofs_trust_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(roofs_trust, .init = setup, .fini = teardown, .timeout = 60);

/* Sound roofs measured `age` seconds ago. */
static ck_roofs sound(long long age)
{
    ck_roofs r = {.threads = 2, .llc_bytes = 1u << 20, .triad_array_bytes = 4u << 20, .triad_gbs = {10, 18}};
    r.peak_gflops[CK_ISA_SCALAR][0] = 20, r.peak_gflops[CK_ISA_SCALAR][1] = 40;
    r.mode = CK_ROOFS_FULL, r.load_avg = 0.1, r.cpus = 2;
    /* a sound calibration has the per-level roofs too (without them bench
     * asks for a new one) */
    static const size_t cache[CK_MEM_COUNT] = {32u << 10, 1u << 20, 8u << 20, 0};
    for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
        r.level[lv].cache_bytes = cache[lv];
        r.level[lv].shared = lv == CK_MEM_L3;
        r.level[lv].set_bytes = lv < CK_MEM_DRAM ? cache[lv] / 2 : 64u << 20;
        r.level[lv].read_gbs[0] = 100.0 / (lv + 1), r.level[lv].read_gbs[1] = 180.0 / (lv + 1);
        r.level[lv].triad_gbs[0] = 80.0 / (lv + 1), r.level[lv].triad_gbs[1] = 150.0 / (lv + 1);
    }
    r.have_levels = 1;
    time_t at = time(NULL) - (time_t)age;
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(r.measured_at, sizeof r.measured_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return r;
}

Test(roofs_trust, mode_load_and_cpus_survive_the_file)
{
    ck_roofs r = sound(0), back;
    r.mode = CK_ROOFS_QUICK, r.load_avg = 1.25, r.cpus = 3;
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/roofs.json", dir);
    cr_assert_eq(ck_roofs_save(&r, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_roofs_load(&back, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(back.mode, CK_ROOFS_QUICK);
    cr_expect_float_eq(back.load_avg, 1.25, 1e-9);
    cr_expect_eq(back.cpus, 3);
    cr_expect_eq(back.have_levels, 1, "the per-level roofs survive beside the metadata");
    cr_expect_float_eq(back.level[CK_MEM_L2].read_gbs[1], 90.0, 1e-9);
    cr_expect_eq(back.level[CK_MEM_L3].cache_bytes, (size_t)8 << 20);
    cr_expect_str_eq(back.measured_at, r.measured_at);
}

Test(roofs_trust, each_reason_for_doubt_is_named)
{
    long long now = (long long)time(NULL);
    char why[200];
    ck_roofs r = sound(60);
    cr_expect_eq(ck_roofs_doubtful(&r, now, why, sizeof why), 0, "sound roofs doubted: %s", why);
    r.mode = CK_ROOFS_QUICK;
    cr_expect_eq(ck_roofs_doubtful(&r, now, why, sizeof why), 1);
    cr_expect(strstr(why, "quick"), "%s", why);
    r = sound(60);
    r.load_avg = 1.5;
    cr_expect_eq(ck_roofs_doubtful(&r, now, why, sizeof why), 1);
    cr_expect(strstr(why, "load 1.5 on 2 CPUs"), "%s", why);
    r.load_avg = 0.9; /* 0.45 per CPU: below the rule */
    cr_expect_eq(ck_roofs_doubtful(&r, now, why, sizeof why), 0, "%s", why);
    r = sound(3 * 24 * 3600 + 60);
    cr_expect_eq(ck_roofs_doubtful(&r, now, why, sizeof why), 1);
    cr_expect(strstr(why, "3 days old"), "%s", why);
    r = sound(60);
    r.mode = CK_ROOFS_UNKNOWN, r.load_avg = -1, r.cpus = 0; /* a file from before they were recorded */
    cr_expect_eq(ck_roofs_doubtful(&r, now, why, sizeof why), 1);
    cr_expect(strstr(why, "unrecorded"), "%s", why);
}

/* The stdout of a tiny bench run against the roofs r in dir/results. */
static char *bench_with(const ck_roofs *r)
{
    char results[128], path[256], err[512], cmd[1024];
    snprintf(results, sizeof results, "%s/results", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", results, results);
    cr_assert_eq(system(cmd), 0);
    ck_roofs_path(path, sizeof path, results);
    cr_assert_eq(ck_roofs_save(r, path, err, sizeof err), 0, "%s", err);
    const char *ck = getenv("CK_CKBENCH");
    snprintf(cmd, sizeof cmd,
             "CK_RESULTS_DIR='%s' %s bench --plugin scalar --model tiny-gqa --op add --threads 1 --min-time 0.001 "
             "--no-scalar >'%s/out' 2>&1",
             results, ck ? ck : "build/bin/ckbench", dir);
    int st = system(cmd);
    snprintf(path, sizeof path, "%s/out", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bench failed:\n%s", buf);
    return buf;
}

Test(roofs_trust, bench_warns_once_about_doubtful_roofs_and_never_about_sound_ones)
{
    ck_roofs r = sound(60);
    char *out = bench_with(&r);
    cr_expect_null(strstr(out, "ckbench calibrate"), "sound roofs were doubted:\n%s", out);
    r.mode = CK_ROOFS_QUICK;
    out = bench_with(&r);
    const char *first = strstr(out, "roofs: a quick measurement");
    cr_expect_not_null(first, "no warning about quick roofs:\n%s", out);
    cr_expect(first && strstr(first, "'ckbench calibrate'"), "the warning does not say how to refresh:\n%s", out);
    cr_expect(first && !strstr(first + 10, "a quick measurement"), "warned more than once:\n%s", out);
}

Test(roofs_trust, a_new_calibration_is_a_new_file_and_the_newest_is_used)
{
    char results[128], first[4200], second[4200], found[4200], err[512], cmd[256];
    snprintf(results, sizeof results, "%s/results", dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s'", results);
    cr_assert_eq(system(cmd), 0);
    cr_expect_eq(ck_roofs_find(found, sizeof found, results), -1, "roofs found in an empty folder: %s", found);
    ck_roofs r = sound(60);
    r.mode = CK_ROOFS_QUICK;
    ck_roofs_path(first, sizeof first, results);
    cr_assert_eq(ck_roofs_save(&r, first, err, sizeof err), 0, "%s", err);
    r.mode = CK_ROOFS_FULL; /* in the same second as the first */
    ck_roofs_path(second, sizeof second, results);
    cr_assert_str_neq(first, second, "the second calibration would replace the first");
    cr_assert_eq(ck_roofs_save(&r, second, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ck_roofs_find(found, sizeof found, results), 0);
    cr_expect_str_eq(found, second, "not the newest roofs");
    cr_expect_eq(access(first, F_OK), 0);
}
