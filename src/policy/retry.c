/* SPDX-License-Identifier: MIT */
/* Backoff with jitter and the "again?" decision after an attempt: failure class, idempotency,
 * status list, server pushback, the deadline and the attempt limit. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "http1/http1.h"
#include "policy/policy.h"

/* min(cap, base * 2^(n-1)) without overflow: the bound full jitter draws below. */
static uint64_t policy_backoff_ceiling(const struct tether_policy *p, unsigned retry)
{
    uint64_t d = p->backoff_base_ms;
    /* Stops as soon as the cap (or zero) is reached, so a huge `retry` costs nothing. */
    for (unsigned i = 1; i < retry && d != 0 && d < p->backoff_cap_ms; i++) {
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    }
    return d < p->backoff_cap_ms ? d : p->backoff_cap_ms;
}

uint64_t tt__backoff_delay(const struct tether_policy *p, unsigned retry, struct ttx_rng *rng)
{
    /* The cap applies before the draw, so clients that have all reached the cap still spread
     * over [0, cap) instead of all waking at cap (resilience4j and Polly clamp after the draw
     * and resynchronise their clients there; policy.md §9.3). */
    uint64_t d = policy_backoff_ceiling(p, retry ? retry : 1);
    switch (p->jitter) {
    case TETHER_JITTER_EQUAL: {
        uint64_t half = d / 2;
        return half + ttx_rng_below(rng, d - half);
    }
    case TETHER_JITTER_NONE:
        return d;
    case TETHER_JITTER_FULL:
    default:
        return ttx_rng_below(rng, d);
    }
}

static bool policy_status_listed(const struct tether_policy *p, int status)
{
    size_t n = p->nretry_statuses < TETHER_POLICY_MAX_STATUSES ? p->nretry_statuses
                                                               : TETHER_POLICY_MAX_STATUSES;
    for (size_t i = 0; i < n; i++) {
        if (p->retry_statuses[i] == status) {
            return true;
        }
    }
    return false;
}

/* A network failure worth another attempt at all. EEOF is not in tether_err_is_transient's
 * list (a clean end of stream is not an error for a reader), but a connection that ends before
 * any response byte is the same event as "socket hang up". */
static bool policy_network_retryable(int code)
{
    return tether_err_is_transient(code) || code == TETHER_EEOF;
}

/* "2s" for whole seconds (what Retry-After says), "1500ms" otherwise (an HTTP-date or a
 * fractional X-RateLimit-Reset). */
static void policy_format_wait(char *buf, size_t len, uint64_t ms)
{
    if (ms == UINT64_MAX) {
        (void)snprintf(buf, len, "beyond any limit"); /* it overflowed: see policy_pushback */
    } else if (ms % 1000 == 0) {
        (void)snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
    } else {
        (void)snprintf(buf, len, "%" PRIu64 "ms", ms);
    }
}

/* How long the server asked us to wait, 0 when it did not (or said it unreadably: a broken
 * header must not stop a retry the status allows). Sets `source` to the header used. A
 * well-formed number too large to represent ("99999999999999999999") is a wait longer than
 * any cap, UINT64_MAX, not an absent header: it asks for more than a value that does fit, so
 * it must stop retrying as surely as one above max_pushback_ms does. */
static uint64_t policy_pushback(const struct tt__retry_input *in, const char **source)
{
    uint64_t ms = 0;
    *source = NULL;
    if (!in->policy->honour_retry_after || in->status == 0) {
        return 0;
    }
    if (in->retry_after) {
        int rv = tt__h1_parse_retry_after(in->retry_after, strlen(in->retry_after), in->now_unix_ms,
                                          &ms);
        if (rv == 0 || rv == TETHER_ERANGE) {
            *source = "Retry-After";
            return rv == 0 ? ms : UINT64_MAX;
        }
    }
    /* Rate-limited APIs (GitHub among them) send X-RateLimit-Reset on every response, where it
     * describes the quota window, not this failure: honoured only on a rate-limit answer, or a
     * 503 from a gateway would wait out an unrelated hour-long window. */
    if (in->ratelimit_reset && (in->status == 429 || in->status == 403)) {
        int rv = tt__h1_parse_ratelimit_reset(in->ratelimit_reset, strlen(in->ratelimit_reset),
                                              in->now_unix_ms, &ms);
        if (rv == 0 || rv == TETHER_ERANGE) {
            *source = "X-RateLimit-Reset";
            return rv == 0 ? ms : UINT64_MAX;
        }
    }
    return 0;
}

/* The longest sleep between refused connects while waiting for a server to come up. */
#define POLICY_WAIT_MAX_DELAY_MS 1000u

/* A refused connect while the fetch is inside its connrefused_wait_ms window. */
static bool policy_waiting_for_server(const struct tt__retry_input *in)
{
    const struct tether_failure *f = in->failure;
    uint64_t wait = in->policy->connrefused_wait_ms;
    if (!f || f->code != TETHER_ECONNREFUSED || wait == 0 ||
        tether_failure_classify(f) != TETHER_CLASS_NEVER_SENT) {
        return false;
    }
    uint64_t age = in->now_ms > in->started_ms ? in->now_ms - in->started_ms : 0;
    return wait == TETHER_WAIT_UNTIL_DEADLINE || age < wait;
}

void tt__retry_decide(const struct tt__retry_input *in, struct ttx_rng *rng,
                      struct tt__retry_decision *out)
{
    const struct tether_policy *p = in->policy;
    const struct tether_failure *f = in->failure;
    memset(out, 0, sizeof(*out));
    out->costs_budget = true;

    /* retry_non_idempotent is the user saying "my POSTs are safe to repeat". */
    bool idempotent = tether_method_is_idempotent(in->method) || in->has_idempotency_key ||
                      p->retry_non_idempotent;
    enum tether_failure_class cls = tether_failure_classify(f);
    bool never_sent = cls == TETHER_CLASS_NEVER_SENT;
    bool retryable;
    if (cls != TETHER_CLASS_NONE && !(cls == TETHER_CLASS_RESPONDED && in->status != 0)) {
        (void)tether_failure_message(f, out->reason, sizeof(out->reason));
        switch (cls) {
        case TETHER_CLASS_NEVER_SENT:
            /* The server cannot have run it, so the method does not matter (gRPC A6,
             * Finagle); the error still must be one that can go away. */
            retryable = policy_network_retryable(f->code);
            break;
        case TETHER_CLASS_SENT_NO_RESPONSE:
            retryable = idempotent && policy_network_retryable(f->code);
            break;
        default:
            /* A response cut short without a status: resume's job, not a blind repeat. */
            retryable = false;
            break;
        }
    } else if (f && f->code != 0 && in->status != 0) {
        /* A response cut short mid-body. A success whose body can go on (restarted in a sink
         * that can start over, or resumed with a Range: the client decides) is tried again
         * for an idempotent request (the server may run it again, RFC 9110 §9.2.2). Any other
         * status was judged when its head arrived: its cut body is final. */
        char msg[48];
        (void)tether_failure_message(f, msg, sizeof(msg));
        (void)snprintf(out->reason, sizeof(out->reason), "%s mid-body", msg);
        retryable = in->status >= 200 && in->status < 300 && in->body_restartable && idempotent &&
                    policy_network_retryable(f->code);
    } else {
        /* A response arrived (even if its body then failed): its status decides. */
        retryable = idempotent && policy_status_listed(p, in->status);
        const char *source;
        out->pushback_ms = policy_pushback(in, &source);
        if (in->status == 0) {
            (void)snprintf(out->reason, sizeof(out->reason), "no failure and no response");
        } else if (source) {
            char wait[32];
            policy_format_wait(wait, sizeof(wait), out->pushback_ms);
            (void)snprintf(out->reason, sizeof(out->reason), "status %d, %s %s", in->status, source,
                           wait);
        } else {
            (void)snprintf(out->reason, sizeof(out->reason), "status %d", in->status);
        }
    }
    /* Bytes of a body the client did not keep went out: it cannot be sent a second time. */
    bool body_gone = !in->request_rewindable && (in->status != 0 || (f && f->bytes_sent > 0));
    if (!retryable || body_gone) {
        out->verdict = TT__RETRY_NO;
        return;
    }

    if (out->pushback_ms > p->max_pushback_ms) {
        out->verdict = TT__RETRY_NO_PUSHBACK;
        return;
    }
    uint64_t backoff = tt__backoff_delay(p, in->attempts, rng);
    bool waiting = policy_waiting_for_server(in);
    if (waiting && backoff > POLICY_WAIT_MAX_DELAY_MS) {
        /* A server coming up is noticed within a second, whatever the backoff has grown to. */
        backoff = POLICY_WAIT_MAX_DELAY_MS;
    }
    uint64_t wait = backoff > out->pushback_ms ? backoff : out->pushback_ms;
    out->delay_ms = wait;
    /* Sleeping until the deadline itself leaves no time for the attempt, so the wait must end
     * strictly before it; retrying earlier than the server asked is never an option (undici's
     * clamp to 30 s does that, client.md §6.3 item 18). */
    if (in->deadline_at_ms != 0 &&
        (in->now_ms >= in->deadline_at_ms || wait >= in->deadline_at_ms - in->now_ms)) {
        out->verdict = TT__RETRY_NO_DEADLINE;
        return;
    }
    /* policy.md §9.2 item 7: nothing left, so nothing to pay for. */
    out->costs_budget = !never_sent;
    bool attempts_free = waiting && p->max_attempts > 1;
    if (in->attempts >= p->max_attempts && !attempts_free) {
        out->verdict = TT__RETRY_NO_ATTEMPTS;
        out->delay_ms = 0;
        return;
    }
    out->verdict = TT__RETRY_YES;
}
