/* SPDX-License-Identifier: MIT */
/*
 * tether doctor: measures the connection lifecycle of an http:// or https:// endpoint (phases,
 * TLS facts, the Keep-Alive hint, the real idle-close time and how it closed, requests per
 * connection, silent drops) and derives findings with fixes from the measurements.
 *
 * The probe runs on the caller's libuv loop and prints nothing. The idle close is detected
 * passively: each idle connection keeps a read pending, so the server's FIN (EOF) or RST
 * (ECONNRESET) is seen the moment it arrives, timed from the last byte of the response.
 */
#ifndef TETHER_DOCTOR_H
#define TETHER_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/common.h"

TETHER_BEGIN_DECLS

#define TETHER_DOCTOR_MAX_ADDRS 16
#define TETHER_DOCTOR_MAX_CONNS 16 /* parallel idle connections */
#define TETHER_DOCTOR_MAX_PROBES 8 /* silent-drop probes */
#define TETHER_DOCTOR_MAX_HINTS 8  /* hop-revealing response fields kept */
#define TETHER_DOCTOR_MAX_FINDINGS 16
#define TETHER_DOCTOR_MAX_CHAIN 4 /* certificates of the chain kept */

struct tether_doctor_options {
    const char *url;       /* http[s]://HOST[:PORT][/PATH]; copied at start */
    uint64_t max_idle_ms;  /* longest wait for an idle close [125000] */
    unsigned connections;  /* idle connections measured in parallel, 1..16 [3] */
    unsigned max_requests; /* bound of the sequential requests on one connection;
                            * 0 skips that measurement [100] */
    uint64_t silent_probe_ms[TETHER_DOCTOR_MAX_PROBES]; /* idle times before a probe request */
    size_t silent_probes;                               /* how many of them are set [0] */
    uint64_t probe_timeout_ms;   /* a probe request without a response byte for this long is a
                                  * "timeout" [5000] */
    uint64_t connect_timeout_ms; /* DNS + TCP connect [10000] */
    /* Opt-in: after the other measurements, open up to this many connections one at a time
     * (each answered, then held) to find a connection limit; 0 = off, at most 512, http://
     * only [0]. Each step waits up to probe_timeout_ms for an answer. */
    unsigned ramp_connections;
};

/* Fills the defaults above (url NULL). */
TETHER_EXTERN void tether_doctor_options_init(struct tether_doctor_options *o);

/* How an idle connection ended. */
enum tether_doctor_close {
    TETHER_DOCTOR_CLOSE_NONE = 0, /* still open at max_idle_ms */
    TETHER_DOCTOR_CLOSE_FIN,      /* EOF: the peer closed gracefully */
    TETHER_DOCTOR_CLOSE_RST,      /* ECONNRESET */
    TETHER_DOCTOR_CLOSE_ERROR,    /* another error, or the first request failed */
};
/* "none", "fin", "rst", "error". */
TETHER_EXTERN const char *tether_doctor_close_name(enum tether_doctor_close how);

struct tether_doctor_idle {
    enum tether_doctor_close how;
    uint64_t ms;  /* from the last response byte to the close (max_idle_ms for NONE) */
    int uv_error; /* for ERROR: the libuv code */
};

/* What a request sent after a chosen idle time met (the silent-drop probe). */
enum tether_doctor_probe_outcome {
    TETHER_DOCTOR_PROBE_OK = 0,       /* a response came */
    TETHER_DOCTOR_PROBE_RST,          /* ECONNRESET / EPIPE on the send or the read */
    TETHER_DOCTOR_PROBE_FIN,          /* EOF without a response */
    TETHER_DOCTOR_PROBE_TIMEOUT,      /* no response byte within probe_timeout_ms */
    TETHER_DOCTOR_PROBE_CLOSED_EARLY, /* the peer closed (FIN/RST) before the idle time ended */
    TETHER_DOCTOR_PROBE_ERROR,        /* the first request of the probe failed */
};
/* "ok", "rst", "fin", "timeout", "closed_early", "error". */
TETHER_EXTERN const char *tether_doctor_probe_name(enum tether_doctor_probe_outcome o);

struct tether_doctor_probe {
    uint64_t idle_ms; /* the idle time asked for */
    enum tether_doctor_probe_outcome outcome;
    uint64_t ms;                        /* from the probe send to the outcome; for CLOSED_EARLY
                                         * the idle time at which it closed */
    enum tether_doctor_close early_how; /* for CLOSED_EARLY: FIN or RST */
};

/* The connection ramp's outcome. */
struct tether_doctor_ramp {
    unsigned tried;                       /* connections opened */
    unsigned answered;                    /* answered (and then held open) */
    bool limit_found;                     /* a connection was not answered before the cap */
    unsigned limit_at;                    /* how many were answered before it */
    enum tether_doctor_probe_outcome how; /* what that connection met: FIN (accepted, then
                                           * closed), RST, TIMEOUT (queued) or ERROR */
    int uv_error;                         /* for ERROR (and RST): the libuv code */
};

struct tether_doctor_result {
    char host[256];
    uint16_t port;
    char path[1024];
    bool tls; /* https:// */
    size_t naddrs;
    char addrs[TETHER_DOCTOR_MAX_ADDRS][48];            /* every address DNS returned */
    char connected[48];                                 /* the address the first connection used */
    double dns_ms, connect_ms, first_byte_ms, total_ms; /* first request: phase durations;
                                                         * first_byte_ms from the request sent */
    int status;                                         /* status of the first response */
    char reason[64];
    char connection[128]; /* Connection field, "" if absent */
    char keep_alive[128]; /* Keep-Alive field, "" if absent */
    size_t nhints;
    char hints[TETHER_DOCTOR_MAX_HINTS][192]; /* "server: nginx/1.22", "via: ..." */
    /* The Keep-Alive hint, parsed. */
    bool hint_present;
    bool hint_has_timeout;
    uint64_t hint_timeout_s;
    bool hint_has_max;
    uint64_t hint_max;
    bool hint_timeout_not_first; /* "max=100, timeout=5": Node skips it */
    bool response_close;         /* Connection: close or close-delimited */
    /* Idle close per connection, and the summary. */
    size_t nidle;
    struct tether_doctor_idle idle[TETHER_DOCTOR_MAX_CONNS];
    uint64_t idle_min_ms, idle_max_ms, idle_median_ms; /* over FIN/RST closes only */
    enum tether_doctor_close idle_how;                 /* the most common close (FIN/RST/NONE) */
    /* Sequential requests on one connection. */
    bool requests_ran;
    unsigned requests_measured;  /* responses read on that connection */
    bool requests_limit_reached; /* it ended by Connection: close or a close,
                                  * not by max_requests */
    size_t nprobes;
    struct tether_doctor_probe probes[TETHER_DOCTOR_MAX_PROBES];
    /* https:// only (tls true): the first connection's handshake. The handshake never fails
     * on verification; the verdict is reported here. */
    double tls_ms;
    char tls_version[16]; /* "TLSv1.3" */
    char tls_cipher[64];  /* "TLS_AES_256_GCM_SHA384" */
    char tls_alpn[32];    /* "http/1.1", "" when none was negotiated */
    bool tls_verified;    /* the chain verifies against the system's CAs */
    char tls_verify_error[128];
    bool tls_hostname_match; /* the leaf certificate names the URL's host */
    int tls_expires_in_days; /* until the leaf's notAfter (negative: expired) */
    char tls_not_after[32];  /* "2027-12-03T14:00:00Z" */
    size_t tls_nchain;
    char tls_chain[TETHER_DOCTOR_MAX_CHAIN][200]; /* "CN=leaf (issuer CN=ca)", leaf first */
    bool ramp_ran;                                /* ramp_connections was set */
    struct tether_doctor_ramp ramp;
};

/* One endpoint's findings and recommendations (tether_doctor_findings). */
enum tether_doctor_severity {
    TETHER_DOCTOR_INFO = 0,
    TETHER_DOCTOR_LOW,
    TETHER_DOCTOR_MEDIUM,
    TETHER_DOCTOR_HIGH,
};
/* "info", "low", "medium", "high". */
TETHER_EXTERN const char *tether_doctor_severity_name(enum tether_doctor_severity s);

struct tether_doctor_finding {
    const char *id; /* static: "idle_close", "hint_missing", ... */
    enum tether_doctor_severity severity;
    char message[320];
    char fix[320];
};

struct tether_doctor_report {
    size_t nfindings;
    struct tether_doctor_finding findings[TETHER_DOCTOR_MAX_FINDINGS];
    /* Recommendations: -1 when there is nothing to recommend. */
    int64_t client_idle_timeout_ms;       /* min(S, H) - max(1 s, 10 %); 0 = do not reuse */
    int64_t server_keep_alive_timeout_ms; /* behind a measured LB: L + 5 s */
    int64_t server_headers_timeout_ms;    /* above that keep-alive (Node < 18) */
    int64_t tcp_keepalive_idle_ms;        /* below a silent middlebox */
    char likely_hop[160];                 /* known defaults matching S, "" when none */
    char reproduce[512];                  /* the tether proxy command that reproduces S */
};

/*
 * Pure rules (see docs/fixes.md "The two rules") from one measurement, and optionally from the
 * measurement of the backend behind it (`backend` NULL when there is none): fills `out`. Nothing
 * is measured or printed; any thread.
 */
TETHER_EXTERN void tether_doctor_findings(const struct tether_doctor_result *r,
                                          const struct tether_doctor_result *backend,
                                          struct tether_doctor_report *out);

/* The known defaults (servers, LBs, NATs) whose idle close is within 3 % (at least 200 ms) of
 * `ms` and closes the same way, joined by ", " into `buf` ("" when none). Returns how many. */
TETHER_EXTERN size_t tether_doctor_match_defaults(uint64_t ms, enum tether_doctor_close how,
                                                  char *buf, size_t len);

/* A running probe. */
struct tether_doctor;
typedef void (*tether_doctor_done_cb)(struct tether_doctor *d, void *arg);

/*
 * Starts probing on `loop`. `done` runs once, from the loop, after every handle is closed; then
 * tether_doctor_result/tether_doctor_error may be read and tether_doctor_free called. Returns 0,
 * or TETHER_EINVAL with a message in errbuf for a bad URL or option (nothing started).
 */
TETHER_EXTERN int tether_doctor_start(uv_loop_t *loop, const struct tether_doctor_options *o,
                                      tether_doctor_done_cb done, void *arg,
                                      struct tether_doctor **out, char *errbuf, size_t errlen);
/* Stops waiting: open idle connections are recorded as NONE at the current time. */
TETHER_EXTERN void tether_doctor_cancel(struct tether_doctor *d);
/* The measurements so far (final after `done`). */
TETHER_EXTERN const struct tether_doctor_result *
tether_doctor_result(const struct tether_doctor *d);
/* NULL when the endpoint was measured; else why it could not be reached, in Node's words
 * ("getaddrinfo ENOTFOUND host", "connect ECONNREFUSED 127.0.0.1:1"). */
TETHER_EXTERN const char *tether_doctor_error(const struct tether_doctor *d);
/* For a live status line: ms since the first idle wait began (0 before), and how many idle
 * connections are still open. */
TETHER_EXTERN void tether_doctor_progress(const struct tether_doctor *d, uint64_t *idle_elapsed_ms,
                                          unsigned *open_idle);
/* Only after `done` (or before the loop ever ran it, if start failed: then d is NULL). */
TETHER_EXTERN void tether_doctor_free(struct tether_doctor *d);

/*
 * Blocking convenience: runs a probe on a private loop and copies the result. Returns 0 when
 * measured; TETHER_EINVAL for a bad URL or option (TETHER_ENOMEM without memory); TETHER_EIO
 * when the endpoint could not be reached, with tether_doctor_error's text in errbuf.
 */
TETHER_EXTERN int tether_doctor_run(const struct tether_doctor_options *o,
                                    struct tether_doctor_result *out, char *errbuf, size_t errlen);

TETHER_END_DECLS

#endif
