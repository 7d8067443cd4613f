/* SPDX-License-Identifier: MIT */
/* `tether get -v`: curl's trace ("* Connected to", "> " request and "< " response head lines,
 * the TLS session) interleaved with tether's own lifecycle lines (attempts, replays, retries),
 * and the one-line retry notice a terminal gets without -v. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "tether/tether.h"
#include "tether/client.h"
#include "tether/policy.h"

#include "util/hostport.h"
#include "util/str.h"

#include "get.h"

/* ---- curl's lines ---- */

/* Prints a head ("GET / HTTP/1.1\r\nHost: ...\r\n\r\n") one line at a time after `mark`, the
 * Authorization value hidden: credentials never reach a terminal or a log. */
static void get_trace_head(const char *mark, const char *head, size_t len)
{
    size_t i = 0;
    while (i < len) {
        const char *eol = memchr(head + i, '\n', len - i);
        size_t n = eol ? (size_t)(eol - (head + i)) : len - i;
        size_t shown = n > 0 && head[i + n - 1] == '\r' ? n - 1 : n;
        static const char auth[] = "authorization:";
        if (shown >= sizeof(auth) - 1 && ttx_mem_eq_nocase(head + i, sizeof(auth) - 1, auth)) {
            fprintf(stderr, "%s %.*s <hidden>\n", mark, (int)(sizeof(auth) - 1), head + i);
        } else if (shown == 0) {
            fprintf(stderr, "%s\n", mark);
        } else {
            fprintf(stderr, "%s %.*s\n", mark, (int)shown, head + i);
        }
        i += n + 1;
    }
}

/* "* Connected to localhost (127.0.0.1) port 8080", and the TLS session as curl shows it. */
static void get_trace_connected(const struct tether_event *ev)
{
    const char *origin = ev->origin ? ev->origin : "";
    const char *hostpart = strstr(origin, "://");
    hostpart = hostpart ? hostpart + 3 : origin;
    struct ttx_hostport o;
    struct ttx_hostport p;
    const char *peer = ev->peer ? ev->peer : "";
    if (ttx_hostport_split(hostpart, strlen(hostpart), &o) == TTX_HOSTPORT_OK &&
        ttx_hostport_split(peer, strlen(peer), &p) == TTX_HOSTPORT_OK) {
        fprintf(stderr, "* Connected to %.*s (%.*s) port %.*s\n", (int)o.host.len, o.host.ptr,
                (int)p.host.len, p.host.ptr, (int)p.port.len, p.port.ptr);
    } else {
        fprintf(stderr, "* Connected to %s\n", peer);
    }
    if (ev->tls_version) {
        fprintf(stderr, "* SSL connection using %s / %s\n", ev->tls_version,
                ev->tls_cipher ? ev->tls_cipher : "?");
        fputs("* Server certificate:\n", stderr);
        fprintf(stderr, "*  subject: %s\n", ev->tls_subject ? ev->tls_subject : "");
        fprintf(stderr, "*  issuer: %s\n", ev->tls_issuer ? ev->tls_issuer : "");
    }
}

static void get_trace_request(const struct tether_event *ev)
{
    size_t len = 0;
    const char *head = tether_fetch_request_head(ev->fetch, &len);
    get_trace_head(">", head, len);
}

static void get_trace_response(const struct tether_event *ev)
{
    size_t len = 0;
    const char *head = tether_fetch_response_head(ev->fetch, &len);
    if (head) {
        get_trace_head("<", head, len);
    }
}

/* ---- tether's lines ---- */

static void get_trace_failure(const struct tether_failure *fl)
{
    char msg[512];
    fetch_failure_text(fl, msg, sizeof(msg));
    fprintf(stderr, "* attempt %u failed: %s (", fl->attempt, msg);
    if (fl->phase != TETHER_PHASE_NONE) {
        fprintf(stderr, "phase %s, ", tether_phase_name(fl->phase));
    }
    if (fl->reused) {
        fprintf(stderr, "reused connection idle %llu ms, ", (unsigned long long)fl->idle_ms);
    } else {
        fputs("new connection, ", stderr);
    }
    fprintf(stderr, "%llu bytes sent, %llu received, class %s, retry-safe %s)\n",
            (unsigned long long)fl->bytes_sent, (unsigned long long)fl->bytes_received,
            fetch_class_name(tether_failure_classify(fl)),
            tether_retry_safety_name(fl->retry_safe));
    if (fl->detail[0]) {
        fprintf(stderr, "*   %s\n", fl->detail);
    }
}

static void get_trace_event(const struct tether_event *ev)
{
    const char *origin = ev->origin ? ev->origin : "?";
    const char *reason = ev->reason && ev->reason[0] ? ev->reason : NULL;
    switch (ev->type) {
    case TETHER_EVENT_CONN_NEW:
        fprintf(stderr, "* attempt %u: new connection to %s\n", ev->attempt, origin);
        break;
    case TETHER_EVENT_CONN_REUSED:
        fprintf(stderr, "* attempt %u: reusing a connection to %s (idle %llu ms)\n", ev->attempt,
                origin, (unsigned long long)ev->idle_ms);
        get_trace_request(ev);
        break;
    case TETHER_EVENT_CONNECTED:
        get_trace_connected(ev);
        get_trace_request(ev);
        break;
    case TETHER_EVENT_CONN_STALE:
        fprintf(stderr, "* evicted a stale idle connection to %s (idle %llu ms)%s%s\n", origin,
                (unsigned long long)ev->idle_ms, reason ? ": " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_CONN_RETIRED:
        fprintf(stderr,
                "* retired an idle connection to %s after %llu ms, before the server "
                "closes it%s%s\n",
                origin, (unsigned long long)ev->idle_ms, reason ? ": " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_ATTEMPT_FAILED:
        if (ev->failure) {
            get_trace_failure(ev->failure);
        } else {
            fprintf(stderr, "* attempt %u failed%s%s\n", ev->attempt, reason ? ": " : "",
                    reason ? reason : "");
        }
        break;
    case TETHER_EVENT_REPLAY:
        fprintf(stderr, "* replaying attempt %u on a fresh connection%s%s\n", ev->attempt,
                reason ? " after " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_RETRY_SCHEDULED:
        fprintf(stderr, "* retrying in %llu ms%s%s\n", (unsigned long long)ev->delay_ms,
                reason ? " after " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_BUDGET_EXHAUSTED:
        fprintf(stderr, "* no retry: the retry budget of %s is spent%s%s%s\n", origin,
                reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
        break;
    case TETHER_EVENT_DEADLINE:
        fprintf(stderr, "* deadline reached%s%s\n", reason ? ": " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_RESPONSE:
        get_trace_response(ev);
        break;
    case TETHER_EVENT_BREAKER_OPEN:
        fprintf(stderr, "* circuit breaker of %s opened for %llu ms%s%s\n", origin,
                (unsigned long long)ev->delay_ms, reason ? ": " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_BREAKER_HALF_OPEN:
        fprintf(stderr, "* circuit breaker of %s half-open: this attempt is the probe\n", origin);
        break;
    case TETHER_EVENT_BREAKER_CLOSED:
        fprintf(stderr, "* circuit breaker of %s closed%s%s\n", origin, reason ? ": " : "",
                reason ? reason : "");
        break;
    case TETHER_EVENT_REDIRECT:
        fprintf(stderr, "* following %d to %s\n", ev->status, reason ? reason : "?");
        break;
    case TETHER_EVENT_RESUME:
        fprintf(stderr, "* resume: %s\n", reason ? reason : "");
        break;
    default:
        fprintf(stderr, "* event %d%s%s\n", (int)ev->type, reason ? ": " : "",
                reason ? reason : "");
        break;
    }
}

/* ---- the retry notice ---- */

/* Shown on a terminal once the wait passes a second: "connect ECONNREFUSED 127.0.0.1:1,
 * retrying in 400 ms (2/3)". Overwrites itself; cleared when the request ends. */
static void get_notice(struct get_ctx *g, const struct tether_event *ev)
{
    uint64_t waited_ms = (uv_hrtime() - g->start_ns) / 1000000u;
    if (waited_ms + ev->delay_ms <= 1000) {
        return;
    }
    const struct tether_failure *fl = ev->fetch ? tether_fetch_failure(ev->fetch) : NULL;
    fputs("\r\033[Ktether get: ", stderr);
    if (ev->status) {
        fprintf(stderr, "HTTP %d", ev->status);
    } else if (fl && fl->code) {
        fputs(tether_strerror(fl->code), stderr); /* "connection refused" */
    } else {
        fputs(ev->reason && ev->reason[0] ? ev->reason : "failed", stderr);
    }
    fprintf(stderr, ", retrying in %llu ms", (unsigned long long)ev->delay_ms);
    if (g->waits_for_server) {
        fprintf(stderr, " (attempt %u)", ev->attempt + 1);
    } else {
        fprintf(stderr, " (%u/%u)", ev->attempt + 1, g->max_attempts);
    }
    g->notice_shown = true;
}

void get_notice_clear(struct get_ctx *g)
{
    if (g->notice_shown) {
        fputs("\r\033[K", stderr);
        g->notice_shown = false;
    }
}

void get_on_event(tether_client *c, const struct tether_event *ev)
{
    struct get_ctx *g = tether_client_get_data(c);
    if (g->verbose) {
        get_trace_event(ev);
    } else if (g->notices && ev->type == TETHER_EVENT_RETRY_SCHEDULED) {
        get_notice(g, ev);
    }
}

void get_trace_policy(const struct get_ctx *g, const struct tether_client_options *o)
{
    fprintf(stderr, "* policy %s: %u attempt%s, deadline ", g->ff.policy_name,
            o->policy.max_attempts, o->policy.max_attempts == 1 ? "" : "s");
    if (o->policy.deadline_ms) {
        fprintf(stderr, "%llu ms", (unsigned long long)o->policy.deadline_ms);
    } else {
        fputs("none", stderr);
    }
    fprintf(stderr, ", connect timeout %llu ms, replays %u",
            (unsigned long long)o->policy.connect_timeout_ms, o->policy.max_replays);
    if (o->policy.connrefused_wait_ms == TETHER_WAIT_UNTIL_DEADLINE) {
        fputs(", refused connects retried until the deadline", stderr);
    } else if (o->policy.connrefused_wait_ms) {
        fprintf(stderr, ", refused connects retried for %llu ms",
                (unsigned long long)o->policy.connrefused_wait_ms);
    }
    fputc('\n', stderr);
}

void get_trace_summary(const struct get_ctx *g, const tether_fetch *f)
{
    unsigned attempts = tether_fetch_attempts(f);
    unsigned retries = tether_fetch_retries(f);
    unsigned replays = tether_fetch_replays(f);
    fprintf(stderr, "* %u attempt%s, %u retr%s, %u replay%s, %llu ms, %llu body bytes\n", attempts,
            attempts == 1 ? "" : "s", retries, retries == 1 ? "y" : "ies", replays,
            replays == 1 ? "" : "s", (unsigned long long)tether_fetch_duration_ms(f),
            (unsigned long long)g->body_bytes);
}

void get_trace_pool_facts(const tether_client *c)
{
    struct tether_client_stats cs;
    struct tether_origin_stats os;
    tether_client_get_stats(c, &cs);
    fprintf(stderr, "* retired idle %llu, stale evictions %llu",
            (unsigned long long)cs.retired_idle, (unsigned long long)cs.stale_evictions);
    /* The origin of the last response: redirects may have added origins after the first. */
    size_t n = 0;
    while (tether_client_origin_stats(c, n, &os)) {
        n++;
    }
    if (n == 0 || !tether_client_origin_stats(c, n - 1, &os)) {
        fputc('\n', stderr);
        return;
    }
    if (os.learned_idle_close_ms) {
        fprintf(stderr, ", learned idle close %llu ms",
                (unsigned long long)os.learned_idle_close_ms);
    } else {
        fputs(", learned idle close none", stderr);
    }
    if (os.keep_alive_hint_s >= 0) {
        fprintf(stderr, ", Keep-Alive hint timeout=%lld s\n", (long long)os.keep_alive_hint_s);
    } else {
        fputs(", Keep-Alive hint none seen\n", stderr);
    }
}
