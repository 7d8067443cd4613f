/* SPDX-License-Identifier: MIT */
/* The doctor's options, names, URL and the blocking convenience call: the parts of the API that
 * need no running probe. */
#include <stdio.h>
#include <string.h>

#include "doctor/doctor_int.h"
#include "internal.h"
#include "tether/error.h"
#include "util/hostport.h"
#include "util/str.h"

void tether_doctor_options_init(struct tether_doctor_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_idle_ms = 125000;
    o->connections = 3;
    o->max_requests = 100;
    o->probe_timeout_ms = 5000;
    o->connect_timeout_ms = 10000;
}

const char *tether_doctor_close_name(enum tether_doctor_close how)
{
    static const char *const names[] = {"none", "fin", "rst", "error"};
    return (unsigned)how < tt__countof(names) ? names[how] : "?";
}

const char *tether_doctor_probe_name(enum tether_doctor_probe_outcome o)
{
    static const char *const names[] = {"ok", "rst", "fin", "timeout", "closed_early", "error"};
    return (unsigned)o < tt__countof(names) ? names[o] : "?";
}

/* http://HOST[:PORT][/PATH]: fills host, port, path. */
int tt__doctor_parse_url(const char *url, struct tether_doctor_result *r, char *errbuf,
                         size_t errlen)
{
    const char *rest;
    if (ttx_prefix_nocase(url, "http://")) {
        rest = url + 7;
    } else if (ttx_prefix_nocase(url, "https://")) {
        rest = url + 8;
        r->tls = true;
    } else {
        (void)snprintf(errbuf, errlen, "URL must start with http:// or https://: '%s'", url);
        return TETHER_EINVAL;
    }
    size_t alen = strcspn(rest, "/?#");
    struct ttx_hostport hp;
    if (memchr(rest, '@', alen) || ttx_hostport_split(rest, alen, &hp) != TTX_HOSTPORT_OK ||
        hp.host.len == 0 || hp.host.len >= sizeof(r->host)) {
        (void)snprintf(errbuf, errlen, "bad host in URL '%s'", url);
        return TETHER_EINVAL;
    }
    memcpy(r->host, hp.host.ptr, hp.host.len);
    r->host[hp.host.len] = '\0';
    r->port = r->tls ? 443 : 80;
    if (hp.has_port && (ttx_parse_port(hp.port, &r->port) != 0 || r->port == 0)) {
        (void)snprintf(errbuf, errlen, "bad port in URL '%s'", url);
        return TETHER_EINVAL;
    }
    const char *path = rest + alen;
    size_t plen = strcspn(path, "#");
    if (plen == 0) {
        path = "/";
        plen = 1;
    } else if (path[0] == '?') {
        (void)snprintf(r->path, sizeof(r->path), "/%.*s", (int)plen, path);
        return 0;
    }
    if (plen >= sizeof(r->path)) {
        (void)snprintf(errbuf, errlen, "URL path is longer than %zu bytes", sizeof(r->path) - 1);
        return TETHER_EINVAL;
    }
    for (size_t i = 0; i < plen; i++) {
        if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f) {
            (void)snprintf(errbuf, errlen, "URL has a space or control byte: '%s'", url);
            return TETHER_EINVAL;
        }
    }
    memcpy(r->path, path, plen);
    r->path[plen] = '\0';
    return 0;
}

static void doctor_run_done(struct tether_doctor *d, void *arg)
{
    (void)d;
    *(bool *)arg = true;
}

int tether_doctor_run(const struct tether_doctor_options *o, struct tether_doctor_result *out,
                      char *errbuf, size_t errlen)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        (void)snprintf(errbuf, errlen, "cannot create an event loop");
        return TETHER_ENOMEM;
    }
    struct tether_doctor *d = NULL;
    bool done = false;
    int rv = tether_doctor_start(&loop, o, doctor_run_done, &done, &d, errbuf, errlen);
    if (rv == 0) {
        (void)uv_run(&loop, UV_RUN_DEFAULT);
        *out = *tether_doctor_result(d);
        const char *why = tether_doctor_error(d);
        if (why) {
            (void)snprintf(errbuf, errlen, "%s", why);
            rv = TETHER_EIO;
        }
        tether_doctor_free(d);
    }
    (void)uv_loop_close(&loop);
    return rv;
}
