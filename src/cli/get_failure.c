/* SPDX-License-Identifier: MIT */
/* The one failure line of `tether get`: what happened, why (the detail the library kept), the
 * fix when one is known, and why the request was not tried again when it was not. */
#include <stdio.h>
#include <string.h>

#include "tether/tether.h"
#include "tether/client.h"
#include "tether/policy.h"

#include "util/str.h"

#include "get.h"

/* The fix for a failure whose cause is known: a certificate, or the wrong scheme. */
static const char *get_fix(const struct tether_failure *fl)
{
    if (fl->code == TETHER_ETLSCERT) {
        if (strstr(fl->detail, "does not match")) {
            return "use a host name the certificate names, or -k";
        }
        return "use --cacert FILE or -k";
    }
    if (fl->code == TETHER_ETLS &&
        (strstr(fl->detail, "wrong version number") ||
         strstr(fl->detail, "packet length too long") || strstr(fl->detail, "http request"))) {
        return "the server speaks plain HTTP on this port; use http://";
    }
    return NULL;
}

/* A method that is not idempotent, sent without an Idempotency-Key: never repeated. */
static bool get_unkeyed_write(const struct get_ctx *g)
{
    bool keyed = g->ff.idem_key != NULL;
    for (size_t i = 0; i < g->ff.nheaders && !keyed; i++) {
        keyed = ttx_str_eq_nocase(g->ff.headers[i].name, "idempotency-key");
    }
    return !keyed && !tether_method_is_idempotent(fetch_flags_method(&g->ff)) &&
           !g->policy.retry_non_idempotent;
}

static const char *get_unkeyed_why(const struct get_ctx *g, char *why, size_t why_len)
{
    (void)snprintf(why, why_len,
                   "%.16s without Idempotency-Key may have run on the server; add "
                   "--idempotency-key auto or -H 'Idempotency-Key: …'",
                   fetch_flags_method(&g->ff));
    return why;
}

/* Why a failed request was not tried again, or NULL when it was tried as often as allowed (or
 * the reason is already in the message, as for a deadline). */
static const char *get_not_retried(const struct get_ctx *g, const struct tether_failure *fl,
                                   char *why, size_t why_len)
{
    enum tether_failure_class cls = tether_failure_classify(fl);
    if (cls == TETHER_CLASS_SENT_NO_RESPONSE && fl->retry_safe == TETHER_RETRY_SAFE_NO &&
        get_unkeyed_write(g)) {
        return get_unkeyed_why(g, why, why_len);
    }
    if (cls == TETHER_CLASS_RESPONDED && fl->phase == TETHER_PHASE_READ_BODY) {
        return "part of the body was already written out";
    }
    if (fl->code == TETHER_ETLSCERT || fl->code == TETHER_ETLS) {
        return NULL; /* the fix says it all: trying again would meet the same certificate */
    }
    if (fl->code == TETHER_EHTTP) {
        return "the server's answer is not HTTP/1.1 (it would be the same again)";
    }
    return NULL;
}

void get_failure_text(const struct get_ctx *g, const tether_fetch *f, char *buf, size_t len)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    char msg[512];
    fetch_failure_text(fl, msg, sizeof(msg));
    size_t used = (size_t)snprintf(buf, len, "%s", msg);
    /* Node's message leaves out what OpenSSL's verification said; append it when missing. */
    if (fl->detail[0] && !strstr(msg, fl->detail) && used < len) {
        used += (size_t)snprintf(buf + used, len - used, ": %s", fl->detail);
    }
    const char *fix = get_fix(fl);
    if (fix && used < len) {
        used += (size_t)snprintf(buf + used, len - used, " (%s)", fix);
    }
    unsigned attempts = tether_fetch_attempts(f);
    if (attempts > 1 && used < len) {
        used += (size_t)snprintf(buf + used, len - used, " after %u attempts", attempts);
    }
    char whybuf[192];
    const char *why = get_not_retried(g, fl, whybuf, sizeof(whybuf));
    if (why && used < len) {
        (void)snprintf(buf + used, len - used, " (not retried: %s)", why);
    }
}

void get_status_text(const struct get_ctx *g, const tether_fetch *f, char *buf, size_t len)
{
    int status = tether_fetch_status(f);
    const char *phrase = tether_http_reason(status);
    size_t used = (size_t)snprintf(buf, len, "HTTP %d%s%s", status, phrase[0] ? " " : "", phrase);
    unsigned attempts = tether_fetch_attempts(f);
    if (attempts > 1 && used < len) {
        used += (size_t)snprintf(buf + used, len - used, " after %u attempts", attempts);
    }
    bool listed = false;
    for (size_t i = 0; i < g->policy.nretry_statuses && i < TETHER_POLICY_MAX_STATUSES; i++) {
        listed |= g->policy.retry_statuses[i] == status;
    }
    char why[192];
    if (listed && attempts == 1 && g->policy.max_attempts > 1 && get_unkeyed_write(g) &&
        used < len) {
        (void)snprintf(buf + used, len - used, " (not retried: %s)",
                       get_unkeyed_why(g, why, sizeof(why)));
    }
}
