/* SPDX-License-Identifier: MIT */
/* The toxic type registry, and Toxiproxy's own toxics (latency, bandwidth, slow_close,
 * timeout, reset_peer, slicer, limit_data, noop, packet_loss) as stages of a connection
 * direction. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_int.h"
#include "util/str.h"

/* ---- the classic toxics ---- */

static struct px_toxic *stage_toxic(const struct px_stage *st)
{
    return st->tox;
}

/* latency: every chunk waits latency ± jitter ms after it entered the stage, in order. */
static uint64_t latency_delay_us(struct px_stage *st)
{
    int64_t latency = tt__px_attr_i(stage_toxic(st), "latency");
    int64_t jitter = tt__px_attr_i(stage_toxic(st), "jitter");
    int64_t d = latency;
    if (jitter > 0) {
        /* rand.Int63n(2*jitter) - jitter, as Toxiproxy draws it. */
        d += (int64_t)ttx_rng_below(&tt__px_stage_server(st)->rng, (uint64_t)jitter * 2) - jitter;
    }
    return d > 0 ? (uint64_t)d * 1000u : 0;
}

static void latency_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        if (ch->kind == PX_CHUNK_DATA) {
            if (ch->due_us == 0) {
                ch->due_us = ch->t_us + latency_delay_us(st);
            }
            uint64_t now = tt__px_now_us(st);
            if (now < ch->due_us) {
                tt__px_stage_arm(st, ch->due_us - now);
                return;
            }
        }
        tt__px_stage_emit(st, tt__px_stage_pop(st));
    }
}

/* New values apply to the chunks still held, as if they had arrived under them. */
static void latency_update(struct px_stage *st)
{
    struct tt__list *n;
    for (n = st->q.next; n != &st->q; n = n->next) {
        tt__container_of(n, struct px_chunk, link)->due_us = 0;
    }
    tt__px_stage_disarm(st);
}

/* bandwidth: `rate` KB/s (1 KB = 1000 B). Chunks longer than 100 ms worth go out in slices of
 * rate*100 bytes; rate 0 holds everything (users rely on it to cut a connection). */
static void bandwidth_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        if (ch->kind != PX_CHUNK_DATA) {
            tt__px_stage_emit(st, tt__px_stage_pop(st));
            continue;
        }
        int64_t rate = tt__px_attr_i(stage_toxic(st), "rate");
        if (rate <= 0) {
            tt__px_stage_disarm(st);
            return;
        }
        uint64_t max_slice = (uint64_t)rate > SIZE_MAX / 100 ? SIZE_MAX : (uint64_t)rate * 100u;
        size_t slice = ch->len < max_slice ? ch->len : (size_t)max_slice;
        uint64_t now = tt__px_now_us(st);
        if (ch->due_us == 0) {
            uint64_t start = st->s.bw.free_us > now ? st->s.bw.free_us : now;
            /* bytes / (rate bytes per ms) = ms; in us: bytes * 1000 / rate. */
            ch->due_us = start + (uint64_t)slice * 1000u / (uint64_t)rate;
            if (ch->due_us == 0) {
                ch->due_us = 1;
            }
        }
        if (now < ch->due_us) {
            tt__px_stage_arm(st, ch->due_us - now);
            return;
        }
        st->s.bw.free_us = ch->due_us;
        ch->due_us = 0;
        if (slice >= ch->len) {
            tt__px_stage_emit(st, tt__px_stage_pop(st));
        } else {
            struct px_chunk *piece = tt__px_stage_take(st, slice);
            if (!piece) {
                tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_FIN);
                return;
            }
            tt__px_stage_emit(st, piece);
        }
    }
}

static void bandwidth_update(struct px_stage *st)
{
    struct px_chunk *ch = tt__px_stage_head(st);
    if (ch) {
        ch->due_us = 0;
    }
    st->s.bw.free_us = 0;
    tt__px_stage_disarm(st);
}

/* slow_close: data passes; the end of the stream waits `delay` ms. */
static void slow_close_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        if (ch->kind != PX_CHUNK_DATA) {
            int64_t delay = tt__px_attr_i(stage_toxic(st), "delay");
            if (ch->due_us == 0) {
                ch->due_us = ch->t_us + (delay > 0 ? (uint64_t)delay * 1000u : 0);
            }
            uint64_t now = tt__px_now_us(st);
            if (now < ch->due_us) {
                tt__px_stage_arm(st, ch->due_us - now);
                return;
            }
        }
        tt__px_stage_emit(st, tt__px_stage_pop(st));
    }
}

static void slow_close_update(struct px_stage *st)
{
    latency_update(st);
}

/* timeout: a black hole that closes the connection (FIN) after `timeout` ms without data in
 * its direction; each chunk restarts the countdown; 0 never closes. */
static void timeout_arm(struct px_stage *st)
{
    int64_t timeout = tt__px_attr_i(stage_toxic(st), "timeout");
    if (timeout <= 0 || !tt__px_stage_active(st)) {
        tt__px_stage_disarm(st);
        return;
    }
    uint64_t due = st->s.timeout.last_us + (uint64_t)timeout * 1000u;
    uint64_t now = tt__px_now_us(st);
    tt__px_stage_arm(st, due > now ? due - now : 0);
}

static void timeout_init(struct px_stage *st)
{
    st->s.timeout.last_us = tt__px_now_us(st);
    timeout_arm(st);
}

static void timeout_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        if (ch->kind == PX_CHUNK_DATA) {
            st->s.timeout.last_us = tt__px_now_us(st);
            tt__px_chunk_free(tt__px_stage_pop(st));
            continue;
        }
        tt__px_stage_emit(st, tt__px_stage_pop(st));
    }
    if (!tt__px_stage_dead(st)) {
        timeout_arm(st);
    }
}

static void timeout_timer(struct px_stage *st)
{
    int64_t timeout = tt__px_attr_i(stage_toxic(st), "timeout");
    if (!tt__px_stage_active(st) || timeout <= 0) {
        return;
    }
    uint64_t due = st->s.timeout.last_us + (uint64_t)timeout * 1000u;
    uint64_t now = tt__px_now_us(st);
    if (now < due) {
        tt__px_stage_arm(st, due - now);
        return;
    }
    tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_FIN);
}

static void timeout_update(struct px_stage *st)
{
    st->s.timeout.last_us = tt__px_now_us(st);
    timeout_arm(st);
}

/* Removing a timeout toxic closes what it was black-holing (Toxiproxy's Cleanup), but only on
 * connections it applied to. */
static void timeout_remove(struct px_stage *st)
{
    if (tt__px_stage_active(st)) {
        tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_FIN);
    }
}

/* reset_peer: wait for the first chunk (or EOF) of the direction, drop it, hold the rest, and
 * `timeout` ms later reset both sockets. */
static void reset_peer_pump(struct px_stage *st)
{
    if (st->s.reset_peer.fired) {
        return; /* everything after the first chunk waits for the reset */
    }
    struct px_chunk *ch = tt__px_stage_head(st);
    if (!ch) {
        return;
    }
    if (ch->kind == PX_CHUNK_DATA) {
        tt__px_chunk_free(tt__px_stage_pop(st));
    }
    st->s.reset_peer.fired = true;
    int64_t timeout = tt__px_attr_i(stage_toxic(st), "timeout");
    tt__px_stage_arm(st, timeout > 0 ? (uint64_t)timeout * 1000u : 0);
}

static void reset_peer_timer(struct px_stage *st)
{
    if (!tt__px_stage_active(st)) {
        /* Toxicity lowered meanwhile: the held chunks go on, and a later raise starts over. */
        st->s.reset_peer.fired = false;
        tt__px_stage_flush(st);
        return;
    }
    if (st->s.reset_peer.fired) {
        tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_RST);
    }
}

/* slicer: each chunk is cut recursively in halves whose midpoint moves by ±size_variation,
 * until a piece is at most average_size + size_variation; pieces go out `delay` us apart. */
static size_t *slicer_plan(struct px_stage *st, size_t len, size_t *ncuts)
{
    struct tether_proxy_server *ps = tt__px_stage_server(st);
    int64_t avg = tt__px_attr_i(stage_toxic(st), "average_size");
    int64_t var = tt__px_attr_i(stage_toxic(st), "size_variation");
    size_t cap_cuts = 16, cap_stack = 16, n = 0, sp = 0;
    size_t *cuts = tt__malloc(cap_cuts * sizeof(*cuts));
    size_t *stack = tt__malloc(cap_stack * 2 * sizeof(*stack));
    if (!cuts || !stack) {
        goto fail;
    }
    if (avg < 1) {
        avg = 1; /* validated; belt and braces against endless recursion */
    }
    stack[sp * 2] = 0;
    stack[sp * 2 + 1] = len;
    sp++;
    /* Depth-first, left half first, so the cuts come out in order. */
    while (sp > 0) {
        sp--;
        size_t s = stack[sp * 2], e = stack[sp * 2 + 1];
        if ((int64_t)(e - s) - avg <= var || e - s < 2) {
            if (n == cap_cuts) {
                size_t *p = tt__realloc(cuts, cap_cuts * 2 * sizeof(*cuts));
                if (!p) {
                    goto fail;
                }
                cuts = p;
                cap_cuts *= 2;
            }
            cuts[n++] = e;
            continue;
        }
        int64_t mid = (int64_t)(s + (e - s) / 2);
        if (var > 0) {
            mid += (int64_t)ttx_rng_below(&ps->rng, (uint64_t)var * 2) - var;
        }
        /* Go would panic on a midpoint outside the chunk; keep both halves non-empty. */
        if (mid <= (int64_t)s) {
            mid = (int64_t)s + 1;
        }
        if (mid >= (int64_t)e) {
            mid = (int64_t)e - 1;
        }
        if (sp + 2 > cap_stack) {
            size_t *p = tt__realloc(stack, cap_stack * 4 * sizeof(*stack));
            if (!p) {
                goto fail;
            }
            stack = p;
            cap_stack *= 2;
        }
        stack[sp * 2] = (size_t)mid;
        stack[sp * 2 + 1] = e;
        sp++;
        stack[sp * 2] = s;
        stack[sp * 2 + 1] = (size_t)mid;
        sp++;
    }
    tt__free(stack);
    *ncuts = n;
    return cuts;
fail:
    tt__free(stack);
    tt__free(cuts);
    return NULL;
}

static void slicer_reset(struct px_stage *st)
{
    tt__free(st->s.slicer.cuts);
    st->s.slicer.cuts = NULL;
    st->s.slicer.ncuts = 0;
    st->s.slicer.next = 0;
}

static void slicer_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        if (ch->kind != PX_CHUNK_DATA) {
            tt__px_stage_emit(st, tt__px_stage_pop(st));
            continue;
        }
        if (!st->s.slicer.cuts) {
            st->s.slicer.cuts = slicer_plan(st, ch->len, &st->s.slicer.ncuts);
            st->s.slicer.next = 0;
            if (!st->s.slicer.cuts) {
                tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_FIN);
                return;
            }
        }
        int64_t delay = tt__px_attr_i(stage_toxic(st), "delay");
        while (st->s.slicer.next < st->s.slicer.ncuts) {
            uint64_t now = tt__px_now_us(st);
            if (now < st->s.slicer.next_us) {
                tt__px_stage_arm(st, st->s.slicer.next_us - now);
                return;
            }
            size_t i = st->s.slicer.next++;
            size_t piece_len = st->s.slicer.cuts[i] - (i ? st->s.slicer.cuts[i - 1] : 0);
            st->s.slicer.next_us = now + (delay > 0 ? (uint64_t)delay : 0);
            if (st->s.slicer.next == st->s.slicer.ncuts || piece_len >= ch->len) {
                slicer_reset(st);
                tt__px_stage_emit(st, tt__px_stage_pop(st));
                break;
            }
            struct px_chunk *piece = tt__px_stage_take(st, piece_len);
            if (!piece) {
                tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_FIN);
                return;
            }
            tt__px_stage_emit(st, piece);
            if (tt__px_stage_dead(st)) {
                return;
            }
        }
    }
}

/* limit_data: pass `bytes` bytes per connection and direction, then close (FIN, or RST with
 * our `action` extension). The count survives attribute updates. */
static void limit_data_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        if (st->s.limit.done) {
            tt__px_chunk_free(tt__px_stage_pop(st));
            continue;
        }
        if (ch->kind != PX_CHUNK_DATA) {
            tt__px_stage_emit(st, tt__px_stage_pop(st));
            continue;
        }
        int64_t bytes = tt__px_attr_i(stage_toxic(st), "bytes");
        uint64_t limit = bytes > 0 ? (uint64_t)bytes : 0;
        uint64_t left = limit > st->s.limit.count ? limit - st->s.limit.count : 0;
        if (ch->len <= left) {
            st->s.limit.count += ch->len;
            tt__px_stage_emit(st, tt__px_stage_pop(st));
        } else {
            if (left > 0) {
                struct px_chunk *piece = tt__px_stage_take(st, (size_t)left);
                if (!piece) {
                    tt__px_conn_close(tt__px_stage_conn(st), PX_HOW_FIN);
                    return;
                }
                st->s.limit.count += left;
                tt__px_stage_emit(st, piece);
                if (tt__px_stage_dead(st)) {
                    return;
                }
            }
            tt__px_chunk_free(tt__px_stage_pop(st));
        }
        if (st->s.limit.count >= limit) {
            st->s.limit.done = true;
            bool rst = strcmp(tt__px_attr_e(stage_toxic(st), "action"), "rst") == 0;
            struct px_chunk *mark = tt__px_chunk_new(rst ? PX_CHUNK_RST : PX_CHUNK_FIN, NULL, 0);
            if (!mark) {
                tt__px_conn_close(tt__px_stage_conn(st), rst ? PX_HOW_RST : PX_HOW_FIN);
                return;
            }
            mark->by = st->type;
            tt__px_stage_emit(st, mark);
        }
    }
}

/* packet_loss (upstream PR #739): drop whole chunks with probability loss_rate, or
 * loss_rate + correlation right after a drop. Both are clamped to [0, 1]. */
static double clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

static void packet_loss_pump(struct px_stage *st)
{
    struct px_chunk *ch;
    while (!tt__px_stage_dead(st) && (ch = tt__px_stage_head(st)) != NULL) {
        if (ch->kind != PX_CHUNK_DATA) {
            tt__px_stage_emit(st, tt__px_stage_pop(st));
            continue;
        }
        double p = clamp01(tt__px_attr_f(stage_toxic(st), "loss_rate"));
        if (st->s.loss.prev_dropped && p > 0) {
            p = clamp01(p + clamp01(tt__px_attr_f(stage_toxic(st), "correlation")));
        }
        if (p > 0 && ttx_rng_unit(&tt__px_stage_server(st)->rng) < p) {
            st->s.loss.prev_dropped = true;
            tt__px_chunk_free(tt__px_stage_pop(st));
            continue;
        }
        st->s.loss.prev_dropped = false;
        tt__px_stage_emit(st, tt__px_stage_pop(st));
    }
}

static void slicer_cleanup(struct px_stage *st)
{
    slicer_reset(st);
}

/* ---- type table ---- */

static const char *const action_fin_rst[] = {"fin", "rst", NULL};

static const struct px_attr_def latency_attrs[] = {
    {"latency", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
    {"jitter", PX_ATTR_INT, 0, NULL, PX_MAX_MS},
};
static const struct px_attr_def bandwidth_attrs[] = {{"rate", PX_ATTR_INT, 0, NULL, PX_MAX_SIZE}};
static const struct px_attr_def delay_attrs[] = {{"delay", PX_ATTR_INT, 0, NULL, PX_MAX_MS}};
static const struct px_attr_def timeout_attrs[] = {{"timeout", PX_ATTR_INT, 0, NULL, PX_MAX_MS}};
static const struct px_attr_def slicer_attrs[] = {
    {"average_size", PX_ATTR_INT, 1, NULL, PX_MAX_SIZE},
    {"size_variation", PX_ATTR_INT, 0, NULL, PX_MAX_SIZE},
    {"delay", PX_ATTR_INT, 0, NULL, PX_MAX_US},
};
static const struct px_attr_def limit_data_attrs[] = {
    {"bytes", PX_ATTR_INT, 0, NULL, PX_MAX_SIZE},
    {"action", PX_ATTR_ENUM, 0, action_fin_rst, 0},
};
static const struct px_attr_def packet_loss_attrs[] = {
    {"loss_rate", PX_ATTR_FLOAT, 0, NULL, 0},
    {"correlation", PX_ATTR_FLOAT, 0, NULL, 0},
};

static const struct px_toxic_type type_latency = {
    .name = "latency",
    .go_type = "LatencyToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = latency_attrs,
    .nattrs = tt__countof(latency_attrs),
    .pump = latency_pump,
    .update = latency_update,
};
static const struct px_toxic_type type_bandwidth = {
    .name = "bandwidth",
    .go_type = "BandwidthToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = bandwidth_attrs,
    .nattrs = tt__countof(bandwidth_attrs),
    .pump = bandwidth_pump,
    .update = bandwidth_update,
};
static const struct px_toxic_type type_slow_close = {
    .name = "slow_close",
    .go_type = "SlowCloseToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = delay_attrs,
    .nattrs = tt__countof(delay_attrs),
    .pump = slow_close_pump,
    .update = slow_close_update,
};
static const struct px_toxic_type type_timeout = {
    .name = "timeout",
    .go_type = "TimeoutToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = timeout_attrs,
    .nattrs = tt__countof(timeout_attrs),
    .init = timeout_init,
    .pump = timeout_pump,
    .timer = timeout_timer,
    .update = timeout_update,
    .remove = timeout_remove,
};
static const struct px_toxic_type type_reset_peer = {
    .name = "reset_peer",
    .go_type = "ResetToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = timeout_attrs,
    .nattrs = tt__countof(timeout_attrs),
    .pump = reset_peer_pump,
    .timer = reset_peer_timer,
};
static const struct px_toxic_type type_slicer = {
    .name = "slicer",
    .go_type = "SlicerToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = slicer_attrs,
    .nattrs = tt__countof(slicer_attrs),
    .pump = slicer_pump,
    .cleanup = slicer_cleanup,
};
static const struct px_toxic_type type_limit_data = {
    .name = "limit_data",
    .go_type = "LimitDataToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = limit_data_attrs,
    .nattrs = tt__countof(limit_data_attrs),
    .pump = limit_data_pump,
};
static const struct px_toxic_type type_noop = {
    .name = "noop",
    .go_type = "NoopToxic",
    .scope = PX_SCOPE_STREAM,
};
static const struct px_toxic_type type_packet_loss = {
    .name = "packet_loss",
    .go_type = "PacketLossToxic",
    .scope = PX_SCOPE_STREAM,
    .attrs = packet_loss_attrs,
    .nattrs = tt__countof(packet_loss_attrs),
    .pump = packet_loss_pump,
};

static const struct px_toxic_type *const px_types[] = {
    &type_latency,
    &type_bandwidth,
    &type_slow_close,
    &type_timeout,
    &type_reset_peer,
    &type_slicer,
    &type_limit_data,
    &type_noop,
    &type_packet_loss,
    &tt__px_type_idle_timeout,
    &tt__px_type_conntrack_expiry,
    &tt__px_type_max_lifetime,
    &tt__px_type_reset,
    &tt__px_type_blackhole,
    &tt__px_type_max_connections,
    &tt__px_type_accept,
    &tt__px_type_upstream_down,
    &tt__px_type_connect_delay,
};

const struct px_toxic_type *tt__px_type_find(const char *name)
{
    for (size_t i = 0; i < tt__countof(px_types); i++) {
        if (strcmp(px_types[i]->name, name) == 0) {
            return px_types[i];
        }
    }
    return NULL;
}

void tt__px_type_error(const char *typed, char *out, size_t cap)
{
    const char *names[tt__countof(px_types)];
    for (size_t i = 0; i < tt__countof(px_types); i++) {
        names[i] = px_types[i]->name;
    }
    const char *best = ttx_closest(typed, names, tt__countof(px_types));
    int used = snprintf(out, cap, "invalid toxic type \"%.64s\"", typed);
    if (used > 0 && best && (size_t)used < cap) {
        used += snprintf(out + used, cap - (size_t)used, " (did you mean \"%s\"?)", best);
    }
    for (size_t i = 0; i < tt__countof(px_types) && used > 0 && (size_t)used < cap; i++) {
        used += snprintf(out + used, cap - (size_t)used, "%s%s",
                         i ? ", " : "; valid types: ", names[i]);
    }
}
