/* SPDX-License-Identifier: MIT */
/* The TCP stream tests' fixture (stream_fx.h). */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "net_peer.h"
#include "stream_fx.h"
#include "test.h"

static void fx_update_closed(struct fx *fx)
{
    fx->all_closed = fx->s.state == TT__STREAM_CLOSED && fx->c.state == TT__STREAM_CLOSED;
}

void fx_on_closed(struct tt__stream *s, bool rst_sent)
{
    struct fx *fx = s->data;
    if (s == &fx->s) {
        fx->closes_s++;
        fx->s_closed = true;
        fx->rst_s = rst_sent;
        fx->t_closed_ms = tt_test_now_ms();
        atomic_store(&fx->server_closed, true);
    } else {
        fx->closes_c++;
        fx->c_closed = true;
        fx->rst_c = rst_sent;
    }
    fx->close_seq = ++fx->seq;
    fx_update_closed(fx);
}

void fx_record_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    struct fx *fx = s->data;
    if (status == 0) {
        fx->reads++;
        if (fx->rlen + len <= sizeof(fx->rbuf)) {
            memcpy(fx->rbuf + fx->rlen, data, len);
            fx->rlen += len;
        }
        atomic_store(&fx->server_got_data, true);
    } else if (status == TETHER_EEOF) {
        fx->eofs++;
    } else {
        fx->errors++;
        fx->last_error = status;
        tt__stream_failure(s, s == &fx->s ? &fx->failure_s : &fx->failure_c);
    }
    if (fx->on_read) {
        fx->on_read(fx, s, status);
    }
}

void fx_on_write(struct tt__stream *s, int status, void *arg)
{
    struct fx *fx = s->data;
    (void)arg;
    fx->writes_done++;
    fx->write_status = status;
    if (status != 0) {
        tt__stream_failure(s, s == &fx->s ? &fx->failure_s : &fx->failure_c);
    }
}

void fx_on_connect(struct tt__stream *s, int status)
{
    struct fx *fx = s->data;
    fx->connects++;
    fx->connect_status = status;
    if (status != 0) {
        tt__stream_failure(s, &fx->failure_c);
    }
    fx->connect_seq = ++fx->seq;
    fx->done = true;
}

static void fx_on_connection(uv_stream_t *l, int status)
{
    struct fx *fx = l->data;
    if (status != 0 || fx->accepted) {
        return;
    }
    ASSERT_OK(tt__stream_accept(l, &fx->s));
    fx->accepted = true;
    if (fx->on_accept) {
        fx->on_accept(fx);
    }
}

static void fx_poll_cb(uv_timer_t *t)
{
    struct fx *fx = t->data;
    if (fx->on_poll) {
        fx->on_poll(fx);
    }
}

void fx_start(struct fx *fx, fx_hook on_accept)
{
    memset(fx, 0, sizeof(*fx));
    ASSERT_OK(uv_loop_init(&fx->loop));
    fx->port = tt_test_tcp_listen(&fx->loop, &fx->listener, fx, 16, fx_on_connection);
    ASSERT_OK(uv_timer_init(&fx->loop, &fx->poll));
    fx->poll.data = fx;
    ASSERT_OK(uv_timer_start(&fx->poll, fx_poll_cb, 2, 2));
    ASSERT_OK(tt__stream_init(tt_test_defer(&fx->loop), &fx->s));
    ASSERT_OK(tt__stream_init(tt_test_defer(&fx->loop), &fx->c));
    fx->s.data = fx;
    fx->c.data = fx;
    fx->on_accept = on_accept;
    atomic_init(&fx->server_closed, false);
    atomic_init(&fx->server_got_data, false);
    atomic_init(&fx->peer_reset_done, false);
}

void fx_peer_start(struct fx *fx, void *(*fn)(void *))
{
    assert_int_equal(pthread_create(&fx->thread, NULL, fn, fx), 0);
    fx->thread_started = true;
}

/* Closes whatever the test left open, waits for every close callback, joins the peer, and
 * checks that the loop closes cleanly. */
void fx_finish(struct fx *fx)
{
    tt__stream_close_now(&fx->s, fx_on_closed);
    tt__stream_close_now(&fx->c, fx_on_closed);
    fx_update_closed(fx);
    tt_test_loop_run_until(&fx->loop, &fx->all_closed, 5000);
    uv_close((uv_handle_t *)&fx->listener, NULL);
    uv_close((uv_handle_t *)&fx->poll, NULL);
    if (fx->thread_started) {
        assert_int_equal(pthread_join(fx->thread, NULL), 0);
        fx->thread_started = false;
    }
    tt_test_loop_close(&fx->loop);
}

/* ---- peers and hooks more than one test file uses ---- */

int fx_peer_connect(struct fx *fx)
{
    int fd = np_connect(fx->port);
    if (fd < 0) {
        fx->peer_errno = errno;
    }
    return fd;
}

void *fx_peer_echo_client(void *arg)
{
    struct fx *fx = arg;
    int fd = np_connect(fx->port);
    char buf[64];
    size_t got = 0;
    if (fd < 0) {
        return NULL;
    }
    if (send(fd, "hello tether", 12, MSG_NOSIGNAL) == 12) {
        while (got < 12) {
            ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
            if (n <= 0) {
                break;
            }
            got += (size_t)n;
        }
    }
    fx->peer_ok = got == 12 && memcmp(buf, "hello tether", 12) == 0;
    close(fd); /* FIN */
    return NULL;
}

/* Echoes through the read callback with the bytes it was given; closes at EOF. */
void fx_echo_read(struct tt__stream *s, int status, const char *data, size_t len)
{
    if (status == 0) {
        ASSERT_OK(tt__stream_write(s, data, len, fx_on_write, NULL));
    } else if (status == TETHER_EEOF) {
        tt__stream_close_graceful(s, 5000, 1000, fx_on_closed);
    }
    fx_record_read(s, status, data, len);
}

void fx_reading_accept(struct fx *fx)
{
    ASSERT_OK(tt__stream_read_start(&fx->s, fx_record_read));
}

/* Reads our FIN, then holds the connection open, silent, until the server has closed. */
void *fx_peer_silent_after_fin(void *arg)
{
    struct fx *fx = arg;
    char buf[64];
    int fd = fx_peer_connect(fx);
    if (fd < 0) {
        return NULL;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    fx->peer_eof = n == 0;
    fx->peer_errno = n < 0 ? errno : 0;
    uint64_t end = tt_test_now_ms() + tt_test_scale_ms(5000);
    while (!atomic_load(&fx->server_closed) && tt_test_now_ms() < end) {
        tt_test_sleep_ms(2);
    }
    close(fd);
    return NULL;
}
