/* SPDX-License-Identifier: MIT */
/* Flag-value parsers and a flag cursor shared by every subcommand (DESIGN.md §5 syntax). */
#ifndef TETHER_CLI_ARGS_H
#define TETHER_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Value parsers. Each returns 0 and fills the output, or -1 and leaves it untouched. None of
 * them prints: the cursor functions below (or the caller) turn a -1 into the one stderr line
 * DESIGN.md §5 asks for. Leading/trailing spaces, signs and empty strings are always invalid,
 * so "-5s" or " 5s" never slips through as something else.
 */

/* "250ms", "5s", "2m", "1h", or plain "0". Fractions are allowed when they come to whole
 * milliseconds ("1.5s", "0.25m"); a bare number other than 0 is refused because its unit would
 * be a guess. At most ARGS_MAX_DURATION_MS, so sums of deadlines cannot overflow anywhere. */
#define ARGS_MAX_DURATION_MS (366ull * 24 * 3600 * 1000)
/* Returns 0, -1 for bad syntax, or ARGS_DURATION_TOO_LONG for a well-formed duration above
 * ARGS_MAX_DURATION_MS, so the message can state the limit instead of the syntax. */
#define ARGS_DURATION_TOO_LONG (-2)
#define ARGS_DURATION_LIMIT_HINT " (at most 366 days: 8784h)"
int args_parse_duration_ms(const char *text, uint64_t *out_ms);

/* "1024", "64k", "1m", "2g" (also "64K", "64KiB", "1MiB"): KiB/MiB/GiB multiples. */
int args_parse_size(const char *text, uint64_t *out);

/* Decimal digits only, within [min, max]. */
int args_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* "MIN..MAX" where both sides parse with `one` and MIN <= MAX; a single value V is accepted
 * as V..V, so a flag can take a fixed value or a range with the same syntax. */
typedef int (*args_value_parser)(const char *text, uint64_t *out);
int args_parse_range(const char *text, args_value_parser one, uint64_t *lo, uint64_t *hi);

/* The host and port of "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (then `default_host`,
 * which may be NULL to make the host mandatory), split by util's ttx_hostport_split and read
 * by ttx_parse_port. Light validation only: the host is made of name/IPv4 characters, or an
 * IPv6 literal in brackets; the port is one to five digits, 0..65535. No name resolution. */
struct args_hostport {
    char host[256]; /* without brackets */
    uint16_t port;
    bool ipv6; /* written in brackets */
};
int args_parse_hostport(const char *text, const char *default_host, struct args_hostport *out);

/* Reads all of `fp` (a file a flag names: -d @FILE, -config FILE) into a buffer the caller
 * frees, refusing more than `max` bytes (max < SIZE_MAX). Returns 0, -1 with errno set, or -2
 * when the file is larger than `max`. */
int args_read_all(FILE *fp, size_t max, char **out, size_t *out_len);

/*
 * A cursor over a subcommand's argv that understands "--flag VALUE", "--flag=VALUE", "--"
 * (end of flags) and groups of one-letter flags as curl reads them ("-sSfL", "-XPOST",
 * "-sSo FILE"). Errors are printed as one line, "tether <cmd>: ...", and reported as exit
 * code 2 (CLI_EXIT_USAGE), so a subcommand's loop reads:
 *
 *     struct args_cursor c;
 *     args_init(&c, "serve", argc, argv);
 *     while (args_next(&c)) {
 *         if (args_is(&c, "--delay")) { if ((rc = args_take_duration(&c, &ms)) != 0) return rc; }
 *         else if (args_positional(&c)) { ... c.arg ... }
 *         else return args_unknown(&c);
 *     }
 */
#define ARGS_MAX_CONSIDERED 160
struct args_cursor {
    const char *cmd; /* "serve": used in messages */
    int argc;
    char **argv;
    int next;               /* index of the next argv element to look at */
    const char *arg;        /* the current element as written */
    const char *flag;       /* its flag name ("--delay"), or NULL for a positional */
    const char *inline_val; /* the part after '=' in "--flag=value", or NULL */
    const char *value;      /* the value the last take function consumed */
    bool flags_done;        /* "--" was seen: everything after is positional */
    char name_buf[64];
    /* A group of short flags ("-sSf", "-XPOST", "-so FILE"): the letters not yet handed out.
     * Each letter comes out as its own flag ("-s", then "-S"...); a take function that wants
     * a value takes the rest of the group ("-XPOST" -> "-X" with "POST"), or, at the end of
     * the group, the next element (curl's rule). */
    const char *group_rest;
    const char *group; /* the whole element, for messages */
    bool short_groups; /* set by args_group_short_flags */
    /* The flag names the command compared the current element against (args_is,
     * args_consider): args_unknown offers the closest as "did you mean". */
    const char *considered[ARGS_MAX_CONSIDERED];
    size_t n_considered;
};

/* `argv[0]` is the subcommand's own name and is skipped. */
void args_init(struct args_cursor *c, const char *cmd, int argc, char **argv);
/* Reads "-abc" as the group "-a -b -c" (curl's commands); without it "-abc" is one flag, as
 * the Go-style single-dash long flags of `tether proxy` need. */
void args_group_short_flags(struct args_cursor *c);
/* Advances to the next element; false at the end. */
bool args_next(struct args_cursor *c);
/* True when the current element is the flag `name` (with or without "=value"). Remembers
 * `name` as a flag the command knows, for args_unknown's hint. */
bool args_is(struct args_cursor *c, const char *name);
/* Remembers `name` as a flag the command knows without testing it: for commands that compare
 * flags their own way (Go-style "-name"/"--name"). */
void args_consider(struct args_cursor *c, const char *name);
/* args_is for "-h" or "--help". */
bool args_is_help(struct args_cursor *c);
/* True when the current element is not a flag (a lone "-" counts as positional). */
bool args_positional(const struct args_cursor *c);

/* Each take function consumes the current flag's value (inline or the next element). It
 * returns 0, or prints the error line and returns 2. */
int args_take_string(struct args_cursor *c, const char **out);
int args_take_duration(struct args_cursor *c, uint64_t *out_ms);
int args_take_size(struct args_cursor *c, uint64_t *out);
int args_take_uint(struct args_cursor *c, uint64_t min, uint64_t max, uint64_t *out);
int args_take_range(struct args_cursor *c, args_value_parser one, const char *what, uint64_t *lo,
                    uint64_t *hi);
int args_take_hostport(struct args_cursor *c, const char *default_host, struct args_hostport *out);
/* --listen for a command that serves (serve, egress): HOST:PORT with 127.0.0.1 as the default
 * host; *text gets the value as written, for args_check_listen's message. */
int args_take_listen(struct args_cursor *c, struct args_hostport *out, const char **text);
/* The servers bind numeric addresses only (no resolver on the listen path): 0 when the host of
 * `addr` is an IP address or localhost, else "tether <cmd>: invalid address '<text>' for
 * --listen (...)" and 2. */
int args_check_listen(const char *cmd, const struct args_hostport *addr, const char *text);
/* For a flag without a value: "--no-keep-alive-hint=yes" is an error. Returns 0 or 2. */
int args_take_none(struct args_cursor *c);
/* One of `choices` (NULL-terminated); *out is its index. */
int args_take_choice(struct args_cursor *c, const char *const *choices, int *out);
/* A string that is often one of `names` (NULL-terminated) but may be anything else, such as
 * `--policy naive|default|FILE`: the names are offered by the shell completions. */
int args_take_named(struct args_cursor *c, const char *const *names, const char **out);

/* "tether <cmd>: invalid <what> '<value>' for <flag><hint>" about the value just taken, for
 * checks a parser cannot make alone (cross-flag rules, files); returns 2. */
int args_bad_value(const struct args_cursor *c, const char *what, const char *hint);
/* "tether <cmd>: unknown option '--frob'" (or "unexpected argument 'x'"); returns 2. When a
 * flag the command compared against is within a typo's distance, the line ends with
 * "; did you mean '--from'?". */
int args_unknown(const struct args_cursor *c);
/* "tether <cmd>: <message>" on stderr as one line; returns 2. */
int args_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Flag enumeration: the parse loops themselves are the option tables. With a hook installed,
 * a command run on argv {NAME, ARGS_ENUM_SENTINEL} reaches args_unknown having compared the
 * sentinel against every flag it knows, and reports each through on_flag instead of printing
 * an error; run on {NAME, FLAG, ARGS_ENUM_SENTINEL}, a take function that wants a value finds
 * the sentinel where the value should be and reports FLAG through on_value (with the fixed
 * choices of args_take_choice/args_take_named, else NULL) instead of printing. Both paths
 * return 2, the usage error, so the command never runs. cli_flags.c drives this for the man
 * page, the completions and the test that they match --help. NULL removes the hook.
 */
#define ARGS_ENUM_SENTINEL "--tether-enumerate-flags"
struct args_enum_hook {
    void (*on_flag)(void *ud, const char *name);
    void (*on_value)(void *ud, const char *flag, const char *const *choices);
    void *ud;
};
void args_set_enum_hook(const struct args_enum_hook *hook);

#endif
