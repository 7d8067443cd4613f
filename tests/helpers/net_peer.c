/* SPDX-License-Identifier: MIT */
/* Blocking loopback sockets for the tests (net_peer.h). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net_peer.h"
#include "test.h"

int np_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = (time_t)(tt_test_scale_ms(5000) / 1000u), .tv_usec = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

struct sockaddr_in np_loopback(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int np_connect(uint16_t port)
{
    int fd = np_socket();
    struct sockaddr_in a = np_loopback(port);
    if (connect(fd, (const struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int np_connect_rcvbuf(uint16_t port, int rcvbuf)
{
    int fd = np_socket();
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    struct sockaddr_in a = np_loopback(port);
    assert_int_equal(connect(fd, (const struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

int np_listen(uint16_t *port, int backlog)
{
    int fd = np_socket();
    struct sockaddr_in a = np_loopback(0);
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (const struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

void np_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}
