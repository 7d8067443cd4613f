/* SPDX-License-Identifier: MIT */
/* Building a fetch's request bytes: the head (user headers, the defaults, the target in origin
 * or absolute form for a forward proxy) and the body, written once per hop so every attempt,
 * replay and retry sends the same bytes. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "util/str.h"

static bool request_method_has_body(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

static void request_field(struct tt__h1_field *fl, const char *name, const char *value)
{
    fl->name.ptr = name;
    fl->name.len = strlen(name);
    fl->value.ptr = value;
    fl->value.len = strlen(value);
}

/* Writes the head and body once; every attempt (of a hop) sends the same bytes. */
int tt__fetch_build(struct tether_fetch *f, const struct tether_fetch_options *o,
                    const char *user_agent)
{
    size_t max = o->nheaders + 8;
    struct tt__h1_field *fields = tt__calloc(max, sizeof(*fields));
    if (!fields) {
        return TETHER_ENOMEM;
    }
    char clen[24];
    bool has_host = false;
    bool has_ua = false;
    bool has_ae = false;
    bool has_key_field = false;
    size_t n = 0;
    int rv = 0;
    for (size_t i = 0; i < o->nheaders; i++) {
        const char *name = o->headers[i].name;
        const char *value = o->headers[i].value;
        if (!name || !value) {
            tt__errbuf_set(o->errbuf, o->errbuf_len, "header %zu has no %s", i,
                           name ? "value" : "name");
            rv = TETHER_EINVAL;
            goto out;
        }
        if (!tt__h1_is_token(name, strlen(name))) {
            tt__errbuf_set(o->errbuf, o->errbuf_len, "invalid header name '%s': not a token", name);
            rv = TETHER_EINVAL;
            goto out;
        }
        if (!tt__h1_is_field_value(value, strlen(value))) {
            tt__errbuf_set(o->errbuf, o->errbuf_len,
                           "invalid value for header '%s': CR, LF or another control byte", name);
            rv = TETHER_EINVAL;
            goto out;
        }
        /* Framing belongs to the client: a user value could contradict the body it sends. */
        if (ttx_str_eq_nocase(name, "content-length") ||
            ttx_str_eq_nocase(name, "transfer-encoding")) {
            tt__errbuf_set(o->errbuf, o->errbuf_len,
                           "header '%s' is set by the client from the body it sends", name);
            rv = TETHER_EINVAL;
            goto out;
        }
        has_host |= ttx_str_eq_nocase(name, "host");
        has_ua |= ttx_str_eq_nocase(name, "user-agent");
        has_ae |= ttx_str_eq_nocase(name, "accept-encoding");
        if (ttx_str_eq_nocase(name, "idempotency-key") ||
            ttx_str_eq_nocase(name, "x-idempotency-key")) {
            has_key_field = true;
        }
        request_field(&fields[n++], name, value);
    }
    if (!has_host) {
        request_field(&fields[n++], "Host", f->url.host_header);
    }
    if (!has_ua) {
        request_field(&fields[n++], "User-Agent", user_agent);
    }
    if (f->decompress && !has_ae) {
        request_field(&fields[n++], "Accept-Encoding", "gzip, deflate"); /* curl --compressed */
    }
    if (o->body_stream && o->body_stream_length == TETHER_BODY_LENGTH_UNKNOWN) {
        request_field(&fields[n++], "Transfer-Encoding", "chunked");
    } else if (o->body_stream) {
        (void)snprintf(clen, sizeof(clen), "%llu", (unsigned long long)o->body_stream_length);
        request_field(&fields[n++], "Content-Length", clen);
    } else if (o->body_len > 0 || request_method_has_body(f->method)) {
        (void)snprintf(clen, sizeof(clen), "%zu", o->body_len);
        request_field(&fields[n++], "Content-Length", clen);
    }
    if (o->idempotency_key && o->idempotency_key[0]) {
        if (!has_key_field) {
            request_field(&fields[n++], "Idempotency-Key", o->idempotency_key);
        }
        has_key_field = true;
    }
    if (!f->client->policy.keep_alive) {
        request_field(&fields[n++], "Connection", "close");
    }
    f->has_key = has_key_field;
    char *absolute = NULL; /* the target in absolute form, for a forward proxy */
    f->via = tt__proxy_via(f->client, &f->url);
    if (f->via == TT__VIA_FORWARD) {
        size_t len = strlen(f->url.host_header) + strlen(f->url.target) + 8;
        absolute = tt__malloc(len);
        if (!absolute) {
            rv = TETHER_ENOMEM;
            goto out;
        }
        (void)snprintf(absolute, len, "http://%s%s", f->url.host_header, f->url.target);
        if (f->client->proxy->auth[0]) {
            request_field(&fields[n++], "Proxy-Authorization", f->client->proxy->auth);
        }
    }
    rv = tt__h1_write_request_head(&f->req, f->method, absolute ? absolute : f->url.target, fields,
                                   n);
    tt__free(absolute);
    f->req_head_len = f->req.len;
    if (rv == 0 && o->body_len > 0) {
        rv = tt__buf_append(&f->req, o->body, o->body_len);
    }
out:
    tt__free(fields);
    return rv;
}
