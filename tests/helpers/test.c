/* SPDX-License-Identifier: MIT */
/* Shared test utilities. */
#include <stdlib.h>

#include "test.h"

uint64_t tt_test_scale_ms(uint64_t ms)
{
    const char *env = getenv("TETHER_TEST_TIMEOUT_MULTIPLIER");
    long mult = env ? strtol(env, NULL, 10) : 1;
    return ms * (uint64_t)(mult > 0 ? mult : 1);
}
