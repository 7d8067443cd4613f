/* SPDX-License-Identifier: MIT */
/* Where a failed attempt got to (its commit point), which methods are idempotent, and when a
 * dead reused connection may be replayed transparently. */
#include <string.h>

#include "policy/policy.h"

/*
 * The class comes from the failure record alone, in this order:
 *
 *  1. code 0 is no failure: NONE.
 *  2. DNS, CONNECT or TLS phase: NEVER_SENT. The request is written only once the transport is
 *     up, so no request byte can have left; any byte counts there are handshake bytes (or a
 *     proxy's CONNECT), which is why the phase is asked before the counters.
 *  3. bytes_received > 0: RESPONDED. Part of a response arrived (a status line, or headers and
 *     some body before a reset), so the server ran the request; what to do is the status's
 *     business (or resume's, for a body cut short), never a blind repeat.
 *  4. WRITE phase with bytes_sent == 0: NEVER_SENT. The write failed before the kernel took a
 *     single byte (EPIPE/ECONNRESET on the first send into a socket the peer had closed) — the
 *     HTTP/1.1 idle-close race, which Envoy's reset-before-request misses (policy.md §9.2 item 4).
 *  5. Anything else: SENT_NO_RESPONSE. Some request bytes may have reached the server, or the
 *     record cannot prove they did not (a read-phase failure with no byte count), so only an
 *     idempotent request may be repeated.
 */
enum tether_failure_class tether_failure_classify(const struct tether_failure *f)
{
    if (!f || f->code == 0) {
        return TETHER_CLASS_NONE;
    }
    switch (f->phase) {
    case TETHER_PHASE_DNS:
    case TETHER_PHASE_CONNECT:
    case TETHER_PHASE_TLS:
        return TETHER_CLASS_NEVER_SENT;
    default:
        break;
    }
    if (f->bytes_received > 0) {
        return TETHER_CLASS_RESPONDED;
    }
    if (f->phase == TETHER_PHASE_WRITE && f->bytes_sent == 0) {
        return TETHER_CLASS_NEVER_SENT;
    }
    return TETHER_CLASS_SENT_NO_RESPONSE;
}

bool tether_method_is_idempotent(const char *method)
{
    /* RFC 9110 §9.2.2. Method names are case-sensitive (§9.1), so "get" is not GET: a server
     * may treat it as an unknown, unsafe method. */
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    if (!method) {
        return false;
    }
    for (size_t i = 0; i < tt__countof(idempotent); i++) {
        if (strcmp(method, idempotent[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* The errors that mean "the peer closed or reset the connection": the only ones the stale-
 * connection race produces. A timeout or a protocol error says the server is alive and slow
 * or broken, and replaying would hide that. */
static bool policy_is_connection_loss(int code)
{
    switch (code) {
    case TETHER_ECONNRESET:
    case TETHER_EPIPE:
    case TETHER_EHANGUP:
    case TETHER_EEOF:
    case TETHER_ECONNABORTED:
        return true;
    default:
        return false;
    }
}

bool tt__replay_allowed(const struct tether_policy *p, const char *method, bool has_key,
                        bool request_rewindable, bool reused, uint64_t bytes_sent,
                        uint64_t bytes_received, int code, unsigned replays_so_far)
{
    if (p->max_replays == 0 || replays_so_far >= p->max_replays) {
        return false;
    }
    /* A fresh connection that dies is not the idle-close race: it is a real failure for the
     * retry policy to judge. Any response byte means the server acted on the request. */
    if (!reused || bytes_received > 0 || !policy_is_connection_loss(code)) {
        return false;
    }
    /* Rule 11(a): nothing reached the kernel, so the server cannot have seen the request. */
    if (bytes_sent == 0) {
        return true;
    }
    /* Rule 11(b): it may have been delivered, so only a request that is safe to run twice,
     * and only if its body can be sent again. retry_non_idempotent deliberately does not apply
     * here: a replay is silent, and a POST replayed silently is exactly what curl/curl#18417
     * objects to. */
    return request_rewindable && (tether_method_is_idempotent(method) || has_key);
}

enum tether_retry_safety tt__retry_safety(const char *method, bool has_key, bool request_rewindable,
                                          const struct tether_failure *f)
{
    if (tether_failure_classify(f) == TETHER_CLASS_NEVER_SENT) {
        return TETHER_RETRY_SAFE_YES;
    }
    if (!request_rewindable) {
        return TETHER_RETRY_SAFE_NO;
    }
    return (tether_method_is_idempotent(method) || has_key) ? TETHER_RETRY_SAFE_YES
                                                            : TETHER_RETRY_SAFE_NO;
}
