/* SPDX-License-Identifier: MIT */
/* How long an idle pooled connection may live: retire it before the server's idle close, so
 * the request never meets a socket the server is closing (seed fix 1, client.md §6.1). */
#include "policy/policy.h"

/* a - b, or 0 when b >= a: a margin larger than the time itself means "no safe idle time". */
static uint64_t idle_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

uint64_t tt__idle_budget_ms(const struct tether_policy *p, int64_t hint_timeout_s,
                            uint64_t learned_close_ms)
{
    if (!p->keep_alive) {
        return 0;
    }
    uint64_t cap = p->max_idle_timeout_ms ? p->max_idle_timeout_ms : UINT64_MAX;
    bool have_hint = p->honour_keep_alive_hint && hint_timeout_s >= 0;
    bool have_learned = p->learn_idle_close && learned_close_ms > 0;
    if (!have_hint && !have_learned) {
        /* 0 in the field is "never retire" there, but 0 from here is "do not pool", so the
         * field's two spellings of "never" both become UINT64_MAX. */
        return p->idle_timeout_ms == 0 ? UINT64_MAX : p->idle_timeout_ms;
    }
    uint64_t budget = UINT64_MAX;
    if (have_hint) {
        /* The server closes at about N s after its last response; the margin covers the round
         * trip and timer slack on both sides. timeout=1 (or 0) leaves nothing: the server can
         * close before a request gets there, so such a connection is not pooled at all. */
        uint64_t hint_ms = (uint64_t)hint_timeout_s > UINT64_MAX / 1000
                               ? UINT64_MAX
                               : (uint64_t)hint_timeout_s * 1000;
        budget = idle_sub(hint_ms, p->hint_margin_ms);
    }
    if (have_learned) {
        /* A learned close is what the server actually does, which beats what it advertises
         * when it closes earlier; when both exist the earlier one wins. */
        uint64_t learned = idle_sub(learned_close_ms, p->learn_margin_ms);
        budget = learned < budget ? learned : budget;
    }
    /* The cap bounds what a server can make us hold open (timeout=86400 would pin sockets for
     * a day); it applies to learned values too, which come from the same server. */
    return budget < cap ? budget : cap;
}
