/* SPDX-License-Identifier: MIT */
/* `tether get`'s parts: the command (cmd_get.c), the failure line (get_failure.c), the -v trace
 * and the retry notice (get_verbose.c), -w (get_write_out.c), and -o FILE with its .part file,
 * -C -, the progress bar and the summary (get_output.c). */
#ifndef TETHER_CLI_GET_H
#define TETHER_CLI_GET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tether/client.h"

#include "fetch_flags.h"
#include "get_output.h"

struct get_ctx {
    struct fetch_flags ff;
    const char *out_path; /* -o; NULL or "-" = stdout */
    bool verbose;
    bool silent;           /* -s: no progress line, and no error line unless -S */
    bool show_error;       /* -S */
    bool include;          /* -i: the response head before the body */
    bool head_only;        /* -I: HEAD, and the head is the output */
    bool fail;             /* -f: no body for a final status >= 400, curl's message */
    const char *write_out; /* -w FORMAT */
    char *write_out_file;  /* owned: the format -w @FILE read */
    FILE *out;             /* NULL with --json and no -o: the body is counted, not kept */
    bool created;          /* out was opened by us (a file) */
    bool head_written;
    uint64_t body_bytes;
    int write_errno; /* nonzero once a write failed */
    bool progress;
    bool notices; /* a one-line retry notice on a terminal (not -s, not -v) */
    bool notice_shown;
    unsigned max_attempts;       /* the policy's, for "(2/3)" */
    struct tether_policy policy; /* as built from the flags, for "not retried" */
    bool waits_for_server;       /* --retry-connrefused or --wait-for: attempts are not the bound */
    uint64_t start_ns;           /* when the request started: the retry notice's clock */
    bool help;

    /* -o FILE through FILE.part, and -C - (get_output.c) */
    const char *continue_at; /* -C */
    struct get_output file;  /* when created: out is file.fp */
    uint64_t received;       /* body bytes of this run, restarts included */
    bool already_complete;   /* -C -: a 416 said FILE.part holds the whole body */
};

/* The failure line after "tether get: " for a fetch that failed (no final response): Node's
 * message, the detail the library kept (a certificate's verify reason...), the fix when one is
 * known, "after N attempts", and why it was not retried when it was not. */
void get_failure_text(const struct get_ctx *g, const tether_fetch *f, char *buf, size_t len);
/* The line for a final 4xx/5xx: "HTTP 503 Service Unavailable", "after N attempts", and why a
 * status the policy retries was not retried (a POST without Idempotency-Key). */
void get_status_text(const struct get_ctx *g, const tether_fetch *f, char *buf, size_t len);

/* The event hook: -v's trace (curl's "*", ">" and "<" lines) and the retry notice. */
void get_on_event(tether_client *c, const struct tether_event *ev);
/* -v: the policy line before the request, and the summary after it. */
void get_trace_policy(const struct get_ctx *g, const struct tether_client_options *o);
/* -v: what the pool did about idle closes, the same facts `tether load` prints: connections
 * retired before the server's close, stale ones evicted, the idle close learned and the last
 * origin's Keep-Alive hint. */
void get_trace_pool_facts(const tether_client *c);
void get_trace_summary(const struct get_ctx *g, const tether_fetch *f);
/* Clears the retry notice's line, if one was shown. */
void get_notice_clear(struct get_ctx *g);

/* Writes -w's FORMAT for the finished fetch to stdout, as curl does: %{variable}, \n \r \t,
 * %% ; an unknown variable prints nothing and one warning on stderr. `exit_code` is
 * %{exitcode}, `errmsg` %{errormsg} ("" on success). */
void get_write_out(const struct get_ctx *g, const tether_fetch *f, int exit_code,
                   const char *errmsg);

#endif
