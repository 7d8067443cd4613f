/* SPDX-License-Identifier: MIT */
/* The one listening socket of server and proxy: accepts in batches, pauses instead of
 * accept-and-close, and backs off on EMFILE. */
/* SO_REUSEPORT is not POSIX: glibc declares it only with the default (BSD/SVID) names. */
#define _DEFAULT_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

/* Accepting pauses this long after EMFILE/ENFILE (nginx's accept_mutex_delay), instead of
 * libuv's trick of accepting and closing, which resets the very clients we could not serve. */
#define LISTEN_EMFILE_RETRY_MS 500
/* Connections accepted per wake-up, so a flood cannot starve established connections. */
#define LISTEN_ACCEPT_BATCH 64

static void listen_fail(struct tt__listener *l, const char *syscall, int err)
{
    l->fail_syscall = syscall;
    l->fail_errno = err;
}

int tt__listener_open(uv_loop_t *loop, struct tt__listener *l, const struct sockaddr *addr,
                      int backlog)
{
    return tt__listener_open_shared(loop, l, addr, backlog, false);
}

int tt__listener_open_shared(uv_loop_t *loop, struct tt__listener *l, const struct sockaddr *addr,
                             int backlog, bool reuse_port)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->loop = loop;
    if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) {
        listen_fail(l, "socket", EAFNOSUPPORT);
        return TETHER_EINVAL;
    }
    int fd = socket(addr->sa_family, SOCK_STREAM, 0);
    if (fd < 0) {
        listen_fail(l, "socket", errno);
        return tt__err_from_errno(errno);
    }
    int one = 1;
    int flags = fcntl(fd, F_GETFL);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int err = errno;
        listen_fail(l, "fcntl", err);
        close(fd);
        return tt__err_from_errno(err);
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Not best effort: without it the second listener's bind fails with a misleading
     * "address in use". */
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        int err = errno;
        listen_fail(l, "setsockopt", err);
        close(fd);
        return tt__err_from_errno(err);
    }
    socklen_t alen =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    const char *step = "bind";
    int rv = bind(fd, addr, alen);
    if (rv == 0) {
        step = "listen";
        rv = listen(fd, backlog > 0 ? backlog : TT__LISTEN_DEFAULT_BACKLOG);
    }
    if (rv != 0) {
        int err = errno;
        listen_fail(l, step, err);
        close(fd);
        return tt__err_from_errno(err);
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
        l->port =
            ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)(void *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)(void *)&bound)->sin_port);
    }
    /* The poll handle is the last step that can fail, so a failed open leaves nothing behind
     * on the loop (uv_timer_init cannot fail). */
    int r = uv_poll_init(loop, &l->poll, fd);
    if (r != 0) {
        listen_fail(l, "poll", tt__errno_from_uv(r));
        close(fd);
        return tt__err_from_uv(r);
    }
    (void)uv_timer_init(loop, &l->timer);
    l->poll.data = l;
    l->timer.data = l;
    l->fd = fd;
    l->open = true;
    return 0;
}

/* True when a client is waiting in the listen queue. */
bool tt__listener_backlog_pending(const struct tt__listener *l)
{
    struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
    return l->open && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static void listen_stop_polling(struct tt__listener *l)
{
    if (l->polling) {
        (void)uv_poll_stop(&l->poll);
        l->polling = false;
    }
}

static void listen_on_readable(uv_poll_t *p, int status, int events);

static void listen_start_polling(struct tt__listener *l)
{
    if (l->open && l->on_accept && !l->polling &&
        uv_poll_start(&l->poll, UV_READABLE, listen_on_readable) == 0) {
        l->polling = true;
    }
}

static void listen_on_timer(uv_timer_t *t)
{
    struct tt__listener *l = t->data;
    /* The next readable event asks the owner again and pauses again if it is still full. */
    listen_start_polling(l);
}

void tt__listener_pause(struct tt__listener *l, uint64_t retry_ms)
{
    if (!l->open) {
        return;
    }
    listen_stop_polling(l);
    l->pauses++;
    if (retry_ms) {
        (void)uv_timer_start(&l->timer, listen_on_timer, retry_ms, 0);
    }
}

void tt__listener_resume(struct tt__listener *l)
{
    if (!l->open) {
        return;
    }
    uv_timer_stop(&l->timer);
    listen_start_polling(l);
}

int tt__listener_accept_one(struct tt__listener *l)
{
    if (!l->open) {
        return -1;
    }
    int fd = accept(l->fd, NULL, NULL);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            tt__listener_pause(l, LISTEN_EMFILE_RETRY_MS);
        }
        return -1; /* EAGAIN, ECONNABORTED, EINTR: nothing more to take now */
    }
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* accept4 is not POSIX */
    return fd;
}

static void listen_on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct tt__listener *l = p->data;
    if (status < 0) {
        tt__listener_pause(l, LISTEN_EMFILE_RETRY_MS);
        return;
    }
    for (int i = 0; i < LISTEN_ACCEPT_BATCH && l->polling; i++) {
        /* The owner may pause (a connection limit) before each accept: a client left in the
         * backlog waits; an accepted one would have to be closed, which resets it. */
        if (l->may_accept && !l->may_accept(l)) {
            if (l->polling) {
                tt__listener_pause(l, l->full_retry_ms);
            }
            return;
        }
        int fd = tt__listener_accept_one(l);
        if (fd < 0) {
            return;
        }
        l->on_accept(l, fd); /* may close the listener */
    }
}

void tt__listener_start(struct tt__listener *l, tt__listener_accept_cb on_accept)
{
    l->on_accept = on_accept;
    listen_start_polling(l);
}

static void listen_handle_closed(uv_handle_t *h)
{
    struct tt__listener *l = h->data;
    if (--l->closing_handles == 0 && l->on_close) {
        l->on_close(l);
    }
}

void tt__listener_close(struct tt__listener *l, tt__listener_close_cb cb)
{
    if (!l->open) {
        return;
    }
    l->open = false;
    l->on_close = cb;
    listen_stop_polling(l);
    uv_timer_stop(&l->timer);
    l->closing_handles = 2;
    uv_close((uv_handle_t *)&l->poll, listen_handle_closed);
    uv_close((uv_handle_t *)&l->timer, listen_handle_closed);
    /* uv_poll does not own the fd. libuv's poll.rst: "the fd can be safely closed immediately
     * after a call to uv_poll_stop() or uv_close()", so the port is free again at once (a
     * proxy disabled and enabled in one API call binds it again). */
    close(l->fd);
    l->fd = -1;
}
