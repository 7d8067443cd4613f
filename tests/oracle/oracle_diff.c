/* SPDX-License-Identifier: MIT */
/* The comparison and runner shared by the differential parser tests (oracle_diff.h). */
#include "oracle_diff.h"

#include <inttypes.h>
#include <stdlib.h>

#include "http1/http1.h"
#include "test.h"
#include "vectors.h"

#define OD_MIN_COMPARISONS 40

/* Wraps a chunked vector so both parsers see a whole request. */
static const char od_chunked_head[] =
    "POST /chunked HTTP/1.1\r\nHost: oracle\r\nTransfer-Encoding: chunked\r\n\r\n";

static const struct od_oracle *od_oracle;
static struct tt_vec_set od_set;
static int od_failures;

static void od_report(const struct tt_vector *v, const char *fmt, ...) TETHER_PRINTF(2, 3);

static void od_report(const struct tt_vector *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s: %s\n", v->file, v->line, v->name, msg);
    od_failures++;
}

void od_append(struct od_buf *b, const char *at, size_t len)
{
    b->p = realloc(b->p, b->len + len + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->len, at, len);
    b->len += len;
    b->p[b->len] = '\0';
}

int od_on_field(struct od_msg *m, const char *at, size_t len)
{
    if (m->headers_done) {
        return 0;
    }
    if (m->in_value || m->nfields == 0) {
        if (m->nfields == OD_MAX_FIELDS) {
            return -1;
        }
        m->nfields++;
        m->in_value = false;
    }
    od_append(&m->names[m->nfields - 1], at, len);
    return 0;
}

void od_on_value(struct od_msg *m, const char *at, size_t len)
{
    if (!m->headers_done && m->nfields > 0) {
        m->in_value = true;
        od_append(&m->values[m->nfields - 1], at, len);
    }
}

bool od_response_has_no_body(const struct od_msg *m)
{
    return (m->request_method && strcmp(m->request_method, "HEAD") == 0) || m->status < 200 ||
           m->status == 204 || m->status == 304;
}

static void od_msg_free(struct od_msg *m)
{
    free(m->method.p);
    free(m->url.p);
    free(m->reason.p);
    free(m->body.p);
    for (size_t i = 0; i < m->nfields; i++) {
        free(m->names[i].p);
        free(m->values[i].p);
    }
}

static bool od_span_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void od_trim(const char **p, size_t *len)
{
    while (*len > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t')) {
        (*len)--;
    }
}

static void od_cmp_span(const struct tt_vector *v, const char *what, const char *ours,
                        size_t ours_len, const char *theirs, size_t theirs_len)
{
    theirs = theirs ? theirs : "";
    if (!od_span_eq(ours, ours_len, theirs, theirs_len)) {
        char a[160], b[160];
        od_report(v, "%s: ours \"%s\", %s \"%s\"", what,
                  tt_vec_escape(ours, ours_len, a, sizeof(a)), od_oracle->name,
                  tt_vec_escape(theirs, theirs_len, b, sizeof(b)));
    }
}

/* Our view of the body: its bytes and where the message ends, when `data` holds all of it. */
static bool od_our_body(const struct tt__h1_head *h, const char *rest, size_t rest_len,
                        struct od_buf *body, size_t *used)
{
    struct tt__h1_chunked c;
    size_t off = 0;
    switch (h->body) {
    case TT__H1_BODY_NONE:
        *used = 0;
        return true;
    case TT__H1_BODY_LENGTH:
        if (h->content_length > rest_len) {
            return false;
        }
        od_append(body, rest, (size_t)h->content_length);
        *used = (size_t)h->content_length;
        return true;
    case TT__H1_BODY_UNTIL_CLOSE:
        od_append(body, rest, rest_len);
        *used = rest_len;
        return true;
    case TT__H1_BODY_CHUNKED:
        tt__h1_chunked_init(&c, NULL);
        while (off < rest_len) {
            size_t n = 0;
            struct tt__h1_str span;
            int rc = tt__h1_chunked_decode(&c, rest + off, rest_len - off, &n, &span);
            od_append(body, span.ptr ? span.ptr : "", span.len);
            off += n;
            if (rc == TT__H1_CHUNKED_DONE) {
                *used = off;
                return true;
            }
            if (rc != 0 || n == 0) {
                break;
            }
        }
        return false;
    }
    return false;
}

/* The head fields and framing, once both parsers read the head. */
static void od_compare_head(const struct tt_vector *v, const struct tt__h1_head *h,
                            const struct od_msg *m, bool response)
{
    const char *name = od_oracle->name;
    if (!response) {
        od_cmp_span(v, "method", h->method.ptr, h->method.len, m->method.p, m->method.len);
        od_cmp_span(v, "target", h->target.ptr, h->target.len, m->url.p, m->url.len);
    } else {
        if ((unsigned)h->status != m->status) {
            od_report(v, "status: ours %d, %s %u", h->status, name, m->status);
        }
        od_cmp_span(v, "reason", h->reason.ptr, h->reason.len, m->reason.p, m->reason.len);
    }
    if (m->http_major != 1 || m->http_minor != (unsigned)h->version_minor) {
        od_report(v, "version: ours 1.%d, %s %u.%u", h->version_minor, name, m->http_major,
                  m->http_minor);
    }
    if (h->nfields != m->nfields) {
        od_report(v, "field count: ours %zu, %s %zu", h->nfields, name, m->nfields);
    }
    for (size_t i = 0; i < h->nfields && i < m->nfields; i++) {
        const char *tv = m->values[i].p ? m->values[i].p : "";
        size_t tl = m->values[i].len;
        od_trim(&tv, &tl);
        od_cmp_span(v, "field name", h->fields[i].name.ptr, h->fields[i].name.len, m->names[i].p,
                    m->names[i].len);
        od_cmp_span(v, "field value", h->fields[i].value.ptr, h->fields[i].value.len, tv, tl);
    }
}

/* Framing, in the oracle's terms. */
static enum tt__h1_body_kind od_their_body_kind(const struct od_msg *m, bool response)
{
    if (m->skipped_body) {
        return TT__H1_BODY_NONE;
    }
    if (m->chunked) {
        return TT__H1_BODY_CHUNKED;
    }
    if (m->has_length) {
        return TT__H1_BODY_LENGTH;
    }
    return response && !m->upgrade ? TT__H1_BODY_UNTIL_CLOSE : TT__H1_BODY_NONE;
}

/* Runs both parsers over one buffer; returns whether a comparison was made. */
static bool od_compare(const struct tt_vector *v, const char *data, size_t len, bool response)
{
    struct tt__h1_field fields[OD_MAX_FIELDS];
    struct tt__h1_head h;
    struct tt__h1_parser ours;
    memset(&h, 0, sizeof(h));
    h.fields = fields;
    h.fields_cap = OD_MAX_FIELDS;
    tt__h1_parser_init(&ours, NULL);
    int rc = response ? tt__h1_parse_response(&ours, data, len, &h, v->request_method.ptr)
                      : tt__h1_parse_request(&ours, data, len, &h);
    if (rc <= 0) {
        od_report(v, "our parser failed (%d, %s): see http1_test_vectors", rc,
                  tt__h1_err_name(ours.error));
        return false;
    }

    const char *name = od_oracle->name;
    struct od_msg m;
    memset(&m, 0, sizeof(m));
    m.request_method = v->request_method.ptr;
    od_oracle->run(data, len, response, &m);
    bool ok = false;
    if (m.error[0] != '\0') {
        od_report(v, "%s: %s after %zu bytes", name, m.error, m.nparsed);
        goto out;
    }
    if (!m.headers_done) {
        od_report(v, "%s did not finish the head", name);
        goto out;
    }
    ok = true;
    od_compare_head(v, &h, &m, response);
    enum tt__h1_body_kind theirs = od_their_body_kind(&m, response);
    if (theirs != h.body) {
        od_report(v, "body kind: ours %d, %s %d", (int)h.body, name, (int)theirs);
    } else if (theirs == TT__H1_BODY_LENGTH && m.content_length != h.content_length) {
        od_report(v, "content length: ours %" PRIu64 ", %s %" PRIu64, h.content_length, name,
                  m.content_length);
    }
    struct od_buf body = {NULL, 0};
    size_t used = 0;
    if (od_our_body(&h, data + rc, len - (size_t)rc, &body, &used)) {
        if (!m.complete) {
            od_report(v, "%s did not complete the message", name);
        } else {
            od_cmp_span(v, "body", body.p ? body.p : "", body.len, m.body.p, m.body.len);
            if (h.body != TT__H1_BODY_UNTIL_CLOSE && m.nparsed != (size_t)rc + used) {
                od_report(v, "message end: ours %zu, %s %zu", (size_t)rc + used, name, m.nparsed);
            }
        }
    }
    free(body.p);
    /* After an upgrade (101, CONNECT, Upgrade:) the connection is no longer HTTP/1.1. */
    if (!m.upgrade && (m.keep_alive != 0) != h.keep_alive) {
        od_report(v, "keep-alive: ours %d, %s %d", h.keep_alive, name, m.keep_alive);
    }
out:
    od_msg_free(&m);
    return ok;
}

static const char *od_skip_reason(const char *name)
{
    for (size_t i = 0; i < od_oracle->nskips; i++) {
        if (strcmp(od_oracle->skips[i].name, name) == 0) {
            return od_oracle->skips[i].why;
        }
    }
    return NULL;
}

static void test_valid_vectors_agree(void **state)
{
    (void)state;
    size_t compared = 0, skipped = 0;
    for (size_t i = 0; i < od_set.n; i++) {
        const struct tt_vector *v = &od_set.v[i];
        if (!v->ok) {
            continue;
        }
        if (od_skip_reason(v->name)) {
            skipped++;
            continue;
        }
        if (v->type == TT_VEC_CHUNKED) {
            size_t hl = sizeof(od_chunked_head) - 1;
            char *buf = malloc(hl + v->data.len);
            assert_non_null(buf);
            memcpy(buf, od_chunked_head, hl);
            memcpy(buf + hl, v->data.ptr, v->data.len);
            compared += od_compare(v, buf, hl + v->data.len, false);
            free(buf);
        } else {
            compared += od_compare(v, v->data.ptr, v->data.len, v->type == TT_VEC_RESPONSE);
        }
    }
    for (size_t i = 0; i < od_oracle->nskips; i++) {
        if (!tt_vec_find(&od_set, od_oracle->skips[i].name)) {
            print_error("skip list names a missing vector: %s\n", od_oracle->skips[i].name);
            od_failures++;
        }
    }
    print_message("%zu valid vectors compared with %s %s, %zu skipped\n", compared, od_oracle->name,
                  od_oracle->version, skipped);
    if (od_failures > 0) {
        fail_msg("%d disagreement(s) with %s (listed above)", od_failures, od_oracle->name);
    }
    if (compared < OD_MIN_COMPARISONS) {
        fail_msg("only %zu comparisons (want >= %d)", compared, OD_MIN_COMPARISONS);
    }
}

static int od_setup(void **state)
{
    (void)state;
    char err[512];
    if (tt_vec_load_env(&od_set, err, sizeof(err)) != 0) {
        print_error("loading vectors: %s\n", err);
        return -1;
    }
    return 0;
}

static int od_teardown(void **state)
{
    (void)state;
    tt_vec_free(&od_set);
    return 0;
}

int od_main(const struct od_oracle *o)
{
    od_oracle = o;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors_agree),
    };
    return cmocka_run_group_tests(tests, od_setup, od_teardown);
}
