/* SPDX-License-Identifier: MIT */
/* The proxy tests' shorthands and shared steps over the toxic_peer fixture (toxic_peer.h). */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "toxic_peer.h"

/* ---- shorthands ---- */

void px_ok(struct pxfix *fx, const char *method, const char *path, const char *body, int want)
{
    struct px_reply r;
    int st = pxfix_call(fx, method, path, body, &r);
    if (st != want) {
        char copy[512];
        snprintf(copy, sizeof(copy), "%s", r.body ? r.body : "");
        px_reply_free(&r);
        fail_msg("%s %s %s -> %d (rv %d) %s, expected %d", method, path, body ? body : "", st, r.rv,
                 copy, want);
    }
    px_reply_free(&r);
}

uint16_t px_proxy(struct pxfix *fx, const char *name, uint16_t upstream_port)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}", name,
             (unsigned)upstream_port);
    px_ok(fx, "POST", "/proxies", body, 201);
    uint16_t port = pxfix_proxy_port(fx, name);
    if (port == 0) {
        fail_msg("proxy %s has no listen port after POST /proxies", name);
    }
    return port;
}

void px_toxic(struct pxfix *fx, const char *proxy, const char *json)
{
    char path[256];
    snprintf(path, sizeof(path), "/proxies/%s/toxics", proxy);
    px_ok(fx, "POST", path, json, 200);
}

/* ---- the toxic tests' shared steps ---- */

uint64_t tp_late_ms(void)
{
    return tt_test_scale_ms(TP_LATE_MS);
}

int tp_connect_ok(uint16_t port)
{
    int fd = -1;
    int err = 0;
    int rv = tp_connect(port, &fd, &err);
    if (rv != TP_OK) {
        fail_msg("connect to proxy port %u: %s (errno %d)", (unsigned)port, tp_end_name(rv), err);
    }
    return fd;
}

int tp_connect_retry(uint16_t port, uint64_t timeout_ms)
{
    uint64_t stop = tp_now_ms() + tt_test_scale_ms(timeout_ms);
    for (;;) {
        int fd = -1;
        int rv = tp_connect(port, &fd, NULL);
        if (rv == TP_OK) {
            return fd;
        }
        if (rv != TP_REFUSED || tp_now_ms() >= stop) {
            fail_msg("connect to port %u: %s", (unsigned)port, tp_end_name(rv));
        }
        tp_sleep_ms(50);
    }
}

void tp_echo_ok(int fd, const char *msg)
{
    char buf[256];
    struct tp_read r;
    ASSERT_END(tp_send_str(fd, msg), TP_OK);
    ASSERT_END(tp_read_n(fd, buf, sizeof(buf), strlen(msg), TP_WAIT_MS, &r), TP_OK);
    ASSERT_SPAN_EQ(buf, r.bytes, msg);
}

struct tp_peer_stats pxfix_peer_stats(struct pxfix *fx)
{
    struct tp_peer_stats s;
    tp_peer_stats(fx->peer, &s);
    return s;
}

void pxfix_wait_event(struct pxfix *fx, const char *type, uint64_t timeout_ms)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"type\":\"%s\"", type);
    uint64_t stop = tp_now_ms() + tt_test_scale_ms(timeout_ms);
    for (;;) {
        struct px_reply r;
        int st = pxfix_call(fx, "GET", "/events", NULL, &r);
        bool seen = st == 200 && r.body && strstr(r.body, needle) != NULL;
        px_reply_free(&r);
        if (seen) {
            return;
        }
        if (tp_now_ms() >= stop) {
            fail_msg("no \"%s\" event in the proxy's /events within %llu ms", type,
                     (unsigned long long)tt_test_scale_ms(timeout_ms));
        }
        tp_sleep_ms(5);
    }
}
