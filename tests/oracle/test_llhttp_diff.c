/* SPDX-License-Identifier: MIT */
/* Differential test: every valid vector through our parser and llhttp (Node's parser), strict:
 * none of llhttp's lenient flags is set. Built from Debian's node-llhttp sources, tests only. */
#include <llhttp.h>
#include <stdio.h>
#include <string.h>

#include "oracle_diff.h"

/* Valid vectors on which llhttp 8.1's semantics legitimately differ from RFC 9112 and ours. The
 * invalid vectors are not compared: what llhttp refuses is in anchors/server-pool.md §5.4. */
static const struct od_skip ll_skips[] = {
    {"chunked-extension-quoted-pair",
     "refuses a quoted-pair in a chunk extension's quoted value (HPE_STRICT); RFC 9112 §7.1.1 "
     "allows it"},
    {"chunked-extension-several",
     "refuses another extension after a token value (HPE_INVALID_CHUNK_SIZE)"},
    {"chunked-extension-bws", "refuses BWS around ';' and '=' in chunk extensions, which the "
                              "chunk-ext grammar of RFC 9112 §7.1.1 allows"},
    {"content-length-list-identical",
     "rejects any Content-Length list, even of identical values (RFC 9110 §8.6 allows them)"},
    {"content-length-list-identical-no-space", "rejects any Content-Length list"},
    {"response-content-length-list-identical", "rejects any Content-Length list"},
    {"content-length-two-identical-fields", "rejects a second Content-Length even if equal"},
    {"method-extension-token", "knows only its fixed method table"},
    {"response-te-and-content-length",
     "refuses Content-Length beside Transfer-Encoding in responses too; we frame by "
     "Transfer-Encoding and close afterwards (RFC 9112 §6.3)"},
    {"te-chunked-trailing-whitespace",
     "refuses OWS after 'chunked' in Transfer-Encoding (HPE_INVALID_TRANSFER_ENCODING)"},
};

static int ll_on_method(llhttp_t *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->method, at, len);
    return 0;
}

static int ll_on_url(llhttp_t *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->url, at, len);
    return 0;
}

static int ll_on_status(llhttp_t *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->reason, at, len);
    return 0;
}

static int ll_on_field(llhttp_t *p, const char *at, size_t len)
{
    return od_on_field(p->data, at, len) == 0 ? 0 : -1;
}

static int ll_on_value(llhttp_t *p, const char *at, size_t len)
{
    od_on_value(p->data, at, len);
    return 0;
}

static int ll_on_headers_complete(llhttp_t *p)
{
    struct od_msg *m = p->data;
    m->headers_done = true;
    m->chunked = (p->flags & F_CHUNKED) != 0;
    m->has_length = (p->flags & F_CONTENT_LENGTH) != 0;
    m->content_length = p->content_length;
    m->keep_alive = llhttp_should_keep_alive(p);
    m->status = p->status_code;
    /* Like http_parser, llhttp frames these by their fields unless told: 1 means "no body". */
    if (p->type == HTTP_RESPONSE && od_response_has_no_body(m)) {
        m->skipped_body = true;
        return 1;
    }
    return 0;
}

static int ll_on_body(llhttp_t *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->body, at, len);
    return 0;
}

static int ll_on_message_complete(llhttp_t *p)
{
    struct od_msg *m = p->data;
    m->complete = true;
    m->keep_alive = llhttp_should_keep_alive(p);
    return HPE_PAUSED; /* stop here: the rest belongs to the next message */
}

static void ll_run(const char *data, size_t len, bool response, struct od_msg *m)
{
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_method = ll_on_method;
    s.on_url = ll_on_url;
    s.on_status = ll_on_status;
    s.on_header_field = ll_on_field;
    s.on_header_value = ll_on_value;
    s.on_headers_complete = ll_on_headers_complete;
    s.on_body = ll_on_body;
    s.on_message_complete = ll_on_message_complete;
    llhttp_t p;
    llhttp_init(&p, response ? HTTP_RESPONSE : HTTP_REQUEST, &s);
    p.data = m;
    llhttp_errno_t err = llhttp_execute(&p, data, len);
    m->nparsed = err == HPE_OK ? len : (size_t)(llhttp_get_error_pos(&p) - data);
    if (err == HPE_OK && response && !m->complete && m->headers_done && !p.upgrade && !m->chunked &&
        !m->has_length) {
        err = llhttp_finish(&p); /* end of stream ends a close-delimited body */
    }
    if (err == HPE_PAUSED_UPGRADE) {
        err = HPE_OK; /* the message ended with an upgrade: what follows is not HTTP/1.1 */
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
        snprintf(m->error, sizeof(m->error), "%s (%s)", llhttp_errno_name(err),
                 llhttp_get_error_reason(&p) ? llhttp_get_error_reason(&p) : "");
    }
    m->upgrade = p.upgrade != 0;
    m->http_major = p.http_major;
    m->http_minor = p.http_minor;
}

int main(void)
{
    char version[32];
    snprintf(version, sizeof(version), "%d.%d.%d", LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR,
             LLHTTP_VERSION_PATCH);
    const struct od_oracle o = {"llhttp", version, ll_run, ll_skips,
                                sizeof(ll_skips) / sizeof(ll_skips[0])};
    return od_main(&o);
}
