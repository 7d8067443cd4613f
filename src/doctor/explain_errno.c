/* SPDX-License-Identifier: MIT */
/* The generic reading of an errno when no catalogue message matched: its POSIX name, its
 * strerror text (glibc), and its Windows code and text (WSAE*, "forcibly closed"), so a log
 * from any platform gets the same advice. Seed "Common Causes"; doctor.md §5 "Explain". */
#include "doctor/explain_int.h"

const struct tt_explain_errno_row tt__explain_errnos[] = {
    {.e = {.name = "ECONNRESET",
           .phase = "unknown",
           .side = TT_REMOTE,
           .causes = {1, 3, 5, 2, 6, 10},
           .advice = "The peer (or something between) sent a TCP RST. If the connection had sat "
                     "idle in a pool, it is most likely a stale keep-alive connection (C1); "
                     "otherwise a restart, a middlebox that forgot the flow, or a limit. Find "
                     "the phase: an error on write/send is the request, on read/recv the "
                     "response. Retry only idempotent requests, or reused connections with no "
                     "response byte."},
     .patterns = {"ECONNRESET", "connection reset", "Connection was reset", "forcibly closed",
                  "WSAECONNRESET", "(10054)", "error 10054", "errno 10054"}},
    {.e = {.name = "EPIPE",
           .phase = "send",
           .side = TT_REMOTE,
           .causes = {12, 1, 3},
           .advice = "A write went into a connection the peer had already closed: the server "
                     "closed early (a rejected upload, C12) or the connection was stale (C1). "
                     "Read the response the server may have sent; use Expect: 100-continue for "
                     "large bodies."},
     .patterns = {"EPIPE", "broken pipe"}},
    {.e = {.name = "ECONNREFUSED",
           .phase = "connect",
           .side = TT_REMOTE,
           .causes = {3, 16, 6},
           .advice = "Nothing accepted the connection: the server is down or restarting, the "
                     "port is wrong, or localhost resolved to ::1 while the server listens on "
                     "IPv4 only. Safe to retry with backoff: nothing was sent."},
     .patterns = {"ECONNREFUSED", "connection refused", "actively refused", "WSAECONNREFUSED",
                  "(10061)"}},
    {.e = {.name = "ECONNABORTED",
           .phase = "unknown",
           .side = TT_LOCAL,
           .causes = {11, 14},
           .advice = "The local stack aborted the connection (a local timeout, or Windows' "
                     "\"software caused connection abort\" after retransmissions failed)."},
     .patterns = {"ECONNABORTED", "connection abort", "WSAECONNABORTED", "(10053)"}},
    {.e = {.name = "ETIMEDOUT",
           .phase = "unknown",
           .side = TT_UNKNOWN,
           .causes = {5, 14, 4, 11},
           .advice = "Something waited too long: a connect with no SYN-ACK (firewall drop, host "
                     "down), a black-holed idle connection (a NAT or firewall forgot the flow), "
                     "or a slow server. The phase decides: connect timeouts are safe to retry."},
     .patterns = {"ETIMEDOUT", "timed out", "WSAETIMEDOUT", "(10060)"}},
    {.e = {.name = "EHOSTUNREACH",
           .phase = "connect",
           .side = TT_REMOTE,
           .causes = {14, 10},
           .advice = "No route to the host or its network (an ICMP unreachable): check routes, "
                     "VPN and security groups."},
     .patterns = {"EHOSTUNREACH", "ENETUNREACH", "no route to host", "network is unreachable",
                  "WSAEHOSTUNREACH", "(10065)"}},
    {.e = {.name = "ENOTFOUND",
           .phase = "dns",
           .side = TT_UNKNOWN,
           .causes = {15},
           .advice = "The name did not resolve: check its spelling and the resolver "
                     "(`getent hosts NAME`)."},
     .patterns = {"ENOTFOUND", "EAI_AGAIN", "Name or service not known",
                  "Temporary failure in name resolution", "nodename nor servname",
                  "No such host is known", "WSAHOST_NOT_FOUND"}},
    {.e = {.name = NULL}},
};
