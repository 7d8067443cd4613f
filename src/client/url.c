/* SPDX-License-Identifier: MIT */
/* Absolute http(s) URL parsing into what a request needs: origin key, Host field, target. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "util/hostport.h"
#include "util/str.h"

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

/* Room for a reason that quotes the bad part of the URL. */
struct url_why {
    const char *text;
    char buf[256];
};

static int url_parse(const char *url, struct tt__url *u, struct url_why *why);

/* The Host field and the origin are built by copying: room for brackets, a 255-byte host, the
 * scheme and ":65535". */
_Static_assert(sizeof(((struct tt__url *)0)->host) == 256, "hosts are at most 255 bytes");
_Static_assert(sizeof(((struct tt__url *)0)->host_header) >= 2 + 255 + 6 + 1, "Host field room");
_Static_assert(sizeof(((struct tt__url *)0)->origin) >= 8 + 2 + 255 + 6 + 1, "origin room");

/* ":PORT" with its NUL into `out` (8 bytes); returns its length without the NUL. */
static size_t url_format_port(uint16_t port, char out[8])
{
    char digits[5];
    size_t nd = 0;
    unsigned v = port;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = 0;
    out[n++] = ':';
    while (nd) {
        out[n++] = digits[--nd];
    }
    out[n] = '\0';
    return n;
}

/* host[:port] or [v6][:port] from auth[0..len); `why` names what is wrong. */
static int url_parse_authority(const char *auth, size_t len, struct tt__url *u, struct url_why *why)
{
    struct ttx_hostport hp;
    if (len == 0) {
        why->text = "no host";
        return TETHER_EINVAL;
    }
    if (memchr(auth, '@', len)) {
        const char *at = memchr(auth, '@', len);
        (void)snprintf(why->buf, sizeof(why->buf),
                       "user info '%.*s@' is not allowed (credentials in URLs leak into logs; "
                       "send them in an Authorization header)",
                       (int)((size_t)(at - auth) > 64 ? 64 : (size_t)(at - auth)), auth);
        why->text = why->buf;
        return TETHER_EINVAL;
    }
    enum ttx_hostport_err e = ttx_hostport_split(auth, len, &hp);
    if (e != TTX_HOSTPORT_OK) {
        why->text = e == TTX_HOSTPORT_TOO_MANY_COLONS ? "an IPv6 address needs brackets"
                                                      : "bad brackets around the host";
        return TETHER_EINVAL;
    }
    bool (*ok)(char) = hp.bracketed ? url_v6_char : url_host_char;
    for (size_t i = 0; i < hp.host.len; i++) {
        if (!ok(hp.host.ptr[i])) {
            why->text = "bad character in the host";
            return TETHER_EINVAL;
        }
    }
    if (hp.bracketed && (hp.host.len < 2 || !memchr(hp.host.ptr, ':', hp.host.len))) {
        why->text = "not an IPv6 address in brackets";
        return TETHER_EINVAL;
    }
    if (hp.host.len == 0 || hp.host.len >= sizeof(u->host)) {
        why->text = hp.host.len == 0 ? "no host" : "host name too long";
        return TETHER_EINVAL;
    }
    u->ipv6 = hp.bracketed;
    for (size_t i = 0; i < hp.host.len; i++) {
        u->host[i] = ttx_lower(hp.host.ptr[i]);
    }
    u->host[hp.host.len] = '\0';
    u->port = u->tls ? 443 : 80;
    /* "http://host:/" means the default port (RFC 3986 §3.2.3). */
    if (hp.has_port && hp.port.len > 0) {
        uint16_t port;
        int prv = ttx_parse_port(hp.port, &port);
        if (prv != 0 || port == 0) {
            /* Say which: "port 70000 is out of range", "port 'http' is not a number". */
            bool digits = hp.port.len > 0;
            for (size_t i = 0; i < hp.port.len; i++) {
                digits = digits && ttx_is_digit(hp.port.ptr[i]);
            }
            int plen = (int)(hp.port.len > 32 ? 32 : hp.port.len);
            if (digits) {
                (void)snprintf(why->buf, sizeof(why->buf),
                               "port %.*s is out of range: the port must be 1 to 65535", plen,
                               hp.port.ptr);
            } else {
                (void)snprintf(why->buf, sizeof(why->buf),
                               "port '%.*s' is not a number: the port must be 1 to 65535", plen,
                               hp.port.ptr);
            }
            why->text = why->buf;
            return TETHER_EINVAL;
        }
        u->port = port;
    }
    return 0;
}

int tt__url_parse(const char *url, struct tt__url *u, char *err, size_t err_len)
{
    struct url_why why = {NULL, ""};
    int rv = url_parse(url, u, &why);
    if (rv == TETHER_EINVAL && err && err_len > 0) {
        (void)snprintf(err, err_len, "invalid URL '%s': %s", url ? url : "(null)",
                       why.text ? why.text : "not an http:// or https:// URL");
    }
    return rv;
}

static int url_parse(const char *url, struct tt__url *u, struct url_why *why)
{
    if (!url || !u) {
        return TETHER_EINVAL;
    }
    memset(u, 0, sizeof(*u));
    const char *p;
    if (ttx_prefix_nocase(url, "http://")) {
        p = url + 7;
    } else if (ttx_prefix_nocase(url, "https://")) {
        u->tls = true;
        p = url + 8;
    } else {
        /* Name the problem: no scheme at all ("example.com/x") or one we do not speak. */
        size_t scheme_len = strcspn(url, ":/?#@");
        if (url[scheme_len] == ':' && url[scheme_len + 1] == '/' && url[scheme_len + 2] == '/' &&
            scheme_len > 0) {
            (void)snprintf(why->buf, sizeof(why->buf),
                           "scheme '%.*s' is not supported: use http:// or https://",
                           (int)(scheme_len > 32 ? 32 : scheme_len), url);
        } else {
            (void)snprintf(why->buf, sizeof(why->buf),
                           "missing scheme: write http://%.100s or https://%.100s", url, url);
        }
        why->text = why->buf;
        return TETHER_EINVAL;
    }
    size_t auth_len = strcspn(p, "/?#");
    int rv = url_parse_authority(p, auth_len, u, why);
    if (rv != 0) {
        return rv;
    }
    const char *t = p + auth_len;
    size_t t_len = strcspn(t, "#"); /* the fragment stays with the client */
    for (size_t i = 0; i < t_len; i++) {
        if (!url_target_char(t[i])) {
            why->text = "space, control or non-ASCII byte in the path (percent-encode it)";
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

    /* Every request parses its URL, so these are built by copying, not by snprintf (a tenth
     * of `tether load`'s instructions). They always fit: a host has at most 255 bytes. */
    size_t host_len = strlen(u->host);
    char port[8];
    size_t port_len = url_format_port(u->port, port);
    char *h = u->host_header;
    if (u->ipv6) {
        *h++ = '[';
    }
    memcpy(h, u->host, host_len);
    h += host_len;
    if (u->ipv6) {
        *h++ = ']';
    }
    size_t authority_len = (size_t)(h - u->host_header);
    bool default_port = u->port == (u->tls ? 443 : 80);
    if (!default_port) {
        memcpy(h, port, port_len); /* ":8080" */
        h += port_len;
    }
    *h = '\0';
    const char *scheme = u->tls ? "https://" : "http://";
    size_t scheme_len = strlen(scheme);
    memcpy(u->origin, scheme, scheme_len);
    memcpy(u->origin + scheme_len, u->host_header, authority_len);
    memcpy(u->origin + scheme_len + authority_len, port, port_len + 1);
    return 0;
}

void tt__url_cleanup(struct tt__url *u)
{
    if (u) {
        tt__free(u->target);
        u->target = NULL;
    }
}
