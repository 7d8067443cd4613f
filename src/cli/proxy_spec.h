/* SPDX-License-Identifier: MIT */
/* `tether proxy` sugar: --toxic TYPE:k=v specs as JSON, the --scale factor, name characters. */
#ifndef TETHER_CLI_PROXY_SPEC_H
#define TETHER_CLI_PROXY_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* A character of a proxy or toxic name, or of a --toxic key: letters, digits, '_', '-', '.'. */
bool proxy_name_char(char ch);

/*
 * Parses a --toxic spec, "TYPE" or "TYPE:key=value,key=value", into a toxic JSON object
 * (caller owns). The keys name, stream and toxicity fill the toxic's own fields; every other
 * key is an attribute whose value becomes a JSON integer or real when it reads as one,
 * true/false when it is one of those, and a string otherwise (as toxiproxy-cli -a does, plus
 * booleans). Returns NULL with a short reason in `why` (no value echoed) on a malformed spec.
 */
json_t *proxy_toxic_parse(const char *spec, char *why, size_t why_len);

/* Parses a positive decimal scale factor ("0.01", "1", "2.5") in (0,
 * TETHER_PROXY_PRESET_MAX_SCALE], the range tether_proxy_server_apply_preset takes. 0 or -1. */
int proxy_parse_scale(const char *text, double *out);

#endif
