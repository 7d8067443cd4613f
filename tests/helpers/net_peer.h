/* SPDX-License-Identifier: MIT */
/*
 * Blocking loopback sockets for the net tests' peer threads (tests/unit/net/): the other end of
 * a tt__stream, written with plain syscalls so that what the peer sees (EOF, RST, bytes) is the
 * kernel's word, not the library's.
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
/* A listening np_socket on 127.0.0.1:0 with this backlog; *port gets its port. */
int np_listen(uint16_t *port, int backlog);
/* Closes with RST (SO_LINGER 0). */
void np_reset(int fd);

#endif
