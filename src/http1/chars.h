/* SPDX-License-Identifier: MIT */
/* Byte classification shared by the http1 parser, decoder, writer and field parsers. */
#ifndef TETHER_HTTP1_CHARS_H
#define TETHER_HTTP1_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/*
 * Skipping runs of field-value or request-target bytes is where a head parser spends most of
 * its time (a browser's Cookie, User-Agent and Accept values, a long query string). These two
 * look at 16 bytes per step with SSE2 (part of every x86-64 CPU), then one at a time; they
 * return the first byte that is not in the class. They never load a byte at or past `end`
 * 16 at a time, and the byte-at-a-time tail relies, like every scan of the parser, on the head
 * ending in CRLF CRLF, which stops it.
 */
/* The first byte at or after p outside the class [lo, hi] (unsigned) + `plus` - `minus`, which
 * the class table's `bit` also describes (the tail tests the table). */
static inline const char *tt__h1_skip_run(const char *p, const char *end, unsigned char lo,
                                          unsigned char hi, unsigned char plus, unsigned char minus,
                                          uint8_t bit)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i ge = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8((char)lo)), x);
        __m128i le = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8((char)hi)), x);
        __m128i in =
            _mm_or_si128(_mm_and_si128(ge, le), _mm_cmpeq_epi8(x, _mm_set1_epi8((char)plus)));
        in = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8((char)minus)), in);
        unsigned stop = (unsigned)_mm_movemask_epi8(in) ^ 0xFFFFu;
        if (stop != 0) {
            return p + __builtin_ctz(stop);
        }
        p += 16;
    }
#else
    (void)end;
    (void)lo;
    (void)hi;
    (void)plus;
    (void)minus;
#endif
    while ((tt__h1_class[(unsigned char)*p] & bit) != 0) {
        p++;
    }
    return p;
}

/* Field-value bytes: HTAB and 0x20..0xFF except DEL (so SP, VCHAR and obs-text). */
static inline const char *tt__h1_skip_value(const char *p, const char *end)
{
    return tt__h1_skip_run(p, end, 0x20, 0xff, '\t', 0x7f, 2u);
}

/* Request-target bytes: visible ASCII, 0x21..0x7E (NUL, outside it, stands for "no minus"). */
static inline const char *tt__h1_skip_target(const char *p, const char *end)
{
    return tt__h1_skip_run(p, end, 0x21, 0x7e, 0x21, 0x00, 4u);
}

/* The first CR or LF in [p, end), or end. */
static inline const char *tt__h1_find_cr_lf(const char *p, const char *end)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')),
                                   _mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask != 0) {
            return p + __builtin_ctz(mask);
        }
        p += 16;
    }
#endif
    while (p < end && *p != '\r' && *p != '\n') {
        p++;
    }
    return p;
}

/*
 * The fast path of the search for the end of a head, once its start line is behind: the 16
 * bytes at buf + pos when they hold nothing the byte-by-byte search must judge, i.e. every CR is
 * followed by an LF, every LF follows a CR, and no line starts with CR (an empty line ends the
 * head). `at_line_start` says whether buf + pos starts a line. Reads buf[pos + 16], so the
 * caller ensures more than 16 bytes are there. Returns the bytes passed (16, or 17 when the
 * last one is a CR whose LF follows) and moves *line_start past the last line end passed, or
 * returns 0 when the block needs the byte-by-byte search.
 */
#define TT__H1_BLOCK 16
static inline size_t tt__h1_clean_block(const char *buf, size_t pos, bool at_line_start,
                                        size_t *line_start)
{
#if defined(__SSE2__)
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(buf + pos));
    unsigned cr = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')));
    unsigned lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
    if (((cr << 1) & 0xFFFFu) != lf) {
        return 0; /* a bare CR or LF (or an LF whose CR is in the block before: not here) */
    }
    unsigned starts = (lf << 1) | (at_line_start ? 1u : 0u);
    if ((starts & cr) != 0) {
        return 0; /* an empty line */
    }
    size_t n = TT__H1_BLOCK;
    if ((cr & 0x8000u) != 0) {
        if (buf[pos + TT__H1_BLOCK] != '\n') {
            return 0;
        }
        n = TT__H1_BLOCK + 1; /* take the CRLF pair whole */
        *line_start = pos + n;
    } else if (lf != 0) {
        *line_start = pos + (31u - (unsigned)__builtin_clz(lf)) + 1;
    }
    return n;
#else
    (void)buf;
    (void)pos;
    (void)at_line_start;
    (void)line_start;
    return 0;
#endif
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
