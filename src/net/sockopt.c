/* SPDX-License-Identifier: MIT */
/* Socket options on libuv TCP handles: keepalive, user timeout, nodelay, unread bytes. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net/net.h"

/* Feature macros, derived once from what the system headers declare, so the code below never
 * names an operating system (STYLE §1). */
#if defined(TCP_KEEPIDLE)
#define TETHER_HAVE_TCP_KEEPIDLE 1
#elif defined(TCP_KEEPALIVE)
/* macOS spells the idle time TCP_KEEPALIVE. */
#define TETHER_HAVE_TCP_KEEPALIVE_IDLE 1
#endif
#if defined(TCP_KEEPINTVL)
#define TETHER_HAVE_TCP_KEEPINTVL 1
#endif
#if defined(TCP_KEEPCNT)
#define TETHER_HAVE_TCP_KEEPCNT 1
#endif
#if defined(TCP_USER_TIMEOUT)
#define TETHER_HAVE_TCP_USER_TIMEOUT 1
#endif

/* The descriptor behind `tcp`; EINVAL while the handle has no socket yet. */
static int sock_fd(uv_tcp_t *tcp, int *fd)
{
    uv_os_fd_t f;
    if (!tcp || uv_fileno((const uv_handle_t *)tcp, &f) != 0) {
        return TETHER_EINVAL;
    }
    *fd = f;
    return 0;
}

static int sock_set_int(int fd, int level, int name, int value)
{
    if (setsockopt(fd, level, name, &value, (socklen_t)sizeof(value)) != 0) {
        return tt__err_from_errno(errno);
    }
    return 0;
}

static int sock_clamp(unsigned v)
{
    return v > (unsigned)INT_MAX ? INT_MAX : (int)v;
}

int tt__sock_set_keepalive(uv_tcp_t *tcp, bool on, unsigned idle_s, unsigned interval_s,
                           unsigned count)
{
    int fd;
    int rv = sock_fd(tcp, &fd);
    if (rv != 0) {
        return rv;
    }
    rv = sock_set_int(fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
    if (rv != 0 || !on) {
        return rv;
    }
    /* A zero knob keeps the system default (two hours idle on Linux, far too long to notice a
     * NAT that forgot us, but the caller decides). */
#if defined(TETHER_HAVE_TCP_KEEPIDLE)
    if (idle_s && (rv = sock_set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, sock_clamp(idle_s))) != 0) {
        return rv;
    }
#elif defined(TETHER_HAVE_TCP_KEEPALIVE_IDLE)
    if (idle_s && (rv = sock_set_int(fd, IPPROTO_TCP, TCP_KEEPALIVE, sock_clamp(idle_s))) != 0) {
        return rv;
    }
#else
    (void)idle_s;
#endif
#if defined(TETHER_HAVE_TCP_KEEPINTVL)
    if (interval_s &&
        (rv = sock_set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, sock_clamp(interval_s))) != 0) {
        return rv;
    }
#else
    (void)interval_s;
#endif
#if defined(TETHER_HAVE_TCP_KEEPCNT)
    if (count && (rv = sock_set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, sock_clamp(count))) != 0) {
        return rv;
    }
#else
    (void)count;
#endif
    return 0;
}

int tt__sock_set_user_timeout(uv_tcp_t *tcp, unsigned timeout_ms)
{
#if defined(TETHER_HAVE_TCP_USER_TIMEOUT)
    int fd;
    int rv = sock_fd(tcp, &fd);
    if (rv != 0) {
        return rv;
    }
    /* Without it, unacknowledged data keeps a dead peer "connected" for ~15 minutes of
     * retransmissions, whatever keepalive says. */
    unsigned int v = timeout_ms;
    if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, (socklen_t)sizeof(v)) != 0) {
        return tt__err_from_errno(errno);
    }
    return 0;
#else
    (void)tcp;
    (void)timeout_ms;
    return TETHER_ENOTSUP;
#endif
}

int tt__sock_set_nodelay(uv_tcp_t *tcp, bool on)
{
    int fd;
    int rv = sock_fd(tcp, &fd);
    if (rv != 0) {
        return rv;
    }
    return sock_set_int(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

/* A byte count the kernel keeps for the socket, read with ioctl(request): FIONREAD, TIOCOUTQ. */
static int sock_ioctl_count(uv_tcp_t *tcp, unsigned long request, size_t *out)
{
    int fd;
    int n = 0;
    if (!out) {
        return TETHER_EINVAL;
    }
    *out = 0;
    int rv = sock_fd(tcp, &fd);
    if (rv != 0) {
        return rv;
    }
    if (ioctl(fd, request, &n) != 0) {
        return tt__err_from_errno(errno);
    }
    *out = n > 0 ? (size_t)n : 0;
    return 0;
}

int tt__sock_unread_bytes(uv_tcp_t *tcp, size_t *out)
{
    return sock_ioctl_count(tcp, FIONREAD, out);
}

int tt__sock_unsent_bytes(uv_tcp_t *tcp, size_t *out)
{
#ifdef TIOCOUTQ
    return sock_ioctl_count(tcp, TIOCOUTQ, out);
#else
    if (!out) {
        return TETHER_EINVAL;
    }
    *out = 0;
    return TETHER_ENOTSUP;
#endif
}

/* The peer's or the local address (uv_tcp_getpeername / uv_tcp_getsockname) as text. */
static int sock_name(uv_tcp_t *tcp, int (*getname)(const uv_tcp_t *, struct sockaddr *, int *),
                     char *buf, size_t len)
{
    struct sockaddr_storage ss;
    int namelen = (int)sizeof(ss);
    if (buf && len) {
        buf[0] = '\0';
    }
    if (!tcp) {
        return TETHER_EINVAL;
    }
    int r = getname(tcp, (struct sockaddr *)&ss, &namelen);
    if (r != 0) {
        return tt__err_from_uv(r);
    }
    return tt__addr_format((const struct sockaddr *)&ss, buf, len);
}

int tt__sock_peer(uv_tcp_t *tcp, char *buf, size_t len)
{
    return sock_name(tcp, uv_tcp_getpeername, buf, len);
}

int tt__sock_local(uv_tcp_t *tcp, char *buf, size_t len)
{
    return sock_name(tcp, uv_tcp_getsockname, buf, len);
}
