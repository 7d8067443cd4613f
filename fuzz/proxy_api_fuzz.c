/* SPDX-License-Identifier: MIT */
/* libFuzzer: the proxy API takes any JSON body without crashing and answers it sanely. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netdb.h>

#include <jansson.h>
#include <uv.h>

#include "fuzz_util.h"
#include "tether/proxy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one or more records separated by "\n@@\n". A record's first byte picks a route from
 * the table (mod its size); the rest is the request body. Each input starts from a server with
 * no proxies: each input deletes what it created through the API (or, when a name cannot be
 * addressed, starts a new server) before it returns. Cleaning up at the end rather than at the
 * start frees within the input what it allocated, so libFuzzer does not suspect a leak and
 * rerun the input under LeakSanitizer (which was most of this target's time). With
 * the input's first byte odd, proxy "p" (with toxic "t") exists first, so the routes under
 * /proxies/p reach the body decoders instead of stopping at 404.
 */
static const struct {
    const char *method;
    const char *path;
} routes[] = {
    {"POST", "/proxies"},
    {"POST", "/populate"},
    {"POST", "/proxies/p"},
    {"PATCH", "/proxies/p"},
    {"POST", "/proxies/p/toxics"},
    {"POST", "/proxies/p/toxics/t"},
    {"PATCH", "/proxies/p/toxics/t"},
    {"GET", "/proxies"},
    {"GET", "/proxies/p"},
    {"GET", "/proxies/p/toxics"},
    {"GET", "/proxies/p/toxics/t"},
    {"DELETE", "/proxies/p/toxics/t"},
    {"DELETE", "/proxies/p"},
    {"POST", "/reset"},
    {"GET", "/version"},
    {"GET", "/proxies/p/connections"},
    {"DELETE", "/proxies/p/connections"},
    {"GET", "/proxies/p/stats"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static uv_loop_t loop;
static tether_proxy_server *ps;

/* Keeps the fuzzer off the network. A listen address with a host name is resolved at once, as
 * Go's net.Listen does, so mutated names would become DNS queries; nothing else in this process
 * resolves names (no client ever connects, so no upstream is dialled). This definition takes
 * the place of libc's, and every name is unknown. */
int getaddrinfo(const char *restrict node, const char *restrict service,
                const struct addrinfo *restrict hints, struct addrinfo **restrict res)
{
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    return EAI_NONAME;
}

/* Lets closes (listeners of deleted or replaced proxies) finish, so sockets do not pile up. */
static void settle(void)
{
    for (int i = 0; i < 4; i++) {
        (void)uv_run(&loop, UV_RUN_NOWAIT);
    }
}

/* One API call with every invariant checked; returns the parsed body (or NULL when empty). */
static json_t *call(const char *method, const char *path, const char *body, size_t len,
                    int *status_out)
{
    int status = 0;
    char *resp = NULL;
    size_t resp_len = 0;
    int rv = tether_proxy_server_call(ps, method, path, body, len, &status, &resp, &resp_len);
    FUZZ_CHECK(rv == 0);
    FUZZ_CHECK(status >= 200 && status <= 599);
    FUZZ_CHECK(resp_len == 0 || resp != NULL);
    if (status == 204) {
        FUZZ_CHECK(resp_len == 0);
    }
    json_t *v = NULL;
    if (status >= 400 || resp_len > 0) {
        json_error_t err;
        v = json_loadb(resp ? resp : "", resp_len, JSON_DECODE_ANY, &err);
        if (v == NULL) {
            fprintf(stderr, "%s %s -> %d, body not JSON (%s): %.*s\n", method, path, status,
                    err.text, (int)(resp_len > 300 ? 300 : resp_len), resp ? resp : "");
        }
        FUZZ_CHECK(v != NULL);
    }
    if (status >= 400) {
        /* Toxiproxy's ApiError: {"error": "<message>", "status": <the status>}. */
        FUZZ_CHECK(json_is_object(v));
        const char *msg = json_string_value(json_object_get(v, "error"));
        FUZZ_CHECK(msg != NULL && msg[0] != '\0');
        FUZZ_CHECK(json_integer_value(json_object_get(v, "status")) == status);
    } else if (status == 200 || status == 201) {
        FUZZ_CHECK(json_is_object(v) || json_is_array(v));
    }
    tether_free(resp);
    settle();
    *status_out = status;
    return v;
}

static void server_start(void)
{
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.api_host = NULL; /* in-process calls only */
    o.seed = 1;
    o.has_seed = true;
    if (tether_proxy_server_new(&loop, &o, &ps) != 0) {
        abort();
    }
}

static void server_closed(void *data)
{
    *(bool *)data = true;
}

/* A fresh server, for when a proxy cannot be deleted through the API. */
static void server_restart(void)
{
    bool closed = false;
    tether_proxy_server_close(ps, server_closed, &closed);
    for (int i = 0; i < 10000 && !closed; i++) {
        (void)uv_run(&loop, UV_RUN_NOWAIT);
    }
    FUZZ_CHECK(closed);
    server_start();
}

/* A name that a path cannot address: "/" splits it, "?" and "#" end the path, "%" may be
 * decoded, "." and ".." are cleaned away. Toxiproxy accepts such names too. */
static bool unaddressable(const char *name)
{
    return name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
           strpbrk(name, "/?#%") != NULL;
}

/* Back to an empty server: every proxy deleted (or, failing that, a new server). */
static void clear_all(void)
{
    int status = 0;
    json_t *all = call("GET", "/proxies", NULL, 0, &status);
    FUZZ_CHECK(status == 200 && json_is_object(all));
    const char *name;
    json_t *value;
    bool dirty = false;
    json_object_foreach(all, name, value)
    {
        char path[1024];
        (void)value;
        if (unaddressable(name) ||
            (size_t)snprintf(path, sizeof(path), "/proxies/%s", name) >= sizeof(path)) {
            dirty = true;
            continue;
        }
        json_decref(call("DELETE", path, NULL, 0, &status));
        dirty = dirty || status != 204;
    }
    json_decref(all);
    if (dirty) {
        server_restart();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (uv_loop_init(&loop) != 0) {
        abort();
    }
    server_start();
    return 0;
}

static const char *find_sep(const char *p, const char *end)
{
    static const char sep[] = "\n@@\n";
    for (; p + 4 <= end; p++) {
        if (memcmp(p, sep, 4) == 0) {
            return p;
        }
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 65536) {
        return 0;
    }
    int status = 0;
    if (data[0] & 1) {
        static const char proxy[] =
            "{\"name\":\"p\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:1\"}";
        static const char toxic[] = "{\"name\":\"t\",\"type\":\"latency\"}";
        json_decref(call("POST", "/proxies", proxy, sizeof(proxy) - 1, &status));
        FUZZ_CHECK(status == 201);
        json_decref(call("POST", "/proxies/p/toxics", toxic, sizeof(toxic) - 1, &status));
        FUZZ_CHECK(status == 200);
    }
    /* The body is copied to an exact-size buffer: no NUL, so reads past `len` are caught. */
    const char *p = (const char *)data + 1;
    const char *end = (const char *)data + size;
    unsigned calls = 0;
    while (p < end && calls < 16) {
        const char *sep = find_sep(p, end);
        const char *rec_end = sep ? sep : end;
        if (rec_end == p) { /* an empty record */
            p += 4;
            continue;
        }
        size_t route = (unsigned char)p[0] % NROUTES;
        size_t len = (size_t)(rec_end - p - 1);
        char *body = malloc(len ? len : 1);
        FUZZ_CHECK(body != NULL);
        if (len) {
            memcpy(body, p + 1, len);
        }
        json_decref(call(routes[route].method, routes[route].path, body, len, &status));
        free(body);
        calls++;
        p = sep ? sep + 4 : end;
    }
    clear_all();
    return 0;
}
