/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: what users and clients type. The first byte picks a parser: a Range field against a
 * representation size (serve --root answers it), durations and sizes as the command's flags and
 * X-Tether-Deadline take them, "MIN..MAX" ranges, HOST:PORT (flags, URLs, upstreams), and the
 * If-None-Match / If-Range validators. Outputs are written only on success and keep each
 * parser's promises; what a parser accepted, printed back in its canonical form, parses to the
 * same value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "fuzz_util.h"
#include "util/hostport.h"
#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT 512

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void check_range(const char *v, size_t len, uint64_t rep_size)
{
    uint64_t first = 0xA5A5, last = 0x5A5A;
    enum ttx_range_result r = ttx_range_parse(v, len, rep_size, &first, &last);
    FUZZ_CHECK(r == TTX_RANGE_NONE || r == TTX_RANGE_OK || r == TTX_RANGE_UNSATISFIABLE);
    if (r != TTX_RANGE_OK) {
        FUZZ_CHECK(first == 0xA5A5 && last == 0x5A5A);
        return;
    }
    FUZZ_CHECK(rep_size > 0 && first <= last && last < rep_size);
    char canon[64];
    int n = snprintf(canon, sizeof(canon), "bytes=%" PRIu64 "-%" PRIu64, first, last);
    uint64_t f2, l2;
    FUZZ_CHECK(ttx_range_parse(canon, (size_t)n, rep_size, &f2, &l2) == TTX_RANGE_OK);
    FUZZ_CHECK(f2 == first && l2 == last);
}

static void check_duration(const char *text, uint64_t max_ms)
{
    uint64_t ms = 0xA5A5;
    int rv = ttx_parse_duration_ms(text, max_ms, &ms);
    FUZZ_CHECK(rv == 0 || rv == TETHER_EINVAL || rv == TETHER_ERANGE);
    if (rv != 0) {
        FUZZ_CHECK(ms == 0xA5A5);
        return;
    }
    FUZZ_CHECK(ms <= max_ms);
    char canon[32];
    (void)snprintf(canon, sizeof(canon), "%" PRIu64 "ms", ms);
    uint64_t back;
    FUZZ_CHECK(ttx_parse_duration_ms(canon, max_ms, &back) == 0 && back == ms);
    /* The command's wrapper agrees, within its own limit. */
    uint64_t cli;
    int crv = args_parse_duration_ms(text, &cli);
    if (ms <= ARGS_MAX_DURATION_MS) {
        FUZZ_CHECK(crv == 0 && cli == ms);
    }
}

static void check_size(const char *text)
{
    uint64_t v = 0xA5A5;
    if (args_parse_size(text, &v) != 0) {
        FUZZ_CHECK(v == 0xA5A5);
        return;
    }
    char canon[32];
    (void)snprintf(canon, sizeof(canon), "%" PRIu64, v);
    uint64_t back;
    FUZZ_CHECK(args_parse_size(canon, &back) == 0 && back == v);
}

static void check_minmax(const char *text)
{
    uint64_t lo = 0xA5A5, hi = 0x5A5A;
    if (args_parse_range(text, args_parse_duration_ms, &lo, &hi) != 0) {
        FUZZ_CHECK(lo == 0xA5A5 && hi == 0x5A5A);
        return;
    }
    FUZZ_CHECK(lo <= hi && hi <= ARGS_MAX_DURATION_MS);
}

static void check_hostport(const char *text, size_t len, bool with_default)
{
    struct ttx_hostport hp;
    enum ttx_hostport_err e = ttx_hostport_split(text, len, &hp);
    if (e == TTX_HOSTPORT_OK) {
        FUZZ_CHECK(
            hp.host.len <= len &&
            (hp.host.len == 0 || (hp.host.ptr >= text && hp.host.ptr + hp.host.len <= text + len)));
        FUZZ_CHECK(!hp.has_port ||
                   (hp.port.ptr >= text && hp.port.ptr + hp.port.len <= text + len));
        uint16_t port;
        int prv = ttx_parse_port(hp.port, &port);
        FUZZ_CHECK(prv == 0 || prv == TETHER_EINVAL || prv == TETHER_ERANGE);
    }
    struct args_hostport a;
    memset(&a, 0xA5, sizeof(a));
    if (args_parse_hostport(text, with_default ? "127.0.0.1" : NULL, &a) != 0) {
        return;
    }
    size_t hl = strnlen(a.host, sizeof(a.host));
    FUZZ_CHECK(hl > 0 && hl < sizeof(a.host));
    FUZZ_CHECK(strpbrk(a.host, "[]/ @") == NULL);
    /* Printed back as HOST:PORT (brackets for IPv6), it parses to the same address. */
    char canon[300];
    (void)snprintf(canon, sizeof(canon), a.ipv6 ? "[%s]:%u" : "%s:%u", a.host, (unsigned)a.port);
    struct args_hostport b;
    FUZZ_CHECK(args_parse_hostport(canon, NULL, &b) == 0);
    FUZZ_CHECK(strcmp(a.host, b.host) == 0 && a.port == b.port && a.ipv6 == b.ipv6);
}

static void check_validators(const char *text, size_t len)
{
    struct ttx_etag e;
    if (ttx_etag_parse(text, len, &e) == 0 && !e.weak) {
        char tag[MAX_TEXT + 3];
        (void)snprintf(tag, sizeof(tag), "\"%.*s\"", (int)e.opaque.len, e.opaque.ptr);
        /* A strong tag matches itself in If-None-Match and in If-Range, and "*" matches it. */
        FUZZ_CHECK(ttx_etag_list_match("*", tag));
        FUZZ_CHECK(ttx_etag_list_match(tag, tag));
        FUZZ_CHECK(ttx_if_range_match(tag, tag, 0));
        (void)ttx_if_range_match(text, tag, 784111777);
    }
    (void)ttx_etag_list_match(text, "\"abc\"");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9 || size > MAX_TEXT + 9) {
        return 0;
    }
    uint8_t pick = data[0];
    uint64_t n = read_u64(data + 1);
    size_t len = size - 9;
    char *text = malloc(len + 1); /* exact size: reads past the end are caught */
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 9, len);
    text[len] = '\0';
    switch (pick % 7) {
    case 0:
        check_range(text, len, n);
        break;
    case 1:
        check_duration(text, n);
        break;
    case 2:
        check_size(text);
        break;
    case 3:
        check_minmax(text);
        break;
    case 4:
        check_hostport(text, strlen(text), (n & 1) != 0);
        break;
    case 5:
        check_validators(text, strlen(text));
        break;
    default:
        check_duration(text, ARGS_MAX_DURATION_MS);
        break;
    }
    free(text);
    return 0;
}
