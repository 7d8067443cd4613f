/* SPDX-License-Identifier: MIT */
/* libuv glue shared by server, client and proxy: byte streams over TCP with optional TLS,
 * socket options, and the two ways to close: graceful (FIN + bounded drain) and abortive (RST). */
#ifndef TETHER_NET_H
#define TETHER_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/defer.h"
#include "internal.h"

/* ---- addresses ---- */

/* "127.0.0.1:8080" or "[::1]:8080" into buf (always NUL-terminated). Returns 0 or EINVAL. */
int tt__addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* Parses "HOST:PORT", "[V6]:PORT" or "PORT" (host then defaults to `default_host`) into a
 * numeric address; no name resolution except "localhost" (-> 127.0.0.1). EINVAL on junk. */
int tt__addr_parse(const char *text, const char *default_host, struct sockaddr_storage *out);

/* The addresses to try for one name, in order: when a connect fails, the next one is dialled
 * (Go's dialer; Happy Eyeballs without the racing). Shared by the proxy's upstreams and the
 * client. */
#define TT__ADDRS_MAX 4
struct tt__addrs {
    struct sockaddr_storage a[TT__ADDRS_MAX];
    size_t n;
    size_t next; /* the next one to dial */
};
/* Appends `sa` (IPv4 or IPv6); past TT__ADDRS_MAX it is dropped. */
void tt__addrs_add(struct tt__addrs *out, const struct sockaddr *sa);
/* Fills `out` from a getaddrinfo answer: IPv4 addresses first (many local servers listen on
 * IPv4 only while "localhost" may resolve to ::1 first), then IPv6. */
void tt__addrs_from_gai(const struct addrinfo *res, struct tt__addrs *out);
/* The next address to dial, or NULL when every one was tried. */
const struct sockaddr *tt__addrs_next(struct tt__addrs *a);

/* ---- listening (listen.c): the one listener of server and proxy ---- */

/* The kernel's accept queue when the caller asks for none (nginx's and Node's 511). */
#define TT__LISTEN_DEFAULT_BACKLOG 511

struct tt__listener;
/* A connection was accepted: `fd` (non-blocking is up to the caller, close-on-exec set) is
 * the callee's. */
typedef void (*tt__listener_accept_cb)(struct tt__listener *l, int fd);
/* Asked before each accept: false pauses accepting (the backlog queues clients) until
 * tt__listener_resume, or for full_retry_ms when that is set. */
typedef bool (*tt__listener_may_accept_cb)(struct tt__listener *l);
typedef void (*tt__listener_close_cb)(struct tt__listener *l);

/*
 * A listening TCP socket watched by uv_poll, never accept-and-close: a full server stops taking
 * connections, so the kernel queues the rest instead of libuv accepting and closing them (which
 * resets clients we could have served a moment later). EMFILE/ENFILE pause accepting for
 * 500 ms. Caller-allocated; all fields but `data`, `may_accept` and `full_retry_ms` are
 * read-only.
 */
struct tt__listener {
    uv_poll_t poll;
    uv_timer_t timer; /* resumes after a timed pause */
    uv_loop_t *loop;
    int fd;
    uint16_t port; /* the bound port (port 0 asked for any) */
    bool open;
    bool polling;
    unsigned closing_handles;
    uint64_t pauses;          /* times accepting stopped (a limit or EMFILE) */
    const char *fail_syscall; /* after a failed open: "socket", "bind", "listen", "poll" */
    int fail_errno;           /* and its errno */
    tt__listener_accept_cb on_accept;
    tt__listener_close_cb on_close;
    tt__listener_may_accept_cb may_accept; /* NULL = always */
    uint64_t full_retry_ms;                /* see may_accept; 0 = wait for resume */
    void *data;
};

/* Binds `addr` (borrowed; SO_REUSEADDR) and listens with `backlog` (0 = the default). On
 * failure, returns the mapped error with fail_syscall/fail_errno set and leaves nothing on the
 * loop; on success the caller must tt__listener_close it. Not accepting until started. */
int tt__listener_open(uv_loop_t *loop, struct tt__listener *l, const struct sockaddr *addr,
                      int backlog);
/* The same, with SO_REUSEPORT set before bind when `reuse_port`: several listeners (one per
 * loop) then share the address and the kernel balances new connections among them. */
int tt__listener_open_shared(uv_loop_t *loop, struct tt__listener *l, const struct sockaddr *addr,
                             int backlog, bool reuse_port);
void tt__listener_start(struct tt__listener *l, tt__listener_accept_cb on_accept);
/* Stops accepting; with retry_ms, resumes by itself after that long. */
void tt__listener_pause(struct tt__listener *l, uint64_t retry_ms);
void tt__listener_resume(struct tt__listener *l);
/* Whether a client waits in the accept queue (poll with a zero timeout). */
bool tt__listener_backlog_pending(const struct tt__listener *l);
/* Accepts one waiting connection now, whatever may_accept says: its fd, or -1 (none waiting,
 * or EMFILE, which pauses). */
int tt__listener_accept_one(struct tt__listener *l);
/* Closes the socket at once (the port can be bound again) and both handles; `cb` (may be NULL)
 * runs once they are closed. A second call is ignored. */
void tt__listener_close(struct tt__listener *l, tt__listener_close_cb cb);

/* ---- socket options (on a connected or listening uv_tcp_t; errors mapped with
 * tt__err_from_errno) ---- */

/* TCP keepalive: first probe after idle_s, then every interval_s, give up after count probes.
 * Linux-specific knobs are applied when the platform has them (TETHER_HAVE_TCP_KEEPIDLE...). */
int tt__sock_set_keepalive(uv_tcp_t *tcp, bool on, unsigned idle_s, unsigned interval_s,
                           unsigned count);
/* TCP_USER_TIMEOUT in ms (0 = system default); TETHER_ENOTSUP where unavailable. */
int tt__sock_set_user_timeout(uv_tcp_t *tcp, unsigned timeout_ms);
int tt__sock_set_nodelay(uv_tcp_t *tcp, bool on);
/* Bytes the kernel holds that nobody has read yet (FIONREAD). A close() with unread bytes
 * makes Linux send RST instead of FIN, so every close path asks this first. */
int tt__sock_unread_bytes(uv_tcp_t *tcp, size_t *out);
/* Bytes in the kernel's send queue not yet acknowledged by the peer (TIOCOUTQ): with large
 * socket buffers, progress of a slow reader shows here long before the socket is writable. */
int tt__sock_unsent_bytes(uv_tcp_t *tcp, size_t *out);
/* The peer's / our own address as text ("127.0.0.1:54321"). */
int tt__sock_peer(uv_tcp_t *tcp, char *buf, size_t len);
int tt__sock_local(uv_tcp_t *tcp, char *buf, size_t len);

/* ---- TLS contexts (OpenSSL, kept opaque) ---- */

struct tt__tls_ctx;
/* A server context from PEM files. EINVAL (with detail) when a file is missing or bad. */
int tt__tls_ctx_new_server(const char *cert_file, const char *key_file, struct tt__tls_ctx **out,
                           char *detail, size_t detail_len);
/* A client context: verification on (system CA store, or `ca_file` when not NULL), unless
 * `insecure`. */
int tt__tls_ctx_new_client(const char *ca_file, bool insecure, struct tt__tls_ctx **out,
                           char *detail, size_t detail_len);
void tt__tls_ctx_free(struct tt__tls_ctx *ctx);

/* ---- streams ---- */

struct tt__stream;

/* What a finished TLS handshake agreed on, for traces: static OpenSSL names ("TLSv1.3",
 * "TLS_AES_256_GCM_SHA384") and the peer certificate's subject and issuer in OpenSSL's one-line
 * form ("CN=localhost"; empty when the peer sent none). */
struct tt__tls_info {
    const char *version;
    const char *cipher;
    char subject[256];
    char issuer[256];
};
/* Fills `out` for a stream whose TLS handshake finished; false for plain TCP. */
bool tt__stream_tls_info(const struct tt__stream *s, struct tt__tls_info *out);
struct tt__tls; /* per-connection TLS state, private to tls.c */

/* Data (status 0, len > 0), a clean end of stream (TETHER_EEOF), or an error (TETHER_E*,
 * with the stream's failure recorded: tt__stream_failure). `data` is borrowed for the duration of
 * the call. */
typedef void (*tt__stream_read_cb)(struct tt__stream *s, int status, const char *data, size_t len);
typedef void (*tt__stream_write_cb)(struct tt__stream *s, int status, void *arg);
typedef void (*tt__stream_connect_cb)(struct tt__stream *s, int status);
/* Runs once when the stream is fully closed and may be freed. `rst_sent` tells whether the
 * close sent RST (abortive close, or unread bytes at close time) rather than FIN. */
typedef void (*tt__stream_close_cb)(struct tt__stream *s, bool rst_sent);

enum tt__stream_state {
    TT__STREAM_NEW = 0,
    TT__STREAM_CONNECTING,
    TT__STREAM_HANDSHAKING, /* TLS */
    TT__STREAM_OPEN,
    TT__STREAM_SHUT_WR,   /* we sent FIN (and TLS close_notify); reads still flow */
    TT__STREAM_LINGERING, /* graceful close: draining until EOF or the linger deadlines */
    TT__STREAM_CLOSING,
    TT__STREAM_CLOSED
};

/*
 * A TCP connection with optional TLS. Embed it (it is caller-allocated memory) and recover the
 * owner with tt__container_of. The memory must stay valid until the close callback has run.
 * All fields are read-only for users except `data`.
 */
/*
 * A stream's last error, kept small: every connection has a stream and few ever fail, while the
 * public struct tether_failure is 648 bytes. The peer is the stream's own; the TLS server name
 * and OpenSSL's text, when a failure has them, are allocated with it (without memory the text
 * is lost, never the error). tt__stream_failure builds the public record.
 */
struct tt__stream_error {
    int code; /* 0: none */
    enum tether_syscall syscall;
    enum tether_phase phase;
    enum tether_err_origin origin;
    long origin_code;
    int sys_errno;
    char *host;   /* NULL or allocated */
    char *detail; /* NULL or allocated */
};

struct tt__stream {
    uv_tcp_t tcp;
    uv_timer_t timer; /* connect timeout and lingering deadlines */
    uv_loop_t *loop;
    enum tt__stream_state state;
    struct tt__tls *tls;
    struct tt__defer *defer;    /* the owner's next-turn queue (borrowed) */
    struct tt__defer_item wake; /* in `defer` while next-turn work waits */
    tt__stream_read_cb on_read;
    tt__stream_connect_cb on_connect;
    tt__stream_close_cb on_close;
    void *data;
    struct tt__stream_error err; /* the last error (tt__stream_failure) */
    uint64_t bytes_read;         /* plaintext bytes delivered to on_read */
    uint64_t bytes_written;      /* plaintext bytes whose write completed (reached the kernel) */
    uint64_t bytes_queued;       /* plaintext bytes accepted by tt__stream_write */
    uint64_t linger_deadline_ms; /* absolute uv_now of the total lingering limit */
    uint64_t linger_wait_ms;
    unsigned pending_handles; /* handles still to be closed */
    bool reading;
    bool eof_seen; /* the peer sent FIN */
    bool rst_sent;
    char peer[64];
    void *wbuf_spare; /* one recycled write buffer for bulk writers; freed on close */
};

/* Prepares `s` on the loop of `defer`, the owner's next-turn queue (both borrowed; the queue
 * must stay open until a close function was called on the stream, after which it queues
 * nothing). Always pair with a close call, even on failure of what follows. */
int tt__stream_init(struct tt__defer *defer, struct tt__stream *s);

/* Accepts a pending connection of `listener` (a listening uv_tcp_t) into an initialised
 * stream, or wraps an fd accepted by the caller (tt__stream_open_fd). */
int tt__stream_accept(uv_stream_t *listener, struct tt__stream *s);
int tt__stream_open_fd(struct tt__stream *s, int fd);

/* Starts TLS on an accepted stream as the server; the handshake runs as data arrives, and
 * on_read sees only plaintext. A failed handshake reports an error through on_read with
 * phase TETHER_PHASE_TLS. */
int tt__stream_start_tls_server(struct tt__stream *s, struct tt__tls_ctx *ctx);

/* Dials `addr` (borrowed) with a timeout (0 = none); `cb` runs once. On failure the failure
 * record says "connect ECONNREFUSED 127.0.0.1:9" etc. With `tls` (may be NULL), the TLS
 * handshake runs before `cb` with `server_name` for SNI and verification. */
int tt__stream_connect(struct tt__stream *s, const struct sockaddr *addr, uint64_t timeout_ms,
                       struct tt__tls_ctx *tls, const char *server_name, tt__stream_connect_cb cb);
/* Starts TLS as the client on an open plain stream (a tunnel an HTTP proxy opened with
 * CONNECT): the handshake with `server_name` for SNI and verification, bounded by
 * `timeout_ms` (0 = none); `cb` runs once, as for tt__stream_connect. Stop reading first: the
 * bytes that follow are the handshake's. */
int tt__stream_start_tls_client(struct tt__stream *s, struct tt__tls_ctx *ctx,
                                const char *server_name, uint64_t timeout_ms,
                                tt__stream_connect_cb cb);

int tt__stream_read_start(struct tt__stream *s, tt__stream_read_cb cb);
void tt__stream_read_stop(struct tt__stream *s);

/* Queues `len` bytes. The bytes are copied, so the caller may reuse `data` at once; `cb`
 * (may be NULL) runs once they reached the kernel or failed. */
int tt__stream_write(struct tt__stream *s, const void *data, size_t len, tt__stream_write_cb cb,
                     void *arg);
/* Plaintext bytes queued but not yet handed to the kernel. */
size_t tt__stream_write_queue_size(const struct tt__stream *s);
/* Hands what the kernel takes at once of `len` bytes to an open plain-TCP stream with nothing
 * queued, without a write request, a copy or a callback (uv_try_write); *written gets the
 * count, 0 when the stream cannot take bytes this way now (queued writes, TLS, not open, or a
 * full socket). The caller queues the rest with tt__stream_write. A TETHER_E* error when the
 * socket failed (recorded as the stream's failure, as a failed write would be). */
int tt__stream_try_write(struct tt__stream *s, const void *data, size_t len, size_t *written);

/*
 * Graceful close (server-pool.md S3): after queued writes flush, send TLS close_notify and FIN
 * (shutdown SHUT_WR), then read and discard until the peer's FIN, `wait_ms` without data, or
 * `total_ms` in all; then close. Skips the drain when the peer already sent FIN and nothing is
 * unread. `cb` runs once.
 */
void tt__stream_close_graceful(struct tt__stream *s, uint64_t total_ms, uint64_t wait_ms,
                               tt__stream_close_cb cb);
/* Plain close(): what Node's destroy() does. FIN when nothing is unread, RST otherwise. */
void tt__stream_close_now(struct tt__stream *s, tt__stream_close_cb cb);
/* Abortive close: SO_LINGER 0 then close, so the peer gets RST. */
void tt__stream_close_abort(struct tt__stream *s, tt__stream_close_cb cb);

/* ---- details of the contract above ----
 *
 * Closing. Every close function may be called in any state after tt__stream_init, including
 * from inside this stream's own callbacks. Only the first call counts: a later call (of any of
 * the three) is ignored and its `cb` never runs. Writes still queued when the handles close
 * complete with TETHER_ECANCELED, and a connect still pending completes with
 * TETHER_ECANCELED, all before the close callback. Graceful close on a stream that never
 * connected, or whose connect (TCP or TLS) is still pending, behaves as tt__stream_close_now.
 * A TLS server stream still in its handshake closes gracefully without close_notify. In
 * tt__stream_close_graceful, `total_ms` bounds the whole close, including the time queued
 * writes take to flush; a slow reader cannot hold the connection longer; `wait_ms` counts
 * from our FIN and restarts with every byte drained. 0 in `total_ms` or `wait_ms` means "no
 * limit" for that bound. The state is TT__STREAM_SHUT_WR from the call until the FIN is
 * out, then TT__STREAM_LINGERING. tt__stream_close_abort reports rst_sent = false for a
 * stream that never connected (there is nothing to reset).
 *
 * Reading. The peer's FIN reaches on_read once, as TETHER_EEOF; on a TLS stream a
 * close_notify counts as that EOF, and a FIN without one is also reported as TETHER_EEOF
 * (HTTP framing decides whether anything was cut short). After an error or EOF, reading stays
 * stopped. tt__stream_read_start may be called before the connect completes; reading starts
 * then.
 *
 * Connecting. `timeout_ms` covers the TCP connect and the TLS handshake. After any failed
 * connect (cb status < 0) the stream can only be closed. Errors the kernel reports at once
 * (ENETUNREACH...) still arrive through `cb`, on a later loop turn.
 *
 * TLS. The server side handshakes only while the user reads (tt__stream_read_start), since
 * its failure is reported through on_read. A lost connection during the handshake is
 * TETHER_ECONNRESET with phase TETHER_PHASE_TLS, which tether_failure_message prints as Node's
 * "Client network socket disconnected before secure TLS connection was established". Bytes
 * written before the handshake finishes are kept and sent after it. For TLS streams,
 * tt__stream_write_queue_size counts plaintext waiting for the handshake plus TLS records
 * not yet handed to the kernel, so record overhead makes it approximate.
 *
 * Writes. A write in state TT__STREAM_NEW returns TETHER_EINVAL; after a close call,
 * TETHER_EPIPE. Writes made while connecting are sent once connected. The library never
 * ignores SIGPIPE for the process: programs must (as Node does), since libuv writes with
 * write(2).
 */

/* ---- private to src/net/: the seam between stream.c and tls.c; nothing else calls these */

/* An outgoing buffer of `len` bytes that tls.c fills in place, then queues with
 * tt__stream_wbuf_submit (which takes ownership, also on failure) or frees. */
char *tt__stream_wbuf_new(struct tt__stream *s, size_t len);
void tt__stream_wbuf_free(char *buf);
/* Queues `len` encoded bytes standing for `plain_len` plaintext bytes; `cb` as for
 * tt__stream_write. */
int tt__stream_wbuf_submit(struct tt__stream *s, char *buf, size_t len, size_t plain_len,
                           tt__stream_write_cb cb, void *arg);
/* Records `f` as the stream's last error, replacing the one before; its peer is the stream's
 * own, so f->peer is ignored. */
void tt__stream_set_failure(struct tt__stream *s, const struct tether_failure *f);
/* The stream's last error as the public record, Node-style (code 0 when there was none). It
 * lasts until the stream's close completes: owners copy it in the callback that reported it. */
void tt__stream_failure(const struct tt__stream *s, struct tether_failure *out);
/* Passes plaintext, EOF or an error (failure already recorded) to on_read, or drops it once
 * a close began. */
void tt__stream_deliver(struct tt__stream *s, int status, const char *data, size_t len);
/* The handshake finished (0) or failed (failure already recorded). */
void tt__stream_handshake_done(struct tt__stream *s, int status);

/* Per-connection TLS state in the role of `ctx` (client contexts use `server_name`, may be
 * NULL, for SNI and verification). Sets s->tls. */
int tt__tls_new(struct tt__stream *s, struct tt__tls_ctx *ctx, const char *server_name);
/* Fails writes still waiting for the handshake with TETHER_ECANCELED, frees, clears s->tls. */
void tt__tls_free(struct tt__stream *s);
bool tt__tls_is_client(const struct tt__stream *s);
bool tt__tls_handshake_finished(const struct tt__stream *s);
/* A fatal TLS error happened: nothing more can be read or written. */
bool tt__tls_failed(const struct tt__stream *s);
/* The server side's handshake failed on a plain HTTP request and queued nginx's 400 "The plain
 * HTTP request was sent to HTTPS port" in clear text: close gracefully so it arrives. */
bool tt__tls_answered_plain_http(const struct tt__stream *s);
/* Ciphertext from the socket; runs tt__tls_pump. */
void tt__tls_feed(struct tt__stream *s, const char *data, size_t len);
/* Advances the handshake and delivers plaintext while the user reads. */
void tt__tls_pump(struct tt__stream *s);
/* Ciphertext or plaintext is waiting inside OpenSSL (the user paused reading). */
bool tt__tls_has_input(const struct tt__stream *s);
/* The peer's TCP FIN arrived. */
void tt__tls_on_eof(struct tt__stream *s);
int tt__tls_write(struct tt__stream *s, const void *data, size_t len, tt__stream_write_cb cb,
                  void *arg);
/* Queues close_notify when the handshake finished and no fatal error happened. */
void tt__tls_close_notify(struct tt__stream *s);
size_t tt__tls_queued_bytes(const struct tt__stream *s);

#endif
