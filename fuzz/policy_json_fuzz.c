/* SPDX-License-Identifier: MIT */
/* libFuzzer: policy JSON is all-or-nothing, explains refusals, and round-trips what it accepts. */
#include <stdio.h>
#include <string.h>

#include "fuzz_util.h"
#include "tether/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MS (365ull * 24 * 3600 * 1000) /* the parser's bound on durations */

/* Every field but jitter and retry_statuses, by kind: Bool, Ms, Unsigned, siZe, Double. */
/* clang-format off */
#define FIELDS(B, M, U, Z, D)                                                                      \
    B(keep_alive) B(watch_idle) B(probe_on_checkout) B(honour_keep_alive_hint)                     \
    B(learn_idle_close) M(idle_timeout_ms) M(hint_margin_ms) M(max_idle_timeout_ms)                \
    M(learn_margin_ms) M(max_conn_lifetime_ms) U(max_requests_per_conn) U(max_conns_per_origin)    \
    B(tcp_keepalive) U(tcp_keepalive_idle_s) U(tcp_keepalive_interval_s) U(tcp_keepalive_count)    \
    U(max_replays) Z(replay_buffer_bytes) U(max_attempts) M(backoff_base_ms) M(backoff_cap_ms)     \
    B(retry_non_idempotent) B(honour_retry_after) M(max_pushback_ms) D(budget_ratio)               \
    M(budget_window_ms) D(budget_min_retries_per_s) M(deadline_ms) M(connect_timeout_ms)           \
    M(tls_timeout_ms) M(headers_timeout_ms) M(body_timeout_ms)
/* clang-format on */

static void check_sane(const struct tether_policy *p)
{
#define BOOL_OK(f) FUZZ_CHECK(*(const unsigned char *)&p->f <= 1);
#define MS_OK(f) FUZZ_CHECK(p->f <= MAX_MS || &p->f == &p->idle_timeout_ms);
#define ANY(f)
    FIELDS(BOOL_OK, MS_OK, ANY, ANY, ANY)
    FUZZ_CHECK(p->idle_timeout_ms <= MAX_MS || p->idle_timeout_ms == UINT64_MAX); /* naive */
    FUZZ_CHECK(p->max_requests_per_conn <= 1000000000u && p->max_replays <= 10);
    FUZZ_CHECK(p->max_conns_per_origin >= 1 && p->max_conns_per_origin <= 65536);
    FUZZ_CHECK(p->tcp_keepalive_idle_s >= 1 && p->tcp_keepalive_idle_s <= 32767);
    FUZZ_CHECK(p->tcp_keepalive_interval_s >= 1 && p->tcp_keepalive_interval_s <= 32767);
    FUZZ_CHECK(p->tcp_keepalive_count >= 1 && p->tcp_keepalive_count <= 127);
    FUZZ_CHECK(p->replay_buffer_bytes <= (size_t)1 << 30);
    FUZZ_CHECK(p->max_attempts >= 1 && p->max_attempts <= 10);
    FUZZ_CHECK(p->budget_ratio >= 0 && p->budget_ratio <= 1);
    FUZZ_CHECK(p->budget_min_retries_per_s >= 0 && p->budget_min_retries_per_s <= 1e6);
    FUZZ_CHECK(p->jitter == TETHER_JITTER_FULL || p->jitter == TETHER_JITTER_EQUAL ||
               p->jitter == TETHER_JITTER_NONE);
    FUZZ_CHECK(p->nretry_statuses <= TETHER_POLICY_MAX_STATUSES);
    for (size_t i = 0; i < TETHER_POLICY_MAX_STATUSES; i++) { /* the unused tail is zero */
        int st = p->retry_statuses[i];
        FUZZ_CHECK(i < p->nretry_statuses ? st >= 100 && st <= 599 : st == 0);
    }
}

/* Every field spelled out; only "base":"naive" can give idle_timeout_ms = UINT64_MAX. */
static void to_json(const struct tether_policy *p, char *out, size_t cap)
{
    static const char *const jitter[] = {"full", "equal", "none"};
    bool naive = p->idle_timeout_ms == UINT64_MAX;
    size_t n = 0;
#define PUT(...) (n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__), FUZZ_CHECK(n < cap))
#define PUT_B(f) PUT("\"" #f "\":%s,", p->f ? "true" : "false");
#define PUT_M(f)                                                                                   \
    if (p->f != UINT64_MAX) {                                                                      \
        PUT("\"" #f "\":\"%llums\",", (unsigned long long)p->f);                                   \
    }
#define PUT_U(f) PUT("\"" #f "\":%llu,", (unsigned long long)p->f);
#define PUT_D(f) PUT("\"" #f "\":%.17g,", p->f);
    PUT("{\"base\":\"%s\",", naive ? "naive" : "default");
    FIELDS(PUT_B, PUT_M, PUT_U, PUT_U, PUT_D)
    PUT("\"jitter\":\"%s\",\"retry_statuses\":[", jitter[p->jitter]);
    for (size_t i = 0; i < p->nretry_statuses; i++) {
        PUT("%s%d", i ? "," : "", p->retry_statuses[i]);
    }
    PUT("]}");
}

static void check_same(const struct tether_policy *a, const struct tether_policy *b)
{
#define SAME(f) FUZZ_CHECK(a->f == b->f);
    FIELDS(SAME, SAME, SAME, SAME, SAME)
    FUZZ_CHECK(a->jitter == b->jitter && a->nretry_statuses == b->nretry_statuses);
    FUZZ_CHECK(memcmp(a->retry_statuses, b->retry_statuses, sizeof(a->retry_statuses)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    struct tether_policy p, q, pattern;
    char err[512], small[48];
    memset(&pattern, 0xA5, sizeof(pattern));
    memcpy(&p, &pattern, sizeof(p));
    memset(err, 0xA5, sizeof(err));
    int rv = tether_policy_from_json(json, size, &p, err, sizeof(err));
    FUZZ_CHECK(rv == 0 || rv == TETHER_EINVAL || rv == TETHER_ENOMEM);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);

    /* A small buffer gets the same message cut short; no buffer at all, the same verdict. */
    size_t small_len = 1 + (size_t)(fuzz_hash(data, size) % sizeof(small));
    memcpy(&q, &pattern, sizeof(q));
    FUZZ_CHECK(tether_policy_from_json(json, size, &q, small, small_len) == rv);
    FUZZ_CHECK(strlen(small) < small_len && strncmp(small, err, small_len - 1) == 0);
    FUZZ_CHECK(tether_policy_from_json(json, size, &q, NULL, 0) == rv);

    if (rv != 0) { /* p is written only on success, and a refusal says why */
        FUZZ_CHECK(memcmp(&p, &pattern, sizeof(p)) == 0 && memcmp(&q, &pattern, sizeof(q)) == 0);
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    check_sane(&p);
    char text[4096];
    to_json(&p, text, sizeof(text));
    memcpy(&q, &pattern, sizeof(q));
    FUZZ_CHECK(tether_policy_from_json(text, strlen(text), &q, err, sizeof(err)) == 0);
    check_same(&p, &q);
    return 0;
}
