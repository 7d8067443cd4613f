/* SPDX-License-Identifier: MIT */
/* Explain an error text: which ecosystem and error it is, the phase of the connection it died
 * in, which side acted, the ranked causes with their fixes, and whether a retry is safe. */
#ifndef TETHER_EXPLAIN_H
#define TETHER_EXPLAIN_H

#include <stddef.h>

#include "tether/common.h"

TETHER_BEGIN_DECLS

/* Who ended the connection, as far as the text tells. */
enum tether_explain_side {
    TETHER_EXPLAIN_SIDE_UNKNOWN = 0,
    TETHER_EXPLAIN_SIDE_REMOTE, /* the peer (server, proxy, middlebox) closed or reset it */
    TETHER_EXPLAIN_SIDE_LOCAL   /* this process gave up: its own timeout, abort or close */
};

/* Whether sending the same request again is safe. */
enum tether_explain_retry {
    TETHER_EXPLAIN_RETRY_DEPENDS = 0, /* safe for idempotent requests, or when nothing was sent */
    TETHER_EXPLAIN_RETRY_YES,         /* the request never reached the server */
    TETHER_EXPLAIN_RETRY_NO           /* retrying cannot help, or would repeat the harm */
};

/* Causes C1..C16 (the same codes `tether doctor` reports). */
#define TETHER_EXPLAIN_NCAUSES 16
/* At most this many causes are ranked per error. */
#define TETHER_EXPLAIN_MAX_CAUSES 6

struct tether_explain_cause {
    const char *code;  /* "C1" */
    const char *title; /* one line */
    const char *why;   /* how it produces the error */
    const char *fix;   /* what to change */
};

/* One catalogue entry: a known error of one ecosystem. Every string is static. */
struct tether_explain_entry {
    const char *id;        /* stable, e.g. "node-socket-hang-up" */
    const char *ecosystem; /* "Node.js", "curl", "Python requests", "nginx", ... */
    const char *error;     /* the error's canonical text, e.g. "socket hang up" */
    /* Phase of the connection: dns, connect, tls, send, wait, headers, body, idle, downstream,
     * upstream-connect/-tls/-send/-wait/-headers/-body, or "unknown" for wrappers. */
    const char *phase;
    enum tether_explain_side side;
    unsigned char causes[TETHER_EXPLAIN_MAX_CAUSES]; /* C-numbers, most likely first; 0 ends */
    enum tether_explain_retry retry_safe;
    const char *retry_note; /* why retry_safe is what it is */
    const char *confirm;    /* a tether command that confirms the top cause */
    const char *note;       /* what the error means, in a sentence or two */
    const char *source;     /* where the string comes from (doctor anchors section, file) */
};

/* One error found in the text. */
struct tether_explain_match {
    const struct tether_explain_entry *entry;
    size_t offset; /* byte offset of the matched text in the input */
    size_t length; /* its length (never crosses a line end) */
    size_t line;   /* 1-based line number of the match */
};

/* The generic reading of an errno text (ECONNRESET, EPIPE, ...) when no catalogue entry
 * matched: what the errno means, whatever produced it. */
struct tether_explain_errno {
    const char *name;  /* "ECONNRESET" */
    const char *phase; /* usually "unknown": an errno alone does not tell */
    enum tether_explain_side side;
    unsigned char causes[TETHER_EXPLAIN_MAX_CAUSES];
    const char *advice; /* one paragraph */
};

struct tether_explanation {
    size_t count;                         /* errors recognised, in the order they appear */
    struct tether_explain_match *matches; /* count of them */
    /* When count is 0: the errno the text mentions, if any (first one found), else NULL. */
    const struct tether_explain_errno *errno_hint;
};

/*
 * Reads `text` (len bytes; not NUL-terminated, may hold any bytes) and recognises every known
 * error in it: one line, a stack trace, a log excerpt or several of those pasted together.
 * Matching is case-insensitive on stable fragments of each message, so version drift (curl's
 * "Couldn't"/"Could not", Go's "request canceled"/"context deadline exceeded"), timestamps,
 * addresses and surrounding stack frames do not matter. An error that appears several times
 * (a chained Python traceback, a log with repeated lines) is reported once, at its first
 * place; a generic errno text is dropped when a more specific message explains it.
 *
 * Returns TETHER_OK and sets *out (free it with tether_explanation_free) even when nothing
 * was recognised (count 0), TETHER_EINVAL for a NULL text with len > 0 or a NULL out, or
 * TETHER_ENOMEM. Nothing is printed.
 */
TETHER_EXTERN TETHER_NODISCARD int tether_explain(const char *text, size_t len,
                                                  struct tether_explanation **out);
TETHER_EXTERN void tether_explanation_free(struct tether_explanation *e);

/* The cause with C-number `code` (1..TETHER_EXPLAIN_NCAUSES), or NULL. */
TETHER_EXTERN const struct tether_explain_cause *tether_explain_cause(unsigned code);

/* The word for a side ("remote", "local", "unknown") and a retry answer ("yes", "no",
 * "depends"). */
TETHER_EXTERN const char *tether_explain_side_name(enum tether_explain_side side);
TETHER_EXTERN const char *tether_explain_retry_name(enum tether_explain_retry retry);

/* The catalogue, entry by entry: the i-th entry (from 0), or NULL past the last. */
TETHER_EXTERN const struct tether_explain_entry *tether_explain_catalog_entry(size_t i);

TETHER_END_DECLS

#endif
