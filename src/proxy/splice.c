/* SPDX-License-Identifier: MIT */
/*
 * The kernel path of the relay: a direction that no toxic needs to see moves its bytes from
 * the source socket into a pipe and from the pipe into the destination socket with splice(2),
 * as HAProxy does, instead of read() into our buffer and write() out of it (two copies and the
 * memmove of tt__stream_write, which the profile of a bulk transfer showed as most of the
 * proxy's own time). Only bulk directions splice, from their first read of PX_SPLICE_MIN_READ
 * bytes on (HAProxy's splice-auto has the same idea): for messages of a few hundred bytes a
 * copy is cheaper than the pipe.
 *
 * What stays exactly as on the userspace path (link.c):
 * - order: a direction starts splicing only once its destination's write queue is empty, and
 *   when it stops (a toxic was added, a FIN came, a flow expired) the bytes still in the pipe
 *   are queued on the destination before anything else;
 * - counters: bytes entering the pipe are read bytes (h->bytes, bytes_up/down), bytes leaving
 *   it are sent bytes (sent_up/down), and the connection-scoped toxics hear of every byte;
 * - ends: a FIN becomes the usual PX_CHUNK_EOF through the (empty) chain, so shutdown(SHUT_WR)
 *   follows the last byte; a read or write error closes the connection with FIN as before;
 * - memory: the pipe's capacity bounds what a direction holds, and the source is not read
 *   while the pipe is full, so a slow reader closes the sender's TCP window.
 *
 * A direction switches back to splicing when its toxics are gone and its queue has drained.
 * Where splice(2) cannot move socket bytes (EINVAL), the server turns it off for good and
 * every direction takes the userspace path.
 */
#define _GNU_SOURCE /* splice(2), F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "proxy/proxy_int.h"

#if defined(SPLICE_F_NONBLOCK) && defined(SPLICE_F_MOVE)
#define TETHER_HAVE_SPLICE 1
#endif

/* A pipe of this size (HAProxy's tune.pipesize is the system's 64 KiB by default): fewer
 * round trips per megabyte. Asked for, not required: a host at its pipe-user-pages limit
 * gives less, which is still correct. */
#define PIPE_SIZE (256u * 1024u)
#define PIPE_POOL_MAX (sizeof(((struct tether_proxy_server *)0)->pipe_pool) / (2 * sizeof(int)))
/* Splice rounds per readiness event before giving other connections their turn. */
#define SPLICE_ROUNDS 8

void tt__px_splice_init(struct px_conn *c)
{
    for (int i = 0; i < 2; i++) {
        c->half[i].pipe.rd = -1;
        c->half[i].pipe.wr = -1;
        c->watch[i].fd = -1;
    }
}

#ifdef TETHER_HAVE_SPLICE

/* ---- pipes: from the server's pool while bytes are in them ---- */

static bool pipe_take(struct px_half *h)
{
    struct tether_proxy_server *ps = h->c->px->ps;
    int fds[2];
    if (ps->npipes > 0) {
        ps->npipes--;
        h->pipe.rd = ps->pipe_pool[ps->npipes][0];
        h->pipe.wr = ps->pipe_pool[ps->npipes][1];
        return true;
    }
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        return false; /* out of fds: the direction stays on the userspace path */
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, (int)PIPE_SIZE);
    h->pipe.rd = fds[0];
    h->pipe.wr = fds[1];
    return true;
}

/* An empty pipe goes back to the pool; one still holding bytes is closed with them. */
static void pipe_give_back(struct px_half *h)
{
    struct tether_proxy_server *ps = h->c->px->ps;
    if (h->pipe.rd < 0) {
        return;
    }
    if (h->pipe.held == 0 && ps->npipes < PIPE_POOL_MAX) {
        ps->pipe_pool[ps->npipes][0] = h->pipe.rd;
        ps->pipe_pool[ps->npipes][1] = h->pipe.wr;
        ps->npipes++;
    } else {
        close(h->pipe.rd);
        close(h->pipe.wr);
    }
    h->pipe.rd = -1;
    h->pipe.wr = -1;
    h->pipe.held = 0;
}

void tt__px_pipes_free(struct tether_proxy_server *ps)
{
    while (ps->npipes > 0) {
        ps->npipes--;
        close(ps->pipe_pool[ps->npipes][0]);
        close(ps->pipe_pool[ps->npipes][1]);
    }
}

/* ---- watchers ---- */

static int watch_index(const struct px_conn *c, const struct tt__stream *s)
{
    return s == &c->client ? PX_UP : PX_DOWN;
}

static void watch_cb(uv_poll_t *p, int status, int events);

static bool watch_open(struct px_conn *c, struct tt__stream *s)
{
    struct px_watch *w = &c->watch[watch_index(c, s)];
    uv_os_fd_t fd;
    if (w->fd >= 0) {
        return true;
    }
    if (uv_fileno((const uv_handle_t *)&s->tcp, &fd) != 0) {
        return false;
    }
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
        return false;
    }
    if (uv_poll_init_socket(c->px->ps->loop, &w->poll, dup_fd) != 0) {
        close(dup_fd);
        return false;
    }
    w->poll.data = c;
    w->fd = dup_fd;
    w->events = 0;
    return true;
}

/* Asks for what the socket's spliced directions wait for: input while the pipe has room,
 * output while the pipe holds bytes the socket refused. */
static void watch_update(struct px_conn *c, int i)
{
    struct px_watch *w = &c->watch[i];
    const struct px_half *in = &c->half[i];      /* reads this socket */
    const struct px_half *out = &c->half[1 - i]; /* writes this socket */
    if (w->fd < 0) {
        return;
    }
    int events = 0;
    if (in->pipe.on && !in->pipe.full) {
        events |= UV_READABLE;
    }
    if (out->pipe.on && out->pipe.dst_blocked) {
        events |= UV_WRITABLE;
    }
    if (events == w->events) {
        return;
    }
    if (events == 0 || uv_poll_start(&w->poll, events, watch_cb) != 0) {
        (void)uv_poll_stop(&w->poll);
        events = 0;
    }
    w->events = events;
}

static void watch_closed(uv_handle_t *h)
{
    tt__px_conn_unpend(h->data);
}

/* ---- moving bytes ---- */

static int half_dst_fd(const struct px_half *h)
{
    return h->c->watch[watch_index(h->c, h->dst)].fd;
}

static int half_src_fd(const struct px_half *h)
{
    return h->c->watch[watch_index(h->c, h->src)].fd;
}

/* Pipe -> destination until the pipe is empty or the socket is full. False when the
 * connection closed (a write error, as on the userspace path). */
static bool pipe_out(struct px_half *h)
{
    struct px_conn *c = h->c;
    while (h->pipe.held > 0) {
        ssize_t n = splice(h->pipe.rd, NULL, half_dst_fd(h), NULL, h->pipe.held,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            h->pipe.held -= (size_t)n;
            h->pipe.full = false;
            struct px_stats *st = &c->px->stats;
            if (h->dir == PX_UP) {
                st->sent_up += (uint64_t)n;
                st->spliced_up += (uint64_t)n;
            } else {
                st->sent_down += (uint64_t)n;
                st->spliced_down += (uint64_t)n;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            h->pipe.dst_blocked = true;
            return true;
        }
        tt__px_conn_close(c, PX_HOW_FIN);
        return false;
    }
    h->pipe.dst_blocked = false;
    pipe_give_back(h); /* idle directions hold no pipe */
    return true;
}

/* Stops splicing `h`: what the pipe holds is queued on the destination, ahead of anything the
 * userspace path writes next. */
static void splice_stop(struct px_half *h)
{
    struct px_conn *c = h->c;
    h->pipe.on = false;
    h->pipe.full = false;
    h->pipe.dst_blocked = false;
    if (h->pipe.held > 0) {
        char *buf = tt__malloc(h->pipe.held);
        ssize_t n = buf ? read(h->pipe.rd, buf, h->pipe.held) : -1;
        if (n > 0) {
            h->pipe.held -= (size_t)n;
            tt__px_half_write(h, buf, (size_t)n);
        }
        tt__free(buf);
        if (h->pipe.held > 0 && c->state != PX_CONN_CLOSING) {
            tt__px_conn_close(c, PX_HOW_FIN); /* out of memory: the bytes cannot be kept */
        }
    }
    pipe_give_back(h);
    watch_update(c, watch_index(c, h->src));
    watch_update(c, watch_index(c, h->dst));
}

/* The source's FIN: it travels the usual way, behind the bytes the pipe still held. */
static void splice_eof(struct px_half *h)
{
    struct px_conn *c = h->c;
    h->src_eof = true;
    tt__px_conn_activity(c, h->dir, 0);
    splice_stop(h);
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    struct px_chunk *ch = tt__px_chunk_new(PX_CHUNK_EOF, NULL, 0);
    if (!ch) {
        tt__px_conn_close(c, PX_HOW_FIN);
        return;
    }
    tt__px_half_input(h, ch);
}

/* Source -> pipe -> destination while the source has bytes and both have room. */
static void pipe_in(struct px_half *h)
{
    struct px_conn *c = h->c;
    for (int round = 0; round < SPLICE_ROUNDS && h->pipe.on && !h->pipe.full; round++) {
        if (h->pipe.rd < 0 && !pipe_take(h)) {
            return; /* no fd for a pipe now: the next readiness event tries again */
        }
        ssize_t n = splice(half_src_fd(h), NULL, h->pipe.wr, NULL, PIPE_SIZE,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            h->pipe.held += (size_t)n;
            h->bytes += (uint64_t)n;
            if (h->dir == PX_UP) {
                c->px->stats.bytes_up += (uint64_t)n;
            } else {
                c->px->stats.bytes_down += (uint64_t)n;
            }
            tt__px_conn_activity(c, h->dir, (size_t)n);
            if (c->state == PX_CONN_CLOSING || !pipe_out(h) || h->pipe.dst_blocked) {
                return;
            }
            if ((size_t)n < PIPE_SIZE) {
                return; /* most likely drained: spare the EAGAIN (level-triggered, so safe) */
            }
            continue;
        }
        if (n == 0) {
            splice_eof(h);
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            /* Either the socket is drained or the pipe is full; only bytes in the pipe can
             * fill it. */
            h->pipe.full = h->pipe.held > 0;
            if (h->pipe.held == 0) {
                pipe_give_back(h);
            }
            return;
        }
        if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            /* This kernel or socket cannot splice: the userspace path, for good. */
            c->px->ps->splice_off = true;
            splice_stop(h);
            tt__px_half_update_reading(h);
            return;
        }
        /* A reset or a read error: like Toxiproxy, the other side gets a FIN. */
        tt__px_conn_close(c, PX_HOW_FIN);
        return;
    }
}

static void watch_cb(uv_poll_t *p, int status, int events)
{
    struct px_conn *c = p->data;
    int i = p == &c->watch[PX_UP].poll ? PX_UP : PX_DOWN;
    struct px_half *in = &c->half[i];
    struct px_half *out = &c->half[1 - i];
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    if (status < 0) {
        /* libuv stopped the watcher on POLLERR: the next splice on the socket tells which
         * error it was (or reads the bytes that came before it). */
        c->watch[i].events = 0;
        events = UV_READABLE | UV_WRITABLE;
    }
    if ((events & UV_WRITABLE) && out->pipe.on && out->pipe.held > 0) {
        if (!pipe_out(out)) {
            return;
        }
        /* The source may have waited for room in the pipe. */
        watch_update(c, watch_index(c, out->src));
    }
    if ((events & UV_READABLE) && in->pipe.on) {
        pipe_in(in);
        if (c->state == PX_CONN_CLOSING) {
            return;
        }
        watch_update(c, watch_index(c, in->dst));
    }
    watch_update(c, i);
}

/* ---- switching ---- */

static bool half_may_splice(const struct px_half *h)
{
    const struct px_conn *c = h->c;
    bool src_gone = h->src == &c->client ? c->client_gone : c->server_gone;
    return (h->pipe.bulk || c->px->ps->splice_eager) && !c->px->ps->splice_off &&
           c->state == PX_CONN_OPEN && c->mode == PX_MODE_NORMAL && tt__list_empty(&h->stages) &&
           !h->src_eof && !h->eof_sent && !h->rst_pending && !src_gone;
}

static bool splice_start(struct px_half *h)
{
    struct px_conn *c = h->c;
    if (!watch_open(c, h->src) || !watch_open(c, h->dst)) {
        return false;
    }
    if (h->reading) {
        tt__stream_read_stop(h->src);
        h->reading = false;
    }
    h->pipe.on = true;
    watch_update(c, watch_index(c, h->src));
    return true;
}

bool tt__px_splice_update(struct px_half *h)
{
    if (!half_may_splice(h)) {
        if (h->pipe.on) {
            splice_stop(h);
        }
        return false;
    }
    if (h->pipe.on) {
        return true;
    }
    if (h->pend.len > 0 || tt__stream_write_queue_size(h->dst) > 0) {
        /* Userspace bytes are still queued: spliced ones must not overtake them. Pause the
         * source until the queue drains (half_write_cb asks again), then splice. */
        if (h->reading) {
            tt__stream_read_stop(h->src);
            h->reading = false;
        }
        return true;
    }
    return splice_start(h);
}

void tt__px_splice_close(struct px_conn *c, bool flush)
{
    for (int i = 0; i < 2; i++) {
        struct px_half *h = &c->half[i];
        if (h->pipe.on && flush) {
            splice_stop(h);
        }
        h->pipe.on = false;
        pipe_give_back(h);
    }
    tt__px_splice_close_watch(c, &c->client);
    tt__px_splice_close_watch(c, &c->server);
}

void tt__px_splice_close_watch(struct px_conn *c, struct tt__stream *s)
{
    struct px_watch *w = &c->watch[watch_index(c, s)];
    if (w->fd < 0) {
        return;
    }
    /* uv_close takes the fd out of epoll at once, so it may be closed right after (and its
     * number reused) without libuv touching it again. */
    c->pending++;
    uv_close((uv_handle_t *)&w->poll, watch_closed);
    close(w->fd);
    w->fd = -1;
}

#else /* !TETHER_HAVE_SPLICE: every direction takes the userspace path */

bool tt__px_splice_update(struct px_half *h)
{
    (void)h;
    return false;
}

void tt__px_splice_close(struct px_conn *c, bool flush)
{
    (void)c;
    (void)flush;
}

void tt__px_splice_close_watch(struct px_conn *c, struct tt__stream *s)
{
    (void)c;
    (void)s;
}

void tt__px_pipes_free(struct tether_proxy_server *ps)
{
    (void)ps;
}

#endif
