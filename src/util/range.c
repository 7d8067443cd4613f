/* SPDX-License-Identifier: MIT */
/* Byte ranges: Range (request) and Content-Range (response), RFC 9110 §14. */
#include <string.h>

#include "tether/error.h"

#include "util/range.h"
#include "util/str.h"

/* Reads 1*DIGIT at s[*i] (within len); false without a digit or on overflow. */
static bool range_number(const char *s, size_t len, size_t *i, uint64_t *out)
{
    size_t b = *i;
    size_t e = b;
    while (e < len && ttx_is_digit(s[e])) {
        e++;
    }
    if (ttx_parse_u64(s + b, e - b, out) != 0) {
        return false;
    }
    *i = e;
    return true;
}

enum ttx_range_result ttx_range_parse(const char *v, size_t len, uint64_t size, uint64_t *first,
                                      uint64_t *last)
{
    struct ttx_slice s = ttx_trim_ows(v, len);
    /* Range units compare case-insensitively (RFC 9110 §14.1). */
    if (s.len < 6 || !ttx_mem_eq_nocase(s.ptr, 6, "bytes=") || memchr(s.ptr, ',', s.len)) {
        return TTX_RANGE_NONE;
    }
    struct ttx_slice spec = ttx_trim_ows(s.ptr + 6, s.len - 6);
    size_t i = 0;
    uint64_t a = 0;
    uint64_t b = UINT64_MAX;
    bool suffix = spec.len > 0 && spec.ptr[0] == '-';
    if (suffix) {
        i = 1;
        if (!range_number(spec.ptr, spec.len, &i, &b)) {
            return TTX_RANGE_NONE;
        }
    } else {
        if (!range_number(spec.ptr, spec.len, &i, &a) || i >= spec.len || spec.ptr[i] != '-') {
            return TTX_RANGE_NONE;
        }
        i++;
        if (i < spec.len && (!range_number(spec.ptr, spec.len, &i, &b) || b < a)) {
            return TTX_RANGE_NONE;
        }
    }
    if (i != spec.len) {
        return TTX_RANGE_NONE;
    }
    if (suffix) {
        if (b == 0 || size == 0) {
            return TTX_RANGE_UNSATISFIABLE;
        }
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return TTX_RANGE_OK;
    }
    if (a >= size) {
        return TTX_RANGE_UNSATISFIABLE;
    }
    *first = a;
    *last = b >= size ? size - 1 : b;
    return TTX_RANGE_OK;
}

int ttx_content_range_parse(const char *v, size_t len, struct ttx_content_range *out)
{
    struct ttx_slice s = ttx_trim_ows(v, len);
    struct ttx_content_range cr = {0};
    int rv;
    if (s.len < 6 || !ttx_mem_eq_nocase(s.ptr, 5, "bytes") || s.ptr[5] != ' ') {
        return TETHER_EINVAL;
    }
    const char *p = s.ptr + 6;
    size_t n = s.len - 6;
    const char *slash = memchr(p, '/', n);
    if (slash == NULL) {
        return TETHER_EINVAL;
    }
    struct ttx_slice range = {p, (size_t)(slash - p)};
    struct ttx_slice complete = {slash + 1, n - range.len - 1};
    if (complete.len != 1 || complete.ptr[0] != '*') {
        rv = ttx_parse_u64(complete.ptr, complete.len, &cr.complete);
        if (rv != 0) {
            return rv;
        }
        cr.has_complete = true;
    }
    if (range.len == 1 && range.ptr[0] == '*') {
        /* "*" + "/" + "*" would say nothing at all. */
        if (!cr.has_complete) {
            return TETHER_EINVAL;
        }
        cr.unsatisfied = true;
        *out = cr;
        return 0;
    }
    const char *dash = memchr(range.ptr, '-', range.len);
    if (dash == NULL) {
        return TETHER_EINVAL;
    }
    size_t first_len = (size_t)(dash - range.ptr);
    rv = ttx_parse_u64(range.ptr, first_len, &cr.first);
    if (rv == 0) {
        rv = ttx_parse_u64(dash + 1, range.len - first_len - 1, &cr.last);
    }
    if (rv != 0) {
        return rv;
    }
    if (cr.first > cr.last || (cr.has_complete && cr.last >= cr.complete)) {
        return TETHER_EINVAL;
    }
    *out = cr;
    return 0;
}
