/* SPDX-License-Identifier: MIT */
/* The pure rules of egress: which fields are hop-by-hop, where a request target goes, the
 * deadline header's syntax, the allow list, and the failure's JSON. No I/O. */
#include <stdio.h>
#include <string.h>

#include "egress/egress_int.h"
#include "util/hostport.h"
#include "util/str.h"

/* RFC 9110 §7.6.1, plus Proxy-* (Proxy-Authorization, Proxy-Connection: meant for this hop). */
static const char *const eg_hop_fields[] = {"connection", "keep-alive",        "te",
                                            "trailer",    "transfer-encoding", "upgrade"};

/* Whether the comma list `list` holds the token `name` (case-insensitive, OWS around items). */
static bool eg_list_has(const char *list, const char *name)
{
    const char *p = list;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        struct ttx_slice item = ttx_trim_ows(p, n);
        if (item.len > 0 && ttx_mem_eq_nocase(item.ptr, item.len, name)) {
            return true;
        }
        p += n;
        p += *p == ',';
    }
    return false;
}

bool tt__eg_hop_by_hop(const char *name, const char *connection)
{
    for (size_t i = 0; i < tt__countof(eg_hop_fields); i++) {
        if (ttx_str_eq_nocase(name, eg_hop_fields[i])) {
            return true;
        }
    }
    if (ttx_prefix_nocase(name, "proxy-")) {
        return true;
    }
    return connection && eg_list_has(connection, name);
}

int tt__eg_parse_duration(const char *text, uint64_t *ms)
{
    uint64_t v;
    /* At most what the command accepts for --deadline; 0 would be no deadline at all. */
    if (ttx_parse_duration_ms(text, EG_MAX_DEADLINE_MS, &v) != 0 || v == 0) {
        return TETHER_EINVAL;
    }
    *ms = v;
    return 0;
}

static bool eg_is_absolute(const char *target)
{
    return ttx_prefix_nocase(target, "http://") || ttx_prefix_nocase(target, "https://");
}

/* The path and query of an absolute-form target ("/" when it has none). */
static const char *eg_path_of(const char *absolute)
{
    const char *p = strstr(absolute, "//") + 2;
    p += strcspn(p, "/?#");
    return *p == '/' || *p == '?' ? p : "";
}

char *tt__eg_target_url(const char *upstream, const char *target, char *why, size_t why_len)
{
    if (why_len > 0) {
        why[0] = '\0';
    }
    if (!upstream) {
        if (!eg_is_absolute(target)) {
            tt__errbuf_set(why, why_len,
                           "request target '%.200s' is not an absolute http:// URL: egress runs "
                           "as a forward proxy (set HTTP_PROXY), or start it with --upstream",
                           target);
            return NULL;
        }
        return tt__strndup(target, strlen(target));
    }
    const char *path = target;
    if (eg_is_absolute(target)) {
        path = eg_path_of(target);
    } else if (target[0] != '/') {
        tt__errbuf_set(why, why_len,
                       "request target '%.200s' is not a path: egress forwards to its upstream "
                       "only targets like /path?query",
                       target);
        return NULL;
    }
    size_t len = strlen(upstream) + strlen(path) + 2;
    char *url = tt__malloc(len);
    if (url) {
        (void)snprintf(url, len, "%s%s%s", upstream, path[0] == '?' || !path[0] ? "/" : "", path);
    }
    return url;
}

bool tt__eg_url_authority(const char *url, char *host, size_t host_len, uint16_t *port)
{
    const char *sep = strstr(url, "://");
    if (!sep || host_len == 0) {
        return false;
    }
    bool tls = sep - url == 5;
    const char *a = sep + 3;
    size_t n = strcspn(a, "/?#");
    struct ttx_hostport hp;
    if (n == 0 || memchr(a, '@', n) || ttx_hostport_split(a, n, &hp) != TTX_HOSTPORT_OK ||
        hp.host.len == 0 || hp.host.len >= host_len) {
        return false;
    }
    *port = tls ? 443 : 80;
    if (hp.has_port && ttx_parse_port(hp.port, port) != 0) {
        return false;
    }
    for (size_t i = 0; i < hp.host.len; i++) {
        host[i] = ttx_lower(hp.host.ptr[i]);
    }
    host[hp.host.len] = '\0';
    return true;
}

bool tt__eg_allowed(char *const *allow, size_t nallow, const char *host, uint16_t port)
{
    if (nallow == 0) {
        return true;
    }
    char with_port[300];
    (void)snprintf(with_port, sizeof(with_port), "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
                   strchr(host, ':') ? "]" : "", (unsigned)port);
    for (size_t i = 0; i < nallow; i++) {
        if (strcmp(allow[i], host) == 0 || strcmp(allow[i], with_port) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends `s` as a JSON string body (without quotes) at buf[*at], never past len - 1. */
static void eg_json_str(char *buf, size_t len, size_t *at, const char *s)
{
    for (; *s && *at + 7 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            buf[(*at)++] = '\\';
            buf[(*at)++] = (char)ch;
        } else if (ch < 0x20) {
            *at += (size_t)snprintf(buf + *at, len - *at, "\\u%04x", ch);
        } else {
            buf[(*at)++] = (char)ch;
        }
    }
    buf[*at] = '\0';
}

static void eg_json_field(char *buf, size_t len, size_t *at, const char *key, const char *value)
{
    if (*at + 8 + strlen(key) >= len) {
        return;
    }
    *at += (size_t)snprintf(buf + *at, len - *at, "%s\"%s\":\"", *at > 1 ? "," : "", key);
    eg_json_str(buf, len, at, value);
    if (*at + 2 < len) {
        buf[(*at)++] = '"';
        buf[*at] = '\0';
    }
}

void tt__eg_failure_json(char *buf, size_t len, const char *message, const struct tether_failure *f,
                         unsigned attempts, bool deadline, bool not_replayable)
{
    if (len < 64) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return;
    }
    size_t at = 0;
    buf[at++] = '{';
    buf[at] = '\0';
    eg_json_field(buf, len, &at, "error", message);
    eg_json_field(buf, len, &at, "code", tether_err_name(f->code));
    eg_json_field(buf, len, &at, "phase", tether_phase_name(f->phase));
    eg_json_field(buf, len, &at, "retry_safe", tether_retry_safety_name(f->retry_safe));
    eg_json_field(buf, len, &at, "peer", f->peer);
    eg_json_field(buf, len, &at, "detail", f->detail);
    if (at + 120 < len) {
        at += (size_t)snprintf(buf + at, len - at,
                               ",\"attempts\":%u,\"replays\":%u,\"reused\":%s,"
                               "\"deadline\":%s,\"replayable\":%s}\n",
                               attempts, f->replays, f->reused ? "true" : "false",
                               deadline ? "true" : "false", not_replayable ? "false" : "true");
    } else {
        (void)snprintf(buf + at, len - at, "}\n"); /* cut short, still one object if it fits */
    }
}
