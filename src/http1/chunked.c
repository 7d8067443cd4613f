/* SPDX-License-Identifier: MIT */
/* Strict incremental decoder for the chunked transfer coding (RFC 9112 §7.1). */
#include "http1/chars.h"
#include "http1/http1.h"

/* One state per position in the grammar, so input may be split anywhere. */
enum chunked_state {
    CH_SIZE_START = 0, /* first hex digit of a chunk size */
    CH_SIZE,           /* more hex digits, ';', BWS or CR */
    CH_SIZE_BWS,       /* BWS after the size: only ';' may follow */
    CH_EXT_NAME_START, /* after ';', BWS then a token */
    CH_EXT_NAME,
    CH_EXT_AFTER_NAME, /* BWS after a name: '=', ';' or CR */
    CH_EXT_VALUE_START,
    CH_EXT_VALUE_TOKEN,
    CH_EXT_VALUE_QUOTED,
    CH_EXT_VALUE_ESCAPE,
    CH_EXT_AFTER_VALUE, /* BWS after a value: ';' or CR */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START, /* start of a trailer line, or the final CRLF */
    CH_TRAILER_NAME,
    CH_TRAILER_NAME_WS,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE,
    CH_ERROR
};

void tt__h1_chunked_init(struct tt__h1_chunked *c, const struct tt__h1_limits *lim)
{
    if (lim) {
        c->limits = *lim;
    } else {
        tt__h1_limits_default(&c->limits);
    }
    c->state = CH_SIZE_START;
    c->remaining = 0;
    c->size_digits = 0;
    c->ext_len = 0;
    c->trailer_len = 0;
    c->trailer_fields = 0;
    c->body_len = 0;
    c->error = TT__H1_ERR_NONE;
}

static unsigned chunked_hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return (unsigned)(ch - '0');
    }
    return (unsigned)(tt__h1_lower(ch) - 'a' + 10);
}

/* qdtext and the byte after a backslash (RFC 9110 §5.6.4). */
static bool chunked_qdtext(char ch)
{
    return ch == '\t' || ch == ' ' || (tt__h1_vchar(ch) && ch != '"' && ch != '\\');
}

int tt__h1_chunked_decode(struct tt__h1_chunked *c, const char *buf, size_t len, size_t *consumed,
                          struct tt__h1_str *data)
{
    size_t i = 0;
    enum tt__h1_error e = TT__H1_ERR_NONE;
    data->ptr = NULL;
    data->len = 0;
    if (c->state == CH_ERROR) {
        *consumed = 0;
        return TETHER_EHTTP;
    }
    while (i < len && c->state != CH_DONE) {
        if (c->state == CH_DATA) {
            size_t avail = len - i;
            size_t n = c->remaining < avail ? (size_t)c->remaining : avail;
            data->ptr = buf + i;
            data->len = n;
            c->remaining -= n;
            c->body_len += n;
            i += n;
            if (c->remaining == 0) {
                c->state = CH_DATA_CR;
            }
            /* Hand one span back at a time so the caller can deliver it without copying. */
            *consumed = i;
            return 0;
        }
        char ch = buf[i++];
        if (c->state >= CH_SIZE_BWS && c->state <= CH_EXT_AFTER_VALUE && ch != '\r') {
            if (++c->ext_len > c->limits.max_chunk_ext_bytes) {
                e = TT__H1_ERR_CHUNK_EXT_TOO_LARGE;
                break;
            }
        } else if (c->state >= CH_TRAILER_START && c->state <= CH_END_LF) {
            if (++c->trailer_len > c->limits.max_head_bytes) {
                e = TT__H1_ERR_TRAILER_TOO_LARGE;
                break;
            }
        }
        if (ch == '\n' && c->state != CH_SIZE_LF && c->state != CH_DATA_LF &&
            c->state != CH_TRAILER_LF && c->state != CH_END_LF) {
            e = TT__H1_ERR_BARE_LF;
            break;
        }
        switch (c->state) {
        case CH_SIZE_START:
            if (!tt__h1_hexdigit(ch)) {
                e = TT__H1_ERR_BAD_CHUNK_SIZE;
                break;
            }
            c->remaining = chunked_hexval(ch);
            c->size_digits = 1;
            c->ext_len = 0;
            c->state = CH_SIZE;
            break;
        case CH_SIZE:
            if (tt__h1_hexdigit(ch)) {
                /* Sixteen hex digits fill 64 bits; more is an overflow even when they are
                 * leading zeros, which keeps the work per size bounded. */
                if (c->remaining > (UINT64_MAX >> 4) || c->size_digits >= 16) {
                    e = TT__H1_ERR_CHUNK_SIZE_OVERFLOW;
                    break;
                }
                c->remaining = (c->remaining << 4) | chunked_hexval(ch);
                c->size_digits++;
            } else if (ch == ';') {
                c->ext_len = 1;
                c->state = CH_EXT_NAME_START;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else if (tt__h1_ows(ch)) {
                c->ext_len = 1;
                c->state = CH_SIZE_BWS;
            } else {
                e = TT__H1_ERR_BAD_CHUNK_SIZE;
            }
            break;
        case CH_SIZE_BWS:
            if (ch == ';') {
                c->state = CH_EXT_NAME_START;
            } else if (!tt__h1_ows(ch)) {
                e = TT__H1_ERR_BAD_CHUNK_SIZE;
            }
            break;
        case CH_EXT_NAME_START:
            if (tt__h1_tchar(ch)) {
                c->state = CH_EXT_NAME;
            } else if (!tt__h1_ows(ch)) {
                e = TT__H1_ERR_BAD_CHUNK_EXT;
            }
            break;
        case CH_EXT_NAME:
        case CH_EXT_AFTER_NAME:
            if (tt__h1_tchar(ch) && c->state == CH_EXT_NAME) {
                break;
            }
            if (tt__h1_ows(ch)) {
                c->state = CH_EXT_AFTER_NAME;
            } else if (ch == '=') {
                c->state = CH_EXT_VALUE_START;
            } else if (ch == ';') {
                c->state = CH_EXT_NAME_START;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else {
                e = TT__H1_ERR_BAD_CHUNK_EXT;
            }
            break;
        case CH_EXT_VALUE_START:
            if (tt__h1_tchar(ch)) {
                c->state = CH_EXT_VALUE_TOKEN;
            } else if (ch == '"') {
                c->state = CH_EXT_VALUE_QUOTED;
            } else if (!tt__h1_ows(ch)) {
                e = TT__H1_ERR_BAD_CHUNK_EXT;
            }
            break;
        case CH_EXT_VALUE_TOKEN:
        case CH_EXT_AFTER_VALUE:
            if (tt__h1_tchar(ch) && c->state == CH_EXT_VALUE_TOKEN) {
                break;
            }
            if (tt__h1_ows(ch)) {
                c->state = CH_EXT_AFTER_VALUE;
            } else if (ch == ';') {
                c->state = CH_EXT_NAME_START;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else {
                e = TT__H1_ERR_BAD_CHUNK_EXT;
            }
            break;
        case CH_EXT_VALUE_QUOTED:
            if (ch == '"') {
                c->state = CH_EXT_AFTER_VALUE;
            } else if (ch == '\\') {
                c->state = CH_EXT_VALUE_ESCAPE;
            } else if (!chunked_qdtext(ch)) {
                /* A CR here ends the line with the quote still open. */
                e = TT__H1_ERR_BAD_CHUNK_EXT;
            }
            break;
        case CH_EXT_VALUE_ESCAPE:
            if (ch == '\t' || ch == ' ' || tt__h1_vchar(ch)) {
                c->state = CH_EXT_VALUE_QUOTED;
            } else {
                e = ch == '\r' ? TT__H1_ERR_BARE_CR : TT__H1_ERR_BAD_CHUNK_EXT;
            }
            break;
        case CH_SIZE_LF:
            if (ch != '\n') {
                e = TT__H1_ERR_BARE_CR;
            } else if (c->remaining == 0) {
                c->state = CH_TRAILER_START;
            } else {
                c->state = CH_DATA;
            }
            break;
        case CH_DATA_CR:
            if (ch != '\r') {
                e = TT__H1_ERR_CHUNK_MISSING_CRLF;
            } else {
                c->state = CH_DATA_LF;
            }
            break;
        case CH_DATA_LF:
            if (ch != '\n') {
                e = TT__H1_ERR_BARE_CR;
            } else {
                c->state = CH_SIZE_START;
            }
            break;
        case CH_TRAILER_START:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (tt__h1_tchar(ch)) {
                if (++c->trailer_fields > c->limits.max_fields) {
                    e = TT__H1_ERR_TOO_MANY_FIELDS;
                } else {
                    c->state = CH_TRAILER_NAME;
                }
            } else if (tt__h1_ows(ch)) {
                e = TT__H1_ERR_OBS_FOLD;
            } else {
                e = ch == ':' ? TT__H1_ERR_EMPTY_FIELD_NAME : TT__H1_ERR_BAD_FIELD_NAME;
            }
            break;
        case CH_TRAILER_NAME:
            if (ch == ':') {
                c->state = CH_TRAILER_VALUE;
            } else if (tt__h1_ows(ch)) {
                c->state = CH_TRAILER_NAME_WS;
            } else if (ch == '\r') {
                e = TT__H1_ERR_MISSING_COLON;
            } else if (!tt__h1_tchar(ch)) {
                e = TT__H1_ERR_BAD_FIELD_NAME;
            }
            break;
        case CH_TRAILER_NAME_WS:
            if (ch == ':') {
                e = TT__H1_ERR_WS_BEFORE_COLON;
            } else if (!tt__h1_ows(ch)) {
                e = TT__H1_ERR_BAD_FIELD_NAME;
            }
            break;
        case CH_TRAILER_VALUE:
            if (ch == '\r') {
                c->state = CH_TRAILER_LF;
            } else if (!tt__h1_vchar(ch)) {
                e = TT__H1_ERR_BAD_FIELD_VALUE;
            }
            break;
        case CH_TRAILER_LF:
            if (ch != '\n') {
                e = TT__H1_ERR_BARE_CR;
            } else {
                c->state = CH_TRAILER_START;
            }
            break;
        case CH_END_LF:
            if (ch != '\n') {
                e = TT__H1_ERR_BARE_CR;
            } else {
                c->state = CH_DONE;
            }
            break;
        default:
            e = TT__H1_ERR_BAD_CHUNK_SIZE;
            break;
        }
        if (e != TT__H1_ERR_NONE) {
            break;
        }
    }
    *consumed = i;
    if (e != TT__H1_ERR_NONE) {
        c->error = e;
        c->state = CH_ERROR;
        return TETHER_EHTTP;
    }
    return c->state == CH_DONE ? TT__H1_CHUNKED_DONE : 0;
}
