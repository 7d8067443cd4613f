/* SPDX-License-Identifier: MIT */
/*
 * idle_conns PORT N: opens N keep-alive connections to 127.0.0.1:PORT, makes one GET on each and
 * reads its whole response, then holds them all idle, prints "held N" and waits for stdin to
 * close before closing them. server_bench measures a server's resident memory before and
 * after, for the memory an idle keep-alive connection costs (nginx frees a connection's
 * buffers while it waits for the next request; that is the bar).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char request[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

/* Reads one response with a Content-Length body (both servers send one). */
static int read_response(int fd)
{
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0) {
            return -1;
        }
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) {
            if (have == sizeof(buf) - 1) {
                return -1;
            }
            continue;
        }
        const char *cl = strstr(buf, "Content-Length:");
        if (!cl) {
            cl = strstr(buf, "content-length:");
        }
        if (!cl || cl > end) {
            return -1;
        }
        size_t want = (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10);
        if (have >= want) {
            return 0;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: idle_conns PORT N\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long n = atol(argv[2]);
    if (port <= 0 || port > 65535 || n <= 0) {
        fprintf(stderr, "idle_conns: bad PORT or N\n");
        return 2;
    }
    int *fds = calloc((size_t)n, sizeof(int));
    if (!fds) {
        return 1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (long i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            write(fds[i], request, sizeof(request) - 1) != (ssize_t)(sizeof(request) - 1) ||
            read_response(fds[i]) != 0) {
            fprintf(stderr, "idle_conns: connection %ld failed: %s\n", i + 1, strerror(errno));
            return 1;
        }
    }
    printf("held %ld\n", n);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    for (long i = 0; i < n; i++) {
        close(fds[i]);
    }
    free(fds);
    return 0;
}
