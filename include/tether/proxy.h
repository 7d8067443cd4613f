/* SPDX-License-Identifier: MIT */
/* A fault-injecting TCP proxy with Toxiproxy's HTTP API, plus load-balancer and firewall toxics.
 *
 * Threads: a proxy server is not thread-safe. Call every function on the thread that runs its
 * loop; callbacks run there too.
 *
 * SIGPIPE: the proxy writes to peers that reset by design; ignore SIGPIPE once in the program,
 * e.g. with tether_ignore_sigpipe() (tether/common.h), or a reset mid-write kills it. */
#ifndef TETHER_PROXY_H
#define TETHER_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tether/common.h"
#include "tether/error.h"

TETHER_BEGIN_DECLS

/* The Toxiproxy version the API reports in GET /version (clients compare against it). */
#define TETHER_PROXY_TOXIPROXY_VERSION "2.12.0"

/*
 * A set of named proxies and their toxics: what one Toxiproxy server holds. It can serve the
 * Toxiproxy HTTP API on a port, and the same API can be called in-process without HTTP
 * (tether_proxy_server_call), which is how tests and `tether proxy --preset` drive it.
 */
typedef struct tether_proxy_server tether_proxy_server;

struct tether_proxy_server_options {
    /* The API listener. NULL host = no HTTP API (in-process use only). "localhost" binds both
     * 127.0.0.1 and ::1 (Toxiproxy binds one, so half the clients that resolve localhost to ::1
     * get ECONNREFUSED). Borrowed, copied. Default "localhost". */
    const char *api_host;
    uint16_t api_port;           /* default 8474; 0 = any free port */
    uint64_t seed;               /* RNG seed for toxicity rolls, jitter, slicing; see has_seed */
    bool has_seed;               /* false = seeded from the clock */
    uint64_t connect_timeout_ms; /* upstream dial timeout; default 10000 */
    /* Borrowed; when set, a failed tether_proxy_server_new writes why into it (always
     * NUL-terminated), e.g. "listen EADDRINUSE: address already in use 127.0.0.1:8474". */
    char *errbuf;
    size_t errbuf_len;
    /* GET /metrics on the API in Prometheus text format 0.0.4 (Toxiproxy's -proxy-metrics and
     * -runtime-metrics; without either, /metrics answers 404 as Toxiproxy does). proxy_metrics:
     * Toxiproxy's toxiproxy_proxy_{received,sent}_bytes_total per direction and proxy, live,
     * plus tether_proxy_* connection, FIN and RST counters (RSTs also per toxic type).
     * runtime_metrics: process_* (CPU, memory, file descriptors, start time, from /proc where
     * the system has it) and tether_build_info. Both default to false. See docs/proxy.md. */
    bool proxy_metrics;
    bool runtime_metrics;
};

/* Fills `o` (borrowed) with the defaults. */
TETHER_EXTERN void tether_proxy_server_options_init(struct tether_proxy_server_options *o);

/* Creates the server on `loop` (borrowed) and starts the API listener if one is asked for.
 * On success the caller owns *out and releases it with tether_proxy_server_close. Returns
 * TETHER_EADDRINUSE, TETHER_EINVAL, TETHER_ENOMEM... (errbuf says why); on failure nothing is
 * left on the loop. Never blocks. Proxy listen addresses must be IP literals or localhost:
 * resolving a name would block the loop. */
TETHER_EXTERN TETHER_NODISCARD int
tether_proxy_server_new(uv_loop_t *loop, const struct tether_proxy_server_options *o,
                        tether_proxy_server **out);

/* The API's bound port (0 when there is no API listener). */
TETHER_EXTERN uint16_t tether_proxy_server_api_port(const tether_proxy_server *ps);

/*
 * Performs one API request without HTTP: the same routes, status codes and JSON bodies as the
 * HTTP API (e.g. "POST", "/proxies", "{\"name\":...}"). `body` (borrowed, may be NULL) need not
 * be NUL-terminated. On return *status is the HTTP status and *response (caller owns; release
 * with tether_free; may be NULL for 204) the body. Returns 0, or TETHER_ENOMEM/EINVAL when the
 * call itself could not be made (an API error is status >= 400 with return value 0).
 */
TETHER_EXTERN TETHER_NODISCARD int tether_proxy_server_call(tether_proxy_server *ps,
                                                            const char *method, const char *path,
                                                            const char *body, size_t body_len,
                                                            int *status, char **response,
                                                            size_t *response_len);

/* The port proxy `name` listens on (after "listen":"127.0.0.1:0"); TETHER_EINVAL if unknown or
 * not listening. */
TETHER_EXTERN TETHER_NODISCARD int tether_proxy_server_proxy_port(const tether_proxy_server *ps,
                                                                  const char *name, uint16_t *port);

/*
 * Presets: the toxics that reproduce a load balancer's or a firewall's default behaviour, so a
 * test suite gets "an AWS ALB in front" in one call. The catalogue (docs/proxy.md "Presets",
 * with the numbers and their sources): aws-alb, aws-nlb, azure-lb, azure-lb-rst, gcp-nat,
 * haproxy, firewall-reset, firewall-drop.
 */

/* The largest scale tether_proxy_server_apply_preset takes (the smallest is anything above 0). */
#define TETHER_PROXY_PRESET_MAX_SCALE 1000.0

/* The name of preset `i` (0, 1, ... in the catalogue's order), e.g. "aws-alb"; NULL past the
 * last one. Returns a static string; any thread. */
TETHER_EXTERN const char *tether_proxy_preset_name(size_t i);

/* One line on what preset `i` models and what a client sees, e.g. "ALB/CLB: FIN to both sides
 * after 60 s without a byte either way"; NULL past the last one. Static string; any thread. */
TETHER_EXTERN const char *tether_proxy_preset_describe(size_t i);

/*
 * Adds the toxics of the preset called `preset` to the existing proxy `proxy_name`, through
 * the same decoding and checks as POST /proxies/{proxy}/toxics: toxicity 1, the API's default
 * names ("idle_timeout_downstream"), live connections affected at once. Every time attribute
 * is multiplied by `scale` (rounded; a non-zero time stays at least 1 ms), so 0.01 turns
 * aws-alb's 60 s into 600 ms for a test; counts and sizes are never scaled. All or nothing.
 *
 * `ps`, `proxy_name` and `preset` are borrowed. Call on the loop's thread; never blocks.
 * Returns 0; TETHER_EINVAL for an unknown preset or proxy, a scale that is not finite, above 0
 * and at most TETHER_PROXY_PRESET_MAX_SCALE, or a toxic of the same name already on the proxy (the
 * preset was applied before); TETHER_ENOMEM. On failure nothing was added and `errbuf` (borrowed,
 * may be NULL) holds the reason, always NUL-terminated, e.g. "unknown preset 'aws-elb' (valid
 * presets: aws-alb, ...)".
 */
TETHER_EXTERN TETHER_NODISCARD int
tether_proxy_server_apply_preset(tether_proxy_server *ps, const char *proxy_name,
                                 const char *preset, double scale, char *errbuf, size_t errbuf_len);

/* Stops every proxy (their connections are closed) and the API; `cb` (may be NULL) runs with
 * `data` once all memory is released, on a later loop turn. NULL `ps` and a second call are
 * harmless. */
typedef void (*tether_proxy_server_close_cb)(void *data);
TETHER_EXTERN void tether_proxy_server_close(tether_proxy_server *ps,
                                             tether_proxy_server_close_cb cb, void *data);

TETHER_END_DECLS

#endif
