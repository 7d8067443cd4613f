/* SPDX-License-Identifier: MIT */
/* curl's request flags for `tether get` and `tether load`: the data flags, -u and user info in
 * the URL (Basic auth), -A, get's Idempotency-Key ("auto" made here), waiting for a server to come
 * up, bare seconds, a scheme-less URL and the default headers (Accept: *\/ *, and the ones the body
 * asks for). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "util/rand.h"
#include "util/str.h"

#include "args.h"
#include "fetch_flags.h"

/* ---- the body ---- */

int fetch_add_data(struct args_cursor *c, struct fetch_flags *f, const char *v, bool at_file,
                   bool strip_newlines, const char *sep)
{
    char *piece = NULL;
    size_t piece_len = 0;
    bool owned = false;
    if (at_file && v[0] == '@') {
        const char *path = v + 1;
        bool is_stdin = strcmp(path, "-") == 0;
        FILE *fp = is_stdin ? stdin : fopen(path, "rb");
        int r = fp ? args_read_all(fp, FETCH_MAX_DATA, &piece, &piece_len) : -1;
        int e = errno;
        if (fp && !is_stdin) {
            (void)fclose(fp);
        }
        if (r == -2) {
            return args_error(f->cmd, "cannot use %s '%s': larger than 64 MiB", c->flag, v);
        }
        if (r != 0) {
            return args_error(f->cmd, "cannot read %s '%s': %s", c->flag, v,
                              uv_strerror(uv_translate_sys_error(e)));
        }
        owned = true;
        if (strip_newlines) {
            size_t w = 0;
            for (size_t i = 0; i < piece_len; i++) {
                if (piece[i] != '\r' && piece[i] != '\n') {
                    piece[w++] = piece[i];
                }
            }
            piece_len = w;
        }
    } else {
        piece = (char *)(uintptr_t)v;
        piece_len = strlen(v);
    }
    size_t sep_len = f->has_data ? strlen(sep) : 0;
    char *joined = realloc(f->data, f->data_len + sep_len + piece_len + 1);
    if (!joined) {
        if (owned) {
            free(piece);
        }
        return args_error(f->cmd, "out of memory");
    }
    if (sep_len) {
        /* Bytes, not a string: the NUL comes after the piece. */
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
        memcpy(joined + f->data_len, sep, sep_len);
    }
    if (piece_len) {
        memcpy(joined + f->data_len + sep_len, piece, piece_len);
    }
    f->data = joined;
    f->data_len += sep_len + piece_len;
    f->data[f->data_len] = '\0';
    f->has_data = true;
    if (owned) {
        free(piece);
    }
    return 0;
}

/* ---- flags ---- */

/* --max-time 5 and --connect-timeout 2.5 mean seconds, as in curl; "250ms" and "5s" still work. */
int fetch_take_seconds(struct args_cursor *c, uint64_t *out_ms)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    char with_unit[64];
    int prv = args_parse_duration_ms(v, out_ms);
    if (prv == 0) {
        return 0;
    }
    int n = snprintf(with_unit, sizeof(with_unit), "%ss", v);
    if (prv != ARGS_DURATION_TOO_LONG && n > 0 && (size_t)n < sizeof(with_unit) &&
        ttx_is_digit(v[0])) {
        prv = args_parse_duration_ms(with_unit, out_ms);
        if (prv == 0) {
            return 0;
        }
    }
    if (prv == ARGS_DURATION_TOO_LONG) {
        return args_bad_value(c, "duration", ARGS_DURATION_LIMIT_HINT);
    }
    return args_bad_value(c, "duration", " (seconds such as 5 or 2.5, or 250ms, 5s, 2m, 1h, 0)");
}

static int fetch_take_data_flag(struct args_cursor *c, struct fetch_flags *f, bool at_file,
                                const char *sep)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    return rc != 0 ? rc : fetch_add_data(c, f, v, at_file, false, sep);
}

int fetch_request_take(struct args_cursor *c, struct fetch_flags *f, bool *taken)
{
    *taken = true;
    if (args_is(c, "--data-binary")) {
        return fetch_take_data_flag(c, f, true, "&");
    }
    if (args_is(c, "--data-raw")) {
        return fetch_take_data_flag(c, f, false, "&");
    }
    if (args_is(c, "--data-json")) {
        f->data_json = true;
        return fetch_take_data_flag(c, f, true, "");
    }
    if (args_is(c, "-u") || args_is(c, "--user")) {
        int rc = args_take_string(c, &f->userpass);
        if (rc == 0 && !strchr(f->userpass, ':')) {
            return args_error(f->cmd, "invalid %s: expected USER:PASSWORD (tether never prompts)",
                              c->flag);
        }
        return rc;
    }
    if (args_is(c, "-A") || args_is(c, "--user-agent")) {
        return args_take_string(c, &f->user_agent);
    }
    if (args_is(c, "--retry-connrefused")) {
        f->retry_connrefused = true;
        return args_take_none(c);
    }
    if (args_is(c, "--wait-for")) {
        f->wait_for_set = true;
        return fetch_take_seconds(c, &f->wait_for_ms);
    }
    if (args_is(c, "--max-time")) {
        f->max_time_set = true;
        return fetch_take_seconds(c, &f->max_time_ms);
    }
    if (args_is(c, "--connect-timeout")) {
        f->connect_timeout_set = true;
        return fetch_take_seconds(c, &f->connect_timeout_ms);
    }
    *taken = false;
    return 0;
}

void fetch_request_policy(const struct fetch_flags *f, struct tether_policy *p)
{
    if (f->retry_connrefused) {
        p->connrefused_wait_ms = TETHER_WAIT_UNTIL_DEADLINE;
    }
    if (f->wait_for_set) {
        p->connrefused_wait_ms = f->wait_for_ms;
        /* The wait comes before the request's own time, unless --max-time bounds both. */
        if (!f->max_time_set && p->deadline_ms != 0) {
            p->deadline_ms += f->wait_for_ms;
        }
    }
}

/* ---- the URL and the default headers ---- */

static const char fetch_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "Basic " + base64(text[0..len)); NULL when out of memory. */
static char *fetch_basic_auth(const char *text, size_t len)
{
    size_t out_len = 6 + (len + 2) / 3 * 4;
    char *out = malloc(out_len + 1);
    if (!out) {
        return NULL;
    }
    memcpy(out, "Basic ", 6);
    size_t o = 6;
    for (size_t i = 0; i < len; i += 3) {
        unsigned b0 = (unsigned char)text[i];
        unsigned b1 = i + 1 < len ? (unsigned char)text[i + 1] : 0;
        unsigned b2 = i + 2 < len ? (unsigned char)text[i + 2] : 0;
        unsigned v = b0 << 16 | b1 << 8 | b2;
        out[o++] = fetch_b64[(v >> 18) & 63];
        out[o++] = fetch_b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? fetch_b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? fetch_b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int fetch_hex(char ch)
{
    if (ttx_is_digit(ch)) {
        return ch - '0';
    }
    char l = ttx_lower(ch);
    return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

/* Percent-decodes user info in place ("p%40ss" -> "p@ss"), as curl does. */
static size_t fetch_unescape(char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = i + 2 < len && s[i] == '%' ? fetch_hex(s[i + 1]) : -1;
        int lo = hi >= 0 ? fetch_hex(s[i + 2]) : -1;
        if (lo >= 0) {
            s[w++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            s[w++] = s[i];
        }
    }
    return w;
}

/* Builds f->url_owned: "http://" before a scheme-less URL, and the user info taken out (it
 * becomes Basic auth unless -u gave one, and is never printed). Returns 0 or 2. */
static int fetch_rewrite_url(struct fetch_flags *f)
{
    const char *url = f->url;
    const char *scheme_end = strstr(url, "://");
    /* "host/?next=http://x" has no scheme: one is letters, digits, '+', '-' and '.' only. */
    for (const char *p = url; scheme_end && p < scheme_end; p++) {
        bool scheme_char = ttx_is_digit(*p) || (ttx_lower(*p) >= 'a' && ttx_lower(*p) <= 'z') ||
                           *p == '+' || *p == '-' || *p == '.';
        if (!scheme_char) {
            scheme_end = NULL;
        }
    }
    const char *prefix = "";
    const char *rest = url;
    if (!scheme_end && !f->guess_scheme) {
        return 0; /* the client refuses it, naming the URL as typed */
    }
    if (!scheme_end) {
        prefix = "http://"; /* curl's guess for "host:port/path" */
    } else {
        rest = scheme_end + 3;
    }
    size_t auth_len = strcspn(rest, "/?#");
    const char *at = NULL;
    for (const char *p = rest; p < rest + auth_len; p++) {
        if (*p == '@') {
            at = p; /* the last '@' ends the user info */
        }
    }
    size_t plen = strlen(prefix);
    size_t head = (size_t)(rest - url);
    const char *host = at ? at + 1 : rest;
    size_t total = plen + head + strlen(host);
    f->url_owned = malloc(total + 1);
    if (!f->url_owned) {
        return args_error(f->cmd, "out of memory");
    }
    (void)snprintf(f->url_owned, total + 1, "%s%.*s%s", prefix, (int)head, url, host);
    if (at && !f->userpass) {
        size_t ulen = (size_t)(at - rest);
        char *user = malloc(ulen + 2);
        if (!user) {
            return args_error(f->cmd, "out of memory");
        }
        memcpy(user, rest, ulen);
        user[ulen] = '\0';
        if (!memchr(user, ':', ulen)) {
            user[ulen++] = ':'; /* "http://user@host/": an empty password, as curl sends */
            user[ulen] = '\0';
        }
        ulen = fetch_unescape(user, ulen);
        f->auth_value = fetch_basic_auth(user, ulen);
        free(user);
        if (!f->auth_value) {
            return args_error(f->cmd, "out of memory");
        }
    }
    return 0;
}

static void fetch_default_header(struct fetch_flags *f, const char *name, const char *value)
{
    f->headers[f->nsend].name = name;
    f->headers[f->nsend].value = value;
    f->nsend++;
}

int fetch_request_finish(struct fetch_flags *f)
{
    int rc = fetch_rewrite_url(f);
    if (rc != 0) {
        return rc;
    }
    if (f->userpass) {
        f->auth_value = fetch_basic_auth(f->userpass, strlen(f->userpass));
        if (!f->auth_value) {
            return args_error(f->cmd, "out of memory");
        }
    }
    if (f->idem_key && strcmp(f->idem_key, "auto") == 0) {
        struct ttx_rng rng;
        ttx_rng_seed_random(&rng);
        uint64_t a = ttx_rng_next(&rng);
        uint64_t b = ttx_rng_next(&rng);
        /* A version-4 UUID's shape, which servers that validate keys accept. */
        (void)snprintf(f->idem_auto, sizeof(f->idem_auto), "%08llx-%04llx-4%03llx-%04llx-%012llx",
                       (unsigned long long)(a >> 32), (unsigned long long)((a >> 16) & 0xffff),
                       (unsigned long long)(a & 0xfff),
                       (unsigned long long)(0x8000 | ((b >> 48) & 0x3fff)),
                       (unsigned long long)(b & 0xffffffffffffull));
        f->idem_key = f->idem_auto;
    }
    f->nsend = f->nheaders;
    if (!f->has_accept) {
        /* curl's default; --data-json asks for JSON back as curl's --json does. */
        fetch_default_header(f, "Accept", f->data_json ? "application/json" : "*/*");
    }
    if (f->has_data && !f->has_content_type) {
        /* curl's defaults, so servers parse the body the same way. */
        fetch_default_header(f, "Content-Type",
                             f->data_json ? "application/json"
                                          : "application/x-www-form-urlencoded");
    }
    if (f->auth_value && !f->has_authorization) {
        fetch_default_header(f, "Authorization", f->auth_value);
    }
    return 0;
}
