/* SPDX-License-Identifier: MIT */
/* "HOST:PORT" splitting and port numbers. */
#include <string.h>

#include "tether/error.h"

#include "util/hostport.h"

enum ttx_hostport_err ttx_hostport_split(const char *s, size_t len, struct ttx_hostport *out)
{
    struct ttx_hostport r;
    memset(&r, 0, sizeof(r));
    const char *end = s + len;
    const char *after; /* where ":port" may start */
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close) {
            return TTX_HOSTPORT_BAD_BRACKETS;
        }
        r.bracketed = true;
        r.host = (struct ttx_slice){s + 1, (size_t)(close - s - 1)};
        after = close + 1;
        if (after < end && *after != ':') {
            return TTX_HOSTPORT_BAD_BRACKETS;
        }
    } else {
        const char *colon = NULL;
        for (const char *p = s; p < end; p++) {
            if (*p == '[' || *p == ']') {
                return TTX_HOSTPORT_BAD_BRACKETS;
            }
            if (*p == ':') {
                if (colon) {
                    return TTX_HOSTPORT_TOO_MANY_COLONS;
                }
                colon = p;
            }
        }
        after = colon ? colon : end;
        r.host = (struct ttx_slice){s, (size_t)(after - s)};
    }
    if (after < end) {
        r.has_port = true;
        r.port = (struct ttx_slice){after + 1, (size_t)(end - after - 1)};
    }
    *out = r;
    return TTX_HOSTPORT_OK;
}

int ttx_parse_port(struct ttx_slice text, uint16_t *out)
{
    uint64_t v;
    if (text.len == 0 || text.len > 5) {
        return TETHER_EINVAL;
    }
    int rv = ttx_parse_u64(text.ptr, text.len, &v);
    if (rv != 0) {
        return rv;
    }
    if (v > 65535) {
        return TETHER_ERANGE;
    }
    *out = (uint16_t)v;
    return 0;
}
