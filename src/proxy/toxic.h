/* SPDX-License-Identifier: MIT */
/* Private to src/proxy/: toxics (types, attributes, JSON) and the stages and chunks each direction
 * of a connection runs through. */
#ifndef TETHER_PROXY_TOXIC_H
#define TETHER_PROXY_TOXIC_H

#include "proxy/json.h"

/* ---- toxics (toxic_json.c, toxics.c, toxics_lb.c) ---- */

enum px_dir { PX_UP = 0, PX_DOWN = 1 };

enum px_attr_kind { PX_ATTR_INT, PX_ATTR_FLOAT, PX_ATTR_BOOL, PX_ATTR_ENUM };

struct px_attr_def {
    const char *name;
    enum px_attr_kind kind;
    int64_t min_i;              /* PX_ATTR_INT: smallest valid value */
    const char *const *choices; /* PX_ATTR_ENUM: NULL-terminated, [0] is the default */
    int64_t max_i;              /* PX_ATTR_INT: largest valid value (one of PX_MAX_*); a
                                   PX_ATTR_FLOAT is a probability, always [0, 1] */
};

/* Upper bounds of integer attributes. Every value is range-checked at decode time, so the
 * stages' arithmetic (ms * 1000 in uint64_t, latency ± jitter in int64_t) cannot overflow:
 * durations stop at 366 days, as the CLI's do; sizes and counts at 2^53, the largest integer
 * every JSON client represents exactly. */
#define PX_MAX_MS INT64_C(31622400000)    /* 366 days in milliseconds */
#define PX_MAX_US INT64_C(31622400000000) /* 366 days in microseconds */
#define PX_MAX_SIZE INT64_C(9007199254740992)

union px_attr_val {
    int64_t i;
    double f;
    bool b;
    int e; /* index into choices */
};

/* What a toxic acts on: one direction's bytes, the whole connection, or the proxy's
 * listener (no stage is created for those). */
enum px_scope { PX_SCOPE_STREAM, PX_SCOPE_CONN, PX_SCOPE_PROXY };

struct px_toxic_type {
    const char *name;
    const char *go_type; /* struct name used in decode error texts */
    enum px_scope scope;
    const struct px_attr_def *attrs;
    size_t nattrs;
    /* Extra checks across attributes; fills `err` (the text after "bad request body: "). */
    int (*validate)(const union px_attr_val *v, char *err, size_t errlen);
    /* Stage hooks, all optional. A NULL pump passes every chunk through. */
    void (*init)(struct px_stage *st);
    void (*pump)(struct px_stage *st);
    void (*timer)(struct px_stage *st);
    void (*update)(struct px_stage *st);
    void (*remove)(struct px_stage *st); /* before held chunks are passed on */
    void (*activity)(struct px_stage *st, enum px_dir dir, size_t n);
    void (*cleanup)(struct px_stage *st);
    bool (*blocks_reading)(const struct px_stage *st);
};

struct px_toxic {
    struct tt__list link; /* in proxy->toxics, in order of addition */
    struct px_proxy *px;
    const struct px_toxic_type *type;
    char *name;
    char *stream; /* as the client spelled it; echoed back like Toxiproxy */
    enum px_dir dir;
    float toxicity;
    union px_attr_val attrs[PX_MAX_ATTRS];
};

const struct px_toxic_type *tt__px_type_find(const char *name);
/* "invalid toxic type \"latncy\" (did you mean \"latency\"?); valid types: latency, ..."
 * into `out`: Toxiproxy's text first, so clients matching it still do, then what to write. */
void tt__px_type_error(const char *typed, char *out, size_t cap);
/* Attribute index by name in `type`, or -1. */
int tt__px_attr_index(const struct px_toxic_type *type, const char *name);
/* The toxic's attribute by name (the type must have it). */
int64_t tt__px_attr_i(const struct px_toxic *t, const char *name);
double tt__px_attr_f(const struct px_toxic *t, const char *name);
bool tt__px_attr_b(const struct px_toxic *t, const char *name);
const char *tt__px_attr_e(const struct px_toxic *t, const char *name);

/* POST /proxies/{p}/toxics (AddToxicJson's order of checks). `existing` lists the toxics
 * whose names are taken (a proxy's list). On success *out is a new toxic not yet linked. */
int tt__px_toxic_from_json(const json_t *v, const struct tt__list *existing, struct px_toxic **out,
                           struct px_err *err);
/* POST/PATCH /proxies/{p}/toxics/{t}: merges attributes and toxicity, all or nothing. */
int tt__px_toxic_update_json(struct px_toxic *t, const json_t *v, struct px_err *err);
void tt__px_toxic_json(struct pj_w *w, const struct px_toxic *t);
void tt__px_toxic_free(struct px_toxic *t);
struct px_toxic *tt__px_toxic_find(const struct tt__list *toxics, const char *name);

extern const struct px_toxic_type tt__px_type_idle_timeout;
extern const struct px_toxic_type tt__px_type_conntrack_expiry;
extern const struct px_toxic_type tt__px_type_max_lifetime;
extern const struct px_toxic_type tt__px_type_reset;
extern const struct px_toxic_type tt__px_type_blackhole;
extern const struct px_toxic_type tt__px_type_max_connections;
extern const struct px_toxic_type tt__px_type_accept;
extern const struct px_toxic_type tt__px_type_upstream_down;
extern const struct px_toxic_type tt__px_type_connect_delay;

/* ---- stages and chunks (link.c) ---- */

enum px_chunk_kind {
    PX_CHUNK_DATA,
    PX_CHUNK_EOF, /* the source sent FIN: becomes shutdown(SHUT_WR) on the destination */
    PX_CHUNK_FIN, /* close the whole connection gracefully once this reaches the end */
    PX_CHUNK_RST  /* reset both sockets once this reaches the end and writes are flushed */
};

struct px_chunk {
    struct tt__list link;
    enum px_chunk_kind kind;
    uint64_t t_us;   /* when it entered the stage holding it */
    uint64_t due_us; /* stage-defined; 0 = not computed yet */
    size_t off;      /* bytes already passed on (slicing, pacing) */
    size_t len;      /* bytes left, from data + off */
    /* PX_CHUNK_RST: the toxic that sent it, for /metrics' RSTs by toxic type. */
    const struct px_toxic_type *by;
    char data[];
};

struct px_chunk *tt__px_chunk_new(enum px_chunk_kind kind, const void *data, size_t len);
void tt__px_chunk_free(struct px_chunk *ch);

/* One toxic's instance on one connection direction. */
struct px_stage {
    struct tt__list link; /* in half->stages */
    struct px_half *h;
    struct px_toxic *tox; /* valid while the stage is in its half's list */
    const struct px_toxic_type *type;
    double roll; /* drawn once: the stage acts while roll < toxicity */
    struct tt__list q;
    size_t held;
    uv_timer_t timer;
    bool removed;
    bool timer_armed;
    union {
        struct {
            uint64_t free_us; /* when the link is free for the next slice */
        } bw;
        struct {
            uint64_t last_us; /* last chunk seen */
        } timeout;
        struct {
            bool fired;
        } reset_peer;
        struct {
            size_t *cuts; /* end offsets of the pieces of the head chunk */
            size_t ncuts;
            size_t next;
            uint64_t next_us;
        } slicer;
        struct {
            uint64_t count;
            bool done;
        } limit;
        struct {
            bool prev_dropped;
        } loss;
        struct {
            uint64_t last_us; /* last byte in either direction */
            bool expired;
        } idle;
        struct {
            uint64_t start_us;
            uint64_t deadline_us;
            uint64_t count;
            bool done;
        } life;
    } s;
};

bool tt__px_stage_active(const struct px_stage *st);
/* Passes `ch` to the next stage, or to the destination after the last one. */
void tt__px_stage_emit(struct px_stage *st, struct px_chunk *ch);
/* Takes the head chunk off the stage's queue (NULL when empty). */
struct px_chunk *tt__px_stage_head(struct px_stage *st);
struct px_chunk *tt__px_stage_pop(struct px_stage *st);
/* Splits the first `n` bytes (n < head's len) off the head chunk into a new chunk. NULL when
 * out of memory. */
struct px_chunk *tt__px_stage_take(struct px_stage *st, size_t n);
/* Passes every held chunk on, in order. */
void tt__px_stage_flush(struct px_stage *st);
/* Runs the type's timer hook (or pump) `delay_us` from now. */
void tt__px_stage_arm(struct px_stage *st, uint64_t delay_us);
void tt__px_stage_disarm(struct px_stage *st);
/* True once the stage must not touch the connection any more (closed or removed). */
bool tt__px_stage_dead(const struct px_stage *st);
uint64_t tt__px_now_us(const struct px_stage *st);
struct tether_proxy_server *tt__px_stage_server(const struct px_stage *st);
struct px_conn *tt__px_stage_conn(const struct px_stage *st);
/* The whole connection ends: FIN (graceful on both sockets) or RST (abortive on both). */
enum px_how { PX_HOW_FIN, PX_HOW_RST, PX_HOW_NOW };
void tt__px_conn_close(struct px_conn *c, enum px_how how);
/* Connection modes after a load-balancer / firewall flow expired. */
enum px_mode { PX_MODE_NORMAL, PX_MODE_SILENT, PX_MODE_BLACKHOLE };
void tt__px_conn_set_mode(struct px_conn *c, enum px_mode mode);
/* Whether either direction has seen its source's FIN. */
bool tt__px_conn_half_closed(const struct px_conn *c);
/* Re-evaluates whether each direction should be reading. */
void tt__px_conn_update_reading(struct px_conn *c);

/* Stage plumbing shared by stage.c and link.c. */
struct px_stage *tt__px_stage_new(struct px_conn *c, struct px_toxic *t);
void tt__px_stage_close(struct px_stage *st);
/* The stage's pump when it applies, else everything held passes on. */
void tt__px_stage_run(struct px_stage *st);
/* Removal under live traffic: the type's remove hook, then held chunks pass on. */
void tt__px_stage_remove(struct px_stage *st);
struct px_stage *tt__px_half_find_stage(struct px_half *h, const struct px_toxic *t);
/* A chunk read from the source enters the direction's first stage. */
void tt__px_half_input(struct px_half *h, struct px_chunk *ch);
/* The end of the chain: writes, shutdown(SHUT_WR), or the connection's close. */
void tt__px_sink(struct px_half *h, struct px_chunk *ch);
void tt__px_half_update_reading(struct px_half *h);
/* One of the connection's handles or requests finished closing. */
void tt__px_conn_unpend(struct px_conn *c);

#endif
