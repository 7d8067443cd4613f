/* SPDX-License-Identifier: MIT */
/* Private to src/proxy/: what every proxy header needs: includes, limits, the types' names and
 * the API's error record. */
#ifndef TETHER_PROXY_BASE_H
#define TETHER_PROXY_BASE_H

#include <stdarg.h>

#include <jansson.h>

#include "core/defer.h"
#include "internal.h"
#include "util/rand.h"
#include "net/net.h"
#include "tether/proxy.h"
#include "tether/server.h"

/* tt__container_of for const pointers (list walks in read-only functions). */
#define px_const_container_of(ptr, type, member)                                                   \
    ((const type *)(const void *)((const char *)(ptr)-offsetof(type, member)))

/* ---- limits ---- */

/* Stop reading a source while its destination has this much queued (backpressure): bytes
 * held by libuv and the coalescing buffer, plus PX_WRITE_OVERHEAD per pending write. */
#define PX_WRITE_HIGH_WATER (1024u * 1024u)
#define PX_WRITE_OVERHEAD 256u
/* The coalescing buffer's hard cap: reading stops at PX_WRITE_HIGH_WATER, so only what the
 * stages already held (PX_HELD_HIGH_WATER) can land on top of it. */
#define PX_PEND_MAX (16u * 1024u * 1024u)
/* Writes in flight before further bytes are coalesced (see sink_write). */
#define PX_WRITES_DIRECT_MAX 64u
/* Stop reading a source while the stages of its direction hold this much (latency keeps
 * chunks for a while; Toxiproxy buffers 1024 chunks of 32 KiB for the same reason). */
#define PX_HELD_HIGH_WATER (4u * 1024u * 1024u)
/* A graceful close drains the peer for at most this long in all, and this long per wait. */
#define PX_LINGER_TOTAL_MS 2000
#define PX_LINGER_WAIT_MS 500
/* While upstream_down "refuse" keeps the listener closed, the upstream is probed this often. */
#define PX_PROBE_INTERVAL_MS 500
/* A direction splices once one read brought this much: bulk data, where splice(2) saves two
 * copies per byte. Small request/response traffic stays on read/write, which costs the kernel
 * less per message than moving a few hundred bytes through a pipe (measured: CPU per request
 * through the proxy at wrk c=1 rose by half when every direction spliced). */
#define PX_SPLICE_MIN_READ (16u * 1024u)
#define PX_MAX_ATTRS 6
#define PX_API_MAX_BODY (16u * 1024u * 1024u)

struct px_proxy;
struct px_conn;
struct px_half;
struct px_stage;
struct px_toxic;

/* An API failure: the HTTP status and the exact message (api.go's ApiError). */
struct px_err {
    int status;
    char msg[512];
};
void tt__px_err_set(struct px_err *e, int status, const char *fmt, ...) TETHER_PRINTF(3, 4);

#endif
