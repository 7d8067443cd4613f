/* SPDX-License-Identifier: MIT */
/* The command's flag cursor: curl-style groups of one-letter flags (-sSf, -XPOST, -so FILE),
 * which only the commands that ask for them get, and the error naming a bad letter; the flag
 * enumeration hook the man page and the completions are written from. */
#include <stdio.h>
#include <string.h>

#include "test.h"

#include "cli/args.h"

/* Walks argv (argv[0] is the command) and records every flag and the value a value-taking
 * flag took, as "-s -S -o=FILE URL". Value-taking flags: -o, -X, -w. */
static int walk(char **argv, int argc, bool groups, char *out, size_t len)
{
    struct args_cursor c;
    args_init(&c, "get", argc, argv);
    if (groups) {
        args_group_short_flags(&c);
    }
    size_t used = 0;
    out[0] = '\0';
    while (args_next(&c)) {
        int rc = 0;
        const char *v = NULL;
        char piece[128];
        if (args_positional(&c)) {
            (void)snprintf(piece, sizeof(piece), "%s", c.arg);
        } else if (args_is(&c, "-o") || args_is(&c, "-X") || args_is(&c, "-w")) {
            rc = args_take_string(&c, &v);
            (void)snprintf(piece, sizeof(piece), "%s=%s", c.flag, rc == 0 ? v : "?");
        } else if (args_is(&c, "-s") || args_is(&c, "-S") || args_is(&c, "-f") ||
                   args_is(&c, "-L")) {
            rc = args_take_none(&c);
            (void)snprintf(piece, sizeof(piece), "%s", c.flag);
        } else {
            return args_unknown(&c);
        }
        if (rc != 0) {
            return rc;
        }
        int n = snprintf(out + used, len - used, "%s%s", used ? " " : "", piece);
        assert_true(n > 0 && (size_t)n < len - used);
        used += (size_t)n;
    }
    return 0;
}

#define WALK(groups, want, ...)                                                                    \
    do {                                                                                           \
        char *argv_[] = {"get", __VA_ARGS__};                                                      \
        char got_[512];                                                                            \
        assert_int_equal(                                                                          \
            walk(argv_, (int)(sizeof(argv_) / sizeof(argv_[0])), groups, got_, sizeof(got_)), 0);  \
        assert_string_equal(got_, want);                                                           \
    } while (0)

static void test_groups(void **state)
{
    (void)state;
    WALK(true, "-s -S -f URL", "-sSf", "URL");
    WALK(true, "-f -s -S -L URL", "-fsSL", "URL");
    /* A value-taking letter takes the rest of the group, or the next element at its end. */
    WALK(true, "-X=POST URL", "-XPOST", "URL");
    WALK(true, "-s -S -o=out.txt URL", "-sSo", "out.txt", "URL");
    WALK(true, "-s -w=%{http_code} URL", "-sw%{http_code}", "URL");
    WALK(true, "-o=-s URL", "-o-s", "URL");
    /* Single flags, long flags, "--" and a lone "-" are untouched. */
    WALK(true, "-s -o=x URL -", "-s", "-o", "x", "URL", "-");
    WALK(true, "-sS -o x", "--", "-sS", "-o", "x");
}

static void test_groups_off(void **state)
{
    (void)state;
    /* Without args_group_short_flags "-sS" is one (unknown) flag: tether proxy's -host=X. */
    char *argv[] = {"get", "-sS"};
    char got[64];
    assert_int_equal(walk(argv, 2, false, got, sizeof(got)), 2);
}

static void test_group_errors(void **state)
{
    (void)state;
    char got[64];
    /* An unknown letter is named with its group; a value-taking letter at the end of the
     * last element has no value. */
    char *bad[] = {"get", "-sZ"};
    assert_int_equal(walk(bad, 2, true, got, sizeof(got)), 2);
    char *missing[] = {"get", "-so"};
    assert_int_equal(walk(missing, 2, true, got, sizeof(got)), 2);
    /* A flag taking no value inside a group never sees the rest as a value. */
    char *ok[] = {"get", "-ss"};
    assert_int_equal(walk(ok, 2, true, got, sizeof(got)), 0);
    assert_string_equal(got, "-s -s");
}

/* ---- enumeration ---- */

struct enum_log {
    char flags[256];  /* names reported by on_flag, space-separated */
    char values[256]; /* "FLAG:choice,choice" reported by on_value */
};

static void log_flag(void *ud, const char *name)
{
    struct enum_log *l = ud;
    size_t n = strlen(l->flags);
    (void)snprintf(l->flags + n, sizeof(l->flags) - n, "%s%s", n ? " " : "", name);
}

static void log_value(void *ud, const char *flag, const char *const *choices)
{
    struct enum_log *l = ud;
    size_t n = strlen(l->values);
    n += (size_t)snprintf(l->values + n, sizeof(l->values) - n, "%s:", flag);
    for (size_t i = 0; choices && choices[i]; i++) {
        n += (size_t)snprintf(l->values + n, sizeof(l->values) - n, "%s%s", i ? "," : "",
                              choices[i]);
    }
}

/* A command's parse loop: -s takes nothing, --mode one of a|b, --policy naive|default|FILE,
 * --out a string. */
static int mini_parse(int argc, char **argv)
{
    static const char *const modes[] = {"a", "b", NULL};
    static const char *const policies[] = {"naive", "default", NULL};
    struct args_cursor c;
    args_init(&c, "mini", argc, argv);
    while (args_next(&c)) {
        int rc;
        int m = 0;
        const char *v = NULL;
        if (args_is(&c, "-s")) {
            rc = args_take_none(&c);
        } else if (args_is(&c, "--mode")) {
            rc = args_take_choice(&c, modes, &m);
        } else if (args_is(&c, "--policy")) {
            rc = args_take_named(&c, policies, &v);
        } else if (args_is(&c, "--out")) {
            rc = args_take_string(&c, &v);
        } else {
            rc = args_unknown(&c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

#define ENUM_RUN(log, ...)                                                                         \
    do {                                                                                           \
        char *argv_[] = {"mini", __VA_ARGS__};                                                     \
        struct args_enum_hook hook_ = {log_flag, log_value, (log)};                                \
        memset((log), 0, sizeof(*(log)));                                                          \
        args_set_enum_hook(&hook_);                                                                \
        /* The parser's usage error: the command never runs its work. */                           \
        assert_int_equal(mini_parse((int)(sizeof(argv_) / sizeof(argv_[0])), argv_), 2);           \
        args_set_enum_hook(NULL);                                                                  \
    } while (0)

static void test_enumerate(void **state)
{
    (void)state;
    struct enum_log log;
    /* The sentinel is compared against every flag, in the loop's order. */
    ENUM_RUN(&log, ARGS_ENUM_SENTINEL);
    assert_string_equal(log.flags, "-s --mode --policy --out");
    assert_string_equal(log.values, "");
    /* A value-taking flag finds the sentinel where its value goes, with its fixed choices. */
    ENUM_RUN(&log, "--mode", ARGS_ENUM_SENTINEL);
    assert_string_equal(log.values, "--mode:a,b");
    assert_string_equal(log.flags, "");
    ENUM_RUN(&log, "--policy", ARGS_ENUM_SENTINEL);
    assert_string_equal(log.values, "--policy:naive,default");
    ENUM_RUN(&log, "--out", ARGS_ENUM_SENTINEL);
    assert_string_equal(log.values, "--out:");
    /* A flag without a value is followed by the sentinel as an unknown flag. */
    ENUM_RUN(&log, "-s", ARGS_ENUM_SENTINEL);
    assert_string_equal(log.values, "");
    assert_string_equal(log.flags, "-s --mode --policy --out");
}

static void test_enumerate_off(void **state)
{
    (void)state;
    /* Without the hook the sentinel is just an unknown flag, and a named value is any string. */
    char *argv[] = {"mini", ARGS_ENUM_SENTINEL};
    assert_int_equal(mini_parse(2, argv), 2);
    char *named[] = {"mini", "--policy", "my-policy.json", "--mode", "b"};
    assert_int_equal(mini_parse(5, named), 0);
    char *bad[] = {"mini", "--mode", "c"};
    assert_int_equal(mini_parse(3, bad), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),        cmocka_unit_test(test_groups_off),
        cmocka_unit_test(test_group_errors),  cmocka_unit_test(test_enumerate),
        cmocka_unit_test(test_enumerate_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
