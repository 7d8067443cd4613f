/* SPDX-License-Identifier: MIT */
/* Request flags shared by `tether get` and `tether load`, the policy they build, the URL check,
 * status texts and the JSON form of a failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "tether/tether.h"
#include "tether/client.h"
#include "tether/policy.h"

#include "util/str.h"

#include "args.h"
#include "cli.h"
#include "cli_json.h"
#include "fetch_flags.h"

void fetch_flags_init(struct fetch_flags *f, const char *cmd)
{
    memset(f, 0, sizeof(*f));
    f->cmd = cmd;
    f->policy_name = "default";
}

void fetch_flags_cleanup(struct fetch_flags *f)
{
    for (size_t i = 0; i < f->nheaders; i++) {
        free(f->header_store[i]);
        f->header_store[i] = NULL;
    }
    f->nheaders = 0;
    free(f->data);
    f->data = NULL;
    free(f->url_owned);
    f->url_owned = NULL;
    free(f->auth_value);
    f->auth_value = NULL;
}

/* "Name: value" -> an owned "Name\0value". Returns 0 or 2 (printed). */
static int fetch_take_header(struct args_cursor *c, struct fetch_flags *f)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (f->nheaders >= FETCH_MAX_HEADERS) {
        return args_bad_value(c, "header", " (at most 100 -H flags)");
    }
    /* The client checks the name and value and names what is wrong when it refuses them;
     * here the flag only needs its shape. */
    const char *colon = strchr(v, ':');
    if (!colon || colon == v) {
        return args_bad_value(c, "header", " (expected 'Name: value')");
    }
    struct ttx_slice value = ttx_trim_ows(colon + 1, strlen(colon + 1));
    const char *val = value.ptr;
    size_t vlen = value.len;
    size_t nlen = (size_t)(colon - v);
    char *store = malloc(nlen + 1 + vlen + 1);
    if (!store) {
        return args_error(f->cmd, "out of memory");
    }
    memcpy(store, v, nlen);
    store[nlen] = '\0';
    memcpy(store + nlen + 1, val, vlen);
    store[nlen + 1 + vlen] = '\0';
    f->header_store[f->nheaders] = store;
    f->headers[f->nheaders].name = store;
    f->headers[f->nheaders].value = store + nlen + 1;
    f->nheaders++;
    if (ttx_str_eq_nocase(store, "content-type")) {
        f->has_content_type = true;
    }
    f->has_accept |= ttx_str_eq_nocase(store, "accept");
    f->has_authorization |= ttx_str_eq_nocase(store, "authorization");
    return 0;
}

/* -d DATA, or -d @FILE (CR and LF dropped, curl's rule; "@-" is stdin); several are joined with
 * '&' like curl. */
static int fetch_take_data(struct args_cursor *c, struct fetch_flags *f)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    return rc != 0 ? rc : fetch_add_data(c, f, v, true, true, "&");
}

int fetch_flags_take(struct args_cursor *c, struct fetch_flags *f, bool *taken)
{
    int rc = fetch_request_take(c, f, taken);
    if (rc != 0 || *taken) {
        return rc;
    }
    *taken = true;
    if (args_is(c, "-X") || args_is(c, "--request")) {
        return args_take_string(c, &f->method); /* the client names a bad method */
    }
    if (args_is(c, "-H") || args_is(c, "--header")) {
        return fetch_take_header(c, f);
    }
    if (args_is(c, "-d") || args_is(c, "--data")) {
        return fetch_take_data(c, f);
    }
    if (args_is(c, "--policy")) {
        static const char *const builtin[] = {"naive", "default", NULL}; /* or a FILE */
        return args_take_named(c, builtin, &f->policy_name);
    }
    if (args_is(c, "--retry")) {
        f->retry_set = true;
        return args_take_uint(c, 0, 1000, &f->retry);
    }
    if (args_is(c, "--max-time")) {
        f->max_time_set = true;
        return args_take_duration(c, &f->max_time_ms);
    }
    if (args_is(c, "--connect-timeout")) {
        f->connect_timeout_set = true;
        return args_take_duration(c, &f->connect_timeout_ms);
    }
    if (args_is(c, "--breaker")) {
        /* A bare --breaker turns it on; --breaker=MODE picks the mode (never the next word,
         * which is usually the URL). */
        static const char *const modes[] = {"off", "on", "metrics-only", "forced-open", NULL};
        f->breaker_set = true;
        f->breaker = TETHER_BREAKER_ON;
        if (!c->inline_val) {
            return args_take_none(c);
        }
        int m = 0;
        int mrc = args_take_choice(c, modes, &m);
        f->breaker = (enum tether_breaker_mode)m;
        return mrc;
    }
    if (args_is(c, "--no-keepalive")) {
        f->no_keepalive = true;
        return args_take_none(c);
    }
    if (args_is(c, "-k") || args_is(c, "--insecure")) {
        f->insecure = true;
        return args_take_none(c);
    }
    if (args_is(c, "--cacert")) {
        return args_take_string(c, &f->ca_file);
    }
    if (args_is(c, "--json")) {
        f->json = true;
        return args_take_none(c);
    }
    return fetch_transport_take(c, f, taken);
}

int fetch_flags_url(struct args_cursor *c, struct fetch_flags *f)
{
    if (c->arg[0] == '{' || c->arg[0] == '[') {
        /* `--json '{"a":1}'`: curl's --json sends a body; tether's reports the outcome. */
        return args_error(f->cmd,
                          "'%.40s' looks like a JSON body, not a URL: send JSON with "
                          "--data-json BODY (--json prints tether's report instead)",
                          c->arg);
    }
    if (f->url) {
        return args_unknown(c);
    }
    f->url = c->arg;
    return 0;
}

/* "--policy defualt" is a typo for a built-in name, not a missing file: when the value looks
 * like neither a path nor a JSON file and no such file exists, say so and suggest the name. */
static int fetch_policy_error(const struct fetch_flags *f, const char *err)
{
    static const char *const builtin[] = {"naive", "default"};
    const char *name = f->policy_name;
    size_t len = strlen(name);
    bool pathlike = strchr(name, '/') || (len >= 5 && strcmp(name + len - 5, ".json") == 0);
    FILE *fp = pathlike ? NULL : fopen(name, "rb");
    if (fp) {
        (void)fclose(fp);
    } else if (!pathlike) {
        const char *best = ttx_closest(name, builtin, 2);
        if (best) {
            return args_error(f->cmd,
                              "invalid --policy '%s': neither naive, default nor a readable "
                              "file; did you mean '%s'?",
                              name, best);
        }
        return args_error(
            f->cmd, "invalid --policy '%s': neither naive, default nor a readable file", name);
    }
    return args_error(f->cmd, "invalid --policy '%s': %s", name,
                      err[0] ? err : "not naive, default or a readable JSON file");
}

int fetch_flags_finish(struct fetch_flags *f, struct tether_client_options *o)
{
    if (!f->url) {
        return args_error(f->cmd, "missing URL (see 'tether help %s')", f->cmd);
    }
    struct tether_policy p;
    char err[512];
    err[0] = '\0';
    if (tether_policy_named(f->policy_name, &p, err, sizeof(err)) != 0) {
        return fetch_policy_error(f, err);
    }
    if (f->retry_set) {
        p.max_attempts = (unsigned)f->retry + 1;
    }
    if (f->max_time_set) {
        p.deadline_ms = f->max_time_ms;
    } else if (p.deadline_ms == 0 && !f->download) {
        p.deadline_ms = FETCH_DEFAULT_DEADLINE_MS;
    }
    if (f->connect_timeout_set) {
        p.connect_timeout_ms = f->connect_timeout_ms;
    }
    if (f->no_keepalive) {
        p.tcp_keepalive = false;
    }
    if (f->breaker_set) {
        p.breaker = f->breaker;
    }
    fetch_request_policy(f, &p);
    int rc = fetch_request_finish(f);
    if (rc != 0) {
        return rc;
    }
    tether_client_options_init(o);
    o->user_agent = f->user_agent;
    o->policy = p;
    o->ca_file = f->ca_file;
    o->insecure = f->insecure;
    fetch_transport_client(f, o);
    return 0;
}

int fetch_client_error(const struct fetch_flags *f, int rv, const char *why)
{
    if (rv == TETHER_EINVAL) {
        return args_error(f->cmd, "%s", why[0] ? why : tether_strerror(rv));
    }
    fprintf(stderr, "tether %s: cannot create the client: %s\n", f->cmd, tether_strerror(rv));
    return CLI_EXIT_FAILED;
}

const char *fetch_flags_method(const struct fetch_flags *f)
{
    return f->method ? f->method : (f->has_data ? "POST" : "GET");
}

void fetch_flags_request(const struct fetch_flags *f, struct tether_fetch_options *fo)
{
    fo->method = fetch_flags_method(f);
    fo->url = f->url_owned ? f->url_owned : f->url;
    fo->idempotency_key = f->idem_key;
    fo->headers = f->nsend ? f->headers : NULL;
    fo->nheaders = f->nsend;
    fo->body = f->has_data ? f->data : NULL;
    fo->body_len = f->has_data ? f->data_len : 0;
    fetch_transport_request(f, fo);
}

bool fetch_status_ok(int status)
{
    return status >= 200 && status < 400;
}

void fetch_failure_text(const struct tether_failure *fl, char *buf, size_t len)
{
    if (len == 0) {
        return;
    }
    buf[0] = '\0';
    if (tether_failure_message(fl, buf, len) < 0 || buf[0] == '\0') {
        (void)snprintf(buf, len, "%s", tether_strerror(fl->code));
    }
}

const char *fetch_class_name(enum tether_failure_class k)
{
    switch (k) {
    case TETHER_CLASS_NEVER_SENT:
        return "never_sent";
    case TETHER_CLASS_SENT_NO_RESPONSE:
        return "sent_no_response";
    case TETHER_CLASS_RESPONDED:
        return "responded";
    case TETHER_CLASS_NONE:
    default:
        return "none";
    }
}

static json_t *fetch_json_ascii(const char *s)
{
    char buf[512];
    cli_json_ascii(s, buf, sizeof(buf));
    return json_string(buf);
}

json_t *fetch_failure_json(const struct tether_failure *fl)
{
    char msg[512];
    fetch_failure_text(fl, msg, sizeof(msg));
    json_t *e = json_object();
    if (!e) {
        return NULL;
    }
    int bad = 0;
    bad |= json_object_set_new(e, "code", json_string(tether_err_name(fl->code)));
    bad |= json_object_set_new(e, "message", fetch_json_ascii(msg));
    bad |= json_object_set_new(e, "syscall",
                               fl->syscall == TETHER_SYSCALL_NONE
                                   ? json_null()
                                   : json_string(tether_syscall_name(fl->syscall)));
    bad |= json_object_set_new(
        e, "phase",
        fl->phase == TETHER_PHASE_NONE ? json_null() : json_string(tether_phase_name(fl->phase)));
    bad |=
        json_object_set_new(e, "errno", fl->sys_errno ? json_integer(fl->sys_errno) : json_null());
    bad |= json_object_set_new(e, "peer", fl->peer[0] ? fetch_json_ascii(fl->peer) : json_null());
    bad |= json_object_set_new(e, "reused", json_boolean(fl->reused));
    bad |= json_object_set_new(e, "idle_ms", cli_json_uint(fl->idle_ms));
    bad |= json_object_set_new(e, "bytes_sent", cli_json_uint(fl->bytes_sent));
    bad |= json_object_set_new(e, "bytes_received", cli_json_uint(fl->bytes_received));
    bad |= json_object_set_new(e, "attempt", json_integer(fl->attempt));
    bad |= json_object_set_new(e, "replays", json_integer(fl->replays));
    bad |=
        json_object_set_new(e, "retry_safe", json_string(tether_retry_safety_name(fl->retry_safe)));
    bad |=
        json_object_set_new(e, "class", json_string(fetch_class_name(tether_failure_classify(fl))));
    bad |= json_object_set_new(e, "detail",
                               fl->detail[0] ? fetch_json_ascii(fl->detail) : json_null());
    if (bad) {
        json_decref(e);
        return NULL;
    }
    return e;
}
