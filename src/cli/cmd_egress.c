/* SPDX-License-Identifier: MIT */
/* `tether egress`: the library's egress proxy (tether/egress.h) on flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/tether.h"

#include "args.h"
#include "cli.h"
#include "cli_loop.h"
#include "commands.h"

const char cmd_egress_summary[] = "a local proxy that gives any app tether's client";

const char *const cmd_egress_usage[] = {
    "Usage: tether egress [options]\n"
    "\n",
    "A local HTTP/1.1 proxy between an app and its upstreams: tether's server on\n"
    "the app's side (keep-alive without resets), tether's client on the upstream\n"
    "side (stale-proof pool, safe replay, retries with jitter and a budget, one\n"
    "deadline). The app changes only a base URL or HTTP_PROXY, in any language.\n"
    "\n"
    "  reverse  --upstream URL: requests to /path go to URL/path (http or https);\n"
    "           point the app's base URL at egress: http://127.0.0.1:8081\n"
    "  forward  no --upstream: HTTP_PROXY=http://127.0.0.1:3128 (curl, Python,\n"
    "           Go, undici's ProxyAgent); absolute-form http:// requests go to\n"
    "           the origin they name. https:// arrives as CONNECT and is\n"
    "           tunnelled with TCP-level protections only (connect retries,\n"
    "           keepalive, the origin's FIN or RST passed on as it came): the\n"
    "           bytes are TLS, so no replay, retry or deadline inside them\n"
    "\n"
    "Hop-by-hop fields (RFC 9110 7.6.1) are removed both ways; Via: 1.1 tether\n"
    "is added. When every attempt fails the app gets 502 (504 on the deadline)\n"
    "with a JSON body and X-Tether-Error (Node's message), X-Tether-Code,\n"
    "X-Tether-Phase, X-Tether-Retry-Safe, X-Tether-Attempts. A request header\n"
    "X-Tether-Deadline: 2s may shorten the deadline (it is not forwarded).\n"
    "\n"
    "The first line on stdout is \"listening on http://HOST:PORT\". SIGINT/SIGTERM\n"
    "drain gracefully (exit 0); a second signal exits at once (exit 1).\n"
    "\n",
    "Options:\n"
    "  --listen ADDR:PORT       IP address (or localhost) and port; 0 picks a free\n"
    "                           one. Keep it on loopback, or use --allow, or it is\n"
    "                           an open proxy [127.0.0.1:3128]\n"
    "  --upstream URL           reverse mode: http[s]://HOST[:PORT][/PREFIX] [off]\n"
    "  --allow HOST[:PORT]      forward mode: only these origins (403 otherwise);\n"
    "                           repeat for more [any]\n"
    "  --deadline DUR           one deadline per request over every attempt and\n"
    "                           backoff; 0 = none [30s]\n"
    "  --retries N              attempts after the first one [2]\n"
    "  --replay-limit SIZE      request bodies stream to the upstream as they\n"
    "                           arrive; up to SIZE they are also kept, so a failed\n"
    "                           attempt can be replayed or retried. A larger body\n"
    "                           is replayed only if it failed before a byte went\n"
    "                           out; the response says X-Tether-Retry:\n"
    "                           not-replayable (--replay-body-limit: the same) [1m]\n"
    "  --max-body-size SIZE     request body limit (413); 0 = none. Bodies stream\n"
    "                           with flow control, so size costs no memory [none]\n"
    "  --forwarded-for          append the app's address to X-Forwarded-For\n"
    "  --keep-alive-timeout DUR app-side idle time advertised as Keep-Alive:\n"
    "                           timeout=N (closed 1s later) [65s]\n"
    "  --cacert FILE            CA bundle for https upstreams [system]\n"
    "  -k, --insecure           do not verify upstream certificates\n"
    "  --stats-path PATH        answer GET PATH with JSON counters [off]\n"
    "  --json                   print the counters as one JSON object on stdout\n"
    "                           at exit (the listening line goes to stderr)\n"
    "  -h, --help               print this text\n"
    "\n"
    "TETHER_DEBUG=net,http traces every attempt on stderr.\n"
    "Exit status: 0 after a clean stop, 1 when it cannot start, 2 for a bad flag.\n",
    "\n"
    "EXAMPLES\n"
    "  tether egress --listen 127.0.0.1:8081 --upstream http://orders:8080\n"
    "  tether egress --listen 127.0.0.1:3128 --allow api.internal:8080\n"
    "  tether egress --upstream https://api.example.com --deadline 5s --retries 4\n"
    "  tether egress --listen 127.0.0.1:0 --stats-path /_tether/stats --json\n",
    NULL,
};

#define EGRESS_CMD "egress"
#define EGRESS_MAX_ALLOW 64

struct egress_flags {
    struct tether_egress_options o;
    struct args_hostport listen;
    const char *listen_text;
    const char *allow[EGRESS_MAX_ALLOW];
    bool json;
    bool help;
};

/* Returns 0, or the exit code of a usage error (already printed). */
static int egress_parse_flag(struct args_cursor *c, struct egress_flags *f)
{
    struct tether_egress_options *o = &f->o;
    uint64_t v;
    int rc;
    if (args_is_help(c)) {
        f->help = true;
        return args_take_none(c);
    }
    if (args_is(c, "--listen")) {
        return args_take_listen(c, &f->listen, &f->listen_text);
    }
    if (args_is(c, "--upstream")) {
        return args_take_string(c, &o->upstream);
    }
    if (args_is(c, "--allow")) {
        if (o->nallow == EGRESS_MAX_ALLOW) {
            return args_error(EGRESS_CMD, "too many --allow entries (at most %d)",
                              EGRESS_MAX_ALLOW);
        }
        rc = args_take_string(c, &f->allow[o->nallow]);
        o->nallow += rc == 0;
        return rc;
    }
    if (args_is(c, "--deadline")) {
        return args_take_duration(c, &o->client.policy.deadline_ms);
    }
    if (args_is(c, "--retries")) {
        rc = args_take_uint(c, 0, 100, &v);
        o->client.policy.max_attempts = (unsigned)v + 1;
        return rc;
    }
    if (args_is(c, "--replay-limit") || args_is(c, "--replay-body-limit")) {
        rc = args_take_size(c, &v);
        if (rc == 0 && v > (uint64_t)1024 * 1024 * 1024) {
            return args_bad_value(c, "size", " (expected at most 1g)");
        }
        o->replay_body_limit = (size_t)v;
        return rc;
    }
    if (args_is(c, "--max-body-size")) {
        return args_take_size(c, &o->server.max_body_bytes);
    }
    if (args_is(c, "--forwarded-for")) {
        o->forwarded_for = true;
        return args_take_none(c);
    }
    if (args_is(c, "--keep-alive-timeout")) {
        return args_take_duration(c, &o->server.keep_alive_timeout_ms);
    }
    if (args_is(c, "--cacert")) {
        return args_take_string(c, &o->client.ca_file);
    }
    if (args_is(c, "-k") || args_is(c, "--insecure")) {
        o->client.insecure = true;
        return args_take_none(c);
    }
    if (args_is(c, "--stats-path")) {
        return args_take_string(c, &o->stats_path);
    }
    if (args_is(c, "--json")) {
        f->json = true;
        return args_take_none(c);
    }
    return args_unknown(c);
}

static int egress_parse(int argc, char **argv, struct egress_flags *f)
{
    memset(f, 0, sizeof(*f));
    tether_egress_options_init(&f->o);
    f->listen_text = "127.0.0.1:3128";
    (void)args_parse_hostport(f->listen_text, NULL, &f->listen);
    struct args_cursor c;
    args_init(&c, EGRESS_CMD, argc, argv);
    while (args_next(&c)) {
        if (args_positional(&c)) {
            return args_unknown(&c);
        }
        int rc = egress_parse_flag(&c, f);
        if (rc != 0) {
            return rc;
        }
    }
    if (f->help) {
        return 0;
    }
    if (f->o.upstream && f->o.nallow) {
        return args_error(EGRESS_CMD, "--allow is for forward mode; with --upstream every "
                                      "request goes to that one origin");
    }
    if (args_check_listen(EGRESS_CMD, &f->listen, f->listen_text) != 0) {
        return CLI_EXIT_USAGE;
    }
    f->o.allow = f->allow;
    return 0;
}

struct egress_run {
    tether_egress *eg;
    bool json;
    char final_json[2048];
};

static void egress_on_closed(void *data)
{
    (void)data;
}

/* The first signal: stop accepting, let requests in flight finish, then release. */
static void egress_on_signal(void *data)
{
    struct egress_run *run = data;
    if (run->json) {
        /* Taken now: the counters go with the egress once it is closed. */
        (void)tether_egress_stats_json(run->eg, run->final_json, sizeof(run->final_json));
    }
    tether_egress_close(run->eg, egress_on_closed, run);
}

int cmd_egress(int argc, char **argv)
{
    struct egress_flags f;
    int rc = egress_parse(argc, argv, &f);
    if (rc != 0) {
        return rc;
    }
    if (f.help) {
        cli_print_usage(cmd_egress_usage);
        return CLI_EXIT_OK;
    }
    (void)tether_ignore_sigpipe();
    uv_loop_t *loop = uv_default_loop();
    struct egress_run run;
    memset(&run, 0, sizeof(run));
    run.json = f.json;
    f.o.server.host = f.listen.host;
    f.o.server.port = f.listen.port;
    char why[512];
    why[0] = '\0';
    f.o.errbuf = why;
    f.o.errbuf_len = sizeof(why);
    int rv = tether_egress_new(loop, &f.o, &run.eg);
    if (rv != 0) {
        /* A server already started (the client's options failed after it) closes on the loop. */
        (void)uv_run(loop, UV_RUN_DEFAULT);
        (void)cli_loop_close(loop);
        return cli_start_failed(EGRESS_CMD, rv, why);
    }
    cli_print_listening(f.json ? stderr : stdout, "http", &f.listen,
                        (unsigned)tether_egress_port(run.eg));

    const struct cli_stop stop = {EGRESS_CMD, "exiting without waiting", egress_on_signal, &run};
    cli_loop_run(loop, &stop);
    (void)cli_loop_close(loop);
    if (f.json) {
        fputs(run.final_json, stdout);
    }
    return CLI_EXIT_OK;
}
