/* SPDX-License-Identifier: MIT */
/* The Toxiproxy HTTP API: gorilla/mux-like routing, every endpoint with Toxiproxy's status
 * codes, bodies and error texts, our extra endpoints, and the HTTP glue over tether_server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_int.h"
#include "util/str.h"

#define API_MAX_SEGMENTS 6

static const char ct_json[] = "application/json";
static const char ct_text[] = "text/plain; charset=utf-8";

/* ---- responses ---- */

/* Go's http.Error(w, json, status): text/plain, nosniff, and a trailing newline. */
void tt__px_api_error(struct px_resp *r, int status, const char *msg)
{
    bool first = true;
    tt__buf_reset(&r->body.buf);
    r->status = status;
    r->content_type = ct_text;
    r->nosniff = true;
    tt__pj_raw(&r->body, "{");
    tt__pj_key(&r->body, &first, "error");
    tt__pj_str(&r->body, msg);
    tt__pj_key(&r->body, &first, "status");
    tt__pj_fmt(&r->body, "%d", status);
    tt__pj_raw(&r->body, "}\n");
}

static void api_fail(struct px_resp *r, const struct px_err *e)
{
    tt__px_api_error(r, e->status, e->msg);
}

void tt__px_api_plain(struct px_resp *r, int status, const char *text)
{
    tt__buf_reset(&r->body.buf);
    r->status = status;
    r->content_type = ct_text;
    r->nosniff = true;
    tt__pj_raw(&r->body, text);
}

static void api_ok(struct px_resp *r, int status)
{
    r->status = status;
    r->content_type = status == 204 ? NULL : ct_json;
}

/* Body parse failures: "bad request body: EOF", "...: invalid character ...". */
static json_t *api_load(struct px_resp *r, const char *body, size_t len)
{
    json_t *v = NULL;
    char detail[400];
    if (tt__pj_load(body, len, &v, detail, sizeof(detail)) != 0) {
        struct px_err e;
        tt__px_err_set(&e, 400, "bad request body: %s", detail);
        api_fail(r, &e);
        return NULL;
    }
    return v;
}

static struct px_proxy *api_proxy(struct tether_proxy_server *ps, struct px_resp *r,
                                  const char *name)
{
    struct px_proxy *px = tt__px_find(ps, name);
    if (!px) {
        tt__px_api_error(r, 404, "proxy not found");
    }
    return px;
}

static void free_toxic_list(struct tt__list *l)
{
    while (!tt__list_empty(l)) {
        struct px_toxic *t = tt__container_of(l->next, struct px_toxic, link);
        tt__list_remove(&t->link);
        tt__px_toxic_free(t);
    }
}

/* Our extension: a "toxics" array inside a proxy body, applied before the listener opens. */
static int api_parse_toxics(const json_t *toxics, struct tt__list *out, struct px_err *err)
{
    if (!toxics || json_is_null(toxics)) {
        return 0;
    }
    if (!json_is_array(toxics)) {
        tt__px_err_set(err, 400,
                       "bad request body: json: cannot unmarshal %s into Go struct field "
                       "Proxy.toxics of type []toxics.Toxic",
                       tt__pj_kind_name(toxics));
        return TETHER_EINVAL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(toxics, i, item)
    {
        struct px_toxic *t;
        int rv = tt__px_toxic_from_json(item, out, &t, err);
        if (rv != 0) {
            free_toxic_list(out);
            return rv;
        }
        tt__list_insert_tail(out, &t->link);
    }
    return 0;
}

/* ---- handlers ---- */

static void api_proxies_index(struct tether_proxy_server *ps, struct px_resp *r)
{
    /* encoding/json sorts map keys: list proxies by name. */
    size_t n = 0;
    for (struct tt__list *p = ps->proxies.next; p != &ps->proxies; p = p->next) {
        n++;
    }
    struct px_proxy **v = tt__calloc(n ? n : 1, sizeof(struct px_proxy *));
    if (!v) {
        r->body.err = TETHER_ENOMEM;
        return;
    }
    size_t i = 0;
    for (struct tt__list *p = ps->proxies.next; p != &ps->proxies; p = p->next) {
        struct px_proxy *px = tt__container_of(p, struct px_proxy, link);
        size_t k = i++;
        while (k > 0 && strcmp(v[k - 1]->name, px->name) > 0) {
            v[k] = v[k - 1];
            k--;
        }
        v[k] = px;
    }
    bool first = true;
    tt__pj_raw(&r->body, "{");
    for (i = 0; i < n; i++) {
        tt__pj_key(&r->body, &first, v[i]->name);
        tt__px_proxy_json(&r->body, v[i]);
    }
    tt__pj_raw(&r->body, "}");
    tt__free(v);
    api_ok(r, 200);
}

static void api_proxy_create(struct tether_proxy_server *ps, struct px_resp *r, const char *body,
                             size_t len)
{
    json_t *v = api_load(r, body, len);
    if (!v) {
        return;
    }
    const char *name = "", *listen = "", *upstream = "";
    bool enabled = true;
    const json_t *toxics = NULL;
    char detail[400];
    struct px_err e;
    const struct pj_field fields[] = {
        {"name", PJ_STRING, &name, NULL},         {"listen", PJ_STRING, &listen, NULL},
        {"upstream", PJ_STRING, &upstream, NULL}, {"enabled", PJ_BOOL, &enabled, NULL},
        {"toxics", PJ_RAW, &toxics, NULL},
    };
    struct tt__list list;
    tt__list_init(&list);
    if (tt__pj_decode(v, "toxiproxy.Proxy", fields, tt__countof(fields), detail, sizeof(detail)) !=
        0) {
        tt__px_err_set(&e, 400, "bad request body: %s", detail);
        goto fail;
    }
    if (name[0] == '\0') {
        tt__px_err_set(&e, 400, "missing required field: name");
        goto fail;
    }
    if (upstream[0] == '\0') {
        tt__px_err_set(&e, 400, "missing required field: upstream");
        goto fail;
    }
    if (api_parse_toxics(toxics, &list, &e) != 0) {
        goto fail;
    }
    if (tt__px_find(ps, name)) {
        tt__px_err_set(&e, 409, "proxy already exists");
        goto fail;
    }
    struct px_proxy *px;
    if (tt__px_proxy_create(ps, name, listen, upstream, enabled, &list, &px, &e) != 0) {
        goto fail;
    }
    json_decref(v);
    tt__px_proxy_json(&r->body, px);
    api_ok(r, 201);
    return;
fail:
    free_toxic_list(&list);
    json_decref(v);
    api_fail(r, &e);
}

/* A populate entry, decoded and checked before anything is created. */
struct pop_entry {
    const char *name;
    const char *listen;
    const char *upstream;
    bool enabled;
    struct tt__list toxics;
};

static void api_populate_reply(struct px_resp *r, const struct px_err *e,
                               struct px_proxy *const *done, size_t ndone)
{
    bool first = true;
    tt__buf_reset(&r->body.buf);
    tt__pj_raw(&r->body, "{");
    if (e) {
        tt__pj_key(&r->body, &first, "error");
        tt__pj_str(&r->body, e->msg);
        tt__pj_key(&r->body, &first, "status");
        tt__pj_fmt(&r->body, "%d", e->status);
    }
    /* Toxiproxy sends null for an empty list; [] is what clients iterate safely. */
    tt__pj_key(&r->body, &first, "proxies");
    tt__pj_raw(&r->body, "[");
    for (size_t i = 0; i < ndone; i++) {
        if (i) {
            tt__pj_raw(&r->body, ",");
        }
        tt__px_proxy_json(&r->body, done[i]);
    }
    tt__pj_raw(&r->body, "]}");
    r->status = e ? e->status : 201;
    r->content_type = ct_json;
    r->nosniff = false;
}

static void api_populate(struct tether_proxy_server *ps, struct px_resp *r, const char *body,
                         size_t len)
{
    json_t *v = NULL;
    char detail[400];
    struct px_err e;
    struct pop_entry *entries = NULL;
    struct px_proxy **done = NULL;
    size_t n = 0, ndone = 0, i;
    if (tt__pj_load(body, len, &v, detail, sizeof(detail)) != 0) {
        tt__px_err_set(&e, 400, "bad request body: %s", detail);
        api_populate_reply(r, &e, NULL, 0);
        return;
    }
    if (!json_is_array(v) && !json_is_null(v)) {
        tt__px_err_set(&e, 400,
                       "bad request body: json: cannot unmarshal %s into Go value of type "
                       "[]struct { toxiproxy.Proxy; Enabled *bool \"json:\\\"enabled\\\"\" }",
                       tt__pj_kind_name(v));
        goto reply;
    }
    n = json_is_array(v) ? json_array_size(v) : 0;
    entries = tt__calloc(n ? n : 1, sizeof(*entries));
    for (i = 0; entries && i < n; i++) {
        tt__list_init(&entries[i].toxics);
    }
    done = tt__calloc(n ? n : 1, sizeof(struct px_proxy *));
    if (!entries || !done) {
        tt__px_err_set(&e, 500, "out of memory");
        goto reply;
    }
    for (i = 0; i < n; i++) {
        struct pop_entry *pe = &entries[i];
        const json_t *toxics = NULL;
        pe->name = pe->listen = pe->upstream = "";
        pe->enabled = true;
        const struct pj_field fields[] = {
            {"name", PJ_STRING, &pe->name, NULL},
            {"listen", PJ_STRING, &pe->listen, NULL},
            {"upstream", PJ_STRING, &pe->upstream, NULL},
            {"enabled", PJ_BOOL, &pe->enabled, NULL},
            {"toxics", PJ_RAW, &toxics, NULL},
        };
        if (tt__pj_decode(json_array_get(v, i), "toxiproxy.Proxy", fields, tt__countof(fields),
                          detail, sizeof(detail)) != 0) {
            tt__px_err_set(&e, 400, "bad request body: %s", detail);
            goto reply;
        }
        if (pe->name[0] == '\0') {
            tt__px_err_set(&e, 400, "missing required field: name at proxy %zu", i + 1);
            goto reply;
        }
        if (pe->upstream[0] == '\0') {
            tt__px_err_set(&e, 400, "missing required field: upstream at proxy %zu", i + 1);
            goto reply;
        }
        if (api_parse_toxics(toxics, &pe->toxics, &e) != 0) {
            goto reply;
        }
    }
    for (i = 0; i < n; i++) {
        struct pop_entry *pe = &entries[i];
        struct px_proxy *existing = tt__px_find(ps, pe->name);
        if (existing) {
            char norm[300];
            struct px_err ignored;
            /* Same resolved listen and same upstream: kept as it is, toxics and all. */
            if (tt__px_listen_normalize(pe->listen, norm, sizeof(norm), &ignored) == 0 &&
                strcmp(norm, existing->listen) == 0 &&
                strcmp(pe->upstream, existing->upstream) == 0) {
                done[ndone++] = existing;
                continue;
            }
        }
        /* A name listed twice replaces the proxy an earlier entry made or kept, which frees
         * it: that entry reports the replacement (Go's reply lists the name twice too). The
         * slots are cleared before the free, so no freed pointer is ever read. */
        for (size_t k = 0; existing && k < ndone; k++) {
            if (done[k] == existing) {
                done[k] = NULL;
            }
        }
        struct px_proxy *px;
        int rv = tt__px_proxy_create(ps, pe->name, pe->listen, pe->upstream, pe->enabled,
                                     &pe->toxics, &px, &e);
        for (size_t k = 0; k < ndone; k++) {
            if (!done[k]) {
                done[k] = rv == 0 ? px : existing; /* a failed create keeps the old one */
            }
        }
        if (rv != 0) {
            goto reply;
        }
        done[ndone++] = px;
    }
    api_populate_reply(r, NULL, done, ndone);
    goto out;
reply:
    api_populate_reply(r, &e, done, ndone);
out:
    for (i = 0; entries && i < n; i++) {
        free_toxic_list(&entries[i].toxics);
    }
    tt__free(entries);
    tt__free(done);
    json_decref(v);
}

static void api_proxy_update(struct px_proxy *px, struct px_resp *r, const char *body, size_t len)
{
    json_t *v = api_load(r, body, len);
    if (!v) {
        return;
    }
    const char *listen = px->listen, *upstream = px->upstream;
    bool enabled = px->enabled;
    char detail[400];
    struct px_err e;
    /* `name` is ignored (renaming is delete + create), and so are toxics, as in Toxiproxy. */
    const struct pj_field fields[] = {
        {"listen", PJ_STRING, &listen, NULL},
        {"upstream", PJ_STRING, &upstream, NULL},
        {"enabled", PJ_BOOL, &enabled, NULL},
    };
    if (tt__pj_decode(v, "toxiproxy.Proxy", fields, tt__countof(fields), detail, sizeof(detail)) !=
        0) {
        tt__px_err_set(&e, 400, "bad request body: %s", detail);
        json_decref(v);
        api_fail(r, &e);
        return;
    }
    /* The strings may point into the proxy itself, which the update replaces. */
    char *l = tt__strndup(listen, strlen(listen));
    char *u = tt__strndup(upstream, strlen(upstream));
    json_decref(v);
    if (!l || !u) {
        tt__free(l);
        tt__free(u);
        r->body.err = TETHER_ENOMEM;
        return;
    }
    int rv = tt__px_proxy_update(px, l, u, enabled, &e);
    tt__free(l);
    tt__free(u);
    if (rv != 0) {
        api_fail(r, &e);
        return;
    }
    tt__px_proxy_json(&r->body, px);
    api_ok(r, 200);
}

static void api_toxics_index(struct px_proxy *px, struct px_resp *r)
{
    bool first = true;
    tt__pj_raw(&r->body, "[");
    for (int dir = PX_UP; dir <= PX_DOWN; dir++) {
        for (struct tt__list *n = px->toxics.next; n != &px->toxics; n = n->next) {
            struct px_toxic *t = tt__container_of(n, struct px_toxic, link);
            if ((int)t->dir == dir) {
                if (!first) {
                    tt__pj_raw(&r->body, ",");
                }
                first = false;
                tt__px_toxic_json(&r->body, t);
            }
        }
    }
    tt__pj_raw(&r->body, "]");
    api_ok(r, 200);
}

/* {"preset": "aws-alb", "scale": 0.01} instead of a toxic: the preset's toxics, answered as
 * the array of what was added (an extension: Toxiproxy has no presets). Only those two keys,
 * so a toxic body with a stray "preset" key is not half-understood. */
static void api_preset_create(struct px_proxy *px, struct px_resp *r, const json_t *v)
{
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)(uintptr_t)v, key, val)
    {
        if (strcmp(key, "preset") != 0 && strcmp(key, "scale") != 0) {
            tt__px_api_error(r, 400,
                             "bad request body: a preset body takes \"preset\" and "
                             "\"scale\" only");
            return;
        }
    }
    const json_t *name = json_object_get(v, "preset");
    const json_t *scale = json_object_get(v, "scale");
    if (!json_is_string(name) || (scale && !json_is_number(scale))) {
        tt__px_api_error(r, 400,
                         "bad request body: \"preset\" must be a string and "
                         "\"scale\" a number");
        return;
    }
    struct px_toxic *added[TT__PX_PRESET_MAX_TOXICS];
    size_t n;
    struct px_err e;
    if (tt__px_preset_apply(px, json_string_value(name), scale ? json_number_value(scale) : 1.0,
                            added, &n, &e) != 0) {
        api_fail(r, &e);
        return;
    }
    tt__pj_raw(&r->body, "[");
    for (size_t i = 0; i < n; i++) {
        tt__pj_raw(&r->body, i ? "," : "");
        tt__px_toxic_json(&r->body, added[i]);
    }
    tt__pj_raw(&r->body, "]");
    api_ok(r, 200);
}

static void api_toxic_create(struct px_proxy *px, struct px_resp *r, const char *body, size_t len)
{
    json_t *v = api_load(r, body, len);
    if (!v) {
        return;
    }
    if (json_is_object(v) && json_object_get(v, "preset")) {
        api_preset_create(px, r, v);
        json_decref(v);
        return;
    }
    struct px_toxic *t;
    struct px_err e;
    int rv = tt__px_toxic_from_json(v, &px->toxics, &t, &e);
    json_decref(v);
    if (rv != 0) {
        api_fail(r, &e);
        return;
    }
    tt__px_proxy_add_toxic(px, t);
    tt__px_toxic_json(&r->body, t);
    api_ok(r, 200); /* not 201: Toxiproxy answers toxic creation with 200 */
}

static void api_toxic_update(struct px_proxy *px, struct px_toxic *t, struct px_resp *r,
                             const char *body, size_t len)
{
    json_t *v = api_load(r, body, len);
    if (!v) {
        return;
    }
    struct px_err e;
    int rv = tt__px_toxic_update_json(t, v, &e);
    json_decref(v);
    if (rv != 0) {
        api_fail(r, &e);
        return;
    }
    tt__px_conns_toxic_updated(px, t);
    tt__px_proxy_recheck(px);
    tt__px_toxic_json(&r->body, t);
    api_ok(r, 200);
}

static void api_reset(struct tether_proxy_server *ps, struct px_resp *r)
{
    struct px_err e;
    for (struct tt__list *n = ps->proxies.next; n != &ps->proxies; n = n->next) {
        struct px_proxy *px = tt__container_of(n, struct px_proxy, link);
        if (tt__px_proxy_start(px, &e) != 0) {
            api_fail(r, &e);
            return;
        }
        tt__px_proxy_reset_toxics(px);
    }
    api_ok(r, 204);
}

/* "rst" (default) or "fin"; -1 for anything else. */
static int api_action(const char *query)
{
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 7 && strncmp(p, "action=", 7) == 0) {
            if (n - 7 == 3 && strncasecmp(p + 7, "rst", 3) == 0) {
                return PX_HOW_RST;
            }
            if (n - 7 == 3 && strncasecmp(p + 7, "fin", 3) == 0) {
                return PX_HOW_FIN;
            }
            return -1;
        }
        if (n == 6 && strncmp(p, "action", 6) == 0) {
            return -1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return PX_HOW_RST;
}

/* `since=N` from the query (0 when absent or not a number). */
/* ?since=N (0 when absent). strtoull took "-1" as 2^64-1 and "abc" as 0, hiding the mistake:
 * the value must be decimal digits that fit 64 bits. Returns 0 or -1 after a 400 naming it. */
static int api_since(const char *query, struct px_resp *r, uint64_t *since)
{
    const char *p = query;
    *since = 0;
    while (p && *p) {
        if (strncmp(p, "since=", 6) == 0) {
            const char *v = p + 6;
            size_t n = strcspn(v, "&");
            if (ttx_parse_u64(v, n, since) != 0) {
                char msg[160];
                (void)snprintf(msg, sizeof(msg),
                               "invalid since \"%.*s\": expected an event number, 0 to %llu",
                               (int)(n < 32 ? n : 32), v, (unsigned long long)UINT64_MAX);
                tt__px_api_error(r, 400, msg);
                return -1;
            }
            return 0;
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return 0;
}

static void api_connections(struct px_proxy *px, struct px_resp *r)
{
    bool first = true;
    tt__pj_raw(&r->body, "[");
    for (struct tt__list *n = px->conns.next; n != &px->conns; n = n->next) {
        struct px_conn *c = tt__container_of(n, struct px_conn, link);
        if (!first) {
            tt__pj_raw(&r->body, ",");
        }
        first = false;
        tt__px_conn_json(&r->body, c);
    }
    tt__pj_raw(&r->body, "]");
    api_ok(r, 200);
}

static struct px_conn *api_conn(struct px_proxy *px, struct px_resp *r, const char *id)
{
    char *end = NULL;
    unsigned long long v = strtoull(id, &end, 10);
    struct px_conn *c = NULL;
    if (end && *end == '\0' && id[0] >= '0' && id[0] <= '9') {
        c = tt__px_conn_find(px, (uint64_t)v);
    }
    if (!c) {
        tt__px_api_error(r, 404, "connection not found");
    }
    return c;
}

static void api_stats(struct px_proxy *px, struct px_resp *r)
{
    bool first = true;
    const struct px_stats *s = &px->stats;
    tt__pj_raw(&r->body, "{");
    tt__pj_key(&r->body, &first, "accepted");
    tt__pj_fmt(&r->body, "%llu", (unsigned long long)s->accepted);
    tt__pj_key(&r->body, &first, "active");
    tt__pj_fmt(&r->body, "%u", px->nlive);
    tt__pj_key(&r->body, &first, "refused");
    tt__pj_fmt(&r->body, "%llu", (unsigned long long)s->refused);
    tt__pj_key(&r->body, &first, "resets_sent");
    tt__pj_fmt(&r->body, "%llu", (unsigned long long)s->resets_sent);
    tt__pj_key(&r->body, &first, "fins_sent");
    tt__pj_fmt(&r->body, "%llu", (unsigned long long)s->fins_sent);
    tt__pj_key(&r->body, &first, "bytes_up");
    tt__pj_fmt(&r->body, "%llu", (unsigned long long)s->bytes_up);
    tt__pj_key(&r->body, &first, "bytes_down");
    tt__pj_fmt(&r->body, "%llu", (unsigned long long)s->bytes_down);
    tt__pj_raw(&r->body, "}");
    api_ok(r, 200);
}

/* ---- routing ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Splits the path into percent-decoded segments (mux matches the decoded path). Returns the
 * count, or -1 for a path no route can match. */
static int split_path(const char *path, size_t len, char *buf, size_t buflen, const char **seg,
                      int maxseg)
{
    int n = 0;
    size_t o = 0;
    if (len == 0 || path[0] != '/') {
        return -1;
    }
    size_t i = 1;
    while (i <= len) {
        if (n == maxseg) {
            return -1;
        }
        seg[n++] = buf + o;
        while (i < len && path[i] != '/') {
            char c = path[i];
            if (c == '%' && i + 2 < len + 0 && hexval(path[i + 1]) >= 0 &&
                hexval(path[i + 2]) >= 0) {
                c = (char)(hexval(path[i + 1]) * 16 + hexval(path[i + 2]));
                i += 2;
            }
            if (o + 1 >= buflen) {
                return -1;
            }
            buf[o++] = c;
            i++;
        }
        if (o >= buflen) {
            return -1; /* no room for this segment's NUL: a path no route can match */
        }
        buf[o++] = '\0';
        i++; /* past the '/' (or the end) */
    }
    return n;
}

static bool is(const char *method, const char *want)
{
    return strcmp(method, want) == 0;
}

/* ---- the routes: gorilla/mux's table in Toxiproxy's api.go, in the same order ---- */

enum { API_GET = 1u, API_POST = 2u, API_PATCH = 4u, API_DELETE = 8u };

/* One request being routed: the path's segments, its method as an API_* bit, and the proxy a
 * route with {proxy} names (looked up after the method check, as mux does). */
struct api_call {
    struct tether_proxy_server *ps;
    struct px_resp *r;
    const char *const *seg;
    unsigned method;
    const char *query;
    const char *body;
    size_t len;
    struct px_proxy *px;
};

static void route_reset(struct api_call *a)
{
    api_reset(a->ps, a->r);
}

static void route_version(struct api_call *a)
{
    tt__pj_raw(&a->r->body, "{\"version\": \"" TETHER_PROXY_TOXIPROXY_VERSION "\"}\n");
    a->r->content_type = "application/json;charset=utf-8";
}

static void route_events(struct api_call *a)
{
    uint64_t since;
    if (api_since(a->query, a->r, &since) != 0) {
        return;
    }
    tt__px_events_json(&a->r->body, a->ps, since);
    api_ok(a->r, 200);
}

static void route_populate(struct api_call *a)
{
    api_populate(a->ps, a->r, a->body, a->len);
}

static void route_proxies(struct api_call *a)
{
    if (a->method == API_GET) {
        api_proxies_index(a->ps, a->r);
    } else {
        api_proxy_create(a->ps, a->r, a->body, a->len);
    }
}

static void route_proxy(struct api_call *a)
{
    if (a->method == API_GET) {
        tt__px_proxy_json(&a->r->body, a->px);
        api_ok(a->r, 200);
    } else if (a->method == API_DELETE) {
        tt__px_proxy_remove(a->px);
        api_ok(a->r, 204);
    } else {
        api_proxy_update(a->px, a->r, a->body, a->len);
    }
}

static void route_toxics(struct api_call *a)
{
    if (a->method == API_GET) {
        api_toxics_index(a->px, a->r);
    } else {
        api_toxic_create(a->px, a->r, a->body, a->len);
    }
}

static void route_toxic(struct api_call *a)
{
    struct px_toxic *t = tt__px_toxic_find(&a->px->toxics, a->seg[3]);
    if (!t) {
        tt__px_api_error(a->r, 404, "toxic not found");
    } else if (a->method == API_GET) {
        tt__px_toxic_json(&a->r->body, t);
        api_ok(a->r, 200);
    } else if (a->method == API_DELETE) {
        tt__px_proxy_remove_toxic(a->px, t);
        api_ok(a->r, 204);
    } else {
        api_toxic_update(a->px, t, a->r, a->body, a->len);
    }
}

static void route_connections(struct api_call *a)
{
    if (a->method == API_GET) {
        api_connections(a->px, a->r);
        return;
    }
    int how = api_action(a->query);
    if (how < 0) {
        tt__px_api_error(a->r, 400, "invalid action, can be either rst or fin");
        return;
    }
    tt__px_conns_close_all(a->px, (enum px_how)how);
    api_ok(a->r, 204);
}

static void route_connection(struct api_call *a)
{
    int how = api_action(a->query);
    if (a->method == API_DELETE && how < 0) {
        tt__px_api_error(a->r, 400, "invalid action, can be either rst or fin");
        return;
    }
    struct px_conn *c = api_conn(a->px, a->r, a->seg[3]);
    if (!c) {
        return;
    }
    if (a->method == API_GET) {
        tt__px_conn_json(&a->r->body, c);
        api_ok(a->r, 200);
    } else {
        tt__px_conn_close(c, (enum px_how)how);
        api_ok(a->r, 204);
    }
}

static void route_stats(struct api_call *a)
{
    api_stats(a->px, a->r);
}

static void route_presets(struct api_call *a)
{
    tt__px_presets_json(&a->r->body);
    api_ok(a->r, 200);
}

/* "*" matches one non-empty segment; a route whose second segment is "*" names a proxy. */
static const struct api_route {
    const char *path[API_MAX_SEGMENTS];
    unsigned methods;
    void (*run)(struct api_call *a);
} api_routes[] = {
    {{"reset"}, API_POST, route_reset},
    {{"version"}, API_GET, route_version},
    {{"events"}, API_GET, route_events},
    {{"populate"}, API_POST, route_populate},
    {{"proxies"}, API_GET | API_POST, route_proxies},
    {{"proxies", "*"}, API_GET | API_POST | API_PATCH | API_DELETE, route_proxy},
    {{"proxies", "*", "toxics"}, API_GET | API_POST, route_toxics},
    {{"proxies", "*", "toxics", "*"}, API_GET | API_POST | API_PATCH | API_DELETE, route_toxic},
    {{"proxies", "*", "connections"}, API_GET | API_DELETE, route_connections},
    {{"proxies", "*", "connections", "*"}, API_GET | API_DELETE, route_connection},
    {{"proxies", "*", "stats"}, API_GET, route_stats},
    {{"presets"}, API_GET, route_presets}, /* tether's own: Toxiproxy has no presets */
};

static bool route_matches(const struct api_route *rt, const char *const *seg, int n)
{
    for (int i = 0; i < API_MAX_SEGMENTS; i++) {
        const char *want = rt->path[i];
        if (!want || i >= n) {
            return !want && i == n;
        }
        if (strcmp(want, "*") != 0 && strcmp(want, seg[i]) != 0) {
            return false;
        }
    }
    return n == API_MAX_SEGMENTS;
}

static unsigned api_method_bit(const char *method)
{
    return is(method, "GET")      ? API_GET
           : is(method, "POST")   ? API_POST
           : is(method, "PATCH")  ? API_PATCH
           : is(method, "DELETE") ? API_DELETE
                                  : 0;
}

void tt__px_api(struct tether_proxy_server *ps, const char *method, const char *target,
                const char *body, size_t len, struct px_resp *r)
{
    const char *seg[API_MAX_SEGMENTS];
    char buf[2048];
    r->status = 200;
    r->content_type = NULL;
    r->nosniff = false;
    tt__pj_init(&r->body);
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    int n = split_path(target, plen, buf, sizeof(buf), seg, API_MAX_SEGMENTS);
    for (int i = 0; i < n; i++) {
        if (seg[i][0] == '\0' && !(n == 1 && i == 0)) {
            n = -1; /* an empty {variable} or a trailing slash matches no route */
        }
    }
    struct api_call a = {.ps = ps,
                         .r = r,
                         .seg = seg,
                         .method = api_method_bit(method),
                         .query = q ? q + 1 : "",
                         .body = body,
                         .len = len};
    for (size_t i = 0; n > 0 && i < tt__countof(api_routes); i++) {
        const struct api_route *rt = &api_routes[i];
        if (!route_matches(rt, seg, n)) {
            continue;
        }
        if (!(rt->methods & a.method)) {
            /* gorilla/mux's default: 405 with an empty body, before any lookup. */
            r->status = 405;
            return;
        }
        if (n >= 2 && !(a.px = api_proxy(ps, r, seg[1]))) {
            return;
        }
        rt->run(&a);
        return;
    }
    /* /metrics exists only with -proxy-metrics or -runtime-metrics, as in Toxiproxy, whose
     * promhttp handler answers any method. */
    if (n == 1 && is(seg[0], "metrics") && (ps->opts.proxy_metrics || ps->opts.runtime_metrics)) {
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        tt__px_metrics(ps, &r->body);
        return;
    }
    tt__px_api_plain(r, 404, "404 page not found\n");
}
