/* SPDX-License-Identifier: MIT */
/* `tether proxy` presets (anchors/proxy.md §6.5 with the §5.4 numbers) and --toxic specs. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_presets.h"

enum preset_attr_kind {
    PRESET_END = 0, /* terminates an attribute list */
    PRESET_TIME,    /* milliseconds: multiplied by --scale */
    PRESET_INT,     /* a count or byte size: never scaled */
    PRESET_STR,
    PRESET_BOOL
};

struct preset_attr {
    const char *key;
    enum preset_attr_kind kind;
    uint64_t num; /* PRESET_TIME, PRESET_INT, PRESET_BOOL (0/1) */
    const char *str;
};

struct preset_toxic {
    const char *type;
    const char *stream;
    struct preset_attr attrs[4];
};

struct proxy_preset {
    const char *name;
    struct preset_toxic toxics[2];
};

#define T(key, ms) {key, PRESET_TIME, ms, NULL}
#define S(key, s) {key, PRESET_STR, 0, s}
#define B(key, b) {key, PRESET_BOOL, b, NULL}
#define I(key, n) {key, PRESET_INT, n, NULL}

/*
 * Keep in step with cmd_proxy_usage and docs/proxy.md "Presets". Sources: anchors/proxy.md
 * §5.4 (cloud idle timeouts and what happens at expiry) and §5.1/§6.5 (HAProxy).
 */
static const struct proxy_preset proxy_presets[] = {
    /* ALB/CLB: 60 s idle timeout, then the LB closes the connection (FIN). */
    {"aws-alb", {{"idle_timeout", "downstream", {T("timeout", 60000), S("action", "fin")}}}},
    /* NLB: 350 s; the flow is forgotten silently, the next packet from either side gets RST. */
    {"aws-nlb", {{"idle_timeout", "downstream", {T("timeout", 350000), S("action", "silent")}}}},
    /* Azure LB default: 4 min, flows silently dropped. */
    {"azure-lb", {{"idle_timeout", "downstream", {T("timeout", 240000), S("action", "silent")}}}},
    /* Azure LB with "TCP Reset on Idle": bidirectional RST at 4 min. */
    {"azure-lb-rst", {{"idle_timeout", "downstream", {T("timeout", 240000), S("action", "rst")}}}},
    /* GCP Cloud NAT: tcpEstablishedIdleTimeoutSec 1200 s; the mapping expires silently and
     * later packets vanish. */
    {"gcp-nat",
     {{"conntrack_expiry", "downstream", {T("timeout", 1200000), S("then", "blackhole")}}}},
    /* HAProxy: timeout client/server 50 s as in Debian's shipped haproxy.cfg, FIN at expiry;
     * half-closed connections get timeout client-fin/server-fin 1 s (a common setting). */
    {"haproxy",
     {{"idle_timeout",
       "downstream",
       {T("timeout", 50000), S("action", "fin"), T("half_closed_timeout", 1000)}}}},
    /* iptables -j REJECT --reject-with tcp-reset: every connection is reset at once. */
    {"firewall-reset", {{"reset", "downstream", {T("timeout", 0), I("after_bytes", 0)}}}},
    /* iptables -j DROP on an established flow: nothing gets through either way, nothing
     * closes. */
    {"firewall-drop",
     {{"blackhole", "upstream", {B("stop_reading", 0)}},
      {"blackhole", "downstream", {B("stop_reading", 0)}}}},
};

#undef T
#undef S
#undef B
#undef I

#define PRESET_COUNT (sizeof(proxy_presets) / sizeof(proxy_presets[0]))

const struct proxy_preset *proxy_preset_find(const char *name)
{
    for (size_t i = 0; i < PRESET_COUNT; i++) {
        if (strcmp(proxy_presets[i].name, name) == 0) {
            return &proxy_presets[i];
        }
    }
    return NULL;
}

const char *proxy_preset_name(const struct proxy_preset *p)
{
    return p->name;
}

void proxy_preset_list(char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < PRESET_COUNT; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", proxy_presets[i].name);
        if (n < 0 || (size_t)n >= len - used) {
            return; /* truncated: snprintf kept it terminated */
        }
        used += (size_t)n;
    }
}

static uint64_t preset_scale_ms(uint64_t ms, double scale)
{
    if (ms == 0) {
        return 0;
    }
    double v = (double)ms * scale + 0.5;
    /* The scale is at most 1000 and the times at most 20 min, so this fits easily. */
    uint64_t r = (uint64_t)v;
    return r == 0 ? 1 : r;
}

int proxy_preset_toxics(const struct proxy_preset *p, double scale, json_t *out)
{
    for (size_t t = 0; t < sizeof(p->toxics) / sizeof(p->toxics[0]) && p->toxics[t].type; t++) {
        const struct preset_toxic *pt = &p->toxics[t];
        json_t *attrs = json_object();
        json_t *toxic = json_pack("{s:s, s:s, s:f, s:o}", "type", pt->type, "stream", pt->stream,
                                  "toxicity", 1.0, "attributes", attrs);
        if (!toxic) {
            return -1; /* json_pack released attrs ("o" steals it even on failure) */
        }
        for (const struct preset_attr *a = pt->attrs; a->kind != PRESET_END; a++) {
            json_t *v = NULL;
            switch (a->kind) {
            case PRESET_TIME:
                v = json_integer((json_int_t)preset_scale_ms(a->num, scale));
                break;
            case PRESET_INT:
                v = json_integer((json_int_t)a->num);
                break;
            case PRESET_STR:
                v = json_string(a->str);
                break;
            case PRESET_BOOL:
                v = json_boolean(a->num != 0);
                break;
            case PRESET_END:
                break;
            }
            if (!v || json_object_set_new(attrs, a->key, v) != 0) {
                json_decref(toxic);
                return -1;
            }
        }
        if (json_array_append_new(out, toxic) != 0) {
            return -1;
        }
    }
    return 0;
}

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

static bool toxic_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.';
}

static json_t *toxic_fail(json_t *toxic, char *copy, char *why, size_t why_len, const char *msg)
{
    snprintf(why, why_len, "%s", msg);
    json_decref(toxic);
    free(copy);
    return NULL;
}

json_t *proxy_toxic_parse(const char *spec, char *why, size_t why_len)
{
    char *copy = malloc(strlen(spec) + 1);
    if (!copy) {
        snprintf(why, why_len, "out of memory");
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
        if (!toxic_name_char(*p)) {
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
            if (!toxic_name_char(*p)) {
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
        bool own = strcmp(key, "name") == 0 || strcmp(key, "stream") == 0 ||
                   strcmp(key, "toxicity") == 0;
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
    if (*end != '\0' || errno != 0 || !isfinite(d) || d <= 0 || d > 1000) {
        return -1;
    }
    *out = d;
    return 0;
}
