/* SPDX-License-Identifier: MIT */
/* `tether serve`: the server with every knob of DESIGN.md §4 on a flag, plus the handlers. */
/* realpath() is XSI: the CLI target defines only _POSIX_C_SOURCE. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tether/tether.h"
#include "tether/server.h"

#include "args.h"
#include "cli.h"
#include "cli_loop.h"
#include "commands.h"
#include "serve.h"

const char cmd_serve_summary[] = "an HTTP/1.1 server that never resets keep-alive connections";

const char *const cmd_serve_usage[] = {
    "Usage: tether serve [options]\n"
    "\n",
    "An HTTP/1.1 server whose keep-alive lifecycle never causes connection resets,\n"
    "and the tool that reproduces the servers that do (--close-style node|rst). The\n"
    "first line on stdout is \"listening on http://HOST:PORT\". SIGINT/SIGTERM shut\n"
    "down gracefully (exit 0); a second signal exits at once (exit 1).\n"
    "\n",
    "Listening:\n"
    "  --listen ADDR:PORT         IP address (or localhost) and port; port 0 picks a\n"
    "                             free one [127.0.0.1:8080]\n"
    "  --backlog N                listen queue length [511]\n"
    "  --workers N|auto           N threads, each with its own loop and server on\n"
    "                             the same port (SO_REUSEPORT: the kernel spreads\n"
    "                             new connections); auto = one per CPU; 1..256 [1]\n"
    "  --tls-cert FILE            PEM certificate chain; with --tls-key serves HTTPS\n"
    "                             [off]\n"
    "  --tls-key FILE             PEM private key [off]\n"
    "\n",
    "Keep-alive and closing:\n"
    "  --keep-alive-timeout DUR   idle time advertised as Keep-Alive: timeout=N; 0\n"
    "                             turns keep-alive off (Connection: close on every\n"
    "                             response) [65s]\n"
    "  --keep-alive-buffer DUR    extra idle time, beyond the advertised one, before\n"
    "                             the server closes [1s]\n"
    "  --no-keep-alive-hint       do not send the Keep-Alive header\n"
    "  --close-style STYLE        how idle connections are closed [graceful]:\n"
    "                               graceful  serve requests already pending, then\n"
    "                                         FIN and a lingering drain\n"
    "                               node      old Node.js: plain close() exactly at\n"
    "                                         the advertised timeout (sets\n"
    "                                         --keep-alive-timeout 5s and\n"
    "                                         --keep-alive-buffer 0 unless given)\n"
    "                               rst       abort idle connections (RST every time)\n"
    "  --lingering-time DUR       total drain after a server-initiated close [30s]\n"
    "  --lingering-timeout DUR    longest wait for client data while draining [5s]\n"
    "  --shutdown-grace DUR       how long in-flight requests may finish on shutdown\n"
    "                             [30s]\n"
    "\n",
    "Deadlines (0 = none):\n"
    "  --headers-timeout DUR      whole request head, from its first byte (408);\n"
    "                             also a TLS handshake (closed) [10s]\n"
    "  --body-timeout DUR         between reads of a request body (408) [30s]\n"
    "  --request-timeout DUR      request head and body together [5m]\n"
    "  --send-timeout DUR         without write progress on a response [60s]\n"
    "\n",
    "Limits:\n"
    "  --max-connections N        then stop accepting, the backlog queues; 0 = as\n"
    "                             many as file descriptors allow; with --workers,\n"
    "                             for the process, split evenly [10000]\n"
    "  --max-requests-per-conn N  then Connection: close; 0 = no limit [1000]\n"
    "  --max-conn-age DUR         then Connection: close; 0 = no limit [1h]\n"
    "  --fresh-idle-protect DUR   idle connections younger than this are never\n"
    "                             reclaimed at the connection limit [1s]\n"
    "  --max-head-size SIZE       request line and fields (431) [16k]\n"
    "  --max-fields N             request fields (431) [100]\n"
    "  --max-chunk-ext-size SIZE  chunk extensions of a request body (413) [1k]\n"
    "  --max-body-size SIZE       request body (413); 0 = no limit [1g]\n"
    "\n",
    "Responses (the request body is read and discarded first):\n"
    "  --status N                 status of the default response, 200..999 [200]\n"
    "  --body-size SIZE           body of SIZE bytes of \"tether\\n\" repeated, streamed\n"
    "                             [the 3 bytes \"ok\\n\"]\n"
    "  --delay DUR                wait this long before responding [0]\n"
    "  --root DIR                 serve files from DIR instead: GET/HEAD, ETag,\n"
    "                             Last-Modified, If-None-Match, Range, If-Range [off]\n"
    "  --stats-path PATH          answer GET PATH with JSON counters: requests by\n"
    "                             method, repeated Idempotency-Key values (the 100\n"
    "                             most repeated), closes by cause, FIN/RST sent,\n"
    "                             connections; with --workers, summed over them\n"
    "                             and per worker (per_worker) [off]\n"
    "  --exec-log FILE            append \"REQUEST-ID METHOD IDEMPOTENCY-KEY\" (from\n"
    "                             X-Request-Id and Idempotency-Key, \"-\" when absent)\n"
    "                             for every request executed, before its response;\n"
    "                             restarts append [off]\n"
    "  --rate-limit N             answer more than N requests per second with 503\n"
    "                             and Retry-After: 1, unexecuted [off]\n"
    "  -h, --help                 print this text\n"
    "\n",
    "DUR is 250ms, 5s, 2m, 1h or 0; SIZE is 1024, 64k, 1m or 1g (KiB multiples).\n"
    "Exit status: 0 after a clean shutdown, 1 when the server cannot start (address\n"
    "in use), 2 for a bad flag or an unusable TLS file.\n",
    "\n"
    "EXAMPLES\n"
    "  tether serve --listen 127.0.0.1:8080\n"
    "  tether serve --listen :0 --keep-alive-timeout 5s --close-style node\n"
    "  tether serve --root ./public --stats-path /stats\n"
    "  tether serve --listen :8080 --workers auto\n"
    "  tether serve --tls-cert cert.pem --tls-key key.pem --listen :8443\n",
    NULL,
};

#define SERVE_CMD "serve"

/* ---- the default handler ---- */

static bool serve_is_head(const tether_request *req)
{
    return strcmp(tether_request_method(req), "HEAD") == 0;
}

/* Responses that carry no body bytes whatever their length says. */
static bool serve_no_body(const tether_request *req, int status)
{
    return serve_is_head(req) || status == 204 || status == 205 || status == 304;
}

static void serve_default_respond(struct serve_ctx *ctx, tether_request *req)
{
    static const char ok[] = "ok\n";
    uint64_t size = ctx->body_size_set ? ctx->body_size : sizeof(ok) - 1;
    const char *body = ctx->body_size_set ? serve_pattern(0, SERVE_PIECE) : ok;
    if (size <= SERVE_PIECE) {
        (void)tether_response_send(req, ctx->status, "text/plain", body, (size_t)size);
        return;
    }
    char len[32];
    (void)snprintf(len, sizeof(len), "%llu", (unsigned long long)size);
    int rv = tether_response_start(req, ctx->status);
    if (rv == 0) {
        rv = tether_response_header(req, "Content-Type", "text/plain");
    }
    if (rv == 0) {
        rv = tether_response_header(req, "Content-Length", len);
    }
    if (rv != 0 || serve_no_body(req, ctx->status)) {
        /* HEAD, 204, 205 and 304 get the head only; a failure here means the request is detached
         * and ending it just frees it. */
        (void)tether_response_end(req, NULL, 0);
        return;
    }
    struct serve_exchange *ex = serve_exchange_get(ctx, req);
    if (!ex) {
        tether_request_abort(req);
        return;
    }
    ex->remaining = size;
    serve_exchange_stream(ex);
}

void serve_respond(struct serve_ctx *ctx, tether_request *req)
{
    serve_exec_log_record(ctx, req);
    if (ctx->root) {
        serve_files_respond(ctx, req);
    } else {
        serve_default_respond(ctx, req);
    }
}

static void serve_on_body(tether_request *req, int status, const char *data, size_t len, bool done)
{
    struct serve_exchange *ex = tether_request_get_data(req);
    (void)data;
    if (status != 0) {
        /* Timed out, reset or over the limit: the server already answered or closed. */
        serve_exchange_abort(ex);
        return;
    }
    if (ex->ctx->stats) {
        serve_stats_body(ex->ctx->stats, len);
    }
    if (done && serve_exchange_later(ex, ex->ctx->delay_ms) != 0) {
        tether_request_abort(req);
        ex->req = NULL;
        serve_exchange_release(ex);
    }
}

/* Whether the request has a body, from the fields the server validated: a chunked
 * Transfer-Encoding, or a Content-Length other than zero. */
static bool serve_has_body(const tether_request *req)
{
    if (tether_request_header(req, "Transfer-Encoding")) {
        return true;
    }
    const char *cl = tether_request_header(req, "Content-Length");
    for (; cl && *cl; cl++) {
        if (*cl >= '1' && *cl <= '9') {
            return true;
        }
    }
    return false;
}

static bool serve_is_stats(const struct serve_ctx *ctx, const tether_request *req)
{
    if (!ctx->stats_path) {
        return false;
    }
    const char *path;
    size_t len;
    serve_target_path(tether_request_target(req), &path, &len);
    return len == strlen(ctx->stats_path) && memcmp(path, ctx->stats_path, len) == 0;
}

static void serve_on_request(tether_server *srv, tether_request *req)
{
    struct serve_ctx *ctx = tether_server_get_data(srv);
    if (serve_is_stats(ctx, req)) {
        /* Answered at once: the server reads and discards a body nobody asked for. */
        if (serve_stats_reject(req)) {
            return;
        }
        if (ctx->workers) {
            serve_workers_stats(ctx, req); /* answered once every thread has counted */
            return;
        }
        struct tether_server_stats own;
        tether_server_get_stats(srv, &own);
        serve_stats_respond(ctx->stats, req, &own, 1, 0);
        return;
    }
    if (serve_rate_limited(ctx, req)) {
        return;
    }
    bool has_body = serve_has_body(req);
    if (ctx->stats) {
        serve_stats_count(ctx->stats, req);
    }
    if (!has_body && ctx->delay_ms == 0) {
        serve_respond(ctx, req); /* the fast path: no allocation for a plain GET */
        return;
    }
    struct serve_exchange *ex = serve_exchange_get(ctx, req);
    if (!ex) {
        tether_request_abort(req);
        return;
    }
    if (has_body) {
        ex->phase = SERVE_WAIT_BODY;
        tether_request_on_body(req, serve_on_body);
    } else if (serve_exchange_later(ex, ctx->delay_ms) != 0) {
        serve_exchange_abort(ex);
    }
}

void serve_target_path(const char *target, const char **path, size_t *len)
{
    /* Absolute form ("http://host/p?q"): the path starts after the authority. */
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0) {
        const char *p = strstr(target, "//") + 2;
        p += strcspn(p, "/?#");
        target = *p == '/' ? p : "/";
    }
    *path = target;
    *len = strcspn(target, "?#");
}

/* ---- flags ---- */

struct serve_flags {
    struct tether_server_options o;
    struct args_hostport listen;
    const char *listen_text;
    bool ka_timeout_set;
    bool ka_buffer_set;
    const char *root;
    const char *stats_path;
    int status;
    bool body_size_set;
    uint64_t body_size;
    uint64_t delay_ms;
    bool help;
    const char *exec_log;
    unsigned rate_limit;
    unsigned workers;
};

/* --workers beyond this is a typo: each worker costs a thread, a loop and a listening socket. */
#define SERVE_MAX_WORKERS 256u

static const char *const serve_close_styles[] = {"graceful", "node", "rst", NULL};

/* Flags whose value is a duration stored straight into the options. */
struct serve_dur_flag {
    const char *flag;
    uint64_t *dst;
    bool *seen; /* may be NULL */
};

/* Returns 0, or the exit code of a usage error (already printed). */
static int serve_parse_flag(struct args_cursor *c, struct serve_flags *f,
                            const struct serve_dur_flag *durs, size_t ndurs)
{
    struct tether_server_options *o = &f->o;
    uint64_t v;
    int rc;
    for (size_t i = 0; i < ndurs; i++) {
        if (args_is(c, durs[i].flag)) {
            if (durs[i].seen) {
                *durs[i].seen = true;
            }
            return args_take_duration(c, durs[i].dst);
        }
    }
    if (args_is_help(c)) {
        f->help = true;
        return args_take_none(c);
    }
    if (args_is(c, "--listen")) {
        return args_take_listen(c, &f->listen, &f->listen_text);
    }
    if (args_is(c, "--no-keep-alive-hint")) {
        o->no_keep_alive_hint = true;
        return args_take_none(c);
    }
    if (args_is(c, "--close-style")) {
        int style = 0;
        rc = args_take_choice(c, serve_close_styles, &style);
        o->close_style = style == 1 ? TETHER_CLOSE_NODE
                                    : (style == 2 ? TETHER_CLOSE_RST : TETHER_CLOSE_GRACEFUL);
        return rc;
    }
    if (args_is(c, "--tls-cert")) {
        return args_take_string(c, &o->tls_cert_file);
    }
    if (args_is(c, "--tls-key")) {
        return args_take_string(c, &o->tls_key_file);
    }
    if (args_is(c, "--backlog")) {
        rc = args_take_uint(c, 1, 65535, &v);
        o->backlog = (int)v;
        return rc;
    }
    if (args_is(c, "--max-connections")) {
        rc = args_take_uint(c, 0, 10000000, &v);
        o->max_connections = (unsigned)v;
        return rc;
    }
    if (args_is(c, "--max-requests-per-conn")) {
        rc = args_take_uint(c, 0, 4000000000u, &v);
        o->max_requests_per_conn = (unsigned)v;
        return rc;
    }
    if (args_is(c, "--max-fields")) {
        rc = args_take_uint(c, 1, 10000, &v);
        o->max_fields = (size_t)v;
        return rc;
    }
    if (args_is(c, "--max-head-size") || args_is(c, "--max-chunk-ext-size")) {
        bool head = args_is(c, "--max-head-size");
        if ((rc = args_take_size(c, &v)) != 0) {
            return rc;
        }
        /* The server needs room for at least a request line; 16 MiB is already absurd. */
        if ((head && v < 64) || v > 16u * 1024 * 1024) {
            return args_bad_value(c, "size", head ? " (expected 64..16m)" : " (expected 0..16m)");
        }
        *(head ? &o->max_head_bytes : &o->max_chunk_ext_bytes) = (size_t)v;
        return 0;
    }
    if (args_is(c, "--max-body-size")) {
        return args_take_size(c, &o->max_body_bytes);
    }
    if (args_is(c, "--status")) {
        /* 1xx are interim responses: the server sends 100 Continue itself. */
        rc = args_take_uint(c, 200, 999, &v);
        f->status = (int)v;
        return rc;
    }
    if (args_is(c, "--body-size")) {
        f->body_size_set = true;
        return args_take_size(c, &f->body_size);
    }
    if (args_is(c, "--delay")) {
        return args_take_duration(c, &f->delay_ms);
    }
    if (args_is(c, "--root")) {
        return args_take_string(c, &f->root);
    }
    if (args_is(c, "--exec-log")) {
        return args_take_string(c, &f->exec_log);
    }
    if (args_is(c, "--workers")) {
        const char *text = NULL;
        if ((rc = args_take_string(c, &text)) != 0) {
            return rc;
        }
        if (strcmp(text, "auto") == 0) {
            unsigned ncpu = uv_available_parallelism();
            f->workers = ncpu < 1 ? 1 : (ncpu > SERVE_MAX_WORKERS ? SERVE_MAX_WORKERS : ncpu);
            return 0;
        }
        if (args_parse_uint(text, 1, SERVE_MAX_WORKERS, &v) != 0) {
            return args_bad_value(c, "number", " (expected 1..256 or auto)");
        }
        f->workers = (unsigned)v;
        return 0;
    }
    if (args_is(c, "--rate-limit")) {
        rc = args_take_uint(c, 1, 10000000, &v);
        f->rate_limit = (unsigned)v;
        return rc;
    }
    if (args_is(c, "--stats-path")) {
        if ((rc = args_take_string(c, &f->stats_path)) != 0) {
            return rc;
        }
        if (f->stats_path[0] != '/' || strpbrk(f->stats_path, "?# ")) {
            return args_bad_value(c, "path", " (expected an absolute path like /_tether/stats)");
        }
        return 0;
    }
    return args_unknown(c);
}

static int serve_parse(int argc, char **argv, struct serve_flags *f)
{
    struct tether_server_options *o = &f->o;
    memset(f, 0, sizeof(*f));
    tether_server_options_init(o);
    f->status = 200;
    f->workers = 1;
    f->listen_text = "127.0.0.1:8080";
    (void)args_parse_hostport(f->listen_text, NULL, &f->listen);

    const struct serve_dur_flag durs[] = {
        {"--keep-alive-timeout", &o->keep_alive_timeout_ms, &f->ka_timeout_set},
        {"--keep-alive-buffer", &o->keep_alive_buffer_ms, &f->ka_buffer_set},
        {"--headers-timeout", &o->headers_timeout_ms, NULL},
        {"--body-timeout", &o->body_timeout_ms, NULL},
        {"--request-timeout", &o->request_timeout_ms, NULL},
        {"--send-timeout", &o->send_timeout_ms, NULL},
        {"--lingering-time", &o->lingering_time_ms, NULL},
        {"--lingering-timeout", &o->lingering_timeout_ms, NULL},
        {"--max-conn-age", &o->max_conn_age_ms, NULL},
        {"--fresh-idle-protect", &o->fresh_idle_protect_ms, NULL},
        {"--shutdown-grace", &o->shutdown_grace_ms, NULL},
    };
    struct args_cursor c;
    args_init(&c, SERVE_CMD, argc, argv);
    while (args_next(&c)) {
        if (args_positional(&c)) {
            return args_unknown(&c);
        }
        int rc = serve_parse_flag(&c, f, durs, sizeof(durs) / sizeof(durs[0]));
        if (rc != 0) {
            return rc;
        }
    }
    if (f->help) {
        return 0;
    }
    if (!o->tls_cert_file != !o->tls_key_file) {
        return args_error(SERVE_CMD, "%s needs %s as well",
                          o->tls_cert_file ? "--tls-cert" : "--tls-key",
                          o->tls_cert_file ? "--tls-key" : "--tls-cert");
    }
    if (args_check_listen(SERVE_CMD, &f->listen, f->listen_text) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (o->max_connections != 0 && o->max_connections < f->workers) {
        return args_error(SERVE_CMD,
                          "--max-connections %u is less than --workers %u (each worker needs at "
                          "least one)",
                          o->max_connections, f->workers);
    }
    if (o->close_style == TETHER_CLOSE_NODE) {
        /* Node before v19 closed idle sockets after exactly the 5 s it advertised, with no
         * margin: the race that resets clients. */
        if (!f->ka_timeout_set) {
            o->keep_alive_timeout_ms = 5000;
        }
        if (!f->ka_buffer_set) {
            o->keep_alive_buffer_ms = 0;
        }
    }
    return 0;
}

static int serve_setup_root(struct serve_ctx *ctx, const char *root)
{
    struct stat st;
    if (stat(root, &st) != 0) {
        return args_error(SERVE_CMD, "cannot use --root '%s': %s", root,
                          uv_strerror(uv_translate_sys_error(errno)));
    }
    if (!S_ISDIR(st.st_mode)) {
        return args_error(SERVE_CMD, "cannot use --root '%s': not a directory", root);
    }
    /* Resolved once, so every request can check that its file really lies inside. */
    ctx->root = realpath(root, NULL);
    if (!ctx->root) {
        return args_error(SERVE_CMD, "cannot use --root '%s': %s", root,
                          uv_strerror(uv_translate_sys_error(errno)));
    }
    ctx->root_len = strlen(ctx->root);
    while (ctx->root_len > 1 && ctx->root[ctx->root_len - 1] == '/') {
        ctx->root[--ctx->root_len] = '\0';
    }
    if (ctx->root_len == 1) {
        ctx->root[0] = '\0'; /* "/" itself: request paths are appended to "" */
        ctx->root_len = 0;
    }
    return 0;
}

/* ---- running ---- */

static void serve_on_closed(void *data)
{
    struct serve_ctx *ctx = data;
    ctx->srv = NULL;
    /* Every connection is gone, so what is left is detached: aborting only frees memory. */
    while (ctx->live) {
        serve_exchange_abort(ctx->live);
    }
}

static void serve_on_shutdown(tether_server *srv)
{
    tether_server_close(srv, serve_on_closed, tether_server_get_data(srv));
}

/* The first signal: finish what is in flight, then close (a second one exits at once). */
static void serve_on_signal(void *data)
{
    struct serve_ctx *ctx = data;
    tether_server_shutdown(ctx->srv, serve_on_shutdown);
}

/* The first line on stdout, the one scripts wait for. */
static void serve_announce(const void *arg, uint16_t port)
{
    const struct serve_flags *f = arg;
    cli_print_listening(stdout, f->o.tls_cert_file ? "https" : "http", &f->listen, (unsigned)port);
}

static void serve_ctx_free(struct serve_ctx *ctx)
{
    serve_stats_free(ctx->stats);
    serve_rate_free(ctx->rate);
    free(ctx->root);
    serve_exec_log_close(ctx);
}

int cmd_serve(int argc, char **argv)
{
    struct serve_flags f;
    int rc = serve_parse(argc, argv, &f);
    if (rc != 0) {
        return rc;
    }
    if (f.help) {
        cli_print_usage(cmd_serve_usage);
        return CLI_EXIT_OK;
    }
    struct serve_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.status = f.status;
    ctx.body_size_set = f.body_size_set;
    ctx.body_size = f.body_size;
    ctx.delay_ms = f.delay_ms;
    ctx.stats_path = f.stats_path;
    ctx.exec_log_fd = -1;
    if (f.exec_log) {
        char why[512];
        if (serve_exec_log_open(&ctx, f.exec_log, why, sizeof(why)) != 0) {
            return args_error(SERVE_CMD, "%s", why);
        }
    }
    if (f.root && (rc = serve_setup_root(&ctx, f.root)) != 0) {
        serve_exec_log_close(&ctx);
        return rc;
    }
    if ((f.stats_path && !(ctx.stats = serve_stats_new())) ||
        (f.rate_limit && !(ctx.rate = serve_rate_new(f.rate_limit)))) {
        serve_ctx_free(&ctx);
        fputs("tether serve: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    serve_pattern_init();

    f.o.host = f.listen.host;
    f.o.port = f.listen.port;
    f.o.on_request = serve_on_request;
    f.o.data = &ctx;
    if (f.workers > 1) {
        rc = serve_workers_run(&ctx, &f.o, f.workers, serve_announce, &f);
        serve_ctx_free(&ctx);
        return rc;
    }
    uv_loop_t *loop = uv_default_loop();
    ctx.loop = loop;
    char why[512];
    why[0] = '\0';
    f.o.errbuf = why;
    f.o.errbuf_len = sizeof(why);
    int rv = tether_server_new(loop, &f.o, &ctx.srv);
    if (rv != 0) {
        rc = cli_start_failed(SERVE_CMD, rv, why);
        (void)cli_loop_close(loop);
        serve_ctx_free(&ctx);
        return rc;
    }
    serve_announce(&f, tether_server_port(ctx.srv));

    const struct cli_stop stop = {SERVE_CMD, "exiting without waiting", serve_on_signal, &ctx};
    cli_loop_run(loop, &stop);
    (void)cli_loop_close(loop);
    serve_ctx_free(&ctx);
    return CLI_EXIT_OK;
}
