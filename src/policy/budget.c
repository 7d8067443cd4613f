/* SPDX-License-Identifier: MIT */
/* Per-origin retry budget (Finagle's RetryBudget): retries may add at most `ratio` of the
 * traffic plus a small fixed reserve, so retries cannot turn an outage into a retry storm. */
#include <string.h>

#include "policy/policy.h"

/*
 * The window is a ring of TT__BUDGET_SLOTS slots of window/10 each. A slot holds the counts of
 * one slot-length interval, tagged with that interval's start; a slot whose interval ended a
 * window ago is stale and is ignored when summing and cleared when its ring position comes round
 * again. So a deposit expires between window - window/10 and window after it was made — the
 * price of fixed memory and O(10) work per call, the same trade Finagle's WindowedAdder makes.
 * Times are monotonic milliseconds and must not go backwards.
 */

static uint64_t budget_slot_ms(const struct tt__budget *b)
{
    uint64_t w = b->window_ms / TT__BUDGET_SLOTS;
    return w ? w : 1;
}

/* The slot for `now`, cleared first when it still holds an interval from a window ago. */
static size_t budget_current(struct tt__budget *b, uint64_t now_ms)
{
    uint64_t w = budget_slot_ms(b);
    uint64_t start = now_ms / w * w;
    size_t i = (size_t)((now_ms / w) % TT__BUDGET_SLOTS);
    if (b->slot_start_ms[i] != start) {
        b->slot_start_ms[i] = start;
        b->requests[i] = 0;
        b->retries[i] = 0;
    }
    return i;
}

void tt__budget_init(struct tt__budget *b, const struct tether_policy *p, uint64_t now_ms)
{
    memset(b, 0, sizeof(*b));
    b->ratio = p->budget_ratio;
    b->min_per_s = p->budget_min_retries_per_s;
    b->window_ms = p->budget_window_ms;
    /* Empty slots are harmless whatever their tag (all counts are zero); tagging the current
     * one just makes the first deposit skip a clear. */
    if (b->window_ms != 0) {
        (void)budget_current(b, now_ms);
    }
}

void tt__budget_deposit(struct tt__budget *b, uint64_t now_ms)
{
    if (b->window_ms == 0) {
        return;
    }
    size_t i = budget_current(b, now_ms);
    if (b->requests[i] != UINT32_MAX) {
        b->requests[i]++;
    }
}

bool tt__budget_withdraw(struct tt__budget *b, uint64_t now_ms)
{
    /* A zero window turns the budget off: the policy asked for no amplification control. */
    if (b->window_ms == 0) {
        return true;
    }
    size_t cur = budget_current(b, now_ms);
    uint64_t span = budget_slot_ms(b) * TT__BUDGET_SLOTS;
    uint64_t requests = 0;
    uint64_t retries = 0;
    for (size_t i = 0; i < TT__BUDGET_SLOTS; i++) {
        if (b->slot_start_ms[i] + span > now_ms) {
            requests += b->requests[i];
            retries += b->retries[i];
        }
    }
    double allowance = b->ratio * (double)requests + b->min_per_s * ((double)b->window_ms / 1000.0);
    /* The tolerance keeps binary rounding (0.2 * 14 + 0.2 * 1 = 3.0000000000000004) from
     * admitting one retry more than the decimal arithmetic a user would do. */
    if ((double)retries >= allowance - 1e-9) {
        return false;
    }
    if (b->retries[cur] != UINT32_MAX) {
        b->retries[cur]++;
    }
    return true;
}
