/* SPDX-License-Identifier: MIT */
/* `tether proxy` sugar: load-balancer/firewall presets and --toxic TYPE:k=v specs as JSON. */
#ifndef TETHER_CLI_PROXY_PRESETS_H
#define TETHER_CLI_PROXY_PRESETS_H

#include <stddef.h>

#include <jansson.h>

struct proxy_preset;

/* The preset called `name`, or NULL. */
const struct proxy_preset *proxy_preset_find(const char *name);

/* The preset's name ("aws-alb"). */
const char *proxy_preset_name(const struct proxy_preset *p);

/* Writes "aws-alb, aws-nlb, ..." into buf (always NUL-terminated). */
void proxy_preset_list(char *buf, size_t len);

/* Appends the preset's toxics, as POST /proxies/{p}/toxics bodies, to the JSON array `out`,
 * with every time attribute multiplied by `scale` (rounded; a non-zero time stays >= 1 ms).
 * Returns 0, or -1 when out of memory. */
int proxy_preset_toxics(const struct proxy_preset *p, double scale, json_t *out);

/*
 * Parses a --toxic spec, "TYPE" or "TYPE:key=value,key=value", into a toxic JSON object
 * (caller owns). The keys name, stream and toxicity fill the toxic's own fields; every other
 * key is an attribute whose value becomes a JSON integer or real when it reads as one,
 * true/false when it is one of those, and a string otherwise (as toxiproxy-cli -a does, plus
 * booleans). Returns NULL with a short reason in `why` (no value echoed) on a malformed spec.
 */
json_t *proxy_toxic_parse(const char *spec, char *why, size_t why_len);

/* Parses a positive decimal scale factor ("0.01", "1", "2.5") in (0, 1000]. 0 or -1. */
int proxy_parse_scale(const char *text, double *out);

#endif
