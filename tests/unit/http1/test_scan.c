/* SPDX-License-Identifier: MIT */
/* The parser's run skippers (chars.h) stop exactly where the byte tables say, whichever of the
 * 16-byte path or the byte-at-a-time tail sees the stopping byte, and never load past `end`. */
#include "http1/chars.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_skippers_match_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
