/* SPDX-License-Identifier: MIT */
/*
 * Real kernel faults, once each (the CTest soak_netns_smoke; tests/soak/netns.sh builds the
 * network and runs this in the client's namespace): the tether client library against
 * `tether serve` across a middlebox namespace whose iptables rules this program changes.
 *
 *   1. REJECT --reject-with tcp-reset on the flow of a pooled connection: the reused
 *      connection is reset, the request is replayed or retried, and succeeds once the rule is
 *      gone (as the proxy's reset toxic).
 *   2. DROP both ways (a black hole) under a request in flight: TCP_USER_TIMEOUT ends the wait
 *      (ETIMEDOUT) long before the 60 s response timeout, then a retry succeeds (as the
 *      proxy's blackhole toxic).
 *   3. conntrack forgets an idle flow (a 2 s nf_conntrack_tcp_timeout_established, INVALID
 *      packets rejected with a reset): the reused connection's GET is replayed on a fresh one
 *      (as the proxy's conntrack_expiry{then: rst_on_next}).
 *   4. The same for an unkeyed POST: it fails with read ECONNRESET, retry-safe "no", and the
 *      server never executed it: nothing runs twice.
 *
 * Each fault is healed when the client reports the failed attempt (its event hook), so the
 * order of fault, failure and recovery is fixed by events, not by timing.
 *
 *   netns_smoke URL MIDDLEBOX_NS SERVER_PORT EXEC_LOG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "tether/tether.h"

struct smoke {
    uv_loop_t loop;
    tether_client *client;
    const char *url;
    const char *ns;
    const char *port;
    const char *exec_log;
    const char *heal; /* the rule to delete at the first failed attempt, or NULL */
    bool healed;
    struct tether_failure first; /* the first failed attempt of the current fetch */
    bool done;
    int status;
    int http_status;
    unsigned replays, retries;
    uint64_t ms;
    int failures;
};

/* Runs `ip netns exec NS iptables ARGS`; returns its exit status. */
static int smoke_iptables(struct smoke *s, const char *args)
{
    char cmd[512];
    (void)snprintf(cmd, sizeof(cmd), "ip netns exec %s iptables %s", s->ns, args);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "netns_smoke: '%s' failed (%d)\n", cmd, rc);
    }
    return rc;
}

static void smoke_on_event(tether_client *c, const struct tether_event *ev)
{
    struct smoke *s = tether_client_get_data(c);
    if (ev->type != TETHER_EVENT_ATTEMPT_FAILED || s->first.code != 0) {
        return;
    }
    s->first = *ev->failure;
    if (s->heal && !s->healed) {
        s->healed = true;
        (void)smoke_iptables(s, s->heal);
    }
}

static void smoke_done(tether_fetch *f, int status)
{
    struct smoke *s = tether_fetch_get_data(f);
    s->done = true;
    s->status = status;
    s->http_status = tether_fetch_status(f);
    s->replays = tether_fetch_replays(f);
    s->retries = tether_fetch_retries(f);
    s->ms = tether_fetch_duration_ms(f);
    const struct tether_failure *fl = tether_fetch_failure(f);
    if (status != 0) {
        s->first = *fl;
    }
    tether_fetch_free(f);
}

/* One fetch, run to its end. `heal` is deleted at its first failed attempt. */
static void smoke_fetch(struct smoke *s, const char *method, const char *id, const char *heal)
{
    s->heal = heal;
    s->healed = false;
    s->done = false;
    tether_failure_init(&s->first);
    struct tether_header h[] = {{"X-Request-Id", id}};
    struct tether_fetch_options o;
    tether_fetch_options_init(&o);
    o.url = s->url;
    o.method = method;
    o.headers = h;
    o.nheaders = 1;
    o.data = s;
    if (strcmp(method, "POST") == 0) {
        o.body = "once";
        o.body_len = 4;
    }
    if (tether_client_fetch(s->client, &o, smoke_done, NULL) != 0) {
        s->done = true;
        s->status = TETHER_EINVAL;
        return;
    }
    while (!s->done) {
        (void)uv_run(&s->loop, UV_RUN_ONCE);
    }
}

static void smoke_check(struct smoke *s, bool ok, const char *what)
{
    char msg[256];
    (void)tether_failure_message(&s->first, msg, sizeof(msg));
    printf("%s %s (status %d, HTTP %d, first failure '%s', %u replays, %u retries, %llu ms)\n",
           ok ? "ok  " : "FAIL", what, s->status, s->http_status, s->first.code ? msg : "none",
           s->replays, s->retries, (unsigned long long)s->ms);
    (void)fflush(stdout);
    s->failures += !ok;
}

/* Waits (bounded) until the middlebox's conntrack table has no flow to the server's port. */
static bool smoke_wait_forgotten(struct smoke *s)
{
    char cmd[256];
    (void)snprintf(cmd, sizeof(cmd),
                   "ip netns exec %s conntrack -L -p tcp --dport %s 2>/dev/null | grep -q ESTAB",
                   s->ns, s->port);
    for (int i = 0; i < 200; i++) {
        if (system(cmd) != 0) {
            return true;
        }
        uv_sleep(100);
    }
    return false;
}

static bool smoke_executed(const struct smoke *s, const char *id)
{
    FILE *f = fopen(s->exec_log, "r");
    char line[256];
    bool found = false;
    size_t n = strlen(id);
    while (f && fgets(line, sizeof(line), f)) {
        found = found || (strncmp(line, id, n) == 0 && line[n] == ' ');
    }
    if (f) {
        (void)fclose(f);
    }
    return found;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: netns_smoke URL MIDDLEBOX_NS SERVER_PORT EXEC_LOG\n");
        return 2;
    }
    (void)tether_ignore_sigpipe();
    static struct smoke s;
    s.url = argv[1];
    s.ns = argv[2];
    s.port = argv[3];
    s.exec_log = argv[4];
    if (uv_loop_init(&s.loop) != 0) {
        return 1;
    }
    struct tether_client_options co;
    tether_client_options_init(&co);
    /* Keepalive after 5 s idle, so the 2 s conntrack expiry of case 3 is not refreshed by
     * probes; TCP_USER_TIMEOUT follows: 5 + 1 x 2 = 7 s. The response timeout is far longer:
     * only the kernel can end case 2 in time. */
    co.policy.tcp_keepalive_idle_s = 5;
    co.policy.tcp_keepalive_interval_s = 1;
    co.policy.tcp_keepalive_count = 2;
    co.policy.headers_timeout_ms = 60000;
    co.policy.deadline_ms = 45000;
    co.policy.max_attempts = 5;
    co.policy.backoff_base_ms = 50;
    co.data = &s;
    if (tether_client_new(&s.loop, &co, &s.client) != 0) {
        return 1;
    }
    tether_client_on_event(s.client, smoke_on_event);

    char rule[256];
    char rule2[256];
    char del[300];

    smoke_fetch(&s, "GET", "warm", NULL);
    smoke_check(&s, s.status == 0 && s.http_status == 200, "a pooled connection");

    /* 1. REJECT with a TCP reset. */
    (void)snprintf(rule, sizeof(rule),
                   "FORWARD -p tcp --dport %s -j REJECT --reject-with tcp-reset", s.port);
    (void)snprintf(del, sizeof(del), "-D %s", rule);
    char ins[300];
    (void)snprintf(ins, sizeof(ins), "-I %s", rule);
    if (smoke_iptables(&s, ins) == 0) {
        smoke_fetch(&s, "GET", "reject", del);
        smoke_check(&s,
                    s.status == 0 && s.http_status == 200 && s.first.code == TETHER_ECONNRESET &&
                        s.first.reused,
                    "REJECT tcp-reset: the reused connection is reset, the GET recovers");
    } else {
        s.failures++;
    }

    /* 2. DROP both ways: a black hole under the request. */
    (void)snprintf(rule, sizeof(rule), "FORWARD -p tcp --dport %s -j DROP", s.port);
    (void)snprintf(rule2, sizeof(rule2), "FORWARD -p tcp --sport %s -j DROP", s.port);
    char heal2[600];
    (void)snprintf(heal2, sizeof(heal2), "-D %s && ip netns exec %s iptables -D %s", rule, s.ns,
                   rule2);
    char ins2[300];
    (void)snprintf(ins, sizeof(ins), "-I %s", rule);
    (void)snprintf(ins2, sizeof(ins2), "-I %s", rule2);
    if (smoke_iptables(&s, ins) == 0 && smoke_iptables(&s, ins2) == 0) {
        smoke_fetch(&s, "GET", "blackhole", heal2);
        smoke_check(&s,
                    s.status == 0 && s.http_status == 200 && s.first.code == TETHER_ETIMEDOUT &&
                        s.ms < 20000,
                    "DROP: TCP_USER_TIMEOUT ends the wait on the black hole, the GET recovers");
    } else {
        s.failures++;
    }

    /* 3. conntrack forgets the idle flow; the INVALID packet gets a reset. */
    bool forgotten = smoke_wait_forgotten(&s);
    smoke_fetch(&s, "GET", "expired", NULL);
    smoke_check(&s,
                forgotten && s.status == 0 && s.http_status == 200 && s.replays == 1 &&
                    s.first.code == TETHER_ECONNRESET,
                "conntrack expiry: the forgotten flow's GET is replayed on a fresh connection");

    /* 4. The same for an unkeyed POST: never replayed, never executed. */
    forgotten = smoke_wait_forgotten(&s);
    smoke_fetch(&s, "POST", "expired-post", NULL);
    smoke_check(&s,
                forgotten && s.status == TETHER_ECONNRESET &&
                    s.first.retry_safe == TETHER_RETRY_SAFE_NO &&
                    !smoke_executed(&s, "expired-post"),
                "conntrack expiry: the unkeyed POST fails retry-safe no, not executed");

    tether_client_close(s.client, NULL, NULL);
    (void)uv_run(&s.loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&s.loop);
    printf("netns smoke: %s\n", s.failures ? "FAILED" : "ok");
    return s.failures ? 1 : 0;
}
