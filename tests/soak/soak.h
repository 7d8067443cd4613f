/* SPDX-License-Identifier: MIT */
/* The chaos soak (`make soak`): the tether client library through `tether proxy` to a
 * `tether serve` that is restarted every 10 s, checked against the server's execution log. */
#ifndef TETHER_SOAK_H
#define TETHER_SOAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define SOAK_MAX_ARGS 48

/* A child process (`tether serve` or `tether proxy`) whose first stdout lines are read. */
struct soak_proc {
    uv_process_t handle;
    uv_pipe_t out;
    bool running;
    bool out_open;
    int64_t pid;
    int exit_status;
    int term_signal;
    char lines[2][160]; /* the first two stdout lines, without the newline */
    unsigned nlines;
    unsigned want_lines;
    char partial[160];
    size_t partial_len;
    /* Runs once when want_lines lines arrived (ok) or the process exited first (!ok). */
    void (*on_ready)(struct soak_proc *p, bool ok);
    void (*on_exit)(struct soak_proc *p);
    void *data;
    bool ready_called;
};

/* Spawns argv (NULL-terminated) with stdout read for `want_lines` lines; stderr is inherited.
 * Returns 0 or a libuv error. */
int soak_proc_spawn(uv_loop_t *loop, struct soak_proc *p, char **argv, unsigned want_lines);
/* Sends `sig` when running. */
void soak_proc_kill(struct soak_proc *p, int sig);
/* Closes the handles of an exited process; `p` may be reused once the loop ran. */
void soak_proc_close(struct soak_proc *p);
/* The port at the end of "listening on SCHEME://HOST:PORT" line `i`, 0 when there is none. */
uint16_t soak_proc_port(const struct soak_proc *p, unsigned i);

/* What /proc says about one process: open descriptors and resident memory. */
struct soak_usage {
    int fds;      /* -1 when unreadable */
    long rss_kib; /* -1 when unreadable */
};
void soak_usage_read(int64_t pid, struct soak_usage *u);

#endif
