/* SPDX-License-Identifier: MIT */
/* Per-origin retry budget (Finagle's RetryBudget): retries may add at most `ratio` of the
 * traffic plus a small fixed reserve, so retries cannot turn an outage into a retry storm. */
#include <string.h>

#include "policy/policy.h"

/* The counts live in a tt__window (window.c): a deposit expires between window - window/10
 * and window after it was made. */

void tt__budget_init(struct tt__budget *b, const struct tether_policy *p, uint64_t now_ms)
{
    memset(b, 0, sizeof(*b));
    b->ratio = p->budget_ratio;
    b->min_per_s = p->budget_min_retries_per_s;
    tt__window_init(&b->requests_retries, p->budget_window_ms, now_ms);
}

void tt__budget_deposit(struct tt__budget *b, uint64_t now_ms)
{
    tt__window_add(&b->requests_retries, now_ms, 1, 0);
}

bool tt__budget_withdraw(struct tt__budget *b, uint64_t now_ms)
{
    uint64_t window_ms = b->requests_retries.window_ms;
    /* A zero window turns the budget off: the policy asked for no amplification control. */
    if (window_ms == 0) {
        return true;
    }
    uint64_t requests = 0;
    uint64_t retries = 0;
    tt__window_sum(&b->requests_retries, now_ms, &requests, &retries);
    double allowance = b->ratio * (double)requests + b->min_per_s * ((double)window_ms / 1000.0);
    /* The tolerance keeps binary rounding (0.2 * 14 + 0.2 * 1 = 3.0000000000000004) from
     * admitting one retry more than the decimal arithmetic a user would do. */
    if ((double)retries >= allowance - 1e-9) {
        return false;
    }
    tt__window_add(&b->requests_retries, now_ms, 0, 1);
    return true;
}
