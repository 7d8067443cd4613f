/* SPDX-License-Identifier: MIT */
/* Policies from JSON text and files: one table of fields, strict types and ranges, and error
 * messages that name the key and the value so a user can fix the file without reading code. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy.h"

/* No real policy waits longer than a year, and the bound keeps `now + duration` far from
 * overflowing anywhere the client adds them. */
#define POLICY_MAX_DURATION_MS (365.0 * 24 * 3600 * 1000)
/* Policy files are a few hundred bytes; the cap keeps a wrong path (a log, a device) cheap. */
#define POLICY_MAX_FILE_BYTES ((size_t)1024 * 1024)

enum policy_kind {
    KIND_BOOL,     /* bool */
    KIND_MS,       /* uint64_t milliseconds: a number of ms or "250ms" "5s" "2m" "1h" */
    KIND_UINT,     /* unsigned, integer in [min, max] */
    KIND_SIZE,     /* size_t, integer in [min, max] */
    KIND_NUMBER,   /* double in [min, max] */
    KIND_JITTER,   /* "full" | "equal" | "none" */
    KIND_STATUSES, /* retry_statuses: array of 100..599 */
    KIND_BREAKER   /* "off" | "on" | "metrics-only" | "forced-open", or true/false */
};

struct policy_field {
    const char *name;
    size_t offset;
    enum policy_kind kind;
    double min, max; /* for KIND_UINT, KIND_SIZE and KIND_NUMBER */
};

#define FIELD(name) #name, offsetof(struct tether_policy, name)
static const struct policy_field policy_fields[] = {
    {FIELD(keep_alive), KIND_BOOL, 0, 0},
    {FIELD(watch_idle), KIND_BOOL, 0, 0},
    {FIELD(probe_on_checkout), KIND_BOOL, 0, 0},
    {FIELD(honour_keep_alive_hint), KIND_BOOL, 0, 0},
    {FIELD(learn_idle_close), KIND_BOOL, 0, 0},
    {FIELD(idle_timeout_ms), KIND_MS, 0, 0},
    {FIELD(hint_margin_ms), KIND_MS, 0, 0},
    {FIELD(max_idle_timeout_ms), KIND_MS, 0, 0},
    {FIELD(learn_margin_ms), KIND_MS, 0, 0},
    {FIELD(max_conn_lifetime_ms), KIND_MS, 0, 0},
    {FIELD(max_requests_per_conn), KIND_UINT, 0, 1000000000},
    {FIELD(max_conns_per_origin), KIND_UINT, 1, 65536},
    {FIELD(tcp_keepalive), KIND_BOOL, 0, 0},
    /* Linux's own limits for TCP_KEEPIDLE/TCP_KEEPINTVL (32767 s) and TCP_KEEPCNT (127). */
    {FIELD(tcp_keepalive_idle_s), KIND_UINT, 1, 32767},
    {FIELD(tcp_keepalive_interval_s), KIND_UINT, 1, 32767},
    {FIELD(tcp_keepalive_count), KIND_UINT, 1, 127},
    {FIELD(max_replays), KIND_UINT, 0, 10},
    {FIELD(replay_buffer_bytes), KIND_SIZE, 0, 1024.0 * 1024 * 1024},
    /* gRPC clamps attempts to 5 to bound amplification (policy.md §9.2 item 6); 10 leaves room
     * for tests and patient batch jobs without allowing a typo like 100. */
    {FIELD(max_attempts), KIND_UINT, 1, 10},
    {FIELD(backoff_base_ms), KIND_MS, 0, 0},
    {FIELD(backoff_cap_ms), KIND_MS, 0, 0},
    {FIELD(jitter), KIND_JITTER, 0, 0},
    {FIELD(retry_statuses), KIND_STATUSES, 0, 0},
    {FIELD(retry_non_idempotent), KIND_BOOL, 0, 0},
    {FIELD(honour_retry_after), KIND_BOOL, 0, 0},
    {FIELD(max_pushback_ms), KIND_MS, 0, 0},
    {FIELD(budget_ratio), KIND_NUMBER, 0, 1},
    {FIELD(budget_window_ms), KIND_MS, 0, 0},
    {FIELD(budget_min_retries_per_s), KIND_NUMBER, 0, 1000000},
    {FIELD(deadline_ms), KIND_MS, 0, 0},
    {FIELD(connect_timeout_ms), KIND_MS, 0, 0},
    {FIELD(tls_timeout_ms), KIND_MS, 0, 0},
    {FIELD(headers_timeout_ms), KIND_MS, 0, 0},
    {FIELD(body_timeout_ms), KIND_MS, 0, 0},
    {FIELD(breaker), KIND_BREAKER, 0, 0},
    /* 0 would trip on every full window of successes. */
    {FIELD(breaker_failure_ratio), KIND_NUMBER, 0.01, 1},
    {FIELD(breaker_min_calls), KIND_UINT, 1, 1000000},
    {FIELD(breaker_window_ms), KIND_MS, 0, 0},
    {FIELD(breaker_consecutive_failures), KIND_UINT, 0, 1000000},
    {FIELD(breaker_open_ms), KIND_MS, 0, 0},
    {FIELD(breaker_open_max_ms), KIND_MS, 0, 0},
    {FIELD(breaker_probe_timeout_ms), KIND_MS, 0, 0},
    {FIELD(connrefused_wait_ms), KIND_MS, 0, 0},
    {FIELD(resume), KIND_BOOL, 0, 0},
};
#undef FIELD

/* A duration field may also be spelled without "_ms" ("deadline": "30s" reads better than
 * "deadline_ms": "30s", and the public header's example uses it). */
static const struct policy_field *policy_find_field(const char *key, size_t *index)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < tt__countof(policy_fields); i++) {
        const struct policy_field *f = &policy_fields[i];
        size_t flen = strlen(f->name);
        bool exact = strcmp(key, f->name) == 0;
        bool alias = f->kind == KIND_MS && flen == klen + 3 && strncmp(key, f->name, klen) == 0;
        if (exact || alias) {
            *index = i;
            return f;
        }
    }
    return NULL;
}

/* The value as JSON text, escaped and shortened, for "got ..." in messages. json_dumpb leaves
 * the buffer undefined when the text does not fit, so long values go through json_dumps and
 * are cut here; jansson's own free function releases its allocation. */
static void policy_render(const json_t *v, char *out, size_t out_len)
{
    const size_t flags = JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII;
    size_t n = json_dumpb(v, out, out_len - 1, flags);
    if (n > 0 && n < out_len) {
        out[n] = '\0';
        return;
    }
    char *all = n > 0 ? json_dumps(v, flags) : NULL;
    if (!all) {
        (void)snprintf(out, out_len, "?");
        return;
    }
    /* Marked, so a long value is not mistaken for the whole. */
    (void)snprintf(out, out_len, "%.*s...", (int)(out_len - 4), all);
    json_malloc_t jmalloc;
    json_free_t jfree;
    json_get_alloc_funcs(&jmalloc, &jfree);
    jfree(all);
}

/* Renders a key the same way, so control characters or quotes in it cannot garble the text. */
static void policy_render_key(const char *key, char *out, size_t out_len)
{
    json_t *s = json_string(key);
    if (s) {
        policy_render(s, out, out_len);
        json_decref(s);
    } else {
        (void)snprintf(out, out_len, "(a key that is not valid UTF-8)");
    }
}

static void policy_errf(char *err, size_t err_len, const char *key, const char *expected,
                        const json_t *got)
{
    char val[64];
    policy_render(got, val, sizeof(val));
    if (err && err_len > 0) {
        (void)snprintf(err, err_len, "%s: expected %s, got %s", key, expected, val);
    }
}

/* "250ms", "5s", "2m", "1h": digits then a unit, nothing else (DESIGN.md §5's forms). */
static int policy_parse_duration(const char *s, uint64_t *ms)
{
    uint64_t n = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (n > (UINT64_MAX - 9) / 10) {
            return TETHER_ERANGE;
        }
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0) {
        return TETHER_EINVAL;
    }
    uint64_t mult;
    const char *unit = s + i;
    if (strcmp(unit, "ms") == 0) {
        mult = 1;
    } else if (strcmp(unit, "s") == 0) {
        mult = 1000;
    } else if (strcmp(unit, "m") == 0) {
        mult = 60000;
    } else if (strcmp(unit, "h") == 0) {
        mult = 3600000;
    } else {
        return TETHER_EINVAL;
    }
    if (n > UINT64_MAX / mult) {
        return TETHER_ERANGE;
    }
    *ms = n * mult;
    return 0;
}

static int policy_set_ms(const char *key, const json_t *v, uint64_t *out, char *err, size_t err_len)
{
    static const char form[] = "a duration (ms as a number, or \"250ms\" \"5s\" \"2m\" \"1h\")";
    uint64_t ms;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0) {
            policy_errf(err, err_len, key, "a duration of 0 or more", v);
            return TETHER_EINVAL;
        }
        ms = (uint64_t)n;
    } else if (json_is_string(v)) {
        int rv = policy_parse_duration(json_string_value(v), &ms);
        if (rv == TETHER_EINVAL) {
            policy_errf(err, err_len, key, form, v);
            return TETHER_EINVAL;
        }
        if (rv != 0) {
            ms = UINT64_MAX;
        }
    } else {
        policy_errf(err, err_len, key, form, v);
        return TETHER_EINVAL;
    }
    if ((double)ms > POLICY_MAX_DURATION_MS) {
        policy_errf(err, err_len, key, "a duration up to 365 days", v);
        return TETHER_EINVAL;
    }
    *out = ms;
    return 0;
}

static int policy_set_integer(const struct policy_field *f, const char *key, const json_t *v,
                              char *base, char *err, size_t err_len)
{
    char expected[64];
    (void)snprintf(expected, sizeof(expected), "an integer %.0f..%.0f", f->min, f->max);
    if (!json_is_integer(v)) {
        policy_errf(err, err_len, key, expected, v);
        return TETHER_EINVAL;
    }
    json_int_t n = json_integer_value(v);
    if ((double)n < f->min || (double)n > f->max) {
        policy_errf(err, err_len, key, expected, v);
        return TETHER_EINVAL;
    }
    if (f->kind == KIND_UINT) {
        unsigned u = (unsigned)n;
        memcpy(base + f->offset, &u, sizeof(u));
    } else {
        size_t z = (size_t)n;
        memcpy(base + f->offset, &z, sizeof(z));
    }
    return 0;
}

static int policy_set_statuses(const char *key, const json_t *v, struct tether_policy *p, char *err,
                               size_t err_len)
{
    char expected[64];
    (void)snprintf(expected, sizeof(expected), "an array of at most %d status codes",
                   TETHER_POLICY_MAX_STATUSES);
    if (!json_is_array(v) || json_array_size(v) > TETHER_POLICY_MAX_STATUSES) {
        policy_errf(err, err_len, key, expected, v);
        return TETHER_EINVAL;
    }
    size_t i;
    const json_t *item;
    /* The unused tail is zeroed, so policies compare equal when their lists do. */
    memset(p->retry_statuses, 0, sizeof(p->retry_statuses));
    json_array_foreach(v, i, item)
    {
        json_int_t n = json_is_integer(item) ? json_integer_value(item) : 0;
        if (n < 100 || n > 599) {
            char at[64];
            (void)snprintf(at, sizeof(at), "%s[%zu]", key, i);
            policy_errf(err, err_len, at, "an integer 100..599", item);
            return TETHER_EINVAL;
        }
        p->retry_statuses[i] = (int)n;
    }
    p->nretry_statuses = json_array_size(v);
    return 0;
}

static int policy_set_breaker(const char *key, const json_t *v, struct tether_policy *p, char *err,
                              size_t err_len)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    if (json_is_boolean(v)) {
        p->breaker = json_is_true(v) ? TETHER_BREAKER_ON : TETHER_BREAKER_OFF;
    } else if (tether_breaker_mode_parse(s, &p->breaker) != 0) {
        policy_errf(err, err_len, key,
                    "true, false, \"off\", \"on\", \"metrics-only\" or \"forced-open\"", v);
        return TETHER_EINVAL;
    }
    return 0;
}

static int policy_set(const struct policy_field *f, const char *key, const json_t *v,
                      struct tether_policy *p, char *err, size_t err_len)
{
    char *base = (char *)p;
    switch (f->kind) {
    case KIND_BOOL: {
        if (!json_is_boolean(v)) {
            policy_errf(err, err_len, key, "true or false", v);
            return TETHER_EINVAL;
        }
        bool b = json_is_true(v);
        memcpy(base + f->offset, &b, sizeof(b));
        return 0;
    }
    case KIND_MS: {
        uint64_t ms;
        int rv = policy_set_ms(key, v, &ms, err, err_len);
        if (rv == 0) {
            memcpy(base + f->offset, &ms, sizeof(ms));
        }
        return rv;
    }
    case KIND_UINT:
    case KIND_SIZE:
        return policy_set_integer(f, key, v, base, err, err_len);
    case KIND_NUMBER: {
        char expected[64];
        (void)snprintf(expected, sizeof(expected), "a number %.15g..%.15g", f->min, f->max);
        double d = json_is_number(v) ? json_number_value(v) : -1.0;
        if (!json_is_number(v) || !(d >= f->min && d <= f->max)) {
            policy_errf(err, err_len, key, expected, v);
            return TETHER_EINVAL;
        }
        memcpy(base + f->offset, &d, sizeof(d));
        return 0;
    }
    case KIND_JITTER: {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "full") == 0) {
            p->jitter = TETHER_JITTER_FULL;
        } else if (strcmp(s, "equal") == 0) {
            p->jitter = TETHER_JITTER_EQUAL;
        } else if (strcmp(s, "none") == 0) {
            p->jitter = TETHER_JITTER_NONE;
        } else {
            policy_errf(err, err_len, key, "\"full\", \"equal\" or \"none\"", v);
            return TETHER_EINVAL;
        }
        return 0;
    }
    case KIND_STATUSES:
        return policy_set_statuses(key, v, p, err, err_len);
    case KIND_BREAKER:
        return policy_set_breaker(key, v, p, err, err_len);
    }
    return TETHER_EINVAL;
}

static int policy_apply(json_t *root, struct tether_policy *p, char *err, size_t err_len)
{
    if (!json_is_object(root)) {
        char val[64];
        policy_render(root, val, sizeof(val));
        (void)snprintf(err, err_len, "expected a JSON object of policy fields, got %s", val);
        return TETHER_EINVAL;
    }
    /* "base" first, whatever its position, so the other keys always override it. */
    const json_t *bv = json_object_get(root, "base");
    const char *bs = json_is_string(bv) ? json_string_value(bv) : "";
    if (!bv || strcmp(bs, "default") == 0) {
        tether_policy_defaults(p);
    } else if (strcmp(bs, "naive") == 0) {
        tether_policy_naive(p);
    } else {
        policy_errf(err, err_len, "base", "\"default\" or \"naive\"", bv);
        return TETHER_EINVAL;
    }

    const char *seen_as[tt__countof(policy_fields)] = {0};
    const char *key;
    const json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "base") == 0) {
            continue;
        }
        size_t index;
        const struct policy_field *f = policy_find_field(key, &index);
        if (!f) {
            char shown[64];
            policy_render_key(key, shown, sizeof(shown));
            (void)snprintf(err, err_len, "unknown key %s", shown);
            return TETHER_EINVAL;
        }
        if (seen_as[index]) {
            (void)snprintf(err, err_len, "%s: given twice (also as \"%s\")", key, seen_as[index]);
            return TETHER_EINVAL;
        }
        seen_as[index] = key;
        int rv = policy_set(f, key, v, p, err, err_len);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

int tether_policy_from_json(const char *json, size_t len, struct tether_policy *p, char *err,
                            size_t err_len)
{
    /* Messages are built into a local buffer so `err` may be NULL or tiny. */
    char msg[512] = "";
    int rv = TETHER_EINVAL;
    if (!p || (!json && len > 0)) {
        (void)snprintf(msg, sizeof(msg), "no policy to fill or no JSON text");
        goto out;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        (void)snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", jerr.line,
                       jerr.column, jerr.text);
        goto out;
    }
    /* Built aside and copied at the end: `p` is written only on success. */
    struct tether_policy tmp;
    rv = policy_apply(root, &tmp, msg, sizeof(msg));
    json_decref(root);
    if (rv == 0) {
        *p = tmp;
    }
out:
    if (err && err_len > 0) {
        (void)snprintf(err, err_len, "%s", msg);
    }
    return rv;
}

/* Reads a whole file into `b`, or explains in `msg` why it could not. */
static int policy_read_file(const char *path, struct tt__buf *b, char *msg, size_t msg_len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        char why[128] = "";
        if (strerror_r(e, why, sizeof(why)) != 0) {
            (void)snprintf(why, sizeof(why), "error %d", e);
        }
        (void)snprintf(msg, msg_len, "cannot read policy file \"%s\": %s", path, why);
        return TETHER_EINVAL;
    }
    char chunk[4096];
    int rv = 0;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), fp);
        rv = n > 0 ? tt__buf_append(b, chunk, n) : 0;
        if (rv == TETHER_ETOOBIG) {
            (void)snprintf(msg, msg_len, "policy file \"%s\" is larger than %zu bytes", path,
                           POLICY_MAX_FILE_BYTES);
            rv = TETHER_EINVAL;
            break;
        }
        if (rv != 0) {
            (void)snprintf(msg, msg_len, "out of memory reading policy file \"%s\"", path);
            break;
        }
        if (n < sizeof(chunk)) {
            if (ferror(fp)) {
                int e = errno;
                char why[128] = "";
                if (strerror_r(e, why, sizeof(why)) != 0) {
                    (void)snprintf(why, sizeof(why), "error %d", e);
                }
                (void)snprintf(msg, msg_len, "cannot read policy file \"%s\": %s", path, why);
                rv = TETHER_EINVAL;
            }
            break;
        }
    }
    (void)fclose(fp);
    return rv;
}

int tether_policy_load(const char *path, struct tether_policy *p, char *err, size_t err_len)
{
    char msg[768] = "";
    int rv = TETHER_EINVAL;
    if (!path || !p) {
        (void)snprintf(msg, sizeof(msg), "no policy file or no policy to fill");
        goto out;
    }
    struct tt__buf b;
    tt__buf_init(&b, POLICY_MAX_FILE_BYTES);
    rv = policy_read_file(path, &b, msg, sizeof(msg));
    if (rv == 0) {
        char inner[512];
        rv = tether_policy_from_json(b.data, b.len, p, inner, sizeof(inner));
        if (rv != 0) {
            /* The path first, as compilers do, so a CLI user knows which file to open. */
            (void)snprintf(msg, sizeof(msg), "%s: %s", path, inner);
        }
    }
    tt__buf_cleanup(&b);
out:
    if (err && err_len > 0) {
        (void)snprintf(err, err_len, "%s", msg);
    }
    return rv;
}
