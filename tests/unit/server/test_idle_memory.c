/* SPDX-License-Identifier: MIT */
/*
 * What an idle keep-alive connection costs the server: its own struct and nothing else. Idle
 * connections can be most of a server's connections (every pooled client keeps some), so the
 * server frees a connection's input buffer when it turns idle and parses every head into one
 * shared fields array (bench/server_bench measures the resident memory against nginx). Counted
 * exactly with a counting allocator installed through tether_set_allocator, not by RSS.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "rawclient.h"
#include "server/server_int.h"
#include "test.h"

#define T(ms) tt_test_scale_ms(ms)
#define IDLE_CONNS 32

/* Live bytes allocated through tether's allocator; each block carries its size in front. */
static atomic_llong live_bytes;

struct block_head {
    size_t size;
    max_align_t align;
};

static void *count_malloc(size_t n)
{
    struct block_head *h = malloc(sizeof(*h) + n);
    if (!h) {
        return NULL;
    }
    h->size = n;
    atomic_fetch_add(&live_bytes, (long long)n);
    return &h->align;
}

static void count_free(void *p)
{
    if (!p) {
        return;
    }
    struct block_head *h = (struct block_head *)((char *)p - offsetof(struct block_head, align));
    atomic_fetch_sub(&live_bytes, (long long)h->size);
    free(h);
}

static void *count_realloc(void *p, size_t n)
{
    if (!p) {
        return count_malloc(n);
    }
    struct block_head *old = (struct block_head *)((char *)p - offsetof(struct block_head, align));
    size_t was = old->size;
    struct block_head *h = realloc(old, sizeof(*h) + n);
    if (!h) {
        return NULL;
    }
    h->size = n;
    atomic_fetch_add(&live_bytes, (long long)n - (long long)was);
    return &h->align;
}

/* Waits until `n` connections are idle (each has had its response). */
static void wait_idle(struct srvfix *fx, unsigned n)
{
    uint64_t stop = rc_now_ms() + T(5000);
    struct srvfix_snapshot s;
    for (srvfix_snapshot(fx, &s); s.stats.connections_idle != n; srvfix_snapshot(fx, &s)) {
        if (rc_now_ms() >= stop) {
            fail_msg("%u connections idle, want %u", (unsigned)s.stats.connections_idle, n);
        }
        rc_sleep_ms(1);
    }
}

static void test_idle_connection_holds_only_its_struct(void **state)
{
    assert_int_equal(tether_set_allocator(count_malloc, count_realloc, count_free), 0);
    struct tether_server_options o;
    srvfix_options(&o);
    o.keep_alive_timeout_ms = T(60000); /* they stay idle for the whole test */
    struct srvfix *fx = srvfix_begin(state, &o);
    static struct rc conns[IDLE_CONNS + 1];
    struct rc_response r;
    ASSERT_RC(rc_connect(&conns[0], fx->port), RC_OK);
    ASSERT_RC(rc_get(&conns[0], "/warm-up", 200, &r, T(2000)), RC_OK);
    wait_idle(fx, 1);
    long long before = atomic_load(&live_bytes);
    for (int i = 1; i <= IDLE_CONNS; i++) {
        ASSERT_RC(rc_connect(&conns[i], fx->port), RC_OK);
        /* A long head, so an input buffer held while idle would show. */
        ASSERT_RC(rc_get(&conns[i], "/a-long-target-for-a-head-of-some-size?x=0123456789abcdef",
                         200, &r, T(2000)),
                  RC_OK);
    }
    wait_idle(fx, IDLE_CONNS + 1);
    long long per_conn = (atomic_load(&live_bytes) - before) / IDLE_CONNS;
    print_message("an idle keep-alive connection holds %lld bytes (its struct: %zu)\n", per_conn,
                  sizeof(struct tt__srv_conn));
    assert_true(per_conn <= (long long)sizeof(struct tt__srv_conn));
    for (int i = 0; i <= IDLE_CONNS; i++) {
        rc_close(&conns[i]);
    }
    srvfix_end(state);
    assert_int_equal(atomic_load(&live_bytes), 0); /* everything came back */
    assert_int_equal(tether_set_allocator(NULL, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connection_holds_only_its_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
