/* SPDX-License-Identifier: MIT */
/* Differential test: every valid vector through our parser and Debian's libhttp-parser 2.9.4. */
#include <http_parser.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "oracle_diff.h"

/*
 * Valid vectors on which http_parser's semantics legitimately differ from RFC 9112 and ours
 * (anchors/server-pool.md §5.2). The invalid vectors are not compared at all: that libhttp-parser
 * accepts many of them is the reason we have our own parser (S13).
 */
static const struct od_skip hp_skips[] = {
    {"content-length-list-identical", "rejects any Content-Length list (INVALID_CONTENT_LENGTH)"},
    {"content-length-list-identical-no-space", "rejects any Content-Length list"},
    {"response-content-length-list-identical", "rejects any Content-Length list"},
    {"content-length-two-identical-fields", "rejects a second Content-Length even if equal"},
    {"content-length-uint64-max", "uses ULLONG_MAX as 'no length' and refuses it as a value"},
    {"response-content-length-uint64-max", "uses ULLONG_MAX as 'no length'"},
    {"method-extension-token", "knows only its fixed method table"},
    {"response-te-and-content-length", "refuses TE + CL in responses too (UNEXPECTED_CL)"},
    {"te-chunked-trailing-whitespace",
     "keeps trailing OWS in Transfer-Encoding: 'chunked ' is not chunked"},
    {"connection-empty-list-elements",
     "misses keep-alive after an empty list element (RFC 9110 5.6.1)"},
};

static int hp_on_url(http_parser *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->url, at, len);
    return 0;
}

static int hp_on_status(http_parser *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->reason, at, len);
    return 0;
}

static int hp_on_field(http_parser *p, const char *at, size_t len)
{
    return od_on_field(p->data, at, len) == 0 ? 0 : 1;
}

static int hp_on_value(http_parser *p, const char *at, size_t len)
{
    od_on_value(p->data, at, len);
    return 0;
}

static int hp_on_headers_complete(http_parser *p)
{
    struct od_msg *m = p->data;
    m->headers_done = true;
    m->chunked = (p->flags & F_CHUNKED) != 0;
    m->content_length = p->content_length;
    m->has_length = p->content_length != ULLONG_MAX; /* its "no length" value */
    m->keep_alive = http_should_keep_alive(p);
    m->status = p->status_code;
    /* http_parser frames these by their fields unless told: returning 1 sets F_SKIPBODY. */
    if (p->type == HTTP_RESPONSE && od_response_has_no_body(m)) {
        m->skipped_body = true;
        return 1;
    }
    return 0;
}

static int hp_on_body(http_parser *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->body, at, len);
    return 0;
}

static int hp_on_message_complete(http_parser *p)
{
    struct od_msg *m = p->data;
    m->complete = true;
    m->keep_alive = http_should_keep_alive(p);
    http_parser_pause(p, 1); /* stop here: the rest belongs to the next message */
    return 0;
}

static void hp_run(const char *data, size_t len, bool response, struct od_msg *m)
{
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_url = hp_on_url;
    s.on_status = hp_on_status;
    s.on_header_field = hp_on_field;
    s.on_header_value = hp_on_value;
    s.on_headers_complete = hp_on_headers_complete;
    s.on_body = hp_on_body;
    s.on_message_complete = hp_on_message_complete;
    http_parser p;
    http_parser_init(&p, response ? HTTP_RESPONSE : HTTP_REQUEST);
    p.data = m;
    m->nparsed = http_parser_execute(&p, &s, data, len);
    enum http_errno err = HTTP_PARSER_ERRNO(&p);
    if (err == HPE_OK && response && !m->complete && m->headers_done && !p.upgrade && !m->chunked &&
        !m->has_length) {
        http_parser_execute(&p, &s, NULL, 0); /* end of stream ends a close-delimited body */
        err = HTTP_PARSER_ERRNO(&p);
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
        snprintf(m->error, sizeof(m->error), "%s", http_errno_name(err));
    }
    const char *method = http_method_str((enum http_method)p.method);
    if (!response) {
        od_append(&m->method, method, strlen(method));
    }
    m->upgrade = p.upgrade != 0;
    m->http_major = p.http_major;
    m->http_minor = p.http_minor;
}

int main(void)
{
    unsigned long v = http_parser_version();
    char version[32];
    snprintf(version, sizeof(version), "%lu.%lu.%lu", (v >> 16) & 255, (v >> 8) & 255, v & 255);
    const struct od_oracle o = {"http_parser", version, hp_run, hp_skips,
                                sizeof(hp_skips) / sizeof(hp_skips[0])};
    return od_main(&o);
}
