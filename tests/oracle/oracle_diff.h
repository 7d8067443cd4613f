/* SPDX-License-Identifier: MIT */
/*
 * Differential testing of our HTTP/1.1 parser against another parser (an "oracle"): every
 * valid vector of tests/vectors goes through both, and the method, target, status, reason,
 * version, fields, framing, body and keep-alive must agree, except on the vectors an oracle's
 * skip list names with the reason its semantics differ. Each oracle is a small front-end
 * (test_http_parser_diff.c, test_llhttp_diff.c) that fills a struct od_msg from its callbacks;
 * the comparison and the test runner are shared here.
 */
#ifndef TETHER_TESTS_ORACLE_DIFF_H
#define TETHER_TESTS_ORACLE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OD_MAX_FIELDS 128

struct od_buf {
    char *p;
    size_t len;
};

/* What the oracle saw of one message. */
struct od_msg {
    const char *request_method; /* set before the run for responses: the request's method */
    struct od_buf method, url, reason, body;
    struct od_buf names[OD_MAX_FIELDS], values[OD_MAX_FIELDS];
    size_t nfields;
    bool in_value, headers_done, complete;
    bool skipped_body; /* the oracle was told the message has no body (HEAD, 1xx, 204, 304) */
    bool chunked, upgrade;
    bool has_length; /* the message had a Content-Length */
    uint64_t content_length;
    int keep_alive;
    unsigned status, http_major, http_minor;
    size_t nparsed;  /* bytes the oracle consumed for this message */
    char error[128]; /* empty when it parsed the message */
};

/* A vector on which the oracle's semantics legitimately differ from RFC 9112 and ours. */
struct od_skip {
    const char *name;
    const char *why;
};

struct od_oracle {
    const char *name;    /* "http_parser", in messages */
    const char *version; /* "2.9.4" */
    /* Parses data (one message, maybe followed by more bytes) into m. */
    void (*run)(const char *data, size_t len, bool response, struct od_msg *m);
    const struct od_skip *skips;
    size_t nskips;
};

/* For the front-ends' callbacks. Field callbacks may come in pieces; after the head they report
 * trailers, which are ignored. Return 0, or -1 when there are too many fields. */
void od_append(struct od_buf *b, const char *at, size_t len);
int od_on_field(struct od_msg *m, const char *at, size_t len);
void od_on_value(struct od_msg *m, const char *at, size_t len);
/* Whether the oracle should be told "no body" for this response (it frames HEAD responses,
 * 1xx, 204 and 304 by their fields unless told). */
bool od_response_has_no_body(const struct od_msg *m);

/* Runs the cmocka test: loads the vectors, compares, reports. Returns main's exit code. */
int od_main(const struct od_oracle *o);

#endif
