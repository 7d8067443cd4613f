/* SPDX-License-Identifier: MIT */
/* What `tether serve`'s files share: its configuration, streamed responses, stats, --root. */
#ifndef TETHER_CLI_SERVE_H
#define TETHER_CLI_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/tether.h"

/* Bodies are produced and sent in pieces of this size, each after the previous one reached
 * the kernel, so a 1 GiB response costs 64 KiB of memory. */
#define SERVE_PIECE (64u * 1024u)

struct serve_stats;
struct serve_workers;

/* --rate-limit: one token bucket for the whole process, shared by every worker thread. */
struct serve_rate {
    uv_mutex_t mu;
    unsigned per_s; /* requests per second */
    double tokens;
    uint64_t at_ms; /* uv_hrtime in ms: one clock for every thread */
};

struct serve_ctx {
    uv_loop_t *loop;
    tether_server *srv;

    /* The default handler. */
    int status;
    bool body_size_set;
    uint64_t body_size;
    uint64_t delay_ms;
    /* --root: the directory's resolved path (caller owns; free()), or NULL. */
    char *root;
    size_t root_len;
    /* --stats-path, or NULL. */
    const char *stats_path;
    struct serve_stats *stats;

    /* Exchanges that outlive their request callback, in a list so shutdown can free them. */
    struct serve_exchange *live;

    /* --exec-log: an O_APPEND descriptor, or -1. */
    int exec_log_fd;
    /* --rate-limit's bucket, or NULL (no limit). Shared by every worker. */
    struct serve_rate *rate;

    /* --workers N > 1: the threads this one belongs to and its index; NULL with one worker,
     * which then runs on the main thread as before. */
    struct serve_workers *workers;
    unsigned worker_index;
};

enum serve_phase {
    SERVE_WAIT_BODY = 0, /* the request body is still arriving */
    SERVE_DELAY,         /* --delay (or the next loop turn) before responding */
    SERVE_STREAM         /* sending the body piece by piece */
};

/* One request whose response is not complete when its callback returns. */
struct serve_exchange {
    struct serve_exchange *prev;
    struct serve_exchange *next;
    struct serve_ctx *ctx;
    tether_request *req; /* NULL once ended or aborted */
    enum serve_phase phase;
    uv_timer_t timer; /* --delay */
    bool handle_init;

    /* The body source: the --body-size pattern, or a file (fd >= 0). */
    int fd;
    uint64_t offset; /* of the next byte to send, within the pattern or the file */
    uint64_t remaining;
    char *buf; /* SERVE_PIECE bytes for file reads */
};

/* cmd_serve.c: answers a request whose body (if any) has been read and whose delay passed. */
void serve_respond(struct serve_ctx *ctx, tether_request *req);

/* serve_exchange.c: fills the body pattern; call once before serving. */
void serve_pattern_init(void);
/* The exchange attached to `req`, created if needed; NULL when out of memory. */
struct serve_exchange *serve_exchange_get(struct serve_ctx *ctx, tether_request *req);
/* Streams `remaining` bytes from the exchange's source after the caller started the response
 * with its Content-Length. Takes over `req`: it is ended or aborted when the body is done. */
void serve_exchange_stream(struct serve_exchange *ex);
/* Abandons the exchange (closing the connection if a response was started) and frees it. */
void serve_exchange_abort(struct serve_exchange *ex);
/* Unlinks and frees; the request must already be ended, aborted or handed on (ex->req NULL). */
void serve_exchange_release(struct serve_exchange *ex);
/* Calls serve_respond after `ms` (0 = the next loop turn), as a fresh call: the exchange is
 * released first. Returns 0 or a libuv error. */
int serve_exchange_later(struct serve_exchange *ex, uint64_t ms);
/* `len` bytes (<= SERVE_PIECE) of the repeating "tether\n" pattern starting at `offset`. */
const char *serve_pattern(uint64_t offset, size_t len);

/* serve_stats.c: counters the library does not keep (methods, Idempotency-Key repeats). */
struct serve_stats *serve_stats_new(void);
void serve_stats_free(struct serve_stats *st);
/* Counts a request the handler sees (never the stats requests themselves). */
void serve_stats_count(struct serve_stats *st, const tether_request *req);
void serve_stats_body(struct serve_stats *st, size_t len);
/* Answers a stats request that is not GET or HEAD with 405 and returns true; false for the
 * others, which the caller answers. */
bool serve_stats_reject(tether_request *req);
/* Answers `req` with the JSON document: the server counters of each of the `nworkers`
 * workers in `per` (summed for the top-level fields), `worker` being the one answering.
 * Safe from any worker thread: the shared counters are read under their lock. */
void serve_stats_respond(struct serve_stats *st, tether_request *req,
                         const struct tether_server_stats *per, unsigned nworkers, unsigned worker);

/* serve_files.c: answers `req` from ctx->root. Either completes the response or hands it to
 * an exchange; never leaves it unanswered. */
void serve_files_respond(struct serve_ctx *ctx, tether_request *req);

/* serve_record.c: --exec-log appends "REQUEST-ID METHOD IDEMPOTENCY-KEY" (each "-" when
 * absent) for every request the handler executes, before its response; returns 0, or -1 with
 * `why` filled. */
int serve_exec_log_open(struct serve_ctx *ctx, const char *path, char *why, size_t why_len);
void serve_exec_log_close(struct serve_ctx *ctx);
void serve_exec_log_record(struct serve_ctx *ctx, const tether_request *req);
/* --rate-limit: a bucket that starts full; NULL when out of memory. */
struct serve_rate *serve_rate_new(unsigned per_s);
void serve_rate_free(struct serve_rate *rate);
/* True when `req` is over the rate and was answered 503 with Retry-After: 1. */
bool serve_rate_limited(struct serve_ctx *ctx, tether_request *req);

/* serve_workers.c: --workers N > 1. Creates N servers from `o` (each with SO_REUSEPORT, its
 * own loop and a copy of `base` for its context), calls announce(arg, port) once all listen,
 * runs each on its own thread until SIGINT/SIGTERM has drained every one, and joins them.
 * Returns the exit code; a start error is printed once. */
int serve_workers_run(const struct serve_ctx *base, const struct tether_server_options *o,
                      unsigned n, void (*announce)(const void *arg, uint16_t port),
                      const void *arg);
/* Answers a stats GET on a worker with every worker's counters, gathered from their threads;
 * the response is sent when the last one has answered. */
void serve_workers_stats(struct serve_ctx *ctx, tether_request *req);

/* The path part of a request target ("/a/b" of "/a/b?x" or "http://h/a/b?x"), as a pointer
 * into `target` and a length. */
void serve_target_path(const char *target, const char **path, size_t *len);

#endif
