/* SPDX-License-Identifier: MIT */
/* Bounded byte buffers: every buffer filled from the network has a hard cap (STYLE §4). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void tt__buf_init(struct tt__buf *b, size_t max_len)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_len = max_len;
}

void tt__buf_cleanup(struct tt__buf *b)
{
    tt__free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void tt__buf_reset(struct tt__buf *b)
{
    b->len = 0;
}

int tt__buf_reserve(struct tt__buf *b, size_t extra)
{
    if (extra > b->max_len - b->len) {
        return TETHER_ETOOBIG;
    }
    size_t need = b->len + extra;
    if (need + 1 <= b->cap) {
        return 0;
    }
    /* Doubling keeps appends amortised O(1); the extra byte keeps room for a NUL. */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1) {
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    }
    if (b->max_len < SIZE_MAX && cap > b->max_len + 1) {
        cap = b->max_len + 1;
    }
    char *p = tt__realloc(b->data, cap);
    if (!p) {
        return TETHER_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int tt__buf_append(struct tt__buf *b, const void *data, size_t len)
{
    int rv = tt__buf_reserve(b, len);
    if (rv != 0) {
        return rv;
    }
    if (len) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int tt__buf_append_str(struct tt__buf *b, const char *s)
{
    return tt__buf_append(b, s, strlen(s));
}

int tt__buf_appendf(struct tt__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return TETHER_EINVAL;
    }
    int rv = tt__buf_reserve(b, (size_t)n);
    if (rv != 0) {
        return rv;
    }
    va_start(ap, fmt);
    (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int tt__buf_append_u64(struct tt__buf *b, uint64_t v)
{
    char digits[20]; /* UINT64_MAX has 20 */
    size_t n = 0;
    do {
        digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return tt__buf_append(b, digits + sizeof(digits) - n, n);
}

void tt__buf_consume(struct tt__buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data) {
        b->data[b->len] = '\0';
    }
}
