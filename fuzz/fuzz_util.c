/* SPDX-License-Identifier: MIT */
/* Shared helpers for the fuzz targets: a check that aborts, span bounds, head invariants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

void fuzz_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, expr);
    abort();
}

bool fuzz_strict_errors(void)
{
    static int strict = -1;
    if (strict < 0) {
        const char *lax = getenv("TETHER_FUZZ_LAX_ERRORS");
        strict = !(lax && strcmp(lax, "1") == 0);
    }
    return strict != 0;
}

uint64_t fuzz_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < size; i++) {
        h = (h ^ data[i]) * 1099511628211u;
    }
    return h;
}

bool fuzz_span_in(struct tt__h1_str s, const char *buf, size_t len)
{
    if (s.len == 0 && s.ptr == NULL) {
        return true;
    }
    if (s.ptr == NULL || s.ptr < buf || s.ptr > buf + len) {
        return false;
    }
    return s.len <= (size_t)(buf + len - s.ptr);
}

size_t fuzz_leading_crlf(const char *buf, size_t len)
{
    size_t n = 0;
    while (n + 1 < len && buf[n] == '\r' && buf[n + 1] == '\n') {
        n += 2;
    }
    return n;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool name_is(struct tt__h1_str n, const char *lit)
{
    return tt__h1_str_eq_nocase(n, lit);
}

/* The field named `name` that the parser's framing decision rests on: the last one. */
static const struct tt__h1_field *last_field(const struct tt__h1_head *h, const char *name,
                                             size_t *count)
{
    const struct tt__h1_field *f = NULL;
    *count = 0;
    for (size_t i = 0; i < h->nfields; i++) {
        if (name_is(h->fields[i].name, name)) {
            f = &h->fields[i];
            (*count)++;
        }
    }
    return f;
}

static void check_fields(const struct tt__h1_head *h, const char *buf)
{
    unsigned conn = 0;
    for (size_t i = 0; i < h->nfields; i++) {
        const struct tt__h1_field *f = &h->fields[i];
        FUZZ_CHECK(fuzz_span_in(f->name, buf, h->head_len));
        FUZZ_CHECK(fuzz_span_in(f->value, buf, h->head_len));
        FUZZ_CHECK(f->name.len > 0 && tt__h1_is_token(f->name.ptr, f->name.len));
        FUZZ_CHECK(tt__h1_is_field_value(f->value.ptr, f->value.len));
        FUZZ_CHECK(f->value.len == 0 ||
                   (!is_ows(f->value.ptr[0]) && !is_ows(f->value.ptr[f->value.len - 1])));
        if (i < 8 && f->name.len < 64) { /* lookup finds this field or an earlier namesake */
            char name[64];
            memcpy(name, f->name.ptr, f->name.len);
            name[f->name.len] = '\0';
            const struct tt__h1_field *g = tt__h1_head_find(h, name);
            FUZZ_CHECK(g != NULL && g <= f && name_is(g->name, name));
        }
        if (name_is(f->name, "Connection")) {
            unsigned flags = 0;
            FUZZ_CHECK(tt__h1_parse_connection(f->value.ptr, f->value.len, &flags) == 0);
            conn |= flags;
        }
    }
    FUZZ_CHECK(h->conn_close == ((conn & TT__H1_CONN_CLOSE) != 0));
    FUZZ_CHECK(h->conn_keep_alive == ((conn & TT__H1_CONN_KEEP_ALIVE) != 0));
    FUZZ_CHECK(h->conn_upgrade == ((conn & TT__H1_CONN_UPGRADE) != 0));
}

static void check_body(const struct tt__h1_head *h, bool request, const char *request_method)
{
    size_t ncl, nte;
    const struct tt__h1_field *cl = last_field(h, "Content-Length", &ncl);
    const struct tt__h1_field *te = last_field(h, "Transfer-Encoding", &nte);
    uint64_t clv = 0;
    if (cl && !te) { /* a Content-Length that framing relies on is valid */
        FUZZ_CHECK(tt__h1_parse_content_length(cl->value.ptr, cl->value.len, &clv) == 0);
    }
    bool no_body_status = h->status < 200 || h->status == 204 || h->status == 304;
    bool head = request_method && strcmp(request_method, "HEAD") == 0;
    switch (h->body) {
    case TT__H1_BODY_NONE:
        FUZZ_CHECK(request ? !te && (!cl || clv == 0) : no_body_status || head || (cl && clv == 0));
        break;
    case TT__H1_BODY_LENGTH:
        FUZZ_CHECK(cl && !te && h->content_length == clv);
        FUZZ_CHECK(request || (!no_body_status && !head));
        break;
    case TT__H1_BODY_CHUNKED: {
        struct tt__h1_transfer_encoding t;
        FUZZ_CHECK(te && (!cl || (!request && !h->keep_alive))); /* TE overrides CL, then close */
        FUZZ_CHECK(tt__h1_parse_transfer_encoding(te->value.ptr, te->value.len, &t) == 0);
        FUZZ_CHECK(t.chunked_final);
        FUZZ_CHECK(request || (!no_body_status && !head));
        break;
    }
    case TT__H1_BODY_UNTIL_CLOSE:
        FUZZ_CHECK(!request && (!cl || te) && !no_body_status && !head && !h->keep_alive);
        break;
    default:
        fuzz_fail("body kind in range", __FILE__, __LINE__);
    }
    if (request) {
        FUZZ_CHECK(!te || h->version_minor == 1);
    }
}

void fuzz_check_head(const struct tt__h1_head *h, const struct tt__h1_limits *lim, const char *buf,
                     size_t len, bool request, const char *request_method)
{
    FUZZ_CHECK(h->head_len > 0 && h->head_len <= len);
    /* Leading CRLFs are skipped and may or may not count against the limit. */
    FUZZ_CHECK(h->head_len - fuzz_leading_crlf(buf, h->head_len) <= lim->max_head_bytes);
    FUZZ_CHECK(h->nfields <= h->fields_cap && h->nfields <= lim->max_fields);
    FUZZ_CHECK(h->version_minor == 0 || h->version_minor == 1);
    if (request) {
        FUZZ_CHECK(fuzz_span_in(h->method, buf, h->head_len));
        FUZZ_CHECK(fuzz_span_in(h->target, buf, h->head_len));
        FUZZ_CHECK(h->method.len > 0 && tt__h1_is_token(h->method.ptr, h->method.len));
        FUZZ_CHECK(h->target.len > 0);
        for (size_t i = 0; i < h->target.len; i++) {
            unsigned char c = (unsigned char)h->target.ptr[i];
            FUZZ_CHECK(c > 0x20 && c != 0x7f);
        }
        size_t nhost;
        const struct tt__h1_field *host = last_field(h, "Host", &nhost);
        FUZZ_CHECK(nhost <= 1 && (h->version_minor == 0 || nhost == 1));
        FUZZ_CHECK(host ? h->host.ptr == host->value.ptr && h->host.len == host->value.len
                        : h->host.len == 0);
    } else {
        FUZZ_CHECK(h->status >= 100 && h->status <= 999);
        FUZZ_CHECK(fuzz_span_in(h->reason, buf, h->head_len));
        for (size_t i = 0; i < h->reason.len; i++) {
            FUZZ_CHECK(h->reason.ptr[i] != '\r' && h->reason.ptr[i] != '\n');
        }
    }
    FUZZ_CHECK(fuzz_span_in(h->keep_alive_value, buf, h->head_len));
    check_fields(h, buf);
    check_body(h, request, request_method);
    FUZZ_CHECK(!h->conn_close || !h->keep_alive);
    FUZZ_CHECK(h->version_minor == 1 || h->conn_keep_alive || !h->keep_alive);
    FUZZ_CHECK(!h->expect_continue || tt__h1_head_find(h, "Expect") != NULL);
}

static void check_same_str(struct tt__h1_str a, const char *abuf, struct tt__h1_str b,
                           const char *bbuf)
{
    FUZZ_CHECK(a.len == b.len);
    if (a.len > 0) {
        FUZZ_CHECK(a.ptr - abuf == b.ptr - bbuf);
    }
}

void fuzz_check_same_head(const struct tt__h1_head *a, const char *abuf,
                          const struct tt__h1_head *b, const char *bbuf)
{
    FUZZ_CHECK(a->head_len == b->head_len && a->nfields == b->nfields);
    FUZZ_CHECK(a->status == b->status && a->version_minor == b->version_minor);
    FUZZ_CHECK(a->body == b->body);
    FUZZ_CHECK(a->body != TT__H1_BODY_LENGTH || a->content_length == b->content_length);
    FUZZ_CHECK(a->keep_alive == b->keep_alive && a->conn_close == b->conn_close);
    FUZZ_CHECK(a->conn_keep_alive == b->conn_keep_alive && a->conn_upgrade == b->conn_upgrade);
    FUZZ_CHECK(a->expect_continue == b->expect_continue);
    check_same_str(a->method, abuf, b->method, bbuf);
    check_same_str(a->target, abuf, b->target, bbuf);
    check_same_str(a->reason, abuf, b->reason, bbuf);
    check_same_str(a->host, abuf, b->host, bbuf);
    check_same_str(a->keep_alive_value, abuf, b->keep_alive_value, bbuf);
    for (size_t i = 0; i < a->nfields; i++) {
        check_same_str(a->fields[i].name, abuf, b->fields[i].name, bbuf);
        check_same_str(a->fields[i].value, abuf, b->fields[i].value, bbuf);
    }
}

static int parse(struct tt__h1_parser *p, const char *buf, size_t len, struct tt__h1_head *h,
                 bool request, const char *request_method)
{
    if (request) {
        return tt__h1_parse_request(p, buf, len, h);
    }
    return tt__h1_parse_response(p, buf, len, h, request_method);
}

int fuzz_parse_split(struct tt__h1_parser *p, const char *buf, size_t len, size_t split,
                     struct tt__h1_head *h, bool request, const char *request_method, char **copy)
{
    /* Exact sizes, so ASan sees any read past the end (malloc(0) may return NULL). */
    char *first = malloc(split > 0 ? split : 1);
    FUZZ_CHECK(first != NULL);
    memcpy(first, buf, split);
    int rv = parse(p, first, split, h, request, request_method);
    if (rv != TETHER_EAGAIN) {
        *copy = first;
        return rv;
    }
    free(first);
    char *all = malloc(len > 0 ? len : 1);
    FUZZ_CHECK(all != NULL);
    memcpy(all, buf, len);
    *copy = all;
    return parse(p, all, len, h, request, request_method);
}
