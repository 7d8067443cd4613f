/* SPDX-License-Identifier: MIT */
/* Shared helpers for the fuzz targets: a check that aborts, span bounds, head invariants. */
#ifndef TETHER_FUZZ_UTIL_H
#define TETHER_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1/http1.h"
#include "util/etag.h"
#include "util/http_date.h"
#include "util/range.h"

/* Unlike assert(), stays on whatever the build type (a fuzzer without checks finds nothing). */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

_Noreturn void fuzz_fail(const char *expr, const char *file, int line);

/* Whether two parses that both fail must name the same violation at the same offset (the
 * default); TETHER_FUZZ_LAX_ERRORS=1 only requires that both fail. */
bool fuzz_strict_errors(void);

/* FNV-1a: a split point or a seed that follows the input. */
uint64_t fuzz_hash(const uint8_t *data, size_t size);

/* s lies inside buf[0..len) (an empty span may sit anywhere in it, or be NULL). */
bool fuzz_span_in(struct tt__h1_str s, const char *buf, size_t len);

/* Bytes of CRLF pairs at the start of buf (skipped before a start line). */
size_t fuzz_leading_crlf(const char *buf, size_t len);

/* Every invariant a successful parse promises about `h` for the head at the start of buf.
 * `request_method` is NULL for requests' own checks, or what the response answered. */
void fuzz_check_head(const struct tt__h1_head *h, const struct tt__h1_limits *lim, const char *buf,
                     size_t len, bool request, const char *request_method);

/* Two parses of the same bytes (possibly in different buffers) found the same head. */
void fuzz_check_same_head(const struct tt__h1_head *a, const char *abuf,
                          const struct tt__h1_head *b, const char *bbuf);

/* Parses buf[0..len) as a request or response head: one call on an exact-size copy of the first
 * `split` bytes, then (on TETHER_EAGAIN) one call on an exact-size copy of all of it, so reads
 * past `len` are caught and the parser must cope with the buffer moving. Returns the last
 * result; *copy (to free) is the buffer the spans in `h` point into. */
int fuzz_parse_split(struct tt__h1_parser *p, const char *buf, size_t len, size_t split,
                     struct tt__h1_head *h, bool request, const char *request_method, char **copy);

#endif
