/* SPDX-License-Identifier: MIT */
/* llhttp as a parser_bench peer. It lives in its own file because llhttp.h and http_parser.h
 * define the same names (HTTP_REQUEST, enum http_method...), so one file cannot include both. */
#ifndef TETHER_BENCH_PARSER_PEER_H
#define TETHER_BENCH_PARSER_PEER_H

#include <stdbool.h>
#include <stddef.h>

#include "http1/http1.h"

#define PEER_MAX_FIELDS 64

/* What a peer's callbacks record: the same spans tether's head gives. */
struct peer_result {
    struct tt__h1_str url, status, body;
    struct tt__h1_field fields[PEER_MAX_FIELDS];
    size_t nfields;
    bool headers_complete;
};

/* One message as a server sees it: fresh parser state, the whole buffer, one execute call.
 * Returns the bytes consumed; *err is llhttp's error code (0 is HPE_OK). */
size_t llhttp_peer_once(const char *buf, size_t len, bool request, struct peer_result *r, int *err);
const char *llhttp_peer_error_name(int err);
/* "8.1.0" */
const char *llhttp_peer_version(void);

#endif
