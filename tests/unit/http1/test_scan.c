/* SPDX-License-Identifier: MIT */
/* The parser's run skippers (chars.h) stop exactly where the byte tables say, whichever of the
 * 16-byte path or the byte-at-a-time tail sees the stopping byte, and never load past `end`. */
#include "http1/chars.h"
#include "http1/http1.h"
#include "test.h"

#define SCAN_LEN 48

/* Byte-at-a-time references, straight from the class tables. */
static const char *ref_skip_value(const char *p)
{
    while (tt__h1_vchar(*p)) {
        p++;
    }
    return p;
}

static const char *ref_skip_target(const char *p)
{
    while (tt__h1_target_char(*p)) {
        p++;
    }
    return p;
}

static const char *ref_find_cr_lf(const char *p, const char *end)
{
    while (p < end && *p != '\r' && *p != '\n') {
        p++;
    }
    return p;
}

/* Every byte value at every position of a run of 'a's (so both paths and the block boundary
 * see it), from every start offset 0..15 (unaligned loads). The buffer is exactly as long as the
 * run plus its stopper, so ASan reports any load past `end`. */
static void test_skippers_match_tables(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        for (size_t at = 0; at < SCAN_LEN; at++) {
            for (size_t start = 0; start < 16 && start <= at; start++) {
                char *buf = malloc(SCAN_LEN + 1);
                assert_non_null(buf);
                memset(buf, 'a', SCAN_LEN);
                buf[at] = (char)b;
                buf[SCAN_LEN] = '\r'; /* the stopper every head has */
                const char *p = buf + start, *end = buf + SCAN_LEN + 1;
                assert_ptr_equal(tt__h1_skip_value(p, end), ref_skip_value(p));
                assert_ptr_equal(tt__h1_skip_target(p, end), ref_skip_target(p));
                assert_ptr_equal(tt__h1_find_cr_lf(p, end), ref_find_cr_lf(p, end));
                assert_ptr_equal(tt__h1_find_cr_lf(p, buf + at), ref_find_cr_lf(p, buf + at));
                free(buf);
            }
        }
    }
}

/* The classes the skippers implement, spelled out: a change of the tables shows up here. */
static void test_classes(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        bool value = b == '\t' || (b >= 0x20 && b != 0x7f);
        bool target = b >= 0x21 && b <= 0x7e;
        assert_int_equal(tt__h1_vchar((char)b), value);
        assert_int_equal(tt__h1_target_char((char)b), target);
    }
}

/* One call over the whole buffer (the 16-byte fast path of the head-end search) and one call per
 * byte (the byte-by-byte search) must find the same head or the same error at the same offset. */
static void same_both_ways(const char *buf, size_t len)
{
    struct tt__h1_field fa[32], fb[32];
    struct tt__h1_head a = {.fields = fa, .fields_cap = 32};
    struct tt__h1_head b = {.fields = fb, .fields_cap = 32};
    struct tt__h1_parser pa, pb;
    tt__h1_parser_init(&pa, NULL);
    tt__h1_parser_init(&pb, NULL);
    int ra = tt__h1_parse_request(&pa, buf, len, &a);
    int rb = TETHER_EAGAIN;
    for (size_t n = 1; n <= len && rb == TETHER_EAGAIN; n++) {
        rb = tt__h1_parse_request(&pb, buf, n, &b);
    }
    assert_int_equal(ra, rb);
    assert_int_equal(pa.error, pb.error);
    assert_int_equal(pa.error_offset, pb.error_offset);
}

/* A CR, an LF or a CRLF at every offset of a long field section, so the fast path meets each
 * violation and each early head end at every position of its 16-byte blocks. */
static void test_head_end_fast_path_matches_byte_search(void **state)
{
    (void)state;
    static const char head[] =
        "GET /a HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
        "Accept: text/html,application/xhtml+xml;q=0.9\r\nX-A: 1\r\nX-B: 22\r\n"
        "Cookie: a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8\r\n\r\n";
    size_t len = sizeof(head) - 1;
    char buf[sizeof(head) + 2];
    static const char *const overwrites[] = {"\r", "\n", "\r\n"};
    for (size_t at = 17; at < len - 4; at++) {
        for (size_t k = 0; k < tt__countof(overwrites); k++) {
            memcpy(buf, head, len);
            memcpy(buf + at, overwrites[k], strlen(overwrites[k]));
            same_both_ways(buf, len);
        }
    }
    same_both_ways(head, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_skippers_match_tables),
        cmocka_unit_test(test_head_end_fast_path_matches_byte_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
