/* SPDX-License-Identifier: MIT */
/*
 * The relay at the socket level: a proxy server on its own loop thread, a blocking echo
 * upstream on another, and the test thread as the client. Echo, half-close propagation,
 * latency, limit_data, reset_peer, disable, and a few of our own toxics and endpoints.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#include "loop.h"
#include "net_peer.h"
#include "tether/proxy.h"

#define T(ms) tt_test_scale_ms(ms)

/* ---- the echo upstream: one connection at a time, echoes until EOF, then half-closes ---- */

struct echo {
    int lfd;
    uint16_t port;
    pthread_t th;
    atomic_bool stop;
    atomic_int accepted;
};

static void echo_serve(int fd)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            if (n == 0) {
                /* Answered everything: our FIN follows the client's. */
                (void)shutdown(fd, SHUT_WR);
                char drain[256];
                while (recv(fd, drain, sizeof(drain), 0) > 0) {
                }
            }
            break;
        }
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0) {
                close(fd);
                return;
            }
            off += w;
        }
    }
    close(fd);
}

static void *echo_thread(void *arg)
{
    struct echo *e = arg;
    while (!atomic_load(&e->stop)) {
        struct pollfd p = {.fd = e->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) != 1) {
            continue;
        }
        int fd = accept(e->lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        atomic_fetch_add(&e->accepted, 1);
        struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        echo_serve(fd);
    }
    return NULL;
}

/* On 127.0.0.1, or on ::1 only (false when the host has no IPv6 loopback). */
static bool echo_start_on(struct echo *e, bool v6)
{
    memset(e, 0, sizeof(*e));
    e->lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (e->lfd < 0 && v6) {
        return false;
    }
    assert_true(e->lfd >= 0);
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        int on = 1;
        (void)setsockopt(e->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_loopback;
        len = sizeof(*a6);
    } else {
        struct sockaddr_in a = np_loopback(0);
        memcpy(&ss, &a, sizeof(a));
        len = sizeof(a);
    }
    if (bind(e->lfd, (struct sockaddr *)&ss, len) != 0) {
        assert_true(v6);
        close(e->lfd);
        return false;
    }
    assert_int_equal(listen(e->lfd, 16), 0);
    assert_int_equal(getsockname(e->lfd, (struct sockaddr *)&ss, &len), 0);
    e->port =
        ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    assert_int_equal(pthread_create(&e->th, NULL, echo_thread, e), 0);
    return true;
}

static void echo_start(struct echo *e)
{
    (void)echo_start_on(e, false);
}

static void echo_stop(struct echo *e)
{
    atomic_store(&e->stop, true);
    assert_int_equal(pthread_join(e->th, NULL), 0);
    close(e->lfd);
}

/* ---- the proxy server on its loop thread, called through an async handle ---- */

struct pfx {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tether_proxy_server *ps;
    const char *method, *path, *body;
    int status;
    char resp[16384];
    bool pending, done, stop, closed;
    struct echo echo;
};

static void pfx_closed(void *data)
{
    ((struct pfx *)data)->closed = true;
}

static void pfx_async(uv_async_t *a)
{
    struct pfx *fx = a->data;
    pthread_mutex_lock(&fx->mu);
    if (fx->pending) {
        char *resp = NULL;
        size_t len = 0;
        int rv =
            tether_proxy_server_call(fx->ps, fx->method, fx->path, fx->body,
                                     fx->body ? strlen(fx->body) : 0, &fx->status, &resp, &len);
        if (rv != 0) {
            fx->status = -1;
        }
        size_t n = len < sizeof(fx->resp) - 1 ? len : sizeof(fx->resp) - 1;
        memcpy(fx->resp, resp ? resp : "", n);
        fx->resp[n] = '\0';
        tether_free(resp);
        fx->pending = false;
        fx->done = true;
        pthread_cond_signal(&fx->cv);
    }
    if (fx->stop) {
        tether_proxy_server_close(fx->ps, pfx_closed, fx);
        uv_close((uv_handle_t *)a, NULL);
    }
    pthread_mutex_unlock(&fx->mu);
}

static void *pfx_thread(void *arg)
{
    struct pfx *fx = arg;
    (void)uv_run(&fx->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int api(struct pfx *fx, const char *method, const char *path, const char *body)
{
    pthread_mutex_lock(&fx->mu);
    fx->method = method;
    fx->path = path;
    fx->body = body;
    fx->pending = true;
    fx->done = false;
    assert_int_equal(uv_async_send(&fx->async), 0);
    while (!fx->done) {
        pthread_cond_wait(&fx->cv, &fx->mu);
    }
    int status = fx->status;
    pthread_mutex_unlock(&fx->mu);
    return status;
}

static void api_ok(struct pfx *fx, const char *method, const char *path, const char *body)
{
    int status = api(fx, method, path, body);
    if (status < 200 || status > 299) {
        fail_msg("%s %s %s -> %d %s", method, path, body ? body : "", status, fx->resp);
    }
}

static void add_toxic(struct pfx *fx, const char *body)
{
    api_ok(fx, "POST", "/proxies/p/toxics", body);
}

static struct pfx *pfx_start(void)
{
    struct pfx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    echo_start(&fx->echo);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    pthread_mutex_init(&fx->mu, NULL);
    pthread_cond_init(&fx->cv, NULL);
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.api_host = NULL;
    o.has_seed = true;
    o.seed = 7;
    o.connect_timeout_ms = 2000;
    ASSERT_OK(tether_proxy_server_new(&fx->loop, &o, &fx->ps));
    assert_int_equal(uv_async_init(&fx->loop, &fx->async, pfx_async), 0);
    fx->async.data = fx;
    assert_int_equal(pthread_create(&fx->th, NULL, pfx_thread, fx), 0);
    char body[200];
    snprintf(body, sizeof(body),
             "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
             fx->echo.port);
    api_ok(fx, "POST", "/proxies", body);
    return fx;
}

static uint16_t proxy_port(struct pfx *fx)
{
    api_ok(fx, "GET", "/proxies/p", NULL);
    const char *p = strstr(fx->resp, "\"listen\":\"127.0.0.1:");
    assert_non_null(p);
    return (uint16_t)strtoul(p + strlen("\"listen\":\"127.0.0.1:"), NULL, 10);
}

static void pfx_stop(struct pfx *fx)
{
    pthread_mutex_lock(&fx->mu);
    fx->stop = true;
    pthread_mutex_unlock(&fx->mu);
    assert_int_equal(uv_async_send(&fx->async), 0);
    assert_int_equal(pthread_join(fx->th, NULL), 0);
    assert_true(fx->closed);
    tt_test_loop_close(&fx->loop);
    echo_stop(&fx->echo);
    pthread_mutex_destroy(&fx->mu);
    pthread_cond_destroy(&fx->cv);
    free(fx);
}

/* ---- the client ---- */

static int client_connect(uint16_t port)
{
    /* Every blocking read or write waits for something that must happen: scaled bound. */
    int fd = np_socket();
    struct sockaddr_in a = np_loopback(port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Reads exactly `len` bytes. */
static void recv_exact(int fd, void *out, size_t len)
{
    char *p = out;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n <= 0) {
            fail_msg("recv returned %zd (%s) with %zu bytes still expected", n,
                     n < 0 ? strerror(errno) : "EOF", len);
        }
        p += n;
        len -= (size_t)n;
    }
}

/* How the stream ends: 0 for EOF, an errno (ECONNRESET...), or -1 if bytes came instead. */
static int recv_end(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    if (n == 0) {
        return 0;
    }
    return n < 0 ? errno : -1;
}

/* Reads until the end; returns the byte count and stores how it ended. */
static size_t recv_until_end(int fd, int *how)
{
    char buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            total += (size_t)n;
            continue;
        }
        *how = n == 0 ? 0 : errno;
        return total;
    }
}

/* A port nothing listens on (bound, read back, closed). */
static uint16_t dead_port(void)
{
    int tmp = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(tmp >= 0);
    struct sockaddr_in a = np_loopback(0);
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(tmp, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(tmp, (struct sockaddr *)&a, &alen), 0);
    close(tmp);
    return ntohs(a.sin_port);
}

/* ---- tests ---- */

static void test_echo_and_stats(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char buf[16];
    send_all(fd, "hello", 5);
    recv_exact(fd, buf, 5);
    assert_memory_equal(buf, "hello", 5);
    api_ok(fx, "GET", "/proxies/p/connections", NULL);
    assert_non_null(strstr(fx->resp, "\"bytes_up\":5,\"bytes_down\":5,\"state\":\"open\""));
    close(fd);
    uint64_t until = tt_test_now_ms() + T(3000);
    do {
        api_ok(fx, "GET", "/proxies/p/stats", NULL);
        if (strstr(fx->resp, "\"active\":0")) {
            break;
        }
        tt_test_sleep_ms(10);
    } while (tt_test_now_ms() < until);
    assert_non_null(strstr(fx->resp, "{\"accepted\":1,\"active\":0,\"refused\":0"));
    assert_non_null(strstr(fx->resp, "\"bytes_up\":5,\"bytes_down\":5}"));
    /* The story in /events: accepted, connected, closed once both sides had sent FIN. */
    api_ok(fx, "GET", "/events", NULL);
    const char *a = strstr(fx->resp, "\"seq\":1,");
    const char *b = strstr(fx->resp, "\"type\":\"connect\"");
    const char *e = strstr(fx->resp, "\"type\":\"close\",\"proxy\":\"p\",\"connection\":1");
    assert_true(a && b && e && a < b && b < e);
    assert_non_null(strstr(fx->resp, "{\"cursor\":3,\"events\":[{\"seq\":1,\"time\":\""));
    api_ok(fx, "GET", "/events?since=2", NULL);
    assert_non_null(strstr(fx->resp, "{\"cursor\":3,\"events\":[{\"seq\":3,"));
    pfx_stop(fx);
}

/* The client's FIN reaches the server as a FIN, and the reply still comes back (Toxiproxy
 * closes the whole connection and loses it). */
static void test_half_close(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    size_t len = 300 * 1024;
    char *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++) {
        data[i] = (char)(i * 7);
    }
    send_all(fd, data, len);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char *back = malloc(len);
    assert_non_null(back);
    recv_exact(fd, back, len);
    assert_memory_equal(back, data, len);
    assert_int_equal(recv_end(fd), 0);
    close(fd);
    free(data);
    free(back);
    pfx_stop(fx);
}

static void test_latency(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"latency\",\"attributes\":{\"latency\":1000}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char buf[4];
    uint64_t t0 = tt_test_now_ms();
    send_all(fd, "ping", 4);
    recv_exact(fd, buf, 4);
    uint64_t took = tt_test_now_ms() - t0;
    assert_true(took >= 1000);
    assert_true(took < 1000 + T(2000));
    /* Removing the toxic lets the next round trip through without the delay: it must come
     * back before the latency it no longer has (a second of slack for a busy machine). */
    api_ok(fx, "DELETE", "/proxies/p/toxics/latency_downstream", NULL);
    t0 = tt_test_now_ms();
    send_all(fd, "pong", 4);
    recv_exact(fd, buf, 4);
    assert_true(tt_test_now_ms() - t0 < 1000);
    close(fd);
    pfx_stop(fx);
}

static void test_limit_data(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"limit_data\",\"attributes\":{\"bytes\":10}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char data[100];
    memset(data, 'x', sizeof(data));
    send_all(fd, data, sizeof(data));
    int how = -2;
    size_t got = recv_until_end(fd, &how);
    assert_int_equal(got, 10);
    assert_int_equal(how, 0); /* FIN, not RST */
    close(fd);
    pfx_stop(fx);
}

static void test_reset_peer(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx,
              "{\"type\":\"reset_peer\",\"stream\":\"upstream\",\"attributes\":{\"timeout\":100}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    uint64_t t0 = tt_test_now_ms();
    send_all(fd, "x", 1);
    assert_int_equal(recv_end(fd), ECONNRESET);
    assert_true(tt_test_now_ms() - t0 >= 100);
    close(fd);
    /* Without data the toxic never fires: a fresh connection stays up. */
    fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 300), 0);
    close(fd);
    pfx_stop(fx);
}

static void test_disable_refuses(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    uint16_t port = proxy_port(fx);
    int open_fd = client_connect(port);
    assert_true(open_fd >= 0);
    send_all(open_fd, "a", 1);
    char c;
    recv_exact(open_fd, &c, 1);
    api_ok(fx, "POST", "/proxies/p", "{\"enabled\":false}");
    assert_int_equal(client_connect(port), -ECONNREFUSED);
    assert_int_equal(recv_end(open_fd), 0); /* existing connections closed with FIN */
    close(open_fd);
    api_ok(fx, "POST", "/proxies/p", "{\"enabled\":true}");
    int fd = client_connect(port);
    assert_true(fd >= 0);
    send_all(fd, "b", 1);
    recv_exact(fd, &c, 1);
    assert_int_equal(c, 'b');
    close(fd);
    pfx_stop(fx);
}

/* Ours: `reset` resets at once, with no data needed, and counts as an RST sent. */
static void test_reset_toxic(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    uint16_t port = proxy_port(fx);
    int fd = client_connect(port);
    assert_true(fd >= 0);
    send_all(fd, "a", 1);
    char c;
    recv_exact(fd, &c, 1);
    /* Added to a live connection: the firewall-reset preset. */
    add_toxic(fx, "{\"type\":\"reset\",\"attributes\":{\"timeout\":0}}");
    assert_int_equal(recv_end(fd), ECONNRESET);
    close(fd);
    api_ok(fx, "DELETE", "/proxies/p/toxics/reset_downstream", NULL);
    add_toxic(fx, "{\"type\":\"reset\",\"attributes\":{\"after_bytes\":3}}");
    fd = client_connect(port);
    assert_true(fd >= 0);
    send_all(fd, "abcdef", 6);
    char buf[3];
    recv_exact(fd, buf, 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(recv_end(fd), ECONNRESET);
    close(fd);
    pfx_stop(fx);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"idle_timeout\",\"attributes\":{\"timeout\":1000}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char c;
    uint64_t t0 = tt_test_now_ms();
    uint64_t last = t0;
    /* Traffic every 20 ms keeps it alive past the timeout (the gaps are short next to it, so
     * only a stall of most of a second could let it expire here). */
    while (tt_test_now_ms() - t0 < 1500) {
        last = tt_test_now_ms();
        send_all(fd, "a", 1);
        recv_exact(fd, &c, 1);
        tt_test_sleep_ms(20);
    }
    assert_int_equal(recv_end(fd), 0);
    /* It expires a timeout after the last byte, which went through after `last`. */
    assert_true(tt_test_now_ms() - last >= 1000 - 10);
    close(fd);
    /* rst: both sides get an RST at expiry. */
    api_ok(fx, "POST", "/proxies/p/toxics/idle_timeout_downstream",
           "{\"attributes\":{\"action\":\"rst\",\"timeout\":200}}");
    fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    assert_int_equal(recv_end(fd), ECONNRESET);
    close(fd);
    /* silent: nothing at expiry; the next data from the client meets an RST. The client
     * writes once the proxy's /events reports the expiry: its timer decides, not a sleep. */
    api_ok(fx, "POST", "/proxies/p/toxics/idle_timeout_downstream",
           "{\"attributes\":{\"action\":\"silent\"}}");
    fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    uint64_t until = tt_test_now_ms() + T(5000);
    do {
        api_ok(fx, "GET", "/events", NULL);
        if (strstr(fx->resp, "\"type\":\"expire\"")) {
            break;
        }
        tt_test_sleep_ms(10);
    } while (tt_test_now_ms() < until);
    assert_non_null(strstr(fx->resp, "\"type\":\"expire\""));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 200), 0);
    send_all(fd, "late", 4);
    assert_int_equal(recv_end(fd), ECONNRESET);
    close(fd);
    pfx_stop(fx);
}

/* When the dial fails: Toxiproxy's accept-then-EOF by default, RST with upstream_down. */
static void test_upstream_down(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    char body[200];
    snprintf(body, sizeof(body),
             "{\"name\":\"d\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
             dead_port());
    api_ok(fx, "POST", "/proxies", body);
    api_ok(fx, "GET", "/proxies/d", NULL);
    const char *lp = strstr(fx->resp, "\"listen\":\"127.0.0.1:");
    uint16_t port = (uint16_t)strtoul(lp + strlen("\"listen\":\"127.0.0.1:"), NULL, 10);
    int fd = client_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(recv_end(fd), 0);
    close(fd);
    api_ok(fx, "POST", "/proxies/d/toxics",
           "{\"type\":\"upstream_down\",\"attributes\":{\"action\":\"rst\"}}");
    fd = client_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(recv_end(fd), ECONNRESET);
    close(fd);
    api_ok(fx, "GET", "/proxies/d/stats", NULL);
    assert_non_null(strstr(fx->resp, "\"accepted\":2,\"active\":0,\"refused\":2"));
    pfx_stop(fx);
}

/* Removing a timeout toxic closes what it black-holed (FIN); a blackhole's removal does not. */
static void test_timeout_and_blackhole(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    add_toxic(fx, "{\"type\":\"blackhole\",\"stream\":\"upstream\"}");
    send_all(fd, "lost", 4);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 200), 0);
    api_ok(fx, "DELETE", "/proxies/p/toxics/blackhole_upstream", NULL);
    send_all(fd, "kept", 4);
    char buf[4];
    recv_exact(fd, buf, 4);
    assert_memory_equal(buf, "kept", 4);

    add_toxic(fx, "{\"type\":\"timeout\",\"stream\":\"upstream\"}");
    send_all(fd, "gone", 4);
    assert_int_equal(poll(&p, 1, 200), 0);
    api_ok(fx, "DELETE", "/proxies/p/toxics/timeout_upstream", NULL);
    assert_int_equal(recv_end(fd), 0);
    close(fd);
    pfx_stop(fx);
}

/* max_connections "refuse": the listener closes at the limit and reopens below it. */
static void test_max_connections_refuse(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    uint16_t port = proxy_port(fx);
    add_toxic(fx,
              "{\"type\":\"max_connections\",\"attributes\":{\"limit\":1,\"action\":\"refuse\"}}");
    int fd = client_connect(port);
    assert_true(fd >= 0);
    char c;
    send_all(fd, "a", 1);
    recv_exact(fd, &c, 1);
    assert_int_equal(client_connect(port), -ECONNREFUSED);
    close(fd);
    int again = -1;
    uint64_t until = tt_test_now_ms() + T(3000);
    while (tt_test_now_ms() < until && (again = client_connect(port)) < 0) {
        tt_test_sleep_ms(10);
    }
    assert_true(again >= 0);
    send_all(again, "b", 1);
    recv_exact(again, &c, 1);
    close(again);
    pfx_stop(fx);
}

/* Killing a listed connection with RST through the API. */
static void test_kill_connection(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char c;
    send_all(fd, "a", 1);
    recv_exact(fd, &c, 1);
    api_ok(fx, "GET", "/proxies/p/connections", NULL);
    assert_non_null(strstr(fx->resp, "[{\"id\":1,\"client\":\"127.0.0.1:"));
    api_ok(fx, "DELETE", "/proxies/p/connections/1?action=rst", NULL);
    assert_int_equal(recv_end(fd), ECONNRESET);
    close(fd);
    pfx_stop(fx);
}

static void test_bandwidth(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":10}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char data[5000];
    memset(data, 'z', sizeof(data));
    uint64_t t0 = tt_test_now_ms();
    send_all(fd, data, sizeof(data));
    recv_exact(fd, data, sizeof(data));
    /* 5000 bytes at 10 KB/s: half a second, however the reads were cut. */
    assert_true(tt_test_now_ms() - t0 >= 450);
    close(fd);
    pfx_stop(fx);
}

/* upstream_down "refuse": the first client is reset, later ones are refused by the kernel,
 * and the listener comes back once the upstream answers. */
static void test_upstream_down_refuse(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    uint16_t up = dead_port();
    char body[200];
    snprintf(body, sizeof(body),
             "{\"name\":\"d\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\","
             "\"toxics\":[{\"type\":\"upstream_down\",\"attributes\":{\"action\":\"refuse\"}}]}",
             up);
    api_ok(fx, "POST", "/proxies", body);
    const char *lp = strstr(fx->resp, "\"listen\":\"127.0.0.1:");
    uint16_t port = (uint16_t)strtoul(lp + strlen("\"listen\":\"127.0.0.1:"), NULL, 10);
    int fd = client_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(recv_end(fd), ECONNRESET);
    close(fd);
    assert_int_equal(client_connect(port), -ECONNREFUSED);
    /* Bring the upstream up on that port: the prober reopens the listener. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    (void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = np_loopback(up);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    int again = -1;
    uint64_t until = tt_test_now_ms() + T(5000);
    while (tt_test_now_ms() < until && (again = client_connect(port)) < 0) {
        tt_test_sleep_ms(20);
    }
    assert_true(again >= 0);
    close(again);
    close(lfd);
    pfx_stop(fx);
}

/* accept "hang": connected, never dialled; removing the toxic lets it through. */
static void test_accept_hang(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"accept\",\"attributes\":{\"action\":\"hang\"}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    send_all(fd, "wait", 4);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 200), 0);
    api_ok(fx, "GET", "/proxies/p/connections", NULL);
    assert_non_null(strstr(fx->resp, "\"state\":\"hung\""));
    assert_int_equal(atomic_load(&fx->echo.accepted), 0);
    api_ok(fx, "DELETE", "/proxies/p/toxics/accept_downstream", NULL);
    char buf[4];
    recv_exact(fd, buf, 4);
    assert_memory_equal(buf, "wait", 4);
    close(fd);
    /* rst after a delay. */
    add_toxic(fx, "{\"type\":\"accept\",\"attributes\":{\"action\":\"rst\",\"delay\":100}}");
    uint64_t t0 = tt_test_now_ms();
    fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    assert_int_equal(recv_end(fd), ECONNRESET);
    assert_true(tt_test_now_ms() - t0 >= 90);
    close(fd);
    pfx_stop(fx);
}

/* max_connections "queue": the second client completes its handshake in the backlog and is
 * served once the first leaves. */
static void test_max_connections_queue(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"max_connections\",\"attributes\":{\"limit\":1}}");
    uint16_t port = proxy_port(fx);
    int a = client_connect(port);
    assert_true(a >= 0);
    char c;
    send_all(a, "a", 1);
    recv_exact(a, &c, 1);
    int b = client_connect(port);
    assert_true(b >= 0);
    send_all(b, "b", 1);
    struct pollfd p = {.fd = b, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 200), 0);
    close(a);
    recv_exact(b, &c, 1);
    assert_int_equal(c, 'b');
    close(b);
    pfx_stop(fx);
}

/* slicer keeps every byte in order; slow_close delays the FIN, not the data. */
static void test_slicer_slow_close(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"slicer\",\"attributes\":{\"average_size\":7,\"size_variation\":5,"
                  "\"delay\":10}}");
    add_toxic(fx, "{\"type\":\"slow_close\",\"attributes\":{\"delay\":300}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char data[3000], back[3000];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (char)(i * 13 + 1);
    }
    send_all(fd, data, sizeof(data));
    recv_exact(fd, back, sizeof(back));
    assert_memory_equal(back, data, sizeof(data));
    uint64_t t0 = tt_test_now_ms();
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    assert_int_equal(recv_end(fd), 0);
    assert_true(tt_test_now_ms() - t0 >= 280);
    close(fd);
    pfx_stop(fx);
}

/* connect_delay holds the dial; max_lifetime resets a busy connection on time. */
static void test_connect_delay_max_lifetime(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"connect_delay\",\"attributes\":{\"delay\":150}}");
    add_toxic(fx,
              "{\"type\":\"max_lifetime\",\"attributes\":{\"timeout\":400,\"action\":\"rst\"}}");
    uint64_t t0 = tt_test_now_ms();
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char c;
    send_all(fd, "a", 1);
    recv_exact(fd, &c, 1);
    assert_true(tt_test_now_ms() - t0 >= 140);
    /* Busy or not, it goes at 400 ms after the accept. */
    int err = 0;
    while (tt_test_now_ms() - t0 < T(3000)) {
        if (send(fd, "b", 1, MSG_NOSIGNAL) < 0) {
            err = errno;
            break;
        }
        ssize_t n = recv(fd, &c, 1, 0);
        if (n <= 0) {
            err = n == 0 ? -1 : errno;
            break;
        }
        tt_test_sleep_ms(20);
    }
    assert_true(err == ECONNRESET || err == EPIPE);
    assert_true(tt_test_now_ms() - t0 >= 390);
    assert_true(tt_test_now_ms() - t0 < T(3000));
    close(fd);
    pfx_stop(fx);
}

/* conntrack_expiry "blackhole": after the idle time, data vanishes and nothing closes. */
static void test_conntrack_blackhole(void **state)
{
    (void)state;
    struct pfx *fx = pfx_start();
    add_toxic(fx, "{\"type\":\"conntrack_expiry\",\"attributes\":{\"timeout\":150}}");
    int fd = client_connect(proxy_port(fx));
    assert_true(fd >= 0);
    char c;
    send_all(fd, "a", 1);
    recv_exact(fd, &c, 1);
    tt_test_sleep_ms(300);
    send_all(fd, "b", 1);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 300), 0);
    api_ok(fx, "GET", "/proxies/p/connections", NULL);
    assert_non_null(strstr(fx->resp, "\"state\":\"blackholed\""));
    close(fd);
    pfx_stop(fx);
}

/* "localhost" upstreams: like Go's dialer, try 127.0.0.1 and then ::1 (a server that bound
 * "localhost" may have only ::1). */
static void test_localhost_v6_fallback(void **state)
{
    (void)state;
    struct echo v6;
    if (!echo_start_on(&v6, true)) {
        skip();
    }
    struct pfx *fx = pfx_start();
    char body[200];
    snprintf(body, sizeof(body),
             "{\"name\":\"six\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"localhost:%u\"}",
             v6.port);
    api_ok(fx, "POST", "/proxies", body);
    const char *lp = strstr(fx->resp, "\"listen\":\"127.0.0.1:");
    uint16_t port = (uint16_t)strtoul(lp + strlen("\"listen\":\"127.0.0.1:"), NULL, 10);
    int fd = client_connect(port);
    assert_true(fd >= 0);
    char buf[3];
    send_all(fd, "six", 3);
    recv_exact(fd, buf, 3);
    assert_memory_equal(buf, "six", 3);
    api_ok(fx, "GET", "/proxies/six/connections", NULL);
    assert_non_null(strstr(fx->resp, "\"upstream\":\"[::1]:"));
    close(fd);
    pfx_stop(fx);
    echo_stop(&v6);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_and_stats),
        cmocka_unit_test(test_half_close),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_limit_data),
        cmocka_unit_test(test_reset_peer),
        cmocka_unit_test(test_disable_refuses),
        cmocka_unit_test(test_reset_toxic),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_upstream_down),
        cmocka_unit_test(test_timeout_and_blackhole),
        cmocka_unit_test(test_max_connections_refuse),
        cmocka_unit_test(test_kill_connection),
        cmocka_unit_test(test_bandwidth),
        cmocka_unit_test(test_upstream_down_refuse),
        cmocka_unit_test(test_accept_hang),
        cmocka_unit_test(test_max_connections_queue),
        cmocka_unit_test(test_slicer_slow_close),
        cmocka_unit_test(test_connect_delay_max_lifetime),
        cmocka_unit_test(test_conntrack_blackhole),
        cmocka_unit_test(test_localhost_v6_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
