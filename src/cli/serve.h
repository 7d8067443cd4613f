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
    /* --rate-limit: requests per second (0 = no limit) and the token bucket. */
    unsigned rate_per_s;
    double rate_tokens;
    uint64_t rate_at;
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
/* Answers `req` with the JSON document. */
void serve_stats_respond(struct serve_stats *st, tether_server *srv, tether_request *req);

/* serve_files.c: answers `req` from ctx->root. Either completes the response or hands it to
 * an exchange; never leaves it unanswered. */
void serve_files_respond(struct serve_ctx *ctx, tether_request *req);

/* serve_record.c: --exec-log appends "REQUEST-ID METHOD IDEMPOTENCY-KEY" (each "-" when
 * absent) for every request the handler executes, before its response; returns 0, or -1 with
 * `why` filled. */
int serve_exec_log_open(struct serve_ctx *ctx, const char *path, char *why, size_t why_len);
void serve_exec_log_close(struct serve_ctx *ctx);
void serve_exec_log_record(struct serve_ctx *ctx, const tether_request *req);
/* --rate-limit: starts the bucket full. */
void serve_rate_init(struct serve_ctx *ctx, unsigned per_s);
/* True when `req` is over the rate and was answered 503 with Retry-After: 1. */
bool serve_rate_limited(struct serve_ctx *ctx, tether_request *req);

/* The path part of a request target ("/a/b" of "/a/b?x" or "http://h/a/b?x"), as a pointer
 * into `target` and a length. */
void serve_target_path(const char *target, const char **path, size_t *len);

#endif
