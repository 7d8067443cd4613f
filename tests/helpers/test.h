/* SPDX-License-Identifier: MIT */
/* cmocka plus assertions that print both sides and the tether error name (STYLE §7). */
#ifndef TETHER_TEST_H
#define TETHER_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tether/tether.h"

/* rv must be 0; on failure prints the error's name, e.g. "ECONNRESET (-6)". */
#define ASSERT_OK(expr)                                                                            \
    do {                                                                                           \
        int assert_ok_rv_ = (int)(expr);                                                           \
        if (assert_ok_rv_ != 0) {                                                                  \
            fail_msg("%s returned %s (%d)", #expr, tether_err_name(assert_ok_rv_), assert_ok_rv_); \
        }                                                                                          \
    } while (0)

/* rv must be the given tether code. */
#define ASSERT_ERR(expr, code)                                                                     \
    do {                                                                                           \
        int assert_err_rv_ = (int)(expr);                                                          \
        if (assert_err_rv_ != (code)) {                                                            \
            fail_msg("%s returned %s (%d), expected %s", #expr, tether_err_name(assert_err_rv_),   \
                     assert_err_rv_, tether_err_name(code));                                       \
        }                                                                                          \
    } while (0)

/* Byte span equals a C string. */
#define ASSERT_SPAN_EQ(ptr, len, str)                                                              \
    do {                                                                                           \
        size_t assert_span_len_ = (len);                                                           \
        const char *assert_span_str_ = (str);                                                      \
        if (assert_span_len_ != strlen(assert_span_str_) ||                                        \
            memcmp((ptr), assert_span_str_, assert_span_len_) != 0) {                              \
            fail_msg("got \"%.*s\", expected \"%s\"", (int)assert_span_len_, (const char *)(ptr),  \
                     assert_span_str_);                                                            \
        }                                                                                          \
    } while (0)

/* Scales timing-sensitive waits (TETHER_TEST_TIMEOUT_MULTIPLIER, default 1). */
uint64_t tt_test_scale_ms(uint64_t ms);

/* Sleeps at least `ms` milliseconds (resumes after signals); the one sleep the helpers and
 * peer threads share. */
void tt_test_sleep_ms(uint64_t ms);

#endif
