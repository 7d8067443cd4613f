/* SPDX-License-Identifier: MIT */
/* Strict parsers for the field values tether acts on: framing, reuse, pushback, ranges, tags. */
#include <assert.h>
#include <string.h>

#include "http1/chars.h"
#include "http1/http1.h"

/*
 * Shared conventions. Leading and trailing OWS around a whole value is ignored: the head parser
 * has already stripped it, so this only matters to callers passing raw slices. Whitespace inside
 * a value must follow the grammar exactly. Results are built in locals and stored only on
 * success, so a bad field never clobbers what the caller had. Within one number, junk wins over
 * overflow ("99999999999999999999x" is EINVAL, not ERANGE).
 */

static bool fields_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

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
    while (i < len && fields_is_digit(s[i])) {
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

/* 1*DIGIT; leading zeros are harmless. The scan continues past an overflow so junk later in
 * the number is still reported as EINVAL. */
static int fields_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t n = 0;
    bool overflow = false;
    if (len == 0) {
        return TETHER_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!fields_is_digit(s[i])) {
            return TETHER_EINVAL;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (n > (UINT64_MAX - d) / 10) {
            overflow = true;
        } else {
            n = n * 10 + d;
        }
    }
    if (overflow) {
        return TETHER_ERANGE;
    }
    *out = n;
    return 0;
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
        if (!fields_is_digit(c)) {
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
        int rv = fields_u64(e.ptr, e.len, &n);
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
        if (tt__h1_str_eq_nocase(e, "close")) {
            f |= TT__H1_CONN_CLOSE;
        } else if (tt__h1_str_eq_nocase(e, "keep-alive")) {
            f |= TT__H1_CONN_KEEP_ALIVE;
        } else if (tt__h1_str_eq_nocase(e, "upgrade")) {
            f |= TT__H1_CONN_UPGRADE;
        }
    }
    *flags = f;
    return 0;
}

/* HTTP-date (RFC 9110 §5.6.7) */

/* Names are case-sensitive: the grammar spells them with %s"...". */
static const char date_wkdays[] = "MonTueWedThuFriSatSun";
static const char date_months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char *const date_wkdays_long[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                               "Friday", "Saturday", "Sunday"};

struct date_parts {
    int year, month, day, hour, min, sec;
};

/* 1-based index of the three-letter name at s in table, or 0. */
static int date_name3(const char *s, const char *table, int count)
{
    for (int i = 0; i < count; i++) {
        if (memcmp(s, table + 3 * (size_t)i, 3) == 0) {
            return i + 1;
        }
    }
    return 0;
}

static bool date_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fields_is_digit(s[i])) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* time-of-day = hour ":" minute ":" second, each 2DIGIT (ranges are checked later). */
static bool date_time(const char *s, struct date_parts *d)
{
    return date_digits(s, 2, &d->hour) && s[2] == ':' && date_digits(s + 3, 2, &d->min) &&
           s[5] == ':' && date_digits(s + 6, 2, &d->sec);
}

/*
 * The day of the week is checked for syntax only, never against the date (as Go's net/http
 * does): a server with a wrong weekday still means the date it wrote. Second 60 is allowed for
 * leap seconds (RFC 9110 §5.6.7) and lands on the next minute, as POSIX time has no leap seconds.
 */
static int date_to_unix(const struct date_parts *d, int64_t *unix_s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (d->year % 4 == 0 && d->year % 100 != 0) || d->year % 400 == 0;
    int dim = mdays[d->month - 1] + (d->month == 2 && leap ? 1 : 0);
    if (d->day < 1 || d->day > dim || d->hour > 23 || d->min > 59 || d->sec > 60) {
        return TETHER_EINVAL;
    }
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar and, unlike
     * timegm/mktime, independent of the process's time zone and of non-POSIX extensions. */
    int64_t y = d->year - (d->month <= 2 ? 1 : 0);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (d->month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d->day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *unix_s = days * 86400 + (int64_t)d->hour * 3600 + (int64_t)d->min * 60 + d->sec;
    return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static int date_imf(const char *s, size_t len, struct date_parts *d)
{
    if (len != 29 || !date_name3(s, date_wkdays, 7) || memcmp(s + 3, ", ", 2) != 0 ||
        !date_digits(s + 5, 2, &d->day) || s[7] != ' ' ||
        (d->month = date_name3(s + 8, date_months, 12)) == 0 || s[11] != ' ' ||
        !date_digits(s + 12, 4, &d->year) || s[16] != ' ' || !date_time(s + 17, d) ||
        memcmp(s + 25, " GMT", 4) != 0) {
        return TETHER_EINVAL;
    }
    return 0;
}

/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"; `n` is where the comma is. */
static int date_rfc850(const char *s, size_t len, size_t n, struct date_parts *d)
{
    bool named = false;
    for (size_t i = 0; i < tt__countof(date_wkdays_long); i++) {
        if (strlen(date_wkdays_long[i]) == n && memcmp(s, date_wkdays_long[i], n) == 0) {
            named = true;
        }
    }
    int yy;
    if (!named || len != n + 24 || s[n + 1] != ' ' || !date_digits(s + n + 2, 2, &d->day) ||
        s[n + 4] != '-' || (d->month = date_name3(s + n + 5, date_months, 12)) == 0 ||
        s[n + 8] != '-' || !date_digits(s + n + 9, 2, &yy) || s[n + 11] != ' ' ||
        !date_time(s + n + 12, d) || memcmp(s + n + 20, " GMT", 4) != 0) {
        return TETHER_EINVAL;
    }
    /* RFC 9110 asks for the century that is not more than 50 years in the future, which
     * depends on the clock. A fixed pivot keeps parsing pure and repeatable: 00-69 are 2000-2069,
     * 70-99 are 1970-1999 (the Unix epoch; no RFC 850 server predates it). */
    d->year = yy < 70 ? 2000 + yy : 1900 + yy;
    return 0;
}

/* asctime-date: "Sun Nov  6 08:49:37 1994"; the day is 2DIGIT or SP DIGIT. */
static int date_asctime(const char *s, size_t len, struct date_parts *d)
{
    if (len != 24 || !date_name3(s, date_wkdays, 7) || s[3] != ' ' ||
        (d->month = date_name3(s + 4, date_months, 12)) == 0 || s[7] != ' ' ||
        !(s[8] == ' ' ? date_digits(s + 9, 1, &d->day) : date_digits(s + 8, 2, &d->day)) ||
        s[10] != ' ' || !date_time(s + 11, d) || s[19] != ' ' ||
        !date_digits(s + 20, 4, &d->year)) {
        return TETHER_EINVAL;
    }
    return 0;
}

int tt__h1_parse_http_date(const char *v, size_t len, int64_t *unix_s)
{
    struct tt__h1_str s = fields_value(v, len);
    struct date_parts d = {0};
    int rv;
    /* The comma after the day name tells the forms apart: at 3 it is IMF-fixdate, further on
     * (the longest name, "Wednesday", puts it at 9) RFC 850; without one it can only be asctime. */
    const char *comma = memchr(s.ptr, ',', s.len < 10 ? s.len : 10);
    if (comma != NULL && comma - s.ptr == 3) {
        rv = date_imf(s.ptr, s.len, &d);
    } else if (comma != NULL) {
        rv = date_rfc850(s.ptr, s.len, (size_t)(comma - s.ptr), &d);
    } else {
        rv = date_asctime(s.ptr, s.len, &d);
    }
    if (rv != 0) {
        return rv;
    }
    int64_t t;
    rv = date_to_unix(&d, &t);
    if (rv != 0) {
        return rv;
    }
    *unix_s = t;
    return 0;
}

/* Retry-After (RFC 9110 §10.2.3) and X-RateLimit-Reset */

int tt__h1_parse_retry_after(const char *v, size_t len, int64_t now_unix_ms, uint64_t *delay_ms)
{
    struct tt__h1_str s = fields_value(v, len);
    int rv;
    /* No HTTP-date starts with a digit, so the first byte picks the form. */
    if (s.len > 0 && fields_is_digit(s.ptr[0])) {
        uint64_t secs;
        rv = fields_u64(s.ptr, s.len, &secs);
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
    rv = tt__h1_parse_http_date(s.ptr, s.len, &when_s);
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
    int rv = fields_u64(s.ptr, int_end, &whole);
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

/* Content-Range (RFC 9110 §14.4) */

int tt__h1_parse_content_range(const char *v, size_t len, struct tt__h1_content_range *out)
{
    struct tt__h1_str s = fields_value(v, len);
    struct tt__h1_content_range cr = {0};
    int rv;
    /* Range units compare case-insensitively (RFC 9110 §14.1); only bytes is defined. */
    if (s.len < 6 || !tt__h1_str_eq_nocase((struct tt__h1_str){s.ptr, 5}, "bytes") ||
        s.ptr[5] != ' ') {
        return TETHER_EINVAL;
    }
    const char *p = s.ptr + 6;
    size_t n = s.len - 6;
    const char *slash = memchr(p, '/', n);
    if (slash == NULL) {
        return TETHER_EINVAL;
    }
    struct tt__h1_str range = {p, (size_t)(slash - p)};
    struct tt__h1_str complete = {slash + 1, n - range.len - 1};
    if (complete.len != 1 || complete.ptr[0] != '*') {
        rv = fields_u64(complete.ptr, complete.len, &cr.complete);
        if (rv != 0) {
            return rv;
        }
        cr.has_complete = true;
    }
    if (range.len == 1 && range.ptr[0] == '*') {
        /* "*" + "/" + "*" would say nothing at all. */
        if (!cr.has_complete) {
            return TETHER_EINVAL;
        }
        cr.unsatisfied = true;
        *out = cr;
        return 0;
    }
    const char *dash = memchr(range.ptr, '-', range.len);
    if (dash == NULL) {
        return TETHER_EINVAL;
    }
    size_t first_len = (size_t)(dash - range.ptr);
    rv = fields_u64(range.ptr, first_len, &cr.first);
    if (rv == 0) {
        rv = fields_u64(dash + 1, range.len - first_len - 1, &cr.last);
    }
    if (rv != 0) {
        return rv;
    }
    if (cr.first > cr.last || (cr.has_complete && cr.last >= cr.complete)) {
        return TETHER_EINVAL;
    }
    *out = cr;
    return 0;
}

/* ETag (RFC 9110 §8.8.3) */

int tt__h1_parse_etag(const char *v, size_t len, struct tt__h1_etag *out)
{
    struct tt__h1_str s = fields_value(v, len);
    bool weak = false;
    size_t i = 0;
    /* %s"W/" in the grammar: a lowercase w is not a weakness marker but junk. */
    if (s.len >= 2 && s.ptr[0] == 'W' && s.ptr[1] == '/') {
        weak = true;
        i = 2;
    }
    if (i >= s.len || s.ptr[i] != '"') {
        return TETHER_EINVAL;
    }
    size_t j = i + 1;
    for (; j < s.len && s.ptr[j] != '"'; j++) {
        unsigned char c = (unsigned char)s.ptr[j];
        if (c <= 0x20 || c == 0x7f) {
            return TETHER_EINVAL;
        }
    }
    if (j + 1 != s.len) {
        return TETHER_EINVAL;
    }
    out->weak = weak;
    out->opaque = (struct tt__h1_str){s.ptr + i + 1, j - i - 1};
    return 0;
}

bool tt__h1_etag_strong_eq(const struct tt__h1_etag *a, const struct tt__h1_etag *b)
{
    return !a->weak && !b->weak && a->opaque.len == b->opaque.len &&
           (a->opaque.len == 0 || memcmp(a->opaque.ptr, b->opaque.ptr, a->opaque.len) == 0);
}
