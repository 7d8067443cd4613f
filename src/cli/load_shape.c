/* SPDX-License-Identifier: MIT */
/* The workload shape's flags, shared by `tether load` URL and postgres:// URL (load_shape.h). */
#include <unistd.h>

#include <uv.h>

#include "fetch_flags.h"
#include "load_shape.h"

void load_shape_init(struct load_shape *s)
{
    *s = (struct load_shape){.concurrency = 1};
    s->seed = uv_hrtime() ^ ((uint64_t)getpid() << 32);
}

int load_shape_take(struct args_cursor *c, struct load_shape *s, bool *taken)
{
    *taken = true;
    int rc;
    if (args_is(c, "--requests") || args_is(c, "-n")) {
        s->requests_set = true;
        rc = args_take_uint(c, 1, 1000000000u, &s->requests);
    } else if (args_is(c, "--duration") || args_is(c, "-z")) {
        s->duration_set = true;
        /* Bare seconds as hey's -z and curl's --max-time take them, or 250ms, 2m. */
        rc = fetch_take_seconds(c, &s->duration_ms);
        if (rc == 0 && s->duration_ms == 0) {
            rc = args_bad_value(c, "duration", " (must be more than 0)");
        }
    } else if (args_is(c, "--concurrency") || args_is(c, "-c")) {
        s->concurrency_set = true;
        rc = args_take_uint(c, 1, 10000, &s->concurrency);
    } else if (args_is(c, "--gap")) {
        rc = args_take_range(c, args_parse_duration_ms, "duration range", &s->gap_lo, &s->gap_hi);
    } else if (args_is(c, "--seed")) {
        rc = args_take_uint(c, 0, UINT64_MAX, &s->seed);
    } else {
        *taken = false;
        rc = 0;
    }
    return rc;
}

void load_shape_finish(struct load_shape *s)
{
    if (!s->requests_set && !s->duration_set) {
        s->requests_set = true;
        s->requests = 100;
    }
}
