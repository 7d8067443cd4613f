/* SPDX-License-Identifier: MIT */
/* Following redirects (curl's -L): which 3xx responses are followed, resolving Location against
 * the current URL (RFC 3986 §5.2), the method and body rules browsers and curl share, and what a
 * hop to another origin must not carry. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "util/str.h"

struct tt__redirect {
    struct tether_header *headers; /* the user's headers, copied: every hop is rebuilt from them */
    size_t nheaders;
    char *store;  /* the headers' strings */
    char *key;    /* the idempotency_key option, copied; NULL = none */
    char *next;   /* the resolved Location of the redirect being drained */
    bool trusted; /* redirect_trusted: credentials follow to any origin */
    /* The origin the headers were given for: credentials go to it alone, even when a later
     * hop comes back to it (curl compares with the first host too). */
    char first_origin[sizeof(((struct tt__url *)0)->origin)];
    struct tt__url next_url;
};

static char *redirect_dup(const char *s)
{
    return tt__strndup(s, strlen(s));
}

int tt__redirect_init(struct tether_fetch *f, const struct tether_fetch_options *o)
{
    struct tt__redirect *r = tt__calloc(1, sizeof(*r));
    if (!r) {
        return TETHER_ENOMEM;
    }
    f->redir = r;
    size_t total = 0;
    for (size_t i = 0; i < o->nheaders; i++) {
        total += strlen(o->headers[i].name) + strlen(o->headers[i].value) + 2;
    }
    if (o->nheaders > 0) {
        r->headers = tt__calloc(o->nheaders, sizeof(*r->headers));
        r->store = tt__malloc(total);
        if (!r->headers || !r->store) {
            return TETHER_ENOMEM;
        }
    }
    char *p = r->store;
    for (size_t i = 0; i < o->nheaders; i++) {
        size_t nl = strlen(o->headers[i].name) + 1;
        size_t vl = strlen(o->headers[i].value) + 1;
        memcpy(p, o->headers[i].name, nl);
        r->headers[i].name = p;
        p += nl;
        memcpy(p, o->headers[i].value, vl);
        r->headers[i].value = p;
        p += vl;
    }
    r->nheaders = o->nheaders;
    memcpy(r->first_origin, f->url.origin, sizeof(r->first_origin));
    r->trusted = o->redirect_trusted;
    if (o->idempotency_key && o->idempotency_key[0]) {
        r->key = redirect_dup(o->idempotency_key);
        if (!r->key) {
            return TETHER_ENOMEM;
        }
    }
    return 0;
}

void tt__redirect_free(struct tether_fetch *f)
{
    struct tt__redirect *r = f->redir;
    if (!r) {
        return;
    }
    tt__free(r->headers);
    tt__free(r->store);
    tt__free(r->key);
    tt__free(r->next);
    tt__url_cleanup(&r->next_url);
    tt__free(r);
    f->redir = NULL;
}

/* ---- RFC 3986 §5.2 ---- */

struct url_parts {
    const char *scheme; /* NULL = none */
    size_t scheme_len;
    const char *auth; /* NULL = none */
    size_t auth_len;
    const char *path;
    size_t path_len;
    const char *query; /* NULL = none */
    size_t query_len;
};

static bool redirect_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Appendix B's regular expression, by hand. The fragment was cut already. */
static void redirect_split(const char *s, size_t len, struct url_parts *p)
{
    memset(p, 0, sizeof(*p));
    size_t i = 0;
    if (len > 0 && redirect_alpha(s[0])) {
        size_t j = 1;
        while (j < len && (redirect_alpha(s[j]) || (s[j] >= '0' && s[j] <= '9') || s[j] == '+' ||
                           s[j] == '-' || s[j] == '.')) {
            j++;
        }
        if (j < len && s[j] == ':') {
            p->scheme = s;
            p->scheme_len = j;
            i = j + 1;
        }
    }
    if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        p->auth = s + i;
        while (i < len && s[i] != '/' && s[i] != '?') {
            i++;
        }
        p->auth_len = (size_t)(s + i - p->auth);
    }
    p->path = s + i;
    while (i < len && s[i] != '?') {
        i++;
    }
    p->path_len = (size_t)(s + i - p->path);
    if (i < len) {
        p->query = s + i + 1;
        p->query_len = len - i - 1;
    }
}

/* §5.2.4 on a NUL-terminated, writable path; the result replaces it. */
static void redirect_remove_dots(char *in)
{
    char *out = in; /* the output never outgrows what was consumed */
    size_t o = 0;
    char *p = in;
    while (*p) {
        if (strncmp(p, "../", 3) == 0) {
            p += 3;
        } else if (strncmp(p, "./", 2) == 0 || strncmp(p, "/./", 3) == 0) {
            p += 2; /* "./x" is "x"; "/./x" is "/x" */
        } else if (strcmp(p, "/.") == 0) {
            p[1] = '/';
            p += 1;
        } else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
            /* "/../x" becomes "/x" and "/.." becomes "/"; the last output segment goes. */
            if (p[3] == '\0') {
                p += 2;
                *p = '/';
            } else {
                p += 3;
            }
            while (o > 0 && out[o - 1] != '/') {
                o--;
            }
            if (o > 0) {
                o--;
            }
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            break;
        } else {
            size_t n = 1 + strcspn(p + 1, "/");
            if (*p != '/') {
                n = strcspn(p, "/");
            }
            memmove(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
}

/* Appends with the bytes a request target may not carry percent-encoded (curl does the same
 * for a Location with spaces or UTF-8). */
static int redirect_append_encoded(struct tt__buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char u = (unsigned char)s[i];
        int rv;
        if (u <= 0x20 || u >= 0x7f || strchr("\"<>\\^`{|}", (char)u)) {
            char esc[3] = {'%', hex[u >> 4], hex[u & 15]};
            rv = tt__buf_append(b, esc, 3);
        } else {
            rv = tt__buf_append(b, s + i, 1);
        }
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

char *tt__url_resolve(const struct tt__url *base, const char *ref, const char **why)
{
    *why = NULL;
    /* Surrounding spaces and controls are not part of a reference (WHATWG URL does the same). */
    while (*ref && (unsigned char)*ref <= 0x20) {
        ref++;
    }
    size_t rlen = strcspn(ref, "#");
    while (rlen > 0 && (unsigned char)ref[rlen - 1] <= 0x20) {
        rlen--;
    }
    struct url_parts r;
    redirect_split(ref, rlen, &r);
    const char *scheme = base->tls ? "https" : "http";
    size_t scheme_len = strlen(scheme);
    if (r.scheme) {
        if (!((r.scheme_len == 4 && ttx_prefix_nocase(r.scheme, "http")) ||
              (r.scheme_len == 5 && ttx_prefix_nocase(r.scheme, "https")))) {
            *why = "not an http:// or https:// URL";
            return NULL;
        }
        scheme = r.scheme_len == 5 ? "https" : "http";
        scheme_len = r.scheme_len; /* written lower-case whatever the Location's spelling */
    }
    const char *bq = strchr(base->target, '?');
    size_t bpath_len = bq ? (size_t)(bq - base->target) : strlen(base->target);
    const char *auth = base->host_header;
    size_t auth_len = strlen(auth);
    struct tt__buf path;
    tt__buf_init(&path, SIZE_MAX);
    const char *query = r.query;
    size_t query_len = r.query_len;
    int rv = 0;
    if (r.scheme || r.auth) {
        if (r.auth) {
            auth = r.auth;
            auth_len = r.auth_len;
        } else {
            auth_len = 0; /* "http:path" has no host: the URL parser says so */
        }
        rv = tt__buf_append(&path, r.path, r.path_len);
    } else if (r.path_len == 0) {
        rv = tt__buf_append(&path, base->target, bpath_len);
        if (!r.query) {
            query = bq ? bq + 1 : NULL;
            query_len = bq ? strlen(bq + 1) : 0;
        }
    } else if (r.path[0] == '/') {
        rv = tt__buf_append(&path, r.path, r.path_len);
    } else {
        /* §5.2.3: the base's path up to its last '/', then the reference. */
        size_t keep = bpath_len;
        while (keep > 0 && base->target[keep - 1] != '/') {
            keep--;
        }
        rv = keep ? tt__buf_append(&path, base->target, keep) : tt__buf_append(&path, "/", 1);
        rv = rv ? rv : tt__buf_append(&path, r.path, r.path_len);
    }
    rv = rv ? rv : tt__buf_append(&path, "", 1);
    struct tt__buf out;
    tt__buf_init(&out, SIZE_MAX);
    if (rv == 0) {
        redirect_remove_dots(path.data);
        rv = tt__buf_append(&out, scheme, scheme_len);
        rv = rv ? rv : tt__buf_append(&out, "://", 3);
        rv = rv ? rv : tt__buf_append(&out, auth, auth_len);
        rv = rv ? rv : redirect_append_encoded(&out, path.data, strlen(path.data));
        if (rv == 0 && query) {
            rv = tt__buf_append(&out, "?", 1);
            rv = rv ? rv : redirect_append_encoded(&out, query, query_len);
        }
        rv = rv ? rv : tt__buf_append(&out, "", 1);
    }
    tt__buf_cleanup(&path);
    if (rv != 0) {
        tt__buf_cleanup(&out);
        return NULL;
    }
    return out.data; /* the buffer's memory is ours */
}

/* ---- following ---- */

static int redirect_fail(struct tether_fetch *f, int code, const char *detail)
{
    tether_failure_init(&f->failure);
    f->failure.code = code;
    f->failure.phase = TETHER_PHASE_READ_HEADERS;
    f->failure.attempt = f->attempts;
    f->failure.replays = f->replays;
    (void)snprintf(f->failure.host, sizeof(f->failure.host), "%s", f->url.host);
    (void)snprintf(f->failure.detail, sizeof(f->failure.detail), "%s", detail);
    return code;
}

int tt__redirect_check(struct tether_fetch *f, int status)
{
    struct tt__redirect *r = f->redir;
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
        return 0; /* 300, 304, 305...: curl and browsers stop there too */
    }
    const char *loc = tether_fetch_header(f, "Location");
    if (!loc || !loc[0]) {
        return 0;
    }
    char detail[sizeof(f->failure.detail)];
    if (f->redirects >= f->max_redirects) {
        (void)snprintf(detail, sizeof(detail), "maximum (%u) redirects followed", f->max_redirects);
        return redirect_fail(f, TETHER_EHTTP, detail);
    }
    const char *why = NULL;
    tt__free(r->next);
    tt__url_cleanup(&r->next_url);
    r->next = tt__url_resolve(&f->url, loc, &why);
    if (!r->next) {
        if (!why) {
            return TETHER_ENOMEM;
        }
        (void)snprintf(detail, sizeof(detail), "cannot follow Location '%.120s': %s", loc, why);
        return redirect_fail(f, TETHER_EHTTP, detail);
    }
    char err[200];
    err[0] = '\0';
    int rv = tt__url_parse(r->next, &r->next_url, err, sizeof(err));
    if (rv != 0) {
        if (rv != TETHER_EINVAL) {
            return rv;
        }
        (void)snprintf(detail, sizeof(detail), "cannot follow Location: %s", err);
        return redirect_fail(f, TETHER_EHTTP, detail);
    }
    return 1;
}

/* Whether the user's header `name` goes to the next hop. */
static bool redirect_keep_header(const char *name, bool cross_origin, bool trusted, bool to_get)
{
    bool credential = ttx_str_eq_nocase(name, "authorization") || ttx_str_eq_nocase(name, "cookie");
    if (cross_origin && (ttx_str_eq_nocase(name, "host") || (credential && !trusted))) {
        return false; /* credentials and the Host belong to the origin they were given for */
    }
    return !(to_get && ttx_str_eq_nocase(name, "content-type"));
}

int tt__redirect_next(struct tether_fetch *f)
{
    struct tt__redirect *r = f->redir;
    struct tether_client *c = f->client;
    int status = f->status;
    bool post = strcmp(f->method, "POST") == 0;
    bool get_or_head = strcmp(f->method, "GET") == 0 || strcmp(f->method, "HEAD") == 0;
    bool to_get = ((status == 301 || status == 302) && post) || (status == 303 && !get_or_head);
    bool cross = strcmp(r->next_url.origin, r->first_origin) != 0;

    struct tether_header *hs = NULL;
    if (r->nheaders > 0) {
        hs = tt__calloc(r->nheaders, sizeof(*hs));
        if (!hs) {
            return TETHER_ENOMEM;
        }
    }
    size_t n = 0;
    size_t kept = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (redirect_keep_header(r->headers[i].name, cross, r->trusted, to_get)) {
            hs[n++] = r->headers[i];
        }
        /* A body dropped once stays dropped, its Content-Type with it. */
        if (!to_get || !ttx_str_eq_nocase(r->headers[i].name, "content-type")) {
            r->headers[kept++] = r->headers[i];
        }
    }
    r->nheaders = kept;
    /* 307 and 308 send the same body again: it is the tail of the request already built. */
    size_t body_len = to_get ? 0 : f->body_len;
    char *body = body_len ? tt__malloc(body_len) : NULL;
    char *method = to_get ? redirect_dup("GET") : NULL;
    int rv = (body_len && !body) || (to_get && !method) ? TETHER_ENOMEM : 0;
    if (rv == 0) {
        if (body) {
            memcpy(body, f->req.data + f->req.len - body_len, body_len);
        }
        if (method) {
            tt__free(f->method);
            f->method = method;
        }
        tt__url_cleanup(&f->url);
        f->url = r->next_url;
        memset(&r->next_url, 0, sizeof(r->next_url));
        tt__free(f->url_text);
        f->url_text = r->next;
        r->next = NULL;
        struct tether_fetch_options o;
        tether_fetch_options_init(&o);
        o.headers = hs;
        o.nheaders = n;
        o.body = body;
        o.body_len = body_len;
        o.idempotency_key = r->key;
        tt__buf_reset(&f->req);
        rv = tt__fetch_build(f, &o, c->user_agent);
    }
    tt__free(hs);
    tt__free(body);
    if (rv != 0) {
        return rv;
    }
    f->body_len = body_len;
    f->replayable = body_len <= c->policy.replay_buffer_bytes;
    f->origin = tt__pool_origin(c, &f->url);
    f->health = f->origin ? tt__pool_health(c, &f->url, f->origin) : NULL;
    if (!f->health) {
        return TETHER_ENOMEM;
    }
    tt__budget_deposit(&f->health->budget, tt__client_now(c));
    f->redirects++;
    /* No final response yet: what the 3xx said is not the outcome of the next hop. */
    f->status = 0;
    f->nheaders = 0;
    tt__buf_reset(&f->head_store);
    return 0;
}
