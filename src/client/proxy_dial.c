/* SPDX-License-Identifier: MIT */
/* Reaching origins through an HTTP proxy, as curl's -x does: http:// requests go to the proxy
 * in absolute form over connections pooled per proxy; https:// requests open a CONNECT tunnel
 * to the origin and run TLS through it with the origin's name (SNI and verification). The
 * proxy's own refusal of a tunnel is a failure that names its status, never retried. */
#include <stdio.h>
#include <string.h>

#include "tether/http.h"

#include "client/client_int.h"
#include "util/hostport.h"
#include "util/str.h"

/* curl's default proxy port. */
#define PROXY_DEFAULT_PORT 1080u

/* ---- configuration ---- */

static int proxy_hex(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    ch = ttx_lower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes `len` bytes of user info into `out` (curl decodes proxy credentials too). */
static bool proxy_unescape(const char *s, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '%' && i + 2 < len) {
            int hi = proxy_hex(s[i + 1]);
            int lo = proxy_hex(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                ch = (char)(hi * 16 + lo);
                i += 2;
            }
        }
        if (n + 1 >= cap) {
            return false;
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    *out_len = n;
    return true;
}

static void proxy_base64(const unsigned char *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        v |= i + 1 < len ? (unsigned)in[i + 1] << 8 : 0u;
        v |= i + 2 < len ? (unsigned)in[i + 2] : 0u;
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

/* "[http://][user:pass@]host[:port][/]" into p; `why` names what is wrong. */
static int proxy_parse(const char *url, struct tt__proxy *p, const char **why)
{
    const char *s = url;
    if (ttx_prefix_nocase(s, "http://")) {
        s += 7;
    } else if (strstr(s, "://")) {
        *why = "only http:// proxies are supported";
        return TETHER_EINVAL;
    }
    size_t len = strcspn(s, "/?#");
    if (s[len] && strcmp(s + len, "/") != 0) {
        *why = "a proxy URL has no path";
        return TETHER_EINVAL;
    }
    const char *at = memchr(s, '@', len);
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        size_t ulen = colon ? (size_t)(colon - s) : (size_t)(at - s);
        char user[192];
        char pass[192];
        char both[400];
        size_t un = 0;
        size_t pn = 0;
        if (!proxy_unescape(s, ulen, user, sizeof(user), &un) ||
            !proxy_unescape(colon ? colon + 1 : at, colon ? (size_t)(at - colon - 1) : 0, pass,
                            sizeof(pass), &pn)) {
            *why = "user name or password too long";
            return TETHER_EINVAL;
        }
        int n = snprintf(both, sizeof(both), "%s:%s", user, pass);
        memcpy(p->auth, "Basic ", 6);
        proxy_base64((const unsigned char *)both, (size_t)n, p->auth + 6);
        len -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    struct ttx_hostport hp;
    if (len == 0 || ttx_hostport_split(s, len, &hp) != TTX_HOSTPORT_OK || hp.host.len == 0 ||
        hp.host.len >= sizeof(p->host)) {
        *why = "expected [http://][USER:PASSWORD@]HOST[:PORT]";
        return TETHER_EINVAL;
    }
    for (size_t i = 0; i < hp.host.len; i++) {
        char ch = hp.host.ptr[i];
        if ((unsigned char)ch <= 0x20 || (unsigned char)ch >= 0x7f || strchr("\"<>\\^`{|}", ch)) {
            *why = "bad character in the host";
            return TETHER_EINVAL;
        }
        p->host[i] = ttx_lower(ch);
    }
    p->host[hp.host.len] = '\0';
    p->port = PROXY_DEFAULT_PORT;
    if (hp.has_port && hp.port.len > 0 && (ttx_parse_port(hp.port, &p->port) != 0 || !p->port)) {
        *why = "the port must be 1 to 65535";
        return TETHER_EINVAL;
    }
    bool v6 = strchr(p->host, ':') != NULL;
    (void)snprintf(p->name, sizeof(p->name), "%s%s%s:%u", v6 ? "[" : "", p->host, v6 ? "]" : "",
                   (unsigned)p->port);
    return 0;
}

int tt__proxy_config(struct tether_client *c, const struct tether_client_options *o)
{
    if (!o->proxy || !o->proxy[0]) {
        return 0; /* "" is no proxy, as curl's -x "" */
    }
    struct tt__proxy *p = tt__calloc(1, sizeof(*p));
    if (!p) {
        return TETHER_ENOMEM;
    }
    const char *why = NULL;
    int rv = proxy_parse(o->proxy, p, &why);
    if (rv == 0 && o->no_proxy && o->no_proxy[0]) {
        p->no_proxy = tt__strndup(o->no_proxy, strlen(o->no_proxy));
        rv = p->no_proxy ? 0 : TETHER_ENOMEM;
    }
    if (rv != 0) {
        if (why) {
            tt__errbuf_set(o->errbuf, o->errbuf_len, "invalid proxy '%s': %s", o->proxy, why);
        }
        tt__proxy_free(p);
        return rv;
    }
    c->proxy = p;
    return 0;
}

void tt__proxy_free(struct tt__proxy *p)
{
    if (p) {
        tt__free(p->no_proxy);
        tt__free(p);
    }
}

/* ---- which requests go through it ---- */

/* "ADDR/BITS" (curl 7.86's CIDR entries) against a host that is an IP literal of the same
 * family. */
static bool proxy_cidr_match(struct ttx_slice e, const char *host)
{
    const char *slash = memchr(e.ptr, '/', e.len);
    char addr[64];
    size_t alen = (size_t)(slash - e.ptr);
    uint64_t bits;
    if (alen == 0 || alen >= sizeof(addr) ||
        ttx_parse_u64(slash + 1, e.len - alen - 1, &bits) != 0) {
        return false;
    }
    memcpy(addr, e.ptr, alen);
    addr[alen] = '\0';
    unsigned char net[16];
    unsigned char ip[16];
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    size_t size = family == AF_INET6 ? 16 : 4;
    if (bits > size * 8 || uv_inet_pton(family, addr, net) != 0 ||
        uv_inet_pton(family, host, ip) != 0) {
        return false;
    }
    for (size_t i = 0; i < size && bits > 0; i++) {
        unsigned take = bits >= 8 ? 8u : (unsigned)bits;
        unsigned mask = (0xffu << (8 - take)) & 0xffu;
        if ((net[i] & mask) != (ip[i] & mask)) {
            return false;
        }
        bits -= take;
    }
    return true;
}

bool tt__no_proxy_match(const char *list, const char *host)
{
    size_t hlen = strlen(host);
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        struct ttx_slice e = ttx_trim_ows(p, n);
        p += n + (p[n] == ',');
        if (e.len >= 2 && e.ptr[0] == '[' && e.ptr[e.len - 1] == ']') {
            e.ptr++; /* "[::1]" names the address ::1 */
            e.len -= 2;
        }
        if (e.len == 1 && e.ptr[0] == '*') {
            return true;
        }
        if (memchr(e.ptr, '/', e.len)) {
            if (proxy_cidr_match(e, host)) {
                return true;
            }
            continue;
        }
        if (e.len > 0 && e.ptr[0] == '.') {
            e.ptr++; /* ".example.com" and "example.com" mean the same (curl 7.86) */
            e.len--;
        }
        if (e.len == 0 || e.len > hlen) {
            continue;
        }
        /* The whole name, or a suffix that starts at a label. */
        const char *tail = host + hlen - e.len;
        if (ttx_mem_eq_nocase(e.ptr, e.len, tail) && (tail == host || tail[-1] == '.')) {
            return true;
        }
    }
    return false;
}

enum tt__via tt__proxy_via(const struct tether_client *c, const struct tt__url *u)
{
    if (!c->proxy || (c->proxy->no_proxy && tt__no_proxy_match(c->proxy->no_proxy, u->host))) {
        return TT__VIA_DIRECT;
    }
    return u->tls ? TT__VIA_TUNNEL : TT__VIA_FORWARD;
}

void tt__proxy_origin_key(const struct tether_client *c, const struct tt__url *u, enum tt__via via,
                          char *key, size_t cap)
{
    switch (via) {
    case TT__VIA_FORWARD:
        /* Every http:// origin shares the connections to the proxy. */
        (void)snprintf(key, cap, "http://%s (proxy)", c->proxy->name);
        break;
    case TT__VIA_TUNNEL:
        (void)snprintf(key, cap, "%s via %s", u->origin, c->proxy->name);
        break;
    case TT__VIA_DIRECT:
    default: {
        /* Per request: a copy, not snprintf. */
        size_t n = strlen(u->origin);
        if (cap == 0) {
            break;
        }
        n = n < cap ? n : cap - 1;
        memcpy(key, u->origin, n);
        key[n] = '\0';
        break;
    }
    }
}

/* ---- CONNECT ---- */

static void proxy_fail(struct tt__cli_conn *c, int code, enum tether_phase phase, const char *what)
{
    struct tether_failure fail;
    tether_failure_init(&fail);
    fail.code = code;
    fail.phase = phase;
    fail.origin = TETHER_ORIGIN_HTTP;
    (void)snprintf(fail.detail, sizeof(fail.detail), "%s", what);
    fail.bytes_received = c->stream.bytes_read - c->read_base;
    c->tunnel_pending = false;
    tt__cli_conn_fail(c, &fail, true);
}

static void proxy_tls_done(struct tt__stream *s, int status)
{
    struct tt__cli_conn *c = tt__container_of(s, struct tt__cli_conn, stream);
    if (status == TETHER_ECANCELED || c->state != TT__CLI_CONN_CONNECTING) {
        return; /* our own close */
    }
    uv_timer_stop(&c->timer);
    if (status != 0) {
        struct tether_failure fail;
        tt__stream_failure(s, &fail);
        if (fail.code == 0) {
            fail.code = status;
        }
        fail.phase = TETHER_PHASE_TLS;
        tt__cli_conn_fail(c, &fail, false);
        return;
    }
    if (c->owner) {
        tt__fetch_conn_ready(c->owner, c);
    }
}

static void proxy_read_cb(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct tt__cli_conn *c = tt__container_of(s, struct tt__cli_conn, stream);
    struct tether_fetch *f = c->owner;
    if (!c->tunnel_pending || !f) {
        return;
    }
    if (status != 0) {
        struct tether_failure fail;
        tt__stream_failure(s, &fail);
        fail.code = status == TETHER_EEOF ? TETHER_EHANGUP : (fail.code ? fail.code : status);
        fail.phase = TETHER_PHASE_CONNECT;
        (void)snprintf(fail.detail, sizeof(fail.detail),
                       "the proxy %.200s closed before answering CONNECT", c->client->proxy->name);
        c->tunnel_pending = false;
        tt__cli_conn_fail(c, &fail, false);
        return;
    }
    if (tt__buf_append(&c->in, data, len) != 0) {
        proxy_fail(c, TETHER_EHTTP, TETHER_PHASE_CONNECT,
                   "the proxy's answer to CONNECT is too large");
        return;
    }
    int rv = tt__h1_parse_response(&c->parser, c->in.data, c->in.len, &c->head, "CONNECT");
    if (rv == TETHER_EAGAIN) {
        return;
    }
    char what[200];
    if (rv < 0) {
        (void)snprintf(what, sizeof(what), "bad answer from the proxy to CONNECT: %s",
                       tt__h1_err_message(c->parser.error));
        proxy_fail(c, TETHER_EHTTP, TETHER_PHASE_CONNECT, what);
        return;
    }
    if (c->head.status < 200 || c->head.status > 299) {
        /* The proxy refused the tunnel (403, 407, 502...): its answer is not the origin's, so
         * it is reported as a failure naming the status and not retried (curl: "CONNECT tunnel
         * failed, response 403"). */
        (void)snprintf(what, sizeof(what), "CONNECT tunnel failed, response %d %s", c->head.status,
                       tether_http_reason(c->head.status));
        proxy_fail(c, TETHER_EHTTP, TETHER_PHASE_CONNECT, what);
        return;
    }
    if ((size_t)rv != c->in.len) {
        proxy_fail(c, TETHER_EHTTP, TETHER_PHASE_CONNECT,
                   "the proxy sent bytes after its answer to CONNECT");
        return;
    }
    c->tunnel_pending = false;
    tt__stream_read_stop(&c->stream);
    tt__buf_reset(&c->in);
    tt__h1_parser_reset(&c->parser);
    uv_timer_stop(&c->timer);
    const struct tether_policy *p = &c->client->policy;
    rv = tt__stream_start_tls_client(&c->stream, c->client->tls, f->url.host, p->tls_timeout_ms,
                                     proxy_tls_done);
    if (rv != 0) {
        proxy_fail(c, rv, TETHER_PHASE_TLS, "cannot start TLS through the tunnel");
    }
}

void tt__proxy_tunnel_start(struct tt__cli_conn *c)
{
    struct tether_fetch *f = c->owner;
    const struct tt__proxy *p = c->client->proxy;
    const char *lb = f->url.ipv6 ? "[" : "";
    const char *rb = f->url.ipv6 ? "]" : "";
    struct tt__buf req;
    tt__buf_init(&req, SIZE_MAX);
    int rv =
        tt__buf_appendf(&req, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n", lb, f->url.host,
                        rb, (unsigned)f->url.port, lb, f->url.host, rb, (unsigned)f->url.port);
    if (rv == 0 && p->auth[0]) {
        rv = tt__buf_appendf(&req, "Proxy-Authorization: %s\r\n", p->auth);
    }
    rv = rv ? rv : tt__buf_appendf(&req, "User-Agent: %s\r\n\r\n", c->client->user_agent);
    c->read_base = c->stream.bytes_read;
    tt__buf_reset(&c->in);
    tt__h1_parser_reset(&c->parser);
    memset(&c->head, 0, sizeof(c->head));
    c->head.fields = c->fields;
    c->head.fields_cap = tt__countof(c->fields);
    c->tunnel_pending = true;
    rv = rv ? rv : tt__stream_write(&c->stream, req.data, req.len, NULL, NULL);
    tt__buf_cleanup(&req);
    rv = rv ? rv : tt__stream_read_start(&c->stream, proxy_read_cb);
    if (rv != 0) {
        proxy_fail(c, rv, TETHER_PHASE_CONNECT, "cannot send CONNECT to the proxy");
        return;
    }
    tt__debug(c->client, TT__DEBUG_NET, "CONNECT %s%s%s:%u through %s", lb, f->url.host, rb,
              (unsigned)f->url.port, p->name);
    /* The answer is a response head: the headers timeout bounds it (conn_timer_cb). */
    tt__cli_conn_arm_timer(c, c->client->policy.headers_timeout_ms);
}
