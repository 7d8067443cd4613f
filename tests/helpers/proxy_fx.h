/* SPDX-License-Identifier: MIT */
/* An in-process proxy server on its own loop, without the HTTP API listener, for the tests that
 * drive the API through tether_proxy_server_call. */
#ifndef TETHER_TEST_PROXY_FX_H
#define TETHER_TEST_PROXY_FX_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "tether/proxy.h"

struct proxy_fx {
    uv_loop_t loop;
    tether_proxy_server *ps;
    bool closed;
};

/* A proxy server seeded with `seed` (toxicity rolls, jitter) on a fresh loop. */
struct proxy_fx *proxy_fx_new(uint64_t seed);
/* Closes the server (checking the close callback never runs inside the call), runs the loop
 * until it has, closes the loop and frees the fixture. */
void proxy_fx_free(struct proxy_fx *fx);

#endif
