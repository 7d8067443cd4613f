/* SPDX-License-Identifier: MIT */
/* The transport flags `tether get` and `tether load` share, with curl's names and syntax:
 * -L/--location, --location-trusted, --max-redirs N, --compressed, --resolve HOST:PORT:ADDR,
 * -x/--proxy URL and
 * --noproxy LIST, and the proxy environment variables curl reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "tether/client.h"

#include "util/hostport.h"
#include "util/str.h"

#include "args.h"
#include "fetch_flags.h"

/* --resolve HOST:PORT:ADDR[,ADDR...] (curl's syntax; each address becomes an entry, dialled in
 * order when a connect fails; an IPv6 one may be bracketed; a leading '+' is accepted as curl
 * does). Returns 0 or 2 (printed). */
static int transport_take_resolve(struct args_cursor *c, struct fetch_flags *f)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    static const char hint[] = " (expected HOST:PORT:ADDRESS, e.g. example.com:443:127.0.0.1)";
    const char *s = v[0] == '+' ? v + 1 : v;
    const char *c1 = strchr(s, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || c1 == s || c2 == c1 + 1) {
        return args_bad_value(c, "resolve entry", hint);
    }
    uint16_t port;
    struct ttx_slice ps = {c1 + 1, (size_t)(c2 - c1 - 1)};
    if (ttx_parse_port(ps, &port) != 0 || port == 0) {
        return args_bad_value(c, "resolve entry", " (the port must be 1 to 65535)");
    }
    size_t hlen = (size_t)(c1 - s);
    const char *a = c2 + 1;
    do {
        size_t alen = strcspn(a, ",");
        const char *next = a[alen] == ',' ? a + alen + 1 : NULL;
        if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
            a++;
            alen -= 2;
        }
        if (f->nresolve >= FETCH_MAX_RESOLVE) {
            return args_bad_value(c, "resolve entry", " (at most 16 addresses in all)");
        }
        char *store = f->resolve_store[f->nresolve];
        if (hlen + 1 + alen + 1 > sizeof(f->resolve_store[0])) {
            return args_bad_value(c, "resolve entry", " (too long)");
        }
        memcpy(store, s, hlen);
        store[hlen] = '\0';
        memcpy(store + hlen + 1, a, alen);
        store[hlen + 1 + alen] = '\0';
        unsigned char buf[16];
        const char *addr = store + hlen + 1;
        if (uv_inet_pton(AF_INET, addr, buf) != 0 && uv_inet_pton(AF_INET6, addr, buf) != 0) {
            return args_bad_value(c, "resolve entry",
                                  " (each address must be an IPv4 or IPv6 literal)");
        }
        struct tether_resolve *r = &f->resolve[f->nresolve++];
        r->host = store;
        r->port = port;
        r->address = addr;
        a = next;
    } while (a);
    return 0;
}

int fetch_transport_take(struct args_cursor *c, struct fetch_flags *f, bool *taken)
{
    *taken = true;
    if (args_is(c, "-L") || args_is(c, "--location")) {
        f->location = true;
        return args_take_none(c);
    }
    if (args_is(c, "--location-trusted")) {
        f->location = true;
        f->location_trusted = true;
        return args_take_none(c);
    }
    if (args_is(c, "--max-redirs")) {
        f->max_redirs_set = true;
        return args_take_uint(c, 0, 1000, &f->max_redirs);
    }
    if (args_is(c, "--compressed")) {
        f->compressed = true;
        return args_take_none(c);
    }
    if (args_is(c, "--resolve")) {
        return transport_take_resolve(c, f);
    }
    if (args_is(c, "-x") || args_is(c, "--proxy")) {
        f->proxy_set = true;
        return args_take_string(c, &f->proxy); /* the client names what is wrong with it */
    }
    if (args_is(c, "--noproxy")) {
        f->noproxy_set = true;
        return args_take_string(c, &f->noproxy);
    }
    *taken = false;
    return 0;
}

/* The first of the variables that is set and not empty, or NULL. */
static const char *transport_env(const char *a, const char *b)
{
    const char *v = getenv(a);
    if ((!v || !v[0]) && b) {
        v = getenv(b);
    }
    return v && v[0] ? v : NULL;
}

void fetch_transport_client(const struct fetch_flags *f, struct tether_client_options *o)
{
    o->resolve = f->nresolve ? f->resolve : NULL;
    o->nresolve = f->nresolve;
    if (f->proxy_set) {
        o->proxy = f->proxy;
    } else if (f->url && ttx_prefix_nocase(f->url, "https://")) {
        o->proxy = transport_env("https_proxy", "HTTPS_PROXY");
    } else {
        /* Lower case only: a CGI program gets the request's "Proxy:" header as HTTP_PROXY
         * (httpoxy), so curl ignores the upper-case name for http://. */
        o->proxy = transport_env("http_proxy", NULL);
    }
    if (!f->proxy_set && !o->proxy) {
        o->proxy = transport_env("all_proxy", "ALL_PROXY");
    }
    o->no_proxy = f->noproxy_set ? f->noproxy : transport_env("no_proxy", "NO_PROXY");
}

void fetch_transport_request(const struct fetch_flags *f, struct tether_fetch_options *fo)
{
    if (f->location) {
        fo->max_redirects =
            f->max_redirs_set ? (unsigned)f->max_redirs : (unsigned)FETCH_DEFAULT_MAX_REDIRS;
    }
    fo->redirect_trusted = f->location_trusted;
    fo->decompress = f->compressed;
}
