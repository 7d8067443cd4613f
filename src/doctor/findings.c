/* SPDX-License-Identifier: MIT */
/*
 * From measurements to findings and numbers: the recommendation rules of the anchors
 * (doctor.md §3.6) and the table of known idle defaults (§3.1-3.3) that names the likely hop.
 * Pure functions: no I/O, no clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor/doctor_int.h"
#include "internal.h"

const char *tether_doctor_severity_name(enum tether_doctor_severity s)
{
    static const char *const names[] = {"info", "low", "medium", "high"};
    return (unsigned)s < tt__countof(names) ? names[s] : "?";
}

/* The real close time of each well-known default (what a client measures, buffers included). */
struct known_default {
    const char *name;
    uint64_t ms;
    enum tether_doctor_close how; /* NONE = silent drop (never seen as a close) */
    const char *preset;           /* the `tether proxy --preset` that reproduces it, or NULL */
};

static const struct known_default known_defaults[] = {
    {"Node.js <= 25 (keepAliveTimeout 5 s + 1 s)", 6000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Apache httpd (KeepAliveTimeout 5)", 5000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"older Node.js (keepAliveTimeout 5 s, no buffer)", 5000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Gunicorn/Uvicorn (5 s)", 5000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Tomcat server.xml (20 s)", 20000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"HAProxy (Debian timeout client 50 s)", 50000, TETHER_DOCTOR_CLOSE_FIN, "haproxy"},
    {"AWS ALB/CLB (60 s)", 60000, TETHER_DOCTOR_CLOSE_FIN, "aws-alb"},
    {"Tomcat (connectionTimeout 60 s)", 60000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Fly.io proxy (60 s)", 60000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"OCI LB (65 s)", 65000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Node.js 26 / tether serve (65 s + 1 s)", 66000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"nginx (keepalive_timeout 75s)", 75000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Heroku router (90 s)", 90000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Kestrel (130 s)", 130000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Azure LB with TCP reset (4 min)", 240000, TETHER_DOCTOR_CLOSE_RST, "azure-lb-rst"},
    {"Azure LB / NAT gateway (4 min, silent)", 240000, TETHER_DOCTOR_CLOSE_NONE, "azure-lb"},
    {"Cloudflare Zero Trust (270 s)", 270000, TETHER_DOCTOR_CLOSE_NONE, NULL},
    {"AWS NLB / NAT gateway (350 s, silent)", 350000, TETHER_DOCTOR_CLOSE_NONE, "aws-nlb"},
    {"Cloudflare edge (400 s)", 400000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"GCP external ALB (610 s)", 610000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"Cloudflare to origin (900 s)", 900000, TETHER_DOCTOR_CLOSE_FIN, NULL},
    {"GCP Cloud NAT (1200 s, silent)", 1200000, TETHER_DOCTOR_CLOSE_NONE, "gcp-nat"},
};

static bool near(uint64_t measured, uint64_t expected)
{
    uint64_t tol = expected * 3 / 100;
    if (tol < 200) {
        tol = 200;
    }
    return measured + tol >= expected && measured <= expected + tol;
}

size_t tether_doctor_match_defaults(uint64_t ms, enum tether_doctor_close how, char *buf,
                                    size_t len)
{
    size_t n = 0;
    size_t used = 0;
    if (len) {
        buf[0] = '\0';
    }
    for (size_t i = 0; i < tt__countof(known_defaults); i++) {
        const struct known_default *k = &known_defaults[i];
        if (k->how != how || !near(ms, k->ms)) {
            continue;
        }
        if (used < len) {
            int w = snprintf(buf + used, len - used, "%s%s", n ? ", " : "", k->name);
            used += w > 0 ? (size_t)w : 0;
        }
        n++;
    }
    return n;
}

static const struct known_default *first_match(uint64_t ms, enum tether_doctor_close how)
{
    for (size_t i = 0; i < tt__countof(known_defaults); i++) {
        if (known_defaults[i].how == how && near(ms, known_defaults[i].ms)) {
            return &known_defaults[i];
        }
    }
    return NULL;
}

static void add(struct tether_doctor_report *out, const char *id, enum tether_doctor_severity sev,
                const char *fix, const char *fmt, ...) TETHER_PRINTF(5, 6);

static void add(struct tether_doctor_report *out, const char *id, enum tether_doctor_severity sev,
                const char *fix, const char *fmt, ...)
{
    if (out->nfindings == TETHER_DOCTOR_MAX_FINDINGS) {
        return;
    }
    struct tether_doctor_finding *f = &out->findings[out->nfindings++];
    f->id = id;
    f->severity = sev;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    (void)snprintf(f->fix, sizeof(f->fix), "%s", fix);
}

/* "1.5 s" / "250 ms" */
static void fmt_ms(char *buf, size_t len, uint64_t ms)
{
    if (ms >= 1000 && ms % 100 == 0) {
        (void)snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
    } else if (ms >= 1000) {
        (void)snprintf(buf, len, "%.2f s", (double)ms / 1000.0);
    } else {
        (void)snprintf(buf, len, "%llu ms", (unsigned long long)ms);
    }
}

/* Rule 1: min(S, H) - max(1 s, 10 %); at or below 2 s, no reuse. */
static void rule_client_idle(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    bool closes = r->idle_how == TETHER_DOCTOR_CLOSE_FIN || r->idle_how == TETHER_DOCTOR_CLOSE_RST;
    uint64_t s = r->idle_min_ms;
    bool have_h = r->hint_has_timeout;
    uint64_t h = r->hint_timeout_s * 1000;
    if (!closes && !have_h) {
        return;
    }
    uint64_t base = closes ? s : h;
    if (closes && have_h && h < base) {
        base = h;
    }
    char sb[32];
    char fix[320];
    fmt_ms(sb, sizeof(sb), base);
    if (base <= 2000) {
        out->client_idle_timeout_ms = 0;
        (void)snprintf(fix, sizeof(fix),
                       "do not reuse idle connections to this endpoint (keep-alive off, or a "
                       "pool idle timeout of 0): %s leaves no safe window",
                       sb);
        add(out, "client_idle_timeout", TETHER_DOCTOR_MEDIUM, fix,
            "the safe idle window min(S, H) is %s: too short to reuse connections safely", sb);
        return;
    }
    uint64_t margin = base / 10 > 1000 ? base / 10 : 1000;
    out->client_idle_timeout_ms = (int64_t)(base - margin);
    char rb[32];
    fmt_ms(rb, sizeof(rb), base - margin);
    (void)snprintf(fix, sizeof(fix),
                   "client pool idle timeout <= %s (min(S, H) - max(1 s, 10 %%)), e.g. Node "
                   "new http.Agent({keepAlive: true, timeout: %llu}), undici "
                   "keepAliveTimeout: %llu",
                   rb, (unsigned long long)(base - margin), (unsigned long long)(base - margin));
    add(out, "client_idle_timeout", TETHER_DOCTOR_INFO, fix,
        "a pooled connection idle longer than %s meets a closed socket", sb);
}

static void rule_hint(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    bool closes = r->idle_how == TETHER_DOCTOR_CLOSE_FIN || r->idle_how == TETHER_DOCTOR_CLOSE_RST;
    if (r->response_close) {
        add(out, "no_keep_alive", TETHER_DOCTOR_LOW,
            "nothing to tune on the client; enable keep-alive on the server to save a handshake "
            "per request",
            "the server closes the connection after each response (Connection: close)");
        return;
    }
    if (!r->hint_has_timeout) {
        add(out, "hint_missing", TETHER_DOCTOR_LOW,
            "set the client idle timeout from the measured close (see client_idle_timeout); "
            "clients that read the hint (Node's agent, undici, Apache HttpClient) fall back to "
            "their defaults",
            "no Keep-Alive: timeout= hint (nginx and ALB send none)");
    } else if (closes) {
        uint64_t h = r->hint_timeout_s * 1000;
        char hb[32];
        char sb[32];
        fmt_ms(hb, sizeof(hb), h);
        fmt_ms(sb, sizeof(sb), r->idle_min_ms);
        if (r->idle_min_ms + 20 < h) {
            add(out, "hint_above_close", TETHER_DOCTOR_HIGH,
                "lower the advertised timeout below the real close, or raise the server's idle "
                "timeout; clients that trust the hint with no margin (Apache HttpClient 5) reuse "
                "dead sockets",
                "advertised timeout=%llu but the connection closes after %s",
                (unsigned long long)r->hint_timeout_s, sb);
        } else {
            add(out, "hint_vs_actual", TETHER_DOCTOR_INFO,
                "clients should still keep a margin: hint - 1 s (Node) or - 2 s (undici)",
                "advertised %s, closes after %s (%+lld ms)", hb, sb,
                (long long)r->idle_min_ms - (long long)h);
        }
    }
    if (r->hint_timeout_not_first) {
        add(out, "hint_timeout_not_first", TETHER_DOCTOR_MEDIUM,
            "send \"Keep-Alive: timeout=N, max=M\" with timeout first",
            "Keep-Alive: %s puts timeout= after another parameter; Node's agent reads only "
            "/^timeout=(\\d+)/ and ignores it",
            r->keep_alive);
    }
}

static void rule_close_kind(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    char sb[32];
    fmt_ms(sb, sizeof(sb), r->idle_min_ms);
    if (r->idle_how == TETHER_DOCTOR_CLOSE_RST) {
        add(out, "idle_close_rst", TETHER_DOCTOR_MEDIUM,
            "close idle connections with a FIN (no SO_LINGER 0, drain unread bytes first); "
            "clients see ECONNRESET instead of a clean EOF",
            "idle connections are reset (RST) after %s: SO_LINGER 0, unread request bytes, or "
            "an LB with \"TCP reset on idle\"",
            sb);
    }
    if (r->idle_how == TETHER_DOCTOR_CLOSE_NONE && r->nidle) {
        char mb[32];
        fmt_ms(mb, sizeof(mb), r->idle[0].ms);
        add(out, "no_idle_close", TETHER_DOCTOR_INFO,
            r->nprobes ? "see the silent-drop probes"
                       : "probe for a silent middlebox with --silent-probe (e.g. 300s,400s)",
            "no close within %s of idle: the server keeps connections longer, or a middlebox "
            "drops them silently",
            mb);
    }
}

/* A silent drop after ALIVE_MS (the lower end of its bracket) comes before the server's close:
 * the pool timeout drops to POOL_MS and the client_idle_timeout finding, written from S and H,
 * is rewritten to match, so the report never advises two different pool timeouts. */
static void lower_client_idle(struct tether_doctor_report *out, uint64_t pool_ms, uint64_t alive_ms)
{
    out->client_idle_timeout_ms = (int64_t)pool_ms;
    for (size_t i = 0; i < out->nfindings; i++) {
        struct tether_doctor_finding *f = &out->findings[i];
        if (strcmp(f->id, "client_idle_timeout") != 0) {
            continue;
        }
        char pb[32];
        char ab[32];
        fmt_ms(pb, sizeof(pb), pool_ms);
        fmt_ms(ab, sizeof(ab), alive_ms);
        (void)snprintf(f->message, sizeof(f->message),
                       "a pooled connection idle longer than %s may meet a flow a middlebox "
                       "forgot (see silent_drop): that comes before the server's close",
                       ab);
        (void)snprintf(f->fix, sizeof(f->fix),
                       "client pool idle timeout <= %s (10 %% below the silent drop), e.g. "
                       "Node new http.Agent({keepAlive: true, timeout: %llu}), "
                       "undici keepAliveTimeout: %llu",
                       pb, (unsigned long long)pool_ms, (unsigned long long)pool_ms);
    }
}

/* Rule 3: the silent-drop probes. */
static void rule_silent(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    uint64_t ok_max = 0;
    uint64_t bad_min = UINT64_MAX;
    const char *bad_how = NULL;
    for (size_t i = 0; i < r->nprobes; i++) {
        const struct tether_doctor_probe *p = &r->probes[i];
        if (p->outcome == TETHER_DOCTOR_PROBE_OK && p->idle_ms > ok_max) {
            ok_max = p->idle_ms;
        }
        if ((p->outcome == TETHER_DOCTOR_PROBE_RST || p->outcome == TETHER_DOCTOR_PROBE_TIMEOUT) &&
            p->idle_ms < bad_min) {
            bad_min = p->idle_ms;
            bad_how = tether_doctor_probe_name(p->outcome);
        }
    }
    if (!bad_how) {
        return;
    }
    /* The middlebox forgets the flow somewhere in (ok_max, bad_min]. */
    uint64_t m = ok_max && ok_max < bad_min ? ok_max : bad_min;
    uint64_t ka = m - m / 10;
    if (ka > 60000) {
        ka = 60000;
    }
    out->tcp_keepalive_idle_ms = (int64_t)ka;
    if (out->client_idle_timeout_ms < 0 || (uint64_t)out->client_idle_timeout_ms > m - m / 10) {
        lower_client_idle(out, m - m / 10, m);
    }
    char bb[32];
    char kb[32];
    fmt_ms(bb, sizeof(bb), bad_min);
    fmt_ms(kb, sizeof(kb), ka);
    char fix[320];
    (void)snprintf(fix, sizeof(fix),
                   "TCP keepalive idle <= %s (setsockopt TCP_KEEPIDLE; Node "
                   "socket.setKeepAlive(true, %llu)) and a pool idle timeout below the drop; "
                   "HTTP/2 PINGs do not reset an ALB's timer",
                   kb, (unsigned long long)ka);
    char ob[32];
    fmt_ms(ob, sizeof(ob), ok_max);
    add(out, "silent_drop", TETHER_DOCTOR_HIGH, fix,
        "a request after %s idle got %s with no close seen before: a NAT, firewall or L4 LB "
        "dropped the flow silently (alive after %s, so the drop is in between)",
        bb, bad_how, ok_max ? ob : "0 ms");
}

static void rule_requests(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    if (!r->requests_ran || !r->requests_limit_reached || r->response_close) {
        return;
    }
    char fix[200];
    (void)snprintf(fix, sizeof(fix),
                   "clients must honour Connection: close and treat a close right after response "
                   "%u as normal, retrying on a new connection",
                   r->requests_measured);
    add(out, "max_requests", TETHER_DOCTOR_INFO, fix, "the connection is retired after %u requests",
        r->requests_measured);
    if (r->hint_has_max && r->hint_max != r->requests_measured) {
        add(out, "max_mismatch", TETHER_DOCTOR_LOW, "make Keep-Alive: max= match the real limit",
            "advertised max=%llu but the connection served %u requests",
            (unsigned long long)r->hint_max, r->requests_measured);
    }
}

/* Rule 2: the backend behind an LB must keep connections longer than the LB does. */
static void rule_behind(const struct tether_doctor_result *lb,
                        const struct tether_doctor_result *be, struct tether_doctor_report *out)
{
    bool lb_closes =
        lb->idle_how == TETHER_DOCTOR_CLOSE_FIN || lb->idle_how == TETHER_DOCTOR_CLOSE_RST;
    bool be_closes =
        be->idle_how == TETHER_DOCTOR_CLOSE_FIN || be->idle_how == TETHER_DOCTOR_CLOSE_RST;
    if (!lb_closes || !be_closes) {
        return;
    }
    uint64_t l = lb->idle_max_ms;
    uint64_t b = be->idle_min_ms;
    out->server_keep_alive_timeout_ms = (int64_t)(l + 5000);
    out->server_headers_timeout_ms = (int64_t)(l + 6000);
    char lb_s[32];
    char be_s[32];
    char want[32];
    fmt_ms(lb_s, sizeof(lb_s), l);
    fmt_ms(be_s, sizeof(be_s), b);
    fmt_ms(want, sizeof(want), l + 5000);
    char fix[320];
    (void)snprintf(fix, sizeof(fix),
                   "backend keep-alive >= %s (LB idle + 5 s), e.g. Node server.keepAliveTimeout "
                   "= %llu and, for Node < 18, headersTimeout = %llu; nginx keepalive_timeout "
                   "%llus",
                   want, (unsigned long long)l + 5000, (unsigned long long)l + 6000,
                   ((unsigned long long)l + 5999) / 1000);
    if (b <= l) {
        add(out, "backend_keepalive_le_lb", TETHER_DOCTOR_HIGH, fix,
            "the backend closes idle connections after %s, not after the load balancer's %s: "
            "the LB reuses a connection the backend is closing and answers 502 (the seed's #1 "
            "misconfiguration)",
            be_s, lb_s);
    } else if (b < l + 5000) {
        add(out, "backend_keepalive_margin", TETHER_DOCTOR_MEDIUM, fix,
            "the backend closes after %s, less than 5 s beyond the load balancer's %s", be_s, lb_s);
    } else {
        add(out, "backend_keepalive_ok", TETHER_DOCTOR_INFO, "nothing to change",
            "the backend keeps idle connections (%s) longer than the load balancer (%s)", be_s,
            lb_s);
    }
}

/* The silent defaults whose drop time falls in (lo, hi]: the probes bracket the drop there. */
static const struct known_default *silent_in_range(uint64_t lo, uint64_t hi, char *buf, size_t len)
{
    const struct known_default *first = NULL;
    size_t used = 0;
    for (size_t i = 0; i < tt__countof(known_defaults); i++) {
        const struct known_default *k = &known_defaults[i];
        if (k->how != TETHER_DOCTOR_CLOSE_NONE || k->ms <= lo || k->ms > hi) {
            continue;
        }
        if (used < len) {
            int w = snprintf(buf + used, len - used, "%s%s", first ? ", " : "", k->name);
            used += w > 0 ? (size_t)w : 0;
        }
        first = first ? first : k;
    }
    return first;
}

static void rule_hop(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    bool closes = r->idle_how == TETHER_DOCTOR_CLOSE_FIN || r->idle_how == TETHER_DOCTOR_CLOSE_RST;
    const struct known_default *k = NULL;
    const char *action = r->idle_how == TETHER_DOCTOR_CLOSE_RST ? "rst" : "fin";
    const char *toxic = "idle_timeout";
    const char *verb = "action";
    uint64_t s = r->idle_median_ms;
    if (closes) {
        (void)tether_doctor_match_defaults(s, r->idle_how, out->likely_hop,
                                           sizeof(out->likely_hop));
        k = first_match(s, r->idle_how);
    } else {
        uint64_t ok_max = 0;
        uint64_t bad_min = 0;
        bool swallowed = false;
        for (size_t i = 0; i < r->nprobes; i++) {
            const struct tether_doctor_probe *p = &r->probes[i];
            bool bad =
                p->outcome == TETHER_DOCTOR_PROBE_RST || p->outcome == TETHER_DOCTOR_PROBE_TIMEOUT;
            if (bad && (!bad_min || p->idle_ms < bad_min)) {
                bad_min = p->idle_ms;
                swallowed = p->outcome == TETHER_DOCTOR_PROBE_TIMEOUT;
            } else if (p->outcome == TETHER_DOCTOR_PROBE_OK && p->idle_ms > ok_max) {
                ok_max = p->idle_ms;
            }
        }
        if (!bad_min) {
            return;
        }
        k = silent_in_range(ok_max, bad_min, out->likely_hop, sizeof(out->likely_hop));
        /* Mid-bracket, so a probe at either end sees what it saw here (at bad_min exactly the
         * proxy's timer and the probe would race). A reset on the next packet is the proxy's
         * `silent` mode; a probe that timed out met a black hole. */
        s = ok_max + (bad_min - ok_max) / 2;
        if (swallowed) {
            toxic = "conntrack_expiry";
            verb = "then";
            action = "blackhole";
        } else {
            action = "silent";
        }
    }
    if (out->likely_hop[0]) {
        add(out, "likely_hop", TETHER_DOCTOR_INFO, "check that hop's idle setting first",
            "the idle close matches the default of: %s", out->likely_hop);
    }
    if (k && k->preset) {
        (void)snprintf(out->reproduce, sizeof(out->reproduce),
                       "tether proxy --listen 127.0.0.1:0 --upstream %s:%u --preset %s", r->host,
                       (unsigned)r->port, k->preset);
    } else {
        (void)snprintf(out->reproduce, sizeof(out->reproduce),
                       "tether proxy --listen 127.0.0.1:0 --upstream %s:%u --toxic "
                       "%s:timeout=%llu,%s=%s",
                       r->host, (unsigned)r->port, toxic, (unsigned long long)s, verb, action);
    }
}

static void rule_tls(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    if (!r->tls) {
        return;
    }
    if (!r->tls_verified) {
        add(out, "tls_unverified", TETHER_DOCTOR_HIGH,
            "serve the full chain from a CA the clients trust (check with openssl s_client "
            "-showcerts)",
            "the certificate chain does not verify against the system's CAs: %s",
            r->tls_verify_error);
    }
    if (!r->tls_hostname_match) {
        add(out, "tls_hostname_mismatch", TETHER_DOCTOR_HIGH,
            "use a certificate whose subjectAltName names this host",
            "the certificate does not name %s", r->host);
    }
    if (r->tls_expires_in_days < 0) {
        add(out, "tls_expired", TETHER_DOCTOR_HIGH, "renew the certificate",
            "the certificate expired %d days ago (%s)", -r->tls_expires_in_days, r->tls_not_after);
    } else if (r->tls_expires_in_days < 14) {
        add(out, "tls_expires_soon", TETHER_DOCTOR_MEDIUM, "renew the certificate now",
            "the certificate expires in %d days (%s)", r->tls_expires_in_days, r->tls_not_after);
    }
}

static void rule_ramp(const struct tether_doctor_result *r, struct tether_doctor_report *out)
{
    if (!r->ramp_ran) {
        return;
    }
    const struct tether_doctor_ramp *m = &r->ramp;
    if (!m->limit_found) {
        add(out, "connection_limit", TETHER_DOCTOR_INFO, "nothing to change",
            "%u concurrent connections were all answered (no limit up to the cap)", m->answered);
        return;
    }
    char fix[320];
    if (m->how == TETHER_DOCTOR_PROBE_TIMEOUT) {
        (void)snprintf(fix, sizeof(fix),
                       "keep client pools below %u connections per host, or raise the server's "
                       "limit; queued connections look like slow connects, not errors",
                       m->limit_at);
        add(out, "connection_limit", TETHER_DOCTOR_MEDIUM, fix,
            "connection %u was not answered: the server queues beyond %u connections (accept "
            "queue, maxconn)",
            m->limit_at + 1, m->limit_at);
    } else {
        (void)snprintf(fix, sizeof(fix),
                       "raise the limit (Node server.maxConnections, nginx worker_connections) or "
                       "queue instead of closing; keep client pools below %u per host",
                       m->limit_at);
        add(out, "connection_limit", TETHER_DOCTOR_HIGH, fix,
            "connection %u was %s before any response: the server (or a hop) turns connections "
            "away beyond %u",
            m->limit_at + 1,
            m->how == TETHER_DOCTOR_PROBE_FIN   ? "closed (FIN)"
            : m->how == TETHER_DOCTOR_PROBE_RST ? "reset (RST)"
            : m->uv_error == UV_ECONNREFUSED    ? "refused"
                                                : "failed",
            m->limit_at);
    }
}

void tether_doctor_findings(const struct tether_doctor_result *r,
                            const struct tether_doctor_result *backend,
                            struct tether_doctor_report *out)
{
    memset(out, 0, sizeof(*out));
    out->client_idle_timeout_ms = -1;
    out->server_keep_alive_timeout_ms = -1;
    out->server_headers_timeout_ms = -1;
    out->tcp_keepalive_idle_ms = -1;
    rule_tls(r, out);
    rule_client_idle(r, out);
    rule_hint(r, out);
    rule_close_kind(r, out);
    rule_silent(r, out);
    rule_requests(r, out);
    rule_ramp(r, out);
    if (backend) {
        rule_behind(r, backend, out);
    }
    rule_hop(r, out);
}
