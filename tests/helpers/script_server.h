/* SPDX-License-Identifier: MIT */
/*
 * A scripted HTTP/1.1-ish TCP server on the test's own libuv loop, for client tests that need
 * exact byte behaviour: answer with any bytes, close with FIN or RST at a chosen moment, send
 * unsolicited data on an idle connection. Requests are framed by their head and
 * Content-Length only (no chunked request bodies).
 */
#ifndef TETHER_TEST_SCRIPT_SERVER_H
#define TETHER_TEST_SCRIPT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct ss_server;
struct ss_conn;

/* A complete request arrived on `c`: `req` holds its head and body (borrowed for the call),
 * followed by a NUL (not counted in `len`).
 * `index` counts requests on this connection from 0. */
typedef void (*ss_request_cb)(struct ss_conn *c, unsigned index, const char *req, size_t len,
                              void *data);

/* Listens on 127.0.0.1:0 on `loop` (borrowed). Returns 0 or a libuv error. */
int ss_start(uv_loop_t *loop, ss_request_cb cb, void *data, struct ss_server **out);
uint16_t ss_port(const struct ss_server *s);
/* Connections accepted and requests seen so far. */
unsigned ss_accepted(const struct ss_server *s);
unsigned ss_requests(const struct ss_server *s);
/* Closes the listener and every connection; the memory goes once the handles are closed (run
 * the loop a few turns, e.g. tt_test_loop_close). */
void ss_stop(struct ss_server *s);

/* The connection's server; its number (0 for the first accepted). */
struct ss_server *ss_conn_server(const struct ss_conn *c);
unsigned ss_conn_id(const struct ss_conn *c);
/* Writes bytes (copied). */
void ss_send(struct ss_conn *c, const void *data, size_t len);
void ss_send_str(struct ss_conn *c, const char *s);
/* A 200 response with this body and extra header lines (each ending in \r\n; may be ""). */
void ss_respond(struct ss_conn *c, int status, const char *extra_headers, const char *body);
/* Closes after pending writes: FIN (or RST if request bytes are unread, like close()). */
void ss_close(struct ss_conn *c);
/* Closes with RST at once (SO_LINGER 0). */
void ss_reset(struct ss_conn *c);
/* Runs `fn(c, arg)` after `ms` (a one-shot timer owned by the connection). */
void ss_after(struct ss_conn *c, uint64_t ms, void (*fn)(struct ss_conn *c, void *arg), void *arg);

#endif
