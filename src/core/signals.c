/* SPDX-License-Identifier: MIT */
/* SIGPIPE: a peer that resets while we write makes write(2) raise it, and its default action
 * kills the process, on exactly the failure tether exists to survive. */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "internal.h"

int tether_ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) != 0) {
        return tt__err_from_errno(errno);
    }
    /* A program that installed its own handler (or already ignores it) has decided. */
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) {
        return 0;
    }
    struct sigaction sa;
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    (void)sigemptyset(&sa.sa_mask);
    return sigaction(SIGPIPE, &sa, NULL) == 0 ? 0 : tt__err_from_errno(errno);
}

/*
 * Blocking calls block SIGPIPE for the calling thread only, as libpq does around its writes
 * (fe-secure.c, pq_block_sigpipe): the signal a write raises is directed at the writing thread,
 * so the write fails with EPIPE instead, and neither the process's disposition nor other
 * threads are touched (curl's sigpipe.h changes the process-wide handler instead).
 */
void tt__sigpipe_block(struct tt__sigpipe *sp)
{
    sigset_t pipe_set;
    sigset_t pending;
    (void)sigemptyset(&pipe_set);
    (void)sigaddset(&pipe_set, SIGPIPE);
    sp->blocked = pthread_sigmask(SIG_BLOCK, &pipe_set, &sp->old_mask) == 0;
    /* One can already be pending only if the caller had it blocked: it is not ours. */
    sp->was_pending = sp->blocked && sigismember(&sp->old_mask, SIGPIPE) == 1 &&
                      sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

void tt__sigpipe_restore(struct tt__sigpipe *sp)
{
    if (!sp->blocked) {
        return;
    }
    sigset_t pending;
    if (!sp->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        /* Ours: consume it, or unblocking would deliver it and kill the process. */
        sigset_t pipe_set;
        struct timespec zero = {0, 0};
        (void)sigemptyset(&pipe_set);
        (void)sigaddset(&pipe_set, SIGPIPE);
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    (void)pthread_sigmask(SIG_SETMASK, &sp->old_mask, NULL);
}
