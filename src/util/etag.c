/* SPDX-License-Identifier: MIT */
/* Entity tags: parsing, strong and weak comparison, If-None-Match lists and If-Range. */
#include <string.h>

#include "tether/error.h"

#include "util/etag.h"
#include "util/http_date.h"

int ttx_etag_parse(const char *v, size_t len, struct ttx_etag *out)
{
    struct ttx_slice s = ttx_trim_ows(v, len);
    bool weak = false;
    size_t i = 0;
    /* %s"W/" in the grammar: a lowercase w is not a weakness marker but junk. */
    if (s.len >= 2 && s.ptr[0] == 'W' && s.ptr[1] == '/') {
        weak = true;
        i = 2;
    }
    if (i >= s.len || s.ptr[i] != '"') {
        return TETHER_EINVAL;
    }
    size_t j = i + 1;
    for (; j < s.len && s.ptr[j] != '"'; j++) {
        unsigned char c = (unsigned char)s.ptr[j];
        if (c <= 0x20 || c == 0x7f) {
            return TETHER_EINVAL;
        }
    }
    if (j + 1 != s.len) {
        return TETHER_EINVAL;
    }
    out->weak = weak;
    out->opaque = (struct ttx_slice){s.ptr + i + 1, j - i - 1};
    return 0;
}

bool ttx_etag_strong_eq(const struct ttx_etag *a, const struct ttx_etag *b)
{
    return !a->weak && !b->weak && a->opaque.len == b->opaque.len &&
           (a->opaque.len == 0 || memcmp(a->opaque.ptr, b->opaque.ptr, a->opaque.len) == 0);
}

static bool etag_weak_eq(const struct ttx_etag *a, const struct ttx_etag *b)
{
    return a->opaque.len == b->opaque.len &&
           (a->opaque.len == 0 || memcmp(a->opaque.ptr, b->opaque.ptr, a->opaque.len) == 0);
}

bool ttx_etag_list_match(const char *list, const char *etag)
{
    struct ttx_etag want;
    if (!list || !etag || ttx_etag_parse(etag, strlen(etag), &want) != 0) {
        return false;
    }
    struct ttx_slice all = ttx_trim_ows(list, strlen(list));
    if (all.len == 1 && all.ptr[0] == '*') {
        return true;
    }
    size_t i = 0;
    while (i < all.len) {
        /* An element ends at the comma after its closing quote (opaque bytes may hold commas). */
        size_t b = i;
        while (b < all.len && (all.ptr[b] == ' ' || all.ptr[b] == '\t')) {
            b++;
        }
        const char *q = b < all.len ? memchr(all.ptr + b, '"', all.len - b) : NULL;
        const char *close = q ? memchr(q + 1, '"', all.len - (size_t)(q + 1 - all.ptr)) : NULL;
        if (!close) {
            return false; /* malformed: match nothing rather than guess */
        }
        size_t e = (size_t)(close + 1 - all.ptr);
        struct ttx_etag have;
        if (ttx_etag_parse(all.ptr + b, e - b, &have) != 0) {
            return false;
        }
        if (etag_weak_eq(&have, &want)) {
            return true;
        }
        while (e < all.len && (all.ptr[e] == ' ' || all.ptr[e] == '\t')) {
            e++;
        }
        if (e < all.len && all.ptr[e] != ',') {
            return false;
        }
        i = e + 1;
    }
    return false;
}

bool ttx_if_range_match(const char *value, const char *etag, int64_t last_modified)
{
    if (!value) {
        return false;
    }
    struct ttx_slice s = ttx_trim_ows(value, strlen(value));
    /* "Wed, ..." is a date: only W/ marks a (weak) tag. */
    bool tag = (s.len > 0 && s.ptr[0] == '"') || (s.len > 1 && s.ptr[0] == 'W' && s.ptr[1] == '/');
    if (tag) {
        struct ttx_etag have;
        struct ttx_etag want;
        return etag && ttx_etag_parse(s.ptr, s.len, &have) == 0 &&
               ttx_etag_parse(etag, strlen(etag), &want) == 0 && ttx_etag_strong_eq(&have, &want);
    }
    int64_t when;
    return ttx_http_date_parse(s.ptr, s.len, &when) == 0 && when == last_modified;
}
