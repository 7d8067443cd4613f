/* SPDX-License-Identifier: MIT */
/* "HOST:PORT" text split into its parts, the one place that knows the bracket and colon rules
 * (URL authorities, listen and upstream addresses, the command's flags). No name resolution. */
#ifndef TETHER_UTIL_HOSTPORT_H
#define TETHER_UTIL_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/str.h"

enum ttx_hostport_err {
    TTX_HOSTPORT_OK = 0,
    TTX_HOSTPORT_BAD_BRACKETS,   /* "[::1", "[::1]x", "a[b]" */
    TTX_HOSTPORT_TOO_MANY_COLONS /* "::1:80": an IPv6 literal needs brackets */
};

struct ttx_hostport {
    struct ttx_slice host; /* without brackets; may be empty (":8080", "") */
    bool bracketed;        /* written as "[...]" */
    bool has_port;         /* a ':' separates a port (whose text may be empty) */
    struct ttx_slice port; /* the text after that ':', unchecked */
};

/* Splits `len` bytes: "host", "host:port", "[v6]", "[v6]:port", ":port". Purely syntactic:
 * the caller checks the host's characters and reads the port with ttx_parse_port (or, for an
 * upstream, passes a service name on). Returns TTX_HOSTPORT_OK and fills *out, or an error. */
enum ttx_hostport_err ttx_hostport_split(const char *s, size_t len, struct ttx_hostport *out);

/* A decimal port of one to five digits, at most 65535 (0 allowed: callers decide whether it
 * means "any"). Returns 0, TETHER_EINVAL (empty, not digits, too long) or TETHER_ERANGE. */
int ttx_parse_port(struct ttx_slice text, uint16_t *out);

#endif
