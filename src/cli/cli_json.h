/* SPDX-License-Identifier: MIT */
/* The JSON pieces every --json report needs: counters, printable strings, the one line out. */
#ifndef TETHER_CLI_JSON_H
#define TETHER_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A counter as a JSON integer (jansson's are signed: clamped at INT64_MAX). NULL when out of
 * memory, which every json_object_set_new caller turns into its failure. */
json_t *cli_json_uint(uint64_t v);

/* Copies `in` into `out` (at most len - 1 bytes, always terminated) with every byte outside
 * printable ASCII as '?': jansson wants UTF-8, and peer names, error messages and keys are
 * ASCII in practice. */
void cli_json_ascii(const char *in, char *out, size_t len);

/* Prints `doc` compactly on stdout followed by a newline and releases it. Returns 0, or -1
 * when it could not be written. */
int cli_json_print(json_t *doc);

#endif
