/* SPDX-License-Identifier: MIT */
/* Flag-value parsers (durations, sizes, numbers, ranges, HOST:PORT) and the flag cursor. */
#include <arpa/inet.h>
#include <errno.h>
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/error.h"
#include "util/hostport.h"
#include "util/str.h"

#include "args.h"

#define ARGS_EXIT_USAGE 2

/* Reads decimal digits at *p into *out, stopping at the first non-digit. Returns the number of
 * digits (0 with *out = 0 when there are none), or -1 on overflow. */
static int args_digits(const char **p, uint64_t *out)
{
    size_t n = 0;
    while (ttx_is_digit((*p)[n])) {
        n++;
    }
    *out = 0;
    if (n == 0) {
        return 0;
    }
    if (ttx_parse_u64(*p, n, out) != 0) {
        return -1; /* past UINT64_MAX, which also bounds n far below INT_MAX */
    }
    *p += n;
    return (int)n;
}

int args_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *p = text;
    uint64_t v;
    if (!text || args_digits(&p, &v) <= 0 || *p != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int args_parse_duration_ms(const char *text, uint64_t *out_ms)
{
    int rv = ttx_parse_duration_ms(text, ARGS_MAX_DURATION_MS, out_ms);
    return rv == 0 ? 0 : rv == TETHER_ERANGE ? ARGS_DURATION_TOO_LONG : -1;
}

int args_parse_size(const char *text, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {
        {"", 1},        {"b", 1},         {"k", 1024},       {"kib", 1024},
        {"m", 1 << 20}, {"mib", 1 << 20}, {"g", 1ull << 30}, {"gib", 1ull << 30},
    };
    const char *p = text;
    uint64_t v;
    if (!text || args_digits(&p, &v) <= 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ttx_str_eq_nocase(p, units[i].suffix)) {
            if (v > UINT64_MAX / units[i].mult) {
                return -1;
            }
            *out = v * units[i].mult;
            return 0;
        }
    }
    return -1;
}

int args_parse_range(const char *text, args_value_parser one, uint64_t *lo, uint64_t *hi)
{
    char buf[128];
    uint64_t a;
    uint64_t b;
    if (!text) {
        return -1;
    }
    const char *dots = strstr(text, "..");
    if (!dots) {
        if (one(text, &a) != 0) {
            return -1;
        }
        *lo = *hi = a;
        return 0;
    }
    size_t left = (size_t)(dots - text);
    if (left == 0 || left >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, text, left);
    buf[left] = '\0';
    if (one(buf, &a) != 0 || one(dots + 2, &b) != 0 || a > b) {
        return -1;
    }
    *lo = a;
    *hi = b;
    return 0;
}

static bool args_host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ttx_is_digit(ch) || ch == '.' ||
           ch == '-' || ch == '_';
}

static bool args_v6_char(char ch)
{
    /* Hex digits, separators, an embedded IPv4 tail and a zone ("fe80::1%eth0"). */
    return args_host_char(ch) || ch == ':' || ch == '%';
}

int args_parse_hostport(const char *text, const char *default_host, struct args_hostport *out)
{
    struct args_hostport r;
    struct ttx_hostport hp;
    memset(&r, 0, sizeof(r));
    if (!text || !*text || ttx_hostport_split(text, strlen(text), &hp) != TTX_HOSTPORT_OK) {
        return -1;
    }
    if (!hp.has_port) {
        /* "[::1]" names no port; a bare "8080" listens on the default host. */
        if (hp.bracketed || !default_host) {
            return -1;
        }
        hp.port = hp.host;
        hp.host.len = 0;
    }
    if (hp.bracketed) {
        if (hp.host.len == 0 || !memchr(hp.host.ptr, ':', hp.host.len)) {
            return -1; /* brackets are for IPv6 literals only */
        }
        for (size_t i = 0; i < hp.host.len; i++) {
            if (!args_v6_char(hp.host.ptr[i])) {
                return -1;
            }
        }
        r.ipv6 = true;
    } else {
        for (size_t i = 0; i < hp.host.len; i++) {
            if (!args_host_char(hp.host.ptr[i])) {
                return -1;
            }
        }
        if (hp.host.len == 0) {
            if (!default_host || !*default_host) {
                return -1;
            }
            hp.host = (struct ttx_slice){default_host, strlen(default_host)};
            r.ipv6 = strchr(default_host, ':') != NULL;
        }
    }
    if (hp.host.len >= sizeof(r.host) || ttx_parse_port(hp.port, &r.port) != 0) {
        return -1;
    }
    memcpy(r.host, hp.host.ptr, hp.host.len);
    r.host[hp.host.len] = '\0';
    *out = r;
    return 0;
}

/* ---- files named by flags ---- */

int args_read_all(FILE *fp, size_t max, char **out, size_t *out_len)
{
    size_t cap = max < 4096 ? max + 1 : 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                free(buf);
                return -2;
            }
            /* max + 1 at the end: a file of exactly `max` bytes fits, one more is seen. */
            size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
            char *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                free(buf);
                errno = ENOMEM;
                return -1;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(fp)) {
        int e = errno ? errno : EIO;
        free(buf);
        errno = e;
        return -1;
    }
    if (len > max) {
        free(buf);
        return -2;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* ---- the cursor ---- */

/* Set only while cli_flags.c enumerates a command's flags (args.h). */
static const struct args_enum_hook *args_enum_hook;
/* The fixed values args_take_choice or args_take_named is about to take, for on_value. */
static const char *const *args_enum_choices;

void args_set_enum_hook(const struct args_enum_hook *hook)
{
    args_enum_hook = hook;
}

void args_init(struct args_cursor *c, const char *cmd, int argc, char **argv)
{
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    c->argc = argc;
    c->argv = argv;
    c->next = 1;
}

void args_group_short_flags(struct args_cursor *c)
{
    c->short_groups = true;
}

/* Hands out the next letter of a short-flag group as the flag "-<letter>". */
static bool args_next_in_group(struct args_cursor *c)
{
    c->name_buf[0] = '-';
    c->name_buf[1] = *c->group_rest;
    c->name_buf[2] = '\0';
    c->group_rest++;
    c->arg = c->group;
    c->flag = c->name_buf;
    c->inline_val = NULL;
    return true;
}

bool args_next(struct args_cursor *c)
{
    c->n_considered = 0;
    if (c->group_rest && *c->group_rest) {
        return args_next_in_group(c);
    }
    c->group_rest = NULL;
    c->group = NULL;
    for (;;) {
        if (c->next >= c->argc) {
            c->arg = NULL;
            c->flag = NULL;
            c->inline_val = NULL;
            return false;
        }
        const char *a = c->argv[c->next++];
        c->arg = a;
        c->flag = NULL;
        c->inline_val = NULL;
        if (c->flags_done || a[0] != '-' || a[1] == '\0') {
            return true;
        }
        if (strcmp(a, "--") == 0) {
            c->flags_done = true;
            continue;
        }
        if (c->short_groups && a[1] != '-' && a[2] != '\0') {
            /* "-sSf" or "-XPOST": one-letter flags grouped, as curl and getopt read them. */
            c->group = a;
            c->group_rest = a + 1;
            return args_next_in_group(c);
        }
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (eq && n < sizeof(c->name_buf)) {
            memcpy(c->name_buf, a, n);
            c->name_buf[n] = '\0';
            c->flag = c->name_buf;
            c->inline_val = eq + 1;
        } else {
            c->flag = a; /* an over-long "--x=..." stays whole and is reported as unknown */
        }
        return true;
    }
}

void args_consider(struct args_cursor *c, const char *name)
{
    if (c->n_considered < ARGS_MAX_CONSIDERED) {
        c->considered[c->n_considered++] = name;
    }
}

bool args_is(struct args_cursor *c, const char *name)
{
    args_consider(c, name);
    return c->flag && strcmp(c->flag, name) == 0;
}

bool args_is_help(struct args_cursor *c)
{
    return args_is(c, "-h") || args_is(c, "--help");
}

bool args_positional(const struct args_cursor *c)
{
    return c->arg && !c->flag;
}

int args_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tether %s: ", cmd);
    va_start(ap, fmt);
    /* va_start is right above: the analyzer loses it on some inlined callers' paths. */
    vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    fputc('\n', stderr);
    return ARGS_EXIT_USAGE;
}

/* Values are echoed in messages; control characters would break the one-line promise. */
static const char *args_printable(const char *value, char *buf, size_t len)
{
    assert(value != NULL); /* a taken value: the take function returned 0 */
    size_t i = 0;
    for (; value[i] && i + 4 < len; i++) {
        unsigned char ch = (unsigned char)value[i];
        buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (value[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* The known flag closest to the unknown one, compared without their dashes so "-hots" finds
 * "host" (Go-style names) and "--retrys" finds "--retries"; one-letter flags get no hint, as
 * every other one-letter flag is one edit away. */
static const char *args_suggestion(const struct args_cursor *c, const char **dashes)
{
    const char *typed = c->flag + strspn(c->flag, "-");
    if (strlen(typed) < 2) {
        return NULL;
    }
    const char *bare[ARGS_MAX_CONSIDERED];
    for (size_t i = 0; i < c->n_considered; i++) {
        const char *name = c->considered[i] + strspn(c->considered[i], "-");
        bare[i] = strlen(name) < 2 ? NULL : name;
    }
    const char *best = ttx_closest(typed, bare, c->n_considered);
    if (!best) {
        return NULL;
    }
    for (size_t i = 0; i < c->n_considered; i++) {
        if (bare[i] == best) {
            const char *name = c->considered[i];
            /* A name registered without dashes is shown with the ones the user typed. */
            *dashes = name != best ? "" : c->flag[1] == '-' ? "--" : "-";
            return name;
        }
    }
    return NULL;
}

int args_unknown(const struct args_cursor *c)
{
    if (args_enum_hook && c->flag && strcmp(c->flag, ARGS_ENUM_SENTINEL) == 0) {
        for (size_t i = 0; i < c->n_considered; i++) {
            args_enum_hook->on_flag(args_enum_hook->ud, c->considered[i]);
        }
        return ARGS_EXIT_USAGE;
    }
    char shown[160];
    char hint[128] = "";
    const char *dashes = "";
    const char *best = c->flag ? args_suggestion(c, &dashes) : NULL;
    if (best) {
        (void)snprintf(hint, sizeof(hint), "; did you mean '%s%s'?", dashes, best);
    }
    if (c->flag && c->group) {
        return args_error(c->cmd, "unknown option '%s' (in '%s')%s", c->flag,
                          args_printable(c->group, shown, sizeof(shown)), hint);
    }
    if (c->flag) {
        return args_error(c->cmd, "unknown option '%s'%s",
                          args_printable(c->arg, shown, sizeof(shown)), hint);
    }
    return args_error(c->cmd, "unexpected argument '%s'",
                      args_printable(c->arg, shown, sizeof(shown)));
}

int args_take_string(struct args_cursor *c, const char **out)
{
    if (c->inline_val) {
        *out = c->value = c->inline_val;
        return 0;
    }
    if (c->group_rest && *c->group_rest) {
        /* "-XPOST": the rest of the group is the value. */
        *out = c->value = c->group_rest;
        c->group_rest = NULL;
        return 0;
    }
    if (args_enum_hook && c->next < c->argc && strcmp(c->argv[c->next], ARGS_ENUM_SENTINEL) == 0) {
        args_enum_hook->on_value(args_enum_hook->ud, c->flag, args_enum_choices);
        return ARGS_EXIT_USAGE;
    }
    /* "--listen --status 5" is a forgotten value, not a listen address called "--status". */
    if (c->next >= c->argc || (c->argv[c->next][0] == '-' && c->argv[c->next][1] == '-')) {
        return args_error(c->cmd, "missing value for %s", c->flag);
    }
    *out = c->value = c->argv[c->next++];
    return 0;
}

static int args_bad(const struct args_cursor *c, const char *what, const char *value,
                    const char *hint)
{
    char shown[160];
    return args_error(c->cmd, "invalid %s '%s' for %s%s", what,
                      args_printable(value, shown, sizeof(shown)), c->flag, hint);
}

int args_bad_value(const struct args_cursor *c, const char *what, const char *hint)
{
    return args_bad(c, what, c->value ? c->value : "", hint);
}

int args_take_duration(struct args_cursor *c, uint64_t *out_ms)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    int prv = args_parse_duration_ms(v, out_ms);
    if (prv == ARGS_DURATION_TOO_LONG) {
        return args_bad(c, "duration", v, ARGS_DURATION_LIMIT_HINT);
    }
    if (prv != 0) {
        return args_bad(c, "duration", v, " (e.g. 250ms, 5s, 2m, 1h, 0)");
    }
    return 0;
}

int args_take_size(struct args_cursor *c, uint64_t *out)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (args_parse_size(v, out) != 0) {
        return args_bad(c, "size", v, " (e.g. 1024, 64k, 1m)");
    }
    return 0;
}

int args_take_uint(struct args_cursor *c, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (args_parse_uint(v, min, max, out) != 0) {
        char hint[64];
        (void)snprintf(hint, sizeof(hint), " (expected %llu..%llu)", (unsigned long long)min,
                       (unsigned long long)max);
        return args_bad(c, "number", v, hint);
    }
    return 0;
}

int args_take_range(struct args_cursor *c, args_value_parser one, const char *what, uint64_t *lo,
                    uint64_t *hi)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (args_parse_range(v, one, lo, hi) != 0) {
        return args_bad(c, what, v, " (expected MIN..MAX with MIN <= MAX, or one value)");
    }
    return 0;
}

int args_take_hostport(struct args_cursor *c, const char *default_host, struct args_hostport *out)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (args_parse_hostport(v, default_host, out) != 0) {
        return args_bad(c, "address", v, " (expected HOST:PORT, port 0..65535)");
    }
    return 0;
}

int args_take_listen(struct args_cursor *c, struct args_hostport *out, const char **text)
{
    int rc = args_take_hostport(c, "127.0.0.1", out);
    *text = c->value;
    return rc;
}

int args_check_listen(const char *cmd, const struct args_hostport *addr, const char *text)
{
    unsigned char bytes[16];
    if (strcmp(addr->host, "localhost") != 0 &&
        inet_pton(addr->ipv6 ? AF_INET6 : AF_INET, addr->host, bytes) != 1) {
        return args_error(cmd,
                          "invalid address '%s' for --listen (the host must be an IP address "
                          "or localhost)",
                          text);
    }
    return 0;
}

int args_take_none(struct args_cursor *c)
{
    if (c->inline_val) {
        return args_bad(c, "value", c->inline_val, " (this flag takes no value)");
    }
    return 0;
}

int args_take_named(struct args_cursor *c, const char *const *names, const char **out)
{
    args_enum_choices = names;
    int rc = args_take_string(c, out);
    args_enum_choices = NULL;
    return rc;
}

int args_take_choice(struct args_cursor *c, const char *const *choices, int *out)
{
    const char *v = NULL;
    int rc = args_take_named(c, choices, &v);
    if (rc != 0) {
        return rc;
    }
    assert(v != NULL);
    char hint[160];
    size_t used = 0;
    hint[0] = '\0';
    for (int i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = i;
            return 0;
        }
        int n = snprintf(hint + used, sizeof(hint) - used, "%s%s", i ? ", " : " (expected ",
                         choices[i]);
        if (n > 0 && (size_t)n < sizeof(hint) - used) {
            used += (size_t)n;
        }
    }
    if (used + 2 <= sizeof(hint)) {
        hint[used++] = ')';
        hint[used] = '\0';
    }
    return args_bad(c, "value", v, hint);
}
