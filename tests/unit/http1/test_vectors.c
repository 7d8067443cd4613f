/* SPDX-License-Identifier: MIT */
/* Replays tests/vectors through the HTTP/1.1 head parser and chunked decoder, whole and split. */
#include <inttypes.h>
#include <stdlib.h>

#include "http1/http1.h"
#include "test.h"
#include "vectors.h"

#define VT_FIELDS_CAP 128
#define VT_MIN_VECTORS 100
/* Above this size only some split points are tried (every byte near both ends and the head's
 * end, then a stride), so the quadratic split test stays fast under sanitizers. */
#define VT_FULL_SPLIT_MAX 4096

static struct tt_vec_set vt_set;
static int vt_failures;

static void vt_report(const struct tt_vector *v, const char *fmt, ...) TETHER_PRINTF(2, 3);

static void vt_report(const struct tt_vector *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s [%s, expect %s]: %s\n", v->file, v->line, v->name,
                tt_vec_type_name(v->type), v->expect, msg);
    vt_failures++;
}

/* Describes a head-parse or decode return value: "EHTTP/BARE_LF", "EAGAIN", "42". */
static const char *vt_rc_str(int rc, enum tt__h1_error err, char *buf, size_t n)
{
    if (rc == TETHER_EHTTP) {
        snprintf(buf, n, "EHTTP/%s", tt__h1_err_name(err));
    } else if (rc == TETHER_EAGAIN) {
        snprintf(buf, n, "EAGAIN");
    } else {
        snprintf(buf, n, "%d", rc);
    }
    return buf;
}

/* --- Head parsing -------------------------------------------------------------------------- */

/* What a head parse produced, comparable across runs that use different buffers. */
struct vt_sum {
    int rc;
    enum tt__h1_error err;
    size_t nfields;
    enum tt__h1_body_kind body;
    uint64_t content_length;
    bool keep_alive;
    int version_minor;
    int status;
    uint64_t hash; /* of method, target, reason, host and every field */
};

static uint64_t vt_hash(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    }
    return (h ^ n) * 1099511628211u;
}

static int vt_parse_head(const struct tt_vector *v, struct tt__h1_parser *p, const char *buf,
                         size_t len, struct tt__h1_head *h)
{
    if (v->type == TT_VEC_REQUEST) {
        return tt__h1_parse_request(p, buf, len, h);
    }
    return tt__h1_parse_response(p, buf, len, h, v->request_method.ptr);
}

static void vt_head_init(struct tt__h1_head *h, struct tt__h1_field *fields)
{
    memset(h, 0, sizeof(*h));
    h->fields = fields;
    h->fields_cap = VT_FIELDS_CAP;
}

static struct vt_sum vt_summarise(int rc, const struct tt__h1_parser *p,
                                  const struct tt__h1_head *h)
{
    struct vt_sum s;
    memset(&s, 0, sizeof(s));
    s.rc = rc;
    s.err = rc == TETHER_EHTTP ? p->error : TT__H1_ERR_NONE;
    if (rc > 0) {
        s.nfields = h->nfields;
        s.body = h->body;
        s.content_length = h->content_length;
        s.keep_alive = h->keep_alive;
        s.version_minor = h->version_minor;
        s.status = h->status;
        uint64_t x = 14695981039346656037u;
        x = vt_hash(x, h->method.ptr, h->method.len);
        x = vt_hash(x, h->target.ptr, h->target.len);
        x = vt_hash(x, h->reason.ptr, h->reason.len);
        x = vt_hash(x, h->host.ptr, h->host.len);
        for (size_t i = 0; i < h->nfields && i < h->fields_cap; i++) {
            x = vt_hash(x, h->fields[i].name.ptr, h->fields[i].name.len);
            x = vt_hash(x, h->fields[i].value.ptr, h->fields[i].value.len);
        }
        s.hash = x;
    }
    return s;
}

static bool vt_sum_eq(const struct vt_sum *a, const struct vt_sum *b)
{
    return a->rc == b->rc && a->err == b->err && a->nfields == b->nfields && a->body == b->body &&
           a->content_length == b->content_length && a->keep_alive == b->keep_alive &&
           a->version_minor == b->version_minor && a->status == b->status && a->hash == b->hash;
}

/* One-shot head parse of the whole vector. */
static struct vt_sum vt_head_once(const struct tt_vector *v, struct tt__h1_head *h)
{
    struct tt__h1_parser p;
    tt__h1_parser_init(&p, NULL);
    int rc = vt_parse_head(v, &p, v->data.ptr, v->data.len, h);
    return vt_summarise(rc, &p, h);
}

/* --- Chunked decoding ---------------------------------------------------------------------- */

struct vt_dec {
    int rc; /* TT__H1_CHUNKED_DONE, 0 (input ended first) or TETHER_EHTTP */
    enum tt__h1_error err;
    size_t consumed; /* in total, up to and including the end of the message */
    char *out;       /* decoded bytes (malloc) */
    size_t out_len;
    const char *bad; /* a broken API contract, or NULL */
};

/*
 * Feeds data[0..len) to a fresh decoder in pieces ending at cuts[0..ncuts) (increasing), like a
 * receiver would: bytes the decoder leaves unconsumed are kept and the next piece appended. Each
 * call gets a buffer of exactly the pending bytes, so the sanitizers catch over-reads.
 */
static void vt_decode(const char *data, size_t len, const size_t *cuts, size_t ncuts,
                      struct vt_dec *d)
{
    struct tt__h1_chunked c;
    tt__h1_chunked_init(&c, NULL);
    memset(d, 0, sizeof(*d));
    char *pend = NULL;
    size_t plen = 0, fed = 0, calls = 0;
    for (size_t piece = 0; piece <= ncuts; piece++) {
        size_t end = piece < ncuts ? cuts[piece] : len;
        char *nb = malloc(plen + (end - fed) + 1);
        assert_non_null(nb);
        if (plen > 0) {
            memcpy(nb, pend, plen);
        }
        memcpy(nb + plen, data + fed, end - fed);
        free(pend);
        pend = nb;
        plen += end - fed;
        fed = end;
        size_t off = 0;
        while (off < plen) {
            size_t used = 0;
            struct tt__h1_str span = {NULL, 0};
            int rc = tt__h1_chunked_decode(&c, pend + off, plen - off, &used, &span);
            if (used > plen - off) {
                d->bad = "consumed more than it was given";
                goto out;
            }
            if (span.len > 0) {
                if (span.ptr < pend + off || span.ptr + span.len > pend + off + used) {
                    d->bad = "data span outside the consumed bytes";
                    goto out;
                }
                d->out = realloc(d->out, d->out_len + span.len + 1);
                assert_non_null(d->out);
                memcpy(d->out + d->out_len, span.ptr, span.len);
                d->out_len += span.len;
            }
            off += used;
            d->consumed += used;
            if (rc == TT__H1_CHUNKED_DONE || rc == TETHER_EHTTP) {
                d->rc = rc;
                d->err = rc == TETHER_EHTTP ? c.error : TT__H1_ERR_NONE;
                goto out;
            }
            if (rc != 0) {
                d->bad = "unexpected return value";
                d->rc = rc;
                goto out;
            }
            if (used == 0) {
                break; /* waits for more input */
            }
            if (++calls > 4 * len + 64) {
                d->bad = "no progress";
                goto out;
            }
        }
        memmove(pend, pend + off, plen - off);
        plen -= off;
    }
    d->rc = 0;
out:
    free(pend);
}

/* A missing expectation (NULL ptr) checks nothing. */
static void vt_check_bytes(const struct tt_vector *v, const char *what, const char *got,
                           size_t got_len, const struct tt_vec_bytes *want)
{
    if (!want->ptr ||
        (got_len == want->len && (got_len == 0 || memcmp(got, want->ptr, got_len) == 0))) {
        return;
    }
    char g[160], w[160];
    vt_report(v, "%s: got \"%s\" (%zu bytes), expected \"%s\" (%zu bytes)", what,
              tt_vec_escape(got, got_len, g, sizeof(g)), got_len,
              tt_vec_escape(want->ptr, want->len, w, sizeof(w)), want->len);
}

/* --- (a) One shot --------------------------------------------------------------------------- */

/* Checks the body bytes and what follows, for an ok message whose head is head_len bytes. */
static void vt_check_body(const struct tt_vector *v, const struct tt__h1_head *h, size_t head_len)
{
    if (!v->decoded.ptr && !v->trailing.ptr) {
        return;
    }
    const char *rest = v->data.ptr + head_len;
    size_t rest_len = v->data.len - head_len, body_end = 0;
    struct vt_dec d;
    memset(&d, 0, sizeof(d));
    switch (h->body) {
    case TT__H1_BODY_NONE:
        break;
    case TT__H1_BODY_LENGTH:
        if (h->content_length > rest_len) {
            vt_report(v, "data holds %zu body bytes, fewer than Content-Length", rest_len);
            return;
        }
        body_end = (size_t)h->content_length;
        break;
    case TT__H1_BODY_UNTIL_CLOSE:
        body_end = rest_len;
        break;
    case TT__H1_BODY_CHUNKED:
        vt_decode(rest, rest_len, NULL, 0, &d);
        if (d.rc != TT__H1_CHUNKED_DONE || d.bad) {
            char b[64];
            vt_report(v, "chunked body: %s%s", vt_rc_str(d.rc, d.err, b, sizeof(b)),
                      d.bad ? d.bad : "");
            free(d.out);
            return;
        }
        body_end = d.consumed;
        break;
    }
    if (h->body == TT__H1_BODY_CHUNKED) {
        vt_check_bytes(v, "decoded body", d.out, d.out_len, &v->decoded);
    } else {
        vt_check_bytes(v, "body", rest, body_end, &v->decoded);
    }
    vt_check_bytes(v, "bytes after the message", rest + body_end, rest_len - body_end,
                   &v->trailing);
    free(d.out);
}

static void vt_check_ok_head(const struct tt_vector *v, const struct tt__h1_head *h, size_t hl)
{
    if (v->type == TT_VEC_REQUEST) {
        vt_check_bytes(v, "method", h->method.ptr, h->method.len, &v->method);
        vt_check_bytes(v, "target", h->target.ptr, h->target.len, &v->target);
    } else if (v->status_code >= 0 && h->status != v->status_code) {
        vt_report(v, "status %d, expected %d", h->status, v->status_code);
    }
    vt_check_bytes(v, "reason", h->reason.ptr, h->reason.len, &v->reason);
    vt_check_bytes(v, "host", h->host.ptr, h->host.len, &v->host);
    if (v->version_minor >= 0 && h->version_minor != v->version_minor) {
        vt_report(v, "version 1.%d, expected 1.%d", h->version_minor, v->version_minor);
    }
    if (v->nfields >= 0 && h->nfields != (size_t)v->nfields) {
        vt_report(v, "%zu fields, expected %ld", h->nfields, v->nfields);
    }
    for (size_t i = 0; i < v->nfield_checks; i++) {
        const struct tt_vec_field_check *fc = &v->field_checks[i];
        const struct tt__h1_field *f = tt__h1_head_find(h, fc->name.ptr);
        if (!f) {
            vt_report(v, "no field \"%s\"", fc->name.ptr);
        } else {
            char what[96];
            snprintf(what, sizeof(what), "field \"%s\"", fc->name.ptr);
            vt_check_bytes(v, what, f->value.ptr, f->value.len, &fc->value);
        }
    }
    static const enum tt_vec_body kinds[] = {
        [TT__H1_BODY_NONE] = TT_VEC_BODY_NONE,
        [TT__H1_BODY_LENGTH] = TT_VEC_BODY_LENGTH,
        [TT__H1_BODY_CHUNKED] = TT_VEC_BODY_CHUNKED,
        [TT__H1_BODY_UNTIL_CLOSE] = TT_VEC_BODY_CLOSE,
    };
    enum tt_vec_body got =
        (size_t)h->body < tt__countof(kinds) ? kinds[h->body] : TT_VEC_BODY_UNSET;
    if (v->body != TT_VEC_BODY_UNSET) {
        if (got != v->body) {
            vt_report(v, "body %s, expected %s", tt_vec_body_name(got), tt_vec_body_name(v->body));
        } else if (got == TT_VEC_BODY_LENGTH && h->content_length != v->content_length) {
            vt_report(v, "content length %" PRIu64 ", expected %" PRIu64, h->content_length,
                      v->content_length);
        }
    }
    if (v->keep_alive >= 0 && h->keep_alive != (v->keep_alive == 1)) {
        vt_report(v, "keep-alive %s, expected %s", h->keep_alive ? "yes" : "no",
                  v->keep_alive ? "yes" : "no");
    }
    if (got == TT_VEC_BODY_UNSET) {
        vt_report(v, "unknown body kind %d", (int)h->body);
        return;
    }
    vt_check_body(v, h, hl);
}

/* The vector's own consistency: a known error name whose status is the one written down. */
static bool vt_expected_error(const struct tt_vector *v, enum tt__h1_error *out)
{
    int e = tt__h1_err_from_name(v->expect, strlen(v->expect));
    if (e <= (int)TT__H1_ERR_NONE || e >= (int)TT__H1_ERR_COUNT) {
        vt_report(v, "unknown error name");
        return false;
    }
    *out = (enum tt__h1_error)e;
    if (tt__h1_err_status(*out) != v->status) {
        vt_report(v, "status: %d, but tt__h1_err_status(%s) is %d", v->status, v->expect,
                  tt__h1_err_status(*out));
    }
    if (strcmp(tt__h1_err_name(*out), v->expect) != 0) {
        vt_report(v, "tt__h1_err_name() gives \"%s\"", tt__h1_err_name(*out));
    }
    return true;
}

static void vt_one_shot(const struct tt_vector *v)
{
    enum tt__h1_error want = TT__H1_ERR_NONE;
    if (!v->ok && !vt_expected_error(v, &want)) {
        return;
    }
    char b[64];
    if (v->type == TT_VEC_CHUNKED) {
        struct vt_dec d;
        vt_decode(v->data.ptr, v->data.len, NULL, 0, &d);
        if (d.bad) {
            vt_report(v, "decoder: %s", d.bad);
        } else if (v->ok && d.rc != TT__H1_CHUNKED_DONE) {
            vt_report(v, "decoder returned %s, expected DONE",
                      vt_rc_str(d.rc, d.err, b, sizeof(b)));
        } else if (v->ok) {
            vt_check_bytes(v, "decoded body", d.out, d.out_len, &v->decoded);
            static const struct tt_vec_bytes none = {"", 0};
            vt_check_bytes(v, "bytes after the message", v->data.ptr + d.consumed,
                           v->data.len - d.consumed, v->trailing.ptr ? &v->trailing : &none);
        } else if (d.rc != TETHER_EHTTP || d.err != want) {
            vt_report(v, "decoder returned %s", vt_rc_str(d.rc, d.err, b, sizeof(b)));
        }
        free(d.out);
        return;
    }
    struct tt__h1_field fields[VT_FIELDS_CAP];
    struct tt__h1_head h;
    vt_head_init(&h, fields);
    struct vt_sum s = vt_head_once(v, &h);
    if (v->ok) {
        if (s.rc <= 0 || (size_t)s.rc > v->data.len) {
            vt_report(v, "parse returned %s", vt_rc_str(s.rc, s.err, b, sizeof(b)));
            return;
        }
        if (h.head_len != (size_t)s.rc) {
            vt_report(v, "head_len %zu but parse returned %d", h.head_len, s.rc);
        }
        vt_check_ok_head(v, &h, (size_t)s.rc);
    } else if (s.rc != TETHER_EHTTP || s.err != want) {
        vt_report(v, "parse returned %s", vt_rc_str(s.rc, s.err, b, sizeof(b)));
    }
}

/* --- (b) Split input ------------------------------------------------------------------------ */

/* Whether to try split point k (1 <= k < len); `mark` is a place worth trying densely. */
static bool vt_try_split(size_t k, size_t len, size_t mark)
{
    if (len <= VT_FULL_SPLIT_MAX) {
        return true;
    }
    return k < 256 || k + 256 > len || (k + 4 > mark && k < mark + 4) || k % 97 == 0;
}

/* Compares a split or incremental run with the one-shot result; `k` says where it happened. */
static void vt_compare_head(const struct tt_vector *v, const char *how, size_t k,
                            const struct vt_sum *got, const struct vt_sum *ref)
{
    if (vt_sum_eq(got, ref)) {
        return;
    }
    char g[64], r[64];
    vt_report(v, "%s at %zu of %zu bytes: %s, one-shot %s%s", how, k, v->data.len,
              vt_rc_str(got->rc, got->err, g, sizeof(g)),
              vt_rc_str(ref->rc, ref->err, r, sizeof(r)),
              got->rc == ref->rc && got->err == ref->err ? " (head fields differ)" : "");
}

/* Feeds buf[0..k) for k = 1..len: one growing buffer, moved each time (as realloc may). */
static void vt_head_bytewise(const struct tt_vector *v, const struct vt_sum *ref)
{
    struct tt__h1_field fields[VT_FIELDS_CAP];
    struct tt__h1_head h;
    struct tt__h1_parser p;
    vt_head_init(&h, fields);
    tt__h1_parser_init(&p, NULL);
    char *buf = NULL;
    int rc = TETHER_EAGAIN;
    size_t k;
    for (k = 1; k <= v->data.len; k++) {
        char *nb = malloc(k);
        assert_non_null(nb);
        memcpy(nb, v->data.ptr, k);
        free(buf);
        buf = nb;
        rc = vt_parse_head(v, &p, buf, k, &h);
        if (rc != TETHER_EAGAIN) {
            break;
        }
    }
    struct vt_sum s = vt_summarise(rc, &p, &h);
    free(buf);
    k = k > v->data.len ? v->data.len : k;
    vt_compare_head(v, "byte at a time", k, &s, ref);
    if (rc > 0 && (size_t)rc != k) {
        vt_report(v, "byte at a time: head of %d bytes reported after %zu bytes", rc, k);
    }
}

/* For each k: buf[0..k) (an exact-size copy), then the whole buffer. */
static void vt_head_splits(const struct tt_vector *v, const struct vt_sum *ref)
{
    size_t len = v->data.len;
    size_t mark = ref->rc > 0 ? (size_t)ref->rc : len;
    for (size_t k = 1; k < len; k++) {
        if (!vt_try_split(k, len, mark)) {
            continue;
        }
        struct tt__h1_field fields[VT_FIELDS_CAP];
        struct tt__h1_head h;
        struct tt__h1_parser p;
        vt_head_init(&h, fields);
        tt__h1_parser_init(&p, NULL);
        char *pre = malloc(k);
        assert_non_null(pre);
        memcpy(pre, v->data.ptr, k);
        int rc = vt_parse_head(v, &p, pre, k, &h);
        struct vt_sum first = vt_summarise(rc, &p, &h);
        free(pre);
        struct vt_sum s = first;
        if (rc == TETHER_EAGAIN) {
            rc = vt_parse_head(v, &p, v->data.ptr, len, &h);
            s = vt_summarise(rc, &p, &h);
        } else if (rc > 0 && (size_t)rc > k) {
            vt_report(v, "split at %zu: head of %d bytes reported early", k, rc);
            return;
        } else if (rc == TETHER_EHTTP) {
            int again = vt_parse_head(v, &p, v->data.ptr, len, &h);
            if (again != TETHER_EHTTP || p.error != first.err) {
                vt_report(v, "split at %zu: a failed parser did not stay failed", k);
                return;
            }
        }
        if (!vt_sum_eq(&s, ref)) {
            vt_compare_head(v, "split", k, &s, ref);
            return; /* one report per vector */
        }
    }
}

static void vt_chunked_compare(const struct tt_vector *v, const char *how, size_t k,
                               struct vt_dec *got, const struct vt_dec *ref)
{
    if (got->bad) {
        vt_report(v, "%s at %zu: %s", how, k, got->bad);
    } else if (got->rc != ref->rc || got->err != ref->err || got->consumed != ref->consumed ||
               got->out_len != ref->out_len ||
               (got->out_len > 0 && memcmp(got->out, ref->out, got->out_len) != 0)) {
        char g[64], r[64];
        vt_report(v, "%s at %zu: %s after %zu bytes (%zu decoded), one-shot %s after %zu (%zu)",
                  how, k, vt_rc_str(got->rc, got->err, g, sizeof(g)), got->consumed, got->out_len,
                  vt_rc_str(ref->rc, ref->err, r, sizeof(r)), ref->consumed, ref->out_len);
    }
    free(got->out);
    got->out = NULL;
}

static void vt_chunked_splits(const struct tt_vector *v)
{
    size_t len = v->data.len;
    struct vt_dec ref, d;
    vt_decode(v->data.ptr, len, NULL, 0, &ref);
    if (ref.bad) {
        free(ref.out);
        return; /* reported by the one-shot test */
    }
    size_t *cuts = malloc(len * sizeof(*cuts) + 1);
    assert_non_null(cuts);
    for (size_t i = 0; i + 1 < len; i++) {
        cuts[i] = i + 1;
    }
    vt_decode(v->data.ptr, len, cuts, len - 1, &d);
    vt_chunked_compare(v, "byte at a time", 1, &d, &ref);
    int before = vt_failures;
    for (size_t k = 1; k < len && vt_failures == before; k++) {
        if (vt_try_split(k, len, ref.consumed)) {
            vt_decode(v->data.ptr, len, &k, 1, &d);
            vt_chunked_compare(v, "split", k, &d, &ref);
        }
    }
    free(cuts);
    free(ref.out);
}

/* --- Tests -------------------------------------------------------------------------------- */

static void vt_finish(const char *what)
{
    if (vt_failures > 0) {
        int n = vt_failures;
        vt_failures = 0;
        fail_msg("%d vector failure(s) in %s (listed above)", n, what);
    }
}

static void test_corpus_sanity(void **state)
{
    (void)state;
    size_t per_type[3] = {0, 0, 0}, errors = 0;
    for (size_t i = 0; i < vt_set.n; i++) {
        per_type[vt_set.v[i].type]++;
        errors += !vt_set.v[i].ok;
    }
    print_message("%zu vectors in %zu files: %zu request, %zu response, %zu chunked; %zu invalid\n",
                  vt_set.n, vt_set.nfiles, per_type[0], per_type[1], per_type[2], errors);
    if (vt_set.n < VT_MIN_VECTORS) {
        fail_msg("only %zu vectors in $TETHER_VECTORS_DIR (want >= %d)", vt_set.n, VT_MIN_VECTORS);
    }
    assert_true(per_type[0] > 0 && per_type[1] > 0 && per_type[2] > 0);
    assert_true(errors > 0 && errors < vt_set.n);
}

static void test_one_shot(void **state)
{
    (void)state;
    for (size_t i = 0; i < vt_set.n; i++) {
        vt_one_shot(&vt_set.v[i]);
    }
    vt_finish("the one-shot parse");
}

/* Every split of the input gives the one-shot result (errors may come early, never differ). */
static void test_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < vt_set.n; i++) {
        const struct tt_vector *v = &vt_set.v[i];
        if (v->type == TT_VEC_CHUNKED) {
            vt_chunked_splits(v);
            continue;
        }
        struct tt__h1_field fields[VT_FIELDS_CAP];
        struct tt__h1_head h;
        vt_head_init(&h, fields);
        struct vt_sum ref = vt_head_once(v, &h);
        vt_head_bytewise(v, &ref);
        vt_head_splits(v, &ref);
    }
    vt_finish("split input");
}

static int vt_setup(void **state)
{
    (void)state;
    char err[512];
    if (tt_vec_load_env(&vt_set, err, sizeof(err)) != 0) {
        print_error("loading vectors: %s\n", err);
        return -1;
    }
    return 0;
}

static int vt_teardown(void **state)
{
    (void)state;
    tt_vec_free(&vt_set);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_sanity),
        cmocka_unit_test(test_one_shot),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, vt_setup, vt_teardown);
}
