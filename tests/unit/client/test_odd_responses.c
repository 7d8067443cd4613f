/* SPDX-License-Identifier: MIT */
/*
 * Odd answers get a message that names them (the hostile-input review's D5): an unsolicited
 * 101 used to read "invalid status code", and an HTTP/0.9-style answer "LF not preceded by CR".
 */
#include <stdlib.h>

#include "test.h"

#include "fetch_helpers.h"
#include "loop.h"
#include "script_server.h"

static void script_send(struct ss_conn *c, unsigned index, const char *req, size_t len, void *data)
{
    (void)index;
    (void)req;
    (void)len;
    ss_send_str(c, data);
    ss_close(c);
}

/* The failure's message and detail together must contain `want`; never retried. */
static void expect_failure(const char *answer, const char *want)
{
    struct ft_env e;
    struct ft_result r;
    memset(&r, 0, sizeof(r));
    ft_env_init(&e, NULL, script_send, (void *)(uintptr_t)answer);
    ft_get(&e.loop, e.client, e.url, &r);
    char all[600];
    (void)snprintf(all, sizeof(all), "%s | %s", r.msg, r.failure.detail);
    if (r.code != TETHER_EHTTP || !strstr(all, want)) {
        fail_msg("answer %s: code %d, \"%s\"; expected EHTTP with \"%s\"", answer, r.code, all,
                 want);
    }
    assert_int_equal(r.attempts, 1);
    ft_env_done(&e);
}

static void test_unsolicited_101(void **state)
{
    (void)state;
    expect_failure("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\n\r\n",
                   "101 Switching Protocols, but the request asked for no upgrade");
}

static void test_http09_answer(void **state)
{
    (void)state;
    expect_failure("hello world\n", "the response does not start with HTTP/");
    expect_failure("ICY 200 OK\r\n\r\n", "the response does not start with HTTP/");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsolicited_101),
        cmocka_unit_test(test_http09_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
