/* SPDX-License-Identifier: MIT */
/* The TETHER_DEBUG=net,http trace (NODE_DEBUG's counterpart): the only place the library
 * writes to stderr, and only when the user asked for it. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "util/str.h"

/* The categories TETHER_DEBUG knows, for the unknown-category line. */
static const char *const debug_categories[] = {"net", "pool", "http", "all"};

/* Appends "'htp' (did you mean 'http'?)" to the unknown-category line being built. */
static void debug_note_unknown(char *line, size_t cap, const char *word, size_t len)
{
    char typed[32];
    size_t n = len < sizeof(typed) - 1 ? len : sizeof(typed) - 1;
    memcpy(typed, word, n);
    typed[n] = '\0';
    const char *best = ttx_closest(typed, debug_categories, tt__countof(debug_categories));
    size_t used = strlen(line);
    if (used + 1 >= cap) {
        return;
    }
    if (best) {
        (void)snprintf(line + used, cap - used, "%s'%s' (did you mean '%s'?)", used ? ", " : "",
                       typed, best);
    } else {
        (void)snprintf(line + used, cap - used, "%s'%s'", used ? ", " : "", typed);
    }
}

unsigned tt__debug_from_env(void)
{
    /* Every client reads the variable; a typo in it is reported by the first one only. */
    static atomic_flag reported = ATOMIC_FLAG_INIT;
    const char *v = getenv("TETHER_DEBUG");
    unsigned mask = 0;
    char unknown[256] = "";
    if (!v) {
        return 0;
    }
    while (*v) {
        size_t len = strcspn(v, ", ");
        if (ttx_mem_eq_nocase(v, len, "net") || ttx_mem_eq_nocase(v, len, "pool")) {
            mask |= TT__DEBUG_NET;
        } else if (ttx_mem_eq_nocase(v, len, "http")) {
            mask |= TT__DEBUG_HTTP;
        } else if (ttx_mem_eq_nocase(v, len, "*") || ttx_mem_eq_nocase(v, len, "all")) {
            mask |= TT__DEBUG_NET | TT__DEBUG_HTTP;
        } else {
            debug_note_unknown(unknown, sizeof(unknown), v, len);
        }
        v += len;
        while (*v == ',' || *v == ' ') {
            v++;
        }
    }
    /* The user asked for the trace on stderr; a word it ignores belongs on the same channel,
     * once, so the silence that follows is never mistaken for "nothing happened". */
    if (unknown[0] && !atomic_flag_test_and_set(&reported)) {
        (void)fprintf(stderr, /* checksrc: debug-output */
                      "TETHER_DEBUG %d: unknown category %s ignored; known: net, pool, http, "
                      "all\n",
                      (int)uv_os_getpid(), unknown);
    }
    return mask;
}

static void debug_vprint(unsigned category, const char *fmt, va_list ap)
{
    char line[768];
    int n = snprintf(line, sizeof(line), "%s %d: ", category == TT__DEBUG_NET ? "NET" : "HTTP",
                     (int)uv_os_getpid());
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }
    (void)vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    /* One call per line, so lines from several clients never interleave mid-line. */
    (void)fprintf(stderr, "%s\n", line); /* checksrc: debug-output */
}

void tt__debug(const struct tether_client *c, unsigned category, const char *fmt, ...)
{
    if (!c || !(c->debug & category)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    debug_vprint(category, fmt, ap);
    va_end(ap);
}

/* "http://127.0.0.1:8080" -> "127.0.0.1:8080", as Node's net messages name peers. */
static const char *debug_hostport(const char *origin)
{
    const char *p = origin ? strstr(origin, "://") : NULL;
    return p ? p + 3 : (origin ? origin : "");
}

void tt__debug_event(const struct tether_client *c, const struct tether_event *ev)
{
    const struct tether_fetch *f = ev->fetch;
    const char *method = f ? f->method : "";
    const char *target = f ? f->url.target : "";
    unsigned long long idle = (unsigned long long)ev->idle_ms;
    const char *reason = ev->reason ? ev->reason : "";
    switch (ev->type) {
    case TETHER_EVENT_CONN_NEW:
        tt__debug(c, TT__DEBUG_HTTP, "attempt %u %s %s%s on new connection", ev->attempt, method,
                  ev->origin, target);
        break;
    case TETHER_EVENT_CONN_REUSED:
        tt__debug(c, TT__DEBUG_HTTP, "attempt %u %s %s%s on reused connection (idle %llu ms)",
                  ev->attempt, method, ev->origin, target, idle);
        break;
    case TETHER_EVENT_CONN_STALE:
        if (strcmp(reason, "unsolicited data") == 0) {
            tt__debug(c, TT__DEBUG_NET,
                      "idle connection to %s sent unsolicited data after %llu ms: discarded",
                      debug_hostport(ev->origin), idle);
        } else {
            tt__debug(c, TT__DEBUG_NET, "idle connection to %s %s after %llu ms",
                      debug_hostport(ev->origin), reason, idle);
        }
        break;
    case TETHER_EVENT_CONN_RETIRED:
        tt__debug(c, TT__DEBUG_NET, "retired idle connection to %s after %llu ms (%s)",
                  debug_hostport(ev->origin), idle, reason);
        break;
    case TETHER_EVENT_ATTEMPT_FAILED: {
        const struct tether_failure *fl = ev->failure;
        tt__debug(c, TT__DEBUG_HTTP,
                  "attempt %u failed: %s (%s connection, idle %llu ms, %llu bytes sent, "
                  "%llu received, retry-safe %s)",
                  ev->attempt, reason, ev->reused ? "reused" : "new", idle,
                  (unsigned long long)(fl ? fl->bytes_sent : 0),
                  (unsigned long long)(fl ? fl->bytes_received : 0),
                  tether_retry_safety_name(fl ? fl->retry_safe : TETHER_RETRY_SAFE_UNKNOWN));
        break;
    }
    case TETHER_EVENT_REPLAY:
        tt__debug(c, TT__DEBUG_HTTP, "replaying on a new connection (%s)", reason);
        break;
    case TETHER_EVENT_RETRY_SCHEDULED:
        tt__debug(c, TT__DEBUG_HTTP, "retry %u in %llu ms (%s)", f ? f->retries : 0,
                  (unsigned long long)ev->delay_ms, reason);
        break;
    case TETHER_EVENT_BUDGET_EXHAUSTED:
        tt__debug(c, TT__DEBUG_HTTP, "retry budget of %s exhausted: not retrying (%s)", ev->origin,
                  reason);
        break;
    case TETHER_EVENT_DEADLINE:
        tt__debug(c, TT__DEBUG_HTTP, "deadline: %s", reason);
        break;
    case TETHER_EVENT_RESPONSE:
        tt__debug(c, TT__DEBUG_HTTP, "response %d on attempt %u", ev->status, ev->attempt);
        break;
    case TETHER_EVENT_BREAKER_OPEN:
        tt__debug(c, TT__DEBUG_HTTP, "circuit breaker of %s open for %llu ms (%s)", ev->origin,
                  (unsigned long long)ev->delay_ms, reason);
        break;
    case TETHER_EVENT_BREAKER_HALF_OPEN:
        tt__debug(c, TT__DEBUG_HTTP, "circuit breaker of %s half-open (%s)", ev->origin, reason);
        break;
    case TETHER_EVENT_BREAKER_CLOSED:
        tt__debug(c, TT__DEBUG_HTTP, "circuit breaker of %s closed (%s)", ev->origin, reason);
        break;
    case TETHER_EVENT_REDIRECT:
        tt__debug(c, TT__DEBUG_HTTP, "following %d to %s", ev->status, reason);
        break;
    case TETHER_EVENT_CONNECTED:
        tt__debug(c, TT__DEBUG_NET, "ready: %s%s%s%s%s", ev->peer ? ev->peer : "?",
                  ev->tls_version ? " " : "", ev->tls_version ? ev->tls_version : "",
                  ev->tls_cipher ? " " : "", ev->tls_cipher ? ev->tls_cipher : "");
        break;
    case TETHER_EVENT_RESUME:
        tt__debug(c, TT__DEBUG_HTTP, "resume: %s", reason);
        break;
    }
}
