/* SPDX-License-Identifier: MIT */
/*
 * tether_request_take_socket (CONNECT handlers): the handler gets the socket and the bytes sent
 * after the head; the server's own close then sends nothing (no FIN, no RST), so the socket
 * carries whatever the new owner writes until the owner closes it. Refused once a response
 * has begun.
 */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

static void test_take_socket(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    /* One send: the bytes after the head arrive with it and go to the new owner. */
    ASSERT_RC(rc_send_str(&c, "GET /take HTTP/1.1\r\nHost: t\r\n\r\nEXTRA"), RC_OK);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "pending=EXTRA");

    /* The server has forgotten the connection, and its close sent nothing. */
    struct srvfix_snapshot s;
    srvfix_expect_closed(fx, TETHER_CLOSE_HANDLER_ABORT, 1, &s);
    assert_int_equal(s.take_rv, 0);
    assert_true(s.taken_fd >= 0);
    assert_int_equal(s.stats.fin_sent, 0);
    assert_int_equal(s.stats.rst_sent, 0);

    /* The socket still works both ways under the new owner. */
    static const char more[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmore";
    assert_int_equal(write(s.taken_fd, more, sizeof(more) - 1), (long)sizeof(more) - 1);
    ASSERT_RC(rc_read_response(&c, &r, T(2000)), RC_OK);
    assert_string_equal(r.body, "more");
    ASSERT_RC(rc_send_str(&c, "ping"), RC_OK);
    struct pollfd p = {.fd = s.taken_fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, (int)T(2000)), 1);
    char got[8];
    assert_int_equal(read(s.taken_fd, got, sizeof(got)), 4);
    assert_memory_equal(got, "ping", 4);

    /* Its close is the owner's: a FIN. */
    close(s.taken_fd);
    ASSERT_RC(rc_wait_close(&c, T(2000)), RC_EOF);
    rc_close(&c);
    srvfix_end(state);
}

static void test_take_socket_after_response_began(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    struct rc_response r;
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    ASSERT_RC(rc_get(&c, "/take-late", 200, &r, T(2000)), RC_OK);
    assert_string_equal(r.body, "late");
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.take_rv, TETHER_EINVAL);
    assert_int_equal(s.taken_fd, -1);
    /* The connection is the server's still: keep-alive carries the next request. */
    ASSERT_RC(rc_get(&c, "/again", 200, &r, T(2000)), RC_OK);
    rc_close(&c);
    srvfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_take_socket, srvfix_teardown),
        cmocka_unit_test_teardown(test_take_socket_after_response_began, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
