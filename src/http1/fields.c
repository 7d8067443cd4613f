/* SPDX-License-Identifier: MIT */
/* Strict parsers for the field values tether acts on: framing, reuse and pushback (dates, tags
 * and ranges are in util/, shared with the command). */
#include <assert.h>
#include <string.h>

#include "http1/chars.h"
#include "http1/http1.h"
#include "util/http_date.h"
#include "util/str.h"

/*
 * Shared conventions. Leading and trailing OWS around a whole value is ignored: the head parser
 * has already stripped it, so this only matters to callers passing raw slices. Whitespace inside
 * a value must follow the grammar exactly. Results are built in locals and stored only on
 * success, so a bad field never clobbers what the caller had. Within one number, junk wins over
 * overflow ("99999999999999999999x" is EINVAL, not ERANGE).
 */

static size_t fields_skip_ows(const char *s, size_t len, size_t i)
{
    while (i < len && tt__h1_ows(s[i])) {
        i++;
    }
    return i;
}

static size_t fields_skip_token(const char *s, size_t len, size_t i)
{
    while (i < len && tt__h1_tchar(s[i])) {
        i++;
    }
    return i;
}

static size_t fields_skip_digits(const char *s, size_t len, size_t i)
{
    while (i < len && ttx_is_digit(s[i])) {
        i++;
    }
    return i;
}

static struct tt__h1_str fields_trim(const char *s, size_t len)
{
    while (len > 0 && tt__h1_ows(s[0])) {
        s++;
        len--;
    }
    while (len > 0 && tt__h1_ows(s[len - 1])) {
        len--;
    }
    return (struct tt__h1_str){s, len};
}

/* A NULL value with len 0 is treated as ""; pointer arithmetic on NULL is undefined. */
static struct tt__h1_str fields_value(const char *v, size_t len)
{
    assert(v != NULL || len == 0);
    return fields_trim(v ? v : "", len);
}

/* Index just past the quoted-string that opens at s[i], or 0 when it is unterminated or holds a
 * control character other than HTAB (qdtext and quoted-pair, RFC 9110 §5.6.4). */
static size_t fields_quoted_end(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            return i + 1;
        }
        if (c == '\\') {
            if (++i == len) {
                return 0;
            }
            c = (unsigned char)s[i];
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 0;
        }
    }
    return 0;
}

/* End of the token or quoted-string that starts at s[i], or 0 when neither starts there. */
static size_t fields_word_end(const char *s, size_t len, size_t i)
{
    if (i < len && s[i] == '"') {
        return fields_quoted_end(s, len, i);
    }
    size_t end = fields_skip_token(s, len, i);
    return end > i ? end : 0;
}

/*
 * Yields the next list element (RFC 9110 §5.6.1), OWS-trimmed and possibly empty; a comma inside
 * a quoted-string does not split. "" yields one empty element and "a," yields "a" then "", so
 * parsers that forbid empty elements see them. Returns false when the list is exhausted.
 */
static bool fields_next_elem(struct tt__h1_str list, size_t *pos, struct tt__h1_str *elem)
{
    size_t i = *pos;
    bool quoted = false;
    if (i > list.len) {
        return false;
    }
    size_t start = i;
    for (; i < list.len; i++) {
        char c = list.ptr[i];
        if (quoted && c == '\\' && i + 1 < list.len) {
            i++;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            break;
        }
    }
    *elem = fields_trim(list.ptr + start, i - start);
    *pos = i + 1;
    return true;
}

/* Milliseconds from now until then, 0 once passed. Unsigned because the difference of two
 * int64_t values can exceed INT64_MAX. */
static uint64_t fields_ms_until(int64_t then_ms, int64_t now_ms)
{
    if (then_ms <= now_ms) {
        return 0;
    }
    return (uint64_t)then_ms - (uint64_t)now_ms;
}

/* Keep-Alive (RFC 2068 §19.7.1.1) */

/* A timeout/max value. A quoted-pair stands for the octet it escapes (RFC 9110 §5.6.4), so
 * "\5" reads as 5; the quoted-string was validated already, so a backslash is never last. The
 * header has no way to say "huge", so overflow is as invalid as junk. */
static int ka_number(struct tt__h1_str val, bool quoted, uint64_t *out)
{
    uint64_t n = 0;
    size_t digits = 0;
    for (size_t i = 0; i < val.len; i++) {
        char c = val.ptr[i];
        if (quoted && c == '\\') {
            c = val.ptr[++i];
        }
        if (!ttx_is_digit(c)) {
            return TETHER_EINVAL;
        }
        unsigned d = (unsigned)(c - '0');
        if (n > (UINT64_MAX - d) / 10) {
            return TETHER_EINVAL;
        }
        n = n * 10 + d;
        digits++;
    }
    if (digits == 0) {
        return TETHER_EINVAL;
    }
    *out = n;
    return 0;
}

/* A repeated parameter is fine when it agrees; when it disagrees neither value can be trusted. */
static int ka_set(bool *has, uint64_t *slot, uint64_t n)
{
    if (*has && *slot != n) {
        return TETHER_EINVAL;
    }
    *has = true;
    *slot = n;
    return 0;
}

/* token [ OWS "=" OWS ( token / quoted-string ) ] */
static int ka_param(struct tt__h1_str e, struct tt__h1_keep_alive *ka)
{
    size_t name_end = fields_skip_token(e.ptr, e.len, 0);
    if (name_end == 0) {
        return TETHER_EINVAL;
    }
    struct tt__h1_str name = {e.ptr, name_end};
    struct tt__h1_str val = {e.ptr + e.len, 0};
    bool quoted = false;
    size_t i = fields_skip_ows(e.ptr, e.len, name_end);
    if (i < e.len) {
        if (e.ptr[i] != '=') {
            return TETHER_EINVAL;
        }
        i = fields_skip_ows(e.ptr, e.len, i + 1);
        if (fields_word_end(e.ptr, e.len, i) != e.len) {
            return TETHER_EINVAL;
        }
        quoted = e.ptr[i] == '"';
        val = quoted ? (struct tt__h1_str){e.ptr + i + 1, e.len - i - 2}
                     : (struct tt__h1_str){e.ptr + i, e.len - i};
    }
    bool is_timeout = tt__h1_str_eq_nocase(name, "timeout");
    if (!is_timeout && !tt__h1_str_eq_nocase(name, "max")) {
        return 0;
    }
    uint64_t n;
    int rv = ka_number(val, quoted, &n);
    if (rv != 0) {
        return rv;
    }
    return is_timeout ? ka_set(&ka->has_timeout, &ka->timeout_s, n)
                      : ka_set(&ka->has_max, &ka->max, n);
}

int tt__h1_parse_keep_alive(const char *v, size_t len, struct tt__h1_keep_alive *out)
{
    struct tt__h1_str list = fields_value(v, len);
    struct tt__h1_keep_alive ka = {0};
    struct tt__h1_str e;
    size_t pos = 0;
    while (fields_next_elem(list, &pos, &e)) {
        if (e.len == 0) {
            continue;
        }
        int rv = ka_param(e, &ka);
        if (rv != 0) {
            return rv;
        }
    }
    *out = ka;
    return 0;
}

/* Content-Length (RFC 9112 §6.3) */

int tt__h1_parse_content_length(const char *v, size_t len, uint64_t *out)
{
    struct tt__h1_str list = fields_value(v, len);
    struct tt__h1_str e;
    size_t pos = 0;
    uint64_t first = 0;
    bool seen = false;
    /* Empty elements are errors here, unlike the general list rule: "5,,5" is exactly the kind
     * of disagreement between parsers that request smuggling feeds on. */
    while (fields_next_elem(list, &pos, &e)) {
        uint64_t n;
        int rv = ttx_parse_u64(e.ptr, e.len, &n);
        if (rv != 0) {
            return rv;
        }
        if (seen && n != first) {
            return TETHER_EINVAL;
        }
        first = n;
        seen = true;
    }
    *out = first;
    return 0;
}

/* Transfer-Encoding (RFC 9112 §6.1, §7) */

/* transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ) */
static int te_coding(struct tt__h1_str e, bool *is_chunked)
{
    size_t i = fields_skip_token(e.ptr, e.len, 0);
    if (i == 0) {
        return TETHER_EINVAL;
    }
    bool chunked = tt__h1_str_eq_nocase((struct tt__h1_str){e.ptr, i}, "chunked");
    for (;;) {
        i = fields_skip_ows(e.ptr, e.len, i);
        if (i == e.len) {
            break;
        }
        /* chunked defines no parameters (RFC 9112 §7.1), so any is a framing disagreement. */
        if (e.ptr[i] != ';' || chunked) {
            return TETHER_EINVAL;
        }
        i = fields_skip_ows(e.ptr, e.len, i + 1);
        size_t name_end = fields_skip_token(e.ptr, e.len, i);
        if (name_end == i) {
            return TETHER_EINVAL;
        }
        i = fields_skip_ows(e.ptr, e.len, name_end);
        if (i == e.len || e.ptr[i] != '=') {
            return TETHER_EINVAL;
        }
        i = fields_word_end(e.ptr, e.len, fields_skip_ows(e.ptr, e.len, i + 1));
        if (i == 0) {
            return TETHER_EINVAL;
        }
    }
    *is_chunked = chunked;
    return 0;
}

int tt__h1_parse_transfer_encoding(const char *v, size_t len, struct tt__h1_transfer_encoding *out)
{
    struct tt__h1_str list = fields_value(v, len);
    struct tt__h1_transfer_encoding te = {0};
    struct tt__h1_str e;
    size_t pos = 0;
    bool chunked_seen = false;
    while (fields_next_elem(list, &pos, &e)) {
        if (e.len == 0) {
            continue;
        }
        bool chunked = false;
        int rv = te_coding(e, &chunked);
        if (rv != 0) {
            return rv;
        }
        if (chunked) {
            te.chunked_twice = te.chunked_twice || chunked_seen;
            chunked_seen = true;
        } else {
            te.other_codings = true;
            te.chunked_not_final = te.chunked_not_final || chunked_seen;
        }
        te.chunked_final = chunked;
        te.ncodings++;
    }
    /* A Transfer-Encoding with no coding says nothing about framing; the caller must not
     * guess, so it is malformed rather than "no codings". */
    if (te.ncodings == 0) {
        return TETHER_EINVAL;
    }
    *out = te;
    return 0;
}

/* Connection (RFC 9110 §7.6.1) */

int tt__h1_parse_connection(const char *v, size_t len, unsigned *flags)
{
    struct tt__h1_str list = fields_value(v, len);
    struct tt__h1_str e;
    size_t pos = 0;
    unsigned f = 0;
    while (fields_next_elem(list, &pos, &e)) {
        if (e.len == 0) {
            continue;
        }
        if (!tt__h1_is_token(e.ptr, e.len)) {
            return TETHER_EINVAL;
        }
        /* The length picks the one option a token can be: one compare, not three. */
        if (e.len == 5 && tt__h1_str_eq_nocase(e, "close")) {
            f |= TT__H1_CONN_CLOSE;
        } else if (e.len == 10 && tt__h1_str_eq_nocase(e, "keep-alive")) {
            f |= TT__H1_CONN_KEEP_ALIVE;
        } else if (e.len == 7 && tt__h1_str_eq_nocase(e, "upgrade")) {
            f |= TT__H1_CONN_UPGRADE;
        }
    }
    *flags = f;
    return 0;
}

/* Retry-After (RFC 9110 §10.2.3) and X-RateLimit-Reset */

int tt__h1_parse_retry_after(const char *v, size_t len, int64_t now_unix_ms, uint64_t *delay_ms)
{
    struct tt__h1_str s = fields_value(v, len);
    int rv;
    /* No HTTP-date starts with a digit, so the first byte picks the form. */
    if (s.len > 0 && ttx_is_digit(s.ptr[0])) {
        uint64_t secs;
        rv = ttx_parse_u64(s.ptr, s.len, &secs);
        if (rv != 0) {
            return rv;
        }
        if (secs > UINT64_MAX / 1000) {
            return TETHER_ERANGE;
        }
        *delay_ms = secs * 1000;
        return 0;
    }
    int64_t when_s;
    rv = ttx_http_date_parse(s.ptr, s.len, &when_s);
    if (rv != 0) {
        return rv;
    }
    /* Four-digit years keep when_s within ±2.6e11, so the product cannot overflow. */
    *delay_ms = fields_ms_until(when_s * 1000, now_unix_ms);
    return 0;
}

int tt__h1_parse_ratelimit_reset(const char *v, size_t len, int64_t now_unix_ms, uint64_t *delay_ms)
{
    struct tt__h1_str s = fields_value(v, len);
    size_t int_end = fields_skip_digits(s.ptr, s.len, 0);
    size_t frac_start = int_end;
    size_t frac_end = int_end;
    if (int_end == 0) {
        return TETHER_EINVAL;
    }
    if (int_end < s.len) {
        if (s.ptr[int_end] != '.') {
            return TETHER_EINVAL;
        }
        frac_start = int_end + 1;
        frac_end = fields_skip_digits(s.ptr, s.len, frac_start);
        if (frac_end == frac_start || frac_end != s.len) {
            return TETHER_EINVAL;
        }
    }
    uint64_t whole;
    int rv = ttx_parse_u64(s.ptr, int_end, &whole);
    if (rv != 0) {
        return rv;
    }
    /* Decimal digits, not strtod: "2.3" must be exactly 2300 ms. Precision past a millisecond
     * rounds up so a client never wakes before the reset. */
    uint64_t frac_ms = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t at = frac_start + i;
        frac_ms = frac_ms * 10 + (at < frac_end ? (uint64_t)(s.ptr[at] - '0') : 0);
    }
    for (size_t at = frac_start + 3; at < frac_end; at++) {
        if (s.ptr[at] != '0') {
            frac_ms++;
            break;
        }
    }
    if (whole > (UINT64_MAX - frac_ms) / 1000) {
        return TETHER_ERANGE;
    }
    uint64_t ms = whole * 1000 + frac_ms;
    /* 1e9 s is 31 years: no server asks for that long a wait, and every Unix time since 2001
     * is larger, so the number itself says which form it is. */
    if (whole < 1000000000u) {
        *delay_ms = ms;
        return 0;
    }
    if (now_unix_ms >= 0) {
        *delay_ms = ms <= (uint64_t)now_unix_ms ? 0 : ms - (uint64_t)now_unix_ms;
        return 0;
    }
    uint64_t before_epoch = (uint64_t)0 - (uint64_t)now_unix_ms;
    if (ms > UINT64_MAX - before_epoch) {
        return TETHER_ERANGE;
    }
    *delay_ms = ms + before_epoch;
    return 0;
}
