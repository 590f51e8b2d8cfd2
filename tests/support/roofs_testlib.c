/* Roofs with memory levels for the tests (roofs_testlib.h). */
#include "roofs_testlib.h"

#include "bench/calibrate.h"

int st_save_level_roofs(const char *dir, double dram_read_gbs, char *err, size_t err_len)
{
    ck_roofs r = {.threads = 1, .llc_bytes = 1u << 20, .triad_array_bytes = 4u << 20, .triad_gbs = {1.0, 1.0}};
    for (int isa = 0; isa < CK_ISA_COUNT; isa++)
        r.peak_gflops[isa][0] = r.peak_gflops[isa][1] = 1e9;
    const size_t cache[CK_MEM_COUNT] = {32u << 10, 256u << 10, 1u << 20, 0};
    for (int lv = 0; lv < CK_MEM_COUNT; lv++) {
        double read = lv == CK_MEM_DRAM ? dram_read_gbs : 100.0;
        r.level[lv] = (ck_mem_level){.cache_bytes = cache[lv], .shared = lv == CK_MEM_L3, .set_bytes = cache[lv] / 2};
        r.level[lv].read_gbs[0] = r.level[lv].read_gbs[1] = read;
        r.level[lv].triad_gbs[0] = r.level[lv].triad_gbs[1] = read / 2;
    }
    r.level[CK_MEM_DRAM].set_bytes = ck_dram_set_bytes(r.llc_bytes);
    r.have_levels = 1;
    char path[4200];
    ck_roofs_path(path, sizeof path, dir);
    return ck_roofs_save(&r, path, err, err_len);
}
