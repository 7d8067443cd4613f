/* SPDX-License-Identifier: MIT */
/* Toxic stages: the chain of toxics one direction of a connection runs through, the chunks it
 * holds, its timers, and how stages come and go under live traffic. */
#include <string.h>

#include "proxy/proxy_int.h"

static uint64_t now_us(void)
{
    return uv_hrtime() / 1000u;
}

static uv_loop_t *conn_loop(const struct px_conn *c)
{
    return c->px->ps->loop;
}

/* ---- chunks ---- */

struct px_chunk *tt__px_chunk_new(enum px_chunk_kind kind, const void *data, size_t len)
{
    struct px_chunk *ch = tt__malloc(sizeof(*ch) + len);
    if (!ch) {
        return NULL;
    }
    tt__list_init(&ch->link);
    ch->kind = kind;
    ch->t_us = 0;
    ch->due_us = 0;
    ch->off = 0;
    ch->len = len;
    ch->by = NULL;
    if (len) {
        memcpy(ch->data, data, len);
    }
    return ch;
}

void tt__px_chunk_free(struct px_chunk *ch)
{
    tt__free(ch);
}

/* ---- stages ---- */

bool tt__px_stage_active(const struct px_stage *st)
{
    return !st->removed && st->tox && st->roll < (double)st->tox->toxicity;
}

bool tt__px_stage_dead(const struct px_stage *st)
{
    return st->removed || st->h->c->state == PX_CONN_CLOSING;
}

uint64_t tt__px_now_us(const struct px_stage *st)
{
    (void)st;
    return now_us();
}

struct tether_proxy_server *tt__px_stage_server(const struct px_stage *st)
{
    return st->h->c->px->ps;
}

struct px_conn *tt__px_stage_conn(const struct px_stage *st)
{
    return st->h->c;
}

struct px_chunk *tt__px_stage_head(struct px_stage *st)
{
    if (tt__list_empty(&st->q)) {
        return NULL;
    }
    return tt__container_of(st->q.next, struct px_chunk, link);
}

struct px_chunk *tt__px_stage_pop(struct px_stage *st)
{
    struct px_chunk *ch = tt__px_stage_head(st);
    if (ch) {
        tt__list_remove(&ch->link);
        st->held -= ch->len;
        st->h->held -= ch->len;
    }
    return ch;
}

struct px_chunk *tt__px_stage_take(struct px_stage *st, size_t n)
{
    struct px_chunk *ch = tt__px_stage_head(st);
    if (!ch || n >= ch->len) {
        return tt__px_stage_pop(st);
    }
    struct px_chunk *piece = tt__px_chunk_new(PX_CHUNK_DATA, ch->data + ch->off, n);
    if (!piece) {
        return NULL;
    }
    ch->off += n;
    ch->len -= n;
    st->held -= n;
    st->h->held -= n;
    return piece;
}

static void stage_timer_cb(uv_timer_t *t);

void tt__px_stage_arm(struct px_stage *st, uint64_t delay_us)
{
    if (tt__px_stage_dead(st)) {
        return;
    }
    /* Round up, so the stage never wakes before its due time (it re-arms if it does). */
    uint64_t ms = (delay_us + 999u) / 1000u;
    uv_update_time(st->timer.loop);
    (void)uv_timer_start(&st->timer, stage_timer_cb, ms, 0);
    st->timer_armed = true;
}

void tt__px_stage_disarm(struct px_stage *st)
{
    if (st->timer_armed) {
        (void)uv_timer_stop(&st->timer);
        st->timer_armed = false;
    }
}

static void stage_push(struct px_stage *st, struct px_chunk *ch);

void tt__px_stage_emit(struct px_stage *st, struct px_chunk *ch)
{
    struct px_half *h = st->h;
    if (!ch) {
        return;
    }
    if (h->c->state == PX_CONN_CLOSING || st->removed) {
        /* A closed stage is out of the chain: it has no "next" any more. */
        tt__px_chunk_free(ch);
        return;
    }
    struct tt__list *next = st->link.next;
    if (next == &h->stages) {
        tt__px_sink(h, ch);
    } else {
        stage_push(tt__container_of(next, struct px_stage, link), ch);
    }
}

void tt__px_stage_flush(struct px_stage *st)
{
    struct px_chunk *ch;
    while (st->h->c->state != PX_CONN_CLOSING && (ch = tt__px_stage_pop(st)) != NULL) {
        tt__px_stage_emit(st, ch);
    }
}

/* Runs what a stage does with its queue now: its pump when it applies, else pass all on. */
void tt__px_stage_run(struct px_stage *st)
{
    if (!tt__px_stage_active(st) || !st->type->pump) {
        tt__px_stage_flush(st);
        return;
    }
    struct tether_proxy_server *ps = st->h->c->px->ps;
    const struct px_toxic_type *outer = ps->acting; /* pumps nest along the chain */
    ps->acting = st->type;
    st->type->pump(st);
    ps->acting = outer;
}

static void stage_push(struct px_stage *st, struct px_chunk *ch)
{
    ch->t_us = now_us();
    ch->due_us = 0;
    if (tt__list_empty(&st->q) && (!tt__px_stage_active(st) || !st->type->pump)) {
        tt__px_stage_emit(st, ch); /* the common case: nothing held, nothing to do */
        return;
    }
    tt__list_insert_tail(&st->q, &ch->link);
    st->held += ch->len;
    st->h->held += ch->len;
    tt__px_stage_run(st);
}

static void stage_timer_cb(uv_timer_t *t)
{
    struct px_stage *st = t->data;
    st->timer_armed = false;
    if (tt__px_stage_dead(st)) {
        return;
    }
    struct px_half *h = st->h;
    if (st->type->timer) {
        struct tether_proxy_server *ps = h->c->px->ps;
        const struct px_toxic_type *outer = ps->acting;
        ps->acting = st->type;
        st->type->timer(st);
        ps->acting = outer;
    } else {
        tt__px_stage_run(st);
    }
    if (h->c->state != PX_CONN_CLOSING) {
        tt__px_half_update_reading(h);
    }
}

static void stage_closed_cb(uv_handle_t *handle)
{
    struct px_stage *st = handle->data;
    struct px_conn *c = st->h->c;
    while (!tt__list_empty(&st->q)) {
        struct px_chunk *ch = tt__container_of(st->q.next, struct px_chunk, link);
        tt__list_remove(&ch->link);
        tt__px_chunk_free(ch);
    }
    if (st->type->cleanup) {
        st->type->cleanup(st);
    }
    tt__free(st);
    tt__px_conn_unpend(c);
}

/* Unlinks the stage and frees it once its timer handle is closed. */
void tt__px_stage_close(struct px_stage *st)
{
    tt__list_remove(&st->link);
    st->removed = true;
    tt__px_stage_disarm(st);
    uv_close((uv_handle_t *)&st->timer, stage_closed_cb);
}

struct px_stage *tt__px_stage_new(struct px_conn *c, struct px_toxic *t)
{
    struct px_stage *st = tt__calloc(1, sizeof(*st));
    if (!st) {
        return NULL;
    }
    tt__list_init(&st->q);
    st->h = &c->half[t->dir];
    st->tox = t;
    st->type = t->type;
    /* One roll per connection and direction, kept for the stage's life: raising or lowering
     * toxicity later moves the threshold, never re-rolls. */
    st->roll = ttx_rng_unit(&c->px->ps->rng);
    (void)uv_timer_init(conn_loop(c), &st->timer);
    st->timer.data = st;
    c->pending++;
    tt__list_insert_tail(&st->h->stages, &st->link);
    if (st->type->init) {
        st->type->init(st);
    }
    return st;
}

struct px_stage *tt__px_half_find_stage(struct px_half *h, const struct px_toxic *t)
{
    for (struct tt__list *n = h->stages.next; n != &h->stages; n = n->next) {
        struct px_stage *st = tt__container_of(n, struct px_stage, link);
        if (st->tox == t) {
            return st;
        }
    }
    return NULL;
}

void tt__px_half_input(struct px_half *h, struct px_chunk *ch)
{
    if (tt__list_empty(&h->stages)) {
        tt__px_sink(h, ch);
        return;
    }
    stage_push(tt__container_of(h->stages.next, struct px_stage, link), ch);
}

void tt__px_stage_remove(struct px_stage *st)
{
    struct px_conn *c = st->h->c;
    if (st->type->remove) {
        st->type->remove(st);
    }
    if (c->state == PX_CONN_CLOSING) {
        return; /* the connection's close took the stage with it */
    }
    tt__px_stage_disarm(st);
    /* An interrupted toxic passes on what it holds: no data is lost by removing it. */
    tt__px_stage_flush(st);
    if (c->state == PX_CONN_CLOSING) {
        return;
    }
    tt__px_stage_close(st);
}
