/* SPDX-License-Identifier: MIT */
/* Load-balancer and firewall toxics Toxiproxy lacks: idle timeouts that FIN, RST or drop
 * silently, conntrack expiry, connection lifetimes, resets without data, black holes, and the
 * proxy-scoped connection limits, accept faults, upstream-down answers and connect delays. */
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_int.h"

static uint64_t ms_to_us(int64_t ms)
{
    return ms > 0 ? (uint64_t)ms * 1000u : 0;
}

/* ---- idle_timeout and conntrack_expiry: a per-connection idle timer fed by every byte in
 * either direction ---- */

/* The idle limit now: a half-closed connection may have its own (HAProxy's client-fin). */
static uint64_t idle_limit_us(const struct px_stage *st)
{
    int64_t t = tt__px_attr_i(st->tox, "timeout");
    if (tt__px_attr_index(st->type, "half_closed_timeout") >= 0 &&
        tt__px_conn_half_closed(tt__px_stage_conn(st))) {
        int64_t hct = tt__px_attr_i(st->tox, "half_closed_timeout");
        if (hct > 0) {
            t = hct;
        }
    }
    return ms_to_us(t);
}

static void idle_arm(struct px_stage *st)
{
    if (st->s.idle.expired || !tt__px_stage_active(st)) {
        tt__px_stage_disarm(st);
        return;
    }
    uint64_t due = st->s.idle.last_us + idle_limit_us(st);
    uint64_t now = tt__px_now_us(st);
    tt__px_stage_arm(st, due > now ? due - now : 0);
}

static void idle_init(struct px_stage *st)
{
    st->s.idle.last_us = tt__px_now_us(st);
    idle_arm(st);
}

/* Only a timestamp here: the timer finds out at expiry whether it was fed meanwhile, which
 * keeps the per-read cost to one clock read. */
static void idle_activity(struct px_stage *st, enum px_dir dir, size_t n)
{
    (void)dir;
    st->s.idle.last_us = tt__px_now_us(st);
    if (n == 0) {
        /* A FIN: the connection may just have become half-closed, with a shorter limit. */
        idle_arm(st);
    }
}

static void idle_expire(struct px_stage *st)
{
    struct px_conn *c = tt__px_stage_conn(st);
    st->s.idle.expired = true;
    if (st->type == &tt__px_type_conntrack_expiry) {
        const char *then = tt__px_attr_e(st->tox, "then");
        tt__px_conn_set_mode(c,
                             strcmp(then, "blackhole") == 0 ? PX_MODE_BLACKHOLE : PX_MODE_SILENT);
        return;
    }
    const char *action = tt__px_attr_e(st->tox, "action");
    if (strcmp(action, "fin") == 0) {
        tt__px_conn_close(c, PX_HOW_FIN);
    } else if (strcmp(action, "rst") == 0) {
        tt__px_conn_close(c, PX_HOW_RST);
    } else {
        tt__px_conn_set_mode(c, PX_MODE_SILENT);
    }
}

static void idle_timer(struct px_stage *st)
{
    if (st->s.idle.expired || !tt__px_stage_active(st)) {
        return;
    }
    uint64_t due = st->s.idle.last_us + idle_limit_us(st);
    uint64_t now = tt__px_now_us(st);
    if (now < due) {
        tt__px_stage_arm(st, due - now);
        return;
    }
    idle_expire(st);
}

static void idle_update(struct px_stage *st)
{
    idle_arm(st);
}

/* ---- max_lifetime: close a connection `timeout` ± jitter ms after it began ---- */

static void life_deadline(struct px_stage *st)
{
    int64_t timeout = tt__px_attr_i(st->tox, "timeout");
    int64_t jitter = tt__px_attr_i(st->tox, "jitter");
    int64_t d = timeout;
    if (jitter > 0) {
        d += (int64_t)ttx_rng_below(&tt__px_stage_server(st)->rng, (uint64_t)jitter * 2) - jitter;
    }
    st->s.life.deadline_us = st->s.life.start_us + ms_to_us(d);
}

static void life_arm(struct px_stage *st)
{
    if (st->s.life.done || !tt__px_stage_active(st)) {
        tt__px_stage_disarm(st);
        return;
    }
    uint64_t now = tt__px_now_us(st);
    tt__px_stage_arm(st, st->s.life.deadline_us > now ? st->s.life.deadline_us - now : 0);
}

static void max_lifetime_init(struct px_stage *st)
{
    st->s.life.start_us = tt__px_now_us(st);
    life_deadline(st);
    life_arm(st);
}

static void max_lifetime_timer(struct px_stage *st)
{
    if (st->s.life.done || !tt__px_stage_active(st)) {
        return;
    }
    uint64_t now = tt__px_now_us(st);
    if (now < st->s.life.deadline_us) {
        tt__px_stage_arm(st, st->s.life.deadline_us - now);
        return;
    }
    st->s.life.done = true;
    bool rst = strcmp(tt__px_attr_e(st->tox, "action"), "rst") == 0;
    tt__px_conn_close(tt__px_stage_conn(st), rst ? PX_HOW_RST : PX_HOW_FIN);
}

static void max_lifetime_update(struct px_stage *st)
{
    life_deadline(st);
    life_arm(st);
}

/* ---- reset: RST both sockets `timeout` ms after the connection (or the toxic) began, or
 * after `after_bytes` bytes passed in its direction, whichever comes first ---- */

static bool reset_timed(const struct px_stage *st)
{
    /* With after_bytes set, timeout 0 means "no timer"; alone, it means "at once". */
    return tt__px_attr_i(st->tox, "after_bytes") == 0 || tt__px_attr_i(st->tox, "timeout") > 0;
}

static void reset_arm(struct px_stage *st)
{
    if (st->s.life.done || !tt__px_stage_active(st) || !reset_timed(st)) {
        tt__px_stage_disarm(st);
        return;
    }
    st->s.life.deadline_us = st->s.life.start_us + ms_to_us(tt__px_attr_i(st->tox, "timeout"));
    uint64_t now = tt__px_now_us(st);
    tt__px_stage_arm(st, st->s.life.deadline_us > now ? st->s.life.deadline_us - now : 0);
}

static void reset_init(struct px_stage *st)
{
    st->s.life.start_us = tt__px_now_us(st);
    reset_arm(st);
}

static void reset_fire(struct px_stage *st)
{
    st->s.life.done = true;
    tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_RST);
}

static void reset_timer(struct px_stage *st)
{
    if (st->s.life.done || !tt__px_stage_active(st) || !reset_timed(st)) {
        return;
    }
    uint64_t now = tt__px_now_us(st);
    if (now < st->s.life.deadline_us) {
        tt__px_stage_arm(st, st->s.life.deadline_us - now);
        return;
    }
    reset_fire(st);
}

static void reset_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        int64_t after = tt__px_attr_i(st->tox, "after_bytes");
        if (st->s.life.done) {
            tt__px_chunk_free(tt__px_stage_pop(st));
            continue;
        }
        if (ch->kind != PX_CHUNK_DATA || after <= 0) {
            tt__px_stage_emit(st, tt__px_stage_pop(st));
            continue;
        }
        uint64_t left = (uint64_t)after > st->s.life.count ? (uint64_t)after - st->s.life.count : 0;
        if (ch->len <= left) {
            st->s.life.count += ch->len;
            tt__px_stage_emit(st, tt__px_stage_pop(st));
        } else {
            if (left > 0) {
                struct px_chunk *piece = tt__px_stage_take(st, (size_t)left);
                if (!piece) {
                    reset_fire(st);
                    return;
                }
                st->s.life.count += left;
                tt__px_stage_emit(st, piece);
                if (tt__px_stage_dead(st)) {
                    return;
                }
            }
            tt__px_chunk_free(tt__px_stage_pop(st));
        }
        if (st->s.life.count >= (uint64_t)after) {
            /* The RST travels behind the bytes and waits until they reached the kernel. */
            st->s.life.done = true;
            struct px_chunk *mark = tt__px_chunk_new(PX_CHUNK_RST, NULL, 0);
            if (!mark) {
                reset_fire(st);
                return;
            }
            mark->by = st->type;
            tt__px_stage_emit(st, mark);
        }
    }
}

static void reset_update(struct px_stage *st)
{
    reset_arm(st);
}

/* ---- blackhole: drop data, never close; the end of the stream is held, not dropped, so
 * removing the toxic lets the connection finish ---- */

static void blackhole_pump(struct px_stage *st)
{
    struct tt__list *n = st->q.next;
    while (n != &st->q) {
        struct px_chunk *ch = tt__container_of(n, struct px_chunk, link);
        n = n->next;
        if (ch->kind == PX_CHUNK_DATA) {
            /* Keep the byte counts that backpressure reads right. */
            st->held -= ch->len;
            st->h->held -= ch->len;
            tt__list_remove(&ch->link);
            tt__px_chunk_free(ch);
        }
    }
}

static bool blackhole_blocks_reading(const struct px_stage *st)
{
    return tt__px_stage_active(st) && tt__px_attr_b(st->tox, "stop_reading");
}

/* ---- tables ---- */

static const char *const idle_actions[] = {"fin", "rst", "silent", NULL};
static const char *const conntrack_then[] = {"blackhole", "rst_on_next", NULL};
static const char *const fin_rst[] = {"fin", "rst", NULL};
static const char *const limit_actions[] = {"queue", "rst", "fin", "refuse", NULL};
static const char *const accept_actions[] = {"rst", "fin", "hang", NULL};
static const char *const down_actions[] = {"fin", "rst", "refuse", NULL};

static const struct px_attr_def idle_timeout_attrs[] = {
    {"timeout", PX_ATTR_INT, 1, NULL, PX_MAX_MS},
    {"action", PX_ATTR_ENUM, 0, idle_actions, 0},
    {"half_closed_timeout", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
};
static const struct px_attr_def conntrack_attrs[] = {
    {"timeout", PX_ATTR_INT, 1, NULL, PX_MAX_MS},
    {"then", PX_ATTR_ENUM, 0, conntrack_then, 0},
};
static const struct px_attr_def max_lifetime_attrs[] = {
    {"timeout", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
    {"action", PX_ATTR_ENUM, 0, fin_rst, 0},
    {"jitter", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
};
static const struct px_attr_def reset_attrs[] = {
    {"timeout", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
    {"after_bytes", PX_ATTR_INT, 0, NULL, PX_MAX_SIZE},
};
static const struct px_attr_def blackhole_attrs[] = {
    {"stop_reading", PX_ATTR_BOOL, 0, NULL, 0},
};
static const struct px_attr_def max_connections_attrs[] = {
    {"limit", PX_ATTR_INT, 0, NULL, PX_MAX_SIZE},
    {"action", PX_ATTR_ENUM, 0, limit_actions, 0},
};
static const struct px_attr_def accept_attrs[] = {
    {"action", PX_ATTR_ENUM, 0, accept_actions, 0},
    {"delay", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
};
static const struct px_attr_def upstream_down_attrs[] = {
    {"action", PX_ATTR_ENUM, 0, down_actions, 0},
};
static const struct px_attr_def connect_delay_attrs[] = {
    {"delay", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
};

const struct px_toxic_type tt__px_type_idle_timeout = {
    .name = "idle_timeout",
    .go_type = "IdleTimeoutToxic",
    .scope = PX_SCOPE_CONN,
    .attrs = idle_timeout_attrs,
    .nattrs = tt__countof(idle_timeout_attrs),
    .init = idle_init,
    .timer = idle_timer,
    .update = idle_update,
    .activity = idle_activity,
};
const struct px_toxic_type tt__px_type_conntrack_expiry = {
    .name = "conntrack_expiry",
    .go_type = "ConntrackExpiryToxic",
    .scope = PX_SCOPE_CONN,
    .attrs = conntrack_attrs,
    .nattrs = tt__countof(conntrack_attrs),
    .init = idle_init,
    .timer = idle_timer,
    .update = idle_update,
    .activity = idle_activity,
};
const struct px_toxic_type tt__px_type_max_lifetime = {
    .name = "max_lifetime",
    .go_type = "MaxLifetimeToxic",
    .scope = PX_SCOPE_CONN,
    .attrs = max_lifetime_attrs,
    .nattrs = tt__countof(max_lifetime_attrs),
    .init = max_lifetime_init,
    .timer = max_lifetime_timer,
    .update = max_lifetime_update,
};
const struct px_toxic_type tt__px_type_reset = {
    .name = "reset",
    .go_type = "ResetConnToxic",
    .scope = PX_SCOPE_CONN,
    .attrs = reset_attrs,
    .nattrs = tt__countof(reset_attrs),
    .init = reset_init,
    .pump = reset_pump,
    .timer = reset_timer,
    .update = reset_update,
};
const struct px_toxic_type tt__px_type_blackhole = {
    .name = "blackhole",
    .go_type = "BlackholeToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = blackhole_attrs,
    .nattrs = tt__countof(blackhole_attrs),
    .pump = blackhole_pump,
    .blocks_reading = blackhole_blocks_reading,
};
const struct px_toxic_type tt__px_type_max_connections = {
    .name = "max_connections",
    .go_type = "MaxConnectionsToxic",
    .scope = PX_SCOPE_PROXY,
    .attrs = max_connections_attrs,
    .nattrs = tt__countof(max_connections_attrs),
};
const struct px_toxic_type tt__px_type_accept = {
    .name = "accept",
    .go_type = "AcceptToxic",
    .scope = PX_SCOPE_PROXY,
    .attrs = accept_attrs,
    .nattrs = tt__countof(accept_attrs),
};
const struct px_toxic_type tt__px_type_upstream_down = {
    .name = "upstream_down",
    .go_type = "UpstreamDownToxic",
    .scope = PX_SCOPE_PROXY,
    .attrs = upstream_down_attrs,
    .nattrs = tt__countof(upstream_down_attrs),
};
const struct px_toxic_type tt__px_type_connect_delay = {
    .name = "connect_delay",
    .go_type = "ConnectDelayToxic",
    .scope = PX_SCOPE_CONN,
    .attrs = connect_delay_attrs,
    .nattrs = tt__countof(connect_delay_attrs),
};
