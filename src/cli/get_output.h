/* SPDX-License-Identifier: MIT */
/* `tether get -o FILE`: the body goes to FILE.part and becomes FILE only once complete, so a
 * failed download never leaves a silently truncated FILE; -C - continues a partial file; the
 * progress bar (on a terminal) and the final summary line. */
#ifndef TETHER_CLI_GET_OUTPUT_H
#define TETHER_CLI_GET_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tether/client.h"

#define GET_PART_SUFFIX ".part"
/* Beside a kept FILE.part: the If-Range value its bytes belong to, so -C - cannot splice
 * them with a resource that changed since (aria2's FILE.aria2 control file does the same). */
#define GET_VALIDATOR_SUFFIX ".part.validator"

struct get_output {
    const char *path;     /* FILE (borrowed) */
    char *part;           /* FILE.part (owned) */
    char *sidecar;        /* FILE.part.validator (owned) */
    char validator[128];  /* -C -: what the sidecar held ("" = none: a bare Range, as curl) */
    FILE *fp;             /* open on `part` */
    uint64_t held;        /* bytes in the part file: where the next body byte goes */
    uint64_t resume_from; /* what -C - found in FILE.part (or FILE) at the start */
    uint64_t received;    /* body bytes received in this run, restarts included */
    uint64_t start_ns;
    bool sidecar_done; /* the sidecar describes the body being written */
    bool direct;       /* FILE is not a regular file (/dev/null, a FIFO): written in place */
    uint64_t drawn_ns; /* when the progress bar was last drawn */
};

/* Opens FILE.part for writing: empty, or with `continue_partial` (-C -) the bytes of an earlier
 * run, from FILE.part or else FILE (moved to FILE.part, so FILE appears only when complete).
 * An existing FILE that is not a regular file (/dev/null, a FIFO, a terminal) is written in
 * place, as curl does: renaming over it would replace a device node with a plain file.
 * Returns 0 or 2 after printing the usage error naming the path. */
int get_output_open(struct get_output *o, const char *path, bool continue_partial);
/* Appends body bytes of `f`'s response (the first ones write the validator sidecar). Returns
 * 0 or the errno of a failed write. */
int get_output_write(struct get_output *o, const tether_fetch *f, const char *data, size_t len);
/* The library's on_restart: the next bytes go at `offset`; the file is cut there. Returns 0 or
 * the errno of the failed truncation. */
int get_output_seek(struct get_output *o, uint64_t offset);
/* Closes the file: with `complete` FILE.part becomes FILE (returns 0 or the errno of the
 * rename); otherwise FILE.part is kept when it holds bytes (so -C - can continue them, with the
 * sidecar) and removed when empty. `*kept` tells which. */
int get_output_close(struct get_output *o, bool complete, bool *kept);
void get_output_cleanup(struct get_output *o);

/* Whether `f`, a fetch that asked to continue at o->resume_from, learned the file is already
 * complete: a 416 whose Content-Range total equals what FILE.part holds. */
bool get_output_already_complete(const struct get_output *o, const tether_fetch *f);

/* Writes body bytes to `out` (stdout) like fwrite, but never blocks past `deadline_ns`
 * (uv_hrtime; 0 = none): a reader that stopped reading would otherwise hold the command in a
 * blocking write where --max-time cannot fire. Returns 0, ETIMEDOUT at the deadline, or the
 * errno of a failed write. */
int get_stdout_write(FILE *out, const char *data, size_t len, uint64_t deadline_ns);

/* "1.5 MiB" */
void get_human_bytes(uint64_t n, char *buf, size_t len);

/* One progress line on stderr (a terminal), redrawn at most 5 times a second: what the file
 * holds, the total and % when known (Content-Length or Content-Range of `f`), the rate of this
 * run, the ETA, resumes and retries. `held` is what the sink holds, `received` this run's
 * bytes. `final` erases the line. */
void get_progress_draw(struct get_output *o, const tether_fetch *f, uint64_t held,
                       uint64_t received, bool final);

/* The summary line: "tether get: 1.0 GiB in 12.3 s (83.2 MiB/s), 3 resumes, 0 retries -> FILE". */
void get_output_summary(const struct get_output *o, const tether_fetch *f);

#endif
