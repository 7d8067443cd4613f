/* SPDX-License-Identifier: MIT */
/* What went over the wire for one fetch: the request head as sent, the final response head as
 * received, the peer, the TLS session and the times, for traces such as curl's -v and -w. */
#include <string.h>

#include "client/client_int.h"

void tt__fetch_info_connected(struct tether_fetch *f, struct tt__cli_conn *c)
{
    f->connects++;
    f->connect_ns = uv_hrtime();
    memcpy(f->remote, c->stream.peer, sizeof(f->remote));
    f->remote[sizeof(f->remote) - 1] = '\0';

    struct tether_event ev;
    struct tt__tls_info tls;
    tt__fetch_event_init(&ev, TETHER_EVENT_CONNECTED, f);
    ev.peer = f->remote;
    if (tt__stream_tls_info(&c->stream, &tls)) {
        ev.tls_version = tls.version;
        ev.tls_cipher = tls.cipher;
        ev.tls_subject = tls.subject;
        ev.tls_issuer = tls.issuer;
    }
    tt__client_emit(f->client, &ev);
}

void tt__fetch_info_reused(struct tether_fetch *f, struct tt__cli_conn *c)
{
    memcpy(f->remote, c->stream.peer, sizeof(f->remote));
    f->remote[sizeof(f->remote) - 1] = '\0';
}

int tt__fetch_info_head(struct tether_fetch *f, const char *head, size_t len)
{
    /* Empty lines before a status line are tolerated by the parser, not part of the head. */
    while (len > 0 && (*head == '\r' || *head == '\n')) {
        head++;
        len--;
    }
    f->first_byte_ns = uv_hrtime();
    tt__buf_reset(&f->raw_head);
    return tt__buf_append(&f->raw_head, head, len);
}

const char *tether_fetch_request_head(const tether_fetch *f, size_t *len)
{
    if (len) {
        *len = f ? f->req_head_len : 0;
    }
    return f && f->req.data ? f->req.data : "";
}

const char *tether_fetch_response_head(const tether_fetch *f, size_t *len)
{
    bool have = f && f->raw_head.len > 0;
    if (len) {
        *len = have ? f->raw_head.len : 0;
    }
    return have ? f->raw_head.data : NULL;
}

const char *tether_fetch_remote(const tether_fetch *f)
{
    return f ? f->remote : "";
}

static uint64_t fetch_info_since(const struct tether_fetch *f, uint64_t at_ns)
{
    return at_ns > f->started_ns ? (at_ns - f->started_ns) / 1000u : 0;
}

void tether_fetch_timing(const tether_fetch *f, struct tether_fetch_timing *out)
{
    memset(out, 0, sizeof(*out));
    if (!f) {
        return;
    }
    out->connect_us = f->connect_ns ? fetch_info_since(f, f->connect_ns) : 0;
    out->first_byte_us = f->first_byte_ns ? fetch_info_since(f, f->first_byte_ns) : 0;
    out->total_us = fetch_info_since(f, f->finished_ns ? f->finished_ns : uv_hrtime());
    out->connects = f->connects;
}
