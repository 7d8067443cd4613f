/* SPDX-License-Identifier: MIT */
/* ASCII case-insensitive comparisons and byte slices, shared by the library and the command
 * (the helper layer, after curl's curlx: no dependencies, not part of the public API). */
#ifndef TETHER_UTIL_STR_H
#define TETHER_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed run of bytes, not NUL-terminated. */
struct ttx_slice {
    const char *ptr;
    size_t len;
};

/* ASCII only, whatever the locale: HTTP names and tokens are ASCII (RFC 9110 §5.1). */
static inline char ttx_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static inline bool ttx_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether two NUL-terminated strings are equal ignoring ASCII case. */
bool ttx_str_eq_nocase(const char *a, const char *b);
/* Whether the `len` bytes at `s` equal the NUL-terminated `lit`, ignoring ASCII case. */
bool ttx_mem_eq_nocase(const char *s, size_t len, const char *lit);
/* Whether `s` starts with `prefix`, ignoring ASCII case. */
bool ttx_prefix_nocase(const char *s, const char *prefix);
/* The slice without leading and trailing spaces and tabs (HTTP's OWS); NULL is "". */
struct ttx_slice ttx_trim_ows(const char *s, size_t len);
/* Exactly `len` decimal digits (1*DIGIT, no sign, no spaces; leading zeros are fine) into
 * *out. Returns 0, TETHER_EINVAL for anything else, or TETHER_ERANGE past UINT64_MAX; junk wins
 * over overflow ("99999999999999999999x" is EINVAL). Writes *out only on success. */
int ttx_parse_u64(const char *s, size_t len, uint64_t *out);

/* A duration as people write it: "250ms", "5s", "2m", "1h", or plain "0". Fractions are allowed
 * when they come to whole milliseconds ("1.5s", "0.25m"); a bare number other than 0 is
 * refused because its unit would be a guess; no signs or spaces. Returns 0, TETHER_EINVAL for
 * bad syntax, or TETHER_ERANGE for a well-formed duration above `max_ms` (so a message can
 * state the limit). Writes *out_ms only on success. The command's flags and egress's
 * X-Tether-Deadline read durations with it. */
int ttx_parse_duration_ms(const char *text, uint64_t max_ms, uint64_t *out_ms);

/* The optimal-string-alignment distance (Damerau-Levenshtein with adjacent transpositions)
 * between two NUL-terminated strings, ASCII case-insensitive; strings past 63 bytes count as
 * far from everything (SIZE_MAX). For "did you mean" hints, never for matching. */
size_t ttx_edit_distance(const char *a, const char *b);
/* The candidate closest to `typed` among the `n` in `candidates` (NULLs skipped), or NULL when
 * none is within a distance of 2, or of 1 for words of at most 4 letters: a hint that close is
 * a typo, one further is a guess. The first of equally close candidates wins. */
const char *ttx_closest(const char *typed, const char *const *candidates, size_t n);

/* The length of the longest prefix of the NUL-terminated UTF-8 `s` that fits in `max` bytes
 * without cutting a multibyte character: for copying into a fixed buffer, where a cut
 * character would make the copy (and any JSON it is printed into) invalid UTF-8. */
size_t ttx_utf8_prefix(const char *s, size_t max);

#endif
