/* SPDX-License-Identifier: MIT */
/* Numeric socket addresses to and from the "host:port" text users type and logs show. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net.h"
#include "util/hostport.h"

/* Longer than any numeric IPv6 literal with a zone ("%" + interface name). */
#define ADDR_HOST_MAX 64

int tt__addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    int n;
    if (!buf || len == 0) {
        return TETHER_EINVAL;
    }
    buf[0] = '\0';
    if (!sa) {
        return TETHER_EINVAL;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        if (!inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host))) {
            return TETHER_EINVAL;
        }
        n = snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host))) {
            return TETHER_EINVAL;
        }
        /* A link-local peer is ambiguous without its interface, so keep the zone index. */
        if (in6->sin6_scope_id) {
            n = snprintf(buf, len, "[%s%%%lu]:%u", host, (unsigned long)in6->sin6_scope_id,
                         (unsigned)ntohs(in6->sin6_port));
        } else {
            n = snprintf(buf, len, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
        }
    } else {
        return TETHER_EINVAL;
    }
    if (n < 0 || (size_t)n >= len) {
        /* A cut address would name another peer; leave nothing rather than a lie. */
        buf[0] = '\0';
        return TETHER_EINVAL;
    }
    return 0;
}

/* A numeric host (or "localhost") of `n` bytes, brackets already removed. `v6_only` is set
 * for bracketed text, where an IPv4 literal would be a typo. */
static int addr_parse_host(const char *p, size_t n, bool v6_only, uint16_t port,
                           struct sockaddr_storage *out)
{
    char host[ADDR_HOST_MAX];
    if (n == 0 || n >= sizeof(host)) {
        return TETHER_EINVAL;
    }
    memcpy(host, p, n);
    host[n] = '\0';
    memset(out, 0, sizeof(*out));
    if (!v6_only && ttx_str_eq_nocase(host, "localhost")) {
        /* The one name we resolve ourselves: every system maps it to loopback, and a blocking
         * getaddrinfo here would stall the loop. */
        memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
    }
    if (!v6_only) {
        struct sockaddr_in *in = (struct sockaddr_in *)(void *)out;
        if (uv_ip4_addr(host, port, in) == 0) {
            return 0;
        }
        memset(out, 0, sizeof(*out));
        return TETHER_EINVAL;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)out;
    if (uv_ip6_addr(host, port, in6) == 0) {
        return 0;
    }
    memset(out, 0, sizeof(*out));
    return TETHER_EINVAL;
}

/* A host written without a port ("8080") is a port alone when it is all digits. */
static bool addr_all_digits(struct ttx_slice t)
{
    for (size_t i = 0; i < t.len; i++) {
        if (!ttx_is_digit(t.ptr[i])) {
            return false;
        }
    }
    return t.len > 0;
}

int tt__addr_parse(const char *text, const char *default_host, struct sockaddr_storage *out)
{
    struct ttx_hostport hp;
    uint16_t port = 0;
    if (!text || !out) {
        return TETHER_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (ttx_hostport_split(text, strlen(text), &hp) != TTX_HOSTPORT_OK) {
        return TETHER_EINVAL; /* "::1:8080" cannot be split safely: IPv6 needs brackets */
    }
    if (!hp.has_port) {
        /* "8080": the port alone, on the caller's default host. */
        if (hp.bracketed || !addr_all_digits(hp.host)) {
            return TETHER_EINVAL;
        }
        hp.port = hp.host;
        hp.host = (struct ttx_slice){text, 0};
    }
    if (ttx_parse_port(hp.port, &port) != 0) {
        return TETHER_EINVAL;
    }
    if (hp.host.len > 0 || hp.bracketed) {
        return addr_parse_host(hp.host.ptr, hp.host.len, hp.bracketed, port, out);
    }
    /* No host given (":8080" or "8080"): use the default, which may be bracketed. */
    if (!default_host || !default_host[0]) {
        return TETHER_EINVAL;
    }
    size_t dl = strlen(default_host);
    if (default_host[0] == '[' && dl >= 2 && default_host[dl - 1] == ']') {
        return addr_parse_host(default_host + 1, dl - 2, true, port, out);
    }
    return addr_parse_host(default_host, dl, strchr(default_host, ':') != NULL, port, out);
}

void tt__addrs_add(struct tt__addrs *out, const struct sockaddr *sa)
{
    if (out->n < TT__ADDRS_MAX) {
        size_t len =
            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        memset(&out->a[out->n], 0, sizeof(out->a[0]));
        memcpy(&out->a[out->n], sa, len);
        out->n++;
    }
}

void tt__addrs_from_gai(const struct addrinfo *res, struct tt__addrs *out)
{
    out->n = 0;
    out->next = 0;
    for (int pass = 0; pass < 2; pass++) {
        int family = pass == 0 ? AF_INET : AF_INET6;
        for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if (ai->ai_family == family) {
                tt__addrs_add(out, ai->ai_addr);
            }
        }
    }
}

const struct sockaddr *tt__addrs_next(struct tt__addrs *a)
{
    if (a->next >= a->n) {
        return NULL;
    }
    return (const struct sockaddr *)&a->a[a->next++];
}
