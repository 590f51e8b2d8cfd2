/* libFuzzer target for the result-file loader behind `ckbench report`, which
 * reads files from other machines: any bytes as a result file, loaded as a
 * run and as its own baseline, then rendered as Markdown and HTML (to
 * /dev/null). A crash, leak, out-of-bounds access or
 * undefined behaviour (ASan/UBSan) is a finding; a refusal is not. The seeds
 * are small result files (tests/fuzz/report-seeds). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/ck-fuzz-report-%d.json", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    ck_report r;
    ck_report_init(&r);
    char err[512];
    if (ck_report_add_file(&r, path, 0, err, sizeof err) == 0) {
        ck_report_add_file(&r, path, 1, err, sizeof err); /* its own baseline: every row matched */
        ck_report_finish(&r);
        FILE *sink = fopen("/dev/null", "w");
        if (sink) {
            ck_report_write_md(&r, sink);
            ck_report_write_html(&r, sink);
            fclose(sink);
        }
    }
    ck_report_free(&r);
    return 0;
}
