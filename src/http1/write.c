/* SPDX-License-Identifier: MIT */
/* Serialises HTTP/1.1 heads and chunked framing, refusing anything that could corrupt framing. */
#include <stdio.h>
#include <string.h>

#include "tether/http.h"

#include "http1/chars.h"
#include "http1/http1.h"

static const struct {
    int status;
    const char *reason;
} write_reasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {507, "Insufficient Storage"},
    {511, "Network Authentication Required"},
};

const char *tether_http_reason(int status)
{
    for (size_t i = 0; i < tt__countof(write_reasons); i++) {
        if (write_reasons[i].status == status) {
            return write_reasons[i].reason;
        }
    }
    return "";
}

const char *tt__h1_status_reason(int status)
{
    const char *r = tether_http_reason(status);
    return *r ? r : "Unknown";
}

int tt__h1_write_field(struct tt__buf *out, const char *name, size_t name_len, const char *value,
                       size_t value_len)
{
    if (!tt__h1_is_token(name, name_len) || !tt__h1_is_field_value(value, value_len)) {
        return TETHER_EINVAL;
    }
    int rv = tt__buf_reserve(out, name_len + value_len + 4);
    if (rv != 0) {
        return rv;
    }
    char *p = out->data + out->len;
    memcpy(p, name, name_len);
    p += name_len;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, value_len);
    p += value_len;
    *p++ = '\r';
    *p++ = '\n';
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
    return 0;
}

static int write_fields_and_end(struct tt__buf *out, size_t mark, const struct tt__h1_field *fields,
                                size_t nfields)
{
    int rv = 0;
    for (size_t i = 0; i < nfields && rv == 0; i++) {
        rv = tt__h1_write_field(out, fields[i].name.ptr, fields[i].name.len, fields[i].value.ptr,
                                fields[i].value.len);
    }
    if (rv == 0) {
        rv = tt__buf_append(out, "\r\n", 2);
    }
    if (rv != 0) {
        /* Leave the buffer as it was: a half-written head must never reach the wire. */
        out->len = mark;
        if (out->data) {
            out->data[mark] = '\0';
        }
    }
    return rv;
}

int tt__h1_write_request_head(struct tt__buf *out, const char *method, const char *target,
                              const struct tt__h1_field *fields, size_t nfields)
{
    size_t mlen = strlen(method);
    size_t tlen = strlen(target);
    if (!tt__h1_is_token(method, mlen) || tlen == 0) {
        return TETHER_EINVAL;
    }
    for (size_t i = 0; i < tlen; i++) {
        if (!tt__h1_target_char(target[i])) {
            return TETHER_EINVAL;
        }
    }
    size_t mark = out->len;
    /* Copied, not formatted: a client writes one per request. */
    static const char version[] = " HTTP/1.1\r\n";
    int rv = tt__buf_reserve(out, mlen + 1 + tlen + sizeof(version) - 1);
    if (rv != 0) {
        return rv;
    }
    char *p = out->data + out->len;
    memcpy(p, method, mlen);
    p += mlen;
    *p++ = ' ';
    memcpy(p, target, tlen);
    p += tlen;
    memcpy(p, version, sizeof(version) - 1);
    p += sizeof(version) - 1;
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
    return write_fields_and_end(out, mark, fields, nfields);
}

int tt__h1_write_response_head(struct tt__buf *out, int status, const char *reason,
                               const struct tt__h1_field *fields, size_t nfields)
{
    if (status < 100 || status > 999) {
        return TETHER_EINVAL;
    }
    if (!reason) {
        reason = tt__h1_status_reason(status);
    }
    size_t rlen = strlen(reason);
    for (size_t i = 0; i < rlen; i++) {
        if (!tt__h1_vchar(reason[i])) {
            return TETHER_EINVAL;
        }
    }
    size_t mark = out->len;
    int rv = tt__buf_appendf(out, "HTTP/1.1 %03d %s\r\n", status, reason);
    if (rv != 0) {
        return rv;
    }
    return write_fields_and_end(out, mark, fields, nfields);
}

int tt__h1_write_chunk(struct tt__buf *out, const void *data, size_t len)
{
    if (len == 0) {
        return TETHER_EINVAL;
    }
    char size[24];
    int n = snprintf(size, sizeof(size), "%zx\r\n", len);
    int rv = tt__buf_reserve(out, (size_t)n + len + 2);
    if (rv != 0) {
        return rv;
    }
    memcpy(out->data + out->len, size, (size_t)n);
    out->len += (size_t)n;
    memcpy(out->data + out->len, data, len);
    out->len += len;
    memcpy(out->data + out->len, "\r\n", 2);
    out->len += 2;
    out->data[out->len] = '\0';
    return 0;
}

int tt__h1_write_last_chunk(struct tt__buf *out)
{
    return tt__buf_append(out, "0\r\n\r\n", 5);
}
