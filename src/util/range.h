/* SPDX-License-Identifier: MIT */
/* Byte ranges (RFC 9110 §14): the Range a client asks for and the Content-Range a server
 * answers with. Shared by the library (resumed downloads) and the command (`serve --root`). */
#ifndef TETHER_UTIL_RANGE_H
#define TETHER_UTIL_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ttx_range_result {
    TTX_RANGE_NONE = 0,     /* no usable Range: answer the whole representation (200) */
    TTX_RANGE_OK,           /* one satisfiable range: [*first, *last] */
    TTX_RANGE_UNSATISFIABLE /* 416 */
};

/* One byte range of a representation of `size` bytes, from a Range field value ("bytes=0-99",
 * "bytes=100-", "bytes=-500"). A syntactically invalid value is TTX_RANGE_NONE, as RFC 9110
 * §14.2 allows; so is a multi-range request (a full 200 is always a correct answer). */
enum ttx_range_result ttx_range_parse(const char *v, size_t len, uint64_t size, uint64_t *first,
                                      uint64_t *last);

/* Content-Range: "bytes 0-499/1234", "bytes 0-499/<asterisk>", "bytes <asterisk>/1234". */
struct ttx_content_range {
    bool unsatisfied;     /* the "bytes <asterisk>/complete" form */
    uint64_t first, last; /* inclusive; valid unless unsatisfied */
    bool has_complete;
    uint64_t complete; /* total length when known */
};
/* Returns 0, TETHER_EINVAL or TETHER_ERANGE (a number past UINT64_MAX); writes *out only on
 * success. */
int ttx_content_range_parse(const char *v, size_t len, struct ttx_content_range *out);

#endif
