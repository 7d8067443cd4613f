/* SPDX-License-Identifier: MIT */
/* The server's private structures, shared by server.c (listener, limits, shutdown), conn.c
 * (one connection's lifecycle) and request.c (the request/response API). */
#ifndef TETHER_SERVER_INT_H
#define TETHER_SERVER_INT_H

#include "tether/server.h"

#include "core/defer.h"
#include "http1/http1.h"
#include "internal.h"
#include "net/net.h"
#include "util/http_date.h"

struct tether_server {
    uv_loop_t *loop;
    struct tether_server_options opts; /* strings point at the copies below */
    char *host;
    char *tls_cert_file;
    char *tls_key_file;
    struct tt__tls_ctx *tls;
    struct tt__h1_limits limits;
    /* Where the head being parsed puts its field spans: one array for every connection, since a
     * head is parsed in one call and the request copies what it keeps (tt__request_new). Per
     * connection it would cost limits.max_fields x 32 bytes for every idle keep-alive one. */
    struct tt__h1_field *fields;

    struct tt__listener listener;
    uint16_t port;
    uv_timer_t grace_timer; /* shutdown grace deadline */
    struct tt__defer defer; /* drain callbacks on the next loop turn */
    bool shutting_down;
    bool closing;          /* tether_server_close was called */
    unsigned open_handles; /* server-owned handles not yet closed */

    struct tt__list conns; /* every connection */
    struct tt__list idle;  /* idle keep-alive connections, least recently idle first */
    unsigned nconns;
    unsigned nclosing; /* of nconns, those being closed */
    unsigned nidle;

    struct tether_server_stats stats;
    /* The Date header's text, formatted once per second instead of once per response. */
    int64_t date_at; /* the second it says, 0 before the first response */
    char date[TTX_HTTP_DATE_SIZE];
    tether_server_shutdown_cb shutdown_cb;
    tether_server_close_cb close_cb;
    void *close_data;
};

enum tt__srv_read_state {
    TT__SRV_READ_IDLE = 0, /* waiting for the first byte of the next request */
    TT__SRV_READ_HEAD,     /* part of a head has arrived */
    TT__SRV_READ_BODY,     /* reading the body */
    TT__SRV_READ_DONE      /* request read; waiting for its response before parsing more */
};

struct tt__srv_conn {
    struct tt__stream stream; /* first: the stream's memory is the connection's */
    struct tether_server *srv;
    struct tt__list link;      /* in srv->conns */
    struct tt__list idle_link; /* in srv->idle while idle */
    uv_timer_t timer;          /* the nearest of this connection's deadlines */
    uint64_t timer_due_ms;     /* when it fires, while active (tt__srv_conn_arm_timer) */
    bool timer_open;

    struct tt__buf in; /* received, not yet consumed; its storage is freed while idle */
    struct tt__h1_parser parser;
    struct tt__h1_chunked *chunked; /* while a chunked body is read; NULL while idle */
    enum tt__srv_read_state rstate;
    bool body_chunked;
    uint64_t body_remaining; /* length framing */
    uint64_t body_received;

    uint64_t accepted_at_ms;
    uint64_t idle_since_ms;
    uint64_t head_started_ms;
    uint64_t last_read_ms;
    uint64_t send_check_ms;  /* when write progress was last seen */
    size_t send_check_queue; /* queue size at that moment */
    unsigned requests;       /* requests started on this connection */

    struct tether_request *req;          /* the exchange in progress, NULL between requests */
    bool close_after_response;           /* the response in progress said Connection: close */
    enum tether_close_cause close_cause; /* and why */
    bool peer_eof;
    bool closing;
    bool read_paused;
    bool processing;         /* conn_process is on the stack (a handler may be running) */
    unsigned writes_pending; /* writes whose completion callback has not run yet */
    bool taken;              /* handed over by tether_request_take_socket: no FIN, no RST */
    bool write_blocked;      /* the next request waits for the write queue to drain */
};

struct tether_request {
    struct tt__srv_conn *conn; /* NULL once detached */
    struct tether_server *srv;
    char *strings; /* method, target, then name/value pairs, each NUL-terminated */
    const char *method;
    const char *target;
    const char **names;
    const char **values;
    size_t nfields;
    char peer[64];
    int version_minor;
    unsigned index;
    bool keep_alive_requested;
    bool is_head;
    bool has_body;
    tether_body_cb body_cb;
    tether_drain_cb drain_cb;
    struct tt__defer_item drain_item; /* in srv->defer while a drain callback waits */
    void *data;

    /* Response. */
    int status;
    bool started;
    bool head_sent;
    bool ended;
    bool has_content_length;
    bool chunked;
    bool user_close;  /* the handler set Connection: close */
    bool in_callback; /* a detach callback is running: freeing waits for it to return */
    bool body_sent_with_head;
    bool free_pending;
    bool in_on_request; /* the request callback is running (the head is still in conn->in) */
    size_t head_len;    /* bytes of the request head */
    uint64_t content_length;
    uint64_t body_written;
    struct tt__buf fields; /* "Name: value\r\n" lines added by the handler */
    /* tether_request_pause_body: the body waits in the socket until the handler resumes it,
     * which happens on the next loop turn (resume_item). */
    bool body_paused;
    struct tt__defer_item resume_item;
    /* tether_request_on_detach: run on the next loop turn once the connection is gone. */
    tether_drain_cb detach_cb;
    struct tt__defer_item detach_item;
};

/* conn.c */
void tt__srv_conn_accept(struct tether_server *srv, int fd);
void tt__srv_conn_close(struct tt__srv_conn *c, enum tether_close_cause cause);
bool tt__srv_conn_is_idle(const struct tt__srv_conn *c);
/* Marks the connection free to continue after its request completed or was detached. */
void tt__srv_conn_request_done(struct tt__srv_conn *c);
/* Sends a canned response (errors, 408) with Connection: close, then closes gracefully. */
void tt__srv_conn_fail(struct tt__srv_conn *c, int status, const char *message,
                       enum tether_close_cause cause);
/* Re-arms the connection's timer for its nearest deadline. */
void tt__srv_conn_arm_timer(struct tt__srv_conn *c);
/* Writes queued by a request (head/body) go through here so send progress is tracked. */
int tt__srv_conn_write(struct tt__srv_conn *c, const void *data, size_t len);
/* The handler resumed its request's body (tether_request_pause_body): deliver what is buffered
 * and read again. */
void tt__srv_conn_resume_body(struct tt__srv_conn *c);

/* server.c */
void tt__server_conn_gone(struct tether_server *srv, struct tt__srv_conn *c, bool rst_sent,
                          enum tether_close_cause cause);
void tt__server_conn_idle(struct tether_server *srv, struct tt__srv_conn *c, bool idle);
uint64_t tt__server_now(const struct tether_server *srv);
/* Calls req's drain callback on the next loop turn (tt__defer), even while closing. */
void tt__server_defer_drain(struct tether_server *srv, struct tether_request *req);

/* request.c */
struct tether_request *tt__request_new(struct tt__srv_conn *c, const struct tt__h1_head *h);
void tt__request_free(struct tether_request *req);
/* The connection is going away: tell the body callback and cut the request loose. */
void tt__request_detach(struct tether_request *req, int status);
void tt__request_deliver_body(struct tether_request *req, int status, const char *data, size_t len,
                              bool done);

#endif
