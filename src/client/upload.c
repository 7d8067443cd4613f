/* SPDX-License-Identifier: MIT */
/* Streamed request bodies (tether_fetch_options.body_stream): what the caller supplies goes out
 * on the current attempt's connection as it comes, and what is kept decides whether the request
 * can be sent again. While the body fits policy.replay_buffer_bytes every byte is kept, so a
 * replay or retry resends it from its first byte as a body in memory would be. Past that, bytes
 * are dropped once the kernel has taken them (never earlier: a write that failed before the
 * kernel took anything must leave the body whole for the replay the policy then allows), and
 * f->replayable turns false, which the policy reads as "the body cannot be sent again". */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

/* tether_fetch_write asked the caller to wait: it may go on below this. */
#define UPLOAD_LOW_WATER (TETHER_FETCH_WRITE_HIGH_WATER / 4)

int tt__upload_init(struct tether_fetch *f, const struct tether_fetch_options *o)
{
    struct tt__upload *u = &f->upload;
    tt__buf_init(&u->kept, SIZE_MAX);
    if (!o->body_stream) {
        return 0;
    }
    if (o->body || o->body_len) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "body_stream and a body in memory: supply the body one way");
        return TETHER_EINVAL;
    }
    if (o->max_redirects) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "max_redirects with a streamed body: a redirect would have to send the "
                       "body again from its first byte");
        return TETHER_EINVAL;
    }
    u->on = true;
    u->length = o->body_stream_length;
    u->chunked = o->body_stream_length == TETHER_BODY_LENGTH_UNKNOWN;
    u->on_drain = o->on_body_drain;
    return 0;
}

void tt__upload_free(struct tether_fetch *f)
{
    tt__buf_cleanup(&f->upload.kept);
}

/* The connection the body goes to now, or NULL (connecting, sleeping, done, or all queued). */
static struct tt__cli_conn *upload_conn(const struct tether_fetch *f)
{
    struct tt__cli_conn *c = f->att.conn;
    if (f->state != TT__FS_ACTIVE || !c || c->state != TT__CLI_CONN_ACTIVE || c->owner != f ||
        !c->body_open) {
        return NULL;
    }
    return c;
}

/* Drops what the kernel has taken, once the body no longer fits the replay buffer. */
static void upload_trim(struct tether_fetch *f, const struct tt__cli_conn *c)
{
    struct tt__upload *u = &f->upload;
    if (f->replayable || !c || c->owner != f) {
        return;
    }
    uint64_t acked = tt__cli_conn_body_acked(c);
    if (acked > u->kept_from) {
        /* Dropped lazily: the front is moved out only once it is most of the buffer, so each
         * byte is moved about once instead of at every write completion. */
        u->kept_skip += (size_t)(acked - u->kept_from);
        u->kept_from = acked;
        if (u->kept_skip >= u->kept.len / 2) {
            tt__buf_consume(&u->kept, u->kept_skip);
            u->kept_skip = 0;
        }
    }
}

/* Bytes supplied and not yet taken by the kernel: what tether_fetch_write's high-water mark
 * counts. */
static uint64_t upload_buffered(const struct tether_fetch *f)
{
    const struct tt__upload *u = &f->upload;
    const struct tt__cli_conn *c = upload_conn(f);
    if (!c) {
        return u->kept.len - u->kept_skip;
    }
    return (u->wire_total - u->sent) + tt__stream_write_queue_size(&c->stream);
}

/* Queues every kept byte the current connection has not had yet. */
static void upload_push(struct tether_fetch *f)
{
    struct tt__upload *u = &f->upload;
    struct tt__cli_conn *c = upload_conn(f);
    if (!c) {
        return;
    }
    if (u->sent < u->kept_from) {
        /* Unreachable through the policy (a body that was partly dropped is never sent
         * again), kept as a guard: never send a body with a hole in it. */
        struct tether_failure fail;
        tether_failure_init(&fail);
        fail.code = TETHER_ECANCELED;
        fail.phase = TETHER_PHASE_WRITE;
        fail.syscall = TETHER_SYSCALL_WRITE;
        fail.bytes_sent = 1;
        (void)snprintf(fail.detail, sizeof(fail.detail),
                       "the streamed body was partly sent before and is no longer kept");
        tt__cli_conn_fail(c, &fail, true);
        return;
    }
    size_t queued = tt__stream_write_queue_size(&c->stream);
    if (u->sent < u->wire_total && queued < TETHER_FETCH_WRITE_HIGH_WATER) {
        /* No more than the high-water mark waits in the stream's queue (each write is a copy):
         * the rest stays in `kept` until writes complete (tt__upload_written). */
        uint64_t at = u->sent;
        size_t off = u->kept_skip + (size_t)(at - u->kept_from);
        size_t n = (size_t)(u->wire_total - at);
        size_t room = TETHER_FETCH_WRITE_HIGH_WATER - queued;
        n = n < room ? n : room;
        /* A failed write ends the attempt inside the call (a replay may even have begun and
         * sent the body again): nothing here may be touched after it. */
        if (tt__cli_conn_write_more(c, u->kept.data + off, n) != 0) {
            return;
        }
        u->sent = at + n;
    }
    if (u->ended && u->sent == u->wire_total) {
        tt__cli_conn_body_closed(c);
    }
    upload_trim(f, c);
}

void tt__upload_begin(struct tether_fetch *f, struct tt__cli_conn *c)
{
    (void)c;
    f->upload.sent = 0;
    upload_push(f);
}

void tt__upload_written(struct tether_fetch *f, struct tt__cli_conn *c)
{
    struct tt__upload *u = &f->upload;
    upload_push(f); /* what waited for room in the stream's queue */
    if (f->state == TT__FS_DONE) {
        return;
    }
    upload_trim(f, c);
    if (u->drain_wanted && f->state != TT__FS_DONE && upload_buffered(f) <= UPLOAD_LOW_WATER) {
        u->drain_wanted = false;
        if (u->on_drain) {
            u->on_drain(f); /* may write, cancel or free: nothing is touched after it */
        }
    }
}

int tether_fetch_write(tether_fetch *f, const void *data, size_t len, bool last)
{
    if (!f || !f->upload.on || (!data && len)) {
        return TETHER_EINVAL;
    }
    struct tt__upload *u = &f->upload;
    if (f->state == TT__FS_DONE) {
        return TETHER_ECANCELED;
    }
    if (u->ended) {
        return TETHER_EINVAL;
    }
    if (!u->chunked &&
        (len > u->length - u->supplied || (last && u->supplied + len != u->length))) {
        return TETHER_EINVAL;
    }
    size_t before = u->kept.len;
    int rv = 0;
    if (u->chunked) {
        rv = len ? tt__h1_write_chunk(&u->kept, data, len) : 0;
        rv = rv == 0 && last ? tt__h1_write_last_chunk(&u->kept) : rv;
    } else if (len) {
        rv = tt__buf_append(&u->kept, data, len);
    }
    if (rv != 0) {
        u->kept.len = before; /* nothing taken */
        return rv;
    }
    u->supplied += len;
    u->ended = last;
    u->wire_total = u->kept_from + (u->kept.len - u->kept_skip);
    if (f->replayable && u->supplied > f->client->policy.replay_buffer_bytes) {
        /* From now on bytes the kernel took are dropped: the body cannot be sent again. */
        f->replayable = false;
    }
    upload_push(f);
    if (f->state == TT__FS_DONE || u->ended) {
        return 0;
    }
    if (upload_buffered(f) > TETHER_FETCH_WRITE_HIGH_WATER) {
        u->drain_wanted = true;
        return 1;
    }
    return 0;
}
