/* SPDX-License-Identifier: MIT */
/* HTTP-dates (RFC 9110 §5.6.7), shared by the library (Retry-After, validators) and the
 * command (Last-Modified, If-Modified-Since). */
#ifndef TETHER_UTIL_HTTP_DATE_H
#define TETHER_UTIL_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL. */
#define TTX_HTTP_DATE_SIZE 30

/* An HTTP-date in any of the three forms (IMF-fixdate, RFC 850, asctime), surrounding OWS
 * allowed, as seconds since the Unix epoch. RFC 850's two-digit years use a fixed pivot
 * (00-69 are 20xx), so parsing never depends on the clock. Returns 0 or TETHER_EINVAL and
 * writes *unix_s only on success. */
int ttx_http_date_parse(const char *v, size_t len, int64_t *unix_s);

/* Writes `unix_s` as IMF-fixdate, the only form senders may generate. Years outside
 * 0000..9999 are clamped. */
void ttx_http_date_format(int64_t unix_s, char out[TTX_HTTP_DATE_SIZE]);

#endif
