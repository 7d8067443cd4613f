/* SPDX-License-Identifier: MIT */
/* SIGPIPE: the thread-local block around blocking calls swallows only its own signal, and
 * tether_ignore_sigpipe never overrides a program's own handler. */
#include <pthread.h>
#include <signal.h>

#include "test.h"

#include "internal.h"

static bool pending_sigpipe(void)
{
    sigset_t p;
    assert_int_equal(sigpending(&p), 0);
    return sigismember(&p, SIGPIPE) == 1;
}

static void test_block_swallows_own_sigpipe(void **state)
{
    (void)state;
    /* Default disposition: an escaped SIGPIPE would kill this test. */
    (void)signal(SIGPIPE, SIG_DFL);
    struct tt__sigpipe sp;
    tt__sigpipe_block(&sp);
    assert_int_equal(pthread_kill(pthread_self(), SIGPIPE), 0); /* what write(2) would do */
    assert_true(pending_sigpipe());
    tt__sigpipe_restore(&sp);
    assert_false(pending_sigpipe());
    sigset_t now;
    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    assert_int_equal(sigismember(&now, SIGPIPE), 0);
}

static void test_block_keeps_callers_pending_sigpipe(void **state)
{
    (void)state;
    /* The caller blocked SIGPIPE and one is pending: it is the caller's, not ours. */
    sigset_t pipe_set;
    sigset_t old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &pipe_set, &old), 0);
    assert_int_equal(pthread_kill(pthread_self(), SIGPIPE), 0);
    struct tt__sigpipe sp;
    tt__sigpipe_block(&sp);
    tt__sigpipe_restore(&sp);
    assert_true(pending_sigpipe());
    /* Consume it before unblocking, and restore the mask. */
    (void)signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    assert_false(pending_sigpipe());
}

static volatile sig_atomic_t handled;
static void on_sigpipe(int sig)
{
    (void)sig;
    handled = 1;
}

static void test_ignore_sigpipe(void **state)
{
    (void)state;
    struct sigaction sa;
    (void)signal(SIGPIPE, SIG_DFL);
    ASSERT_OK(tether_ignore_sigpipe());
    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_true(sa.sa_handler == SIG_IGN);
    /* A program's own handler stays. */
    (void)signal(SIGPIPE, on_sigpipe);
    ASSERT_OK(tether_ignore_sigpipe());
    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_true(sa.sa_handler == on_sigpipe);
    (void)raise(SIGPIPE);
    assert_int_equal(handled, 1);
    (void)signal(SIGPIPE, SIG_DFL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_swallows_own_sigpipe),
        cmocka_unit_test(test_block_keeps_callers_pending_sigpipe),
        cmocka_unit_test(test_ignore_sigpipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
