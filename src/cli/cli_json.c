/* SPDX-License-Identifier: MIT */
/* JSON helpers shared by the subcommands' --json reports. */
#include <stdio.h>

#include "cli_json.h"

json_t *cli_json_uint(uint64_t v)
{
    return json_integer((json_int_t)(v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v));
}

void cli_json_ascii(const char *in, char *out, size_t len)
{
    size_t i = 0;
    if (len == 0) {
        return;
    }
    for (; in[i] && i + 1 < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[i] = (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch;
    }
    out[i] = '\0';
}

int cli_json_print(json_t *doc)
{
    int rc = json_dumpf(doc, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(doc);
    if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        return -1;
    }
    return 0;
}
