/* SPDX-License-Identifier: MIT */
/* `tether serve --exec-log` and `--rate-limit`: what a soak or a retry test needs to check
 * "nothing lost, nothing run twice" from the server's side. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tether/tether.h"
#include "tether/server.h"

#include "serve.h"

/* Request ids, methods and keys longer than this are cut: a log line stays one write(2). */
#define RECORD_FIELD_MAX 128

int serve_exec_log_open(struct serve_ctx *ctx, const char *path, char *why, size_t why_len)
{
    /* O_APPEND: a restarted server adds to what the previous one wrote, and each line is one
     * write, so a crash never leaves half a line behind another. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        (void)snprintf(why, why_len, "cannot open --exec-log '%s': %s", path, strerror(errno));
        return -1;
    }
    ctx->exec_log_fd = fd;
    return 0;
}

void serve_exec_log_close(struct serve_ctx *ctx)
{
    if (ctx->exec_log_fd >= 0) {
        (void)close(ctx->exec_log_fd);
    }
    ctx->exec_log_fd = -1;
}

/* Copies `s` (NULL or empty = "-") without spaces or control bytes, so a line always splits
 * into its three fields. */
static size_t record_field(char *dst, const char *s)
{
    size_t n = 0;
    if (!s || !*s) {
        dst[n++] = '-';
        return n;
    }
    for (; *s && n < RECORD_FIELD_MAX; s++) {
        unsigned char ch = (unsigned char)*s;
        dst[n++] = (ch <= ' ' || ch == 0x7f) ? '_' : (char)ch;
    }
    return n;
}

void serve_exec_log_record(struct serve_ctx *ctx, const tether_request *req)
{
    if (ctx->exec_log_fd < 0) {
        return;
    }
    char line[3 * (RECORD_FIELD_MAX + 1) + 1];
    size_t n = record_field(line, tether_request_header(req, "X-Request-Id"));
    line[n++] = ' ';
    n += record_field(line + n, tether_request_method(req));
    line[n++] = ' ';
    n += record_field(line + n, tether_request_header(req, "Idempotency-Key"));
    line[n++] = '\n';
    /* Written before the response: an execution whose answer is lost is still on record. A
     * failed write cannot be reported to anyone but the log's reader, who sees the gap. With
     * --workers the threads share the descriptor: one write(2) per line on an O_APPEND file
     * lands whole at the end, so lines never interleave and need no lock. */
    (void)!write(ctx->exec_log_fd, line, n);
}

bool serve_rate_limited(struct serve_ctx *ctx, tether_request *req)
{
    struct serve_rate *rate = ctx->rate;
    if (!rate) {
        return false;
    }
    /* A token bucket holding one second's worth: bursts up to the rate, then the rate. With
     * --workers every thread takes from this one bucket under its lock, so N workers still
     * admit N requests per second in all, not N times the rate. */
    uint64_t now = uv_hrtime() / 1000000u;
    double cap = (double)rate->per_s;
    bool admitted = false;
    uv_mutex_lock(&rate->mu);
    rate->tokens += (double)(now - rate->at_ms) * cap / 1000.0;
    rate->at_ms = now;
    if (rate->tokens > cap) {
        rate->tokens = cap;
    }
    if (rate->tokens >= 1.0) {
        rate->tokens -= 1.0;
        admitted = true;
    }
    uv_mutex_unlock(&rate->mu);
    if (admitted) {
        return false;
    }
    /* Answered at once, before any body is read: the server discards it. The next token
     * comes within a second, so a client told to wait 1 s finds one. */
    if (tether_response_start(req, 503) == 0 &&
        tether_response_header(req, "Retry-After", "1") == 0 &&
        tether_response_header(req, "Content-Type", "text/plain") == 0) {
        static const char busy[] = "rate limited\n";
        (void)tether_response_end(req, busy, sizeof(busy) - 1);
    } else {
        (void)tether_response_end(req, NULL, 0);
    }
    return true;
}

struct serve_rate *serve_rate_new(unsigned per_s)
{
    struct serve_rate *rate = calloc(1, sizeof(*rate));
    if (!rate) {
        return NULL;
    }
    if (uv_mutex_init(&rate->mu) != 0) {
        free(rate);
        return NULL;
    }
    rate->per_s = per_s;
    rate->tokens = (double)per_s;
    rate->at_ms = uv_hrtime() / 1000000u;
    return rate;
}

void serve_rate_free(struct serve_rate *rate)
{
    if (rate) {
        uv_mutex_destroy(&rate->mu);
        free(rate);
    }
}
