/* SPDX-License-Identifier: MIT */
/*
 * The relay's kernel path (src/proxy/splice.c): directions without toxics move bytes with
 * splice(2). The test thread owns both ends (a client socket and the upstream's accepted
 * socket), so every FIN and RST is sent exactly when a step says. Each end-of-stream case runs
 * twice, spliced and with splice turned off (the userspace path), and must look the same from
 * both sockets and in the counters; the spliced byte count shows which path carried them.
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "test.h"

#include "proxy/proxy_int.h"
#include "toxic_peer.h"

#define MIB ((size_t)1 << 20)
#define PIECE ((size_t)64 * 1024)

/* ---- the upstream end, owned by the test thread ---- */

static int up_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

/* The proxy's dial, accepted within the (scaled) wait. */
static int up_accept(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, (int)tt_test_scale_ms(TP_WAIT_MS)), 1);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

static void set_buf(int fd, int opt, int size)
{
    assert_int_equal(setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size)), 0);
}

/* A client whose receive buffer is small, set before the handshake fixes the window scale. */
static int connect_small_rcvbuf(uint16_t port, int size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    set_buf(fd, SO_RCVBUF, size);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

static void reset_close(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    close(fd);
}

/* Pattern bytes [from, from + n) in one send (blocking; they fit the socket buffers). */
static void send_pattern(int fd, size_t from, size_t n)
{
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        buf[i] = tp_pattern(from + i);
    }
    ASSERT_END(tp_send(fd, buf, n), TP_OK);
    free(buf);
}

static void read_pattern(int fd, size_t from, size_t n)
{
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    struct tp_read r;
    ASSERT_END(tp_read_n(fd, buf, n, n, TP_WAIT_MS, &r), TP_OK);
    assert_true(tp_is_pattern(buf, n, from));
    free(buf);
}

/* `total` pattern bytes from one socket to the other, a piece at a time so neither blocks. */
static void pump(int from_fd, int to_fd, size_t total)
{
    for (size_t off = 0; off < total; off += PIECE) {
        size_t n = total - off < PIECE ? total - off : PIECE;
        send_pattern(from_fd, off, n);
        read_pattern(to_fd, off, n);
    }
}

/* A thread sending `n` pattern bytes (blocking, bounded by SO_SNDTIMEO) from the upstream. */
struct sender {
    pthread_t th;
    int fd;
    size_t n;
    size_t sent;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    unsigned char buf[PIECE];
    while (s->sent < s->n) {
        size_t n = s->n - s->sent < sizeof(buf) ? s->n - s->sent : sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            buf[i] = tp_pattern(s->sent + i);
        }
        if (tp_send(s->fd, buf, n) != TP_OK) {
            break;
        }
        s->sent += n;
    }
    return NULL;
}

static void sender_start(struct sender *s, int fd, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->n = n;
    struct timeval tv = {.tv_sec = (time_t)(tt_test_scale_ms(20000) / 1000), .tv_usec = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(pthread_create(&s->th, NULL, sender_main, s), 0);
}

/* ---- the proxy's state, read on its loop thread ---- */

struct snap {
    bool found;   /* proxy "p" has a connection */
    bool on[2];   /* the direction splices */
    bool full[2]; /* its pipe refused more */
    bool dst_blocked[2];
    size_t held[2];    /* bytes in its pipe */
    int src_events[2]; /* what the watcher of its source asks for */
    uint64_t bytes[2]; /* read from its source */
    struct px_stats stats;
};

static void snap_fn(struct pxfix *fx, void *arg)
{
    struct snap *s = arg;
    memset(s, 0, sizeof(*s));
    struct px_proxy *px = tt__px_find(fx->ps, "p");
    if (!px) {
        return;
    }
    s->stats = px->stats;
    for (struct tt__list *n = px->conns.next; n != &px->conns; n = n->next) {
        struct px_conn *c = tt__container_of(n, struct px_conn, link);
        if (c->state == PX_CONN_CLOSING) {
            continue;
        }
        s->found = true;
        for (int i = 0; i < 2; i++) {
            s->on[i] = c->half[i].pipe.on;
            s->full[i] = c->half[i].pipe.full;
            s->dst_blocked[i] = c->half[i].pipe.dst_blocked;
            s->held[i] = c->half[i].pipe.held;
            s->bytes[i] = c->half[i].bytes;
            s->src_events[i] = c->watch[i].fd >= 0 ? c->watch[i].events : 0;
        }
    }
}

static struct snap snap(struct pxfix *fx)
{
    struct snap s;
    pxfix_run(fx, snap_fn, &s);
    return s;
}

/* Polls the loop until `pred` holds for its state; fails the test after the wait. */
static struct snap wait_for(struct pxfix *fx, bool (*pred)(const struct snap *), const char *what)
{
    uint64_t deadline = tp_now_ms() + tt_test_scale_ms(TP_WAIT_MS);
    for (;;) {
        struct snap s = snap(fx);
        if (pred(&s)) {
            return s;
        }
        if (tp_now_ms() >= deadline) {
            fail_msg("the proxy never reached: %s", what);
        }
        tp_sleep_ms(5);
    }
}

static bool both_splicing(const struct snap *s)
{
    return s->found && s->on[PX_UP] && s->on[PX_DOWN];
}

static bool connected(const struct snap *s)
{
    return s->found && s->stats.accepted > 0;
}

static bool no_connection(const struct snap *s)
{
    return !s->found;
}

static bool down_stalled(const struct snap *s)
{
    return s->found && s->on[PX_DOWN] && s->full[PX_DOWN] && s->dst_blocked[PX_DOWN];
}

/* The proxy's own socket buffers, fixed small (the kernel would grow them to megabytes). */
static void small_proxy_buffers_fn(struct pxfix *fx, void *arg)
{
    (void)arg;
    struct px_proxy *px = tt__px_find(fx->ps, "p");
    assert_non_null(px);
    assert_false(tt__list_empty(&px->conns));
    struct px_conn *c = tt__container_of(px->conns.next, struct px_conn, link);
    uv_os_fd_t fds[2];
    assert_int_equal(uv_fileno((uv_handle_t *)&c->client.tcp, &fds[0]), 0);
    assert_int_equal(uv_fileno((uv_handle_t *)&c->server.tcp, &fds[1]), 0);
    for (int i = 0; i < 2; i++) {
        set_buf(fds[i], SO_RCVBUF, 64 * 1024);
        set_buf(fds[i], SO_SNDBUF, 64 * 1024);
    }
}

static void splice_off_fn(struct pxfix *fx, void *arg)
{
    (void)arg;
    fx->ps->splice_off = true;
}

/* Every direction splices from its first byte: what is tested here is the path, not when a
 * connection takes it (test_small_messages_stay_in_userspace is about that). */
static void splice_eager_fn(struct pxfix *fx, void *arg)
{
    (void)arg;
    fx->ps->splice_eager = true;
}

/* How the proxy under test splices. */
enum path { PATH_SPLICE, PATH_USERSPACE, PATH_AUTO /* the default: after a large read */ };

/* A fixture with /metrics, proxy "p" in front of a listener of the test's, and a connected
 * pair: *client and *upstream. */
static struct pxfix *begin_path(void **state, enum path path, int *client, int *upstream)
{
    struct tether_proxy_server_options o;
    pxfix_options(&o);
    o.proxy_metrics = true;
    struct pxfix *fx = pxfix_begin(state, &o);
    if (path != PATH_AUTO) {
        pxfix_run(fx, path == PATH_SPLICE ? splice_eager_fn : splice_off_fn, NULL);
    }
    uint16_t up_port;
    int lfd = up_listen(&up_port);
    uint16_t port = px_proxy(fx, "p", up_port);
    *client = tp_connect_ok(port);
    *upstream = up_accept(lfd);
    close(lfd);
    (void)wait_for(fx, path == PATH_SPLICE ? both_splicing : connected, "both directions relaying");
    return fx;
}

static struct pxfix *begin(void **state, bool splice, int *client, int *upstream)
{
    return begin_path(state, splice ? PATH_SPLICE : PATH_USERSPACE, client, upstream);
}

/* The value of the /metrics line that starts with `prefix` (a name and its first label). */
static uint64_t metric(struct pxfix *fx, const char *prefix)
{
    struct px_reply r;
    assert_int_equal(pxfix_call(fx, "GET", "/metrics", NULL, &r), 200);
    const char *line = strstr(r.body, prefix);
    if (!line) {
        fail_msg("no %s in /metrics:\n%s", prefix, r.body);
    }
    const char *sp = strchr(line, ' ');
    assert_non_null(sp);
    uint64_t v = strtoull(sp + 1, NULL, 10);
    px_reply_free(&r);
    return v;
}

/* Every byte counted once each way, in the stats and in Toxiproxy's metrics; `spliced` says
 * whether the kernel path carried them all or none. */
static void check_counters(struct pxfix *fx, uint64_t up, uint64_t down, bool spliced)
{
    struct snap s = wait_for(fx, no_connection, "the connection closed");
    assert_int_equal(s.stats.bytes_up, up);
    assert_int_equal(s.stats.sent_up, up);
    assert_int_equal(s.stats.bytes_down, down);
    assert_int_equal(s.stats.sent_down, down);
    assert_int_equal(s.stats.spliced_up, spliced ? up : 0);
    assert_int_equal(s.stats.spliced_down, spliced ? down : 0);
    assert_int_equal(metric(fx, "toxiproxy_proxy_received_bytes_total{direction=\"upstream\""), up);
    assert_int_equal(metric(fx, "toxiproxy_proxy_sent_bytes_total{direction=\"upstream\""), up);
    assert_int_equal(metric(fx, "toxiproxy_proxy_received_bytes_total{direction=\"downstream\""),
                     down);
    assert_int_equal(metric(fx, "toxiproxy_proxy_sent_bytes_total{direction=\"downstream\""), down);
}

/* The totals only, whichever path carried the bytes. */
static void check_counters_mixed(struct pxfix *fx, uint64_t up, uint64_t down)
{
    struct snap s = wait_for(fx, no_connection, "the connection closed");
    assert_int_equal(s.stats.bytes_up, up);
    assert_int_equal(s.stats.sent_up, up);
    assert_int_equal(s.stats.bytes_down, down);
    assert_int_equal(s.stats.sent_down, down);
}

/* ---- half-close: one direction's FIN while the other keeps flowing ---- */

static void half_close(void **state, bool splice, bool client_first)
{
    int client;
    int upstream;
    struct pxfix *fx = begin(state, splice, &client, &upstream);
    int first = client_first ? client : upstream;
    int second = client_first ? upstream : client;
    enum px_dir first_dir = client_first ? PX_UP : PX_DOWN;
    enum px_dir second_dir = client_first ? PX_DOWN : PX_UP;

    pump(first, second, MIB);
    assert_int_equal(shutdown(first, SHUT_WR), 0);
    struct tp_read r;
    ASSERT_END(tp_read_all(second, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 0);

    /* The other direction still flows, still spliced, after the FIN went through. */
    pump(second, first, 2 * MIB);
    struct snap s = snap(fx);
    assert_true(s.found);
    assert_false(s.on[first_dir]);
    assert_int_equal(s.on[second_dir], splice);

    assert_int_equal(shutdown(second, SHUT_WR), 0);
    ASSERT_END(tp_read_all(first, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 0);
    check_counters(fx, client_first ? MIB : 2 * MIB, client_first ? 2 * MIB : MIB, splice);
    close(client);
    close(upstream);
    pxfix_end(state);
}

static void test_half_close_client_first_spliced(void **state)
{
    half_close(state, true, true);
}

static void test_half_close_client_first_userspace(void **state)
{
    half_close(state, false, true);
}

static void test_half_close_upstream_first_spliced(void **state)
{
    half_close(state, true, false);
}

static void test_half_close_upstream_first_userspace(void **state)
{
    half_close(state, false, false);
}

/* ---- an RST from one side: the other side's end is the same on both paths ---- */

static void reset_from(void **state, bool splice, bool from_client)
{
    int client;
    int upstream;
    struct pxfix *fx = begin(state, splice, &client, &upstream);
    pump(client, upstream, MIB);
    pump(upstream, client, MIB);
    int resetter = from_client ? client : upstream;
    int other = from_client ? upstream : client;
    reset_close(resetter);
    struct tp_read r;
    ASSERT_END(tp_read_all(other, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 0);
    check_counters(fx, MIB, MIB, splice);
    assert_int_equal(snap(fx).stats.resets_sent, 0);
    close(other);
    pxfix_end(state);
}

static void test_reset_from_upstream_spliced(void **state)
{
    reset_from(state, true, false);
}

static void test_reset_from_upstream_userspace(void **state)
{
    reset_from(state, false, false);
}

static void test_reset_from_client_spliced(void **state)
{
    reset_from(state, true, true);
}

static void test_reset_from_client_userspace(void **state)
{
    reset_from(state, false, true);
}

/* ---- when a direction splices: after a read of bulk size, never for small messages ---- */

static void test_small_messages_stay_in_userspace(void **state)
{
    int client;
    int upstream;
    struct pxfix *fx = begin_path(state, PATH_AUTO, &client, &upstream);
    for (int i = 0; i < 50; i++) { /* request and response, as on a keep-alive connection */
        send_pattern(client, 0, 200);
        read_pattern(upstream, 0, 200);
        send_pattern(upstream, 0, 300);
        read_pattern(client, 0, 300);
    }
    struct snap s = snap(fx);
    assert_false(s.on[PX_UP]);
    assert_false(s.on[PX_DOWN]);
    assert_int_equal(s.stats.spliced_up + s.stats.spliced_down, 0);

    /* An upload: its first 64 KiB piece arrives as one read, and the direction splices from
     * then on; the downstream, still small, does not. */
    pump(client, upstream, 4 * MIB);
    s = snap(fx);
    assert_true(s.on[PX_UP]);
    assert_false(s.on[PX_DOWN]);
    assert_true(s.stats.spliced_up > 0);
    assert_int_equal(s.stats.spliced_down, 0);
    close(client);
    close(upstream);
    check_counters_mixed(fx, 50 * 200 + 4 * MIB, 50 * 300);
    pxfix_end(state);
}

/* ---- a toxic added mid-stream: userspace path while it is there, splice again after ---- */

static void test_toxic_switches_path(void **state)
{
    int lfd;
    uint16_t up_port;
    struct tether_proxy_server_options o;
    pxfix_options(&o);
    struct pxfix *fx = pxfix_begin(state, &o);
    pxfix_run(fx, splice_eager_fn, NULL);
    lfd = up_listen(&up_port);
    uint16_t port = px_proxy(fx, "p", up_port);
    /* Small buffers everywhere (well under 1 MiB in all), so most of what the client reads
     * while the toxic is there must cross the proxy after the toxic was added. */
    int client = connect_small_rcvbuf(port, 64 * 1024);
    int upstream = up_accept(lfd);
    close(lfd);
    set_buf(upstream, SO_SNDBUF, 64 * 1024);
    (void)wait_for(fx, both_splicing, "both directions splicing");
    pxfix_run(fx, small_proxy_buffers_fn, NULL);

    const size_t total = 16 * MIB;
    struct sender snd;
    sender_start(&snd, upstream, total);
    read_pattern(client, 0, MIB);
    /* Once the client stops reading, bytes wait in the pipe and both socket buffers: the
     * added toxic must not lose, repeat or reorder any of them. */
    struct snap s = wait_for(fx, down_stalled, "the pipe full and the client blocked");
    assert_true(s.held[PX_DOWN] > 0);
    px_toxic(fx, "p",
             "{\"type\":\"latency\",\"stream\":\"downstream\",\"attributes\":{\"latency\":1}}");
    s = snap(fx);
    assert_false(s.on[PX_DOWN]);
    assert_true(s.on[PX_UP]); /* the other direction has no toxic */
    uint64_t spliced_before = s.stats.spliced_down;
    read_pattern(client, MIB, 3 * MIB);

    px_ok(fx, "DELETE", "/proxies/p/toxics/latency_downstream", NULL, 204);
    /* Back to splicing once the userspace queue toward the client has drained, which needs
     * the client to read: read a piece at a time until the direction splices again. */
    size_t off = 4 * MIB;
    for (;;) {
        assert_true(off < total);
        read_pattern(client, off, PIECE);
        off += PIECE;
        if (snap(fx).on[PX_DOWN]) {
            break;
        }
    }
    read_pattern(client, off, total - off);
    assert_int_equal(pthread_join(snd.th, NULL), 0);
    assert_int_equal(snd.sent, total);
    close(upstream);
    struct tp_read r;
    ASSERT_END(tp_read_all(client, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    assert_int_equal(r.bytes, 0);
    close(client);

    s = wait_for(fx, no_connection, "the connection closed");
    assert_int_equal(s.stats.bytes_down, total);
    assert_int_equal(s.stats.sent_down, total);
    /* Both paths carried bytes: at least 2 MiB crossed while the toxic was there, and at
     * least what was left after the switch back (less what the buffers held) was spliced. */
    uint64_t spliced_after = s.stats.spliced_down - spliced_before;
    fprintf(stderr, "# spliced %llu bytes of %zu, %llu after the toxic went (at %zu)\n",
            (unsigned long long)s.stats.spliced_down, total, (unsigned long long)spliced_after,
            off);
    assert_true(s.stats.spliced_down <= total - 2 * MIB);
    assert_true(spliced_after >= total - off - 2 * MIB);
    pxfix_end(state);
}

/* ---- splice turned off under traffic: what splice.c does when splice(2) says EINVAL ---- */

/* The EINVAL branch sets splice_off and re-evaluates the direction; so does this. */
static void turn_splice_off_fn(struct pxfix *fx, void *arg)
{
    (void)arg;
    fx->ps->splice_off = true;
    struct px_proxy *px = tt__px_find(fx->ps, "p");
    assert_non_null(px);
    tt__px_conn_update_reading(tt__container_of(px->conns.next, struct px_conn, link));
}

static void test_fallback_mid_stream(void **state)
{
    int lfd;
    uint16_t up_port;
    struct tether_proxy_server_options o;
    pxfix_options(&o);
    struct pxfix *fx = pxfix_begin(state, &o);
    pxfix_run(fx, splice_eager_fn, NULL);
    lfd = up_listen(&up_port);
    uint16_t port = px_proxy(fx, "p", up_port);
    int client = connect_small_rcvbuf(port, 64 * 1024);
    int upstream = up_accept(lfd);
    close(lfd);
    set_buf(upstream, SO_SNDBUF, 64 * 1024);
    (void)wait_for(fx, both_splicing, "both directions splicing");
    pxfix_run(fx, small_proxy_buffers_fn, NULL);

    const size_t total = 8 * MIB;
    struct sender snd;
    sender_start(&snd, upstream, total);
    read_pattern(client, 0, MIB);
    struct snap s = wait_for(fx, down_stalled, "the pipe full and the client blocked");
    assert_true(s.held[PX_DOWN] > 0);
    pxfix_run(fx, turn_splice_off_fn, NULL);
    s = snap(fx);
    assert_false(s.on[PX_UP]);
    assert_false(s.on[PX_DOWN]);
    uint64_t spliced = s.stats.spliced_down;
    read_pattern(client, MIB, total - MIB); /* every byte, in order, by the userspace path */
    assert_int_equal(pthread_join(snd.th, NULL), 0);
    assert_int_equal(snd.sent, total);
    close(upstream);
    struct tp_read r;
    ASSERT_END(tp_read_all(client, NULL, 0, TP_WAIT_MS, &r), TP_EOF);
    close(client);
    s = wait_for(fx, no_connection, "the connection closed");
    assert_int_equal(s.stats.bytes_down, total);
    assert_int_equal(s.stats.sent_down, total);
    assert_int_equal(s.stats.spliced_down, spliced); /* nothing spliced after */
    pxfix_end(state);
}

/* ---- a client that does not read: the pipe bounds what the proxy holds ---- */

static void test_slow_reader_bounded(void **state)
{
    int lfd;
    uint16_t up_port;
    struct tether_proxy_server_options o;
    pxfix_options(&o);
    struct pxfix *fx = pxfix_begin(state, &o);
    pxfix_run(fx, splice_eager_fn, NULL);
    lfd = up_listen(&up_port);
    uint16_t port = px_proxy(fx, "p", up_port);
    int client = connect_small_rcvbuf(port, 4096);
    int upstream = up_accept(lfd);
    close(lfd);
    (void)wait_for(fx, both_splicing, "both directions splicing");

    struct sender snd;
    sender_start(&snd, upstream, 256 * MIB);
    /* The client never reads: the proxy stops reading the upstream once the pipe is full. */
    struct snap s = wait_for(fx, down_stalled, "the pipe full and the client blocked");
    assert_int_equal(s.src_events[PX_DOWN] & UV_READABLE, 0);
    assert_true(s.held[PX_DOWN] > 0);
    assert_true(s.held[PX_DOWN] <= 4 * MIB);
    assert_true(s.bytes[PX_DOWN] - s.stats.sent_down == s.held[PX_DOWN]);
    assert_true(s.bytes[PX_DOWN] < 64 * MIB); /* the sender is held back by TCP, not by us */

    reset_close(client); /* ends the connection; the sender's send fails */
    shutdown(upstream, SHUT_RDWR);
    assert_int_equal(pthread_join(snd.th, NULL), 0);
    assert_true(snd.sent < 256 * MIB);
    close(upstream);
    (void)wait_for(fx, no_connection, "the connection closed");
    pxfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_half_close_client_first_spliced, pxfix_teardown),
        cmocka_unit_test_teardown(test_half_close_client_first_userspace, pxfix_teardown),
        cmocka_unit_test_teardown(test_half_close_upstream_first_spliced, pxfix_teardown),
        cmocka_unit_test_teardown(test_half_close_upstream_first_userspace, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_from_upstream_spliced, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_from_upstream_userspace, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_from_client_spliced, pxfix_teardown),
        cmocka_unit_test_teardown(test_reset_from_client_userspace, pxfix_teardown),
        cmocka_unit_test_teardown(test_small_messages_stay_in_userspace, pxfix_teardown),
        cmocka_unit_test_teardown(test_toxic_switches_path, pxfix_teardown),
        cmocka_unit_test_teardown(test_fallback_mid_stream, pxfix_teardown),
        cmocka_unit_test_teardown(test_slow_reader_bounded, pxfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
