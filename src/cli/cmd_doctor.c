/* SPDX-License-Identifier: MIT */
/* `tether doctor URL`: measure an endpoint's connection lifecycle and print what to change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tether/tether.h"

#include "args.h"
#include "cli.h"
#include "cli_json.h"
#include "cli_loop.h"
#include "commands.h"
#include "doctor_pg.h"

const char cmd_doctor_summary[] = "measure an endpoint's keep-alive and idle close, print fixes";

const char *const cmd_doctor_usage[] = {
    "Usage: tether doctor [options] URL [BACKEND_URL]\n"
    "\n",
    "Measures the connection lifecycle of an http:// or https:// endpoint: the phases\n"
    "of a first request (DNS, connect, TLS with its version, cipher, ALPN, chain,\n"
    "expiry and hostname check, first byte), the Keep-Alive hint, the real idle-close\n"
    "time S (detected the moment the FIN or RST arrives, timed from the end of the\n"
    "response, on several connections at once), how many requests one connection\n"
    "serves, and optionally whether a middlebox drops idle connections silently. Then\n"
    "prints findings, each with a fix in numbers. A live status line shows the idle\n"
    "wait on a terminal (stderr).\n"
    "\n",
    "Options:\n"
    "  --max-idle DUR          longest wait for an idle close [125s]\n"
    "  --parallel N            idle connections measured at once, 1..16 [3]\n"
    "  --max-requests N        sequential requests on one connection, looking for the\n"
    "                          server's per-connection limit; 0 skips it [100]\n"
    "  --silent-probe DUR,...  also idle a connection this long, then send a request:\n"
    "                          ok, rst, fin or timeout tells a silent NAT/firewall\n"
    "                          drop (up to 8)\n"
    "  --probe-timeout DUR     a probe request with no answer this long is a timeout\n"
    "                          [5s]\n"
    "  --connect-timeout DUR   DNS and connect [10s]\n"
    "  --connections N         opt-in, http:// only: then open up to N (1..512)\n"
    "                          connections one at a time, each answered and held, to\n"
    "                          find a connection limit (each waits --probe-timeout\n"
    "                          for its answer) [off]\n"
    "  --behind URL            URL is a load balancer in front of this backend:\n"
    "                          measure both and check backend keep-alive > LB idle\n"
    "                          timeout (same as a second URL)\n"
    "  --json                  one JSON object on stdout instead of the report\n"
    "  -h, --help              print this text\n"
    "\n",
    "PostgreSQL: tether doctor [--max-idle DUR] [--connect-timeout DUR] [--json]\n"
    "postgres://USER@HOST[:PORT]/DB reads the settings that end sessions\n"
    "(idle_session_timeout, idle_in_transaction_session_timeout, tcp_keepalives_*,\n"
    "statement_timeout), holds a connection idle until the server or what is in front\n"
    "of it ends it (FATAL with its SQLSTATE, EOF or RST; at most --max-idle), and\n"
    "prints the pool settings to use (needs a build with libpq).\n"
    "\n"
    "DUR is 250ms, 5s, 2m or 1h. A certificate that does not verify is reported, not\n"
    "refused.\n"
    "Exit status: 0 when measured, 1 when the endpoint could not be reached (Node's\n"
    "error text on stderr, e.g. \"connect ECONNREFUSED 127.0.0.1:1\"), 2 for a usage\n"
    "error.\n",
    "\n"
    "EXAMPLES\n"
    "  tether doctor https://example.com/\n"
    "  tether doctor --max-idle 2m --silent-probe 30s,5m https://api.example.com/\n"
    "  tether doctor --json http://127.0.0.1:8080/\n"
    "  tether doctor https://lb.example.com/ http://10.0.0.5:8080/\n",
    NULL,
};

#define DOCTOR_CMD "doctor"

static const char *dur_text(uint64_t ms, char *buf, size_t len);

struct doctor_run {
    uv_loop_t loop;
    struct tether_doctor *front;
    struct tether_doctor *back;
    int pending;
    uv_timer_t status;
    bool status_on;
    uint64_t max_idle_ms;
};

static void doctor_done(struct tether_doctor *d, void *arg)
{
    (void)d;
    struct doctor_run *run = arg;
    if (--run->pending == 0 && run->status_on) {
        uv_timer_stop(&run->status);
        uv_close((uv_handle_t *)&run->status, NULL);
        (void)fputs("\r\033[K", stderr);
    }
}

static void doctor_cancel(void *data)
{
    struct doctor_run *run = data;
    tether_doctor_cancel(run->front);
    if (run->back) {
        tether_doctor_cancel(run->back);
    }
}

/* The live line on a terminal: how long the idle connections have waited so far. */
static void doctor_status_tick(uv_timer_t *t)
{
    struct doctor_run *run = t->data;
    uint64_t ms = 0;
    unsigned open = 0;
    tether_doctor_progress(run->front, &ms, &open);
    if (run->back) {
        uint64_t ms2 = 0;
        unsigned open2 = 0;
        tether_doctor_progress(run->back, &ms2, &open2);
        ms = ms2 > ms ? ms2 : ms;
        open += open2;
    }
    if (ms) {
        char mb[32];
        fprintf(stderr, "\r\033[Kwaiting for the idle close: %.1f s of %s, %u connection%s open",
                (double)ms / 1000.0, dur_text(run->max_idle_ms, mb, sizeof(mb)), open,
                open == 1 ? "" : "s");
        (void)fflush(stderr);
    }
}

static int doctor_parse_probes(struct args_cursor *c, struct tether_doctor_options *o)
{
    const char *v = NULL;
    int rv = args_take_string(c, &v);
    if (rv != 0) {
        return rv;
    }
    o->silent_probes = 0;
    const char *p = v;
    while (*p) {
        size_t n = strcspn(p, ",");
        char item[64];
        uint64_t ms = 0;
        if (n == 0 || n >= sizeof(item) || o->silent_probes == TETHER_DOCTOR_MAX_PROBES) {
            return args_bad_value(c, "probe list", " (1 to 8 durations: 30s,120s,300s)");
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (args_parse_duration_ms(item, &ms) != 0 || ms == 0) {
            return args_bad_value(c, "probe list", " (1 to 8 durations above 0: 30s,120s,300s)");
        }
        o->silent_probe_ms[o->silent_probes++] = ms;
        p += n;
        if (*p == ',') {
            p++;
            if (!*p) {
                return args_bad_value(c, "probe list", " (a trailing comma)");
            }
        }
    }
    if (o->silent_probes == 0) {
        return args_bad_value(c, "probe list", " (1 to 8 durations: 30s,120s,300s)");
    }
    return 0;
}

/* ---- JSON ---- */

static json_t *jstr(const char *s)
{
    char buf[1024];
    cli_json_ascii(s, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *jms(int64_t v)
{
    return v < 0 ? json_null() : cli_json_uint((uint64_t)v);
}

static json_t *doctor_json_one(const struct tether_doctor_result *r,
                               const struct tether_doctor_report *rep, const char *url)
{
    json_t *o = json_object();
    json_object_set_new(o, "url", jstr(url));
    json_t *addrs = json_array();
    for (size_t i = 0; i < r->naddrs; i++) {
        json_array_append_new(addrs, jstr(r->addrs[i]));
    }
    json_object_set_new(o, "addresses", addrs);
    json_object_set_new(o, "dns_ms", json_real(r->dns_ms));
    json_object_set_new(o, "connect_ms", json_real(r->connect_ms));
    if (r->tls) {
        json_t *t = json_object();
        json_object_set_new(t, "handshake_ms", json_real(r->tls_ms));
        json_object_set_new(t, "version", jstr(r->tls_version));
        json_object_set_new(t, "cipher", jstr(r->tls_cipher));
        json_object_set_new(t, "alpn", r->tls_alpn[0] ? jstr(r->tls_alpn) : json_null());
        json_object_set_new(t, "verified", json_boolean(r->tls_verified));
        json_object_set_new(t, "verify_error",
                            r->tls_verified ? json_null() : jstr(r->tls_verify_error));
        json_object_set_new(t, "hostname_match", json_boolean(r->tls_hostname_match));
        json_object_set_new(t, "not_after", jstr(r->tls_not_after));
        json_object_set_new(t, "expires_in_days", json_integer(r->tls_expires_in_days));
        json_t *chain = json_array();
        for (size_t i = 0; i < r->tls_nchain; i++) {
            json_array_append_new(chain, jstr(r->tls_chain[i]));
        }
        json_object_set_new(t, "chain", chain);
        json_object_set_new(o, "tls", t);
    } else {
        json_object_set_new(o, "tls", json_null());
    }
    json_object_set_new(o, "first_byte_ms", json_real(r->first_byte_ms));
    json_object_set_new(o, "total_ms", json_real(r->total_ms));
    json_object_set_new(o, "status", json_integer(r->status));
    json_t *h = json_object();
    json_object_set_new(h, "connection", r->connection[0] ? jstr(r->connection) : json_null());
    json_object_set_new(h, "keep_alive", r->keep_alive[0] ? jstr(r->keep_alive) : json_null());
    json_t *hops = json_array();
    for (size_t i = 0; i < r->nhints; i++) {
        json_array_append_new(hops, jstr(r->hints[i]));
    }
    json_object_set_new(h, "hop_hints", hops);
    json_object_set_new(o, "headers", h);
    if (r->hint_present) {
        json_t *k = json_object();
        json_object_set_new(k, "timeout_s",
                            r->hint_has_timeout ? cli_json_uint(r->hint_timeout_s) : json_null());
        json_object_set_new(k, "max", r->hint_has_max ? cli_json_uint(r->hint_max) : json_null());
        json_object_set_new(k, "timeout_first", json_boolean(!r->hint_timeout_not_first));
        json_object_set_new(o, "keep_alive_hint", k);
    } else {
        json_object_set_new(o, "keep_alive_hint", json_null());
    }
    bool closes = r->idle_how == TETHER_DOCTOR_CLOSE_FIN || r->idle_how == TETHER_DOCTOR_CLOSE_RST;
    json_t *ic = json_object();
    json_object_set_new(ic, "measured_ms", closes ? cli_json_uint(r->idle_median_ms) : json_null());
    json_object_set_new(ic, "min_ms", closes ? cli_json_uint(r->idle_min_ms) : json_null());
    json_object_set_new(ic, "max_ms", closes ? cli_json_uint(r->idle_max_ms) : json_null());
    json_object_set_new(ic, "how", json_string(tether_doctor_close_name(r->idle_how)));
    json_t *conns = json_array();
    for (size_t i = 0; i < r->nidle; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "ms", cli_json_uint(r->idle[i].ms));
        json_object_set_new(c, "how", json_string(tether_doctor_close_name(r->idle[i].how)));
        json_array_append_new(conns, c);
    }
    json_object_set_new(ic, "connections", conns);
    json_object_set_new(o, "idle_close", ic);
    if (r->requests_ran) {
        json_t *rq = json_object();
        json_object_set_new(rq, "measured", cli_json_uint(r->requests_measured));
        json_object_set_new(rq, "limit_reached", json_boolean(r->requests_limit_reached));
        json_object_set_new(o, "requests_per_connection", rq);
    } else {
        json_object_set_new(o, "requests_per_connection", json_null());
    }
    json_t *probes = json_array();
    for (size_t i = 0; i < r->nprobes; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "idle_ms", cli_json_uint(r->probes[i].idle_ms));
        json_object_set_new(p, "outcome",
                            json_string(tether_doctor_probe_name(r->probes[i].outcome)));
        json_object_set_new(p, "ms", cli_json_uint(r->probes[i].ms));
        json_array_append_new(probes, p);
    }
    json_object_set_new(o, "silent_probes", probes);
    if (r->ramp_ran) {
        json_t *cl = json_object();
        json_object_set_new(cl, "tried", cli_json_uint(r->ramp.tried));
        json_object_set_new(cl, "answered", cli_json_uint(r->ramp.answered));
        json_object_set_new(cl, "limit",
                            r->ramp.limit_found ? cli_json_uint(r->ramp.limit_at) : json_null());
        json_object_set_new(cl, "how",
                            r->ramp.limit_found ? json_string(tether_doctor_probe_name(r->ramp.how))
                                                : json_null());
        json_object_set_new(cl, "error",
                            r->ramp.uv_error ? json_string(uv_err_name(r->ramp.uv_error))
                                             : json_null());
        json_object_set_new(o, "connection_limit", cl);
    } else {
        json_object_set_new(o, "connection_limit", json_null());
    }
    json_t *fs = json_array();
    for (size_t i = 0; i < rep->nfindings; i++) {
        const struct tether_doctor_finding *f = &rep->findings[i];
        json_t *j = json_object();
        json_object_set_new(j, "id", json_string(f->id));
        json_object_set_new(j, "severity", json_string(tether_doctor_severity_name(f->severity)));
        json_object_set_new(j, "message", jstr(f->message));
        json_object_set_new(j, "fix", jstr(f->fix));
        json_array_append_new(fs, j);
    }
    json_object_set_new(o, "findings", fs);
    json_t *rec = json_object();
    json_object_set_new(rec, "client_idle_timeout_ms", jms(rep->client_idle_timeout_ms));
    json_object_set_new(rec, "server_keep_alive_timeout_ms",
                        jms(rep->server_keep_alive_timeout_ms));
    json_object_set_new(rec, "server_headers_timeout_ms", jms(rep->server_headers_timeout_ms));
    json_object_set_new(rec, "tcp_keepalive_idle_ms", jms(rep->tcp_keepalive_idle_ms));
    json_object_set_new(o, "recommendations", rec);
    json_object_set_new(o, "likely_hop", rep->likely_hop[0] ? jstr(rep->likely_hop) : json_null());
    json_object_set_new(o, "reproduce", rep->reproduce[0] ? jstr(rep->reproduce) : json_null());
    return o;
}

/* ---- the report ---- */

/* "800 ms", "2.5 s", "125 s" */
static const char *dur_text(uint64_t ms, char *buf, size_t len)
{
    if (ms < 1000) {
        (void)snprintf(buf, len, "%llu ms", (unsigned long long)ms);
    } else if (ms % 1000 == 0) {
        (void)snprintf(buf, len, "%llu s", (unsigned long long)(ms / 1000));
    } else {
        (void)snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
    }
    return buf;
}

static void doctor_print_one(const struct tether_doctor_result *r,
                             const struct tether_doctor_report *rep, const char *url,
                             uint64_t max_idle_ms)
{
    printf("%s\n", url);
    printf("  DNS          %8.1f ms  ", r->dns_ms);
    for (size_t i = 0; i < r->naddrs; i++) {
        printf("%s%s", i ? ", " : "", r->addrs[i]);
    }
    printf("\n  connect      %8.1f ms  %s port %u\n", r->connect_ms, r->connected,
           (unsigned)r->port);
    if (r->tls) {
        printf("  TLS          %8.1f ms  %s %s, ALPN %s\n", r->tls_ms, r->tls_version,
               r->tls_cipher, r->tls_alpn[0] ? r->tls_alpn : "(none)");
        printf("               certificate %s, hostname %s, expires %s (%d days)\n",
               r->tls_verified ? "verified" : r->tls_verify_error,
               r->tls_hostname_match ? "matches" : "DOES NOT MATCH", r->tls_not_after,
               r->tls_expires_in_days);
        for (size_t i = 0; i < r->tls_nchain; i++) {
            printf("               chain %zu: %s\n", i, r->tls_chain[i]);
        }
    }
    printf("  first byte   %8.1f ms\n", r->first_byte_ms);
    printf("  total        %8.1f ms  HTTP %d %s\n", r->total_ms, r->status, r->reason);
    printf("  Connection:  %s\n", r->connection[0] ? r->connection : "(none)");
    printf("  Keep-Alive:  %s\n", r->keep_alive[0] ? r->keep_alive : "(none)");
    for (size_t i = 0; i < r->nhints; i++) {
        printf("  %s\n", r->hints[i]);
    }
    char mb[32];
    printf("\nIdle close (%zu connections, up to %s):\n", r->nidle,
           dur_text(max_idle_ms, mb, sizeof(mb)));
    for (size_t i = 0; i < r->nidle; i++) {
        printf("  #%zu  %8llu ms  %s\n", i + 1, (unsigned long long)r->idle[i].ms,
               tether_doctor_close_name(r->idle[i].how));
    }
    if (r->idle_how == TETHER_DOCTOR_CLOSE_FIN || r->idle_how == TETHER_DOCTOR_CLOSE_RST) {
        printf("  S = %llu ms (min %llu, max %llu), closed by %s\n",
               (unsigned long long)r->idle_median_ms, (unsigned long long)r->idle_min_ms,
               (unsigned long long)r->idle_max_ms,
               r->idle_how == TETHER_DOCTOR_CLOSE_FIN ? "FIN" : "RST");
    } else {
        printf("  no close within %s\n", mb);
    }
    if (r->requests_ran) {
        if (r->requests_limit_reached) {
            printf("Requests per connection: %u (then the server closed)\n", r->requests_measured);
        } else {
            printf("Requests per connection: %u or more (no limit reached)\n",
                   r->requests_measured);
        }
    }
    if (r->ramp_ran && r->ramp.limit_found) {
        printf("Connection limit: %u answered, connection %u got %s\n", r->ramp.answered,
               r->ramp.limit_at + 1, tether_doctor_probe_name(r->ramp.how));
    } else if (r->ramp_ran) {
        printf("Connection limit: none up to %u connections\n", r->ramp.tried);
    }
    if (r->nprobes) {
        printf("Silent-drop probes:\n");
        for (size_t i = 0; i < r->nprobes; i++) {
            const struct tether_doctor_probe *p = &r->probes[i];
            printf("  after %8llu ms idle: %s", (unsigned long long)p->idle_ms,
                   tether_doctor_probe_name(p->outcome));
            if (p->outcome == TETHER_DOCTOR_PROBE_CLOSED_EARLY) {
                printf(" (%s at %llu ms)", tether_doctor_close_name(p->early_how),
                       (unsigned long long)p->ms);
            } else {
                printf(" (%llu ms)", (unsigned long long)p->ms);
            }
            printf("\n");
        }
    }
    (void)rep;
}

static void doctor_print_findings(const struct tether_doctor_report *rep)
{
    printf("\nFindings:\n");
    if (!rep->nfindings) {
        printf("  none\n");
    }
    for (size_t i = 0; i < rep->nfindings; i++) {
        const struct tether_doctor_finding *f = &rep->findings[i];
        printf("  [%s] %s: %s\n         fix: %s\n", tether_doctor_severity_name(f->severity), f->id,
               f->message, f->fix);
    }
    if (rep->client_idle_timeout_ms >= 0 || rep->server_keep_alive_timeout_ms >= 0 ||
        rep->tcp_keepalive_idle_ms >= 0) {
        printf("\nRecommendations:\n");
    }
    if (rep->client_idle_timeout_ms >= 0) {
        printf("  client idle timeout      %lld ms\n", (long long)rep->client_idle_timeout_ms);
    }
    if (rep->server_keep_alive_timeout_ms >= 0) {
        printf("  server keep-alive        %lld ms\n",
               (long long)rep->server_keep_alive_timeout_ms);
        printf("  server headers timeout   %lld ms\n", (long long)rep->server_headers_timeout_ms);
    }
    if (rep->tcp_keepalive_idle_ms >= 0) {
        printf("  TCP keepalive idle       %lld ms\n", (long long)rep->tcp_keepalive_idle_ms);
    }
    if (rep->reproduce[0]) {
        printf("\nReproduce it locally:\n  %s\n", rep->reproduce);
    }
}

int cmd_doctor(int argc, char **argv)
{
    if (doctor_pg_wanted(argc, argv)) {
        return cmd_doctor_pg(argc, argv);
    }
    struct tether_doctor_options o;
    tether_doctor_options_init(&o);
    const char *urls[2] = {NULL, NULL};
    bool json = false;
    bool help = false;
    struct args_cursor c;
    args_init(&c, DOCTOR_CMD, argc, argv);
    int rv = 0;
    uint64_t v = 0;
    while (args_next(&c)) {
        if (args_is(&c, "--max-idle")) {
            if ((rv = args_take_duration(&c, &o.max_idle_ms)) != 0) {
                return rv;
            }
            if (o.max_idle_ms == 0) {
                return args_bad_value(&c, "duration", " (must be above 0)");
            }
        } else if (args_is(&c, "--parallel")) {
            if ((rv = args_take_uint(&c, 1, TETHER_DOCTOR_MAX_CONNS, &v)) != 0) {
                return rv;
            }
            o.connections = (unsigned)v;
        } else if (args_is(&c, "--max-requests")) {
            if ((rv = args_take_uint(&c, 0, 100000, &v)) != 0) {
                return rv;
            }
            o.max_requests = (unsigned)v;
        } else if (args_is(&c, "--silent-probe")) {
            if ((rv = doctor_parse_probes(&c, &o)) != 0) {
                return rv;
            }
        } else if (args_is(&c, "--probe-timeout") || args_is(&c, "--connect-timeout")) {
            bool probe = args_is(&c, "--probe-timeout");
            if ((rv = args_take_duration(&c, probe ? &o.probe_timeout_ms
                                                   : &o.connect_timeout_ms)) != 0) {
                return rv;
            }
            if ((probe ? o.probe_timeout_ms : o.connect_timeout_ms) == 0) {
                return args_bad_value(&c, "duration", " (must be above 0)");
            }
        } else if (args_is(&c, "--connections")) {
            if ((rv = args_take_uint(&c, 1, 512, &v)) != 0) {
                return rv;
            }
            o.ramp_connections = (unsigned)v;
        } else if (args_is(&c, "--behind")) {
            if ((rv = args_take_string(&c, &urls[1])) != 0) {
                return rv;
            }
        } else if (args_is(&c, "--json")) {
            if ((rv = args_take_none(&c)) != 0) {
                return rv;
            }
            json = true;
        } else if (args_is(&c, "--help") || args_is(&c, "-h")) {
            /* Acted on after the loop, as every command does: a later bad flag is still an
             * error, and the flag enumeration (cli_flags.c) never sees help printed. */
            if ((rv = args_take_none(&c)) != 0) {
                return rv;
            }
            help = true;
        } else if (args_positional(&c)) {
            if (!urls[0]) {
                urls[0] = c.arg;
            } else if (!urls[1]) {
                urls[1] = c.arg;
            } else {
                return args_error(DOCTOR_CMD, "unexpected argument '%s' (at most two URLs)", c.arg);
            }
        } else {
            return args_unknown(&c);
        }
    }
    if (help) {
        cli_print_usage(cmd_doctor_usage);
        return CLI_EXIT_OK;
    }
    if (!urls[0]) {
        return args_error(DOCTOR_CMD, "a URL is required (tether doctor http://HOST:PORT/)");
    }

    struct doctor_run run;
    memset(&run, 0, sizeof(run));
    run.max_idle_ms = o.max_idle_ms;
    if (uv_loop_init(&run.loop) != 0) {
        fprintf(stderr, "tether doctor: cannot create an event loop\n");
        return CLI_EXIT_FAILED;
    }
    char err[512];
    for (int i = 0; i < 2 && urls[i]; i++) {
        o.url = urls[i];
        struct tether_doctor **slot = i == 0 ? &run.front : &run.back;
        rv = tether_doctor_start(&run.loop, &o, doctor_done, &run, slot, err, sizeof(err));
        if (rv != 0) {
            if (run.front) {
                tether_doctor_cancel(run.front);
                (void)uv_run(&run.loop, UV_RUN_DEFAULT);
                tether_doctor_free(run.front);
            }
            (void)cli_loop_close(&run.loop);
            return args_error(DOCTOR_CMD, "%s", err);
        }
        run.pending++;
    }
    if (isatty(STDERR_FILENO)) {
        (void)uv_timer_init(&run.loop, &run.status);
        run.status.data = &run;
        (void)uv_timer_start(&run.status, doctor_status_tick, 250, 250);
        run.status_on = true;
    }
    struct cli_stop stop = {DOCTOR_CMD, "exiting without a report", doctor_cancel, &run};
    cli_loop_run(&run.loop, &stop);
    (void)cli_loop_close(&run.loop);

    int exit_code = CLI_EXIT_OK;
    struct tether_doctor *all[2] = {run.front, run.back};
    for (int i = 0; i < 2; i++) {
        if (all[i] && tether_doctor_error(all[i])) {
            fprintf(stderr, "tether doctor: %s: %s\n", urls[i], tether_doctor_error(all[i]));
            exit_code = CLI_EXIT_FAILED;
        }
    }
    if (exit_code == CLI_EXIT_OK) {
        const struct tether_doctor_result *fr = tether_doctor_result(run.front);
        const struct tether_doctor_result *br = run.back ? tether_doctor_result(run.back) : NULL;
        struct tether_doctor_report rep;
        struct tether_doctor_report brep;
        tether_doctor_findings(fr, br, &rep);
        if (br) {
            tether_doctor_findings(br, NULL, &brep);
        }
        if (json) {
            json_t *doc = doctor_json_one(fr, &rep, urls[0]);
            json_object_set_new(doc, "behind",
                                br ? doctor_json_one(br, &brep, urls[1]) : json_null());
            if (cli_json_print(doc) != 0) {
                exit_code = CLI_EXIT_FAILED;
            }
        } else {
            doctor_print_one(fr, &rep, urls[0], o.max_idle_ms);
            doctor_print_findings(&rep);
            if (br) {
                printf("\nBehind it, the backend: ");
                doctor_print_one(br, &brep, urls[1], o.max_idle_ms);
                doctor_print_findings(&brep);
            }
        }
    }
    tether_doctor_free(run.front);
    tether_doctor_free(run.back);
    return exit_code;
}
