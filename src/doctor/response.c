/* SPDX-License-Identifier: MIT */
/* A small, lenient reader of HTTP/1.1 responses for the doctor: it needs the status, a few
 * fields and where each response ends, on a connection it keeps reading from afterwards. The
 * strict parser in src/http1 is private to the library components the doctor must not reach. */
#include <stdio.h>
#include <string.h>

#include "doctor/doctor_int.h"
#include "tether/error.h"
#include "util/str.h"

/* A response head larger than this is refused: the doctor reads real servers' small heads. */
#define DR_MAX_HEAD 65536

/* Fields that reveal which hop answered (anchors doctor §5.6). */
static const char *const dr_hop_fields[] = {
    "server",      "via",          "x-envoy-upstream-service-time",
    "cf-ray",      "x-amz-cf-id",  "x-cache",
    "x-served-by", "x-powered-by", NULL,
};

void tt__dr_reset(struct dr_response *r)
{
    memset(r, 0, sizeof(*r));
    r->state = DR_HEAD;
}

static void dr_consume(char *buf, size_t *len, size_t n)
{
    memmove(buf, buf + n, *len - n);
    *len -= n;
}

static void dr_copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Whether the comma-separated list `v` holds the token `tok`. */
static bool dr_has_token(const char *v, size_t len, const char *tok)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && v[j] != ',') {
            j++;
        }
        struct ttx_slice t = ttx_trim_ows(v + i, j - i);
        if (ttx_mem_eq_nocase(t.ptr, t.len, tok)) {
            return true;
        }
        i = j + 1;
    }
    return false;
}

/* One field line of the head; returns TETHER_EHTTP for a line without a colon. */
static int dr_field(struct dr_response *r, const char *line, size_t n, bool *chunked,
                    bool *has_length, uint64_t *length)
{
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line) {
        return TETHER_EHTTP;
    }
    size_t nlen = (size_t)(colon - line);
    struct ttx_slice v = ttx_trim_ows(colon + 1, n - nlen - 1);
    if (ttx_mem_eq_nocase(line, nlen, "content-length")) {
        if (ttx_parse_u64(v.ptr, v.len, length) != 0) {
            return TETHER_EHTTP;
        }
        *has_length = true;
    } else if (ttx_mem_eq_nocase(line, nlen, "transfer-encoding")) {
        *chunked = dr_has_token(v.ptr, v.len, "chunked");
    } else if (ttx_mem_eq_nocase(line, nlen, "connection")) {
        dr_copy(r->connection, sizeof(r->connection), v.ptr, v.len);
        r->conn_close = r->conn_close || dr_has_token(v.ptr, v.len, "close");
        r->conn_keepalive = dr_has_token(v.ptr, v.len, "keep-alive");
    } else if (ttx_mem_eq_nocase(line, nlen, "keep-alive")) {
        dr_copy(r->keep_alive, sizeof(r->keep_alive), v.ptr, v.len);
    }
    for (size_t i = 0; dr_hop_fields[i]; i++) {
        if (ttx_mem_eq_nocase(line, nlen, dr_hop_fields[i]) &&
            r->nhints < TETHER_DOCTOR_MAX_HINTS) {
            (void)snprintf(r->hints[r->nhints++], sizeof(r->hints[0]), "%s: %.*s", dr_hop_fields[i],
                           (int)v.len, v.ptr);
        }
    }
    return 0;
}

/* The head in buf[0..end) (end after the blank line). */
static int dr_head(struct dr_response *r, const char *buf, size_t end)
{
    const char *eol = memchr(buf, '\n', end);
    size_t n = (size_t)(eol - buf);
    if (n > 0 && buf[n - 1] == '\r') {
        n--;
    }
    /* "HTTP/1.1 200 OK" */
    if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || !ttx_is_digit(buf[9]) ||
        !ttx_is_digit(buf[10]) || !ttx_is_digit(buf[11]) || (n > 12 && buf[12] != ' ')) {
        return TETHER_EHTTP;
    }
    r->http10 = buf[7] == '0';
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (n > 13) {
        dr_copy(r->reason, sizeof(r->reason), buf + 13, n - 13);
    }
    bool chunked = false;
    bool has_length = false;
    uint64_t length = 0;
    const char *p = eol + 1;
    const char *stop = buf + end;
    while (p < stop) {
        const char *e = memchr(p, '\n', (size_t)(stop - p));
        size_t ln = (size_t)(e - p);
        if (ln > 0 && p[ln - 1] == '\r') {
            ln--;
        }
        if (ln == 0) {
            break;
        }
        int rv = dr_field(r, p, ln, &chunked, &has_length, &length);
        if (rv != 0) {
            return rv;
        }
        p = e + 1;
    }
    if (r->http10 && !r->conn_keepalive) {
        r->conn_close = true;
    }
    if (r->status / 100 == 1 || r->status == 204 || r->status == 304) {
        r->state = r->status / 100 == 1 ? DR_HEAD : DR_DONE;
    } else if (chunked) {
        r->state = DR_CHUNK_SIZE;
    } else if (has_length) {
        r->remaining = length;
        r->state = length ? DR_BODY_LENGTH : DR_DONE;
    } else {
        r->conn_close = true;
        r->state = DR_BODY_UNTIL_CLOSE;
    }
    return 0;
}

/* The end of the line starting buf (index after '\n'), or 0 when it is not all there. */
static size_t dr_line_end(const char *buf, size_t len)
{
    const char *e = memchr(buf, '\n', len);
    return e ? (size_t)(e - buf) + 1 : 0;
}

int tt__dr_feed(struct dr_response *r, char *buf, size_t *len)
{
    for (;;) {
        switch (r->state) {
        case DR_HEAD: {
            const char *end = NULL;
            for (size_t i = 0; i + 1 < *len; i++) {
                if (buf[i] == '\n' && (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < *len &&
                                                              buf[i + 2] == '\n'))) {
                    end = buf + i + (buf[i + 1] == '\n' ? 2 : 3);
                    break;
                }
            }
            if (!end) {
                return *len > DR_MAX_HEAD ? TETHER_EHTTP : 0;
            }
            /* A 1xx head is skipped whole; its fields are not the response's. */
            struct dr_response keep = *r;
            int rv = dr_head(r, buf, (size_t)(end - buf));
            if (rv != 0) {
                return rv;
            }
            dr_consume(buf, len, (size_t)(end - buf));
            if (r->state == DR_HEAD) {
                *r = keep;
            }
            break;
        }
        case DR_BODY_LENGTH: {
            size_t n = *len < r->remaining ? *len : (size_t)r->remaining;
            dr_consume(buf, len, n);
            r->remaining -= n;
            if (r->remaining) {
                return 0;
            }
            r->state = DR_DONE;
            break;
        }
        case DR_CHUNK_SIZE: {
            size_t e = dr_line_end(buf, *len);
            if (!e) {
                return *len > 1024 ? TETHER_EHTTP : 0;
            }
            uint64_t size = 0;
            size_t i = 0;
            for (; i < e; i++) {
                char c = ttx_lower(buf[i]);
                int d = ttx_is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
                if (d < 0) {
                    break;
                }
                if (size >> 60) {
                    return TETHER_EHTTP;
                }
                size = size * 16 + (uint64_t)d;
            }
            if (i == 0) {
                return TETHER_EHTTP;
            }
            dr_consume(buf, len, e);
            r->remaining = size;
            r->state = size ? DR_CHUNK_DATA : DR_TRAILERS;
            break;
        }
        case DR_CHUNK_DATA: {
            size_t n = *len < r->remaining ? *len : (size_t)r->remaining;
            dr_consume(buf, len, n);
            r->remaining -= n;
            if (r->remaining) {
                return 0;
            }
            r->state = DR_CHUNK_CRLF;
            break;
        }
        case DR_CHUNK_CRLF:
        case DR_TRAILERS: {
            size_t e = dr_line_end(buf, *len);
            if (!e) {
                return *len > 8192 ? TETHER_EHTTP : 0;
            }
            bool blank = e == 1 || (e == 2 && buf[0] == '\r');
            dr_consume(buf, len, e);
            if (r->state == DR_CHUNK_CRLF) {
                if (!blank) {
                    return TETHER_EHTTP;
                }
                r->state = DR_CHUNK_SIZE;
            } else if (blank) {
                r->state = DR_DONE;
            }
            break;
        }
        case DR_BODY_UNTIL_CLOSE:
            *len = 0;
            return 0;
        case DR_DONE:
            return 1;
        }
    }
}

bool tt__dr_eof_completes(const struct dr_response *r)
{
    return r->state == DR_BODY_UNTIL_CLOSE || r->state == DR_DONE;
}

void tt__dr_parse_keep_alive(const char *value, struct tether_doctor_result *out)
{
    size_t len = strlen(value);
    out->hint_present = len > 0;
    size_t i = 0;
    bool first = true;
    while (i < len) {
        size_t j = i;
        while (j < len && value[j] != ',') {
            j++;
        }
        struct ttx_slice item = ttx_trim_ows(value + i, j - i);
        const char *eq = memchr(item.ptr, '=', item.len);
        if (eq) {
            size_t klen = (size_t)(eq - item.ptr);
            struct ttx_slice k = ttx_trim_ows(item.ptr, klen);
            struct ttx_slice v = ttx_trim_ows(eq + 1, item.len - klen - 1);
            uint64_t n = 0;
            bool num = ttx_parse_u64(v.ptr, v.len, &n) == 0;
            if (num && ttx_mem_eq_nocase(k.ptr, k.len, "timeout")) {
                out->hint_has_timeout = true;
                out->hint_timeout_s = n;
                out->hint_timeout_not_first = !first;
            } else if (num && ttx_mem_eq_nocase(k.ptr, k.len, "max")) {
                out->hint_has_max = true;
                out->hint_max = n;
            }
        }
        if (item.len) {
            first = false;
        }
        i = j + 1;
    }
}
