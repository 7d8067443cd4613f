/* SPDX-License-Identifier: MIT */
/*
 * Response writes (server-pool.md S7): a client that stops reading is closed after
 * send_timeout_ms without progress; one that reads slowly but steadily is not.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

#include "rawclient.h"

#define T(ms) tt_test_scale_ms(ms)

#define BIG (16u * 1024u * 1024u)

/* Reads everything until the end of the stream, `chunk` bytes at a time with `pause_ms`
 * between reads. Returns the byte count; *end is RC_EOF, RC_RESET or RC_TIMEOUT. */
static size_t drain(struct rc *c, size_t chunk, uint64_t pause_ms, uint64_t deadline_ms, int *end)
{
    static char buf[65536];
    size_t total = 0;
    if (chunk > sizeof(buf)) {
        chunk = sizeof(buf);
    }
    for (;;) {
        long n = c->tp->recv(c, buf, chunk, deadline_ms);
        if (n <= 0) {
            *end = n == 0 ? RC_EOF : (int)-n;
            return total;
        }
        total += (size_t)n;
        if (pause_ms) {
            rc_sleep_ms(pause_ms);
        }
    }
}

/* Reads the response head byte by byte (it is short); returns its Content-Length or -1. */
static long long read_head(struct rc *c, uint64_t deadline_ms)
{
    char head[4096];
    size_t hl = 0;
    while (hl < sizeof(head) - 1) {
        long n = c->tp->recv(c, head + hl, 1, deadline_ms);
        if (n <= 0) {
            return -1;
        }
        hl++;
        head[hl] = '\0';
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0) {
            const char *cl = strstr(head, "Content-Length: ");
            return cl ? strtoll(cl + 16, NULL, 10) : -1;
        }
    }
    return -1;
}

/* Polls the stats until closes[cause] >= 1; false on timeout. */
static bool wait_for_close(struct srvfix *fx, enum tether_close_cause cause, uint64_t timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    struct srvfix_snapshot s;
    do {
        srvfix_snapshot(fx, &s);
        if (s.stats.closes[cause] >= 1) {
            return true;
        }
        rc_sleep_ms(5);
    } while (rc_now_ms() < deadline);
    return false;
}

/* A client that never reads: after send_timeout_ms without progress the server gives up. */
static void test_stalled_reader_hits_send_timeout(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    o.send_timeout_ms = T(300);
    o.keep_alive_timeout_ms = T(5000);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    char target[64];
    snprintf(target, sizeof(target), "/big/%u", 2 * BIG);
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_send_get(&c, target), RC_OK);
    assert_true(wait_for_close(fx, TETHER_CLOSE_SEND_TIMEOUT, o.send_timeout_ms + T(5000)));
    uint64_t took = rc_now_ms() - t0;
    rc_note("stalled reader closed after %llu ms (send_timeout_ms %llu)", (unsigned long long)took,
            (unsigned long long)o.send_timeout_ms);
    assert_true(took + 10 >= o.send_timeout_ms);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_SEND_TIMEOUT], 1);
    int end;
    size_t got = drain(&c, sizeof(c.buf), 0, rc_now_ms() + T(5000), &end);
    rc_note("the client then read %zu of %u body bytes, then %s", got, 2 * BIG,
            rc_result_name(end));
    assert_true(got < 2 * BIG);
    assert_true(end == RC_EOF || end == RC_RESET);
    rc_close(&c);
    srvfix_end(state);
}

/*
 * A client reading at most 64 KiB at a time, pausing between reads, a 16 MiB response sent in
 * one write: progress never stops for send_timeout_ms, so the whole response must arrive.
 * (Progress has to be measured as bytes leave the queue, not only when a whole write
 * completes.) The pause is chosen so that the at least 256 reads take twice the send timeout
 * in all, which makes the test meaningful on any machine, while each pause is a small fraction
 * of the timeout, so only a reader stalled for most of a second could trip it.
 */
static void test_slow_steady_reader_gets_whole_response(void **state)
{
    struct tether_server_options o;
    srvfix_options(&o);
    /* Generous: on a loaded machine the reader thread can oversleep its 10 ms by a lot. */
    o.send_timeout_ms = T(1000);
    o.keep_alive_timeout_ms = T(5000);
    struct srvfix *fx = srvfix_begin(state, &o);
    struct rc c;
    char target[64];
    snprintf(target, sizeof(target), "/big/%u", BIG);
    ASSERT_RC(rc_connect(&c, fx->port), RC_OK);
    uint64_t t0 = rc_now_ms();
    ASSERT_RC(rc_send_get(&c, target), RC_OK);
    long long cl = read_head(&c, t0 + T(5000));
    assert_int_equal(cl, BIG);
    size_t want = BIG;
    size_t got = 0;
    static char buf[65536];
    uint64_t pause_ms = 2 * o.send_timeout_ms / (BIG / sizeof(buf)) + 1;
    while (got < want) {
        long n = c.tp->recv(&c, buf, sizeof(buf), t0 + 2 * o.send_timeout_ms + T(20000));
        if (n <= 0) {
            int end = n == 0 ? RC_EOF : (int)-n;
            rc_note("after %zu of %zu body bytes (%llu ms): %s", got, want,
                    (unsigned long long)(rc_now_ms() - t0), rc_result_name(end));
            break;
        }
        got += (size_t)n;
        rc_sleep_ms(pause_ms);
    }
    uint64_t took = rc_now_ms() - t0;
    rc_note("read %zu of %zu body bytes in %llu ms", got, want, (unsigned long long)took);
    assert_true(took > o.send_timeout_ms); /* the test is only meaningful if it was slow */
    struct srvfix_snapshot s;
    srvfix_snapshot(fx, &s);
    assert_int_equal(s.stats.closes[TETHER_CLOSE_SEND_TIMEOUT], 0);
    assert_int_equal(got, want);
    rc_close(&c);
    assert_true(srvfix_wait_open(fx, 0, T(3000)));
    srvfix_end(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stalled_reader_hits_send_timeout, srvfix_teardown),
        cmocka_unit_test_teardown(test_slow_steady_reader_gets_whole_response, srvfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
