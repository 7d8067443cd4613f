/* SPDX-License-Identifier: MIT */
/* The doctor's rules (anchors doctor §3.6), table-driven: measurements in, finding ids,
 * severities and recommended numbers out; and the known-defaults matcher. */
#include <string.h>

#include "test.h"

#include "tether/doctor.h"

/* A measurement: every idle connection closed `how` after `s_ms`, hint `h_s` (-1: none). */
static struct tether_doctor_result measured(uint64_t s_ms, enum tether_doctor_close how, int h_s)
{
    struct tether_doctor_result r;
    memset(&r, 0, sizeof(r));
    (void)strcpy(r.host, "127.0.0.1");
    r.port = 8080;
    r.status = 200;
    r.nidle = 3;
    for (size_t i = 0; i < 3; i++) {
        r.idle[i].how = how;
        r.idle[i].ms = s_ms;
    }
    r.idle_how = how;
    r.idle_min_ms = r.idle_max_ms = r.idle_median_ms = s_ms;
    if (h_s >= 0) {
        r.hint_present = r.hint_has_timeout = true;
        r.hint_timeout_s = (uint64_t)h_s;
    }
    return r;
}

static const struct tether_doctor_finding *find(const struct tether_doctor_report *rep,
                                                const char *id)
{
    for (size_t i = 0; i < rep->nfindings; i++) {
        if (strcmp(rep->findings[i].id, id) == 0) {
            return &rep->findings[i];
        }
    }
    return NULL;
}

struct rule_case {
    const char *name;
    uint64_t s_ms;
    enum tether_doctor_close how;
    int hint_s;
    int64_t client_idle_ms; /* expected recommendation */
    const char *id;         /* a finding that must be there */
    enum tether_doctor_severity severity;
    const char *absent; /* a finding that must not be there, or NULL */
};

static void test_rules(void **state)
{
    (void)state;
    static const struct rule_case cases[] = {
        /* nginx 75 s, no hint: S - 10 % = 67.5 s; the missing hint is flagged. */
        {"nginx", 75000, TETHER_DOCTOR_CLOSE_FIN, -1, 67500, "hint_missing", TETHER_DOCTOR_LOW,
         "idle_close_rst"},
        /* Node 20 default: hint 5, closes at 6 s: min(S, H) = 5 s, margin 1 s. */
        {"node20", 6000, TETHER_DOCTOR_CLOSE_FIN, 5, 4000, "hint_vs_actual", TETHER_DOCTOR_INFO,
         "hint_above_close"},
        /* Closes before the advertised time: trusting clients reuse dead sockets. */
        {"early", 3000, TETHER_DOCTOR_CLOSE_FIN, 5, 2000, "hint_above_close", TETHER_DOCTOR_HIGH,
         NULL},
        /* RST on idle. */
        {"rst", 60000, TETHER_DOCTOR_CLOSE_RST, -1, 54000, "idle_close_rst", TETHER_DOCTOR_MEDIUM,
         NULL},
        /* 2 s or less: no reuse. */
        {"short", 2000, TETHER_DOCTOR_CLOSE_FIN, 1, 0, "client_idle_timeout", TETHER_DOCTOR_MEDIUM,
         NULL},
        /* 1.5 s: the 1 s floor of the margin applies. */
        {"floor", 3000, TETHER_DOCTOR_CLOSE_FIN, -1, 2000, "client_idle_timeout",
         TETHER_DOCTOR_INFO, NULL},
        /* No close at all and no hint: nothing to recommend for the client. */
        {"none", 125000, TETHER_DOCTOR_CLOSE_NONE, -1, -1, "no_idle_close", TETHER_DOCTOR_INFO,
         "client_idle_timeout"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rule_case *c = &cases[i];
        struct tether_doctor_result r = measured(c->s_ms, c->how, c->hint_s);
        if (c->how == TETHER_DOCTOR_CLOSE_NONE) {
            r.idle_min_ms = r.idle_max_ms = r.idle_median_ms = 0;
        }
        struct tether_doctor_report rep;
        tether_doctor_findings(&r, NULL, &rep);
        if (rep.client_idle_timeout_ms != c->client_idle_ms) {
            fail_msg("%s: client idle %lld, expected %lld", c->name,
                     (long long)rep.client_idle_timeout_ms, (long long)c->client_idle_ms);
        }
        const struct tether_doctor_finding *f = find(&rep, c->id);
        if (!f || f->severity != c->severity) {
            fail_msg("%s: finding %s missing or with severity %s", c->name, c->id,
                     f ? tether_doctor_severity_name(f->severity) : "-");
        }
        if (!f->fix[0] || !f->message[0]) {
            fail_msg("%s: finding %s without a message or a fix", c->name, c->id);
        }
        if (c->absent && find(&rep, c->absent)) {
            fail_msg("%s: unexpected finding %s", c->name, c->absent);
        }
    }
}

static void test_hint_order_and_max(void **state)
{
    (void)state;
    struct tether_doctor_result r = measured(6000, TETHER_DOCTOR_CLOSE_FIN, 5);
    r.hint_timeout_not_first = true;
    (void)strcpy(r.keep_alive, "max=100, timeout=5");
    r.hint_has_max = true;
    r.hint_max = 100;
    r.requests_ran = true;
    r.requests_measured = 99;
    r.requests_limit_reached = true;
    struct tether_doctor_report rep;
    tether_doctor_findings(&r, NULL, &rep);
    assert_non_null(find(&rep, "hint_timeout_not_first"));
    assert_int_equal(find(&rep, "hint_timeout_not_first")->severity, TETHER_DOCTOR_MEDIUM);
    assert_non_null(find(&rep, "max_requests"));
    assert_non_null(find(&rep, "max_mismatch"));
    /* Within our bound and no limit: neither. */
    r.requests_limit_reached = false;
    tether_doctor_findings(&r, NULL, &rep);
    assert_null(find(&rep, "max_requests"));
    assert_null(find(&rep, "max_mismatch"));
}

static void test_silent_drop(void **state)
{
    (void)state;
    struct tether_doctor_result r = measured(0, TETHER_DOCTOR_CLOSE_NONE, -1);
    r.nprobes = 3;
    r.probes[0] =
        (struct tether_doctor_probe){.idle_ms = 300000, .outcome = TETHER_DOCTOR_PROBE_OK};
    r.probes[1] =
        (struct tether_doctor_probe){.idle_ms = 400000, .outcome = TETHER_DOCTOR_PROBE_RST};
    r.probes[2] =
        (struct tether_doctor_probe){.idle_ms = 600000, .outcome = TETHER_DOCTOR_PROBE_TIMEOUT};
    struct tether_doctor_report rep;
    tether_doctor_findings(&r, NULL, &rep);
    const struct tether_doctor_finding *f = find(&rep, "silent_drop");
    assert_non_null(f);
    assert_int_equal(f->severity, TETHER_DOCTOR_HIGH);
    /* Alive at 300 s, dropped by 400 s: keepalive capped at 60 s ("safe everywhere"), the
     * pool below 90 % of the last time known alive. */
    assert_int_equal(rep.tcp_keepalive_idle_ms, 60000);
    assert_int_equal(rep.client_idle_timeout_ms, 270000);
    /* The NLB/NAT default names the hop and the preset reproduces it. */
    assert_non_null(strstr(rep.likely_hop, "NLB"));
    assert_non_null(strstr(rep.reproduce, "--preset aws-nlb"));

    /* Every probe fine: no finding. */
    r.probes[1].outcome = TETHER_DOCTOR_PROBE_OK;
    r.probes[2].outcome = TETHER_DOCTOR_PROBE_OK;
    tether_doctor_findings(&r, NULL, &rep);
    assert_null(find(&rep, "silent_drop"));
    assert_int_equal(rep.tcp_keepalive_idle_ms, -1);
}

/* A server that advertises 60 s behind a firewall that forgets flows between 1 s and 5 s (the
 * netns test's numbers): the pool finding written from the hint is rewritten to the drop's
 * 900 ms, so the report never advises both 54 s and 900 ms. */
static void test_silent_drop_overrides_pool_finding(void **state)
{
    (void)state;
    struct tether_doctor_result r = measured(4000, TETHER_DOCTOR_CLOSE_NONE, 60);
    r.nprobes = 2;
    r.probes[0] = (struct tether_doctor_probe){.idle_ms = 1000, .outcome = TETHER_DOCTOR_PROBE_OK};
    r.probes[1] =
        (struct tether_doctor_probe){.idle_ms = 5000, .outcome = TETHER_DOCTOR_PROBE_TIMEOUT};
    struct tether_doctor_report rep;
    tether_doctor_findings(&r, NULL, &rep);
    assert_int_equal(rep.client_idle_timeout_ms, 900);
    assert_int_equal(rep.tcp_keepalive_idle_ms, 900);
    const struct tether_doctor_finding *f = find(&rep, "client_idle_timeout");
    assert_non_null(f);
    assert_non_null(strstr(f->fix, "<= 900 ms"));
    assert_non_null(strstr(f->fix, "timeout: 900}"));
    assert_null(strstr(f->fix, "54"));
    assert_non_null(strstr(f->message, "longer than 1.0 s"));
    assert_non_null(find(&rep, "silent_drop"));
    /* No known default in (1 s, 5 s]: the proxy reproduces it mid-bracket, a timeout as a
     * black hole, an RST as the silent mode that resets the next packet. */
    assert_string_equal(rep.reproduce,
                        "tether proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:8080 "
                        "--toxic conntrack_expiry:timeout=3000,then=blackhole");
    r.probes[1].outcome = TETHER_DOCTOR_PROBE_RST;
    tether_doctor_findings(&r, NULL, &rep);
    assert_string_equal(rep.reproduce,
                        "tether proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:8080 "
                        "--toxic idle_timeout:timeout=3000,action=silent");

    /* The drop after the hint's time changes nothing: the hint's 54 s stays. */
    r.probes[0].idle_ms = 100000;
    r.probes[1].idle_ms = 200000;
    tether_doctor_findings(&r, NULL, &rep);
    assert_int_equal(rep.client_idle_timeout_ms, 54000);
    f = find(&rep, "client_idle_timeout");
    assert_non_null(f);
    assert_non_null(strstr(f->fix, "<= 54.0 s"));
}

static void test_behind(void **state)
{
    (void)state;
    struct tether_doctor_result lb = measured(60000, TETHER_DOCTOR_CLOSE_FIN, -1);
    struct tether_doctor_report rep;
    static const struct {
        uint64_t backend_ms;
        const char *id;
        enum tether_doctor_severity sev;
    } cases[] = {
        {6000, "backend_keepalive_le_lb", TETHER_DOCTOR_HIGH},  /* Node 5 s behind ALB */
        {60000, "backend_keepalive_le_lb", TETHER_DOCTOR_HIGH}, /* equal is still a race */
        {62000, "backend_keepalive_margin", TETHER_DOCTOR_MEDIUM},
        {75000, "backend_keepalive_ok", TETHER_DOCTOR_INFO}, /* nginx behind ALB */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tether_doctor_result be = measured(cases[i].backend_ms, TETHER_DOCTOR_CLOSE_FIN, -1);
        tether_doctor_findings(&lb, &be, &rep);
        const struct tether_doctor_finding *f = find(&rep, cases[i].id);
        if (!f || f->severity != cases[i].sev) {
            fail_msg("backend %llu ms: %s missing", (unsigned long long)cases[i].backend_ms,
                     cases[i].id);
        }
        assert_int_equal(rep.server_keep_alive_timeout_ms, 65000);
        assert_int_equal(rep.server_headers_timeout_ms, 66000);
    }
    /* The ALB default is recognised and reproduced by its preset. */
    assert_non_null(strstr(rep.likely_hop, "ALB"));
    assert_non_null(strstr(rep.reproduce, "--preset aws-alb"));
}

static void test_match_defaults(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(tether_doctor_match_defaults(75000, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)),
                     1);
    assert_non_null(strstr(buf, "nginx"));
    /* 3 % either way, at least 200 ms. */
    assert_int_equal(tether_doctor_match_defaults(77200, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)),
                     1);
    assert_int_equal(tether_doctor_match_defaults(77300, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)),
                     0);
    assert_string_equal(buf, "");
    assert_int_equal(tether_doctor_match_defaults(6150, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)),
                     1);
    assert_non_null(strstr(buf, "Node.js"));
    assert_int_equal(tether_doctor_match_defaults(6250, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)),
                     0);
    /* 5 s: Apache, Gunicorn/Uvicorn and Node without its 1 s buffer. */
    assert_int_equal(tether_doctor_match_defaults(5000, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)),
                     3);
    /* 60 s: ALB, Tomcat and Fly.io all close there. */
    assert_int_equal(tether_doctor_match_defaults(60000, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)),
                     3);
    /* The way it closed matters: Azure resets at 4 min only with TCP reset on. */
    assert_int_equal(
        tether_doctor_match_defaults(240000, TETHER_DOCTOR_CLOSE_RST, buf, sizeof(buf)), 1);
    assert_non_null(strstr(buf, "TCP reset"));
    assert_int_equal(
        tether_doctor_match_defaults(240000, TETHER_DOCTOR_CLOSE_FIN, buf, sizeof(buf)), 0);
    /* A small buffer is truncated, never overrun; the count stays right. */
    char tiny[8];
    assert_int_equal(
        tether_doctor_match_defaults(60000, TETHER_DOCTOR_CLOSE_FIN, tiny, sizeof(tiny)), 3);
    assert_int_equal(strlen(tiny), 7);
}

static void test_tls(void **state)
{
    (void)state;
    struct tether_doctor_result r = measured(75000, TETHER_DOCTOR_CLOSE_FIN, -1);
    struct tether_doctor_report rep;
    /* http://: no TLS findings whatever the (unset) TLS fields say. */
    tether_doctor_findings(&r, NULL, &rep);
    assert_null(find(&rep, "tls_unverified"));
    assert_null(find(&rep, "tls_hostname_mismatch"));
    r.tls = true;
    r.tls_verified = true;
    r.tls_hostname_match = true;
    r.tls_expires_in_days = 90;
    tether_doctor_findings(&r, NULL, &rep);
    assert_null(find(&rep, "tls_unverified"));
    assert_null(find(&rep, "tls_expires_soon"));
    r.tls_verified = false;
    (void)strcpy(r.tls_verify_error, "self-signed certificate");
    r.tls_hostname_match = false;
    r.tls_expires_in_days = 13;
    tether_doctor_findings(&r, NULL, &rep);
    assert_int_equal(find(&rep, "tls_unverified")->severity, TETHER_DOCTOR_HIGH);
    assert_non_null(strstr(find(&rep, "tls_unverified")->message, "self-signed"));
    assert_int_equal(find(&rep, "tls_hostname_mismatch")->severity, TETHER_DOCTOR_HIGH);
    assert_int_equal(find(&rep, "tls_expires_soon")->severity, TETHER_DOCTOR_MEDIUM);
    r.tls_expires_in_days = -2;
    tether_doctor_findings(&r, NULL, &rep);
    assert_null(find(&rep, "tls_expires_soon"));
    assert_int_equal(find(&rep, "tls_expired")->severity, TETHER_DOCTOR_HIGH);
}

static void test_ramp(void **state)
{
    (void)state;
    struct tether_doctor_result r = measured(75000, TETHER_DOCTOR_CLOSE_FIN, -1);
    struct tether_doctor_report rep;
    tether_doctor_findings(&r, NULL, &rep);
    assert_null(find(&rep, "connection_limit"));
    r.ramp_ran = true;
    r.ramp.tried = r.ramp.answered = 50;
    tether_doctor_findings(&r, NULL, &rep);
    assert_int_equal(find(&rep, "connection_limit")->severity, TETHER_DOCTOR_INFO);
    static const struct {
        enum tether_doctor_probe_outcome how;
        int uv_error;
        enum tether_doctor_severity sev;
        const char *says;
    } cases[] = {
        {TETHER_DOCTOR_PROBE_TIMEOUT, 0, TETHER_DOCTOR_MEDIUM, "queues beyond 9"},
        {TETHER_DOCTOR_PROBE_FIN, 0, TETHER_DOCTOR_HIGH, "connection 10 was closed (FIN)"},
        {TETHER_DOCTOR_PROBE_RST, UV_ECONNRESET, TETHER_DOCTOR_HIGH, "reset (RST)"},
        {TETHER_DOCTOR_PROBE_ERROR, UV_ECONNREFUSED, TETHER_DOCTOR_HIGH, "was refused"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r.ramp = (struct tether_doctor_ramp){.tried = 10,
                                             .answered = 9,
                                             .limit_found = true,
                                             .limit_at = 9,
                                             .how = cases[i].how,
                                             .uv_error = cases[i].uv_error};
        tether_doctor_findings(&r, NULL, &rep);
        const struct tether_doctor_finding *f = find(&rep, "connection_limit");
        assert_non_null(f);
        assert_int_equal(f->severity, cases[i].sev);
        if (!strstr(f->message, cases[i].says) || !strstr(f->fix, "below 9")) {
            fail_msg("ramp case %zu: '%s' / '%s'", i, f->message, f->fix);
        }
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(tether_doctor_severity_name(TETHER_DOCTOR_HIGH), "high");
    assert_string_equal(tether_doctor_close_name(TETHER_DOCTOR_CLOSE_RST), "rst");
    assert_string_equal(tether_doctor_close_name(TETHER_DOCTOR_CLOSE_NONE), "none");
    assert_string_equal(tether_doctor_probe_name(TETHER_DOCTOR_PROBE_TIMEOUT), "timeout");
    assert_string_equal(tether_doctor_severity_name((enum tether_doctor_severity)42), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_hint_order_and_max),
        cmocka_unit_test(test_silent_drop),
        cmocka_unit_test(test_silent_drop_overrides_pool_finding),
        cmocka_unit_test(test_behind),
        cmocka_unit_test(test_match_defaults),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_ramp),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
