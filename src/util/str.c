/* SPDX-License-Identifier: MIT */
/* ASCII case-insensitive comparisons and OWS trimming. */
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
