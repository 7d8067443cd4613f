/* SPDX-License-Identifier: MIT */
/* Starting a subcommand's server, running its loop until a signal, and closing it with
 * whatever is left on it. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/error.h"

#include "cli.h"
#include "cli_loop.h"

void cli_print_listening(FILE *out, const char *scheme, const struct args_hostport *listen,
                         unsigned port)
{
    fprintf(out, "listening on %s://%s%s%s:%u\n", scheme, listen->ipv6 ? "[" : "", listen->host,
            listen->ipv6 ? "]" : "", port);
    (void)fflush(out);
}

int cli_start_failed(const char *cmd, int rv, const char *why)
{
    const char *reason = why[0] ? why : tether_strerror(rv);
    if (rv == TETHER_EINVAL) {
        return args_error(cmd, "%s", reason);
    }
    fprintf(stderr, "tether %s: %s\n", cmd, reason);
    return CLI_EXIT_FAILED;
}

struct cli_signals {
    uv_signal_t watch[2];
    bool inited[2];
    const struct cli_stop *stop;
    bool fired;
};

static void cli_on_signal(uv_signal_t *s, int signum)
{
    struct cli_signals *cs = s->data;
    (void)signum;
    if (cs->fired) {
        fprintf(stderr, "tether %s: second signal, %s\n", cs->stop->cmd, cs->stop->skips);
        exit(CLI_EXIT_FAILED);
    }
    cs->fired = true;
    if (cs->stop->on_first) {
        cs->stop->on_first(cs->stop->data);
    }
}

void cli_loop_run(uv_loop_t *loop, const struct cli_stop *stop)
{
    static const int signums[2] = {SIGINT, SIGTERM};
    struct cli_signals cs;
    memset(&cs, 0, sizeof(cs));
    cs.stop = stop;
    for (int i = 0; i < 2; i++) {
        if (uv_signal_init(loop, &cs.watch[i]) != 0) {
            break; /* no watcher: that signal keeps its default action and ends the process */
        }
        cs.inited[i] = true;
        cs.watch[i].data = &cs;
        /* Unreferenced: a run that ends by itself (load's last request) is not held open by
         * the watchers, and a graceful stop ends the run when its last handle closes. */
        uv_unref((uv_handle_t *)&cs.watch[i]);
        (void)uv_signal_start(&cs.watch[i], cli_on_signal, signums[i]);
    }
    (void)uv_run(loop, UV_RUN_DEFAULT);
    bool any = false;
    for (int i = 0; i < 2; i++) {
        if (cs.inited[i]) {
            uv_close((uv_handle_t *)&cs.watch[i], NULL);
            any = true;
        }
    }
    if (any) {
        /* The watchers live in this frame: their close must complete before it returns. A
         * closing handle keeps the loop alive for exactly that one turn. */
        (void)uv_run(loop, UV_RUN_NOWAIT);
    }
}

static void cli_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

int cli_loop_close(uv_loop_t *loop)
{
    if (uv_loop_close(loop) == 0) {
        return 0;
    }
    uint64_t deadline = uv_hrtime() + (uint64_t)CLI_LOOP_CLOSE_MS * 1000000u;
    for (;;) {
        /* Walked again each turn: a close callback may have opened something new. */
        uv_walk(loop, cli_walk_close, NULL);
        (void)uv_run(loop, UV_RUN_NOWAIT);
        if (uv_loop_close(loop) == 0) {
            return 1;
        }
        if (uv_hrtime() >= deadline) {
            return UV_EBUSY;
        }
        /* A request still pending (a lookup on the thread pool, say) completes on a later turn;
         * this is teardown, so waiting here stalls nothing that serves. */
        uv_sleep(1);
    }
}
