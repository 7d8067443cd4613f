/* SPDX-License-Identifier: MIT */
/* The two built-in policies (DESIGN.md §4 defaults and the "naive" baseline) and lookup by name. */
#include <string.h>

#include "policy/policy.h"

void tether_policy_defaults(struct tether_policy *p)
{
    /* Each value is justified in DESIGN.md §4 and anchors/{client,policy}.md; the header lists
     * them field by field, so a change here must change policy.h too. */
    static const int statuses[] = {408, 429, 500, 502, 503, 504};

    memset(p, 0, sizeof(*p));
    p->keep_alive = true;
    p->watch_idle = true;
    p->probe_on_checkout = true;
    p->honour_keep_alive_hint = true;
    p->learn_idle_close = true;
    p->idle_timeout_ms = 4000;
    p->hint_margin_ms = 1000;
    p->max_idle_timeout_ms = 600000;
    p->learn_margin_ms = 250;
    p->max_conn_lifetime_ms = 86400000;
    p->max_requests_per_conn = 0;
    p->max_conns_per_origin = 256;
    p->tcp_keepalive = true;
    p->tcp_keepalive_idle_s = 30;
    p->tcp_keepalive_interval_s = 10;
    p->tcp_keepalive_count = 3;

    p->max_replays = 2;
    p->replay_buffer_bytes = (size_t)256 * 1024;

    p->max_attempts = 3;
    p->backoff_base_ms = 100;
    p->backoff_cap_ms = 20000;
    p->jitter = TETHER_JITTER_FULL;
    memcpy(p->retry_statuses, statuses, sizeof(statuses));
    p->nretry_statuses = tt__countof(statuses);
    p->retry_non_idempotent = false;
    p->honour_retry_after = true;
    p->max_pushback_ms = 300000;
    p->budget_ratio = 0.2;
    p->budget_window_ms = 10000;
    p->budget_min_retries_per_s = 10.0;

    p->deadline_ms = 0;
    p->connect_timeout_ms = 10000;
    p->tls_timeout_ms = 10000;
    p->headers_timeout_ms = 300000;
    p->body_timeout_ms = 300000;

    p->breaker = TETHER_BREAKER_OFF;
    p->breaker_failure_ratio = 0.5;
    p->breaker_min_calls = 100;
    p->breaker_window_ms = 30000;
    p->breaker_consecutive_failures = 5;
    p->breaker_open_ms = 5000;
    p->breaker_open_max_ms = 300000;
    p->breaker_probe_timeout_ms = 10000;
    p->resume = true;
}

void tether_policy_naive(struct tether_policy *p)
{
    /* What Node's http.Agent({keepAlive: true}) and most pools ship: reuse sockets, never look
     * at them while idle, never retire them, never replay or retry. The retry parameters keep
     * their defaults so {"base": "naive", "max_attempts": 3} adds plain retries to the naive
     * pool without also having to restate the backoff. The connect timeout stays at 10 s: an
     * OS connect still gives up on its own (about 2 min on Linux), and tests should not hang. */
    tether_policy_defaults(p);
    p->watch_idle = false;
    p->probe_on_checkout = false;
    p->honour_keep_alive_hint = false;
    p->learn_idle_close = false;
    p->idle_timeout_ms = UINT64_MAX;
    p->max_conn_lifetime_ms = 0;
    p->tcp_keepalive = false;
    p->max_replays = 0;
    p->max_attempts = 1;
    p->resume = false;
}

/* Writes `msg` into the caller's buffer, always NUL-terminated, nothing when there is none. */
static void policy_set_err(char *err, size_t err_len, const char *msg)
{
    if (err && err_len > 0) {
        size_t n = strlen(msg);
        if (n >= err_len) {
            n = err_len - 1;
        }
        memcpy(err, msg, n);
        err[n] = '\0';
    }
}

int tether_policy_named(const char *name_or_path, struct tether_policy *p, char *err,
                        size_t err_len)
{
    if (!p) {
        policy_set_err(err, err_len, "no policy to fill");
        return TETHER_EINVAL;
    }
    if (!name_or_path || !name_or_path[0]) {
        policy_set_err(err, err_len, "policy name is empty (expected naive, default or a file)");
        return TETHER_EINVAL;
    }
    /* The built-in names win over files of the same name; "./naive" reaches such a file. */
    if (strcmp(name_or_path, "naive") == 0) {
        tether_policy_naive(p);
        policy_set_err(err, err_len, "");
        return 0;
    }
    if (strcmp(name_or_path, "default") == 0) {
        tether_policy_defaults(p);
        policy_set_err(err, err_len, "");
        return 0;
    }
    return tether_policy_load(name_or_path, p, err, err_len);
}
