/* SPDX-License-Identifier: MIT */
/* An HTTP/1.1 server whose keep-alive lifecycle never causes connection resets.
 *
 * Threads: a server and its requests are not thread-safe. Call every function on the thread
 * that runs the server's loop; callbacks run there too.
 *
 * SIGPIPE: a client that resets while a response is being written makes write(2) raise
 * SIGPIPE, whose default action kills the process. Ignore it once in the program, e.g. with
 * tether_ignore_sigpipe() (tether/common.h), as Node.js does. */
#ifndef TETHER_SERVER_H
#define TETHER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/common.h"
#include "tether/error.h"

TETHER_BEGIN_DECLS

typedef struct tether_server tether_server;
/* One request and its response. Valid from the request callback until the response is complete
 * (tether_response_end) or the request is aborted; then the server frees it. */
typedef struct tether_request tether_request;

/* How the server closes idle keep-alive connections. GRACEFUL is tether's; the other two
 * reproduce what causes resets elsewhere, so users and tests can provoke them on demand. */
enum tether_close_style {
    TETHER_CLOSE_GRACEFUL = 0, /* check for pending bytes, FIN, lingering drain (S2, S3) */
    TETHER_CLOSE_NODE,         /* Node before #54863: a plain close() on idle, without the
                                  pending-bytes check (`tether serve --close-style node` also
                                  sets Node's 5 s and no buffer after the hint) */
    TETHER_CLOSE_RST           /* abort idle sockets with SO_LINGER 0: an RST every time */
};

/* Why a connection was closed; the index into tether_server_stats.closes. Append only. */
#define TETHER_CLOSE_CAUSE_MAP(X)                                                                  \
    X(PEER_CLOSED, "peer_closed")       /* the client closed first (FIN) */                        \
    X(PEER_RESET, "peer_reset")         /* the client reset the connection */                      \
    X(IDLE_TIMEOUT, "idle_timeout")     /* keep-alive idle time ran out */                         \
    X(HEADER_TIMEOUT, "header_timeout") /* request head incomplete in time (408) */                \
    X(BODY_TIMEOUT, "body_timeout")     /* body stalled or too slow (408) */                       \
    X(SEND_TIMEOUT, "send_timeout")     /* client stopped reading the response */                  \
    X(PARSE_ERROR, "parse_error")       /* framing violation (400/413/431/501/505) */              \
    X(NOT_KEEP_ALIVE, "not_keep_alive") /* Connection: close, HTTP/1.0, keep-alive off */          \
    X(MAX_REQUESTS, "max_requests")     /* per-connection request cap reached */                   \
    X(MAX_AGE, "max_age")               /* per-connection age cap reached */                       \
    X(RECLAIMED, "reclaimed")           /* idle connection reclaimed at the connection limit */    \
    X(SHUTDOWN, "shutdown")             /* graceful shutdown */                                    \
    X(HANDLER_ABORT, "handler_abort")   /* the handler aborted the exchange */                     \
    X(IO_ERROR, "io_error")             /* any other socket or TLS error */

#define TETHER_CLOSE_CAUSE_ENUM(name, str) TETHER_CLOSE_##name,
enum tether_close_cause {
    TETHER_CLOSE_CAUSE_MAP(TETHER_CLOSE_CAUSE_ENUM) TETHER_CLOSE_CAUSE_COUNT
};
#undef TETHER_CLOSE_CAUSE_ENUM

/* "idle_timeout", ...; "unknown" out of range. Static string. */
TETHER_EXTERN const char *tether_close_cause_name(enum tether_close_cause cause);

/* Called on the loop thread when a request head has arrived and passed validation. The
 * handler must eventually complete the response (tether_response_end or tether_response_send)
 * or abort it (tether_request_abort), now or later. `req` is borrowed. CONNECT reaches it only
 * with accept_connect: otherwise the server, which opens no tunnels, answers 501 and closes. */
typedef void (*tether_request_cb)(tether_server *server, tether_request *req);

struct tether_server_options {
    const char *host;             /* borrowed; default "127.0.0.1" */
    uint16_t port;                /* 0 = any free port (read it back with tether_server_port) */
    int backlog;                  /* listen queue; default 511 */
    tether_request_cb on_request; /* required */
    void *data;                   /* user context, see tether_server_get_data */

    /* Keep-alive (S1): advertise `Keep-Alive: timeout=<keep_alive_timeout_ms/1000>` and close
     * idle at keep_alive_timeout_ms + keep_alive_buffer_ms. 0 turns keep-alive off: every
     * response carries Connection: close. */
    uint64_t keep_alive_timeout_ms; /* default 65000 */
    uint64_t keep_alive_buffer_ms;  /* default 1000 */
    bool no_keep_alive_hint;        /* do not send the Keep-Alive header */

    uint64_t headers_timeout_ms;   /* total, from the first byte of each head; default 10000.
                                      Also bounds a TLS handshake, from the accept: a
                                      connection still handshaking then is closed (no 408). */
    uint64_t body_timeout_ms;      /* between reads of the body; default 30000 */
    uint64_t request_timeout_ms;   /* total for head + body; default 300000 */
    uint64_t send_timeout_ms;      /* without write progress; default 60000 */
    uint64_t lingering_time_ms;    /* total drain after a server-initiated close; 30000 */
    uint64_t lingering_timeout_ms; /* per wait during the drain; default 5000 */

    size_t max_head_bytes;      /* default 16384 (431 beyond) */
    size_t max_fields;          /* default 100 (431 beyond) */
    size_t max_chunk_ext_bytes; /* default 1024 (413 beyond) */
    uint64_t max_body_bytes;    /* default 1 GiB (413 beyond); 0 = no limit */

    unsigned max_connections;       /* default 10000; then stop accepting (backlog queues).
                                       Counts lingering closes too: it bounds descriptors */
    unsigned max_requests_per_conn; /* default 1000; 0 = no limit */
    uint64_t max_conn_age_ms;       /* default 3600000; 0 = no limit */
    uint64_t fresh_idle_protect_ms; /* idle connections younger than this are never reclaimed;
                                       default 1000 */
    uint64_t shutdown_grace_ms;     /* in-flight requests get this long; default 30000 */

    enum tether_close_style close_style;

    const char *tls_cert_file; /* borrowed, copied; PEM; both set = HTTPS */
    const char *tls_key_file;

    /* Borrowed; when set, a failed tether_server_new writes why into it (always
     * NUL-terminated), e.g. "listen 127.0.0.1:80: permission denied" or "cannot use key
     * 'k.pem': ... key values mismatch". */
    char *errbuf;
    size_t errbuf_len;

    /* CONNECT reaches the handler, which takes the connection (tether_request_take_socket) or
     * answers it; default false: the server answers 501 and closes, as it opens no tunnels. */
    bool accept_connect;

    /* Sets SO_REUSEPORT before binding, so several servers (e.g. one per thread, each on its
     * own loop) can listen on the same host:port and the kernel spreads new connections among
     * them by a hash of the client's address and port. Give the later servers the port the
     * first one bound (tether_server_port) when `port` is 0. The port is shared with any other
     * socket of the same user that sets SO_REUSEPORT too; one without it still gets
     * TETHER_EADDRINUSE. Default false. */
    bool reuse_port;
};

/* Fills `o` (borrowed) with the defaults above. */
TETHER_EXTERN void tether_server_options_init(struct tether_server_options *o);

/* Creates a server on `loop` (borrowed; must outlive the server) and starts listening.
 * The options are copied (strings too). On success *out is the server: caller owns it and
 * releases it with tether_server_close. Returns TETHER_EINVAL for bad options (including
 * unreadable TLS files), TETHER_EADDRINUSE, TETHER_ENOMEM, ... (errbuf says why). On failure
 * nothing is left on the loop. Never blocks. */
TETHER_EXTERN TETHER_NODISCARD int
tether_server_new(uv_loop_t *loop, const struct tether_server_options *o, tether_server **out);

/* The bound port (useful with port 0); 0 for NULL. */
TETHER_EXTERN uint16_t tether_server_port(const tether_server *server);

/* The options' `data`. NULL-safe. */
TETHER_EXTERN void *tether_server_get_data(const tether_server *server);

/*
 * Graceful shutdown (S14): stop accepting, close idle connections at once (gracefully), let
 * in-flight requests finish with Connection: close, and after shutdown_grace_ms close the rest.
 * `cb` (may be NULL) runs once every connection is gone (from inside this call when none is
 * open). Calling it twice is harmless; NULL `server` is ignored.
 */
typedef void (*tether_server_shutdown_cb)(tether_server *server);
TETHER_EXTERN void tether_server_shutdown(tether_server *server, tether_server_shutdown_cb cb);

/* Frees the server: shuts down (immediately closing what is left, gracefully) and releases
 * every handle; `cb` (may be NULL) runs with `data` once memory is released, on a later loop
 * turn. A request still held by a handler is detached (see tether_request_is_detached); its
 * drain callback, if any, runs once more so the handler can let go. NULL `server` and a second
 * call are harmless. */
typedef void (*tether_server_close_cb)(void *data);
TETHER_EXTERN void tether_server_close(tether_server *server, tether_server_close_cb cb,
                                       void *data);

/* Counters (S15), a snapshot. */
struct tether_server_stats {
    uint64_t connections_accepted;
    uint64_t connections_open;
    uint64_t connections_idle;
    uint64_t requests;
    uint64_t responses_by_class[6]; /* index 1..5 = 1xx..5xx */
    uint64_t closes[TETHER_CLOSE_CAUSE_COUNT];
    uint64_t fin_sent; /* closes that sent FIN (graceful or plain close with no unread data) */
    uint64_t rst_sent; /* closes that sent RST (abort, or close() with unread data) */
    uint64_t pending_rescued; /* idle closes cancelled because request bytes were pending (S2) */
    uint64_t accept_paused;   /* times accepting paused at the limit or on EMFILE (each
                                 re-check that finds the server still full counts again) */
    /* Write back-pressure: a connection whose unsent responses pass 1 MiB (bytes not yet taken
     * by the kernel, plus a per-write overhead) stops reading and parsing further pipelined
     * requests until they fall below 256 KiB, so a client that pipelines and never reads
     * cannot grow the server's memory. */
    uint64_t write_paused;     /* times a connection stopped reading for that reason */
    uint64_t write_queue_peak; /* the most bytes one connection ever had queued in user space */
};
/* Zeroes *out for a NULL server. */
TETHER_EXTERN void tether_server_get_stats(const tether_server *server,
                                           struct tether_server_stats *out);

/* --- The request: all strings are NUL-terminated, owned by the request, valid until the
 * response completes. */
TETHER_EXTERN tether_server *tether_request_server(const tether_request *req);
TETHER_EXTERN const char *tether_request_method(const tether_request *req);
TETHER_EXTERN const char *tether_request_target(const tether_request *req);
/* 0 for HTTP/1.0, 1 for HTTP/1.1. */
TETHER_EXTERN int tether_request_version_minor(const tether_request *req);
TETHER_EXTERN size_t tether_request_field_count(const tether_request *req);
/* The i-th field as received; returns false when i is out of range. */
TETHER_EXTERN bool tether_request_field(const tether_request *req, size_t i, const char **name,
                                        const char **value);
/* The first field with this name (case-insensitive), or NULL. */
TETHER_EXTERN const char *tether_request_header(const tether_request *req, const char *name);
/* "127.0.0.1:54321". */
TETHER_EXTERN const char *tether_request_peer(const tether_request *req);
/* Requests served on this connection before this one (0 for the first). */
TETHER_EXTERN unsigned tether_request_index_on_connection(const tether_request *req);

/* Streamed body: `cb` runs for each piece as it arrives (data borrowed for the call), then
 * once with done = true (len 0). A status != 0 means the body failed (timeout, reset, limit)
 * and the request is being aborted. Set it in the request callback; without one the body is
 * read and discarded. Bytes that arrived with the head are delivered right after the request
 * callback returns. */
typedef void (*tether_body_cb)(tether_request *req, int status, const char *data, size_t len,
                               bool done);
TETHER_EXTERN void tether_request_on_body(tether_request *req, tether_body_cb cb);
/* Flow control for a streamed body: paused, the server delivers no more pieces and stops
 * reading the socket once its input buffer is full, so TCP holds the client back (the body
 * timeout does not run meanwhile; request_timeout_ms still does). Resuming delivers what is
 * buffered and reads again from the next loop turn on, never inside this call. Call it from the
 * body callback or any time before the body is done; harmless on a request without a body,
 * twice, or for NULL. A request freed while paused (its response ended) lets the server read
 * and discard the rest of the body as usual. */
TETHER_EXTERN void tether_request_pause_body(tether_request *req, bool paused);

TETHER_EXTERN void tether_request_set_data(tether_request *req, void *data);
TETHER_EXTERN void *tether_request_get_data(const tether_request *req);

/* --- The response. Order: start, add headers, then write/end; or send for all at once. */

/* Every response function returns 0, or TETHER_ECANCELED once the request is detached (the
 * connection is gone: the handler should end or abort to free it), or the error named. They
 * are not TETHER_NODISCARD: tether_response_end or tether_request_abort completes and frees
 * the request whatever happened before, so a handler may check only where it can react. */

/* Begins the response with `status`. Returns TETHER_EINVAL for a bad status or when already
 * started. */
TETHER_EXTERN int tether_response_start(tether_request *req, int status);
/* Adds a field (copied). Connection, Keep-Alive, Content-Length and Transfer-Encoding are
 * managed by the server: Content-Length set here selects length framing (the body written
 * must match it), otherwise the body is chunked. Returns TETHER_EINVAL for a bad name/value. */
TETHER_EXTERN int tether_response_header(tether_request *req, const char *name, const char *value);
/* Queues body bytes (copied). The head is sent with the first write. Responses that carry no
 * content (to HEAD; 204, 205 and 304) drop the bytes; a 205 is sent with Content-Length: 0. */
TETHER_EXTERN int tether_response_write(tether_request *req, const void *data, size_t len);
/* Queues the last bytes (may be NULL/0) and completes the response. After it returns, `req`
 * must not be used, whatever it returned. */
TETHER_EXTERN int tether_response_end(tether_request *req, const void *data, size_t len);
/* Runs `cb` once, when every byte queued so far has reached the kernel: the way to stream a
 * large body without holding all of it in memory. It also runs when the request is detached
 * (the client left, the server closed): check tether_request_is_detached there and end or
 * abort the request. */
typedef void (*tether_drain_cb)(tether_request *req);
TETHER_EXTERN void tether_response_on_drain(tether_request *req, tether_drain_cb cb);
/* start + Content-Type + Content-Length + end in one call. Like end, `req` must not be used
 * afterwards, whatever it returned. */
TETHER_EXTERN int tether_response_send(tether_request *req, int status, const char *content_type,
                                       const void *body, size_t len);
/* True once the connection under the request is gone (reset, timed out, server closed): the
 * response functions then return TETHER_ECANCELED, and end or abort still frees the request. */
TETHER_EXTERN bool tether_request_is_detached(const tether_request *req);
/* Runs `cb` once, on a later loop turn, when the connection under the request goes away before
 * the response completed (the client reset or left mid-body, a timeout, the server closed):
 * the way for a handler that waits on something else (a proxy waiting for its upstream) to
 * learn that nobody is left to answer, and stop that work. The handler must still end or abort
 * the request. NULL removes it; it never runs once the request is freed. */
TETHER_EXTERN void tether_request_on_detach(tether_request *req, tether_drain_cb cb);
/* Abandons the exchange: the connection is closed gracefully (FIN and a drain, close cause
 * handler_abort); a response already begun arrives cut short, which its framing shows the
 * client. `req` must not be used afterwards. */
TETHER_EXTERN void tether_request_abort(tether_request *req);

/* Hands the connection under `req` over to the handler, as Node's 'connect' event does for
 * CONNECT: from inside the request callback only, before any response, for a request without
 * a body on a plain-TCP connection. *fd receives a new descriptor of the socket (the caller
 * owns it, e.g. for uv_tcp_open); the bytes the client sent after the request head are copied
 * into `pending` (up to `cap`; *pending_len says how many). The server then forgets the
 * connection without sending anything (no FIN, no RST; counted as a handler_abort close with
 * neither fin_sent nor rst_sent) and frees `req`: do not use it afterwards. Returns 0;
 * TETHER_EINVAL (outside the callback, a response begun, a body), TETHER_ENOTSUP (TLS),
 * TETHER_ETOOBIG (more pending bytes than `cap`), TETHER_ECANCELED (detached), or the error
 * of dup; on error nothing changed. */
TETHER_EXTERN TETHER_NODISCARD int tether_request_take_socket(tether_request *req, uv_os_sock_t *fd,
                                                              char *pending, size_t cap,
                                                              size_t *pending_len);

TETHER_END_DECLS

#endif
