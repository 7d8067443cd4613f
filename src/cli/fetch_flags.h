/* SPDX-License-Identifier: MIT */
/* What `tether get` and `tether load` share: request flags, the policy they build, the URL
 * check, status texts and the JSON form of a failure. */
#ifndef TETHER_CLI_FETCH_FLAGS_H
#define TETHER_CLI_FETCH_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tether/client.h"
#include "tether/policy.h"

#include "args.h"

/* -H flags per command line: more is a mistake, not a use case. */
#define FETCH_MAX_HEADERS 100
/* -d @FILE reads at most this much. */
#define FETCH_MAX_DATA (64ull * 1024 * 1024)
/* --resolve flags per command line. */
#define FETCH_MAX_RESOLVE 16
/* curl's --max-redirs default with -L. */
#define FETCH_DEFAULT_MAX_REDIRS 50u
/* The overall deadline of one request when neither --max-time nor the policy sets one (none
 * for a download to a file, see fetch_flags.download). */
#define FETCH_DEFAULT_DEADLINE_MS 30000u
/* Headers added when -H does not set them: Accept, Content-Type, Authorization. */
#define FETCH_DEFAULT_HEADERS 3

struct fetch_flags {
    const char *cmd; /* "get" or "load", for messages */
    /* get -o FILE: no default deadline. A download takes as long as its size needs (curl has
     * no default either); a stall is still bounded by the policy's body_timeout, and a cut
     * body is resumed. */
    bool download;
    const char *url;
    const char *method; /* -X, or NULL: GET, POST when there is a body */
    struct tether_header headers[FETCH_MAX_HEADERS + FETCH_DEFAULT_HEADERS];
    size_t nheaders; /* from -H */
    size_t nsend;    /* headers to send: the -H ones plus the defaults (fetch_request.c) */
    char *header_store[FETCH_MAX_HEADERS]; /* owned: "Name\0value" for each -H */
    bool has_content_type;
    char *data; /* owned: the -d values joined with '&' */
    size_t data_len;
    bool has_data;
    const char *policy_name; /* "default", "naive" or a file */
    bool retry_set;
    uint64_t retry;
    bool max_time_set;
    uint64_t max_time_ms;
    bool connect_timeout_set;
    uint64_t connect_timeout_ms;
    bool no_keepalive;
    bool breaker_set; /* --breaker[=MODE] */
    enum tether_breaker_mode breaker;
    bool insecure;
    const char *ca_file;
    bool json;
    /* Transport (fetch_transport.c): -L, --max-redirs, --compressed, --resolve. */
    bool location;
    bool location_trusted;
    bool max_redirs_set;
    uint64_t max_redirs;
    bool compressed;
    struct tether_resolve resolve[FETCH_MAX_RESOLVE];
    char resolve_store[FETCH_MAX_RESOLVE][320]; /* the entries' host and address strings */
    size_t nresolve;
    bool proxy_set; /* -x given (even ""): the environment is not read */
    const char *proxy;
    bool noproxy_set;
    const char *noproxy;

    /* curl's request flags (fetch_request.c). */
    const char *user_agent; /* -A */
    const char *userpass;   /* -u USER:PASSWORD, or NULL */
    char *url_owned;        /* the URL sent: scheme added, user info taken out */
    char *auth_value;       /* "Basic ..." from -u or the URL's user info */
    const char *idem_key;   /* get's --idempotency-key, or "auto" (load has its own) */
    char idem_auto[40];     /* the key "auto" made */
    bool data_json;         /* --data-json: JSON Content-Type and Accept */
    bool has_accept;        /* -H set Accept */
    bool has_authorization; /* -H set Authorization */
    bool retry_connrefused; /* --retry-connrefused */
    bool wait_for_set;      /* --wait-for DUR */
    uint64_t wait_for_ms;
    bool guess_scheme; /* get: "host:port/path" means http://, as in curl */
};

void fetch_flags_init(struct fetch_flags *f, const char *cmd);
void fetch_flags_cleanup(struct fetch_flags *f);

/* Consumes the current flag when it is one of the shared ones (*taken = true). Returns 0, or 2
 * after printing the one-line usage error. */
int fetch_flags_take(struct args_cursor *c, struct fetch_flags *f, bool *taken);

/* fetch_transport.c: the transport flags (-L, --max-redirs, --compressed, --resolve, -x,
 * --noproxy), as fetch_flags_take; and what they set in the client and fetch options (the
 * proxy from the environment, as curl reads it, when -x is not given). */
int fetch_transport_take(struct args_cursor *c, struct fetch_flags *f, bool *taken);
void fetch_transport_client(const struct fetch_flags *f, struct tether_client_options *o);
void fetch_transport_request(const struct fetch_flags *f, struct tether_fetch_options *fo);
/* curl's request flags: --data-binary, --data-raw, --data-json, -u, -A, --retry-connrefused,
 * --wait-for, and bare seconds for --max-time/--connect-timeout (fetch_request.c). Same
 * contract as fetch_flags_take. */
int fetch_request_take(struct args_cursor *c, struct fetch_flags *f, bool *taken);
/* After the flags: the URL as sent (http:// added to "host:port/path", user info turned into
 * Basic auth and removed), the default headers, the Idempotency-Key. Returns 0 or 2. */
int fetch_request_finish(struct fetch_flags *f);
/* Applies --retry-connrefused and --wait-for to the policy. */
void fetch_request_policy(const struct fetch_flags *f, struct tether_policy *p);
/* Appends a -d style piece (`sep` between pieces: "&" for -d, "" for --data-json); a piece
 * starting with '@' is read from a file ("@-" stdin) when `at_file`, with CR and LF dropped
 * when `strip_newlines` (curl's -d). Returns 0 or 2 (printed). */
int fetch_add_data(struct args_cursor *c, struct fetch_flags *f, const char *v, bool at_file,
                   bool strip_newlines, const char *sep);

/* A duration flag's value where a bare number means seconds ("5", "2.5"), as curl's
 * --max-time; "250ms", "5s" still work. Returns 0 or 2 (printed). */
int fetch_take_seconds(struct args_cursor *c, uint64_t *out_ms);

/* Takes the URL positional (a second one is an error). Returns 0 or 2. */
int fetch_flags_url(struct args_cursor *c, struct fetch_flags *f);

/* After the flags: checks the URL and the CA file, reads the policy, applies --retry,
 * --max-time (or the default deadline), --connect-timeout, --no-keepalive, --insecure and
 * --cacert, and fills `o`. Returns 0 or 2 (printed). */
int fetch_flags_finish(struct fetch_flags *f, struct tether_client_options *o);

/* The exit code when tether_client_new(_blocking) refused with `rv`, after its one stderr
 * line: bad input (`why`, the options' errbuf) is a usage error, anything else a failure. */
int fetch_client_error(const struct fetch_flags *f, int rv, const char *why);

/* Fills the request part of `fo` (method, URL, headers, body); the strings stay owned by `f`. */
void fetch_flags_request(const struct fetch_flags *f, struct tether_fetch_options *fo);
/* The method the request will use. */
const char *fetch_flags_method(const struct fetch_flags *f);

/* True for a final status that counts as success (2xx and 3xx). */
bool fetch_status_ok(int status);
/* Node's message for the failure (tether_failure_message), never empty. */
void fetch_failure_text(const struct tether_failure *fl, char *buf, size_t len);
/* {"code":"ECONNRESET","message":...,"syscall":...,...}; NULL when out of memory. */
json_t *fetch_failure_json(const struct tether_failure *fl);
/* "never_sent", "sent_no_response", "responded" or "none". */
const char *fetch_class_name(enum tether_failure_class k);

#endif
