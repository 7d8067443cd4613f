/* SPDX-License-Identifier: MIT */
/* splitmix64: fast, seedable, good enough for jitter and sampling (never for secrets). */
#include <time.h>
#include <unistd.h>

#include "util/rand.h"

void ttx_rng_seed(struct ttx_rng *r, uint64_t seed)
{
    r->state = seed;
}

void ttx_rng_seed_random(struct ttx_rng *r)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    r->state = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
               ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)r;
}

uint64_t ttx_rng_next(struct ttx_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t ttx_rng_below(struct ttx_rng *r, uint64_t n)
{
    if (n == 0) {
        return 0;
    }
    /* Rejection keeps it unbiased: drop the top partial range. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = ttx_rng_next(r);
    } while (x >= limit);
    return x % n;
}

double ttx_rng_unit(struct ttx_rng *r)
{
    return (double)(ttx_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
