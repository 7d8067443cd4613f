/* SPDX-License-Identifier: MIT */
/* Entity tags and the validators built on them (RFC 9110 §8.8.3, §13.1): shared by the
 * library (resumed downloads) and the command (`serve --root` answers 304 and If-Range). */
#ifndef TETHER_UTIL_ETAG_H
#define TETHER_UTIL_ETAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/str.h"

/* "xyz" or W/"xyz". `opaque` points inside the parsed value, without the quotes. */
struct ttx_etag {
    bool weak;
    struct ttx_slice opaque;
};
/* One entity-tag, surrounding OWS allowed. Returns 0 or TETHER_EINVAL. */
int ttx_etag_parse(const char *v, size_t len, struct ttx_etag *out);
/* Strong comparison (§8.8.3.2): both strong and the same opaque bytes. */
bool ttx_etag_strong_eq(const struct ttx_etag *a, const struct ttx_etag *b);
/* Whether an If-None-Match value is "*" or lists `etag` (a full entity-tag with its quotes,
 * e.g. "\"abc\""), by weak comparison (§13.1.2). A malformed list matches nothing. */
bool ttx_etag_list_match(const char *list, const char *etag);
/* If-Range (§13.1.5): a strong entity-tag equal to `etag`, or an HTTP-date equal to
 * `last_modified` (seconds since the epoch). A weak tag never matches. */
bool ttx_if_range_match(const char *value, const char *etag, int64_t last_modified);

#endif
