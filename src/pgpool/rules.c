/* SPDX-License-Identifier: MIT */
/* The pool's pure decisions (rules.h), after anchors/server-pool.md "Pool (libpq)" P2-P8. */
#include <string.h>

#include "pgpool/rules.h"

static bool has(const char *msg, const char *needle)
{
    return strstr(msg, needle) != NULL;
}

int tt__pg_classify_message(const char *msg)
{
    if (!msg || !msg[0]) {
        return TETHER_EIO;
    }
    /* Authentication and naming errors: the same attempt fails the same way again. */
    if (has(msg, "authentication failed") || has(msg, "does not exist") ||
        has(msg, "no pg_hba.conf entry") || has(msg, "password is required") ||
        has(msg, "invalid connection option") || has(msg, "missing \"=\"") ||
        has(msg, "invalid URI") || has(msg, "invalid port number")) {
        return TETHER_EINVAL;
    }
    if (has(msg, "Connection refused")) {
        return TETHER_ECONNREFUSED;
    }
    if (has(msg, "could not translate host name") || has(msg, "Name or service not known")) {
        return TETHER_ENOTFOUND;
    }
    if (has(msg, "timeout expired") || has(msg, "timed out")) {
        return TETHER_ETIMEDOUT;
    }
    if (has(msg, "Connection reset by peer")) {
        return TETHER_ECONNRESET;
    }
    /* libpq prints this one sentence for EOF, EPIPE and ECONNRESET alike (fe-misc.c,
     * fe-secure.c); a FATAL from the server ends the session the same way. */
    if (has(msg, "server closed the connection") || has(msg, "terminating connection") ||
        has(msg, "no connection to the server") || has(msg, "EOF detected") ||
        has(msg, "connection has been closed") || has(msg, "Broken pipe") ||
        has(msg, "could not receive data") || has(msg, "could not send data") ||
        has(msg, "the database system is") || has(msg, "client_idle_timeout")) {
        return TETHER_EHANGUP;
    }
    return TETHER_EIO;
}

bool tt__pg_sqlstate_idle_kill(const char *sqlstate)
{
    return sqlstate && (strcmp(sqlstate, "57P05") == 0 || strcmp(sqlstate, "25P03") == 0);
}

enum tt__pg_verdict tt__pg_retry_verdict(const struct tt__pg_attempt *a)
{
    if (!a->retry_enabled || a->explicit_conn || a->code == TETHER_EINVAL) {
        return TT__PG_FAIL;
    }
    if (a->connect_failed || (a->conn_lost && !a->sent)) {
        return TT__PG_RETRY;
    }
    if (!a->conn_lost) {
        /* The server answered with an error: the statement ran and failed, or was refused. */
        return TT__PG_FAIL;
    }
    if (tt__pg_sqlstate_idle_kill(a->sqlstate)) {
        /* The session was killed for idling: our statement never started. */
        return TT__PG_RETRY;
    }
    /* Sent and lost: it may have committed. Only a statement the caller declared safe to run
     * twice goes again, and only once (RFC 9110 §9.2.2: never retry a retry). */
    return a->idempotent && a->replays == 0 ? TT__PG_REPLAY : TT__PG_FAIL;
}

enum tether_retry_safety tt__pg_retry_safety(const struct tt__pg_attempt *a)
{
    if (a->connect_failed || !a->sent) {
        return TETHER_RETRY_SAFE_YES;
    }
    if (a->conn_lost) {
        if (!a->explicit_conn && tt__pg_sqlstate_idle_kill(a->sqlstate)) {
            return TETHER_RETRY_SAFE_YES;
        }
        return a->idempotent && !a->explicit_conn ? TETHER_RETRY_SAFE_YES : TETHER_RETRY_SAFE_NO;
    }
    /* An error answered on a live connection rolled the statement back; inside a transaction
     * the caller must redo the whole transaction, not the statement. */
    return a->explicit_conn ? TETHER_RETRY_SAFE_NO : TETHER_RETRY_SAFE_YES;
}

uint64_t tt__pg_lifetime_ms(uint64_t max_ms, uint64_t random)
{
    if (max_ms == 0) {
        return 0;
    }
    return max_ms - random % (max_ms / 40 + 1);
}

uint64_t tt__pg_connect_backoff_ms(unsigned failures)
{
    if (failures == 0) {
        return 0;
    }
    uint64_t ms = 250;
    for (unsigned i = 1; i < failures && ms < 1000; i++) {
        ms *= 2;
    }
    return ms < 1000 ? ms : 1000;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

bool tt__pglearn_observe(struct tt__pglearn *l, uint64_t idle_ms, uint64_t now_ms, bool certain)
{
    if (idle_ms == 0) {
        return false;
    }
    uint64_t before = l->kill_ms;
    if (certain) {
        if (l->kill_ms == 0 || idle_ms < l->kill_ms) {
            l->kill_ms = idle_ms;
        }
        return l->kill_ms != before;
    }
    uint64_t tol = idle_ms / 10 > 50 ? idle_ms / 10 : 50;
    for (unsigned i = 0; i < TT__PGLEARN_SLOTS; i++) {
        if (l->seen[i].at_ms == 0) {
            continue;
        }
        if (absdiff(l->seen[i].idle_ms, idle_ms) <= tol &&
            absdiff(l->seen[i].at_ms, now_ms) >= 1000) {
            uint64_t agreed = idle_ms < l->seen[i].idle_ms ? idle_ms : l->seen[i].idle_ms;
            if (l->kill_ms == 0 || agreed < l->kill_ms) {
                l->kill_ms = agreed;
            }
        }
    }
    /* Keep the observation, replacing the oldest slot. */
    unsigned slot = 0;
    for (unsigned i = 0; i < TT__PGLEARN_SLOTS; i++) {
        if (l->seen[i].at_ms == 0) {
            slot = i;
            break;
        }
        if (l->seen[i].at_ms < l->seen[slot].at_ms) {
            slot = i;
        }
    }
    l->seen[slot].idle_ms = idle_ms;
    l->seen[slot].at_ms = now_ms ? now_ms : 1;
    return l->kill_ms != before;
}

void tt__pglearn_alive(struct tt__pglearn *l, uint64_t idle_ms)
{
    if (l->kill_ms && idle_ms >= l->kill_ms) {
        l->kill_ms = 0;
    }
    for (unsigned i = 0; i < TT__PGLEARN_SLOTS; i++) {
        if (l->seen[i].at_ms && l->seen[i].idle_ms <= idle_ms) {
            l->seen[i].at_ms = 0;
        }
    }
}

uint64_t tt__pglearn_budget_ms(const struct tt__pglearn *l, uint64_t margin_ms)
{
    if (l->kill_ms == 0) {
        return UINT64_MAX;
    }
    return l->kill_ms > margin_ms ? l->kill_ms - margin_ms : 0;
}
