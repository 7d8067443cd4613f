/* SPDX-License-Identifier: MIT */
/*
 * Proxy memory per client that does not read (the hostile-input review's B3): with a slicer
 * cutting 1-byte pieces, every piece used to become its own queued write (~260 B of requests
 * per byte), and the 1 MiB high-water mark counted payload bytes only, so one such client held
 * about 270 MB. Now bytes that find the destination backlogged are coalesced, and the mark
 * counts pending writes too. Measured with a counting allocator (tether_set_allocator): what
 * the library holds once the proxy has stopped reading the upstream.
 */
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

#include "proxy/link.h"
#include "proxy/proxy_int.h"
#include "net_peer.h"
#include "toxic_peer.h"

/* ---- a counting allocator ---- */

static size_t live_bytes; /* __atomic: the loop thread allocates, the test thread reads */
static size_t peak_bytes;

static void count_add(void *p)
{
    if (p) {
        size_t now = __atomic_add_fetch(&live_bytes, malloc_usable_size(p), __ATOMIC_RELAXED);
        size_t peak = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
        while (now > peak && !__atomic_compare_exchange_n(&peak_bytes, &peak, now, false,
                                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
    }
}

static void count_sub(void *p)
{
    if (p) {
        __atomic_sub_fetch(&live_bytes, malloc_usable_size(p), __ATOMIC_RELAXED);
    }
}

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    count_add(p);
    return p;
}

static void *count_realloc(void *old, size_t n)
{
    count_sub(old);
    void *p = realloc(old, n);
    count_add(p ? p : old); /* a failed realloc keeps the old block */
    return p;
}

static void count_free(void *p)
{
    count_sub(p);
    free(p);
}

/* ---- the state of the proxy's one connection, read on its loop thread ---- */

struct down_state {
    bool found;
    bool reading;     /* the downstream half still reads the upstream */
    uint64_t bytes;   /* read from the upstream so far */
    unsigned writes;  /* writes to the client awaiting their callbacks */
    size_t queued;    /* bytes libuv holds for the client */
    size_t coalesced; /* bytes waiting in the coalescing buffer */
};

static void read_down_state(struct pxfix *fx, void *arg)
{
    struct down_state *ds = arg;
    memset(ds, 0, sizeof(*ds));
    struct tether_proxy_server *ps = fx->ps;
    for (struct tt__list *n = ps->proxies.next; n != &ps->proxies; n = n->next) {
        struct px_proxy *px = tt__container_of(n, struct px_proxy, link);
        if (tt__list_empty(&px->conns)) {
            continue;
        }
        struct px_conn *c = tt__container_of(px->conns.next, struct px_conn, link);
        struct px_half *h = &c->half[PX_DOWN];
        ds->found = true;
        ds->reading = h->reading;
        ds->bytes = h->bytes;
        ds->writes = h->writes;
        ds->queued = tt__stream_write_queue_size(h->dst);
        ds->coalesced = h->pend.len;
    }
}

static void test_slicer_non_reader_is_bounded(void **state)
{
    static const struct tp_peer_opts big_sender = {.mode = TP_SEND, .send_bytes = (size_t)1 << 30};
    struct pxfix *fx;
    uint16_t port = pxfix_begin_peer(state, NULL, &big_sender, &fx);
    px_toxic(fx, "p",
             "{\"type\":\"slicer\",\"stream\":\"downstream\",\"attributes\":"
             "{\"average_size\":1,\"size_variation\":0,\"delay\":0}}");
    size_t baseline = __atomic_load_n(&live_bytes, __ATOMIC_RELAXED);
    int fd = np_connect_rcvbuf(port, 4096); /* a client that never reads */

    /* The proxy stops reading the upstream once the client's backlog passes the mark: wait
     * for that (bounded), then look at what it holds. */
    struct down_state ds;
    memset(&ds, 0, sizeof(ds));
    uint64_t deadline = tp_now_ms() + tt_test_scale_ms(20000);
    for (;;) {
        pxfix_run(fx, read_down_state, &ds);
        if (ds.found && !ds.reading && ds.bytes > 0) {
            break;
        }
        if (tp_now_ms() >= deadline) {
            fail_msg("the proxy never stopped reading: %llu bytes read, %u writes pending",
                     (unsigned long long)ds.bytes, ds.writes);
        }
        tp_sleep_ms(20);
    }
    size_t live = __atomic_load_n(&live_bytes, __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
    fprintf(stderr,
            "# stopped reading after %llu bytes: %u writes pending, %zu queued, %zu coalesced; "
            "live %zu bytes above baseline, peak %zu\n",
            (unsigned long long)ds.bytes, ds.writes, ds.queued, ds.coalesced, live - baseline,
            peak - baseline);
    /* Bounded by the mark (1 MiB with 256 B per pending write), not by bytes x 260. */
    assert_true(ds.writes <= 64 + 1);
    assert_true(ds.queued + ds.coalesced + (size_t)ds.writes * 256 <= 2u * 1024u * 1024u);
    assert_true(peak - baseline <= 24u * 1024u * 1024u);
    close(fd);
    pxfix_end(state);
}

int main(void)
{
    if (tether_set_allocator(count_malloc, count_realloc, count_free) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_slicer_non_reader_is_bounded, pxfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
