/* SPDX-License-Identifier: MIT */
/* `tether demo`: what the runner, the scenarios and the report share (private to src/cli). */
#ifndef TETHER_CLI_DEMO_H
#define TETHER_CLI_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/client.h"
#include "tether/egress.h"
#include "tether/policy.h"
#include "tether/proxy.h"
#include "tether/server.h"

#include "util/rand.h"

#include "workload.h"

#define DEMO_NSCENARIOS 8
#define DEMO_NLANES 2 /* 0 = naive, 1 = tether */
#define DEMO_MAX_WORKERS 8
/* Error messages shown per client; the last line gathers "other errors" beyond that. */
#define DEMO_MAX_ERRS 12
/* tether's deadline per request (attempts and sleeps included); the naive client has none. */
#define DEMO_DEADLINE_MS 5000u
/* After the scenario's time is up, requests still running get this long before they are
 * cancelled (and reported as hung): what bounds a naive request that never ends. */
#define DEMO_DRAIN_MS (DEMO_DEADLINE_MS + 2000u)

enum demo_lane_kind { DEMO_NAIVE = 0, DEMO_TETHER = 1 };

/* What the command line asked for. */
struct demo_opts {
    double seconds; /* length of each scenario */
    uint64_t seed;  /* workload and proxy RNG */
    bool json;
    bool progress; /* stdout is a terminal and not --json */
    int only;      /* index of --scenario, or -1 for all */
    /* --db: the PostgreSQL server of db-idle, or NULL */
    const char *db_url;
};

/* One client's figures in one scenario: everything the table and the JSON print. */
struct demo_result {
    uint64_t requests;
    uint64_t failed;
    uint64_t replays;
    uint64_t retries;
    uint64_t duplicates;   /* executions beyond the first of POSTs sent without a key */
    uint64_t deduplicated; /* keyed repeats the server answered from its key store */
    struct wl_errors errs; /* by message; read through demo_err_count/demo_err_at */
    struct wl_latency lat; /* every request's latency, failed ones included */
    double p99_ms;
    /* post-safety only */
    uint64_t keyed;
    uint64_t keyed_failed;
    uint64_t unkeyed;
    uint64_t unkeyed_failed;
    uint64_t ran_but_failed; /* unkeyed POSTs reported failed that the server had executed */
    /* What the client did instead of failing (tether_client_get_stats, origin stats, events). */
    uint64_t stale_evicted;     /* idle connections found closed by the server, not used */
    uint64_t retired_idle;      /* idle connections closed before the server's idle close */
    uint64_t learned_close_ms;  /* smallest idle close learned over the lane's origins, 0 none */
    uint64_t retry_after_waits; /* retries that waited as a Retry-After asked */
    bool ran;                   /* the scenario ran (setup worked) */
    char what[240];             /* the scenario's set-up in words, with this run's numbers */
    /* db-idle only: idempotent reads and non-idempotent writes apart */
    uint64_t db_reads;
    uint64_t db_reads_failed;
    uint64_t db_writes;
    uint64_t db_writes_failed;
};

struct demo_lane;
struct demo_scen;

/* A closed-loop user (the engine's worker, wl.workers[idx]): what its request carries. */
struct demo_worker {
    struct demo_lane *lane;
    unsigned idx;
    uint64_t seq;
    bool keyed;
    char reqid[32];
    char key[32];
    char url[160];
    struct tether_header hdrs[2];
};

/* What the server of a lane remembers about one logical POST (indexed by its sequence). */
struct demo_exec {
    uint16_t count; /* times the handler executed it */
    bool keyed;
    bool client_failed; /* the client reported the request failed */
};

/* One client with its own server (and proxy), so the two clients never disturb each other. */
struct demo_lane {
    struct demo_scen *sc;
    enum demo_lane_kind kind;
    const char *name;
    tether_client *client;
    /* One origin (server, and proxy in front when the scenario uses one) per worker in the
     * idle-race scenarios, so each user's connection idles exactly its own gap; one for all
     * otherwise. */
    unsigned norigins;
    tether_server *servers[DEMO_MAX_WORKERS];
    char proxy_names[DEMO_MAX_WORKERS][48];
    char urls[DEMO_MAX_WORKERS][64];
    struct demo_worker workers[DEMO_MAX_WORKERS];
    struct workload wl; /* the lane's workers, once wl_ready */
    bool wl_ready;
    struct demo_result *res;
    uint64_t next_seq;
    /* server-side state of the scenario's handler */
    struct demo_exec *exec;
    size_t nexec;
    uint64_t rl_window;
    unsigned rl_count;
    /* Scenarios with via_egress: the tether lane's naive client goes through one egress per
     * origin (reverse mode), which is where tether's client runs. */
    tether_egress *egresses[DEMO_MAX_WORKERS];
};

struct demo_scenario;

struct demo_scen {
    const struct demo_scenario *def;
    const struct demo_opts *opts;
    uv_loop_t *loop;
    tether_proxy_server *ps;
    struct demo_lane lanes[DEMO_NLANES];
    uint64_t start_ms;    /* uv_now at the start */
    uint64_t duration_ms; /* new requests start only before start + duration */
    uint64_t t_ms;        /* the scenario's characteristic time (idle timeout, window) */
    uint64_t outage_ms;
    struct ttx_rng rng;
    uv_timer_t stop_timer;
    uv_timer_t event_timer;
    uv_timer_t progress_timer;
    uv_timer_t drain_timer;
    int event_step;
    int drain_stage;
    unsigned pos; /* 1-based position among the scenarios run, for the progress line */
    unsigned total;
    bool stopping;
    bool torn_down;
    bool hung; /* the drain timer had to cancel requests */
    unsigned pending_closes;
    char error[256]; /* why the scenario could not run, or "" */
};

/* A scenario: how its server and proxy are set up, what the workload sends, and how the
 * server answers. Every hook but the required ones may be NULL. */
struct demo_scenario {
    const char *name;
    unsigned workers;
    bool via_proxy;
    bool origin_per_worker;
    bool posts; /* count keyed and unkeyed requests apart */
    /* Sets the characteristic times from opts->seconds (required). */
    void (*plan)(struct demo_scen *sc);
    /* One line for the human output, with the planned numbers (required). */
    void (*describe)(const struct demo_scen *sc, char *buf, size_t len);
    void (*server_options)(struct demo_scen *sc, struct tether_server_options *o);
    /* Adds toxics to one proxy of a lane; returns 0 or fills sc->error. */
    int (*toxics)(struct demo_scen *sc, const char *proxy);
    /* Scheduled events (run on sc->event_timer): called with sc->event_step 0, 1, ...;
     * returns the delay to the next step, or 0 for none. */
    uint64_t (*event)(struct demo_scen *sc);
    uint64_t (*gap_ms)(struct demo_scen *sc, struct demo_worker *w);
    /* Fills method, body and headers of the worker's next request and returns its path (the
     * runner prefixes the lane's origin). w->seq and w->reqid are set already. */
    const char *(*request)(struct demo_scen *sc, struct demo_worker *w,
                           struct tether_fetch_options *fo);
    /* Checks a response the client called a success; writes a message and returns false to
     * count it failed (e.g. a corrupt body). */
    bool (*check)(struct demo_worker *w, tether_fetch *f, char *msg, size_t len);
    void (*handle)(struct demo_lane *l, tether_request *req);
    /* The tether client waits for a server that refuses connects (connrefused_wait_ms until
     * the deadline, the CLI's --retry-connrefused): refused connects are otherwise attempts. */
    bool waits_for_server;
    /* Both lanes use the naive client; the tether lane's goes through `tether egress` (the
     * report labels that row "egress"). */
    bool via_egress;
    /* Runs against the PostgreSQL server of --db (demo_db.c) instead of the hooks above; not
     * part of the default run. */
    bool database;
};

extern const struct demo_scenario demo_scenarios[DEMO_NSCENARIOS];

/* --- runner (demo_run.c) --- */

/* Runs one scenario on a fresh loop; fills res[DEMO_NLANES]. Returns 0, or -1 when it could
 * not be set up (res[*].ran stays false and `err` says why). */
int demo_run_scenario(const struct demo_scenario *def, const struct demo_opts *opts, unsigned pos,
                      unsigned total, struct demo_result res[DEMO_NLANES], char *err,
                      size_t errlen);
/* db-idle (demo_db.c): both pools against opts->db_url; fills res like demo_run_scenario. */
int demo_db_run(const struct demo_opts *opts, struct demo_result res[DEMO_NLANES], char *err,
                size_t errlen);
/* The lane's record of logical request `seq` (grown as needed), or NULL when out of memory. */
struct demo_exec *demo_lane_exec(struct demo_lane *l, uint64_t seq);
/* One API call on the scenario's proxy server; returns 0 for a 2xx answer, else fills
 * sc->error with the call and the answer. */
int demo_proxy_call(struct demo_scen *sc, const char *method, const char *path, const char *body);
/* Uniform in [lo, hi] (inclusive) from the scenario's generator. */
uint64_t demo_rand_range(struct demo_scen *sc, uint64_t lo, uint64_t hi);
/* Milliseconds since the scenario started. */
uint64_t demo_elapsed_ms(const struct demo_scen *sc);
void demo_result_free(struct demo_result *r);

/* --- report (demo_report.c) --- */

/* `res[s][lane]` for every scenario index s; `selected[s]` whether it was run. */
void demo_report_human(const struct demo_opts *opts, struct demo_result res[][DEMO_NLANES],
                       const bool *selected, double duration_s);
int demo_report_json(struct demo_result res[][DEMO_NLANES], const bool *selected,
                     double duration_s);
/* The error lines of a result: at most DEMO_MAX_ERRS, the last one "other errors" when more
 * messages than that came up. demo_err_at returns the message and sets *n to its count. */
size_t demo_err_count(const struct demo_result *r);
const char *demo_err_at(const struct demo_result *r, size_t i, uint64_t *n);

#endif
