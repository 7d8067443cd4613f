/* SPDX-License-Identifier: MIT */
/* `tether demo`: the table and verdict for people, and the one JSON object for programs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_json.h"
#include "demo.h"

#define DEMO_POST_SAFETY 5 /* index of post-safety in demo_scenarios */

size_t demo_err_count(const struct demo_result *r)
{
    return r->errs.n < DEMO_MAX_ERRS || !r->errs.other ? r->errs.n : DEMO_MAX_ERRS;
}

const char *demo_err_at(const struct demo_result *r, size_t i, uint64_t *n)
{
    if (i == DEMO_MAX_ERRS - 1 && r->errs.other) {
        /* The last line gathers every message that found no line of its own. */
        *n = r->errs.items[i].count + r->errs.other;
        return "other errors";
    }
    *n = r->errs.items[i].count;
    return r->errs.items[i].message;
}

/* The most frequent message of a result (the first on a tie), or NULL. */
static const char *demo_top_error(const struct demo_result *r, uint64_t *n)
{
    const char *top = NULL;
    *n = 0;
    for (size_t i = 0; i < demo_err_count(r); i++) {
        uint64_t c;
        const char *msg = demo_err_at(r, i, &c);
        if (!top || c > *n) {
            top = msg;
            *n = c;
        }
    }
    return top;
}

/* The most frequent message of one client across every scenario that ran. */
static void demo_overall_top(struct demo_result res[][DEMO_NLANES], const bool *selected, int lane,
                             bool skip_post, char *buf, size_t len)
{
    struct wl_errors all;
    wl_errors_init(&all, DEMO_NSCENARIOS * DEMO_MAX_ERRS);
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        if (!selected[s] || (skip_post && s == DEMO_POST_SAFETY)) {
            continue;
        }
        const struct demo_result *r = &res[s][lane];
        for (size_t i = 0; i < demo_err_count(r); i++) {
            uint64_t c;
            const char *msg = demo_err_at(r, i, &c);
            wl_errors_add(&all, msg, c);
        }
    }
    size_t best = all.n;
    for (size_t k = 0; k < all.n; k++) {
        if (best == all.n || all.items[k].count > all.items[best].count) {
            best = k;
        }
    }
    buf[0] = '\0';
    if (best < all.n) {
        (void)snprintf(buf, len, "%.127s", all.items[best].message);
    }
    wl_errors_cleanup(&all);
}

#define DEMO_RATE_LIMIT 4 /* index of rate-limit in demo_scenarios */
#define DEMO_SERVER_RESTART 2

/* A count, or "-" for none, so what a client did stands out from what it did not. */
static const char *demo_count(char *buf, size_t len, uint64_t n)
{
    (void)snprintf(buf, len, n ? "%llu" : "-", (unsigned long long)n);
    return buf;
}

/* One row: fixed-width figures only (98 columns), so the table fits 100. The top error goes on
 * a line of its own below: it is the one cell whose width cannot be known. */
static void demo_print_row(const char *scen, const char *client, const struct demo_result *r)
{
    char rr[48];
    char ev[24];
    char rt[24];
    char lc[24];
    char ra[24];
    (void)snprintf(rr, sizeof(rr), "%llu/%llu", (unsigned long long)r->replays,
                   (unsigned long long)r->retries);
    if (r->learned_close_ms) {
        (void)snprintf(lc, sizeof(lc), "%llu ms", (unsigned long long)r->learned_close_ms);
    } else {
        (void)snprintf(lc, sizeof(lc), "-");
    }
    printf("%-18s %-6s %8llu %6llu %9s %8.1f %4llu %7s %7s %8s %8s\n", scen, client,
           (unsigned long long)r->requests, (unsigned long long)r->failed, rr, r->p99_ms,
           (unsigned long long)r->duplicates, demo_count(ev, sizeof(ev), r->stale_evicted),
           demo_count(rt, sizeof(rt), r->retired_idle), lc,
           demo_count(ra, sizeof(ra), r->retry_after_waits));
    uint64_t n;
    const char *e = demo_top_error(r, &n);
    if (e) {
        printf("%27s top error: %s (%llu)\n", "", e, (unsigned long long)n);
    }
}

/* A one-line reading under a row whose numbers look odd on their own, or nothing. */
static void demo_print_reading(int s, const struct demo_result *naive,
                               const struct demo_result *tether)
{
    const char *pad = "                   "; /* under the client column */
    if (s == DEMO_RATE_LIMIT && tether->retry_after_waits > 0) {
        printf("%sreading: fewer requests, p99 %.0f ms: tether waited as Retry-After asked;\n"
               "%s         naive hammered a limiter that answered 503 (%llu failed)\n",
               pad, tether->p99_ms, pad, (unsigned long long)naive->failed);
    } else if (demo_scenarios[s].database && tether->db_writes_failed > 0) {
        printf("%sreading: INSERTs killed while they ran (%llu of tether's failures) may\n"
               "%s         have run (the server had run %llu of them): they are not sent again\n",
               pad, (unsigned long long)tether->db_writes_failed, pad,
               (unsigned long long)tether->ran_but_failed);
    } else if (s == DEMO_POST_SAFETY && tether->failed > 0) {
        printf("%sreading: these failures are the right answer: a POST without a key whose\n"
               "%s         response was lost may have run, so it is not sent again\n",
               pad, pad);
    } else if (s == DEMO_SERVER_RESTART && tether->failed == 0 && tether->p99_ms > naive->p99_ms &&
               tether->retries > 0) {
        printf("%sreading: the p99 is the wait for the restarted server: refused connects\n"
               "%s         were retried within the deadline instead of failing\n",
               pad, pad);
    }
}

void demo_report_human(const struct demo_opts *opts, struct demo_result res[][DEMO_NLANES],
                       const bool *selected, double duration_s)
{
    unsigned nsel = 0;
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        nsel += selected[s] ? 1u : 0u;
    }
    bool http = false;
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        http = http || (selected[s] && !demo_scenarios[s].database);
    }
    printf("\ntether demo: one workload through two clients, %s (%.3g s per scenario, seed "
           "%llu)\n",
           http ? "on loopback, embedded server and fault proxy" : "against --db", opts->seconds,
           (unsigned long long)opts->seed);
    if (http) {
        printf("  naive   a plain keep-alive pool: no idle watching, no replay, no retries, no "
               "deadline\n");
        printf("  tether  tether's default policy, with a %u s deadline per request and the "
               "circuit\n"
               "          breaker on (trips when half of at least 100 calls in 30 s fail)\n\n",
               DEMO_DEADLINE_MS / 1000u);
    }
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        if (selected[s] && demo_scenarios[s].database) {
            printf("  %s (against --db): naive is a pool with no idle watch, validation or\n"
                   "          retry; tether is tether's PostgreSQL pool with its defaults\n\n",
                   demo_scenarios[s].name);
        }
    }
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        if (selected[s]) {
            printf("  %-19s %s\n", demo_scenarios[s].name, res[s][0].what);
        }
    }
    printf("\nWhat tether did instead of failing:\n"
           "  evicted   stale idle connections (closed by the server) dropped before use\n"
           "  retired   idle connections closed before the server's idle close\n"
           "  learned   the server's idle close, learned from its own closes\n"
           "  RA waits  retries that waited as the server's Retry-After asked\n");
    printf("\n%-18s %-6s %8s %6s %9s %8s %4s %7s %7s %8s %8s\n", "scenario", "client", "requests",
           "failed", "repl/retr", "p99 ms", "dups", "evicted", "retired", "learned", "RA waits");
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        if (!selected[s]) {
            continue;
        }
        if (!res[s][0].ran) {
            printf("%-18s (could not run: see the message above)\n", demo_scenarios[s].name);
            continue;
        }
        demo_print_row(demo_scenarios[s].name, "naive", &res[s][DEMO_NAIVE]);
        demo_print_row("", demo_scenarios[s].via_egress ? "egress" : "tether",
                       &res[s][DEMO_TETHER]);
        demo_print_reading(s, &res[s][DEMO_NAIVE], &res[s][DEMO_TETHER]);
    }

    uint64_t nreq = 0, nfail = 0, treq = 0, tfail = 0, tdup = 0, trep = 0, tret = 0;
    uint64_t tev = 0, tret_idle = 0, tra = 0, tlearned = 0;
    unsigned nother = 0; /* selected scenarios other than post-safety */
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        if (!selected[s]) {
            continue;
        }
        const struct demo_result *n = &res[s][DEMO_NAIVE];
        const struct demo_result *t = &res[s][DEMO_TETHER];
        nreq += n->requests;
        nfail += n->failed;
        tdup += t->duplicates;
        trep += t->replays;
        tret += t->retries;
        tev += t->stale_evicted;
        tret_idle += t->retired_idle;
        tra += t->retry_after_waits;
        tlearned += t->learned_close_ms ? 1u : 0u;
        /* post-safety has its own clause: an unkeyed POST whose response was lost must fail
         * (that is the safe answer), so its failures are not lumped in with the others. */
        if (s != DEMO_POST_SAFETY) {
            nother++;
            treq += t->requests;
            tfail += t->failed;
        }
    }
    char ntop[128];
    char ttop[128];
    demo_overall_top(res, selected, DEMO_NAIVE, false, ntop, sizeof(ntop));
    demo_overall_top(res, selected, DEMO_TETHER, true, ttop, sizeof(ttop));
    printf("\nnaive:  %llu of %llu requests failed across %u scenario%s", (unsigned long long)nfail,
           (unsigned long long)nreq, nsel, nsel == 1 ? "" : "s");
    printf(ntop[0] ? " (top error: %s)\n" : "\n", ntop);
    printf("tether: ");
    if (nother > 0) {
        printf("%llu of %llu requests failed %s", (unsigned long long)tfail,
               (unsigned long long)treq,
               nother == DEMO_NSCENARIOS - 1 ? "in every scenario but post-safety"
                                             : "outside post-safety");
        if (tfail > 0 && ttop[0]) {
            printf(" (top error: %s)", ttop);
        }
    }
    printf("%s%llu duplicate POST%s\n", nother > 0 ? "; " : "", (unsigned long long)tdup,
           tdup == 1 ? "" : "s");
    bool post = selected[DEMO_POST_SAFETY] && res[DEMO_POST_SAFETY][0].ran;
    if (post) {
        const struct demo_result *t = &res[DEMO_POST_SAFETY][DEMO_TETHER];
        printf("        post-safety: %llu of %llu failed, the right answer: a lost unkeyed POST "
               "is not sent twice\n",
               (unsigned long long)t->failed, (unsigned long long)t->requests);
    }
    printf("        instead of failing: %llu stale evicted, %llu idle retired, idle close learned "
           "in %llu scenario%s,\n"
           "        %llu Retry-After wait%s, %llu replay%s, %llu retr%s\n",
           (unsigned long long)tev, (unsigned long long)tret_idle, (unsigned long long)tlearned,
           tlearned == 1 ? "" : "s", (unsigned long long)tra, tra == 1 ? "" : "s",
           (unsigned long long)trep, trep == 1 ? "" : "s", (unsigned long long)tret,
           tret == 1 ? "y" : "ies");
    if (post) {
        const struct demo_result *t = &res[DEMO_POST_SAFETY][DEMO_TETHER];
        printf("post-safety, tether: %llu POSTs without an Idempotency-Key, %llu failed and were "
               "not sent again (the server had run %llu of them: a blind retry would have run "
               "those twice); %llu POSTs with a key, %llu failed, %llu repeats answered from the "
               "server's key store instead of running again.\n",
               (unsigned long long)t->unkeyed, (unsigned long long)t->unkeyed_failed,
               (unsigned long long)t->ran_but_failed, (unsigned long long)t->keyed,
               (unsigned long long)t->keyed_failed, (unsigned long long)t->deduplicated);
    }
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        if (!selected[s] || !demo_scenarios[s].database || !res[s][0].ran) {
            continue;
        }
        for (int l = 0; l < DEMO_NLANES; l++) {
            const struct demo_result *r = &res[s][l];
            printf("%s, %s: %llu reads, %llu failed; %llu INSERTs, %llu failed (the server had run "
                   "%llu of those), %llu run twice\n",
                   demo_scenarios[s].name, l == DEMO_NAIVE ? "naive" : "tether",
                   (unsigned long long)r->db_reads, (unsigned long long)r->db_reads_failed,
                   (unsigned long long)r->db_writes, (unsigned long long)r->db_writes_failed,
                   (unsigned long long)r->ran_but_failed, (unsigned long long)r->duplicates);
        }
    }
    printf("(%.1f s; every figure above was measured in this run)\n", duration_s);
}

/* ---- JSON ---- */

static int demo_set(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *demo_client_json(const struct demo_result *r, bool post, bool database)
{
    json_t *o = json_object();
    json_t *errs = json_object();
    int rc = (o && errs) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < demo_err_count(r); i++) {
        uint64_t n;
        const char *msg = demo_err_at(r, i, &n);
        rc = demo_set(errs, msg, cli_json_uint(n));
    }
    rc |= demo_set(o, "requests", cli_json_uint(r->requests));
    rc |= demo_set(o, "failed", cli_json_uint(r->failed));
    rc |= errs ? json_object_set_new(o, "errors", errs) : -1;
    errs = NULL;
    rc |= demo_set(o, "replays", cli_json_uint(r->replays));
    rc |= demo_set(o, "retries", cli_json_uint(r->retries));
    rc |= demo_set(o, "duplicates", cli_json_uint(r->duplicates));
    rc |= demo_set(o, "p99_ms", json_real(round(r->p99_ms * 100.0) / 100.0));
    rc |= demo_set(o, "deduplicated", cli_json_uint(r->deduplicated));
    rc |= demo_set(o, "stale_evicted", cli_json_uint(r->stale_evicted));
    rc |= demo_set(o, "retired_idle", cli_json_uint(r->retired_idle));
    rc |= demo_set(o, "learned_idle_close_ms", cli_json_uint(r->learned_close_ms));
    rc |= demo_set(o, "retry_after_waits", cli_json_uint(r->retry_after_waits));
    if (post) {
        json_t *k = json_pack("{s:I,s:I}", "requests", (json_int_t)r->keyed, "failed",
                              (json_int_t)r->keyed_failed);
        json_t *u = json_pack("{s:I,s:I,s:I}", "requests", (json_int_t)r->unkeyed, "failed",
                              (json_int_t)r->unkeyed_failed, "failed_but_executed",
                              (json_int_t)r->ran_but_failed);
        rc |= demo_set(o, "keyed", k);
        rc |= demo_set(o, "unkeyed", u);
    }
    if (database) {
        json_t *rd = json_pack("{s:I,s:I}", "requests", (json_int_t)r->db_reads, "failed",
                               (json_int_t)r->db_reads_failed);
        json_t *wr = json_pack("{s:I,s:I,s:I}", "requests", (json_int_t)r->db_writes, "failed",
                               (json_int_t)r->db_writes_failed, "failed_but_executed",
                               (json_int_t)r->ran_but_failed);
        rc |= demo_set(o, "reads", rd);
        rc |= demo_set(o, "writes", wr);
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int demo_report_json(struct demo_result res[][DEMO_NLANES], const bool *selected, double duration_s)
{
    json_t *doc = json_object();
    json_t *arr = json_array();
    int rc = (doc && arr) ? 0 : -1;
    for (int s = 0; rc == 0 && s < DEMO_NSCENARIOS; s++) {
        if (!selected[s]) {
            continue;
        }
        bool post = s == DEMO_POST_SAFETY;
        json_t *sc = json_object();
        json_t *clients = json_object();
        rc |= (sc && clients) ? 0 : -1;
        rc |= demo_set(sc, "name", json_string(demo_scenarios[s].name));
        bool db = demo_scenarios[s].database;
        rc |= demo_set(clients, "naive", demo_client_json(&res[s][DEMO_NAIVE], post, db));
        rc |= demo_set(clients, "tether", demo_client_json(&res[s][DEMO_TETHER], post, db));
        rc |= clients ? json_object_set_new(sc, "clients", clients) : -1;
        rc |= demo_set(sc, "ran", json_boolean(res[s][0].ran));
        rc |= demo_set(sc, "description", json_string(res[s][0].what));
        rc |= sc ? json_array_append_new(arr, sc) : -1;
    }
    rc |= arr ? json_object_set_new(doc, "scenarios", arr) : -1;
    rc |= demo_set(doc, "duration_s", json_real(round(duration_s * 100.0) / 100.0));
    if (rc != 0) {
        json_decref(doc);
        fputs("tether demo: out of memory writing JSON\n", stderr);
        return -1;
    }
    return cli_json_print(doc);
}
