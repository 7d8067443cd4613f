/* SPDX-License-Identifier: MIT */
/* Shared test utilities. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"

uint64_t tt_test_scale_ms(uint64_t ms)
{
    const char *env = getenv("TETHER_TEST_TIMEOUT_MULTIPLIER");
    long mult = env ? strtol(env, NULL, 10) : 1;
    return ms * (uint64_t)(mult > 0 ? mult : 1);
}

void tt_test_sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
