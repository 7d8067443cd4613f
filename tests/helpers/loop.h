/* SPDX-License-Identifier: MIT */
/* Running a libuv loop under a time bound in tests, and closing it without leaks. */
#ifndef TETHER_TEST_LOOP_H
#define TETHER_TEST_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

/* Runs `loop` until `*done` (set by a loop callback) is true. Fails the test when `timeout_ms`
 * (scaled by TETHER_TEST_TIMEOUT_MULTIPLIER) passes first. Both pointers are borrowed. */
void tt_test_loop_run_until(uv_loop_t *loop, const bool *done, uint64_t timeout_ms);

/* Runs `loop` until `*count` (incremented by loop callbacks) reaches `want`; fails the test,
 * naming both, when `timeout_ms` (scaled) passes first. What tests wait for instead of a fixed
 * time: an event has happened, however long the machine took. */
void tt_test_loop_run_until_count(uv_loop_t *loop, const unsigned *count, unsigned want,
                                  uint64_t timeout_ms);

/* Runs the loop for `ms` milliseconds of wall time, whatever happens: only for a window in which
 * something must NOT happen (waiting for something to happen is run_until's job). */
void tt_test_loop_run_for(uv_loop_t *loop, uint64_t ms);

/* Runs the loop until nothing is alive in it (closing handles, requests, pending callbacks),
 * bounded by 2 s (scaled), then asserts uv_loop_close(loop) == 0, naming every handle still
 * open when it is not (STYLE §7: a leaked handle fails the test). */
void tt_test_loop_close(uv_loop_t *loop);

/* A next-turn queue on `loop` (created at the first call, the same one afterwards) for library
 * pieces that need one, such as streams (tt__stream_init); tt_test_loop_close closes it. */
struct tt__defer;
struct tt__defer *tt_test_defer(uv_loop_t *loop);

/* A libuv listener on 127.0.0.1:0: initialises `listener` on `loop` with `data`, binds, listens
 * with `backlog` and `on_connection`, and returns the port it got. Fails the test when any step
 * fails. */
uint16_t tt_test_tcp_listen(uv_loop_t *loop, uv_tcp_t *listener, void *data, int backlog,
                            uv_connection_cb on_connection);

/* Milliseconds from a monotonic clock, for measuring durations in tests. */
uint64_t tt_test_now_ms(void);

#endif
