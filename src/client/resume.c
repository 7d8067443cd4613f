/* SPDX-License-Identifier: MIT */
/* Resumable downloads (client.md §6.5 items 23-25): a GET whose 2xx body is cut mid-way goes on
 * with Range: bytes=N- and If-Range, the 206 is checked before a byte of it reaches the sink,
 * and anything that could splice two representations restarts the body from 0 or ends the
 * fetch with an explicit error. fetch.c calls in at four points: the fetch's creation, the
 * decision to retry a cut body, a response head, and a body that cannot go on. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "util/etag.h"
#include "util/http_date.h"
#include "util/range.h"
#include "util/str.h"

#define RESUME_UNKNOWN UINT64_MAX

static bool resume_status_2xx(int status)
{
    return status >= 200 && status < 300;
}

/* The sink can be told to start again: our own buffer, or a caller who gave on_restart. */
static bool resume_sink_restartable(const struct tether_fetch *f)
{
    return f->on_body == NULL || f->on_restart != NULL;
}

/* The request as built, or with Range: bytes=from- (and If-Range when a validator is known)
 * before its final CRLF. Only bodiless GETs get here, so the request is its head alone. */
static int resume_set_request(struct tether_fetch *f, bool with_range)
{
    struct tt__resume *r = &f->resume;
    /* The added lines overwrite the head's final CRLF: put it back first. */
    f->req.len = r->head_len;
    memcpy(f->req.data + r->head_len - 2, "\r\n", 2);
    r->range_sent = with_range;
    if (!with_range) {
        return 0;
    }
    f->req.len -= 2;
    int rv = tt__buf_appendf(&f->req, "Range: bytes=%" PRIu64 "-\r\n", r->delivered);
    if (rv == 0 && r->validator[0]) {
        rv = tt__buf_appendf(&f->req, "If-Range: %s\r\n", r->validator);
    }
    if (rv == 0) {
        rv = tt__buf_append(&f->req, "\r\n", 2);
    }
    if (rv != 0) {
        f->req.len = r->head_len;
        memcpy(f->req.data + r->head_len - 2, "\r\n", 2);
        r->range_sent = false;
    }
    return rv;
}

/* A validator the caller saved with its bytes: a strong entity-tag or an HTTP-date. */
static int resume_take_if_range(struct tether_fetch *f, const struct tether_fetch_options *o)
{
    const char *v = o->resume_if_range;
    size_t len = strlen(v);
    struct ttx_etag tag;
    int64_t date;
    if (len == 0 || len >= sizeof(f->resume.validator) || !tt__h1_is_field_value(v, len)) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "invalid resume_if_range '%s': expected an entity-tag or an HTTP-date", v);
        return TETHER_EINVAL;
    }
    if (ttx_etag_parse(v, len, &tag) == 0) {
        if (tag.weak) {
            tt__errbuf_set(o->errbuf, o->errbuf_len,
                           "invalid resume_if_range '%s': a weak entity-tag cannot validate a "
                           "range (RFC 9110 §13.1.5)",
                           v);
            return TETHER_EINVAL;
        }
        f->resume.etag_validator = true;
    } else if (ttx_http_date_parse(v, len, &date) != 0) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "invalid resume_if_range '%s': expected an entity-tag or an HTTP-date", v);
        return TETHER_EINVAL;
    }
    memcpy(f->resume.validator, v, len + 1);
    return 0;
}

int tt__resume_init(struct tether_fetch *f, const struct tether_fetch_options *o)
{
    struct tt__resume *r = &f->resume;
    memset(r, 0, sizeof(*r));
    r->total = RESUME_UNKNOWN;
    r->head_len = f->req.len;
    /* A caller who sets Range or If-Range itself manages ranges: we do not add ours. */
    bool own_range = false;
    for (size_t i = 0; i < o->nheaders; i++) {
        own_range |= ttx_str_eq_nocase(o->headers[i].name, "range") ||
                     ttx_str_eq_nocase(o->headers[i].name, "if-range");
    }
    bool plain_get =
        strcmp(f->method, "GET") == 0 && o->body_len == 0 && !o->body_stream && !own_range;
    /* With decompress the sink counts decoded bytes while a Range counts encoded ones, and a
     * decoder cannot start mid-stream: such a body can only start over. */
    r->eligible = plain_get && f->client->policy.resume && !f->decompress;
    if (o->resume_from == 0) {
        if (o->resume_if_range) {
            tt__errbuf_set(o->errbuf, o->errbuf_len, "resume_if_range without resume_from");
            return TETHER_EINVAL;
        }
        return 0;
    }
    if (!plain_get) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "resume_from needs a GET without a body and without its own Range or "
                       "If-Range header");
        return TETHER_EINVAL;
    }
    if (f->decompress) {
        tt__errbuf_set(o->errbuf, o->errbuf_len,
                       "resume_from with decompress: a Range counts encoded bytes, the sink "
                       "holds decoded ones");
        return TETHER_EINVAL;
    }
    if (o->on_body && !o->on_restart) {
        /* A server that ignores the Range sends the whole body: the sink must start over. */
        tt__errbuf_set(o->errbuf, o->errbuf_len, "resume_from with on_body needs on_restart");
        return TETHER_EINVAL;
    }
    if (o->resume_if_range) {
        int rv = resume_take_if_range(f, o);
        if (rv != 0) {
            return rv;
        }
    }
    r->eligible = true;
    r->delivered = o->resume_from;
    r->delivered_at_start = o->resume_from;
    return resume_set_request(f, true);
}

/* What a 2xx head says about continuing its body later: the total, Accept-Ranges, and the
 * validator If-Range may carry (RFC 9110 §13.1.5: a strong ETag; a date only when there is no
 * ETag at all and it is strong, §8.8.2.2: the response's Date at least a second later). */
static void resume_learn(struct tether_fetch *f, const struct tt__h1_head *h, uint64_t total)
{
    struct tt__resume *r = &f->resume;
    r->first_status = h->status;
    r->total = total;
    r->accept_ranges = h->status == 206;
    r->validator[0] = '\0';
    r->etag_validator = false;
    const struct tt__h1_field *ar = tt__h1_head_find(h, "Accept-Ranges");
    if (ar) {
        struct ttx_slice v = ttx_trim_ows(ar->value.ptr, ar->value.len);
        r->accept_ranges |= ttx_mem_eq_nocase(v.ptr, v.len, "bytes");
    }
    const struct tt__h1_field *et = tt__h1_head_find(h, "ETag");
    const struct tt__h1_field *lm = tt__h1_head_find(h, "Last-Modified");
    const struct tt__h1_field *dt = tt__h1_head_find(h, "Date");
    struct ttx_etag tag;
    if (et) {
        struct ttx_slice v = ttx_trim_ows(et->value.ptr, et->value.len);
        if (ttx_etag_parse(v.ptr, v.len, &tag) == 0 && !tag.weak && v.len < sizeof(r->validator)) {
            memcpy(r->validator, v.ptr, v.len);
            r->validator[v.len] = '\0';
            r->etag_validator = true;
        }
        return; /* a weak (or bad) ETag also rules out the date */
    }
    int64_t lm_s;
    int64_t date_s;
    if (lm && dt && ttx_http_date_parse(lm->value.ptr, lm->value.len, &lm_s) == 0 &&
        ttx_http_date_parse(dt->value.ptr, dt->value.len, &date_s) == 0 && date_s - lm_s >= 1) {
        ttx_http_date_format(lm_s, r->validator);
    }
}

bool tt__resume_body_restartable(const struct tether_fetch *f)
{
    const struct tt__resume *r = &f->resume;
    if (r->delivered == 0 || resume_sink_restartable(f)) {
        return true;
    }
    /* A streaming sink without on_restart can only be continued, never rewound. */
    return r->eligible && r->accept_ranges && r->validator[0] && resume_status_2xx(r->first_status);
}

static void resume_emit(struct tether_fetch *f, uint64_t offset, const char *reason)
{
    struct tether_event ev;
    tt__fetch_event_init(&ev, TETHER_EVENT_RESUME, f);
    ev.offset = offset;
    ev.reason = reason;
    tt__client_emit(f->client, &ev);
}

/* Tells the sink where the next bytes go. False when the caller refused (the fetch then ends
 * with TETHER_ECANCELED) or an event hook ended it. */
static bool resume_sink_seek(struct tether_fetch *f, uint64_t offset)
{
    struct tt__resume *r = &f->resume;
    r->delivered = offset;
    if (!f->on_body) {
        f->body.len = offset < f->body.len ? (size_t)offset : f->body.len;
        return true;
    }
    if (f->on_restart && !f->on_restart(f, offset)) {
        tt__fetch_abort(f, TETHER_ECANCELED);
        return false;
    }
    return f->state != TT__FS_DONE;
}

bool tt__resume_prepare(struct tether_fetch *f, struct tt__retry_decision *d)
{
    struct tt__resume *r = &f->resume;
    struct tether_client *c = f->client;
    bool progressed = r->delivered > r->delivered_at_start;
    bool can_continue = r->eligible && r->accept_ranges && r->validator[0] &&
                        resume_status_2xx(r->first_status) &&
                        (r->total == RESUME_UNKNOWN || r->delivered <= r->total);
    char reason[160];
    if (r->range_sent && r->first_status == 0) {
        /* The caller's resume_from was not answered yet: ask for the same range again. */
        return true;
    }
    if (r->delivered > 0 && can_continue) {
        r->count++;
        c->stats.resumes++;
        if (resume_set_request(f, true) != 0) {
            tt__fetch_abort(f, TETHER_ENOMEM);
            return false;
        }
        if (progressed) {
            /* This attempt delivered bytes: the origin answers, a path cut the connection (a
             * proxy or NAT that resets long transfers). Waiting gains nothing there, so the
             * resume goes at once, like curl -C - run again; an attempt without progress
             * keeps the policy's backoff, and max_attempts and the budget bound both. */
            d->delay_ms = 0;
        }
        (void)snprintf(reason, sizeof(reason),
                       "continuing at byte %" PRIu64 " with If-Range %.100s", r->delivered,
                       r->validator);
        resume_emit(f, r->delivered, reason);
    } else {
        bool had = r->delivered > 0;
        (void)resume_set_request(f, false);
        r->first_status = 0;
        if (had) {
            resume_emit(f, 0,
                        !r->eligible        ? "starting the body again: resuming is off"
                        : !r->accept_ranges ? "starting the body again: no Accept-Ranges: bytes"
                                            : "starting the body again: no strong validator");
            if (f->state == TT__FS_DONE || !resume_sink_seek(f, 0)) {
                return false;
            }
        }
    }
    r->delivered_at_start = r->delivered;
    return f->state != TT__FS_DONE;
}

/* The next attempt starts the body from 0 (a 206 that does not continue ours, a 416 that says
 * we hold the wrong bytes), when the sink can and attempts and the deadline allow. */
static enum tt__resume_head resume_restart(struct tether_fetch *f)
{
    struct tt__resume *r = &f->resume;
    const struct tether_policy *p = &f->client->policy;
    uint64_t now = tt__client_now(f->client);
    if (!resume_sink_restartable(f) || f->attempts >= p->max_attempts ||
        (f->deadline_at_ms && now >= f->deadline_at_ms)) {
        return TT__RH_FAIL;
    }
    (void)resume_set_request(f, false);
    r->first_status = 0;
    resume_emit(f, 0, r->why);
    if (f->state == TT__FS_DONE || !resume_sink_seek(f, 0)) {
        return TT__RH_ENDED;
    }
    r->delivered_at_start = 0;
    return TT__RH_RETRY;
}

/* A 206 continues our body only when it starts at the byte we asked for, keeps the total and
 * the validator, and its framing carries exactly the range it announces. */
static bool resume_206_valid(struct tether_fetch *f, const struct tt__h1_head *h,
                             struct ttx_content_range *cr)
{
    struct tt__resume *r = &f->resume;
    const struct tt__h1_field *crf = tt__h1_head_find(h, "Content-Range");
    if (!crf || ttx_content_range_parse(crf->value.ptr, crf->value.len, cr) != 0 ||
        cr->unsatisfied) {
        (void)snprintf(r->why, sizeof(r->why), "206 without a valid Content-Range");
        return false;
    }
    if (cr->first != r->delivered) {
        (void)snprintf(r->why, sizeof(r->why),
                       "206 starts at byte %" PRIu64 ", not at %" PRIu64 " where the body was cut",
                       cr->first, r->delivered);
        return false;
    }
    uint64_t total = cr->has_complete ? cr->complete : RESUME_UNKNOWN;
    if (r->first_status != 0 && r->total != RESUME_UNKNOWN && total != r->total) {
        (void)snprintf(r->why, sizeof(r->why),
                       "206 total length %s%" PRIu64 " differs from %" PRIu64,
                       total == RESUME_UNKNOWN ? "unknown, not " : "",
                       total == RESUME_UNKNOWN ? r->total : total, r->total);
        return false;
    }
    if ((total != RESUME_UNKNOWN && cr->last + 1 != total) ||
        (h->body == TT__H1_BODY_LENGTH && h->content_length != cr->last - cr->first + 1)) {
        (void)snprintf(r->why, sizeof(r->why),
                       "206 for bytes %" PRIu64 "-%" PRIu64 " does not run to the end of the body",
                       cr->first, cr->last);
        return false;
    }
    const struct tt__h1_field *et = tt__h1_head_find(h, "ETag");
    struct ttx_etag ours;
    struct ttx_etag theirs;
    if (et && r->etag_validator && ttx_etag_parse(r->validator, strlen(r->validator), &ours) == 0 &&
        (ttx_etag_parse(et->value.ptr, et->value.len, &theirs) != 0 ||
         !ttx_etag_strong_eq(&ours, &theirs))) {
        (void)snprintf(r->why, sizeof(r->why), "206 carries another ETag than %.100s",
                       r->validator);
        return false;
    }
    return true;
}

enum tt__resume_head tt__resume_on_head(struct tether_fetch *f, const struct tt__h1_head *h)
{
    struct tt__resume *r = &f->resume;
    uint64_t length = h->body == TT__H1_BODY_LENGTH ? h->content_length : RESUME_UNKNOWN;
    if (!r->range_sent) {
        r->delivered = 0; /* a whole response: the sink starts empty (fetch.c resets it) */
        if (resume_status_2xx(h->status)) {
            resume_learn(f, h, length);
        }
        return TT__RH_NORMAL;
    }
    struct ttx_content_range cr;
    if (h->status == 206) {
        if (!resume_206_valid(f, h, &cr)) {
            return resume_restart(f);
        }
        if (f->on_restart && !f->on_restart(f, r->delivered)) {
            tt__fetch_abort(f, TETHER_ECANCELED);
            return TT__RH_ENDED;
        }
        if (f->state == TT__FS_DONE) {
            return TT__RH_ENDED;
        }
        if (r->first_status == 0) {
            /* The caller's resume_from: this 206 is the response it gets. */
            resume_learn(f, h, cr.has_complete ? cr.complete : RESUME_UNKNOWN);
            return TT__RH_NORMAL;
        }
        return TT__RH_CONTINUE;
    }
    if (resume_status_2xx(h->status)) {
        /* The If-Range validator no longer matches (the resource changed) or the server
         * ignores ranges: this is the whole, possibly new, representation. */
        if (!resume_sink_restartable(f)) {
            (void)snprintf(r->why, sizeof(r->why),
                           "the server answered %d, not 206, to the Range at byte %" PRIu64
                           " (the resource changed or ranges are ignored) and the sink has no "
                           "on_restart",
                           h->status, r->delivered);
            return TT__RH_FAIL;
        }
        r->range_sent = false;
        r->first_status = 0;
        if (!resume_sink_seek(f, 0)) {
            return TT__RH_ENDED;
        }
        resume_learn(f, h, length);
        (void)resume_set_request(f, false);
        return TT__RH_NORMAL;
    }
    if (h->status == 416) {
        const struct tt__h1_field *crf = tt__h1_head_find(h, "Content-Range");
        if (crf && ttx_content_range_parse(crf->value.ptr, crf->value.len, &cr) == 0 &&
            cr.unsatisfied && cr.has_complete && cr.complete == r->delivered &&
            (r->first_status == 0 || r->total == RESUME_UNKNOWN || r->total == cr.complete)) {
            return TT__RH_COMPLETE;
        }
        (void)snprintf(r->why, sizeof(r->why),
                       "416 to the Range at byte %" PRIu64 " without a matching total",
                       r->delivered);
        return resume_restart(f);
    }
    /* Any other status is judged as a status; its body is never appended to ours. */
    return r->first_status != 0 ? TT__RH_STATUS : TT__RH_NORMAL;
}

void tt__resume_fail(struct tether_fetch *f)
{
    struct tt__resume *r = &f->resume;
    int code = f->failure.code ? f->failure.code : TETHER_EHTTP;
    enum tether_phase phase = f->failure.phase ? f->failure.phase : TETHER_PHASE_READ_BODY;
    if (f->failure.code == 0) {
        tether_failure_init(&f->failure);
        f->failure.code = code;
        f->failure.phase = phase;
        f->failure.attempt = f->attempts;
    }
    (void)snprintf(f->failure.detail, sizeof(f->failure.detail),
                   "cannot resume the body at byte %" PRIu64 ": %s", r->delivered, r->why);
    tt__fetch_abort(f, code);
}

unsigned tether_fetch_resumes(const tether_fetch *f)
{
    return f ? f->resume.count : 0;
}
