/* SPDX-License-Identifier: MIT */
/* Connection events (accept, connect, close, reset, refuse, expire) kept in a bounded ring per
 * server, so tests can assert what happened without polling sockets: GET /events?since=N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/proxy_int.h"
#include "util/str.h"

/* Enough for a test run's story; older events fall off the ring. */
#define PX_EVENTS_MAX 1024

struct px_event {
    uint64_t seq;
    int64_t wall_ms;
    enum px_event_type type;
    uint64_t conn_id;
    char proxy[128];
    char client[64];
    char detail[16];
};

struct px_events {
    struct px_event ring[PX_EVENTS_MAX];
    uint64_t next_seq; /* the seq the next event gets; the first is 1 */
};

static const char *const event_names[] = {"accept", "connect", "close",
                                          "reset",  "refuse",  "expire"};

void tt__px_event(struct px_conn *c, enum px_event_type type, const char *detail)
{
    struct tether_proxy_server *ps = c->px->ps;
    if (!ps->events) {
        ps->events = tt__calloc(1, sizeof(*ps->events));
        if (!ps->events) {
            return; /* events are an aid, never a reason to fail a connection */
        }
        ps->events->next_seq = 1;
    }
    struct px_events *ev = ps->events;
    struct px_event *e = &ev->ring[(ev->next_seq - 1) % PX_EVENTS_MAX];
    uv_timeval64_t tv;
    memset(e, 0, sizeof(*e));
    e->seq = ev->next_seq++;
    if (uv_gettimeofday(&tv) == 0) {
        e->wall_ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    e->type = type;
    e->conn_id = c->id;
    /* Names are UTF-8 and may be longer than the slot: cut between characters, never inside
     * one, or /events would serve invalid UTF-8. */
    (void)snprintf(e->proxy, sizeof(e->proxy), "%.*s",
                   (int)ttx_utf8_prefix(c->px->name, sizeof(e->proxy) - 1), c->px->name);
    (void)snprintf(e->client, sizeof(e->client), "%s", c->client_addr);
    (void)snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
}

void tt__px_events_free(struct tether_proxy_server *ps)
{
    tt__free(ps->events);
    ps->events = NULL;
}

void tt__px_time_json(struct pj_w *w, int64_t wall_ms)
{
    char when[64] = "";
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm)) {
        char base[40];
        if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) > 0) {
            (void)snprintf(when, sizeof(when), "%s.%03dZ", base, (int)(wall_ms % 1000));
        }
    }
    tt__pj_str(w, when);
}

void tt__px_events_json(struct pj_w *w, struct tether_proxy_server *ps, uint64_t since)
{
    struct px_events *ev = ps->events;
    uint64_t last = ev ? ev->next_seq - 1 : 0;
    uint64_t oldest = last > PX_EVENTS_MAX ? last - PX_EVENTS_MAX + 1 : 1;
    uint64_t from = since + 1 > oldest ? since + 1 : oldest;
    bool first = true;
    tt__pj_raw(w, "{");
    tt__pj_key(w, &first, "cursor");
    tt__pj_fmt(w, "%llu", (unsigned long long)last);
    tt__pj_key(w, &first, "events");
    tt__pj_raw(w, "[");
    for (uint64_t seq = from; ev && seq <= last; seq++) {
        const struct px_event *e = &ev->ring[(seq - 1) % PX_EVENTS_MAX];
        bool f = true;
        if (seq != from) {
            tt__pj_raw(w, ",");
        }
        tt__pj_raw(w, "{");
        tt__pj_key(w, &f, "seq");
        tt__pj_fmt(w, "%llu", (unsigned long long)e->seq);
        tt__pj_key(w, &f, "time");
        tt__px_time_json(w, e->wall_ms);
        tt__pj_key(w, &f, "type");
        tt__pj_str(w, event_names[e->type]);
        tt__pj_key(w, &f, "proxy");
        tt__pj_str(w, e->proxy);
        tt__pj_key(w, &f, "connection");
        tt__pj_fmt(w, "%llu", (unsigned long long)e->conn_id);
        tt__pj_key(w, &f, "client");
        tt__pj_str(w, e->client);
        tt__pj_key(w, &f, "detail");
        tt__pj_str(w, e->detail);
        tt__pj_raw(w, "}");
    }
    tt__pj_raw(w, "]}");
}
