/* SPDX-License-Identifier: MIT */
/* `tether serve --stats-path`: requests by method, repeated Idempotency-Keys, server counters. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tether/tether.h"
#include "tether/server.h"

#include "cli_json.h"
#include "serve.h"

/* Memory stays bounded whatever clients send: at most this many distinct keys, each at most
 * this long; the rest are counted as untracked. */
#define STATS_MAX_KEYS 100000u
#define STATS_MAX_KEY_LEN 256u
/* The document lists at most this many repeated keys, the most repeated first (ties by key):
 * listing all 100000 made one stats GET build 26 MB of JSON in one loop turn, stalling every
 * other connection; the rest are counted in keys_omitted. */
#define STATS_LIST_KEYS 100u
/* Method names are tokens chosen by clients; beyond this many distinct ones, "OTHER". */
#define STATS_MAX_METHODS 32u
#define STATS_METHOD_LEN 24u

struct stats_key {
    char *key; /* NULL = empty slot */
    uint64_t count;
};

/* One document for the whole process: with --workers every thread counts into it under `mu`
 * (a key repeated across two workers is still a repeat), and the server counters each worker's
 * library keeps are gathered per request (serve_workers_stats). */
struct serve_stats {
    uv_mutex_t mu;
    uint64_t requests;
    uint64_t body_bytes;
    uint64_t stats_requests;
    struct {
        char name[STATS_METHOD_LEN];
        uint64_t count;
    } methods[STATS_MAX_METHODS];
    size_t nmethods;
    uint64_t other_methods;

    /* Open addressing with linear probing; the size is a power of two kept under 3/4 full. */
    struct stats_key *keys;
    size_t keys_cap;
    size_t nkeys;
    uint64_t repeated; /* keys seen at least twice */
    uint64_t untracked;
};

struct serve_stats *serve_stats_new(void)
{
    struct serve_stats *st = calloc(1, sizeof(*st));
    if (!st) {
        return NULL;
    }
    st->keys_cap = 1024;
    st->keys = calloc(st->keys_cap, sizeof(*st->keys));
    if (!st->keys || uv_mutex_init(&st->mu) != 0) {
        free(st->keys);
        free(st);
        return NULL;
    }
    return st;
}

void serve_stats_free(struct serve_stats *st)
{
    if (!st) {
        return;
    }
    for (size_t i = 0; i < st->keys_cap; i++) {
        free(st->keys[i].key);
    }
    free(st->keys);
    uv_mutex_destroy(&st->mu);
    free(st);
}

static uint64_t stats_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct stats_key *stats_slot(struct stats_key *keys, size_t cap, const char *key)
{
    size_t i = (size_t)stats_hash(key) & (cap - 1);
    while (keys[i].key && strcmp(keys[i].key, key) != 0) {
        i = (i + 1) & (cap - 1);
    }
    return &keys[i];
}

static int stats_grow(struct serve_stats *st)
{
    size_t cap = st->keys_cap * 2;
    struct stats_key *keys = calloc(cap, sizeof(*keys));
    if (!keys) {
        return -1;
    }
    for (size_t i = 0; i < st->keys_cap; i++) {
        if (st->keys[i].key) {
            *stats_slot(keys, cap, st->keys[i].key) = st->keys[i];
        }
    }
    free(st->keys);
    st->keys = keys;
    st->keys_cap = cap;
    return 0;
}

/* Keys must be printable ASCII: they become JSON object keys, which jansson requires to be
 * UTF-8, and a key is an opaque token anyway (draft-ietf-httpapi-idempotency-key-header). */
static bool stats_key_ok(const char *key)
{
    size_t n = 0;
    for (; key[n]; n++) {
        if ((unsigned char)key[n] < 0x20 || (unsigned char)key[n] > 0x7e) {
            return false;
        }
    }
    return n > 0 && n <= STATS_MAX_KEY_LEN;
}

static void stats_count_key(struct serve_stats *st, const char *key)
{
    if (!stats_key_ok(key)) {
        st->untracked++;
        return;
    }
    struct stats_key *slot = stats_slot(st->keys, st->keys_cap, key);
    if (slot->key) {
        if (++slot->count == 2) {
            st->repeated++;
        }
        return;
    }
    if (st->nkeys >= STATS_MAX_KEYS) {
        st->untracked++;
        return;
    }
    if ((st->nkeys + 1) * 4 > st->keys_cap * 3) {
        if (stats_grow(st) != 0) {
            st->untracked++;
            return;
        }
        slot = stats_slot(st->keys, st->keys_cap, key);
    }
    slot->key = strdup(key);
    if (!slot->key) {
        st->untracked++;
        return;
    }
    slot->count = 1;
    st->nkeys++;
}

void serve_stats_count(struct serve_stats *st, const tether_request *req)
{
    const char *method = tether_request_method(req);
    const char *key = tether_request_header(req, "Idempotency-Key");
    uv_mutex_lock(&st->mu);
    st->requests++;
    size_t i = 0;
    while (i < st->nmethods && strcmp(st->methods[i].name, method) != 0) {
        i++;
    }
    if (i == st->nmethods) {
        if (st->nmethods < STATS_MAX_METHODS && strlen(method) < STATS_METHOD_LEN) {
            memcpy(st->methods[i].name, method, strlen(method) + 1);
            st->nmethods++;
        } else {
            st->other_methods++;
            i = STATS_MAX_METHODS;
        }
    }
    if (i < STATS_MAX_METHODS) {
        st->methods[i].count++;
    }
    if (key) {
        stats_count_key(st, key);
    }
    uv_mutex_unlock(&st->mu);
}

void serve_stats_body(struct serve_stats *st, size_t len)
{
    uv_mutex_lock(&st->mu);
    st->body_bytes += len;
    uv_mutex_unlock(&st->mu);
}

/* Whether key a ranks before key b in the listing: more repeats first, then by key. */
static bool stats_key_before(const struct stats_key *a, const struct stats_key *b)
{
    return a->count != b->count ? a->count > b->count : strcmp(a->key, b->key) < 0;
}

/* The STATS_LIST_KEYS top repeated keys into `top` (ranked); returns how many. One pass over
 * the table with insertion into a small sorted array: most keys do not beat the last one. */
static size_t stats_top_keys(const struct serve_stats *st, const struct stats_key **top)
{
    size_t n = 0;
    for (size_t i = 0; i < st->keys_cap; i++) {
        const struct stats_key *k = &st->keys[i];
        if (!k->key || k->count < 2) {
            continue;
        }
        if (n == STATS_LIST_KEYS && !stats_key_before(k, top[n - 1])) {
            continue;
        }
        size_t at = n < STATS_LIST_KEYS ? n++ : n - 1;
        while (at > 0 && stats_key_before(k, top[at - 1])) {
            top[at] = top[at - 1];
            at--;
        }
        top[at] = k;
    }
    return n;
}

/* `sum` += `one`, field by field. */
static void stats_add(struct tether_server_stats *sum, const struct tether_server_stats *one)
{
    sum->connections_accepted += one->connections_accepted;
    sum->connections_open += one->connections_open;
    sum->connections_idle += one->connections_idle;
    sum->requests += one->requests;
    for (size_t i = 0; i < sizeof(sum->responses_by_class) / sizeof(sum->responses_by_class[0]);
         i++) {
        sum->responses_by_class[i] += one->responses_by_class[i];
    }
    for (int c = 0; c < TETHER_CLOSE_CAUSE_COUNT; c++) {
        sum->closes[c] += one->closes[c];
    }
    sum->fin_sent += one->fin_sent;
    sum->rst_sent += one->rst_sent;
    sum->pending_rescued += one->pending_rescued;
    sum->accept_paused += one->accept_paused;
    sum->write_paused += one->write_paused;
    if (one->write_queue_peak > sum->write_queue_peak) {
        sum->write_queue_peak = one->write_queue_peak; /* a peak, not a total */
    }
}

/* "per_worker": for each worker, what says how the kernel spread the connections. */
static json_t *stats_per_worker(const struct tether_server_stats *per, unsigned nworkers)
{
    json_t *list = json_array();
    for (unsigned i = 0; list && i < nworkers; i++) {
        json_t *one = json_object();
        if (!one || json_array_append_new(list, one) != 0 ||
            json_object_set_new(one, "requests", cli_json_uint(per[i].requests)) != 0 ||
            json_object_set_new(one, "connections_accepted",
                                cli_json_uint(per[i].connections_accepted)) != 0 ||
            json_object_set_new(one, "connections_open", cli_json_uint(per[i].connections_open)) !=
                0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* Builds the document (the caller holds st->mu); NULL when out of memory. Every
 * json_*_set_new takes its value even when it fails, so a failure only needs the root
 * released. */
static json_t *stats_build(const struct serve_stats *st, const struct tether_server_stats *per,
                           unsigned nworkers, unsigned worker)
{
    struct tether_server_stats s;
    memset(&s, 0, sizeof(s));
    for (unsigned i = 0; i < nworkers; i++) {
        stats_add(&s, &per[i]);
    }
    json_t *root = json_object();
    json_t *methods = json_object();
    json_t *idem = json_object();
    json_t *keys = json_object();
    json_t *closes = json_object();
    json_t *conns = json_object();
    json_t *responses = json_object();
    int bad = !root || !methods || !idem || !keys || !closes || !conns || !responses;
    if (bad) {
        json_decref(root);
        json_decref(methods);
        json_decref(idem);
        json_decref(keys);
        json_decref(closes);
        json_decref(conns);
        json_decref(responses);
        return NULL;
    }
    bad |= json_object_set_new(root, "requests", cli_json_uint(st->requests));
    for (size_t i = 0; i < st->nmethods; i++) {
        bad |=
            json_object_set_new(methods, st->methods[i].name, cli_json_uint(st->methods[i].count));
    }
    if (st->other_methods) {
        bad |= json_object_set_new(methods, "OTHER", cli_json_uint(st->other_methods));
    }
    bad |= json_object_set_new(root, "requests_by_method", methods);

    const struct stats_key *top[STATS_LIST_KEYS];
    size_t ntop = stats_top_keys(st, top);
    for (size_t i = 0; i < ntop; i++) {
        bad |= json_object_set_new(keys, top[i]->key, cli_json_uint(top[i]->count));
    }
    bad |= json_object_set_new(idem, "keys_omitted", cli_json_uint(st->repeated - ntop));
    bad |= json_object_set_new(idem, "repeated", cli_json_uint(st->repeated));
    bad |= json_object_set_new(idem, "distinct", cli_json_uint(st->nkeys));
    bad |= json_object_set_new(idem, "untracked", cli_json_uint(st->untracked));
    bad |= json_object_set_new(idem, "keys", keys);
    bad |= json_object_set_new(root, "idempotency_keys", idem);

    for (int c = 0; c < TETHER_CLOSE_CAUSE_COUNT; c++) {
        bad |= json_object_set_new(closes, tether_close_cause_name((enum tether_close_cause)c),
                                   cli_json_uint(s.closes[c]));
    }
    bad |= json_object_set_new(root, "closes", closes);
    bad |= json_object_set_new(root, "fin_sent", cli_json_uint(s.fin_sent));
    bad |= json_object_set_new(root, "rst_sent", cli_json_uint(s.rst_sent));

    bad |= json_object_set_new(conns, "open", cli_json_uint(s.connections_open));
    bad |= json_object_set_new(conns, "idle", cli_json_uint(s.connections_idle));
    bad |= json_object_set_new(conns, "accepted", cli_json_uint(s.connections_accepted));
    bad |= json_object_set_new(conns, "accept_paused", cli_json_uint(s.accept_paused));
    bad |= json_object_set_new(conns, "write_paused", cli_json_uint(s.write_paused));
    bad |= json_object_set_new(conns, "write_queue_peak", cli_json_uint(s.write_queue_peak));
    bad |= json_object_set_new(root, "connections", conns);
    bad |= json_object_set_new(root, "pending_rescued", cli_json_uint(s.pending_rescued));

    for (int k = 1; k <= 5; k++) {
        char name[4] = {(char)('0' + k), 'x', 'x', '\0'};
        bad |= json_object_set_new(responses, name, cli_json_uint(s.responses_by_class[k]));
    }
    bad |= json_object_set_new(root, "responses", responses);
    bad |= json_object_set_new(root, "server_requests", cli_json_uint(s.requests));
    bad |= json_object_set_new(root, "stats_requests", cli_json_uint(st->stats_requests));
    bad |= json_object_set_new(root, "body_bytes", cli_json_uint(st->body_bytes));
    bad |= json_object_set_new(root, "workers", cli_json_uint(nworkers));
    bad |= json_object_set_new(root, "worker", cli_json_uint(worker));
    json_t *list = stats_per_worker(per, nworkers);
    bad |= !list || json_object_set_new(root, "per_worker", list) != 0;
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

bool serve_stats_reject(tether_request *req)
{
    const char *method = tether_request_method(req);
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        return false;
    }
    static const char msg[] = "method not allowed\n";
    if (tether_response_start(req, 405) == 0) {
        (void)tether_response_header(req, "Allow", "GET, HEAD");
        (void)tether_response_header(req, "Content-Type", "text/plain");
    }
    (void)tether_response_end(req, msg, sizeof(msg) - 1);
    return true;
}

void serve_stats_respond(struct serve_stats *st, tether_request *req,
                         const struct tether_server_stats *per, unsigned nworkers, unsigned worker)
{
    uv_mutex_lock(&st->mu);
    st->stats_requests++;
    json_t *doc = stats_build(st, per, nworkers, worker);
    uv_mutex_unlock(&st->mu);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        static const char msg[] = "out of memory\n";
        (void)tether_response_send(req, 503, "text/plain", msg, sizeof(msg) - 1);
        return;
    }
    size_t len = strlen(text);
    int rv = tether_response_start(req, 200);
    if (rv == 0) {
        rv = tether_response_header(req, "Content-Type", "application/json");
    }
    if (rv == 0) {
        /* Counters change every request: a cached copy would only mislead. */
        (void)tether_response_header(req, "Cache-Control", "no-store");
    }
    /* A detached request (rv ECANCELED) is still started, and ending it frees it. */
    (void)tether_response_end(req, text, len);
    free(text);
}
