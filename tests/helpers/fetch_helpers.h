/* SPDX-License-Identifier: MIT */
/* Client test shorthands: run a fetch to completion on the test's loop and keep its outcome,
 * and count the client's events. */
#ifndef TETHER_TEST_FETCH_HELPERS_H
#define TETHER_TEST_FETCH_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "script_server.h"
#include "tether/client.h"

/* The outcome of one fetch, copied in its done callback (the fetch is then freed). */
struct ft_result {
    bool done;
    unsigned done_calls;
    int code; /* failure code, 0 on a response */
    int status;
    char msg[256]; /* tether_failure_message */
    struct tether_failure failure;
    char body[8192];
    size_t body_len;
    unsigned attempts, retries, replays;
    uint64_t duration_ms;
    uint64_t retry_after_ms;
    char header_value[256]; /* the header named in want_header */
    const char *want_header;
};

/* A client on `loop` with default options and policy `p` (NULL: the default policy); fails the
 * test if it cannot be created. Caller owns it (ft_close_client). */
tether_client *ft_client_new(uv_loop_t *loop, const struct tether_policy *p);

/* Starts a fetch whose done callback fills `r` and frees the fetch. Returns the fetch (valid
 * until done ran) or NULL after failing the test. */
tether_fetch *ft_start(tether_client *c, const struct tether_fetch_options *o, struct ft_result *r);
/* ft_start + run the loop until done (bounded by timeout_ms, scaled). */
void ft_run(uv_loop_t *loop, tether_client *c, const struct tether_fetch_options *o,
            struct ft_result *r, uint64_t timeout_ms);
/* A GET of `url` through ft_run. */
void ft_get(uv_loop_t *loop, tether_client *c, const char *url, struct ft_result *r);

/* "http://127.0.0.1:<port><path>" into buf. */
const char *ft_url(char *buf, size_t len, const char *scheme, uint16_t port, const char *path);

/* Counts events by type into the client's data: ft_watch_events(c, &counts). last_at_ms is
 * when the last event of a type happened (tt_test_now_ms), so a test can measure from the event
 * itself rather than from when it looked. */
struct ft_events {
    unsigned n[16];
    uint64_t last_delay_ms;
    uint64_t last_idle_ms[16];
    uint64_t last_at_ms[16];
    char last_reason[16][128];
};
void ft_events_cb(tether_client *c, const struct tether_event *ev);
/* tether_client_set_data(c, e) and tether_client_on_event(c, ft_events_cb). */
void ft_watch_events(tether_client *c, struct ft_events *e);

/* The set-up of the client tests that talk to a scripted server: a loop, a client with policy
 * `p` (NULL: default) whose events are counted in ev, and ss_start(script, data) at url. */
struct ft_env {
    uv_loop_t loop;
    struct ss_server *ss;
    tether_client *client;
    struct ft_events ev;
    char url[128];
};
void ft_env_init(struct ft_env *e, const struct tether_policy *p, ss_request_cb script, void *data);
/* Closes the client and the server, then the loop (leak-checked). */
void ft_env_done(struct ft_env *e);

/* Closes the client and runs the loop until its close callback ran. */
void ft_close_client(uv_loop_t *loop, tether_client *c);

#endif
