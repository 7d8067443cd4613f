/* SPDX-License-Identifier: MIT */
/* Load-balancer and firewall presets (anchors/proxy.md §6.5 with the §5.4 numbers): named sets
 * of toxics added to a proxy through the API's own toxic decoding. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_int.h"
#include "util/str.h"

enum preset_attr_kind {
    PRESET_END = 0, /* terminates an attribute list */
    PRESET_TIME,    /* milliseconds: multiplied by the scale */
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
    const char *type; /* NULL ends the list */
    const char *stream;
    struct preset_attr attrs[4];
};

#define PRESET_MAX_TOXICS TT__PX_PRESET_MAX_TOXICS

struct preset {
    const char *name;
    const char *describe;
    struct preset_toxic toxics[PRESET_MAX_TOXICS];
};

#define T(key, ms)                                                                                 \
    {                                                                                              \
        key, PRESET_TIME, ms, NULL                                                                 \
    }
#define S(key, s)                                                                                  \
    {                                                                                              \
        key, PRESET_STR, 0, s                                                                      \
    }
#define B(key, b)                                                                                  \
    {                                                                                              \
        key, PRESET_BOOL, b, NULL                                                                  \
    }
#define I(key, n)                                                                                  \
    {                                                                                              \
        key, PRESET_INT, n, NULL                                                                   \
    }

/*
 * Keep in step with docs/proxy.md "Presets" and `tether help proxy`. Sources: anchors/proxy.md
 * §5.4 (cloud idle timeouts and what happens at expiry) and §5.1/§6.5 (HAProxy). Each toxic
 * gets the API's default name, TYPE_STREAM, so two toxics of a preset never share one.
 */
static const struct preset presets[] = {
    /* ALB/CLB: 60 s idle timeout, then the LB closes the connection (FIN). */
    {"aws-alb",
     "ALB/CLB: FIN to both sides after 60 s without a byte either way",
     {{"idle_timeout", "downstream", {T("timeout", 60000), S("action", "fin")}}}},
    /* NLB: 350 s; the flow is forgotten silently, the next packet from either side gets RST. */
    {"aws-nlb",
     "NLB: the flow is forgotten after 350 s; the next packet gets an RST",
     {{"idle_timeout", "downstream", {T("timeout", 350000), S("action", "silent")}}}},
    /* Azure LB default: 4 min, flows silently dropped. */
    {"azure-lb",
     "Azure Load Balancer default: silent drop after 4 min",
     {{"idle_timeout", "downstream", {T("timeout", 240000), S("action", "silent")}}}},
    /* Azure LB with "TCP Reset on Idle": bidirectional RST at 4 min. */
    {"azure-lb-rst",
     "Azure with \"TCP reset on idle\": RST to both ends at 4 min",
     {{"idle_timeout", "downstream", {T("timeout", 240000), S("action", "rst")}}}},
    /* GCP Cloud NAT: tcpEstablishedIdleTimeoutSec 1200 s; the mapping expires silently and
     * later packets vanish. */
    {"gcp-nat",
     "Cloud NAT mapping expiry after 20 min: later packets vanish",
     {{"conntrack_expiry", "downstream", {T("timeout", 1200000), S("then", "blackhole")}}}},
    /* HAProxy: timeout client/server 50 s as in Debian's shipped haproxy.cfg, FIN at expiry;
     * half-closed connections get timeout client-fin/server-fin 1 s (a common setting). */
    {"haproxy",
     "timeout client/server 50s (Debian's haproxy.cfg), client-fin 1s",
     {{"idle_timeout",
       "downstream",
       {T("timeout", 50000), S("action", "fin"), T("half_closed_timeout", 1000)}}}},
    /* iptables -j REJECT --reject-with tcp-reset: every connection is reset at once. */
    {"firewall-reset",
     "iptables REJECT --reject-with tcp-reset: every connection gets RST",
     {{"reset", "downstream", {T("timeout", 0), I("after_bytes", 0)}}}},
    /* iptables -j DROP on an established flow: nothing gets through either way, nothing
     * closes. */
    {"firewall-drop",
     "iptables DROP: nothing gets through either way and nothing closes",
     {{"blackhole", "upstream", {B("stop_reading", 0)}},
      {"blackhole", "downstream", {B("stop_reading", 0)}}}},
};

#undef T
#undef S
#undef B
#undef I

const char *tether_proxy_preset_name(size_t i)
{
    return i < tt__countof(presets) ? presets[i].name : NULL;
}

const char *tether_proxy_preset_describe(size_t i)
{
    return i < tt__countof(presets) ? presets[i].describe : NULL;
}

static const struct preset *preset_find(const char *name)
{
    for (size_t i = 0; i < tt__countof(presets); i++) {
        if (strcmp(presets[i].name, name) == 0) {
            return &presets[i];
        }
    }
    return NULL;
}

/* Rounded; a non-zero time stays at least 1 ms, so scaling never switches a timer off. The
 * times are at most 20 min and the scale at most TETHER_PROXY_PRESET_MAX_SCALE, so the product
 * stays far inside int64 milliseconds. */
static uint64_t preset_scale_ms(uint64_t ms, double scale)
{
    if (ms == 0) {
        return 0;
    }
    uint64_t r = (uint64_t)((double)ms * scale + 0.5);
    return r == 0 ? 1 : r;
}

/* The toxic as a POST /proxies/{p}/toxics body; NULL when out of memory. */
static json_t *preset_toxic_json(const struct preset_toxic *pt, double scale)
{
    json_t *attrs = json_object();
    json_t *toxic = json_pack("{s:s, s:s, s:f, s:o}", "type", pt->type, "stream", pt->stream,
                              "toxicity", 1.0, "attributes", attrs);
    if (!toxic) {
        return NULL; /* json_pack released attrs ("o" steals it even on failure) */
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
            return NULL;
        }
    }
    return toxic;
}

static void preset_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < tt__countof(presets); i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", presets[i].name);
        if (n < 0 || (size_t)n >= len - used) {
            return; /* truncated: snprintf kept it terminated */
        }
        used += (size_t)n;
    }
}

/* "unknown preset 'aws-elb' (did you mean 'aws-alb'?; valid presets: aws-alb, ...)". */
static void preset_unknown(struct px_err *err, const char *preset)
{
    char names[200];
    const char *list[tt__countof(presets)];
    for (size_t i = 0; i < tt__countof(presets); i++) {
        list[i] = presets[i].name;
    }
    preset_names(names, sizeof(names));
    const char *best = ttx_closest(preset, list, tt__countof(presets));
    if (best) {
        tt__px_err_set(err, 400, "unknown preset '%.64s' (did you mean '%s'?; valid presets: %s)",
                       preset, best, names);
    } else {
        tt__px_err_set(err, 400, "unknown preset '%.64s' (valid presets: %s)", preset, names);
    }
}

int tt__px_preset_apply(struct px_proxy *px, const char *preset, double scale,
                        struct px_toxic **added, size_t *n_added, struct px_err *err)
{
    *n_added = 0;
    const struct preset *p = preset_find(preset);
    if (!p) {
        preset_unknown(err, preset);
        return TETHER_EINVAL;
    }
    if (!isfinite(scale) || !(scale > 0.0) || scale > TETHER_PROXY_PRESET_MAX_SCALE) {
        tt__px_err_set(err, 400,
                       "invalid scale %g for preset '%s' (expected above 0, "
                       "at most 1000)",
                       scale, p->name);
        return TETHER_EINVAL;
    }
    /* Every toxic is decoded and checked before any is added: all or nothing. */
    struct px_toxic *made[PRESET_MAX_TOXICS] = {NULL};
    size_t n = 0;
    int rv = 0;
    for (; n < PRESET_MAX_TOXICS && p->toxics[n].type; n++) {
        json_t *body = preset_toxic_json(&p->toxics[n], scale);
        struct px_err why;
        if (!body) {
            tt__px_err_set(&why, 500, "out of memory");
            rv = TETHER_ENOMEM;
        } else {
            rv = tt__px_toxic_from_json(body, &px->toxics, &made[n], &why);
            json_decref(body);
        }
        if (rv != 0) {
            tt__px_err_set(err, why.status, "cannot add %s (%s) of preset '%s' to proxy '%s': %s",
                           p->toxics[n].type, p->toxics[n].stream, p->name, px->name, why.msg);
            break;
        }
    }
    if (rv != 0) {
        for (size_t i = 0; i < n; i++) {
            tt__px_toxic_free(made[i]);
        }
        return rv;
    }
    for (size_t i = 0; i < n; i++) {
        tt__px_proxy_add_toxic(px, made[i]);
        added[i] = made[i];
    }
    *n_added = n;
    return 0;
}

void tt__px_presets_json(struct pj_w *w)
{
    tt__pj_raw(w, "[");
    for (size_t i = 0; i < tt__countof(presets); i++) {
        const struct preset *p = &presets[i];
        tt__pj_raw(w, i ? ",{\"name\":" : "{\"name\":");
        tt__pj_str(w, p->name);
        tt__pj_raw(w, ",\"description\":");
        tt__pj_str(w, p->describe);
        tt__pj_raw(w, ",\"toxics\":[");
        for (size_t k = 0; k < PRESET_MAX_TOXICS && p->toxics[k].type; k++) {
            /* A preset toxic is a few short keys: its text always fits. */
            char text[512];
            json_t *t = preset_toxic_json(&p->toxics[k], 1.0);
            size_t len = t ? json_dumpb(t, text, sizeof(text) - 1, JSON_COMPACT) : 0;
            json_decref(t);
            text[len < sizeof(text) ? len : 0] = '\0';
            if (k) {
                tt__pj_raw(w, ",");
            }
            tt__pj_raw(w, len > 0 && len < sizeof(text) ? text : "null");
        }
        tt__pj_raw(w, "]}");
    }
    tt__pj_raw(w, "]");
}

int tether_proxy_server_apply_preset(tether_proxy_server *ps, const char *proxy_name,
                                     const char *preset, double scale, char *errbuf,
                                     size_t errbuf_len)
{
    tt__errbuf_set(errbuf, errbuf_len, "%s", "");
    if (!ps || !proxy_name || !preset) {
        tt__errbuf_set(errbuf, errbuf_len, "no proxy server, proxy name or preset name");
        return TETHER_EINVAL;
    }
    struct px_err err;
    struct px_proxy *px = NULL;
    if (preset_find(preset)) {
        px = tt__px_find(ps, proxy_name);
        if (!px) {
            tt__errbuf_set(errbuf, errbuf_len, "proxy '%.128s' not found", proxy_name);
            return TETHER_EINVAL;
        }
    }
    struct px_toxic *added[PRESET_MAX_TOXICS];
    size_t n;
    int rv;
    if (!px) {
        preset_unknown(&err, preset);
        rv = TETHER_EINVAL;
    } else {
        rv = tt__px_preset_apply(px, preset, scale, added, &n, &err);
    }
    if (rv != 0) {
        tt__errbuf_set(errbuf, errbuf_len, "%s", err.msg);
    }
    return rv;
}
