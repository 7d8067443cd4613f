/* SPDX-License-Identifier: MIT */
/* The command's flag cursor: curl-style groups of one-letter flags (-sSf, -XPOST, -so FILE),
 * which only the commands that ask for them get, and the error naming a bad letter. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_groups_off),
        cmocka_unit_test(test_group_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
