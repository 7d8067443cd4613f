/* SPDX-License-Identifier: MIT */
/* Byte classification shared by the http1 parser, decoder, writer and field parsers. */
#ifndef TETHER_HTTP1_CHARS_H
#define TETHER_HTTP1_CHARS_H

#include <stdbool.h>
#include <stdint.h>

#include "http1/http1.h"

extern const uint8_t tt__h1_class[256];

static inline bool tt__h1_tchar(char c)
{
    return (tt__h1_class[(unsigned char)c] & 1u) != 0;
}

/* A byte allowed in a field value: HTAB, SP, VCHAR, obs-text. */
static inline bool tt__h1_vchar(char c)
{
    return (tt__h1_class[(unsigned char)c] & 2u) != 0;
}

/* A byte allowed in a request-target: visible ASCII. */
static inline bool tt__h1_target_char(char c)
{
    return (tt__h1_class[(unsigned char)c] & 4u) != 0;
}

static inline bool tt__h1_hexdigit(char c)
{
    return (tt__h1_class[(unsigned char)c] & 8u) != 0;
}

static inline bool tt__h1_ows(char c)
{
    return c == ' ' || c == '\t';
}

static inline char tt__h1_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

#endif
