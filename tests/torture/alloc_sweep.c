/* SPDX-License-Identifier: MIT */
/*
 * The allocation-failure sweep (STYLE §7, after curl's torture tests), in one process: for
 * each component a representative scenario runs once to count its allocations (N), then once
 * with allocation n failed for every n = 1..N. Each run must end cleanly: the scenario
 * finishes (no hang: a guard timer), every libuv handle is closed (uv_loop_close succeeds),
 * and every byte the library allocated is freed (a counting allocator, so a leak names its
 * n). Under ASan a bad access aborts the run with the n printed just before.
 *
 *   alloc_sweep [SCENARIO...]     parsing client server proxy (default: all)
 *
 * Prints "SCENARIO: N allocations, N runs, K bad" per scenario and exits 1 if any run was
 * bad. scripts/alloc_torture.sh covers the unit tests and the mixed torture scenario the same
 * way, one process per n; this sweep is fast enough for every CTest run, ASan included.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "tether/tether.h"

#include "internal.h"
#include "sweep.h"

/* A scenario's runs end well within this; one still running has hung. */
#define SWEEP_GUARD_MS 5000

static long sweep_live; /* library allocations not yet freed */
static long sweep_current_n;
static const char *sweep_current_name;

static void *sweep_malloc(size_t n)
{
    void *p = malloc(n);
    sweep_live += p != NULL;
    return p;
}

static void *sweep_realloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    sweep_live += p != NULL && old == NULL;
    return p;
}

static void sweep_free(void *p)
{
    sweep_live -= p != NULL;
    free(p);
}

/* jansson's allocations (the proxy API, the policy reader) are counted with the library's, so
 * a JSON value the library forgets to release is a leak here, but they are never failed:
 * jansson 2.14's own lexer writes past a buffer when one of its allocations returns NULL
 * (valgrind shows it inside json_loadb), which no caller can prevent. */
static void *sweep_json_malloc(size_t n)
{
    return sweep_malloc(n);
}

static void sweep_json_free(void *p)
{
    sweep_free(p);
}

/* The last resort when even the guard timer cannot end a run (the loop itself is stuck). */
static void sweep_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "alloc_sweep: a run is stuck; see the last 'run' line\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(3);
}

static void sweep_guard_fired(uv_timer_t *t)
{
    struct sweep_run *r = t->data;
    r->hung = true;
    r->scenario->abort(r);
    uv_close((uv_handle_t *)t, NULL);
}

void sweep_finish(struct sweep_run *r)
{
    r->finished = true;
    if (!uv_is_closing((uv_handle_t *)&r->guard)) {
        uv_close((uv_handle_t *)&r->guard, NULL);
    }
}

static void sweep_report_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "  handle left open: %s\n", uv_handle_type_name(uv_handle_get_type(h)));
}

/* One run with allocation `n` failed (0 = none). Returns NULL when clean, else why not. */
static const char *sweep_once(const struct sweep_scenario *sc, long n, long *count)
{
    struct sweep_run r;
    memset(&r, 0, sizeof(r));
    r.scenario = sc;
    r.n = n;
    if (uv_loop_init(&r.loop) != 0) {
        return "uv_loop_init failed";
    }
    (void)uv_timer_init(&r.loop, &r.guard);
    r.guard.data = &r;
    (void)uv_timer_start(&r.guard, sweep_guard_fired, SWEEP_GUARD_MS, 0);
    long live_before = sweep_live;
    tt__test_alloc_fail_at(n);
    (void)alarm(30);
    sc->start(&r);
    (void)uv_run(&r.loop, UV_RUN_DEFAULT);
    (void)alarm(0);
    *count = tt__test_alloc_count();
    tt__test_alloc_fail_at(0);
    int closed = uv_loop_close(&r.loop);
    if (closed != 0) {
        uv_walk(&r.loop, sweep_report_handle, NULL);
        /* The handles cannot be freed safely; the process ends with this report. */
        return "libuv handles left open";
    }
    if (r.hung) {
        return "hung (the guard timer ended it)";
    }
    if (!r.finished) {
        return "the scenario never reported its end";
    }
    if (sweep_live != live_before) {
        static char why[64];
        (void)snprintf(why, sizeof(why), "%ld library allocations leaked",
                       sweep_live - live_before);
        sweep_live = live_before;
        return why;
    }
    if (n == 0 && r.failed) {
        return "the scenario fails even without an injected failure";
    }
    return NULL;
}

static unsigned sweep_scenario(const struct sweep_scenario *sc)
{
    long total = 0;
    sweep_current_name = sc->name;
    /* Twice clean: the first run pays for lazy one-time set-up, the second is the count. */
    const char *why = sweep_once(sc, 0, &total);
    if (!why) {
        why = sweep_once(sc, 0, &total);
    }
    if (why) {
        printf("FAIL %s: the clean run: %s\n", sc->name, why);
        return 1;
    }
    unsigned bad = 0;
    for (long n = 1; n <= total; n++) {
        long count = 0;
        sweep_current_n = n;
        why = sweep_once(sc, n, &count);
        if (why) {
            bad++;
            printf("FAIL %s: allocation %ld of %ld failed: %s\n", sc->name, n, total, why);
            (void)fflush(stdout);
            if (strcmp(why, "libuv handles left open") == 0) {
                break; /* the loop cannot be reused */
            }
        }
    }
    printf("%s: %ld allocations, %ld runs, %u bad\n", sc->name, total, total, bad);
    (void)fflush(stdout);
    return bad;
}

int main(int argc, char **argv)
{
    (void)signal(SIGPIPE, SIG_IGN);
    (void)signal(SIGALRM, sweep_alarm);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (tether_set_allocator(sweep_malloc, sweep_realloc, sweep_free) != 0) {
        return 1;
    }
    json_set_alloc_funcs(sweep_json_malloc, sweep_json_free);
    const struct sweep_scenario *const all[] = {&sweep_parsing, &sweep_client, &sweep_server,
                                                &sweep_proxy};
    unsigned bad = 0;
    unsigned ran = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        bool wanted = argc < 2;
        for (int a = 1; a < argc; a++) {
            wanted = wanted || strcmp(argv[a], all[i]->name) == 0;
        }
        if (wanted) {
            ran++;
            bad += sweep_scenario(all[i]);
        }
    }
    if (ran == 0) {
        fprintf(stderr, "alloc_sweep: no such scenario (parsing, client, server, proxy)\n");
        return 2;
    }
    printf("alloc sweep: %s\n", bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}
