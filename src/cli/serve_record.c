/* SPDX-License-Identifier: MIT */
/* `tether serve --exec-log` and `--rate-limit`: what a soak or a retry test needs to check
 * "nothing lost, nothing run twice" from the server's side. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
     * failed write cannot be reported to anyone but the log's reader, who sees the gap. */
    (void)!write(ctx->exec_log_fd, line, n);
}

bool serve_rate_limited(struct serve_ctx *ctx, tether_request *req)
{
    if (ctx->rate_per_s == 0) {
        return false;
    }
    /* A token bucket holding one second's worth: bursts up to the rate, then the rate. */
    uint64_t now = uv_now(ctx->loop);
    double cap = (double)ctx->rate_per_s;
    ctx->rate_tokens += (double)(now - ctx->rate_at) * cap / 1000.0;
    ctx->rate_at = now;
    if (ctx->rate_tokens > cap) {
        ctx->rate_tokens = cap;
    }
    if (ctx->rate_tokens >= 1.0) {
        ctx->rate_tokens -= 1.0;
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

void serve_rate_init(struct serve_ctx *ctx, unsigned per_s)
{
    ctx->rate_per_s = per_s;
    ctx->rate_tokens = (double)per_s;
    ctx->rate_at = uv_now(ctx->loop);
}
