/* SPDX-License-Identifier: MIT */
/* The plumbing every loop-driven subcommand shares: report how its server started, run until
 * SIGINT/SIGTERM with a graceful first signal and an immediate second one, and close the loop
 * whatever is left on it. */
#ifndef TETHER_CLI_LOOP_H
#define TETHER_CLI_LOOP_H

#include <stdio.h>

#include <uv.h>

#include "args.h"

/* The first line a serving command prints: "listening on SCHEME://HOST:PORT", the host as
 * --listen named it (an IPv6 literal in brackets), the port the server bound (0 resolved).
 * Flushed at once: scripts wait for this line. */
void cli_print_listening(FILE *out, const char *scheme, const struct args_hostport *listen,
                         unsigned port);

/* A server that could not start: the library's reason `why` (its errbuf; tether_strerror(rv)
 * when empty) as "tether CMD: ..." on stderr. Bad options (TETHER_EINVAL) are a usage error
 * (returns 2), anything else a failure to run (the address in use, a TLS file: returns 1). */
int cli_start_failed(const char *cmd, int rv, const char *why);

/* How a subcommand stops on a signal. */
struct cli_stop {
    const char *cmd;   /* "serve": the second signal's message says "tether serve: ..." */
    const char *skips; /* what the second signal gives up, e.g. "exiting without waiting" */
    /* Starts a graceful stop (close the server, cancel the requests); the loop must then run
     * out by itself. Runs on the loop's thread, at most once. */
    void (*on_first)(void *data);
    void *data;
};

/*
 * Runs `loop` until nothing that keeps it alive is left. The first SIGINT or SIGTERM calls
 * stop->on_first; a second one prints "tether CMD: second signal, SKIPS" on stderr and exits
 * the process with status 1 at once. The signal watchers never keep the loop alive on their
 * own (a run that finishes by itself ends as it would without them) and are closed before this
 * returns; the loop itself stays open (see cli_loop_close). If a watcher cannot be installed,
 * the loop runs anyway and that signal keeps its default action.
 */
void cli_loop_run(uv_loop_t *loop, const struct cli_stop *stop);

/* How long cli_loop_close waits, in all, for handles it had to close. */
#define CLI_LOOP_CLOSE_MS 1000u

/*
 * Closes `loop`. Handles still open are closed first and their close callbacks (and any
 * request they cancel) get up to CLI_LOOP_CLOSE_MS to run. Returns 0 when nothing was left
 * open, 1 when stray handles had to be closed, or UV_EBUSY when the loop still could not be
 * closed (then its memory must not be freed).
 */
int cli_loop_close(uv_loop_t *loop);

#endif
