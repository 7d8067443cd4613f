/* SPDX-License-Identifier: MIT */
/* Strict, zero-copy HTTP/1.1: incremental head parser, chunked decoder, writer, field parsers. */
#ifndef TETHER_HTTP1_H
#define TETHER_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/*
 * Every framing violation is its own error, with the status a server answers it with
 * (anchors/server-pool.md S8, S12 and the §5.3 probe table). Append only.
 */
#define TT__H1_ERR_MAP(X)                                                                          \
    X(NONE, 0, "no error")                                                                         \
    X(HEAD_TOO_LARGE, 431, "header section exceeds the size limit")                                \
    X(TOO_MANY_FIELDS, 431, "too many header fields")                                              \
    X(BARE_CR, 400, "CR not followed by LF")                                                       \
    X(BARE_LF, 400, "LF not preceded by CR")                                                       \
    X(BAD_REQUEST_LINE, 400, "malformed request line")                                             \
    X(BAD_METHOD, 400, "invalid character in method")                                              \
    X(BAD_TARGET, 400, "invalid character in request target")                                      \
    X(BAD_VERSION, 400, "malformed HTTP version")                                                  \
    X(UNSUPPORTED_VERSION, 505, "HTTP version not supported")                                      \
    X(BAD_STATUS_LINE, 502, "malformed status line")                                               \
    X(BAD_STATUS_CODE, 502, "invalid status code")                                                 \
    X(EMPTY_FIELD_NAME, 400, "empty field name")                                                   \
    X(BAD_FIELD_NAME, 400, "invalid character in field name")                                      \
    X(WS_BEFORE_COLON, 400, "whitespace between field name and colon")                             \
    X(MISSING_COLON, 400, "field line without a colon")                                            \
    X(OBS_FOLD, 400, "obsolete line folding")                                                      \
    X(BAD_FIELD_VALUE, 400, "invalid character in field value")                                    \
    X(BAD_CONTENT_LENGTH, 400, "invalid Content-Length")                                           \
    X(CONTENT_LENGTH_OVERFLOW, 400, "Content-Length too large")                                    \
    X(DUPLICATE_CONTENT_LENGTH, 400, "conflicting Content-Length values")                          \
    X(TE_WITH_CL, 400, "both Transfer-Encoding and Content-Length")                                \
    X(TE_NOT_CHUNKED, 400, "final transfer coding is not chunked")                                 \
    X(TE_UNSUPPORTED, 501, "unsupported transfer coding")                                          \
    X(TE_IN_HTTP10, 400, "Transfer-Encoding in an HTTP/1.0 request")                               \
    X(BAD_TRANSFER_ENCODING, 400, "malformed Transfer-Encoding")                                   \
    X(MISSING_HOST, 400, "HTTP/1.1 request without Host")                                          \
    X(DUPLICATE_HOST, 400, "more than one Host field")                                             \
    X(BAD_CONNECTION, 400, "invalid Connection field")                                             \
    X(BAD_CHUNK_SIZE, 400, "invalid chunk size")                                                   \
    X(CHUNK_SIZE_OVERFLOW, 400, "chunk size too large")                                            \
    X(BAD_CHUNK_EXT, 400, "invalid chunk extension")                                               \
    X(CHUNK_EXT_TOO_LARGE, 413, "chunk extension exceeds the size limit")                          \
    X(CHUNK_MISSING_CRLF, 400, "chunk data not followed by CRLF")                                  \
    X(TRAILER_TOO_LARGE, 431, "trailer section exceeds the size limit")                            \
    X(NOT_HTTP, 502, "the response does not start with HTTP/ (HTTP/0.9, or not HTTP at all)")      \
    X(UNEXPECTED_101, 502, "101 Switching Protocols, but the request asked for no upgrade")

#define TT__H1_ERR_ENUM_ENTRY(name, status, msg) TT__H1_ERR_##name,
enum tt__h1_error { TT__H1_ERR_MAP(TT__H1_ERR_ENUM_ENTRY) TT__H1_ERR_COUNT };
#undef TT__H1_ERR_ENUM_ENTRY

/* "BARE_LF", the status a server answers with (400, 413, 431, 501, 505; 502 for a bad
 * response), and a sentence for logs and error bodies. Static strings. */
const char *tt__h1_err_name(enum tt__h1_error e);
int tt__h1_err_status(enum tt__h1_error e);
const char *tt__h1_err_message(enum tt__h1_error e);
/* Looks a name up ("BARE_LF" -> TT__H1_ERR_BARE_LF); -1 when unknown. */
int tt__h1_err_from_name(const char *name, size_t len);

/* Defaults from DESIGN.md §4 / server-pool.md S8. */
#define TT__H1_DEFAULT_MAX_HEAD_BYTES 16384u
#define TT__H1_DEFAULT_MAX_FIELDS 100u
#define TT__H1_DEFAULT_MAX_CHUNK_EXT_BYTES 1024u

struct tt__h1_limits {
    size_t max_head_bytes;      /* start line + fields + final CRLF; also the trailer section */
    size_t max_fields;          /* header fields (and trailer fields) */
    size_t max_chunk_ext_bytes; /* per chunk, everything between the size and its CRLF */
};
void tt__h1_limits_default(struct tt__h1_limits *lim);

/* A span inside the caller's buffer: nothing is copied, nothing is NUL-terminated. */
struct tt__h1_str {
    const char *ptr;
    size_t len;
};

struct tt__h1_field {
    struct tt__h1_str name;  /* as received (case preserved) */
    struct tt__h1_str value; /* leading and trailing whitespace removed */
};

enum tt__h1_body_kind {
    TT__H1_BODY_NONE = 0,   /* no body follows the head */
    TT__H1_BODY_LENGTH,     /* content_length bytes follow */
    TT__H1_BODY_CHUNKED,    /* decode with tt__h1_chunked_decode */
    TT__H1_BODY_UNTIL_CLOSE /* responses only: the body ends when the connection does */
};

struct tt__h1_head {
    /* Set by the caller before parsing: where field spans go (at most
     * min(fields_cap, limits.max_fields) fields). */
    struct tt__h1_field *fields;
    size_t fields_cap;

    /* Filled by the parser; spans point into the parsed buffer. */
    size_t nfields;
    struct tt__h1_str method; /* requests */
    struct tt__h1_str target; /* requests */
    int status;               /* responses: 100..999 */
    struct tt__h1_str reason; /* responses; may be empty */
    int version_minor;        /* HTTP/1.<minor>: 0 or 1 */
    enum tt__h1_body_kind body;
    uint64_t content_length; /* when body == TT__H1_BODY_LENGTH */
    bool keep_alive;         /* the connection may carry another message after this one */
    bool conn_close;         /* Connection: close was present */
    bool conn_keep_alive;    /* Connection: keep-alive was present */
    bool conn_upgrade;       /* Connection: upgrade was present */
    bool expect_continue;    /* Expect: 100-continue (requests) */
    struct tt__h1_str host;  /* requests: the Host value; empty when absent */
    struct tt__h1_str keep_alive_value; /* the Keep-Alive field's value; empty when absent */
    size_t head_len; /* bytes of the head, including leading CRLFs and the final CRLF */
};

/*
 * Incremental head parser. The caller appends received bytes to one buffer and calls the parse
 * function with the whole buffer each time; the parser remembers how far it has already checked,
 * so a head arriving one byte at a time costs O(n) in total, and it never copies.
 */
struct tt__h1_parser {
    struct tt__h1_limits limits;
    size_t scan_pos;   /* bytes already searched for the end of the head */
    size_t line_start; /* start of the line being searched */
    bool started;      /* a non-empty line was seen (leading CRLFs are skipped) */
    enum tt__h1_error error;
    size_t error_offset; /* byte offset of the violation */
};

/* `lim` is borrowed and copied; NULL means the defaults. */
void tt__h1_parser_init(struct tt__h1_parser *p, const struct tt__h1_limits *lim);
/* Forgets progress, ready for the next message (the limits stay). */
void tt__h1_parser_reset(struct tt__h1_parser *p);

/*
 * Parses a request head at the start of buf[0..len). Returns the head length (> 0) when the
 * head is complete and valid and `h` is filled; TETHER_EAGAIN when more bytes are needed (call
 * again with the same bytes plus more); TETHER_EHTTP on a violation, with p->error saying which.
 * After an error the parser stays failed until reset.
 */
int tt__h1_parse_request(struct tt__h1_parser *p, const char *buf, size_t len,
                         struct tt__h1_head *h);

/*
 * The same for a response head. `request_method` (borrowed, may be NULL) decides framing: a
 * response to HEAD has no body, whatever its fields say.
 */
int tt__h1_parse_response(struct tt__h1_parser *p, const char *buf, size_t len,
                          struct tt__h1_head *h, const char *request_method);

/* Looks a field up by name, case-insensitively; the first match or NULL. */
const struct tt__h1_field *tt__h1_head_find(const struct tt__h1_head *h, const char *name);

/*
 * Incremental chunked-body decoder: zero-copy, strict (RFC 9112 §7.1, S12: CR must be followed
 * by LF everywhere, chunk data must be followed by CRLF, sizes never overflow, extensions are
 * well-formed and bounded, trailers are validated like header fields and discarded).
 */
struct tt__h1_chunked {
    struct tt__h1_limits limits;
    int state;
    uint64_t remaining;    /* data bytes left in the current chunk */
    size_t size_digits;    /* hex digits seen in the current size */
    size_t ext_len;        /* bytes of the current chunk's extensions */
    size_t trailer_len;    /* bytes of the trailer section */
    size_t trailer_fields; /* trailer fields seen */
    uint64_t body_len;     /* decoded bytes so far */
    enum tt__h1_error error;
};

#define TT__H1_CHUNKED_DONE 1

void tt__h1_chunked_init(struct tt__h1_chunked *c, const struct tt__h1_limits *lim);

/*
 * Decodes from buf[0..len). Stores in *consumed how many bytes were used and, when chunk data
 * was reached, the data span (inside buf) in *data; it stops right after one data span so the
 * caller can deliver it, so call again with the rest. Returns TT__H1_CHUNKED_DONE once the last
 * chunk and the trailers are consumed (bytes after them belong to the next message), 0 when it
 * needs to be called again (with the rest of buf, or with more input once all was consumed),
 * or TETHER_EHTTP with c->error set.
 */
int tt__h1_chunked_decode(struct tt__h1_chunked *c, const char *buf, size_t len, size_t *consumed,
                          struct tt__h1_str *data);

/* --- write.c: serialising messages. Every name and value is validated first, so a caller can
 * never inject CR/LF or a bad token into the stream (TETHER_EINVAL). */

/* The standard reason phrase ("Not Found"), or "Unknown" for an unregistered code. */
const char *tt__h1_status_reason(int status);
/* `fields` may hold Host, Content-Length, Transfer-Encoding: the writer adds nothing itself. */
int tt__h1_write_request_head(struct tt__buf *out, const char *method, const char *target,
                              const struct tt__h1_field *fields, size_t nfields);
/* `reason` may be NULL for the standard phrase. */
int tt__h1_write_response_head(struct tt__buf *out, int status, const char *reason,
                               const struct tt__h1_field *fields, size_t nfields);
int tt__h1_write_field(struct tt__buf *out, const char *name, size_t name_len, const char *value,
                       size_t value_len);
/* One chunk: "<hex size>\r\n<data>\r\n". len == 0 is refused (that is the last chunk). */
int tt__h1_write_chunk(struct tt__buf *out, const void *data, size_t len);
/* "0\r\n\r\n". */
int tt__h1_write_last_chunk(struct tt__buf *out);

/* Character classes (RFC 9110 §5.6.2 tchar; field-value bytes; visible ASCII). */
bool tt__h1_is_token(const char *s, size_t len);
bool tt__h1_is_field_value(const char *s, size_t len);
bool tt__h1_str_eq_nocase(struct tt__h1_str s, const char *lit);

/* --- fields.c: field-value parsers. Each returns 0 or TETHER_EINVAL (a bad value is an error,
 * never silently zero), or TETHER_ERANGE for a well-formed number past UINT64_MAX (except
 * Keep-Alive, where that is EINVAL), and writes its outputs only on success. */

struct tt__h1_keep_alive {
    bool has_timeout;
    uint64_t timeout_s; /* Keep-Alive: timeout=N */
    bool has_max;
    uint64_t max; /* Keep-Alive: max=N */
};
int tt__h1_parse_keep_alive(const char *v, size_t len, struct tt__h1_keep_alive *out);

/* Content-Length with the list rule of RFC 9112 §6.3: "5" or "5, 5" (identical values) is 5;
 * "5, 6", "", "-1", "+5", " 5x" are TETHER_EINVAL, a value past UINT64_MAX is TETHER_ERANGE. */
int tt__h1_parse_content_length(const char *v, size_t len, uint64_t *out);

/* Transfer-Encoding: the list of codings (case-insensitive, parameters allowed on non-chunked
 * codings). */
struct tt__h1_transfer_encoding {
    bool chunked_final;     /* the last coding is chunked */
    bool chunked_twice;     /* chunked appears more than once (or not last, then again) */
    bool chunked_not_final; /* chunked appears before another coding */
    size_t ncodings;
    bool other_codings; /* something other than chunked appears */
};
int tt__h1_parse_transfer_encoding(const char *v, size_t len, struct tt__h1_transfer_encoding *out);

/* Connection: comma-separated tokens; unknown tokens are allowed (they name hop-by-hop
 * fields), empty list elements are skipped, a non-token is TETHER_EINVAL. */
#define TT__H1_CONN_CLOSE 0x1u
#define TT__H1_CONN_KEEP_ALIVE 0x2u
#define TT__H1_CONN_UPGRADE 0x4u
int tt__h1_parse_connection(const char *v, size_t len, unsigned *flags);

/* Retry-After: delay-seconds or an HTTP-date. The delay is in milliseconds from `now_unix_ms`;
 * a date in the past gives 0. */
int tt__h1_parse_retry_after(const char *v, size_t len, int64_t now_unix_ms, uint64_t *delay_ms);

/* X-RateLimit-Reset: either seconds until the reset or, when the number is large enough to be
 * one (>= 1e9), an absolute Unix time in seconds (GitHub's form); fractions allowed. Returns the
 * delay in milliseconds from `now_unix_ms` (0 when already past). */
int tt__h1_parse_ratelimit_reset(const char *v, size_t len, int64_t now_unix_ms,
                                 uint64_t *delay_ms);

#endif
