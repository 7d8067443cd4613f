/* SPDX-License-Identifier: MIT */
/* The soak's state, shared by the workload (soak.c), the orchestration (soak_run.c) and the
 * report (soak_report.c). */
#ifndef TETHER_SOAK_RUN_H
#define TETHER_SOAK_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/tether.h"

#include "soak.h"

#define SOAK_MAX_BUCKETS 1024
#define SOAK_MAX_REASONS 64
#define SOAK_REASON_LEN 160
#define SOAK_MAX_BROKEN 16
#define SOAK_MAX_EVENTS 32

enum soak_kind { SOAK_GET = 0, SOAK_POST, SOAK_POST_KEYED, SOAK_KINDS };
enum soak_who { SOAK_CLIENT = 0, SOAK_PROXY, SOAK_SERVER, SOAK_PROCS };

/* One request: what was sent and how it ended, and how often the server's log has it. */
struct soak_rec {
    uint8_t kind;
    uint8_t done;
    int16_t status; /* the final response's, 0 without one */
    int8_t code;    /* 0 or the TETHER_E* of the failure */
    uint8_t safe;   /* the failure's retry-safety */
    uint8_t has_reason;
    uint8_t executions;
    uint16_t worker;
};

/* One of the CONCURRENCY loops of request, pause, request. */
struct soak_worker {
    uv_timer_t timer; /* the pause */
    struct soak *s;
    bool busy; /* fetching or pausing */
};

/* One interval of the timeline (a minute by default). */
struct soak_bucket {
    uint64_t done, responses, failures, status_503, retries, replays;
    unsigned server_restarts;
    struct soak_usage usage[SOAK_PROCS]; /* sampled at the interval's end, under load */
};

struct soak {
    uv_loop_t loop;
    /* Options. */
    char *tether;
    const char *dir;
    const char *host; /* where the proxy listens and the client connects */
    char *wrap[8];    /* a command prefix for the server and the proxy ("ip netns exec NS") */
    size_t nwrap;
    unsigned seconds;
    unsigned warmup_s;
    unsigned concurrency;
    uint64_t seed;
    uint64_t deadline_ms;
    uint64_t interval_ms;
    bool retry_unsafe;
    unsigned keep_alive_s;  /* the server's --keep-alive-timeout */
    const char *port_file;  /* where to write the proxy's port, or NULL */
    const char *quiet_file; /* exists while the soak measures, or NULL */
    uint64_t pause_min_ms;  /* the long pauses between a worker's requests */
    uint64_t pause_max_ms;

    /* Processes and the client. */
    tether_client *client;
    struct soak_proc servers[2]; /* alternating, so a closing one is never reused */
    unsigned cur_server;
    struct soak_proc proxy;
    uint16_t server_port;
    uint16_t proxy_port;
    unsigned server_starts;
    bool server_up;
    char url[96];
    char exec_log[512];
    uv_timer_t restart_timer, tick_timer, phase_timer;

    /* The run. */
    int phase;
    bool issuing;
    unsigned inflight;
    struct soak_worker *workers;
    /* At the quiet moments: the library's live bytes, and the records' resident bytes (the
     * soak's own bookkeeping, subtracted from the client's memory). */
    int64_t lib_live_start, lib_live_end;
    uint64_t records_kib_start, records_kib_end;
    uint64_t t0;
    uint64_t rng;
    struct soak_rec *recs;
    size_t nrecs, caprecs;
    struct soak_bucket buckets[SOAK_MAX_BUCKETS];
    size_t nbuckets;
    size_t ticks;
    struct soak_usage start[SOAK_PROCS], end[SOAK_PROCS];
    uint64_t retries, replays;
    uint64_t events[SOAK_MAX_EVENTS]; /* by enum tether_event_type */
    struct {
        char text[SOAK_REASON_LEN];
        uint64_t count;
    } reasons[SOAK_MAX_REASONS];
    size_t nreasons;

    /* The verdict. */
    uint64_t by_kind[SOAK_KINDS];
    uint64_t responses, failures, unfinished, executions;
    uint64_t lost_idempotent, duplicate_executions, failures_without_reason;
    uint64_t acknowledged_not_executed, foreign_executions, keyed_reexecutions;
    const char *broken[SOAK_MAX_BROKEN];
    size_t nbroken;
    char fatal[256];
};

/* soak.c */
int soak_client_start(struct soak *s);
int soak_workers_init(struct soak *s);
void soak_workers_close(struct soak *s);
/* Bytes the library holds (tether_set_allocator counts them). */
int64_t soak_lib_live_bytes(void);
void soak_workload_resume(struct soak *s);
void soak_read_exec_log(struct soak *s);
void soak_check_records(struct soak *s);

/* soak_run.c */
int soak_run_parse(struct soak *s, int argc, char **argv);
int soak_run(struct soak *s);
/* Ends the run at once with `why` (a setup failure or a bug, not a fault). */
void soak_run_fail(struct soak *s, const char *why);
/* The index of the timeline's last interval. */
size_t soak_last_bucket(const struct soak *s);

/* soak_report.c: prints the JSON line; returns the exit status (0, or 1 when broken). */
int soak_report(struct soak *s);

#endif
