/* SPDX-License-Identifier: MIT */
/* Differential test: every valid vector through our parser and Debian's libhttp-parser 2.9.4. */
#include <http_parser.h>
#include <inttypes.h>
#include <stdlib.h>

#include "http1/http1.h"
#include "test.h"
#include "vectors.h"

#define OD_MAX_FIELDS 128
#define OD_MIN_COMPARISONS 40

/* Wraps a chunked vector so both parsers see a whole request. */
static const char od_chunked_head[] =
    "POST /chunked HTTP/1.1\r\nHost: oracle\r\nTransfer-Encoding: chunked\r\n\r\n";

/*
 * Valid vectors on which http_parser's semantics legitimately differ from RFC 9112 and ours
 * (anchors/server-pool.md §5.2). The invalid vectors are not compared at all: that libhttp-parser
 * accepts many of them is the reason we have our own parser (S13).
 */
static const struct {
    const char *name;
    const char *why;
} od_skips[] = {
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

static struct tt_vec_set od_set;
static int od_failures;

static void od_report(const struct tt_vector *v, const char *fmt, ...) TETHER_PRINTF(2, 3);

static void od_report(const struct tt_vector *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s: %s\n", v->file, v->line, v->name, msg);
    od_failures++;
}

/* --- What http_parser saw ---------------------------------------------------------------- */

struct od_buf {
    char *p;
    size_t len;
};

struct od_msg {
    const char *request_method; /* responses: the request's method, or NULL */
    struct od_buf url, reason, body;
    struct od_buf names[OD_MAX_FIELDS], values[OD_MAX_FIELDS];
    size_t nfields;
    bool in_value, headers_done, complete, skipped_body, chunked;
    uint64_t content_length;
    int keep_alive;
};

static void od_append(struct od_buf *b, const char *at, size_t len)
{
    b->p = realloc(b->p, b->len + len + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->len, at, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static void od_msg_free(struct od_msg *m)
{
    free(m->url.p);
    free(m->reason.p);
    free(m->body.p);
    for (size_t i = 0; i < m->nfields; i++) {
        free(m->names[i].p);
        free(m->values[i].p);
    }
}

static int od_on_url(http_parser *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->url, at, len);
    return 0;
}

static int od_on_status(http_parser *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->reason, at, len);
    return 0;
}

/* Field callbacks may come in pieces; after the head they report trailers, which we ignore. */
static int od_on_field(http_parser *p, const char *at, size_t len)
{
    struct od_msg *m = p->data;
    if (m->headers_done) {
        return 0;
    }
    if (m->in_value || m->nfields == 0) {
        if (m->nfields == OD_MAX_FIELDS) {
            return 1;
        }
        m->nfields++;
        m->in_value = false;
    }
    od_append(&m->names[m->nfields - 1], at, len);
    return 0;
}

static int od_on_value(http_parser *p, const char *at, size_t len)
{
    struct od_msg *m = p->data;
    if (!m->headers_done && m->nfields > 0) {
        m->in_value = true;
        od_append(&m->values[m->nfields - 1], at, len);
    }
    return 0;
}

static int od_on_headers_complete(http_parser *p)
{
    struct od_msg *m = p->data;
    m->headers_done = true;
    m->chunked = (p->flags & F_CHUNKED) != 0;
    m->content_length = p->content_length;
    m->keep_alive = http_should_keep_alive(p);
    /* http_parser frames these by their fields unless told: returning 1 sets F_SKIPBODY. */
    unsigned status = p->status_code;
    if (p->type == HTTP_RESPONSE &&
        ((m->request_method && strcmp(m->request_method, "HEAD") == 0) || status < 200 ||
         status == 204 || status == 304)) {
        m->skipped_body = true;
        return 1;
    }
    return 0;
}

static int od_on_body(http_parser *p, const char *at, size_t len)
{
    od_append(&((struct od_msg *)p->data)->body, at, len);
    return 0;
}

static int od_on_message_complete(http_parser *p)
{
    struct od_msg *m = p->data;
    m->complete = true;
    m->keep_alive = http_should_keep_alive(p);
    http_parser_pause(p, 1); /* stop here: the rest belongs to the next message */
    return 0;
}

/* --- Comparison ------------------------------------------------------------------------ */

static bool od_span_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void od_trim(const char **p, size_t *len)
{
    while (*len > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t')) {
        (*len)--;
    }
}

static void od_cmp_span(const struct tt_vector *v, const char *what, const char *ours,
                        size_t ours_len, const char *theirs, size_t theirs_len)
{
    if (!od_span_eq(ours, ours_len, theirs, theirs_len)) {
        char a[160], b[160];
        od_report(v, "%s: ours \"%s\", http_parser \"%s\"", what,
                  tt_vec_escape(ours, ours_len, a, sizeof(a)),
                  tt_vec_escape(theirs, theirs_len, b, sizeof(b)));
    }
}

/* Our view of the body: its bytes and where the message ends, when `data` holds all of it. */
static bool od_our_body(const struct tt__h1_head *h, const char *rest, size_t rest_len,
                        struct od_buf *body, size_t *used)
{
    struct tt__h1_chunked c;
    size_t off = 0;
    switch (h->body) {
    case TT__H1_BODY_NONE:
        *used = 0;
        return true;
    case TT__H1_BODY_LENGTH:
        if (h->content_length > rest_len) {
            return false;
        }
        od_append(body, rest, (size_t)h->content_length);
        *used = (size_t)h->content_length;
        return true;
    case TT__H1_BODY_UNTIL_CLOSE:
        od_append(body, rest, rest_len);
        *used = rest_len;
        return true;
    case TT__H1_BODY_CHUNKED:
        tt__h1_chunked_init(&c, NULL);
        while (off < rest_len) {
            size_t n = 0;
            struct tt__h1_str span;
            int rc = tt__h1_chunked_decode(&c, rest + off, rest_len - off, &n, &span);
            od_append(body, span.ptr ? span.ptr : "", span.len);
            off += n;
            if (rc == TT__H1_CHUNKED_DONE) {
                *used = off;
                return true;
            }
            if (rc != 0 || n == 0) {
                break;
            }
        }
        return false;
    }
    return false;
}

/* Runs both parsers over one buffer; returns whether a comparison was made. */
static bool od_compare(const struct tt_vector *v, const char *data, size_t len, bool response)
{
    struct tt__h1_field fields[OD_MAX_FIELDS];
    struct tt__h1_head h;
    struct tt__h1_parser ours;
    memset(&h, 0, sizeof(h));
    h.fields = fields;
    h.fields_cap = OD_MAX_FIELDS;
    tt__h1_parser_init(&ours, NULL);
    int rc = response ? tt__h1_parse_response(&ours, data, len, &h, v->request_method.ptr)
                      : tt__h1_parse_request(&ours, data, len, &h);
    if (rc <= 0) {
        od_report(v, "our parser failed (%d, %s): see http1_test_vectors", rc,
                  tt__h1_err_name(ours.error));
        return false;
    }

    struct od_msg m;
    memset(&m, 0, sizeof(m));
    m.request_method = v->request_method.ptr;
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_url = od_on_url;
    s.on_status = od_on_status;
    s.on_header_field = od_on_field;
    s.on_header_value = od_on_value;
    s.on_headers_complete = od_on_headers_complete;
    s.on_body = od_on_body;
    s.on_message_complete = od_on_message_complete;
    http_parser p;
    http_parser_init(&p, response ? HTTP_RESPONSE : HTTP_REQUEST);
    p.data = &m;
    size_t nparsed = http_parser_execute(&p, &s, data, len);
    enum http_errno err = HTTP_PARSER_ERRNO(&p);
    if (err == HPE_OK && response && !m.complete && m.headers_done && !p.upgrade && !m.chunked &&
        m.content_length == UINT64_MAX) {
        http_parser_execute(&p, &s, NULL, 0); /* end of stream ends a close-delimited body */
        err = HTTP_PARSER_ERRNO(&p);
    }
    bool ok = false;
    if (err != HPE_OK && err != HPE_PAUSED) {
        od_report(v, "http_parser: %s after %zu bytes", http_errno_name(err), nparsed);
        goto out;
    }
    if (!m.headers_done) {
        od_report(v, "http_parser did not finish the head");
        goto out;
    }
    ok = true;
    if (!response) {
        od_cmp_span(v, "method", h.method.ptr, h.method.len,
                    http_method_str((enum http_method)p.method),
                    strlen(http_method_str((enum http_method)p.method)));
        od_cmp_span(v, "target", h.target.ptr, h.target.len, m.url.p, m.url.len);
    } else {
        if ((unsigned)h.status != p.status_code) {
            od_report(v, "status: ours %d, http_parser %u", h.status, (unsigned)p.status_code);
        }
        od_cmp_span(v, "reason", h.reason.ptr, h.reason.len, m.reason.p, m.reason.len);
    }
    if (p.http_major != 1 || p.http_minor != h.version_minor) {
        od_report(v, "version: ours 1.%d, http_parser %u.%u", h.version_minor, p.http_major,
                  p.http_minor);
    }
    if (h.nfields != m.nfields) {
        od_report(v, "field count: ours %zu, http_parser %zu", h.nfields, m.nfields);
    }
    for (size_t i = 0; i < h.nfields && i < m.nfields; i++) {
        const char *tv = m.values[i].p;
        size_t tl = m.values[i].len;
        od_trim(&tv, &tl);
        od_cmp_span(v, "field name", h.fields[i].name.ptr, h.fields[i].name.len, m.names[i].p,
                    m.names[i].len);
        od_cmp_span(v, "field value", h.fields[i].value.ptr, h.fields[i].value.len, tv, tl);
    }

    /* Framing, in http_parser's terms. */
    enum tt__h1_body_kind theirs;
    if (m.skipped_body) {
        theirs = TT__H1_BODY_NONE;
    } else if (m.chunked) {
        theirs = TT__H1_BODY_CHUNKED;
    } else if (m.content_length != UINT64_MAX) {
        theirs = TT__H1_BODY_LENGTH;
    } else {
        theirs = response && !p.upgrade ? TT__H1_BODY_UNTIL_CLOSE : TT__H1_BODY_NONE;
    }
    if (theirs != h.body) {
        od_report(v, "body kind: ours %d, http_parser %d", (int)h.body, (int)theirs);
    } else if (theirs == TT__H1_BODY_LENGTH && m.content_length != h.content_length) {
        od_report(v, "content length: ours %" PRIu64 ", http_parser %" PRIu64, h.content_length,
                  m.content_length);
    }
    struct od_buf body = {NULL, 0};
    size_t used = 0;
    if (od_our_body(&h, data + rc, len - (size_t)rc, &body, &used)) {
        if (!m.complete) {
            od_report(v, "http_parser did not complete the message");
        } else {
            od_cmp_span(v, "body", body.p ? body.p : "", body.len, m.body.p ? m.body.p : "",
                        m.body.len);
            if (h.body != TT__H1_BODY_UNTIL_CLOSE && nparsed != (size_t)rc + used) {
                od_report(v, "message end: ours %zu, http_parser %zu", (size_t)rc + used, nparsed);
            }
        }
    }
    free(body.p);
    /* After an upgrade (101, CONNECT, Upgrade:) the connection is no longer HTTP/1.1. */
    if (!p.upgrade && (m.keep_alive != 0) != h.keep_alive) {
        od_report(v, "keep-alive: ours %d, http_parser %d", h.keep_alive, m.keep_alive);
    }
out:
    od_msg_free(&m);
    return ok;
}

static const char *od_skip_reason(const char *name)
{
    for (size_t i = 0; i < tt__countof(od_skips); i++) {
        if (strcmp(od_skips[i].name, name) == 0) {
            return od_skips[i].why;
        }
    }
    return NULL;
}

static void test_valid_vectors_agree(void **state)
{
    (void)state;
    size_t compared = 0, skipped = 0;
    for (size_t i = 0; i < od_set.n; i++) {
        const struct tt_vector *v = &od_set.v[i];
        if (!v->ok) {
            continue;
        }
        if (od_skip_reason(v->name)) {
            skipped++;
            continue;
        }
        if (v->type == TT_VEC_CHUNKED) {
            size_t hl = sizeof(od_chunked_head) - 1;
            char *buf = malloc(hl + v->data.len);
            assert_non_null(buf);
            memcpy(buf, od_chunked_head, hl);
            memcpy(buf + hl, v->data.ptr, v->data.len);
            compared += od_compare(v, buf, hl + v->data.len, false);
            free(buf);
        } else {
            compared += od_compare(v, v->data.ptr, v->data.len, v->type == TT_VEC_RESPONSE);
        }
    }
    for (size_t i = 0; i < tt__countof(od_skips); i++) {
        if (!tt_vec_find(&od_set, od_skips[i].name)) {
            print_error("skip list names a missing vector: %s\n", od_skips[i].name);
            od_failures++;
        }
    }
    print_message("%zu valid vectors compared with http_parser %lu.%lu.%lu, %zu skipped\n",
                  compared, (http_parser_version() >> 16) & 255, (http_parser_version() >> 8) & 255,
                  http_parser_version() & 255, skipped);
    if (od_failures > 0) {
        fail_msg("%d disagreement(s) with http_parser (listed above)", od_failures);
    }
    if (compared < OD_MIN_COMPARISONS) {
        fail_msg("only %zu comparisons (want >= %d)", compared, OD_MIN_COMPARISONS);
    }
}

static int od_setup(void **state)
{
    (void)state;
    char err[512];
    if (tt_vec_load_env(&od_set, err, sizeof(err)) != 0) {
        print_error("loading vectors: %s\n", err);
        return -1;
    }
    return 0;
}

static int od_teardown(void **state)
{
    (void)state;
    tt_vec_free(&od_set);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors_agree),
    };
    return cmocka_run_group_tests(tests, od_setup, od_teardown);
}
