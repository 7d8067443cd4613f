/* SPDX-License-Identifier: MIT */
/* The workload shape of `tether load`: how many requests (-n), for how long (-z), how many
 * workers (-c), their idle gaps (--gap) and the seed of every draw (--seed). One parser for the
 * HTTP load (cmd_load.c) and the postgres:// one (load_pg.c), so a flag means the same and
 * fails with the same message in both. */
#ifndef TETHER_CLI_LOAD_SHAPE_H
#define TETHER_CLI_LOAD_SHAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "args.h"

struct load_shape {
    uint64_t requests; /* -n: requests in all */
    bool requests_set;
    uint64_t duration_ms; /* -z: no request starts after this */
    bool duration_set;
    uint64_t concurrency; /* -c: workers [1] */
    bool concurrency_set;
    uint64_t gap_lo; /* --gap MIN..MAX in ms [0] */
    uint64_t gap_hi;
    uint64_t seed; /* --seed [the clock and the process id] */
};

/* The defaults: one worker, no gap, a seed from the clock. */
void load_shape_init(struct load_shape *s);
/* Takes the current flag when it is one of the shape's: *taken says whether it was; returns 0,
 * or 2 after printing the error line that names the bad value. */
int load_shape_take(struct args_cursor *c, struct load_shape *s, bool *taken);
/* After the last flag: 100 requests when neither -n nor -z was given. */
void load_shape_finish(struct load_shape *s);

#endif
