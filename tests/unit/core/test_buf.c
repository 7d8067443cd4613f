/* SPDX-License-Identifier: MIT */
/* Bounded buffers and the allocator hooks. */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"
#include "test.h"

static void test_append_and_cap(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 10);
    ASSERT_OK(tt__buf_append(&b, "hello", 5));
    ASSERT_OK(tt__buf_append_str(&b, "world"));
    ASSERT_SPAN_EQ(b.data, b.len, "helloworld");
    assert_int_equal(b.data[b.len], '\0');
    /* The cap is hard: one more byte is refused and nothing changes. */
    ASSERT_ERR(tt__buf_append(&b, "!", 1), TETHER_ETOOBIG);
    ASSERT_SPAN_EQ(b.data, b.len, "helloworld");
    tt__buf_consume(&b, 5);
    ASSERT_SPAN_EQ(b.data, b.len, "world");
    ASSERT_OK(tt__buf_appendf(&b, "%d%s", 42, "x"));
    ASSERT_SPAN_EQ(b.data, b.len, "world42x");
    ASSERT_ERR(tt__buf_appendf(&b, "%s", "abc"), TETHER_ETOOBIG);
    tt__buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    tt__buf_cleanup(&b);
    assert_null(b.data);
}

/* Decimal without printf, every digit count, and the cap as for any append. */
static void test_append_u64(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 64);
    ASSERT_OK(tt__buf_append_u64(&b, 0));
    ASSERT_OK(tt__buf_append_str(&b, " "));
    ASSERT_OK(tt__buf_append_u64(&b, 7));
    ASSERT_OK(tt__buf_append_str(&b, " "));
    ASSERT_OK(tt__buf_append_u64(&b, 1000));
    ASSERT_OK(tt__buf_append_str(&b, " "));
    ASSERT_OK(tt__buf_append_u64(&b, UINT64_MAX));
    ASSERT_SPAN_EQ(b.data, b.len, "0 7 1000 18446744073709551615");
    assert_int_equal(b.data[b.len], '\0');
    tt__buf_cleanup(&b);
    tt__buf_init(&b, 3);
    ASSERT_ERR(tt__buf_append_u64(&b, 1234), TETHER_ETOOBIG);
    assert_int_equal(b.len, 0);
    tt__buf_cleanup(&b);
}

static void test_growth(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++) {
        ASSERT_OK(tt__buf_append(&b, "abcdefghij", 10));
    }
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.data + 99990, "abcdefghij", 10);
    tt__buf_cleanup(&b);
}

/* Review finding E3: consuming used to memmove everything after the consumed bytes, so a
 * read full of tiny pipelined requests (or of 1xx heads) cost O(n^2). Consuming now advances
 * an offset; the bytes compaction ever moves must stay within the bytes consumed. */
static void test_consume_moves_linear_bytes(void **state)
{
    (void)state;
    enum { MSG = 18, READ = 64 * 1024, ROUNDS = 8 };
    static const char msg[MSG + 1] = "GET / HTTP/1.1\r\n\r\n";
    struct tt__buf b;
    tt__buf_init(&b, 2 * READ);
    char read_chunk[READ];
    size_t sent = 0;
    size_t consumed = 0;
    for (int round = 0; round < ROUNDS; round++) {
        /* One 64 KiB read of the stream arrives; the parser takes one message at a time and
         * leaves the partial last one for the next read, as the server's loop does. */
        for (size_t i = 0; i < READ; i++, sent++) {
            read_chunk[i] = msg[sent % MSG];
        }
        ASSERT_OK(tt__buf_append(&b, read_chunk, READ));
        while (b.len >= MSG) {
            assert_memory_equal(b.data, msg, 4);
            tt__buf_consume(&b, MSG);
            consumed += MSG;
        }
        assert_int_equal(b.data[b.len], '\0');
    }
    /* Before the fix this was about ROUNDS * READ^2 / (2 * MSG), near 1 GB. */
    assert_true(b.moved <= consumed);
    assert_true(b.len < MSG);
    tt__buf_cleanup(&b);
}

/* The dead prefix is reused in place when the buffer is as large as its cap allows. */
static void test_consume_then_append_at_cap(void **state)
{
    (void)state;
    struct tt__buf b;
    tt__buf_init(&b, 8);
    ASSERT_OK(tt__buf_append(&b, "abcdefgh", 8));
    tt__buf_consume(&b, 3);
    ASSERT_OK(tt__buf_append(&b, "XYZ", 3));
    ASSERT_SPAN_EQ(b.data, b.len, "defghXYZ");
    assert_int_equal(b.moved, 5);
    ASSERT_ERR(tt__buf_append(&b, "!", 1), TETHER_ETOOBIG);
    tt__buf_consume(&b, 8);
    assert_int_equal(b.len, 0);
    ASSERT_OK(tt__buf_append(&b, "12345678", 8));
    ASSERT_SPAN_EQ(b.data, b.len, "12345678");
    tt__buf_cleanup(&b);
}

static size_t counted_allocs;
static void *counting_malloc(size_t n)
{
    counted_allocs++;
    return malloc(n);
}
static void *counting_realloc(void *p, size_t n)
{
    counted_allocs++;
    return realloc(p, n);
}

static void test_allocator_hooks(void **state)
{
    (void)state;
    ASSERT_ERR(tether_set_allocator(counting_malloc, NULL, free), TETHER_EINVAL);
    ASSERT_OK(tether_set_allocator(counting_malloc, counting_realloc, free));
    counted_allocs = 0;
    char *p = tt__strndup("abcdef", 3);
    assert_string_equal(p, "abc");
    tt__free(p);
    void *z = tt__calloc(4, 8);
    assert_memory_equal(z, "\0\0\0\0\0\0\0\0", 8);
    tt__free(z);
    assert_int_equal(counted_allocs, 2);
    assert_null(tt__calloc(SIZE_MAX / 2, 4));
    ASSERT_OK(tether_set_allocator(NULL, NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_append_u64),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_consume_moves_linear_bytes),
        cmocka_unit_test(test_consume_then_append_at_cap),
        cmocka_unit_test(test_allocator_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
