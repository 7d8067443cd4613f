/* SPDX-License-Identifier: MIT */
/* The allocation-failure sweep's scenarios (alloc_sweep.c runs them). */
#ifndef TETHER_SWEEP_H
#define TETHER_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct sweep_scenario;

/* One run of a scenario on its own loop. */
struct sweep_run {
    uv_loop_t loop;
    uv_timer_t guard;
    const struct sweep_scenario *scenario;
    long n;        /* the allocation that fails, 0 = none */
    bool finished; /* sweep_finish was called */
    bool hung;     /* the guard fired */
    bool failed;   /* a step failed (expected when n > 0) */
    void *state;   /* the scenario's */
};

struct sweep_scenario {
    const char *name;
    /* Starts the run; it ends by closing everything it opened and calling sweep_finish. */
    void (*start)(struct sweep_run *r);
    /* The guard fired: close everything still open (sweep_finish need not be called). */
    void (*abort)(struct sweep_run *r);
};

/* Closes the guard: the run is over once the loop has no more handles. */
void sweep_finish(struct sweep_run *r);

/* A minimal raw TCP client (plain libuv, no tether allocations): connects to 127.0.0.1:port,
 * writes `req`, reads until EOF or an error, then closes and calls done. */
struct sweep_raw {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    const char *req;
    char buf[8192];
    size_t got;
    int status; /* 0 = EOF, else the libuv error */
    void (*done)(struct sweep_raw *raw);
    void *data;
};
void sweep_raw_start(uv_loop_t *loop, struct sweep_raw *raw, uint16_t port, const char *req,
                     void (*done)(struct sweep_raw *raw), void *data);
/* Closes the connection now (a hung run); done still runs once. */
void sweep_raw_abort(struct sweep_raw *raw);

extern const struct sweep_scenario sweep_parsing;
extern const struct sweep_scenario sweep_client;
extern const struct sweep_scenario sweep_server;
extern const struct sweep_scenario sweep_proxy;

#endif
