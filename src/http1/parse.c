/* SPDX-License-Identifier: MIT */
/* Strict, zero-copy, incremental HTTP/1.1 head parser for requests and responses. */
#include <string.h>

#include "http1/chars.h"
#include "http1/http1.h"

void tt__h1_limits_default(struct tt__h1_limits *lim)
{
    lim->max_head_bytes = TT__H1_DEFAULT_MAX_HEAD_BYTES;
    lim->max_fields = TT__H1_DEFAULT_MAX_FIELDS;
    lim->max_chunk_ext_bytes = TT__H1_DEFAULT_MAX_CHUNK_EXT_BYTES;
}

void tt__h1_parser_init(struct tt__h1_parser *p, const struct tt__h1_limits *lim)
{
    if (lim) {
        p->limits = *lim;
    } else {
        tt__h1_limits_default(&p->limits);
    }
    tt__h1_parser_reset(p);
}

void tt__h1_parser_reset(struct tt__h1_parser *p)
{
    p->scan_pos = 0;
    p->line_start = 0;
    p->started = false;
    p->error = TT__H1_ERR_NONE;
    p->error_offset = 0;
}

/* The cursor of one parse over a complete head. `end` is just past the final CRLF. */
struct h1_cursor {
    const char *base;
    const char *pos;
    const char *end;
    enum tt__h1_error error;
    const char *error_at;
};

static int h1_fail(struct h1_cursor *c, enum tt__h1_error e, const char *at)
{
    c->error = e;
    c->error_at = at;
    return -1;
}

/*
 * Finds the end of the head, remembering progress between calls. Every LF must follow a CR and
 * every CR must precede an LF (bare CR and bare LF are rejected here, before any byte of the
 * head is interpreted); empty lines before the start line are skipped as RFC 9112 §2.2 allows.
 * Returns the head length, 0 for "need more", or -1 with p->error set.
 *
 * Violations are judged in byte order, each only once the bytes it depends on are here, so the
 * error reported never depends on how the input was split into reads: a CR that is the last
 * byte so far waits for the next byte. Only CR and LF matter, so the scan jumps from one to the
 * next (tt__h1_find_cr_lf, 16 bytes per step) and takes a CRLF pair as one event.
 */
static long h1_find_head_end(struct tt__h1_parser *p, const char *buf, size_t len)
{
    size_t max = p->limits.max_head_bytes;
    size_t lim = len < max ? len : max; /* a head ends by byte max, or is too large */
    size_t pos = p->scan_pos;
    while (pos < lim) {
        if (p->started && lim - pos > TT__H1_BLOCK) {
            size_t n = tt__h1_clean_block(buf, pos, pos == p->line_start, &p->line_start);
            if (n > 0) {
                pos += n;
                continue;
            }
        }
        size_t k = (size_t)(tt__h1_find_cr_lf(buf + pos, buf + lim) - buf);
        if (k == lim) {
            pos = lim;
            break;
        }
        if (buf[k] == '\n') { /* CRs are consumed with their LF: this one has none before it */
            p->error = TT__H1_ERR_BARE_LF;
            p->error_offset = k;
            return -1;
        }
        if (k + 1 == len) {
            pos = k; /* judged when the next byte arrives */
            break;
        }
        if (buf[k + 1] != '\n') {
            p->error = TT__H1_ERR_BARE_CR;
            p->error_offset = k;
            return -1;
        }
        if (k + 1 >= max) {
            break; /* the LF ending this line is past the limit */
        }
        pos = k + 2;
        if (k == p->line_start) {
            if (p->started) {
                p->scan_pos = pos;
                return (long)pos;
            }
        } else {
            p->started = true;
        }
        p->line_start = pos;
    }
    p->scan_pos = pos;
    if (len > max) {
        p->error = TT__H1_ERR_HEAD_TOO_LARGE;
        p->error_offset = max;
        return -1;
    }
    return 0;
}

/* Parses "HTTP/d.d" at c->pos. A well-formed version other than 1.0/1.1 is refused with 505. */
static int h1_parse_version(struct h1_cursor *c, int *minor)
{
    const char *s = c->pos;
    if (c->end - s < 8 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
        s[7] < '0' || s[7] > '9') {
        return h1_fail(c, TT__H1_ERR_BAD_VERSION, s);
    }
    if (s[5] != '1' || s[7] > '1') {
        return h1_fail(c, TT__H1_ERR_UNSUPPORTED_VERSION, s);
    }
    *minor = s[7] - '0';
    c->pos = s + 8;
    return 0;
}

/* Expects the CRLF that ends a line at c->pos. */
static int h1_expect_crlf(struct h1_cursor *c, enum tt__h1_error otherwise)
{
    if (c->pos[0] == '\r') {
        if (c->pos[1] != '\n') {
            return h1_fail(c, TT__H1_ERR_BARE_CR, c->pos);
        }
        c->pos += 2;
        return 0;
    }
    return h1_fail(c, otherwise, c->pos);
}

static int h1_parse_request_line(struct h1_cursor *c, struct tt__h1_head *h)
{
    const char *s = c->pos;
    const char *q = s;
    while (tt__h1_tchar(*q)) {
        q++;
    }
    if (*q != ' ') {
        if (*q == '\r') {
            return h1_fail(c, q[1] == '\n' ? TT__H1_ERR_BAD_REQUEST_LINE : TT__H1_ERR_BARE_CR, q);
        }
        return h1_fail(c, TT__H1_ERR_BAD_METHOD, q);
    }
    if (q == s) {
        return h1_fail(c, TT__H1_ERR_BAD_REQUEST_LINE, q);
    }
    h->method.ptr = s;
    h->method.len = (size_t)(q - s);
    s = ++q;
    q = tt__h1_skip_target(q, c->end);
    if (*q != ' ') {
        if (*q == '\r') {
            return h1_fail(c, q[1] == '\n' ? TT__H1_ERR_BAD_REQUEST_LINE : TT__H1_ERR_BARE_CR, q);
        }
        return h1_fail(c, TT__H1_ERR_BAD_TARGET, q);
    }
    if (q == s) {
        return h1_fail(c, TT__H1_ERR_BAD_REQUEST_LINE, q);
    }
    h->target.ptr = s;
    h->target.len = (size_t)(q - s);
    c->pos = q + 1;
    if (*c->pos == ' ') {
        return h1_fail(c, TT__H1_ERR_BAD_REQUEST_LINE, c->pos);
    }
    if (h1_parse_version(c, &h->version_minor) != 0) {
        /* "GET /a b HTTP/1.1": the version did not parse because the target held a space. */
        const char *r = c->pos;
        while (*r != '\r') {
            if (*r++ == ' ') {
                return h1_fail(c, TT__H1_ERR_BAD_TARGET, q);
            }
        }
        return -1;
    }
    return h1_expect_crlf(c, *c->pos == ' ' ? TT__H1_ERR_BAD_REQUEST_LINE : TT__H1_ERR_BAD_VERSION);
}

static int h1_parse_status_line(struct h1_cursor *c, struct tt__h1_head *h)
{
    if (c->end - c->pos < 5 || memcmp(c->pos, "HTTP/", 5) != 0) {
        return h1_fail(c, TT__H1_ERR_BAD_STATUS_LINE, c->pos);
    }
    if (h1_parse_version(c, &h->version_minor) != 0) {
        return -1;
    }
    const char *s = c->pos;
    if (*s != ' ') {
        return h1_fail(c, TT__H1_ERR_BAD_STATUS_LINE, s);
    }
    s++;
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
        (s[3] != ' ' && s[3] != '\r')) {
        return h1_fail(c, TT__H1_ERR_BAD_STATUS_CODE, s);
    }
    h->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    if (h->status < 100) {
        return h1_fail(c, TT__H1_ERR_BAD_STATUS_CODE, s);
    }
    s += 3;
    /* Servers in the wild send "HTTP/1.1 200\r\n"; the reason phrase carries no meaning, so its
     * absence is tolerated, but its bytes are still checked. */
    if (*s == ' ') {
        s++;
    }
    const char *r = tt__h1_skip_value(s, c->end);
    h->reason.ptr = s;
    h->reason.len = (size_t)(r - s);
    c->pos = r;
    return h1_expect_crlf(c, TT__H1_ERR_BAD_STATUS_LINE);
}

/* Content-Length, with the identical-values list rule of RFC 9112 §6.3. */
static enum tt__h1_error h1_content_length(struct tt__h1_str v, uint64_t *out)
{
    int rv = tt__h1_parse_content_length(v.ptr, v.len, out);
    if (rv == 0) {
        return TT__H1_ERR_NONE;
    }
    if (rv == TETHER_ERANGE) {
        return TT__H1_ERR_CONTENT_LENGTH_OVERFLOW;
    }
    /* A list whose elements are each valid but differ is a conflict, not a malformed value. */
    const char *p = v.ptr;
    const char *end = v.ptr + v.len;
    bool list = false;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *elem_end = comma ? comma : end;
        uint64_t n;
        const char *a = p;
        const char *b = elem_end;
        while (a < b && tt__h1_ows(*a)) {
            a++;
        }
        while (b > a && tt__h1_ows(b[-1])) {
            b--;
        }
        int erv = tt__h1_parse_content_length(a, (size_t)(b - a), &n);
        if (erv == TETHER_ERANGE) {
            return TT__H1_ERR_CONTENT_LENGTH_OVERFLOW;
        }
        if (erv != 0) {
            return TT__H1_ERR_BAD_CONTENT_LENGTH;
        }
        if (!comma) {
            break;
        }
        list = true;
        p = comma + 1;
    }
    return list ? TT__H1_ERR_DUPLICATE_CONTENT_LENGTH : TT__H1_ERR_BAD_CONTENT_LENGTH;
}

/* What the fields say about framing, gathered in one pass over them. */
struct h1_framing {
    size_t cl_count;
    uint64_t content_length;
    size_t te_count;
    size_t chunked_count;
    bool te_final_chunked;
    bool te_other;
    size_t host_count;
};

/* `lit` is lowercase letters and '-'; `name` is a token, and for token bytes OR-ing 0x20 maps
 * exactly the upper-case letters onto the lower-case ones, so one compare per byte suffices. */
static bool h1_name_is(struct tt__h1_str name, const char *lit)
{
    for (size_t i = 0; i < name.len; i++) {
        if ((char)(name.ptr[i] | 0x20) != lit[i]) {
            return false;
        }
    }
    return true;
}

static int h1_note_field(struct h1_cursor *c, struct tt__h1_head *h, struct h1_framing *fr,
                         struct tt__h1_str name, struct tt__h1_str value)
{
    enum tt__h1_error e = TT__H1_ERR_NONE;
    /* Dispatch on length first: most fields match none of these and cost one switch. */
    switch (name.len) {
    case 4:
        if (h1_name_is(name, "host")) {
            if (++fr->host_count == 1) {
                h->host = value;
            }
        }
        break;
    case 6:
        if (h1_name_is(name, "expect") && tt__h1_str_eq_nocase(value, "100-continue")) {
            h->expect_continue = true;
        }
        break;
    case 10:
        if (h1_name_is(name, "connection")) {
            unsigned flags = 0;
            if (tt__h1_parse_connection(value.ptr, value.len, &flags) != 0) {
                e = TT__H1_ERR_BAD_CONNECTION;
                break;
            }
            h->conn_close |= (flags & TT__H1_CONN_CLOSE) != 0;
            h->conn_keep_alive |= (flags & TT__H1_CONN_KEEP_ALIVE) != 0;
            h->conn_upgrade |= (flags & TT__H1_CONN_UPGRADE) != 0;
        } else if (h1_name_is(name, "keep-alive")) {
            h->keep_alive_value = value;
        }
        break;
    case 14:
        if (h1_name_is(name, "content-length")) {
            uint64_t n = 0;
            e = h1_content_length(value, &n);
            if (e == TT__H1_ERR_NONE) {
                if (fr->cl_count++ > 0 && n != fr->content_length) {
                    e = TT__H1_ERR_DUPLICATE_CONTENT_LENGTH;
                }
                fr->content_length = n;
            }
        }
        break;
    case 17:
        if (h1_name_is(name, "transfer-encoding")) {
            struct tt__h1_transfer_encoding te;
            if (tt__h1_parse_transfer_encoding(value.ptr, value.len, &te) != 0) {
                e = TT__H1_ERR_BAD_TRANSFER_ENCODING;
                break;
            }
            fr->te_count++;
            fr->chunked_count += te.chunked_twice ? 2 : (te.chunked_final || te.chunked_not_final);
            fr->te_final_chunked = te.chunked_final;
            fr->te_other |= te.other_codings;
        }
        break;
    default:
        break;
    }
    if (e != TT__H1_ERR_NONE) {
        return h1_fail(c, e, value.ptr);
    }
    return 0;
}

/*
 * Parses field lines up to and including the empty line. Names are tokens followed directly by
 * a colon; values are trimmed of OWS; obs-fold, bare CR and control bytes are refused.
 */
static int h1_parse_fields(struct h1_cursor *c, struct tt__h1_head *h, size_t max_fields)
{
    size_t cap = h->fields_cap < max_fields ? h->fields_cap : max_fields;
    const char *q = c->pos;
    for (;;) {
        if (*q == '\r') {
            c->pos = q;
            return h1_expect_crlf(c, TT__H1_ERR_BARE_CR);
        }
        if (tt__h1_ows(*q)) {
            return h1_fail(c, TT__H1_ERR_OBS_FOLD, q);
        }
        struct tt__h1_str name = {q, 0};
        /* Four lookups per step: names run to a colon, which is not a tchar. */
        while (tt__h1_tchar(q[0]) && tt__h1_tchar(q[1]) && tt__h1_tchar(q[2]) &&
               tt__h1_tchar(q[3])) {
            q += 4;
        }
        while (tt__h1_tchar(*q)) {
            q++;
        }
        name.len = (size_t)(q - name.ptr);
        if (*q != ':') {
            if (name.len == 0) {
                return h1_fail(c, TT__H1_ERR_BAD_FIELD_NAME, q);
            }
            if (tt__h1_ows(*q)) {
                const char *w = q;
                while (tt__h1_ows(*w)) {
                    w++;
                }
                return h1_fail(
                    c, *w == ':' ? TT__H1_ERR_WS_BEFORE_COLON : TT__H1_ERR_BAD_FIELD_NAME, q);
            }
            if (*q == '\r') {
                return h1_fail(c, q[1] == '\n' ? TT__H1_ERR_MISSING_COLON : TT__H1_ERR_BARE_CR, q);
            }
            return h1_fail(c, TT__H1_ERR_BAD_FIELD_NAME, q);
        }
        if (name.len == 0) {
            return h1_fail(c, TT__H1_ERR_EMPTY_FIELD_NAME, q);
        }
        q++;
        while (tt__h1_ows(*q)) {
            q++;
        }
        const char *vstart = q;
        /* The hot loop; CR is not a value byte, so it stops there. */
        q = tt__h1_skip_value(q, c->end);
        if (*q != '\r') {
            return h1_fail(c, TT__H1_ERR_BAD_FIELD_VALUE, q);
        }
        if (q[1] != '\n') {
            return h1_fail(c, TT__H1_ERR_BARE_CR, q);
        }
        const char *vend = q;
        while (vend > vstart && tt__h1_ows(vend[-1])) {
            vend--;
        }
        q += 2;
        if (h->nfields >= cap) {
            return h1_fail(c, TT__H1_ERR_TOO_MANY_FIELDS, name.ptr);
        }
        struct tt__h1_field *f = &h->fields[h->nfields++];
        f->name = name;
        f->value.ptr = vstart;
        f->value.len = (size_t)(vend - vstart);
    }
}

/* Interprets the fields once every line is known to be well-formed, so that a syntax error
 * (an obs-fold continuing a Transfer-Encoding line, say) is reported as what it is rather than
 * as a bad value of the field it folds into. */
static int h1_note_fields(struct h1_cursor *c, struct tt__h1_head *h, struct h1_framing *fr)
{
    for (size_t i = 0; i < h->nfields; i++) {
        if (h1_note_field(c, h, fr, h->fields[i].name, h->fields[i].value) != 0) {
            return -1;
        }
    }
    return 0;
}

static void h1_head_clear(struct tt__h1_head *h)
{
    struct tt__h1_field *fields = h->fields;
    size_t cap = h->fields_cap;
    memset(h, 0, sizeof(*h));
    h->fields = fields;
    h->fields_cap = cap;
}

typedef int (*h1_start_line_fn)(struct h1_cursor *c, struct tt__h1_head *h);

/* The shared part of both parse functions: find the head, parse start line and fields. */
static int h1_parse_head(struct tt__h1_parser *p, const char *buf, size_t len,
                         struct tt__h1_head *h, h1_start_line_fn start_line, struct h1_framing *fr,
                         struct h1_cursor *c)
{
    if (p->error != TT__H1_ERR_NONE) {
        return TETHER_EHTTP;
    }
    long head_len = h1_find_head_end(p, buf, len);
    if (head_len <= 0) {
        return head_len == 0 ? TETHER_EAGAIN : TETHER_EHTTP;
    }
    h1_head_clear(h);
    memset(fr, 0, sizeof(*fr));
    c->base = buf;
    c->pos = buf;
    c->end = buf + head_len;
    c->error = TT__H1_ERR_NONE;
    while (c->pos[0] == '\r' && c->pos[1] == '\n') {
        c->pos += 2;
    }
    if (start_line(c, h) != 0 || h1_parse_fields(c, h, p->limits.max_fields) != 0 ||
        h1_note_fields(c, h, fr) != 0) {
        p->error = c->error;
        p->error_offset = (size_t)(c->error_at - buf);
        return TETHER_EHTTP;
    }
    h->head_len = (size_t)head_len;
    return 0;
}

static int h1_reject(struct tt__h1_parser *p, const struct tt__h1_head *h, enum tt__h1_error e)
{
    p->error = e;
    p->error_offset = h->head_len;
    return TETHER_EHTTP;
}

int tt__h1_parse_request(struct tt__h1_parser *p, const char *buf, size_t len,
                         struct tt__h1_head *h)
{
    struct h1_framing fr;
    struct h1_cursor c;
    int rv = h1_parse_head(p, buf, len, h, h1_parse_request_line, &fr, &c);
    if (rv != 0) {
        return rv;
    }
    bool http10 = h->version_minor == 0;
    if (fr.host_count > 1) {
        return h1_reject(p, h, TT__H1_ERR_DUPLICATE_HOST);
    }
    if (fr.host_count == 0 && !http10) {
        return h1_reject(p, h, TT__H1_ERR_MISSING_HOST);
    }
    /* Framing, in the order that names the most specific smuggling attempt (RFC 9112 §6.1). */
    if (fr.te_count > 0) {
        if (http10) {
            return h1_reject(p, h, TT__H1_ERR_TE_IN_HTTP10);
        }
        if (fr.cl_count > 0) {
            return h1_reject(p, h, TT__H1_ERR_TE_WITH_CL);
        }
        if (fr.chunked_count > 1) {
            return h1_reject(p, h, TT__H1_ERR_BAD_TRANSFER_ENCODING);
        }
        if (!fr.te_final_chunked) {
            return h1_reject(p, h, TT__H1_ERR_TE_NOT_CHUNKED);
        }
        if (fr.te_other) {
            return h1_reject(p, h, TT__H1_ERR_TE_UNSUPPORTED);
        }
        h->body = TT__H1_BODY_CHUNKED;
    } else if (fr.cl_count > 0) {
        h->content_length = fr.content_length;
        h->body = TT__H1_BODY_LENGTH;
    }
    h->keep_alive = http10 ? (h->conn_keep_alive && !h->conn_close) : !h->conn_close;
    return (int)h->head_len;
}

int tt__h1_parse_response(struct tt__h1_parser *p, const char *buf, size_t len,
                          struct tt__h1_head *h, const char *request_method)
{
    struct h1_framing fr;
    struct h1_cursor c;
    /* Bytes that cannot become "HTTP/" are an HTTP/0.9 answer or another protocol: named as
     * such, rather than as the line-ending or status-line error they would hit first. */
    size_t at = 0;
    while (at + 1 < len && buf[at] == '\r' && buf[at + 1] == '\n') {
        at += 2;
    }
    /* Only bytes within the head limit count: one past it is "too large" whatever it is, and
     * judging it here would name a different error for the same bytes split differently. */
    size_t max = p->limits.max_head_bytes;
    size_t n = len - at < 5 ? len - at : 5;
    n = at >= max ? 0 : n < max - at ? n : max - at;
    if (p->error == TT__H1_ERR_NONE && n > 0 && buf[at] != '\r' &&
        memcmp(buf + at, "HTTP/", n) != 0) {
        p->error = TT__H1_ERR_NOT_HTTP;
        p->error_offset = at;
        return TETHER_EHTTP;
    }
    int rv = h1_parse_head(p, buf, len, h, h1_parse_status_line, &fr, &c);
    if (rv != 0) {
        return rv;
    }
    bool http10 = h->version_minor == 0;
    h->keep_alive = http10 ? (h->conn_keep_alive && !h->conn_close) : !h->conn_close;
    bool head_request = request_method && strcmp(request_method, "HEAD") == 0;
    /* RFC 9112 §6.3, in its order. */
    if (head_request || h->status < 200 || h->status == 204 || h->status == 304) {
        h->body = TT__H1_BODY_NONE;
        if (fr.cl_count > 0) {
            h->content_length = fr.content_length;
        }
    } else if (fr.te_count > 0) {
        if (fr.chunked_count > 1) {
            return h1_reject(p, h, TT__H1_ERR_BAD_TRANSFER_ENCODING);
        }
        if (fr.te_final_chunked && fr.te_other) {
            /* We could frame it, but could not decode the content codings beneath. */
            return h1_reject(p, h, TT__H1_ERR_TE_UNSUPPORTED);
        }
        h->body = fr.te_final_chunked ? TT__H1_BODY_CHUNKED : TT__H1_BODY_UNTIL_CLOSE;
        /* Transfer-Encoding overrides Content-Length, and the sender MUST close after it. */
        if (fr.cl_count > 0 || !fr.te_final_chunked) {
            h->keep_alive = false;
        }
    } else if (fr.cl_count > 0) {
        h->content_length = fr.content_length;
        h->body = TT__H1_BODY_LENGTH;
    } else {
        h->body = TT__H1_BODY_UNTIL_CLOSE;
        h->keep_alive = false;
    }
    return (int)h->head_len;
}

const struct tt__h1_field *tt__h1_head_find(const struct tt__h1_head *h, const char *name)
{
    for (size_t i = 0; i < h->nfields; i++) {
        if (tt__h1_str_eq_nocase(h->fields[i].name, name)) {
            return &h->fields[i];
        }
    }
    return NULL;
}
