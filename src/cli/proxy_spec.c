/* SPDX-License-Identifier: MIT */
/* `tether proxy --toxic TYPE:k=v` specs and the --scale factor (the presets themselves are the
 * library's: tether_proxy_server_apply_preset). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/proxy.h"

#include "util/str.h"

#include "proxy_spec.h"

/* "-12", "3.5", "1e3": what toxiproxy-cli would send as a JSON number. */
static bool toxic_looks_numeric(const char *v)
{
    const char *p = v + (*v == '-');
    if (*p < '0' || *p > '9') {
        return false;
    }
    for (; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
              *p == '-')) {
            return false;
        }
    }
    return true;
}

static json_t *toxic_value(const char *v)
{
    if (strcmp(v, "true") == 0) {
        return json_true();
    }
    if (strcmp(v, "false") == 0) {
        return json_false();
    }
    if (toxic_looks_numeric(v)) {
        char *end = NULL;
        errno = 0;
        long long i = strtoll(v, &end, 10);
        if (*end == '\0' && errno == 0) {
            return json_integer((json_int_t)i);
        }
        errno = 0;
        double d = strtod(v, &end);
        if (*end == '\0' && errno == 0 && isfinite(d)) {
            return json_real(d);
        }
    }
    return json_string(v); /* NULL when not UTF-8 */
}

bool proxy_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ttx_is_digit(ch) || ch == '_' ||
           ch == '-' || ch == '.';
}

static json_t *toxic_fail(json_t *toxic, char *copy, char *why, size_t why_len, const char *msg)
{
    (void)snprintf(why, why_len, "%s", msg);
    json_decref(toxic);
    free(copy);
    return NULL;
}

json_t *proxy_toxic_parse(const char *spec, char *why, size_t why_len)
{
    char *copy = malloc(strlen(spec) + 1);
    if (!copy) {
        (void)snprintf(why, why_len, "out of memory");
        return NULL;
    }
    memcpy(copy, spec, strlen(spec) + 1);
    char *colon = strchr(copy, ':');
    char *rest = NULL;
    if (colon) {
        *colon = '\0';
        rest = colon + 1;
    }
    json_t *attrs = json_object();
    json_t *toxic = json_pack("{s:s, s:o}", "type", "", "attributes", attrs);
    if (!toxic) {
        return toxic_fail(NULL, copy, why, why_len, "out of memory");
    }
    if (!*copy) {
        return toxic_fail(toxic, copy, why, why_len, "missing toxic type before ':'");
    }
    for (const char *p = copy; *p; p++) {
        if (!proxy_name_char(*p)) {
            return toxic_fail(toxic, copy, why, why_len, "the type is letters, digits and '_'");
        }
    }
    json_object_set_new(toxic, "type", json_string(copy));
    if (rest && !*rest) {
        return toxic_fail(toxic, copy, why, why_len, "nothing after ':' (expected key=value)");
    }
    while (rest && *rest) {
        char *comma = strchr(rest, ',');
        if (comma) {
            *comma = '\0';
        }
        char *eq = strchr(rest, '=');
        if (!eq || eq == rest) {
            return toxic_fail(toxic, copy, why, why_len, "expected key=value after ':'");
        }
        *eq = '\0';
        const char *key = rest;
        const char *val = eq + 1;
        for (const char *p = key; *p; p++) {
            if (!proxy_name_char(*p)) {
                return toxic_fail(toxic, copy, why, why_len,
                                  "a key is letters, digits, '_', '-' and '.'");
            }
        }
        json_t *v;
        if (strcmp(key, "name") == 0 || strcmp(key, "stream") == 0) {
            v = json_string(val);
        } else if (strcmp(key, "toxicity") == 0) {
            v = toxic_value(val);
            if (v && !json_is_number(v)) {
                json_decref(v);
                return toxic_fail(toxic, copy, why, why_len, "toxicity is a number (0..1)");
            }
        } else {
            v = toxic_value(val);
        }
        if (!v) {
            return toxic_fail(toxic, copy, why, why_len, "a value is not UTF-8");
        }
        bool own =
            strcmp(key, "name") == 0 || strcmp(key, "stream") == 0 || strcmp(key, "toxicity") == 0;
        if (json_object_set_new(own ? toxic : attrs, key, v) != 0) {
            return toxic_fail(toxic, copy, why, why_len, "out of memory");
        }
        if (!comma) {
            break;
        }
        rest = comma + 1;
        if (!*rest) {
            return toxic_fail(toxic, copy, why, why_len, "trailing ','");
        }
    }
    free(copy);
    return toxic;
}

int proxy_parse_scale(const char *text, double *out)
{
    const char *p = text;
    if (!text || *p < '0' || *p > '9') {
        return -1; /* no sign, no space, no "inf"/"nan" */
    }
    for (; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '-')) {
            return -1;
        }
    }
    char *end = NULL;
    errno = 0;
    double d = strtod(text, &end);
    if (*end != '\0' || errno != 0 || !isfinite(d) || d <= 0 || d > TETHER_PROXY_PRESET_MAX_SCALE) {
        return -1;
    }
    *out = d;
    return 0;
}
