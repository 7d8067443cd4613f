/* SPDX-License-Identifier: MIT */
/* ASCII case-insensitive comparisons and OWS trimming. */
#include <string.h>

#include "tether/error.h"

#include "util/str.h"

bool ttx_str_eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (ttx_lower(*a) != ttx_lower(*b)) {
            return false;
        }
    }
    return *a == *b;
}

bool ttx_mem_eq_nocase(const char *s, size_t len, const char *lit)
{
    size_t i = 0;
    for (; i < len && lit[i]; i++) {
        if (ttx_lower(s[i]) != ttx_lower(lit[i])) {
            return false;
        }
    }
    return i == len && lit[i] == '\0';
}

bool ttx_prefix_nocase(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        if (ttx_lower(*s) != ttx_lower(*prefix)) {
            return false;
        }
    }
    return true;
}

struct ttx_slice ttx_trim_ows(const char *s, size_t len)
{
    if (!s) {
        /* NULL with length 0 is "": pointer arithmetic and memchr on NULL are undefined. */
        return (struct ttx_slice){"", 0};
    }
    size_t b = 0;
    size_t e = len;
    while (b < e && (s[b] == ' ' || s[b] == '\t')) {
        b++;
    }
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) {
        e--;
    }
    return (struct ttx_slice){s + b, e - b};
}

int ttx_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t n = 0;
    bool overflow = false;
    if (len == 0) {
        return TETHER_EINVAL;
    }
    /* The scan continues past an overflow so junk later in the number is still EINVAL. */
    for (size_t i = 0; i < len; i++) {
        if (!ttx_is_digit(s[i])) {
            return TETHER_EINVAL;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (n > (UINT64_MAX - d) / 10) {
            overflow = true;
        } else {
            n = n * 10 + d;
        }
    }
    if (overflow) {
        return TETHER_ERANGE;
    }
    *out = n;
    return 0;
}

size_t ttx_edit_distance(const char *a, const char *b)
{
    enum { MAXLEN = 63 };
    size_t la = strlen(a);
    size_t lb = strlen(b);
    if (la > MAXLEN || lb > MAXLEN) {
        return SIZE_MAX;
    }
    /* Three rows of the dynamic-programming table: a transposition looks two rows back. */
    size_t rows[3][MAXLEN + 1];
    size_t *prev2 = rows[0];
    size_t *prev = rows[1];
    size_t *cur = rows[2];
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = ttx_lower(a[i - 1]) == ttx_lower(b[j - 1]) ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            if (prev[j - 1] + cost < best) {
                best = prev[j - 1] + cost;
            }
            if (i > 1 && j > 1 && ttx_lower(a[i - 1]) == ttx_lower(b[j - 2]) &&
                ttx_lower(a[i - 2]) == ttx_lower(b[j - 1]) && prev2[j - 2] + 1 < best) {
                best = prev2[j - 2] + 1;
            }
            cur[j] = best;
        }
        size_t *spare = prev2;
        prev2 = prev;
        prev = cur;
        cur = spare;
    }
    return prev[lb];
}

const char *ttx_closest(const char *typed, const char *const *candidates, size_t n)
{
    size_t typed_len = strlen(typed);
    size_t limit = typed_len <= 4 ? 1 : 2;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i]) {
            continue;
        }
        /* The distance is at least the difference in length: skip the table when that alone
         * is over the limit (the common case for a long mistyped value). */
        size_t cand_len = strlen(candidates[i]);
        if ((typed_len > cand_len ? typed_len - cand_len : cand_len - typed_len) > limit) {
            continue;
        }
        size_t d = ttx_edit_distance(typed, candidates[i]);
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

size_t ttx_utf8_prefix(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max) {
        return len;
    }
    /* s[max] is the first byte left out: while it continues a character (10xxxxxx), that
     * character started inside the prefix, so the prefix ends before its lead byte. */
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u) {
        n--;
    }
    return n;
}

int ttx_parse_duration_ms(const char *text, uint64_t max_ms, uint64_t *out_ms)
{
    if (!text) {
        return TETHER_EINVAL;
    }
    size_t n = strspn(text, "0123456789");
    uint64_t whole;
    if (n == 0 || ttx_parse_u64(text, n, &whole) != 0) {
        return TETHER_EINVAL;
    }
    const char *p = text + n;
    uint64_t frac = 0;
    uint64_t frac_scale = 1;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (ttx_is_digit(*p)) {
            /* Nine digits are already finer than a millisecond of an hour needs. */
            if (++digits > 9) {
                return TETHER_EINVAL;
            }
            frac = frac * 10 + (uint64_t)(*p - '0');
            frac_scale *= 10;
            p++;
        }
        if (digits == 0) {
            return TETHER_EINVAL;
        }
    }
    uint64_t unit;
    if (strcmp(p, "ms") == 0) {
        unit = 1;
    } else if (strcmp(p, "s") == 0) {
        unit = 1000;
    } else if (strcmp(p, "m") == 0) {
        unit = 60 * 1000;
    } else if (strcmp(p, "h") == 0) {
        unit = 3600 * 1000;
    } else if (*p == '\0' && whole == 0 && frac_scale == 1) {
        /* Zero is zero in every unit, and "0" is how users switch a timeout off. */
        *out_ms = 0;
        return 0;
    } else {
        return TETHER_EINVAL;
    }
    if (whole > max_ms / unit) {
        return TETHER_ERANGE;
    }
    /* frac < 10^9 and unit <= 3.6e6, so the product fits easily. */
    uint64_t frac_units = frac * unit;
    if (frac_units % frac_scale != 0) {
        return TETHER_EINVAL; /* "1.5ms" or "0.0001s": not a whole millisecond */
    }
    uint64_t ms = whole * unit; /* <= max_ms, by the check above */
    if (frac_units / frac_scale > max_ms - ms) {
        return TETHER_ERANGE;
    }
    *out_ms = ms + frac_units / frac_scale;
    return 0;
}
