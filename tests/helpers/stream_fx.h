/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the TCP stream tests (tests/unit/net/test_stream*.c): a uv listener on
 * 127.0.0.1:0 that accepts into fx->s (the server side), a spare client stream fx->c, a 2 ms
 * poll timer calling fx->on_poll, hooks for accept and reads, counters of what the streams
 * reported, and one peer thread (net_peer.h sockets) that the test starts.
 */
#ifndef TETHER_TEST_STREAM_FX_H
#define TETHER_TEST_STREAM_FX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "net/net.h"

struct fx;
typedef void (*fx_hook)(struct fx *fx);
typedef void (*fx_read_hook)(struct fx *fx, struct tt__stream *s, int status);

struct fx {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t poll;
    uint16_t port;
    struct tt__stream s; /* accepted (server side) */
    struct tt__stream c; /* dialled (client side) */
    fx_hook on_accept;
    fx_hook on_poll;
    fx_read_hook on_read;
    bool accepted;
    bool s_closed;
    bool c_closed;
    bool all_closed;
    bool done;
    /* what the streams reported */
    char rbuf[4096];
    size_t rlen;
    int reads;
    int eofs;
    int errors;
    int last_error;
    /* The streams' failure records, copied when they reported an error (a stream's own record
     * lasts until its close completes). */
    struct tether_failure failure_s, failure_c;
    int connects;
    int connect_status;
    int close_seq;
    int connect_seq;
    int seq;
    int closes_s;
    int closes_c;
    bool rst_s;
    bool rst_c;
    int writes_done;
    int write_status;
    uint64_t t0_ms;
    uint64_t t_closed_ms;
    /* the peer thread */
    pthread_t thread;
    bool thread_started;
    atomic_bool server_closed;
    atomic_bool server_got_data;
    atomic_bool peer_reset_done;
    int peer_listen_fd; /* for peers that accept */
    int peer_rv;        /* a recv result */
    int peer_errno;     /* its errno, or a send error */
    size_t peer_got;
    bool peer_eof;
    bool peer_ok;
};

/* Close callback for both streams: counts, records rst_sent and the server side's close time. */
void fx_on_closed(struct tt__stream *s, bool rst_sent);
/* Read callback: collects bytes in rbuf, counts reads, EOFs and errors, then calls on_read. */
void fx_record_read(struct tt__stream *s, int status, const char *data, size_t len);
void fx_on_write(struct tt__stream *s, int status, void *arg);
void fx_on_connect(struct tt__stream *s, int status);
/* Initialises the loop, the listener, the poll timer and both streams; on_accept may be NULL. */
void fx_start(struct fx *fx, fx_hook on_accept);
/* Starts the peer thread fn(fx). */
void fx_peer_start(struct fx *fx, void *(*fn)(void *));
/* For a peer thread: a blocking socket connected to fx->port (np_connect), or -1 with
 * fx->peer_errno set. */
int fx_peer_connect(struct fx *fx);
/* Closes whatever the test left open, waits for every close callback, joins the peer, and
 * checks that the loop closes cleanly. */
void fx_finish(struct fx *fx);

/* Peers and hooks shared by the stream tests. */
/* Sends "hello tether", reads the echo (peer_ok when intact), then closes (FIN). */
void *fx_peer_echo_client(void *arg);
/* Echoes what it reads; closes gracefully at EOF; records like fx_record_read. */
void fx_echo_read(struct tt__stream *s, int status, const char *data, size_t len);
/* on_accept hook: starts reading into fx_record_read. */
void fx_reading_accept(struct fx *fx);
/* Reads the server's FIN (peer_eof), then stays silent and open until the server closed. */
void *fx_peer_silent_after_fin(void *arg);

#endif
