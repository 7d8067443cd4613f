/* SPDX-License-Identifier: MIT */
/*
 * Blocking loopback sockets, written with plain syscalls so that what a test sees (EOF, RST,
 * bytes) is the kernel's word, not the library's: the other end of a tt__stream for the net
 * tests' peer threads (tests/unit/net/), and the raw clients, listeners and addresses the
 * server and proxy tests need below HTTP (for HTTP over a raw socket, see rawclient.h).
 */
#ifndef TETHER_TEST_NET_PEER_H
#define TETHER_TEST_NET_PEER_H

#include <netinet/in.h>
#include <stdint.h>

/* A TCP socket whose blocking sends and receives give up after 5 s (scaled), so a broken test
 * fails instead of hanging. */
int np_socket(void);
/* 127.0.0.1:port. */
struct sockaddr_in np_loopback(uint16_t port);
/* A connected np_socket, or -1. */
int np_connect(uint16_t port);
/* A connected np_socket whose receive buffer is `rcvbuf` bytes, set before connect so that
 * the small window holds: a client that reads slowly or never, so what is sent to it piles up
 * on the sender's side. Fails the test when any step fails. */
int np_connect_rcvbuf(uint16_t port, int rcvbuf);
/* A listening np_socket on 127.0.0.1:0 with this backlog; *port gets its port. */
int np_listen(uint16_t *port, int backlog);
/* Closes with RST (SO_LINGER 0). */
void np_reset(int fd);

#endif
