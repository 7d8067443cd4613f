/* SPDX-License-Identifier: MIT */
/* A small seedable generator (splitmix64), so jitter, toxicity rolls, gaps and sampling are
 * reproducible in tests and with `--seed`. Shared by the library and the command. Not for
 * secrets. */
#ifndef TETHER_UTIL_RAND_H
#define TETHER_UTIL_RAND_H

#include <stdint.h>

struct ttx_rng {
    uint64_t state;
};

void ttx_rng_seed(struct ttx_rng *r, uint64_t seed);
/* Seeds from the clock, the process and the state's address, for when no seed was asked
 * for: two generators made at the same moment still differ. */
void ttx_rng_seed_random(struct ttx_rng *r);
uint64_t ttx_rng_next(struct ttx_rng *r);
/* Uniform in [0, n), without modulo bias; 0 when n == 0. */
uint64_t ttx_rng_below(struct ttx_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double ttx_rng_unit(struct ttx_rng *r);

#endif
