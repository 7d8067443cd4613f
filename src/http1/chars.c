/* SPDX-License-Identifier: MIT */
/* Byte classes of RFC 9110/9112 as lookup tables, and the parser's error table. */
#include <string.h>

#include "http1/chars.h"

/* Bit 0: tchar. Bit 1: field-value byte (HTAB, SP, VCHAR, obs-text). Bit 2: request-target byte
 * (visible ASCII). Bit 3: hex digit. One table keeps every per-byte check a single load. */
#define T 1u
#define V 2u
#define R 4u
#define H 8u
const uint8_t tt__h1_class[256] = {
    ['\t'] = V,
    [' '] = V,
    ['!'] = T | V | R,
    ['"'] = V | R,
    ['#'] = T | V | R,
    ['$'] = T | V | R,
    ['%'] = T | V | R,
    ['&'] = T | V | R,
    ['\''] = T | V | R,
    ['('] = V | R,
    [')'] = V | R,
    ['*'] = T | V | R,
    ['+'] = T | V | R,
    [','] = V | R,
    ['-'] = T | V | R,
    ['.'] = T | V | R,
    ['/'] = V | R,
    ['0'] = T | V | R | H,
    ['1'] = T | V | R | H,
    ['2'] = T | V | R | H,
    ['3'] = T | V | R | H,
    ['4'] = T | V | R | H,
    ['5'] = T | V | R | H,
    ['6'] = T | V | R | H,
    ['7'] = T | V | R | H,
    ['8'] = T | V | R | H,
    ['9'] = T | V | R | H,
    [':'] = V | R,
    [';'] = V | R,
    ['<'] = V | R,
    ['='] = V | R,
    ['>'] = V | R,
    ['?'] = V | R,
    ['@'] = V | R,
    ['A'] = T | V | R | H,
    ['B'] = T | V | R | H,
    ['C'] = T | V | R | H,
    ['D'] = T | V | R | H,
    ['E'] = T | V | R | H,
    ['F'] = T | V | R | H,
    ['G'] = T | V | R,
    ['H'] = T | V | R,
    ['I'] = T | V | R,
    ['J'] = T | V | R,
    ['K'] = T | V | R,
    ['L'] = T | V | R,
    ['M'] = T | V | R,
    ['N'] = T | V | R,
    ['O'] = T | V | R,
    ['P'] = T | V | R,
    ['Q'] = T | V | R,
    ['R'] = T | V | R,
    ['S'] = T | V | R,
    ['T'] = T | V | R,
    ['U'] = T | V | R,
    ['V'] = T | V | R,
    ['W'] = T | V | R,
    ['X'] = T | V | R,
    ['Y'] = T | V | R,
    ['Z'] = T | V | R,
    ['['] = V | R,
    ['\\'] = V | R,
    [']'] = V | R,
    ['^'] = T | V | R,
    ['_'] = T | V | R,
    ['`'] = T | V | R,
    ['a'] = T | V | R | H,
    ['b'] = T | V | R | H,
    ['c'] = T | V | R | H,
    ['d'] = T | V | R | H,
    ['e'] = T | V | R | H,
    ['f'] = T | V | R | H,
    ['g'] = T | V | R,
    ['h'] = T | V | R,
    ['i'] = T | V | R,
    ['j'] = T | V | R,
    ['k'] = T | V | R,
    ['l'] = T | V | R,
    ['m'] = T | V | R,
    ['n'] = T | V | R,
    ['o'] = T | V | R,
    ['p'] = T | V | R,
    ['q'] = T | V | R,
    ['r'] = T | V | R,
    ['s'] = T | V | R,
    ['t'] = T | V | R,
    ['u'] = T | V | R,
    ['v'] = T | V | R,
    ['w'] = T | V | R,
    ['x'] = T | V | R,
    ['y'] = T | V | R,
    ['z'] = T | V | R,
    ['{'] = V | R,
    ['|'] = T | V | R,
    ['}'] = V | R,
    ['~'] = T | V | R,
    /* obs-text: allowed in field values, never in tokens or targets (128 entries, kept as a
     * block). */
    /* clang-format off */
    [0x80] = V, [0x81] = V, [0x82] = V, [0x83] = V, [0x84] = V, [0x85] = V, [0x86] = V,
    [0x87] = V, [0x88] = V, [0x89] = V, [0x8a] = V, [0x8b] = V, [0x8c] = V, [0x8d] = V,
    [0x8e] = V, [0x8f] = V, [0x90] = V, [0x91] = V, [0x92] = V, [0x93] = V, [0x94] = V,
    [0x95] = V, [0x96] = V, [0x97] = V, [0x98] = V, [0x99] = V, [0x9a] = V, [0x9b] = V,
    [0x9c] = V, [0x9d] = V, [0x9e] = V, [0x9f] = V, [0xa0] = V, [0xa1] = V, [0xa2] = V,
    [0xa3] = V, [0xa4] = V, [0xa5] = V, [0xa6] = V, [0xa7] = V, [0xa8] = V, [0xa9] = V,
    [0xaa] = V, [0xab] = V, [0xac] = V, [0xad] = V, [0xae] = V, [0xaf] = V, [0xb0] = V,
    [0xb1] = V, [0xb2] = V, [0xb3] = V, [0xb4] = V, [0xb5] = V, [0xb6] = V, [0xb7] = V,
    [0xb8] = V, [0xb9] = V, [0xba] = V, [0xbb] = V, [0xbc] = V, [0xbd] = V, [0xbe] = V,
    [0xbf] = V, [0xc0] = V, [0xc1] = V, [0xc2] = V, [0xc3] = V, [0xc4] = V, [0xc5] = V,
    [0xc6] = V, [0xc7] = V, [0xc8] = V, [0xc9] = V, [0xca] = V, [0xcb] = V, [0xcc] = V,
    [0xcd] = V, [0xce] = V, [0xcf] = V, [0xd0] = V, [0xd1] = V, [0xd2] = V, [0xd3] = V,
    [0xd4] = V, [0xd5] = V, [0xd6] = V, [0xd7] = V, [0xd8] = V, [0xd9] = V, [0xda] = V,
    [0xdb] = V, [0xdc] = V, [0xdd] = V, [0xde] = V, [0xdf] = V, [0xe0] = V, [0xe1] = V,
    [0xe2] = V, [0xe3] = V, [0xe4] = V, [0xe5] = V, [0xe6] = V, [0xe7] = V, [0xe8] = V,
    [0xe9] = V, [0xea] = V, [0xeb] = V, [0xec] = V, [0xed] = V, [0xee] = V, [0xef] = V,
    [0xf0] = V, [0xf1] = V, [0xf2] = V, [0xf3] = V, [0xf4] = V, [0xf5] = V, [0xf6] = V,
    [0xf7] = V, [0xf8] = V, [0xf9] = V, [0xfa] = V, [0xfb] = V, [0xfc] = V, [0xfd] = V,
    [0xfe] = V, [0xff] = V,
    /* clang-format on */
};
#undef T
#undef V
#undef R
#undef H

bool tt__h1_is_token(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!tt__h1_tchar(s[i])) {
            return false;
        }
    }
    return true;
}

bool tt__h1_is_field_value(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!tt__h1_vchar(s[i])) {
            return false;
        }
    }
    /* Values are written trimmed: leading or trailing whitespace would be lost on the wire. */
    return len == 0 || (!tt__h1_ows(s[0]) && !tt__h1_ows(s[len - 1]));
}

bool tt__h1_str_eq_nocase(struct tt__h1_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (tt__h1_lower(s.ptr[i]) != tt__h1_lower(lit[i])) {
            return false;
        }
    }
    return true;
}

static const struct {
    const char *name;
    int status;
    const char *message;
} h1_errors[] = {
#define H1_ERR_ROW(name, status, msg) {#name, status, msg},
    TT__H1_ERR_MAP(H1_ERR_ROW)
#undef H1_ERR_ROW
};

const char *tt__h1_err_name(enum tt__h1_error e)
{
    return (unsigned)e < TT__H1_ERR_COUNT ? h1_errors[e].name : "UNKNOWN";
}

int tt__h1_err_status(enum tt__h1_error e)
{
    return (unsigned)e < TT__H1_ERR_COUNT ? h1_errors[e].status : 400;
}

const char *tt__h1_err_message(enum tt__h1_error e)
{
    return (unsigned)e < TT__H1_ERR_COUNT ? h1_errors[e].message : "unknown error";
}

int tt__h1_err_from_name(const char *name, size_t len)
{
    for (int i = 0; i < TT__H1_ERR_COUNT; i++) {
        if (strlen(h1_errors[i].name) == len && memcmp(h1_errors[i].name, name, len) == 0) {
            return i;
        }
    }
    return -1;
}
