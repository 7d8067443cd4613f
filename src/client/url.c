/* SPDX-License-Identifier: MIT */
/* Absolute http(s) URL parsing into what a request needs: origin key, Host field, target. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

static char url_lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static bool url_is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* Whether a byte may appear in a request target as sent. Anything else (space, controls,
 * non-ASCII, quotes, backslash...) is refused rather than percent-encoded behind the user's back,
 * because a guessed encoding can change which resource is asked for. */
static bool url_target_char(char ch)
{
    unsigned char u = (unsigned char)ch;
    if (u <= 0x20 || u >= 0x7f) {
        return false;
    }
    return strchr("\"<>\\^`{|}", ch) == NULL;
}

/* reg-name (RFC 3986) restricted to what DNS names and IPv4 literals use. */
static bool url_host_char(char ch)
{
    return url_is_alnum(ch) || ch == '-' || ch == '.' || ch == '_';
}

static bool url_v6_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
           ch == ':' || ch == '.';
}

static bool url_prefix_nocase(const char *s, const char *lit)
{
    for (; *lit; s++, lit++) {
        if (url_lower(*s) != *lit) {
            return false;
        }
    }
    return true;
}

/* host[:port] or [v6][:port] from auth[0..len). */
static int url_parse_authority(const char *auth, size_t len, struct tt__url *u)
{
    const char *host;
    size_t host_len;
    const char *rest;
    if (len == 0 || memchr(auth, '@', len)) {
        return TETHER_EINVAL; /* credentials in URLs leak into logs; refuse them */
    }
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', len);
        if (!close) {
            return TETHER_EINVAL;
        }
        host = auth + 1;
        host_len = (size_t)(close - host);
        for (size_t i = 0; i < host_len; i++) {
            if (!url_v6_char(host[i])) {
                return TETHER_EINVAL;
            }
        }
        if (host_len < 2 || !memchr(host, ':', host_len)) {
            return TETHER_EINVAL;
        }
        u->ipv6 = true;
        rest = close + 1;
    } else {
        const char *colon = memchr(auth, ':', len);
        host = auth;
        host_len = colon ? (size_t)(colon - auth) : len;
        for (size_t i = 0; i < host_len; i++) {
            if (!url_host_char(host[i])) {
                return TETHER_EINVAL;
            }
        }
        rest = auth + host_len;
    }
    if (host_len == 0 || host_len >= sizeof(u->host)) {
        return TETHER_EINVAL;
    }
    for (size_t i = 0; i < host_len; i++) {
        u->host[i] = url_lower(host[i]);
    }
    u->host[host_len] = '\0';

    const char *end = auth + len;
    u->port = u->tls ? 443 : 80;
    if (rest < end) {
        if (*rest != ':') {
            return TETHER_EINVAL;
        }
        rest++;
        if (rest == end) {
            return 0; /* "http://host:/" means the default port (RFC 3986 §3.2.3) */
        }
        unsigned long port = 0;
        for (; rest < end; rest++) {
            if (*rest < '0' || *rest > '9' || port > 65535) {
                return TETHER_EINVAL;
            }
            port = port * 10 + (unsigned long)(*rest - '0');
        }
        if (port == 0 || port > 65535) {
            return TETHER_EINVAL;
        }
        u->port = (uint16_t)port;
    }
    return 0;
}

int tt__url_parse(const char *url, struct tt__url *u)
{
    if (!url || !u) {
        return TETHER_EINVAL;
    }
    memset(u, 0, sizeof(*u));
    const char *p;
    if (url_prefix_nocase(url, "http://")) {
        p = url + 7;
    } else if (url_prefix_nocase(url, "https://")) {
        u->tls = true;
        p = url + 8;
    } else {
        return TETHER_EINVAL;
    }
    size_t auth_len = strcspn(p, "/?#");
    int rv = url_parse_authority(p, auth_len, u);
    if (rv != 0) {
        return rv;
    }
    const char *t = p + auth_len;
    size_t t_len = strcspn(t, "#"); /* the fragment stays with the client */
    for (size_t i = 0; i < t_len; i++) {
        if (!url_target_char(t[i])) {
            return TETHER_EINVAL;
        }
    }
    /* "http://h?q" asks for "/?q" (RFC 9112 §3.2.1: an empty path becomes "/"). */
    bool slash = t_len == 0 || t[0] != '/';
    u->target = tt__malloc(t_len + 2);
    if (!u->target) {
        return TETHER_ENOMEM;
    }
    size_t n = 0;
    if (slash) {
        u->target[n++] = '/';
    }
    memcpy(u->target + n, t, t_len);
    u->target[n + t_len] = '\0';

    const char *scheme = u->tls ? "https" : "http";
    const char *lb = u->ipv6 ? "[" : "";
    const char *rb = u->ipv6 ? "]" : "";
    bool default_port = u->port == (u->tls ? 443 : 80);
    if (default_port) {
        (void)snprintf(u->host_header, sizeof(u->host_header), "%s%s%s", lb, u->host, rb);
    } else {
        (void)snprintf(u->host_header, sizeof(u->host_header), "%s%s%s:%u", lb, u->host, rb,
                       (unsigned)u->port);
    }
    (void)snprintf(u->origin, sizeof(u->origin), "%s://%s%s%s:%u", scheme, lb, u->host, rb,
                   (unsigned)u->port);
    return 0;
}

void tt__url_cleanup(struct tt__url *u)
{
    if (u) {
        tt__free(u->target);
        u->target = NULL;
    }
}
