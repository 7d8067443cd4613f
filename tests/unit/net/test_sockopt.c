/* SPDX-License-Identifier: MIT */
/* Socket options on real loopback sockets, read back with getsockopt. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include "loop.h"
#include "net/net.h"
#include "test.h"

struct fx {
    uv_loop_t loop;
    uv_tcp_t listener;
    uint16_t port;
    struct tt__stream server;
    struct tt__stream client;
    bool accepted;
    bool connected;
    int connect_status;
    int closed;
};

static void fx_on_connection(uv_stream_t *l, int status)
{
    struct fx *fx = l->data;
    assert_int_equal(status, 0);
    ASSERT_OK(tt__stream_accept(l, &fx->server));
    fx->accepted = true;
}

static void fx_on_connect(struct tt__stream *s, int status)
{
    struct fx *fx = s->data;
    fx->connect_status = status;
    fx->connected = true;
}

static void fx_on_closed(struct tt__stream *s, bool rst_sent)
{
    struct fx *fx = s->data;
    (void)rst_sent;
    fx->closed++;
}

/* A connected pair on 127.0.0.1: fx->client dialled fx->listener, fx->server accepted. */
static void fx_setup_pair(struct fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    ASSERT_OK(uv_loop_init(&fx->loop));
    fx->port = tt_test_tcp_listen(&fx->loop, &fx->listener, fx, 8, fx_on_connection);
    ASSERT_OK(tt__stream_init(tt_test_defer(&fx->loop), &fx->server));
    ASSERT_OK(tt__stream_init(tt_test_defer(&fx->loop), &fx->client));
    fx->server.data = fx;
    fx->client.data = fx;
    struct sockaddr_in addr;
    ASSERT_OK(uv_ip4_addr("127.0.0.1", fx->port, &addr));
    ASSERT_OK(tt__stream_connect(&fx->client, (const struct sockaddr *)&addr, 5000, NULL, NULL,
                                 fx_on_connect));
    tt_test_loop_run_until(&fx->loop, &fx->connected, 5000);
    ASSERT_OK(fx->connect_status);
    tt_test_loop_run_until(&fx->loop, &fx->accepted, 5000);
}

static void fx_teardown(struct fx *fx)
{
    tt__stream_close_now(&fx->client, fx_on_closed);
    tt__stream_close_now(&fx->server, fx_on_closed);
    uv_close((uv_handle_t *)&fx->listener, NULL);
    while (fx->closed < 2) {
        (void)uv_run(&fx->loop, UV_RUN_ONCE);
    }
    tt_test_loop_close(&fx->loop);
}

static int get_int(uv_tcp_t *tcp, int level, int name)
{
    uv_os_fd_t fd;
    int v = -1;
    socklen_t len = sizeof(v);
    ASSERT_OK(uv_fileno((const uv_handle_t *)tcp, &fd));
    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

static void test_keepalive(void **state)
{
    (void)state;
    struct fx fx;
    fx_setup_pair(&fx);
    ASSERT_OK(tt__sock_set_keepalive(&fx.client.tcp, true, 30, 5, 3));
    assert_int_not_equal(get_int(&fx.client.tcp, SOL_SOCKET, SO_KEEPALIVE), 0);
#ifdef TCP_KEEPIDLE
    assert_int_equal(get_int(&fx.client.tcp, IPPROTO_TCP, TCP_KEEPIDLE), 30);
#endif
#ifdef TCP_KEEPINTVL
    assert_int_equal(get_int(&fx.client.tcp, IPPROTO_TCP, TCP_KEEPINTVL), 5);
#endif
#ifdef TCP_KEEPCNT
    assert_int_equal(get_int(&fx.client.tcp, IPPROTO_TCP, TCP_KEEPCNT), 3);
#endif
    /* Zero knobs keep what is there. */
    ASSERT_OK(tt__sock_set_keepalive(&fx.server.tcp, true, 0, 0, 0));
    assert_int_not_equal(get_int(&fx.server.tcp, SOL_SOCKET, SO_KEEPALIVE), 0);
    ASSERT_OK(tt__sock_set_keepalive(&fx.client.tcp, false, 30, 5, 3));
    assert_int_equal(get_int(&fx.client.tcp, SOL_SOCKET, SO_KEEPALIVE), 0);
    fx_teardown(&fx);
}

static void test_nodelay_and_user_timeout(void **state)
{
    (void)state;
    struct fx fx;
    fx_setup_pair(&fx);
    ASSERT_OK(tt__sock_set_nodelay(&fx.server.tcp, true));
    assert_int_not_equal(get_int(&fx.server.tcp, IPPROTO_TCP, TCP_NODELAY), 0);
    ASSERT_OK(tt__sock_set_nodelay(&fx.server.tcp, false));
    assert_int_equal(get_int(&fx.server.tcp, IPPROTO_TCP, TCP_NODELAY), 0);
#ifdef TCP_USER_TIMEOUT
    ASSERT_OK(tt__sock_set_user_timeout(&fx.client.tcp, 10000));
    assert_int_equal(get_int(&fx.client.tcp, IPPROTO_TCP, TCP_USER_TIMEOUT), 10000);
    ASSERT_OK(tt__sock_set_user_timeout(&fx.client.tcp, 0));
    assert_int_equal(get_int(&fx.client.tcp, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
#else
    ASSERT_ERR(tt__sock_set_user_timeout(&fx.client.tcp, 10000), TETHER_ENOTSUP);
#endif
    fx_teardown(&fx);
}

static void test_addresses_and_unread(void **state)
{
    (void)state;
    struct fx fx;
    char local[64];
    char peer[64];
    char expect[64];
    size_t unread = 99;
    fx_setup_pair(&fx);
    ASSERT_OK(tt__sock_peer(&fx.client.tcp, peer, sizeof(peer)));
    (void)snprintf(expect, sizeof(expect), "127.0.0.1:%u", (unsigned)fx.port);
    assert_string_equal(peer, expect);
    assert_string_equal(fx.client.peer, expect);
    ASSERT_OK(tt__sock_local(&fx.client.tcp, local, sizeof(local)));
    /* The server sees the client's ephemeral address as its peer. */
    ASSERT_OK(tt__sock_peer(&fx.server.tcp, peer, sizeof(peer)));
    assert_string_equal(local, peer);
    assert_string_equal(fx.server.peer, peer);

    ASSERT_OK(tt__sock_unread_bytes(&fx.client.tcp, &unread));
    assert_int_equal(unread, 0);
    ASSERT_OK(tt__stream_write(&fx.server, "hello", 5, NULL, NULL));
    /* Bounded by time, not turns: on loopback the bytes arrive at once unless the machine
     * is busy. */
    uint64_t stop = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (unread != 5 && tt_test_now_ms() < stop) {
        tt_test_loop_run_for(&fx.loop, 5);
        ASSERT_OK(tt__sock_unread_bytes(&fx.client.tcp, &unread));
    }
    assert_int_equal(unread, 5);
    fx_teardown(&fx);
}

static void test_no_socket_yet(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct tt__stream s;
    size_t unread;
    char buf[64];
    bool closed = false;
    ASSERT_OK(uv_loop_init(&loop));
    ASSERT_OK(tt__stream_init(tt_test_defer(&loop), &s));
    s.data = &closed;
    ASSERT_ERR(tt__sock_set_nodelay(&s.tcp, true), TETHER_EINVAL);
    ASSERT_ERR(tt__sock_set_keepalive(&s.tcp, true, 1, 1, 1), TETHER_EINVAL);
    ASSERT_ERR(tt__sock_unread_bytes(&s.tcp, &unread), TETHER_EINVAL);
    assert_int_not_equal(tt__sock_peer(&s.tcp, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    tt__stream_close_now(&s, NULL);
    tt_test_loop_close(&loop);
    assert_int_equal(s.state, TT__STREAM_CLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_nodelay_and_user_timeout),
        cmocka_unit_test(test_addresses_and_unread),
        cmocka_unit_test(test_no_socket_yet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
