/* SPDX-License-Identifier: MIT */
/* libFuzzer: field-value parsers keep their documented promises; the field writer round-trips. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has(const char *v, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= len; i++) {
        if (tt__h1_str_eq_nocase((struct tt__h1_str){v + i, n}, lit)) {
            return true;
        }
    }
    return false;
}

/* Outputs are written only on success: a failed call leaves the 0xA5 pattern alone. */
#define RUN(call, out)                                                                             \
    (memset(&(out), 0xA5, sizeof(out)), rv = (call),                                               \
     FUZZ_CHECK(rv == 0 || rv == TETHER_EINVAL || rv == TETHER_ERANGE),                            \
     rv == 0 ? (void)0 : FUZZ_CHECK(memcmp(&(out), pattern, sizeof(out)) == 0))

static void check_date(const char *v, size_t len, int64_t unix_s)
{
    static const char days[] = "SunMonTueWedThuFriSat", months[] = "JanFebMarAprMayJunJulAugSep"
                                                                   "OctNovDec";
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!has(v, len, "GMT") || gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 || tm.tm_year > 8099) {
        return;
    }
    char s[64]; /* IMF-fixdate of what was parsed parses back to the same instant */
    int n = snprintf(s, sizeof(s), "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT", days + 3 * tm.tm_wday,
                     tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    int64_t back = 0;
    FUZZ_CHECK(n == 29 && ttx_http_date_parse(s, 29, &back) == 0 && back == unix_s);
}

static void check_writer(const char *v, size_t len, uint64_t seed)
{
    struct tt__buf b;
    tt__buf_init(&b, SIZE_MAX);
    FUZZ_CHECK((tt__h1_write_field(&b, v, len, "v", 1) == 0) == tt__h1_is_token(v, len));
    tt__buf_reset(&b);
    FUZZ_CHECK(tt__buf_append_str(&b, "GET / HTTP/1.1\r\nHost: h\r\n") == 0);
    bool ok = tt__h1_is_field_value(v, len);
    FUZZ_CHECK((tt__h1_write_field(&b, "X-Fuzz", 6, v, len) == 0) == ok);
    if (ok) { /* what the writer accepts reads back identical */
        struct tt__h1_field f[4];
        struct tt__h1_head h = {.fields = f, .fields_cap = 4};
        struct tt__h1_parser p;
        tt__h1_parser_init(&p, NULL);
        FUZZ_CHECK(tt__buf_append_str(&b, "\r\n") == 0);
        FUZZ_CHECK(tt__h1_parse_request(&p, b.data, b.len, &h) == (int)b.len && h.nfields == 2);
        FUZZ_CHECK(tt__h1_str_eq_nocase(f[1].name, "X-Fuzz") && f[1].value.len == len);
        FUZZ_CHECK(len == 0 || memcmp(f[1].value.ptr, v, len) == 0);
    }
    int status = 100 + (int)(seed % 900); /* a response head with the standard reason */
    tt__buf_reset(&b);
    FUZZ_CHECK(tt__h1_write_response_head(&b, status, NULL, NULL, 0) == 0);
    struct tt__h1_head h = {.fields = NULL, .fields_cap = 0};
    struct tt__h1_parser p;
    tt__h1_parser_init(&p, NULL);
    FUZZ_CHECK(tt__h1_parse_response(&p, b.data, b.len, &h, NULL) == (int)b.len);
    FUZZ_CHECK(h.status == status && h.nfields == 0);
    FUZZ_CHECK(tt__h1_str_eq_nocase(h.reason, tt__h1_status_reason(status)));
    tt__buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    const char *v = (const char *)data + 1;
    size_t len = size - 1;
    uint64_t seed = fuzz_hash(data, size);
    int64_t now = 1700000000000 + (int64_t)(seed % 4000000000000u); /* 2023..2150, in ms */
    unsigned char pattern[64];
    memset(pattern, 0xA5, sizeof(pattern));
    int rv;
    switch (data[0] % 10) {
    case 0: {
        struct tt__h1_keep_alive ka;
        RUN(tt__h1_parse_keep_alive(v, len, &ka), ka);
        FUZZ_CHECK(rv || ((!ka.has_timeout || has(v, len, "timeout")) &&
                          (!ka.has_max || has(v, len, "max"))));
        break;
    }
    case 1: {
        uint64_t n;
        RUN(tt__h1_parse_content_length(v, len, &n), n);
        char s[24];
        snprintf(s, sizeof(s), "%" PRIu64, n);
        FUZZ_CHECK(rv || (has(v, len, s) && !memchr(v, '-', len) && !memchr(v, '+', len)));
        break;
    }
    case 2: {
        struct tt__h1_transfer_encoding t;
        RUN(tt__h1_parse_transfer_encoding(v, len, &t), t);
        FUZZ_CHECK(rv || (t.ncodings >= 1 && (!t.chunked_final || has(v, len, "chunked"))));
        FUZZ_CHECK(rv || t.other_codings || t.chunked_final);
        FUZZ_CHECK(rv || ((!t.chunked_twice || t.ncodings >= 2) &&
                          (!t.chunked_not_final || (t.ncodings >= 2 && t.other_codings))));
        break;
    }
    case 3: {
        unsigned flags;
        RUN(tt__h1_parse_connection(v, len, &flags), flags);
        FUZZ_CHECK(rv || (flags & ~7u) == 0);
        FUZZ_CHECK(rv || !(flags & TT__H1_CONN_CLOSE) || has(v, len, "close"));
        FUZZ_CHECK(rv || !(flags & TT__H1_CONN_KEEP_ALIVE) || has(v, len, "keep-alive"));
        FUZZ_CHECK(rv || !(flags & TT__H1_CONN_UPGRADE) || has(v, len, "upgrade"));
        break;
    }
    case 4: {
        int64_t t;
        RUN(ttx_http_date_parse(v, len, &t), t);
        if (rv == 0) {
            check_date(v, len, t);
        }
        break;
    }
    case 5: {
        uint64_t d;
        int64_t t;
        RUN(tt__h1_parse_retry_after(v, len, now, &d), d);
        uint64_t secs = 0;
        size_t ndigits = 0;
        while (ndigits < len && v[ndigits] >= '0' && v[ndigits] <= '9') {
            secs = secs * 10 + (uint64_t)(v[ndigits++] - '0');
        }
        FUZZ_CHECK(len == 0 || ndigits < len || len > 9 || (rv == 0 && d == secs * 1000));
        if (rv == 0 && ttx_http_date_parse(v, len, &t) == 0 && t > -1000000000000 &&
            t < 1000000000000) {
            FUZZ_CHECK(d == (t * 1000 > now ? (uint64_t)(t * 1000 - now) : 0));
        }
        break;
    }
    case 6: {
        uint64_t d, later = 0;
        RUN(tt__h1_parse_ratelimit_reset(v, len, now, &d), d);
        FUZZ_CHECK(rv || tt__h1_parse_ratelimit_reset(v, len, now + 1000, &later) == 0);
        FUZZ_CHECK(rv || later <= d); /* time passing never pushes the reset further away */
        break;
    }
    case 7: {
        struct ttx_content_range r;
        RUN(ttx_content_range_parse(v, len, &r), r);
        FUZZ_CHECK(rv || r.unsatisfied || r.first <= r.last);
        FUZZ_CHECK(rv || !r.has_complete || r.unsatisfied || r.last < r.complete);
        FUZZ_CHECK(rv || !r.unsatisfied || r.has_complete);
        break;
    }
    case 8: {
        struct ttx_etag e;
        RUN(ttx_etag_parse(v, len, &e), e);
        if (rv == 0) {
            FUZZ_CHECK(fuzz_span_in((struct tt__h1_str){e.opaque.ptr, e.opaque.len}, v, len) &&
                       e.opaque.ptr > v);
            FUZZ_CHECK(e.opaque.ptr[-1] == '"' && e.opaque.ptr + e.opaque.len < v + len);
            FUZZ_CHECK(e.opaque.ptr[e.opaque.len] == '"');
            FUZZ_CHECK(e.weak == (e.opaque.ptr - v >= 3 && memcmp(e.opaque.ptr - 3, "W/", 2) == 0));
            FUZZ_CHECK(ttx_etag_strong_eq(&e, &e) == !e.weak);
        }
        break;
    }
    default:
        check_writer(v, len, seed);
    }
    return 0;
}
