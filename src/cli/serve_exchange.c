/* SPDX-License-Identifier: MIT */
/* `tether serve`'s responses that outlive their request callback: delays, streamed bodies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tether/tether.h"
#include "tether/server.h"

#include "serve.h"

/* ---- the repeating body pattern ---- */

static const char serve_pattern_unit[] = "tether\n";
#define SERVE_PATTERN_LEN (sizeof(serve_pattern_unit) - 1)
static char serve_pattern_buf[SERVE_PIECE + SERVE_PATTERN_LEN];

void serve_pattern_init(void)
{
    for (size_t i = 0; i < sizeof(serve_pattern_buf); i++) {
        serve_pattern_buf[i] = serve_pattern_unit[i % SERVE_PATTERN_LEN];
    }
}

const char *serve_pattern(uint64_t offset, size_t len)
{
    (void)len; /* at most SERVE_PIECE, which the buffer always holds past any phase */
    return serve_pattern_buf + offset % SERVE_PATTERN_LEN;
}

/* ---- exchanges: responses that outlive their request callback ---- */

static void serve_exchange_closed(uv_handle_t *h)
{
    free(h->data);
}

void serve_exchange_release(struct serve_exchange *ex)
{
    struct serve_ctx *ctx = ex->ctx;
    if (ex->prev) {
        ex->prev->next = ex->next;
    } else {
        ctx->live = ex->next;
    }
    if (ex->next) {
        ex->next->prev = ex->prev;
    }
    if (ex->fd >= 0) {
        close(ex->fd);
    }
    free(ex->buf);
    if (ex->handle_init) {
        /* The handle's memory is the exchange's: free it when libuv is done with the handle. */
        ex->timer.data = ex;
        uv_close((uv_handle_t *)&ex->timer, serve_exchange_closed);
    } else {
        free(ex);
    }
}

struct serve_exchange *serve_exchange_get(struct serve_ctx *ctx, tether_request *req)
{
    struct serve_exchange *ex = tether_request_get_data(req);
    if (ex) {
        return ex;
    }
    ex = calloc(1, sizeof(*ex));
    if (!ex) {
        return NULL;
    }
    ex->ctx = ctx;
    ex->req = req;
    ex->fd = -1;
    ex->next = ctx->live;
    if (ctx->live) {
        ctx->live->prev = ex;
    }
    ctx->live = ex;
    tether_request_set_data(req, ex);
    return ex;
}

void serve_exchange_abort(struct serve_exchange *ex)
{
    if (ex->req) {
        tether_request_abort(ex->req);
        ex->req = NULL;
    }
    serve_exchange_release(ex);
}

static void serve_on_timer(uv_timer_t *t);

int serve_exchange_later(struct serve_exchange *ex, uint64_t ms)
{
    if (!ex->handle_init) {
        int rv = uv_timer_init(ex->ctx->loop, &ex->timer);
        if (rv != 0) {
            return rv;
        }
        ex->handle_init = true;
    }
    ex->phase = SERVE_DELAY;
    ex->timer.data = ex;
    return uv_timer_start(&ex->timer, serve_on_timer, ms, 0);
}

static void serve_on_drain(tether_request *req);

/* Reads the next piece of the body source. */
static int serve_source_read(struct serve_exchange *ex, size_t n, const char **data)
{
    if (ex->fd < 0) {
        *data = serve_pattern(ex->offset, n);
        return 0;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(ex->fd, ex->buf + got, n - got, (off_t)(ex->offset + got));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1; /* the file shrank or failed under us: the promised length is a lie */
        }
        got += (size_t)r;
    }
    *data = ex->buf;
    return 0;
}

/* Sends the next piece, then waits for it to reach the kernel before producing another, so a
 * 1 GiB body never needs more than a piece of memory. The drain callback always comes on a
 * later loop turn (and comes, detached, if the connection dies), so this never recurses. */
static void serve_pump(struct serve_exchange *ex)
{
    tether_request *req = ex->req;
    if (tether_request_is_detached(req)) {
        serve_exchange_abort(ex);
        return;
    }
    size_t n = ex->remaining < SERVE_PIECE ? (size_t)ex->remaining : SERVE_PIECE;
    const char *data = NULL;
    if (n > 0 && serve_source_read(ex, n, &data) != 0) {
        serve_exchange_abort(ex);
        return;
    }
    ex->offset += n;
    ex->remaining -= n;
    if (ex->remaining == 0) {
        (void)tether_response_end(req, data, n);
        ex->req = NULL;
        serve_exchange_release(ex);
        return;
    }
    if (tether_response_write(req, data, n) != 0) {
        serve_exchange_abort(ex); /* detached (ECANCELED) or out of memory */
        return;
    }
    tether_response_on_drain(req, serve_on_drain);
}

static void serve_on_drain(tether_request *req)
{
    serve_pump(tether_request_get_data(req));
}

void serve_exchange_stream(struct serve_exchange *ex)
{
    ex->phase = SERVE_STREAM;
    if (ex->fd >= 0 && !(ex->buf = malloc(SERVE_PIECE))) {
        serve_exchange_abort(ex);
        return;
    }
    serve_pump(ex);
}

static void serve_on_timer(uv_timer_t *t)
{
    struct serve_exchange *ex = t->data;
    tether_request *req = ex->req;
    if (!req || tether_request_is_detached(req)) {
        serve_exchange_abort(ex);
        return;
    }
    /* SERVE_DELAY is over. The waiting exchange is done with; a handler that streams makes
     * its own, so this one never has to guess whether the request outlived the call. */
    struct serve_ctx *ctx = ex->ctx;
    tether_request_set_data(req, NULL);
    ex->req = NULL;
    serve_exchange_release(ex);
    serve_respond(ctx, req);
}
