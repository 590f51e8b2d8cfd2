/* Parsing `--op` lists; see op_list.h. */
#include "common/op_list.h"

#include <stdio.h>
#include <string.h>

int ck_op_list_parse(const char *list, int on[CK_OP_COUNT], char *err, size_t err_len)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    int n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
        uint32_t op = ck_op_from_name(t);
        if (op != CK_OP_NONE && op < CK_OP_COUNT) {
            on[op] = 1;
            continue;
        }
        char known[1024] = "";
        for (uint32_t i = 1; i < CK_OP_COUNT; i++) {
            size_t l = strlen(known);
            snprintf(known + l, sizeof known - l, "%s%s", i > 1 ? ", " : "", ck_op_name(i));
        }
        snprintf(err, err_len, "--op: unknown op '%s'; known: %s", t, known);
        return -1;
    }
    if (n == 0) {
        snprintf(err, err_len, "--op: expected OP[,OP...], found '%s'", list);
        return -1;
    }
    return 0;
}

int ck_op_list_format(const int on[CK_OP_COUNT], char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (uint32_t op = 1; op < CK_OP_COUNT; op++) {
        if (!on[op])
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", ck_op_name(op));
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}
