/* SPDX-License-Identifier: MIT */
/* Causes C1..C16 of a dropped connection (doctor anchors §2: C1-C10 follow the seed's "Common
 * Causes" table, C11-C16 were added there), each with how it shows and what fixes it. */
#include <stddef.h>

#include "tether/explain.h"

static const struct tether_explain_cause causes[TETHER_EXPLAIN_NCAUSES] = {
    {"C1", "stale pooled keep-alive connection",
     "The server or a load balancer closed the connection while it sat idle in the client's "
     "pool, and the client reused it: the request meets a FIN or an RST before any response "
     "byte.",
     "Keep the client's idle timeout below the server's (Keep-Alive hint minus 1 s); check "
     "sockets at checkout; replay an idempotent request once when a reused connection dies "
     "with no response byte."},
    {"C2", "proxy or load balancer keeps backend connections longer than the backend does",
     "The backend's keep-alive timeout is shorter than the idle timeout of the proxy in front "
     "of it, so the proxy sends a request on a connection the backend is closing and answers "
     "502/503.",
     "Make the backend's keep-alive longer than the proxy's idle timeout plus 5 s (Node "
     "keepAliveTimeout 65 s behind an ALB's 60 s; > 600 s behind GCP)."},
    {"C3", "server crash, restart or deploy",
     "The process behind the connection went away: its sockets were reset or closed and new "
     "connections were refused until it came back.",
     "Drain gracefully on shutdown (stop accepting, finish requests, then close); give the LB "
     "a deregistration delay; retry with backoff."},
    {"C4", "a proxy, load balancer or server timeout fired during a slow request",
     "A request or stream took longer than some hop's read or idle timeout and that hop gave "
     "up on it.",
     "Raise that timeout, or send bytes sooner (stream, heartbeats), or move long work to an "
     "asynchronous job."},
    {"C5", "a NAT, firewall or L4 load balancer dropped the idle flow silently",
     "The middlebox forgot the connection after its idle timeout (AWS NAT/NLB 350 s, Azure "
     "4 min); the next packet gets an RST or disappears.",
     "Enable TCP keepalive with an idle time below the middlebox's (e.g. 60 s) and keep the "
     "pool's idle limit below it too."},
    {"C6", "server-side limit: rate limiting, accept queue or worker connections full",
     "The server or its front end refused or reset connections because it was at a limit.",
     "Raise the limit, back off, and honour 429/503 with Retry-After."},
    {"C7", "TLS handshake failure",
     "The handshake ended without a session: protocol version, cipher, SNI, certificate or "
     "client-certificate (mTLS) mismatch.",
     "Inspect the handshake with `openssl s_client -connect HOST:443 -servername HOST`; "
     "align versions, SNI and certificates."},
    {"C8", "database server or pooler closed an idle session",
     "idle_session_timeout, wait_timeout, PgBouncer or pgpool client_idle_limit ended a "
     "connection the application pool still held.",
     "Keep the pool's idle timeout and maxLifetime below the server's limit; validate on "
     "borrow; enable TCP keepalives."},
    {"C9", "connection limit reached (accepted, then closed)",
     "The server accepted the connection and closed it at once because it was at "
     "maxConnections or worker_connections.",
     "Raise the limit, or queue connections instead of closing them."},
    {"C10", "VPN, corporate proxy or DPI reset the flow",
     "Something on the path between the two ends injected an RST or time-limited the flow.",
     "Compare from another network; bypass or configure the proxy or VPN."},
    {"C11", "the client's own timeout or abort",
     "This process (or its library) gave up and destroyed the socket: a local timeout or "
     "cancel, not the remote side.",
     "Check the client's timeout and abort paths; raise the timeout if the server is "
     "legitimately slow."},
    {"C12", "server answered early and closed while the client was still sending",
     "The server rejected the request (413, 401, ...) and closed before reading the whole "
     "body, so the client's write hit a closed socket.",
     "Send `Expect: 100-continue` with large bodies, and read the response when a write "
     "fails."},
    {"C13", "connection retired on purpose: max requests, max age or GOAWAY",
     "The server or LB closes a connection after N requests or some age; a request racing "
     "the close fails.",
     "Honour `Connection: close` and GOAWAY; retry such a request once on a new "
     "connection."},
    {"C14", "network path loss or route change",
     "Packets stopped arriving: a link, route or host went away.",
     "Check the route and host reachability; retry with backoff."},
    {"C15", "DNS failure", "The name did not resolve (unknown name or resolver unreachable).",
     "Check the name and the resolver (`getent hosts NAME`, resolv.conf)."},
    {"C16", "protocol mismatch or malformed response",
     "The two ends do not speak the same protocol: plain HTTP to a TLS port, an h2c upgrade "
     "refused, an mTLS mode mismatch, or an application bug.",
     "Check the scheme and port; pin the HTTP version; fix the response."},
};

const struct tether_explain_cause *tether_explain_cause(unsigned code)
{
    if (code < 1 || code > TETHER_EXPLAIN_NCAUSES) {
        return NULL;
    }
    return &causes[code - 1];
}

const char *tether_explain_side_name(enum tether_explain_side side)
{
    switch (side) {
    case TETHER_EXPLAIN_SIDE_REMOTE:
        return "remote";
    case TETHER_EXPLAIN_SIDE_LOCAL:
        return "local";
    case TETHER_EXPLAIN_SIDE_UNKNOWN:
    default:
        return "unknown";
    }
}

const char *tether_explain_retry_name(enum tether_explain_retry retry)
{
    switch (retry) {
    case TETHER_EXPLAIN_RETRY_YES:
        return "yes";
    case TETHER_EXPLAIN_RETRY_NO:
        return "no";
    case TETHER_EXPLAIN_RETRY_DEPENDS:
    default:
        return "depends";
    }
}
